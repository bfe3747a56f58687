"""Meta-estimators, each rebuilt from its fitted sub-estimators through the registry.

- VotingClassifier: "soft" averages the probabilities (weighted), "hard" counts weighted
  votes for each estimator's label, the first class on a tie (``np.bincount`` then
  ``argmax``); ``transform`` stacks what the estimators give. VotingRegressor: the
  weighted average.
- BaggingClassifier: the mean of the estimators' probabilities on their feature subsets
  (a vote where they have none); BaggingRegressor: the mean prediction.
- StackingClassifier / StackingRegressor: the final estimator on the stacked outputs of
  the estimators (``stack_method_``; the first probability column dropped for two
  classes), with the input passed through where asked.
- OneVsRestClassifier, OneVsOneClassifier: scikit-learn's decision rules (OvR: the last
  largest binary score wins; OvO: votes plus squashed confidences).
- MultiOutputRegressor: one column per estimator; MultiOutputClassifier: one label column
  per estimator, and ``predict_proba`` one output per target (a list, as scikit-learn).
- CalibratedClassifierCV (sigmoid): the mean over its calibrated classifiers of
  ``1 / (1 + exp(a f + b))`` on each class's decision value, normalised per row.
- TransformedTargetRegressor: the regressor, then the inverse of an identity or
  StandardScaler target transform.
"""

from __future__ import annotations

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import (
    BaggingClassifier,
    BaggingRegressor,
    StackingClassifier,
    StackingRegressor,
    VotingClassifier,
    VotingRegressor,
)
from sklearn.multiclass import OneVsOneClassifier, OneVsRestClassifier
from sklearn.multioutput import MultiOutputClassifier, MultiOutputRegressor
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from . import _ops
from ._checks import check_supported, checked_by, require_output, unsupported
from ._registry import build, builds_labels, label_table, target_classes
from .linear import log_positive_proba


def _has(estimator, method: str) -> bool:
    try:
        return hasattr(estimator, method)
    except (AttributeError, ValueError):
        return False


def _score_kind(estimator) -> str:
    """What scikit-learn's ``_predict_binary`` reads: decision values, else probabilities."""
    return "decision" if _has(estimator, "decision_function") else "proba"


def _binary_score(estimator, x):
    """(batch, 1): decision value, or probability of the second class."""
    kind = _score_kind(estimator)
    out = build(estimator, x, kind)
    return out[:, 1:] if kind == "proba" else out


def _weights(estimator, n: int) -> np.ndarray:
    weights = getattr(estimator, "_weights_not_none", None)
    return np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)


def _one_hot_labels(index, n_classes: int):
    return _ops.one_hot_index(index, n_classes)


# ------------------------------------------------------------------ voting
def check_voting(estimator, output: str) -> None:
    if isinstance(estimator, VotingRegressor):
        require_output(estimator, output, ("values", "transform"))
        for sub in estimator.estimators_:
            check_supported(sub, "values")
        return
    soft = estimator.voting == "soft"
    require_output(estimator, output, ("proba", "label", "transform") if soft else ("label", "transform"))
    for sub in estimator.estimators_:
        check_supported(sub, "proba" if soft else "label")


@builds_labels
@checked_by(check_voting)
def build_voting(estimator, x, output):
    check_voting(estimator, output)
    subs = estimator.estimators_
    weights = _weights(estimator, len(subs))
    if isinstance(estimator, VotingRegressor):
        predictions = _ops.concat([build(sub, x, "values") for sub in subs])
        if output == "transform":
            return predictions
        return _ops.matmul(predictions, (weights / weights.sum())[:, None])
    classes = np.asarray(estimator.classes_)
    k = len(classes)
    if estimator.voting == "soft":
        probas = [build(sub, x, "proba") for sub in subs]
        if output == "transform":
            return _ops.concat(probas) if estimator.flatten_transform else _ops.stack(probas)
        average = _ops.weighted_sum(probas, weights / weights.sum())
        return average if output == "proba" else _ops.take(classes, _ops.argmax(average))
    labels = [build(sub, x, "label") for sub in subs]  # encoded: sub-estimators learned 0..k-1
    if output == "transform":
        return _ops.stack_columns(labels)
    votes = _ops.weighted_sum([_one_hot_labels(label, k) for label in labels], weights)
    return _ops.take(classes, _ops.argmax(votes))


