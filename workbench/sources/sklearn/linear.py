"""Linear models: one affine map, then the link scikit-learn applies.

Regressors output ``X @ coef_.T + intercept_``; classifiers output their decision
values, or the probabilities their ``predict_proba`` derives from them:

- LogisticRegression: sigmoid (binary) or softmax (multi-class), as in scikit-learn 1.9;
- SGDClassifier: ``log_loss`` one-vs-rest sigmoids normalised per row, or
  ``modified_huber`` clipped scores normalised per row (a zero row becomes uniform);
- RidgeClassifier(CV), Perceptron, PassiveAggressiveClassifier (where scikit-learn still has
  it), LinearSVC and
  SGDClassifier with other losses: decision values only.

Every regressor whose ``predict`` is ``X @ coef_.T + intercept_`` shares one builder (the
CV variants, Lars, OMP, Bayesian, robust and multi-task models among them); the GLMs
(Poisson, Gamma, Tweedie) apply their link's inverse; RANSAC rebuilds its fitted
``estimator_`` through the registry; SGDOneClassSVM is ``X @ coef_ - offset_`` with
``predict`` +1 where that is >= 0, as scikit-learn.
"""

from __future__ import annotations

import numpy as np
from sklearn import linear_model as _linear_model
from sklearn.linear_model import (
    ARDRegression,
    BayesianRidge,
    ElasticNet,
    ElasticNetCV,
    GammaRegressor,
    HuberRegressor,
    Lars,
    LarsCV,
    Lasso,
    LassoCV,
    LassoLars,
    LassoLarsCV,
    LassoLarsIC,
    LinearRegression,
    LogisticRegression,
    MultiTaskElasticNet,
    MultiTaskElasticNetCV,
    MultiTaskLasso,
    MultiTaskLassoCV,
    OrthogonalMatchingPursuit,
    OrthogonalMatchingPursuitCV,
    Perceptron,
    PoissonRegressor,
    QuantileRegressor,
    RANSACRegressor,
    Ridge,
    RidgeClassifier,
    RidgeClassifierCV,
    RidgeCV,
    SGDClassifier,
    SGDOneClassSVM,
    SGDRegressor,
    TheilSenRegressor,
    TweedieRegressor,
)
from sklearn.svm import LinearSVC, LinearSVR

from . import _ops
from ._checks import check_outlier_detector, check_supported, checked_by, require_output, unsupported
from ._registry import build, builds_labels, shared

# scikit-learn 1.8 deprecates PassiveAggressive* (removed in 1.10) for the equivalent
# SGDClassifier/SGDRegressor(learning_rate="pa1"), which the SGD entries already cover; the
# old classes stay supported wherever the installed scikit-learn still has them.
_PASSIVE_AGGRESSIVE_REGRESSORS = tuple(
    getattr(_linear_model, name) for name in ("PassiveAggressiveRegressor",) if hasattr(_linear_model, name)
)
_PASSIVE_AGGRESSIVE_CLASSIFIERS = tuple(
    getattr(_linear_model, name) for name in ("PassiveAggressiveClassifier",) if hasattr(_linear_model, name)
)


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


# --------------------------------------------------------------------- GLMs
def check_glm(estimator, output: str) -> None:
    require_output(estimator, output, ("values",))
    link = type(estimator._base_loss.link).__name__
    if link not in ("IdentityLink", "LogLink"):
        raise unsupported(
            estimator, f"a {link}", "the identity or log link", "Use link='auto', 'identity' or 'log'."
        )


@checked_by(check_glm)
def build_glm(estimator, x, output):
    check_glm(estimator, output)
    coef, intercept = _affine_terms(estimator)
    raw = _ops.affine(x, coef.T, intercept)
    return _ops.exp(raw) if type(estimator._base_loss.link).__name__ == "LogLink" else raw


# --------------------------------------------------------------------- RANSAC
def check_ransac(estimator, output: str) -> None:
    require_output(estimator, output, ("values",))
    check_supported(estimator.estimator_, output)


@checked_by(check_ransac)
def build_ransac(estimator, x, output):
    check_ransac(estimator, output)
    return build(estimator.estimator_, x, output)


# --------------------------------------------------------------------- one-class SVM (SGD)
@builds_labels
@checked_by(check_outlier_detector)
def build_one_class(estimator, x, output):
    check_outlier_detector(estimator, output)
    coef = _dense(estimator.coef_).reshape(1, -1)
    offset = float(np.asarray(estimator.offset_).ravel()[0])
    return _ops.outlier_outputs(_ops.affine(x, coef.T), offset, output)


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
    scores = shared(estimator, x, "scores", lambda: _ops.affine(x, coef.T, intercept))
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


def log_positive_proba(estimator, x):
    """(batch, 1) log-probability of the second class of a binary classifier whose
    ``predict_proba`` is the sigmoid of its decision value (logistic regression, SGD with
    ``log_loss``), finite however negative the decision; None for any other estimator."""
    if not isinstance(estimator, AFFINE_CLASSIFIERS) or _proba_link(estimator) not in (
        "logistic",
        "logistic_ovr",
    ):
        return None
    if _affine_terms(estimator)[0].shape[0] != 1:
        return None
    return _ops.log_sigmoid(build(estimator, x, "decision"))


#: Regressors whose ``predict`` is ``X @ coef_.T + intercept_``.
AFFINE_REGRESSORS = (
    LinearRegression,
    Ridge,
    RidgeCV,
    Lasso,
    LassoCV,
    ElasticNet,
    ElasticNetCV,
    Lars,
    LarsCV,
    LassoLars,
    LassoLarsCV,
    LassoLarsIC,
    OrthogonalMatchingPursuit,
    OrthogonalMatchingPursuitCV,
    BayesianRidge,
    ARDRegression,
    HuberRegressor,
    QuantileRegressor,
    TheilSenRegressor,
    SGDRegressor,
    *_PASSIVE_AGGRESSIVE_REGRESSORS,
    MultiTaskLasso,
    MultiTaskLassoCV,
    MultiTaskElasticNet,
    MultiTaskElasticNetCV,
    LinearSVR,
)
#: Classifiers whose decision is ``X @ coef_.T + intercept_``.
AFFINE_CLASSIFIERS = (
    LogisticRegression,
    SGDClassifier,
    RidgeClassifier,
    RidgeClassifierCV,
    Perceptron,
    *_PASSIVE_AGGRESSIVE_CLASSIFIERS,
    LinearSVC,
)

BUILDERS = {
    **{klass: build_regressor for klass in AFFINE_REGRESSORS},
    **{klass: build_classifier for klass in AFFINE_CLASSIFIERS},
    PoissonRegressor: build_glm,
    GammaRegressor: build_glm,
    TweedieRegressor: build_glm,
    RANSACRegressor: build_ransac,
    SGDOneClassSVM: build_one_class,
}
