"""Pipeline: every step rebuilt through the registry, the last one with the requested output.

Steps set to ``"passthrough"`` or ``None`` are skipped, as in scikit-learn.
"""

from __future__ import annotations

from sklearn.pipeline import Pipeline

from ._checks import check_supported, checked_by, require_output
from ._registry import build, builds_labels


def _steps(estimator) -> list:
    return [
        step
        for _, step in estimator.steps
        if step is not None and not (isinstance(step, str) and step == "passthrough")
    ]


def check_pipeline(estimator, output: str) -> None:
    steps = _steps(estimator)
    if not steps:
        require_output(estimator, output, ("transform",))
        return
    for step in steps[:-1]:
        check_supported(step, "transform")
    last = estimator.steps[-1][1]
    last_is_skipped = last is None or (isinstance(last, str) and last == "passthrough")
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
    last_is_skipped = last is None or (isinstance(last, str) and last == "passthrough")
    return build(steps[-1], x, "transform" if last_is_skipped else output)


BUILDERS = {Pipeline: build_pipeline}