# ------------------------------------------------------------------ bagging
def check_bagging(estimator, output: str) -> None:
    if isinstance(estimator, BaggingRegressor):
        require_output(estimator, output, ("values",))
        for sub in estimator.estimators_:
            check_supported(sub, "values")
        return
    require_output(estimator, output, ("proba", "decision"))
    k = len(estimator.classes_)
    for sub in estimator.estimators_:
        if output == "decision" and len(sub.classes_) != k:
            raise unsupported(
                estimator,
                "a bootstrap sample missing a class",
                "every estimator fitted on all classes",
                "Refit.",
            )
        check_supported(sub, output if output == "decision" or _has(sub, "predict_proba") else "label")


@checked_by(check_bagging)
def build_bagging(estimator, x, output):
    check_bagging(estimator, output)
    parts = []
    for sub, features in zip(estimator.estimators_, estimator.estimators_features_, strict=True):
        columns = _ops.columns(x, np.asarray(features))
        if isinstance(estimator, BaggingRegressor):
            parts.append(build(sub, columns, "values"))
        elif output == "decision":
            parts.append(build(sub, columns, "decision"))
        elif _has(sub, "predict_proba"):
            scatter = np.zeros((len(sub.classes_), len(estimator.classes_)))
            scatter[np.arange(len(sub.classes_)), np.asarray(sub.classes_, dtype=np.int64)] = 1.0
            parts.append(_ops.matmul(build(sub, columns, "proba"), scatter))
        else:
            parts.append(_one_hot_labels(build(sub, columns, "label"), len(estimator.classes_)))
    return _ops.weighted_sum(parts, np.full(len(parts), 1.0 / len(parts)))


# ------------------------------------------------------------------ stacking
def check_stacking(estimator, output: str) -> None:
    allowed = ("values", "transform") if isinstance(estimator, StackingRegressor) else None
    if allowed is None:
        allowed = ["label", "transform"] + [
            kind
            for kind, method in (("proba", "predict_proba"), ("decision", "decision_function"))
            if _has(estimator.final_estimator_, method)
        ]
    require_output(estimator, output, tuple(allowed))
    for sub, method in zip(estimator.estimators_, estimator.stack_method_, strict=True):
        check_supported(sub, _METHOD_KINDS[method])
    if output != "transform":
        check_supported(estimator.final_estimator_, output)


_METHOD_KINDS = {"predict_proba": "proba", "decision_function": "decision", "predict": "values"}


def _stacked(estimator, x):
    parts = []
    binary = not isinstance(estimator, StackingRegressor) and len(estimator.classes_) == 2
    for sub, method in zip(estimator.estimators_, estimator.stack_method_, strict=True):
        if method == "predict" and not isinstance(estimator, StackingRegressor):
            out = _ops.as_float_column(build(sub, x, "label"))
        else:
            out = build(sub, x, _METHOD_KINDS[method])
        if method == "predict_proba" and binary:
            out = out[:, 1:]
        parts.append(out)
    if estimator.passthrough:
        parts.append(x)
    return _ops.concat(parts)


@builds_labels
@checked_by(check_stacking)
def build_stacking(estimator, x, output):
    check_stacking(estimator, output)
    meta = _stacked(estimator, x)
    if output == "transform":
        return meta
    out = build(estimator.final_estimator_, meta, output)
    if output == "label":  # the final estimator learned encoded labels 0..k-1
        return _ops.take(np.asarray(estimator.classes_), out)
    return out


