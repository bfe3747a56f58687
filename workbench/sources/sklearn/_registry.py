"""Estimator class -> builder. One signature for every family:

    build(estimator, x, output) -> tensor

``estimator`` is fitted (checked before any builder runs); ``x`` is a float32 tensor of
shape (batch, n_features_in_); ``output`` is what the graph must return:

- ``"proba"``: ``predict_proba`` (classifiers that have it);
- ``"decision"``: ``decision_function`` (classifiers without probabilities, OneClassSVM),
  shaped (batch, 1) for a binary problem;
- ``"values"``: ``predict`` of a regressor, shaped (batch, 1) or (batch, n_targets);
- ``"transform"``: ``transform`` of a preprocessing step.

Builders only read fitted attributes and hand numpy arrays to ``_ops`` (which holds all the
TensorFlow code); they never import TensorFlow themselves. Each family module exposes
``BUILDERS = {EstimatorClass: build_function}``; the registry merges them once and refuses
a class registered twice.
"""

from __future__ import annotations

from importlib import import_module

from ...errors import UnsupportedEstimatorError

#: Family modules, each with a ``BUILDERS`` dict. Order does not matter.
FAMILIES = (
    "linear",
    "svm",
    "tree",
    "ensemble",
    "neural_network",
    "neighbors",
    "naive_bayes",
    "preprocessing",
    "pipeline",
)

_registry: dict[type, object] | None = None


def registry() -> dict[type, object]:
    """The merged ``{estimator class: builder}`` of every family (built on first use)."""
    global _registry
    if _registry is None:
        merged: dict[type, object] = {}
        for family in FAMILIES:
            module = import_module(f"{__package__}.{family}")
            for klass, builder in module.BUILDERS.items():
                if klass in merged:
                    raise RuntimeError(f"{klass.__name__} is registered twice (again in {family}.py)")
                merged[klass] = builder
        _registry = merged
    return _registry


def supported_names() -> list[str]:
    return sorted(klass.__name__ for klass in registry())


def builder_for(estimator):
    """The builder of ``type(estimator)``; exact class match, so subclasses are not guessed."""
    builder = registry().get(type(estimator))
    if builder is None:
        raise UnsupportedEstimatorError(
            received=f"a {type(estimator).__name__}",
            expected="One of the estimators the workbench rebuilds exactly: "
            + ", ".join(supported_names())
            + ".",
            fix="Use one of those, or open an issue naming the estimator you need.",
        )
    return builder


def build(estimator, x, output: str):
    """Build ``estimator`` on tensor ``x``: the one entry point pipelines also use per step."""
    return builder_for(estimator)(estimator, x, output)
