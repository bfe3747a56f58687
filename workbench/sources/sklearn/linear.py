"""Linear models: one affine map, then the link scikit-learn applies.

Regressors output ``X @ coef_.T + intercept_``; classifiers output their decision
values, or the probabilities their ``predict_proba`` derives from them:

- LogisticRegression: sigmoid (binary) or softmax (multi-class), as in scikit-learn 1.9;
- SGDClassifier: ``log_loss`` one-vs-rest sigmoids normalised per row, or
  ``modified_huber`` clipped scores normalised per row (a zero row becomes uniform);
- RidgeClassifier, LinearSVC and SGDClassifier with other losses: decision values only.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import (
    ElasticNet,
    Lasso,
    LinearRegression,
    LogisticRegression,
    Ridge,
    RidgeClassifier,
    SGDClassifier,
    SGDRegressor,
)
from sklearn.svm import LinearSVC, LinearSVR

from . import _ops
from ._checks import checked_by, require_output, unsupported


def _dense(array) -> np.ndarray:
    return np.asarray(array.toarray() if hasattr(array, "toarray") else array, dtype=np.float64)


def _affine_terms(estimator) -> tuple[np.ndarray, np.ndarray]:
    """``coef_`` as (n_outputs, n_features) and ``intercept_`` as (n_outputs,), float64."""
    coef = _dense(estimator.coef_)
    if coef.ndim == 1:
        coef = coef[None, :]
    intercept = np.asarray(estimator.intercept_, dtype=np.float64).ravel()
    intercept = np.broadcast_to(intercept, (coef.shape[0],)).copy()
    return coef, intercept


# --------------------------------------------------------------------- regressors
def check_regressor(estimator, output: str) -> None:
    require_output(estimator, output, ("values",))


@checked_by(check_regressor)
def build_regressor(estimator, x, output):
    check_regressor(estimator, output)
    coef, intercept = _affine_terms(estimator)
    return _ops.affine(x, coef.T, intercept)


# --------------------------------------------------------------------- classifiers
def _proba_link(estimator) -> str | None:
    """How ``predict_proba`` turns decision values into probabilities, if it exists."""
    if isinstance(estimator, LogisticRegression):
        return "logistic"
    if isinstance(estimator, SGDClassifier):
        if estimator.loss == "log_loss":
            return "logistic_ovr"
        if estimator.loss == "modified_huber":
            return "modified_huber"
    return None


def check_classifier(estimator, output: str) -> None:
    allowed = ("decision", "proba") if _proba_link(estimator) else ("decision",)
    require_output(estimator, output, allowed)
    classes = getattr(estimator, "classes_", None)
    coef, _ = _affine_terms(estimator)
    if classes is None or np.ndim(classes) != 1:
        raise unsupported(
            estimator,
            "multi-output or multi-label targets",
            "a single target column (binary or multi-class)",
            "Fit one classifier per target.",
        )
    expected_rows = 1 if len(classes) == 2 else len(classes)
    if coef.shape[0] != expected_rows:
        raise unsupported(
            estimator,
            f"coef_ of shape {coef.shape} for {len(classes)} classes",
            "one row of coefficients per class (one for a binary problem)",
            "Fit it on a single target column.",
        )


@checked_by(check_classifier)
def build_classifier(estimator, x, output):
    check_classifier(estimator, output)
    coef, intercept = _affine_terms(estimator)
    scores = _ops.affine(x, coef.T, intercept)
    if output == "decision":
        return scores
    binary = coef.shape[0] == 1
    link = _proba_link(estimator)
    if link == "modified_huber":
        proba = _ops.modified_huber_proba(scores)
        return _ops.two_columns(proba) if binary else _ops.normalise_rows(proba)
    if binary:
        return _ops.two_columns(_ops.sigmoid(scores))
    if link == "logistic":
        return _ops.softmax(scores)
    return _ops.logistic_ovr_proba(scores)


BUILDERS = {
    LinearRegression: build_regressor,
    Ridge: build_regressor,
    Lasso: build_regressor,
    ElasticNet: build_regressor,
    SGDRegressor: build_regressor,
    LinearSVR: build_regressor,
    LogisticRegression: build_classifier,
    SGDClassifier: build_classifier,
    RidgeClassifier: build_classifier,
    LinearSVC: build_classifier,
}
