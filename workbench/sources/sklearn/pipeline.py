"""Pipeline: every step rebuilt through the registry, the last one with the requested output.

Steps set to ``"passthrough"`` or ``None`` are skipped, as in scikit-learn. FeatureUnion:
its transformers' outputs side by side, each times its ``transformer_weights`` entry.
"""

from __future__ import annotations

import numpy as np
from sklearn.pipeline import FeatureUnion, Pipeline

from . import _ops
from ._checks import check_supported, checked_by, require_output
from ._registry import build, builds_labels


def is_passthrough(part) -> bool:
    """Whether a step or part is scikit-learn's ``"passthrough"`` (its input, unchanged)."""
    return isinstance(part, str) and part == "passthrough"


def check_parts(parts) -> None:
    """Raise unless every part of a FeatureUnion or ColumnTransformer can be rebuilt."""
    for part in parts:
        if not is_passthrough(part):
            check_supported(part, "transform")


def transformed(part, x, weight):
    """A FeatureUnion's or ColumnTransformer's ``part`` applied to ``x`` (``x`` itself for
    ``"passthrough"``), times its ``transformer_weights`` entry when it has one."""
    out = x if is_passthrough(part) else build(part, x, "transform")
    return out if weight is None else out * np.float32(weight)


def _steps(estimator) -> list:
    return [step for _, step in estimator.steps if step is not None and not is_passthrough(step)]


def check_pipeline(estimator, output: str) -> None:
    steps = _steps(estimator)
    if not steps:
        require_output(estimator, output, ("transform",))
        return
    for step in steps[:-1]:
        check_supported(step, "transform")
    last = estimator.steps[-1][1]
    last_is_skipped = last is None or is_passthrough(last)
    check_supported(steps[-1], "transform" if last_is_skipped else output)


@builds_labels  # the last step's labels, however it computes them
@checked_by(check_pipeline)
def build_pipeline(estimator, x, output):
    check_pipeline(estimator, output)
    steps = _steps(estimator)
    if not steps:
        return x
    for step in steps[:-1]:
        x = build(step, x, "transform")
    last = estimator.steps[-1][1]
    last_is_skipped = last is None or is_passthrough(last)
    return build(steps[-1], x, "transform" if last_is_skipped else output)


def _union_parts(estimator) -> list:
    weights = estimator.transformer_weights or {}
    return [
        (part, weights.get(name))
        for name, part in estimator.transformer_list
        if not (isinstance(part, str) and part == "drop")
    ]


def check_union(estimator, output: str) -> None:
    require_output(estimator, output, ("transform",))
    check_parts(part for part, _ in _union_parts(estimator))


@checked_by(check_union)
def build_union(estimator, x, output):
    check_union(estimator, output)
    return _ops.concat([transformed(part, x, weight) for part, weight in _union_parts(estimator)])


BUILDERS = {Pipeline: build_pipeline, FeatureUnion: build_union}