def _log_positive(sub, x):
    """(batch, 1) log-probability of a binary sub-estimator's second class."""
    exact = log_positive_proba(sub, x)
    return exact if exact is not None else _ops.log(build(sub, x, "proba")[:, 1:])


# ------------------------------------------------------------------ one-vs-rest / one-vs-one
def check_one_vs(estimator, output: str) -> None:
    allowed = ["label"]
    if _has(estimator, "decision_function"):
        allowed.append("decision")
    if _has(estimator, "predict_proba"):
        allowed.append("proba")
    require_output(estimator, output, tuple(allowed))
    if getattr(estimator, "multilabel_", False):
        raise unsupported(estimator, "a multi-label target", "a single target column", "Fit one target.")
    for sub in estimator.estimators_:
        if not hasattr(sub, "classes_"):
            raise unsupported(
                estimator,
                "a class seen in every (or no) training sample",
                "binary problems with both classes present",
                "Fit it on data where each class is present and absent.",
            )
        check_supported(sub, _score_kind(sub))
        if isinstance(estimator, OneVsOneClassifier):
            check_supported(sub, "label")


@builds_labels
@checked_by(check_one_vs)
def build_one_vs(estimator, x, output):
    check_one_vs(estimator, output)
    classes = np.asarray(estimator.classes_)
    k = len(classes)
    subs = estimator.estimators_
    if isinstance(estimator, OneVsOneClassifier):
        scores = _ops.concat([_binary_score(sub, x) for sub in subs])
        wins = _ops.concat([_ops.as_float_column(build(sub, x, "label")) for sub in subs])
        decision = _ops.ovo_decision(wins, scores, k)
        if k == 2:
            decision = decision[:, 1:]
            if output == "label":
                threshold = 0.0 if _score_kind(subs[0]) == "decision" else 0.5
                return _ops.take(classes, _ops.above(decision, threshold))
            return decision
        return _ops.take(classes, _ops.argmax(decision)) if output == "label" else decision
    if output == "proba":
        if k == 2:
            return _ops.two_columns(build(subs[0], x, "proba")[:, 1:])
        # normalised in log space: logistic scores below -88 underflow float32's sigmoid
        return _ops.normalise_logs(_ops.concat([_log_positive(sub, x) for sub in subs]), all_zero="nan")
    if output == "decision":
        return _ops.concat([build(sub, x, "decision") for sub in subs])
    scores = _ops.concat([_binary_score(sub, x) for sub in subs])
    if k == 2:
        threshold = 0.0 if _score_kind(subs[0]) == "decision" else 0.5
        return _ops.take(classes, _ops.above(scores, threshold))
    return _ops.take(classes, _ops.last_argmax(scores))


# ------------------------------------------------------------------ multi-output, calibration, target
def check_multi_output(estimator, output: str) -> None:
    require_output(estimator, output, ("values",))
    for sub in estimator.estimators_:
        check_supported(sub, "values")


@checked_by(check_multi_output)
def build_multi_output(estimator, x, output):
    check_multi_output(estimator, output)
    return _ops.concat([build(sub, x, "values") for sub in estimator.estimators_])


def check_multi_output_classifier(estimator, output: str) -> None:
    allowed = ("label", "proba") if _has(estimator, "predict_proba") else ("label",)
    require_output(estimator, output, allowed)
    label_table(estimator, target_classes(estimator))  # one kind of label for every target
    for sub in estimator.estimators_:
        check_supported(sub, output)


@builds_labels
@checked_by(check_multi_output_classifier)
def build_multi_output_classifier(estimator, x, output):
    """MultiOutputClassifier: one classifier per target; ``predict`` their labels side by
    side, ``predict_proba`` a list of their probabilities."""
    check_multi_output_classifier(estimator, output)
    if output == "proba":
        return [build(sub, x, "proba") for sub in estimator.estimators_]
    table, starts = label_table(estimator, target_classes(estimator))
    # each estimator's own label (its own rule: a vote, a threshold...) as an index into the table
    index = [
        _ops.argmax(_ops.equal_rows(build(sub, x, "label"), sub.classes_)) + np.int32(start)
        for sub, start in zip(estimator.estimators_, starts, strict=True)
    ]
    return _ops.take(table, _ops.stack_columns(index))


