"""Estimator class -> builder. One signature for every family:

    build(estimator, x, output) -> tensor

``estimator`` is fitted (checked before any builder runs); ``x`` is a float32 tensor of
shape (batch, n_features_in_); ``output`` is what the graph must return:

- ``"proba"``: ``predict_proba`` (classifiers that have it);
- ``"decision"``: ``decision_function`` (classifiers without probabilities, OneClassSVM),
  shaped (batch, 1) for a binary problem;
- ``"values"``: ``predict`` of a regressor, shaped (batch, 1) or (batch, n_targets);
- ``"transform"``: ``transform`` of a preprocessing step;
- ``"score_samples"``: ``score_samples`` of an outlier detector, shaped (batch, 1);
- ``"label"``: ``predict`` of a classifier, outlier detector or clusterer: the labels
  themselves (scikit-learn's values, strings included), shaped (batch,).

A builder that computes labels itself (libsvm's vote, an outlier threshold, a nearest
centre) is marked with :func:`builds_labels`; for any other classifier ``"label"`` is
derived here, the way scikit-learn's own ``predict`` derives it: from the decision values
where the estimator has ``decision_function`` (a threshold at 0 for one column, the first
largest otherwise), else from ``predict_proba`` (the first largest).

Within one graph, :func:`shared` builds a tensor once per (estimator, input): the
decision values the label is derived from are the same tensors as the
``decision_function`` output, not a second copy of the model.

Builders only read fitted attributes and hand numpy arrays to ``_ops`` (which holds all the
TensorFlow code); they never import TensorFlow themselves. Each family module exposes
``BUILDERS = {EstimatorClass: build_function}`` (and may add ``REFUSED = {EstimatorClass:
(reason, way out)}`` for classes it knowingly does not rebuild); the registry merges them once and refuses
a class registered twice.
"""

from __future__ import annotations

import contextlib
from importlib import import_module

import numpy as np

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
    "discriminant_analysis",
    "decomposition",
    "feature_selection",
    "cluster",
    "covariance",
    "dummy",
    "meta",
    "preprocessing",
    "pipeline",
)

_registry: dict[type, object] | None = None
_refused: dict[type, tuple[str, str]] = {}


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
            _refused.update(getattr(module, "REFUSED", {}))
        _registry = merged
    return _registry


_supported: list[str] | None = None


def supported_names() -> list[str]:
    """Registered classes and scikit-learn's subclasses of them that resolve to their base."""
    global _supported
    if _supported is None:
        from sklearn.utils import all_estimators

        names = {klass.__name__ for klass in registry()}
        for name, klass in all_estimators():
            base = _registered_base(klass)
            if klass not in registry() and base is not None and _inherits_fitted_meaning(klass, base):
                names.add(name)
        _supported = sorted(names)
    return _supported


def _registered_base(klass: type):
    """The nearest registered base class of ``klass``, or None."""
    for base in klass.__mro__[1:]:
        if base in registry():
            return base
    return None


def builder_for(estimator):
    """The builder of ``type(estimator)``, or of its nearest registered base class when
    the subclass is known to keep the base's fitted attributes (see ``SUBCLASSES_OK``)."""
    klass = type(estimator)
    builder = registry().get(klass)
    if builder is not None:
        return builder
    base = _registered_base(klass)
    if base is not None and _inherits_fitted_meaning(klass, base):
        return registry()[base]
    if klass in _refused:
        reason, fix = _refused[klass]
        raise UnsupportedEstimatorError(
            received=f"{_article(klass.__name__)} {klass.__name__}", expected=reason, fix=fix
        )
    raise UnsupportedEstimatorError(
        received=f"{_article(klass.__name__)} {klass.__name__}",
        expected=_reason(klass, base),
        fix=_way_out(klass, base),
    )


def _inherits_fitted_meaning(klass: type, base: type) -> bool:
    """scikit-learn's own subclasses (the CV variants) keep their base's fitted attributes
    and predict methods; a user's subclass may override anything, so it is not guessed."""
    if not klass.__module__.startswith("sklearn."):
        return False
    return all(
        getattr(klass, method, None) is getattr(base, method, None)
        for method in ("predict", "predict_proba", "decision_function", "transform")
    )


def _article(name: str) -> str:
    return "an" if name[:1] in "AEIOU" else "a"


def _reason(klass: type, base) -> str:
    if base is not None:
        why = (
            "a subclass outside scikit-learn may change how it predicts"
            if not klass.__module__.startswith("sklearn.")
            else "it overrides how it predicts"
        )
        return (
            f"An estimator the workbench rebuilds exactly; {klass.__name__} subclasses the supported "
            f"{base.__name__}, but {why}, so its fitted attributes are not read as {base.__name__}'s."
        )
    return "An estimator the workbench rebuilds exactly."


#: Wrappers whose fitted estimator inside is what predicts: the attribute to convert instead.
WRAPPERS = {
    "GridSearchCV": "best_estimator_",
    "RandomizedSearchCV": "best_estimator_",
    "HalvingGridSearchCV": "best_estimator_",
    "HalvingRandomSearchCV": "best_estimator_",
    "SelfTrainingClassifier": "estimator_",
    "TunedThresholdClassifierCV": "estimator_",
}


