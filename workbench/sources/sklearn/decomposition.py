"""Linear projections: every ``transform`` here is ``(X - offset) @ W`` (BernoulliRBM adds
a sigmoid), with ``W`` folded in float64 from the fitted attributes.

- TruncatedSVD, random projections, NeighborhoodComponentsAnalysis: ``X @ components_.T``;
- IncrementalPCA: as PCA (``mean_``, optional whitening);
- FastICA: ``(X - mean_) @ components_.T`` (the mean only when it whitened);
- FactorAnalysis: ``(X - mean_) @ Wpsi.T @ inv(I + Wpsi @ components_.T)``;
- SparsePCA, MiniBatchSparsePCA: the ridge regression of ``X - mean_`` on the components,
  ``(X - mean_) @ C.T @ inv(C @ C.T + ridge_alpha I)``;
- KernelPCA with the linear kernel: the centred Gram matrix against the training rows
  times the scaled eigenvectors is linear in X, folded into one affine map;
- PLSRegression, PLSCanonical, CCA: ``predict`` is ``(X - _x_mean) @ coef_.T +
  intercept_``; ``transform`` ``(X - _x_mean) / _x_std @ x_rotations_``; PLSSVD the same
  with ``x_weights_``;
- BernoulliRBM: ``sigmoid(X @ components_.T + intercept_hidden_)``.
"""

from __future__ import annotations

import numpy as np
from sklearn.cross_decomposition import CCA, PLSSVD, PLSCanonical, PLSRegression
from sklearn.decomposition import (
    FactorAnalysis,
    FastICA,
    IncrementalPCA,
    KernelPCA,
    MiniBatchSparsePCA,
    SparsePCA,
    TruncatedSVD,
)
from sklearn.neighbors import NeighborhoodComponentsAnalysis
from sklearn.neural_network import BernoulliRBM
from sklearn.random_projection import GaussianRandomProjection, SparseRandomProjection

from . import _ops
from ._checks import checked_by, require_output, unsupported


def _f64(values) -> np.ndarray:
    return np.asarray(values.toarray() if hasattr(values, "toarray") else values, dtype=np.float64)


def check_projection(estimator, output: str) -> None:
    require_output(estimator, output, ("transform",))
    if isinstance(estimator, KernelPCA) and estimator.kernel != "linear":
        raise unsupported(
            estimator,
            f"kernel={estimator.kernel!r}",
            "the linear kernel",
            "Refit with kernel='linear', or use PCA.",
        )


def projection(estimator) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """``(W, offset, bias)`` with ``transform(X) = (X - offset) @ W + bias``."""
    if isinstance(estimator, IncrementalPCA):
        weights = _f64(estimator.components_).T
        if estimator.whiten:
            weights = weights / np.sqrt(_f64(estimator.explained_variance_))
        return weights, _f64(estimator.mean_), None
    if isinstance(estimator, FastICA):
        return _f64(estimator.components_).T, _f64(estimator.mean_) if estimator.whiten else None, None
    if isinstance(estimator, FactorAnalysis):
        components = _f64(estimator.components_)
        wpsi = components / _f64(estimator.noise_variance_)
        cov_z = np.linalg.inv(np.eye(len(components)) + wpsi @ components.T)
        return wpsi.T @ cov_z, _f64(estimator.mean_), None
    if isinstance(estimator, SparsePCA | MiniBatchSparsePCA):
        components = _f64(estimator.components_)
        gram = components @ components.T + estimator.ridge_alpha * np.eye(len(components))
        return components.T @ np.linalg.inv(gram), _f64(estimator.mean_), None
    if isinstance(estimator, KernelPCA):
        return _kernel_pca(estimator)
    if isinstance(estimator, PLSSVD):
        return _f64(estimator.x_weights_) / _f64(estimator._x_std)[:, None], _f64(estimator._x_mean), None
    if isinstance(estimator, PLSRegression | PLSCanonical | CCA):
        return _f64(estimator.x_rotations_) / _f64(estimator._x_std)[:, None], _f64(estimator._x_mean), None
    return _f64(estimator.components_).T, None, None


def _kernel_pca(estimator):
    fit = _f64(estimator.X_fit_)
    eigenvalues = _f64(estimator.eigenvalues_)
    alphas = np.zeros_like(_f64(estimator.eigenvectors_))
    nonzero = np.flatnonzero(eigenvalues)
    alphas[:, nonzero] = _f64(estimator.eigenvectors_)[:, nonzero] / np.sqrt(eigenvalues[nonzero])
    centerer = estimator._centerer
    column_sums = alphas.sum(axis=0)
    weights = fit.T @ alphas - np.outer(fit.mean(axis=0), column_sums)
    bias = float(centerer.K_fit_all_) * column_sums - _f64(centerer.K_fit_rows_) @ alphas
    return weights, None, bias


@checked_by(check_projection)
def build_projection(estimator, x, output):
    check_projection(estimator, output)
    weights, offset, bias = projection(estimator)
    return _ops.affine(x, weights, bias, offset=offset)


def check_pls(estimator, output: str) -> None:
    require_output(estimator, output, ("values", "transform"))


@checked_by(check_pls)
def build_pls(estimator, x, output):
    check_pls(estimator, output)
    if output == "transform":
        return build_projection(estimator, x, output)
    coef = np.atleast_2d(_f64(estimator.coef_))
    return _ops.affine(x, coef.T, _f64(estimator.intercept_).ravel(), offset=_f64(estimator._x_mean))


@checked_by(check_projection)
def build_rbm(estimator, x, output):
    check_projection(estimator, output)
    z = _ops.affine(x, _f64(estimator.components_).T, _f64(estimator.intercept_hidden_))
    return _ops.sigmoid(z)


BUILDERS = {
    TruncatedSVD: build_projection,
    IncrementalPCA: build_projection,
    FastICA: build_projection,
    FactorAnalysis: build_projection,
    SparsePCA: build_projection,
    MiniBatchSparsePCA: build_projection,
    KernelPCA: build_projection,
    GaussianRandomProjection: build_projection,
    SparseRandomProjection: build_projection,
    NeighborhoodComponentsAnalysis: build_projection,
    PLSSVD: build_projection,
    PLSRegression: build_pls,
    PLSCanonical: build_pls,
    CCA: build_pls,
    BernoulliRBM: build_rbm,
}