def check_calibrated(estimator, output: str) -> None:
    require_output(estimator, output, ("proba",))
    if estimator.method != "sigmoid":
        raise unsupported(
            estimator,
            f"method={estimator.method!r}",
            "method='sigmoid'",
            "Refit with method='sigmoid' (isotonic and temperature calibration are not rebuilt).",
        )
    for calibrated in estimator.calibrated_classifiers_:
        check_supported(calibrated.estimator, _score_kind(calibrated.estimator))


def _calibrated_proba(calibrated, x, classes):
    sub = calibrated.estimator
    k = len(classes)
    kind = _score_kind(sub)
    scores = build(sub, x, kind)
    if kind == "proba" and k == 2:
        scores = scores[:, 1:]
    positions = np.searchsorted(classes, np.asarray(sub.classes_))
    a = np.array([float(c.a_) for c in calibrated.calibrators])
    b = np.array([float(c.b_) for c in calibrated.calibrators])
    logits = _ops.affine_columns(scores, -a, -b)
    if k == 2:
        return _ops.two_columns(_ops.sigmoid(logits))
    # classes the calibrated classifier never saw have probability 0: a log far below any other
    log_p = _ops.log_sigmoid(logits)
    columns = [
        int(np.flatnonzero(positions[: len(a)] == c)[0]) if c in positions[: len(a)] else None
        for c in range(k)
    ]
    parts = [log_p[:, j : j + 1] if j is not None else _ops.zeros_like(log_p[:, :1]) - 1e30 for j in columns]
    return _ops.normalise_logs(_ops.concat(parts), all_zero="uniform")


@checked_by(check_calibrated)
def build_calibrated(estimator, x, output):
    check_calibrated(estimator, output)
    classes = np.asarray(estimator.classes_)
    parts = [_calibrated_proba(c, x, classes) for c in estimator.calibrated_classifiers_]
    return _ops.weighted_sum(parts, np.full(len(parts), 1.0 / len(parts)))


def check_transformed_target(estimator, output: str) -> None:
    require_output(estimator, output, ("values",))
    transformer = estimator.transformer_
    identity = isinstance(transformer, FunctionTransformer) and transformer.func is None
    if not (identity or isinstance(transformer, StandardScaler)):
        raise unsupported(
            estimator,
            f"a {type(transformer).__name__} target transform",
            "no transform, or a StandardScaler",
            "Use transformer=StandardScaler() or none.",
        )
    check_supported(estimator.regressor_, "values")


@checked_by(check_transformed_target)
def build_transformed_target(estimator, x, output):
    check_transformed_target(estimator, output)
    out = build(estimator.regressor_, x, "values")
    transformer = estimator.transformer_
    if isinstance(transformer, StandardScaler):
        scale = np.asarray(transformer.scale_, np.float64) if transformer.with_std else None
        mean = np.asarray(transformer.mean_, np.float64) if transformer.with_mean else None
        if scale is not None:
            out = _ops.scale(out, factor=scale)
        if mean is not None:
            out = _ops.add(out, mean)
    return out


BUILDERS = {
    VotingClassifier: build_voting,
    VotingRegressor: build_voting,
    BaggingClassifier: build_bagging,
    BaggingRegressor: build_bagging,
    StackingClassifier: build_stacking,
    StackingRegressor: build_stacking,
    OneVsRestClassifier: build_one_vs,
    OneVsOneClassifier: build_one_vs,
    MultiOutputRegressor: build_multi_output,
    MultiOutputClassifier: build_multi_output_classifier,
    CalibratedClassifierCV: build_calibrated,
    TransformedTargetRegressor: build_transformed_target,
}