def _way_out(klass: type, base) -> str:
    if klass.__name__ in WRAPPERS:
        return f"Convert the fitted estimator inside it: workbench.convert(model.{WRAPPERS[klass.__name__]})."
    if base is not None:
        return (
            f"Convert a plain {base.__name__} fitted with the same parameters, "
            f"or open an issue naming {klass.__name__}."
        )
    return (
        f"Use one of the supported classes (workbench.supported_estimators() lists them), "
        f"or open an issue naming {klass.__name__}."
    )


def builds_labels(build):
    """Mark a builder that computes ``"label"`` itself (and checks it in its own check)."""
    build.builds_labels = True
    return build


def label_source(estimator) -> str:
    """What scikit-learn's ``predict`` of a classifier derives its label from."""
    return "decision" if _has(estimator, "decision_function") else "proba"


def _has(estimator, method: str) -> bool:
    try:
        return hasattr(estimator, method)
    except (AttributeError, ValueError):
        return False


def build(estimator, x, output: str):
    """Build ``estimator`` on tensor ``x``: the one entry point pipelines also use per step."""
    builder = builder_for(estimator)
    if output == "label" and not getattr(builder, "builds_labels", False):
        return shared(estimator, x, "label", lambda: _derived_labels(estimator, x))
    return shared(estimator, x, output, lambda: builder(estimator, x, output))


def target_classes(estimator) -> list | None:
    """The classes of each target of a multi-output classifier (``classes_`` is a list of
    arrays there, one per column of ``y``), or None for a single target."""
    classes = getattr(estimator, "classes_", None)
    if isinstance(classes, list):
        return [np.asarray(c) for c in classes]
    return None


def label_table(estimator, classes: list) -> tuple[np.ndarray, np.ndarray]:
    """Every target's classes end to end, as the one type scikit-learn's multi-output
    ``predict`` gives them (``classes_[0]``'s), and where each target's classes start.

    Raises :class:`UnsupportedEstimatorError` for targets whose labels are of different kinds
    (strings in one, numbers in another): no single typed output can hold both.
    """
    kinds = {_label_kind(c) for c in classes}
    if len(kinds) > 1:
        raise UnsupportedEstimatorError(
            received=(
                f"{_article(type(estimator).__name__)} {type(estimator).__name__} fitted on targets "
                f"whose labels are of different kinds ({' and '.join(sorted(kinds))}, one per column of y)"
            ),
            expected="Multi-output targets whose labels are all numbers or all strings: the .tflite's "
            "predict output holds one type.",
            fix="Encode every target column the same way (e.g. y.astype(str), or integer codes) and refit.",
        )
    starts = np.cumsum([0] + [len(c) for c in classes])[:-1]
    if kinds == {"strings"}:
        return np.concatenate([c.astype(str) for c in classes]), starts
    dtype = classes[0].dtype if classes[0].dtype.kind != "O" else np.float64
    return np.concatenate([c.astype(dtype) for c in classes]), starts


def _label_kind(classes: np.ndarray) -> str:
    if classes.dtype.kind in "US" or all(isinstance(c, str) for c in classes):
        return "strings"
    if classes.dtype.kind in "biuf" or all(isinstance(c, (int, float, np.number, bool)) for c in classes):
        return "numbers"
    return "other objects"


def _derived_labels(estimator, x):
    from . import _ops

    source = label_source(estimator)
    scores = build(estimator, x, source)
    binarizer = getattr(estimator, "_label_binarizer", None)
    if getattr(binarizer, "y_type_", None) == "multilabel-indicator":  # MLPClassifier
        return _ops.indicator(scores, 0.5)  # LabelBinarizer.inverse_transform: y > 0.5
    targets = target_classes(estimator)
    if targets is not None:  # one block of scores per target, each its own argmax
        table, starts = label_table(estimator, targets)
        return _ops.take(table, _ops.block_argmax(scores, starts))
    classes = np.asarray(estimator.classes_)
    if len(classes) == 1:  # fitted on one class: scikit-learn predicts it everywhere
        return _ops.take(classes, _ops.constant_index(x, 0))
    if scores.shape[-1] == 1:
        index = _ops.above(scores, 0.0 if source == "decision" else 0.5)
    else:
        index = _ops.argmax(scores)
    return _ops.take(classes, index)


_cache: dict | None = None


@contextlib.contextmanager
def graph_cache():
    """Within this block, :func:`shared` builds each (estimator, input, what) once."""
    global _cache
    previous, _cache = _cache, {}
    try:
        yield
    finally:
        _cache = previous


def shared(estimator, x, what: str, make):
    """``make()``, built once per (estimator, input tensor, what) inside :func:`graph_cache`."""
    if _cache is None:
        return make()
    key = (id(estimator), x.ref(), what)
    if key not in _cache:
        _cache[key] = (estimator, make())  # the estimator is kept so its id stays unique
    return _cache[key][1]
