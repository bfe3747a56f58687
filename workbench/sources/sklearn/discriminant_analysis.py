"""Linear and quadratic discriminant analysis.

- LinearDiscriminantAnalysis: ``decision_function`` is ``X @ coef_.T + intercept_``,
  ``predict_proba`` its sigmoid (two classes, ``[1 - p, p]``) or softmax, ``transform``
  ``(X - xbar_) @ scalings_`` (solver "svd") or ``X @ scalings_`` ("eigen"), cut to
  scikit-learn's number of components.
- QuadraticDiscriminantAnalysis: per class ``-½ (|(X - means_k) @ R_k S_k^-½|² + Σ log S_k)
  + log prior_k``; ``predict_proba`` its softmax, ``decision_function`` the difference of
  the two classes' scores (two classes) or the scores.
"""

from __future__ import annotations

import numpy as np
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis, QuadraticDiscriminantAnalysis

from . import _ops
from ._checks import checked_by, require_output, unsupported
from ._registry import shared


def check_lda(estimator, output: str) -> None:
    require_output(estimator, output, ("decision", "proba", "transform"))
    if output == "transform" and estimator.solver not in ("svd", "eigen"):
        raise unsupported(
            estimator,
            f"solver={estimator.solver!r}",
            "solver 'svd' or 'eigen' for transform",
            "Refit with solver='svd'.",
        )


@checked_by(check_lda)
def build_lda(estimator, x, output):
    check_lda(estimator, output)
    if output == "transform":
        scalings = np.asarray(estimator.scalings_, dtype=np.float64)[:, : estimator._max_components]
        offset = np.asarray(estimator.xbar_, dtype=np.float64) if estimator.solver == "svd" else None
        return _ops.affine(x, scalings, offset=offset)
    coef = np.atleast_2d(np.asarray(estimator.coef_, dtype=np.float64))
    intercept = np.asarray(estimator.intercept_, dtype=np.float64).ravel()
    decision = shared(estimator, x, "decision", lambda: _ops.affine(x, coef.T, intercept))
    if output == "decision":
        return decision
    if len(estimator.classes_) == 2:
        return _ops.two_columns(_ops.sigmoid(decision))
    return _ops.softmax(decision)


def check_qda(estimator, output: str) -> None:
    require_output(estimator, output, ("decision", "proba"))


def qda_scores(estimator, x):
    transforms = np.stack(
        [
            np.asarray(r, np.float64) * np.asarray(s, np.float64) ** -0.5
            for r, s in zip(estimator.rotations_, estimator.scalings_, strict=True)
        ]
    )
    offsets = -0.5 * np.array([np.sum(np.log(s)) for s in estimator.scalings_]) + np.log(estimator.priors_)
    norms = _ops.quadratic_forms(x, np.asarray(estimator.means_, np.float64), transforms)
    return _ops.add(-0.5 * norms, offsets)


@checked_by(check_qda)
def build_qda(estimator, x, output):
    check_qda(estimator, output)
    scores = shared(estimator, x, "scores", lambda: qda_scores(estimator, x))
    if output == "proba":
        return _ops.softmax(scores)
    if len(estimator.classes_) == 2:
        return scores[:, 1:] - scores[:, :1]
    return scores


BUILDERS = {LinearDiscriminantAnalysis: build_lda, QuadraticDiscriminantAnalysis: build_qda}
