"""Clusterers that assign new points to the nearest centre, and Gaussian mixtures.

- KMeans, MiniBatchKMeans: ``predict`` is the nearest of ``cluster_centers_`` (the first
  on a tie), ``transform`` the euclidean distances to them;
- MeanShift, AffinityPropagation: ``predict`` is the nearest of ``cluster_centers_``;
- Birch: the label of the nearest subcluster centre, ``transform`` the distances to them;
- GaussianMixture, BayesianGaussianMixture: per component ``c_k - ½ |(x - means_k) P_k|²``
  with ``P_k`` the Cholesky factor of its precision (any covariance type) and ``c_k`` the
  fitted constant (read from scikit-learn's own weighted log-probability at the mean);
  ``predict_proba`` is its softmax, ``score_samples`` its log-sum-exp, ``predict`` its
  first largest component.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import AffinityPropagation, Birch, KMeans, MeanShift, MiniBatchKMeans
from sklearn.mixture import BayesianGaussianMixture, GaussianMixture

from . import _ops
from ._checks import checked_by, require_output, unsupported
from ._registry import builds_labels, shared


def _centres(estimator) -> np.ndarray:
    if isinstance(estimator, Birch):
        return np.asarray(estimator.subcluster_centers_, dtype=np.float64)
    return np.asarray(estimator.cluster_centers_, dtype=np.float64)


def check_centres(estimator, output: str) -> None:
    with_transform = isinstance(estimator, KMeans | MiniBatchKMeans | Birch)
    require_output(estimator, output, ("label", "transform") if with_transform else ("label",))
    if len(_centres(estimator)) == 0:
        raise unsupported(
            estimator, "no cluster centres (it did not converge)", "a fit that found centres", "Refit it."
        )


@builds_labels
@checked_by(check_centres)
def build_nearest_centre(estimator, x, output):
    check_centres(estimator, output)
    centres = _centres(estimator)
    d2 = shared(estimator, x, "distances", lambda: _ops.squared_distances(x, centres))
    if output == "transform":
        return _ops.sqrt(d2)
    nearest = _ops.argmax(-d2)
    if isinstance(estimator, Birch):
        return _ops.take(np.asarray(estimator.subcluster_labels_), nearest)
    return nearest


def check_mixture(estimator, output: str) -> None:
    require_output(estimator, output, ("label", "proba", "score_samples"))


def mixture_terms(estimator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(means, P, c)``: weighted log-probability ``c_k - ½ |(x - means_k) P_k|²``."""
    means = np.asarray(estimator.means_, dtype=np.float64)
    k, f = means.shape
    chol = np.asarray(estimator.precisions_cholesky_, dtype=np.float64)
    kind = estimator.covariance_type
    if kind == "full":
        transforms = chol
    elif kind == "tied":
        transforms = np.broadcast_to(chol, (k, f, f)).copy()
    elif kind == "diag":
        transforms = np.stack([np.diag(row) for row in chol])
    else:
        transforms = np.stack([value * np.eye(f) for value in chol])
    constants = np.diag(estimator._estimate_weighted_log_prob(means))  # quadratic term 0 at its own mean
    return means, transforms, constants


@builds_labels
@checked_by(check_mixture)
def build_mixture(estimator, x, output):
    check_mixture(estimator, output)
    means, transforms, constants = mixture_terms(estimator)
    weighted = shared(
        estimator,
        x,
        "weighted",
        lambda: _ops.add(-0.5 * _ops.quadratic_forms(x, means, transforms), constants),
    )
    if output == "label":
        return _ops.argmax(weighted)
    if output == "score_samples":
        return _ops.logsumexp(weighted)
    return _ops.softmax(weighted)


BUILDERS = {
    KMeans: build_nearest_centre,
    MiniBatchKMeans: build_nearest_centre,
    MeanShift: build_nearest_centre,
    AffinityPropagation: build_nearest_centre,
    Birch: build_nearest_centre,
    GaussianMixture: build_mixture,
    BayesianGaussianMixture: build_mixture,
}
