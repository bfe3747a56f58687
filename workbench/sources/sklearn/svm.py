"""Kernel SVMs (libsvm): SVC, NuSVC, SVR, NuSVR and OneClassSVM.

Each one-vs-one problem p between classes i < j is ``sum_l coef[p, l] K(x, sv_l) +
intercept_[p]`` over the support vectors of classes i and j, as libsvm's
``svm_predict_values``. The linear kernel folds the support vectors into one weight
matrix in float64, and a polynomial kernel with few enough monomials is expanded into a
polynomial of x with coefficients folded in float64 (see ``polynomial_expansion``).
Other kernels take one (support vectors, pairs) coefficient matrix, and RBF distances one
matrix product, where a float32 emulation says the error stays small (``_svm_plan``);
otherwise each pair's terms are gathered in an order that alternates positive and
negative coefficients: the partial sums stay small, and so does the float32 rounding (on
breast_cancer this takes the error from 1.7e-5 to 1e-6).

Outputs follow scikit-learn: the binary decision value is libsvm's with its sign
flipped; multi-class ``decision_function_shape="ovr"`` turns pair decisions into votes
plus squashed confidences; ``probability=True`` reproduces libsvm's Platt scaling and
pairwise coupling.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from sklearn.kernel_ridge import KernelRidge
from sklearn.svm import SVC, SVR, NuSVC, NuSVR, OneClassSVM

from . import _ops
from ._checks import OUTLIER_OUTPUTS, checked_by, require_choice, require_output
from ._registry import builds_labels, shared
from ._svm_plan import KernelPlan, balanced_order, choose, coefficient_matrix, dense_fits, summation_order

KERNELS = ("linear", "rbf", "poly", "sigmoid")

#: A polynomial kernel is expanded into monomials of x when there are at most this many.
MAX_MONOMIALS = 4096


def _check_kernel(estimator) -> None:
    require_choice(
        estimator,
        "kernel",
        KERNELS,
        "Refit with one of those kernels.",
        " (a precomputed or callable kernel needs the training data or Python code at prediction time)",
    )


def _is_classifier(estimator) -> bool:
    return isinstance(estimator, (SVC, NuSVC))


def _has_probability(estimator) -> bool:
    prob_a = getattr(estimator, "_probA", None)
    return _is_classifier(estimator) and prob_a is not None and np.size(prob_a) > 0


def check_svm(estimator, output: str) -> None:
    _check_kernel(estimator)
    if _is_classifier(estimator):
        allowed = ("decision", "proba", "label") if _has_probability(estimator) else ("decision", "label")
    elif isinstance(estimator, OneClassSVM):
        allowed = OUTLIER_OUTPUTS
    else:
        allowed = ("values",)
    require_output(estimator, output, allowed)


def _dense(array) -> np.ndarray:
    return np.asarray(array.toarray() if hasattr(array, "toarray") else array, dtype=np.float64)


def pair_terms(estimator) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Per one-vs-one problem: support-vector indices and their coefficients (nonzero
    ones, in balanced order), and the intercepts, with scikit-learn's public signs."""
    dual_coef = _dense(estimator.dual_coef_)
    intercept = np.asarray(estimator.intercept_, dtype=np.float64).ravel()
    if not _is_classifier(estimator):
        groups = [(np.arange(dual_coef.shape[1]), dual_coef[0])]
    else:
        n_support = np.asarray(estimator.n_support_)
        start = np.concatenate([[0], np.cumsum(n_support)])
        k = len(n_support)
        groups = []
        for i in range(k):
            for j in range(i + 1, k):
                own_i = np.arange(start[i], start[i + 1])
                own_j = np.arange(start[j], start[j + 1])
                index = np.concatenate([own_i, own_j])
                coef = np.concatenate([dual_coef[j - 1, own_i], dual_coef[i, own_j]])
                groups.append((index, coef))
    indices, coefs = [], []
    for index, coef in groups:
        keep = coef != 0
        index, coef = index[keep], coef[keep]
        order = balanced_order(coef)
        indices.append(index[order])
        coefs.append(coef[order])
    return indices, coefs, intercept


def _padded(indices, coefs) -> tuple[np.ndarray, np.ndarray]:
    length = max(1, max(len(i) for i in indices))
    index = np.zeros((len(indices), length), dtype=np.int64)
    coef = np.zeros((len(indices), length))
    for p, (i, c) in enumerate(zip(indices, coefs, strict=True)):
        index[p, : len(i)] = i
        coef[p, : len(c)] = c
    return index, coef


def decision_values(estimator, x):
    """(batch, n_pairs) one-vs-one decision values, public signs (one column unless multi-class)."""
    vectors = _dense(estimator.support_vectors_)
    indices, coefs, intercept = pair_terms(estimator)
    if estimator.kernel == "linear":
        weights = np.stack([c @ vectors[i] for i, c in zip(indices, coefs, strict=True)], axis=1)
        return _ops.affine(x, weights, intercept)
    if estimator.kernel == "poly" and n_monomials(vectors.shape[1], estimator.degree) <= MAX_MONOMIALS:
        factors, weights = polynomial_expansion(estimator, vectors, indices, coefs)
        return _ops.affine(_ops.monomials(x, factors), weights, intercept)
    plan, order, matrix = kernel_plan(estimator, vectors, indices, coefs, intercept)
    # dense: the support vectors in an order whose running sums stay small
    chosen = vectors[order] if plan.dense else vectors
    kernel = _ops.kernel(x, chosen, estimator.kernel, **_kernel_parameters(estimator), expanded=plan.expanded)
    if plan.dense:
        return _ops.affine(kernel, matrix[order], intercept)
    index, coef = _padded(indices, coefs)
    return _ops.weighted_sums(kernel, index, coef, intercept)


def _kernel_parameters(estimator) -> dict:
    return {
        "gamma": float(estimator._gamma),
        "coef0": float(estimator.coef0),
        "degree": int(estimator.degree),
    }


def kernel_plan(
    estimator, vectors, indices, coefs, intercept
) -> tuple[KernelPlan, np.ndarray, np.ndarray | None]:
    """Whether the decision values take one coefficient matrix (and RBF distances one
    matrix product) instead of gathered sums (see ``_svm_plan``), the support vectors'
    summation order, and the (n_support_vectors, n_pairs) coefficient matrix (None where
    it would be too large to consider: ``dense_fits``). ``vectors`` and the pair terms are
    those :func:`decision_values` has (dense support vectors, :func:`pair_terms`)."""
    if not dense_fits(len(vectors), indices):
        return KernelPlan(dense=False, expanded=False, error=float("nan")), np.arange(len(vectors)), None
    matrix = coefficient_matrix(len(vectors), indices, coefs)
    classes = (
        np.repeat(np.arange(len(estimator.n_support_)), estimator.n_support_)
        if _is_classifier(estimator)
        else None
    )
    order = summation_order(matrix, classes)
    slopes = (
        np.abs(np.asarray(estimator._probA, dtype=np.float64)) / 4 if _has_probability(estimator) else None
    )
    plan = choose(
        vectors[order],
        matrix[order],
        intercept,
        estimator.kernel,
        **_kernel_parameters(estimator),
        slopes=slopes,
    )
    return plan, order, matrix


def n_monomials(n_features: int, degree: int) -> int:
    return math.comb(n_features + int(degree), int(degree))


def polynomial_expansion(estimator, vectors, indices, coefs):
    """``sum_l coef_l (gamma x·s_l + coef0) ** degree`` as a polynomial in x, folded in float64.

    Returns (n_monomials, degree) column indices (``n_features`` stands for 1) and the
    (n_monomials, n_pairs) weights. With large dual coefficients the kernel terms cancel
    by orders of magnitude (SVR C=100 on synthetic data: terms summing to 4e4 for values
    of 24), beyond what float32 kernel values can carry; the folded polynomial has no
    such cancellation (its terms sum to 19 there).
    """
    n_features = vectors.shape[1]
    degree, gamma, coef0 = int(estimator.degree), float(estimator._gamma), float(estimator.coef0)
    per_pair = np.zeros((len(vectors), len(indices)))
    for p, (index, coef) in enumerate(zip(indices, coefs, strict=True)):
        per_pair[index, p] = coef
    factors, weights = [], []
    for order in range(degree + 1):
        scale = math.comb(degree, order) * coef0 ** (degree - order) * gamma**order
        for combination in itertools.combinations_with_replacement(range(n_features), order):
            counts = np.bincount(np.asarray(combination, dtype=np.int64), minlength=n_features)
            multinomial = math.factorial(order)
            for c in counts:
                multinomial //= math.factorial(int(c))
            values = np.prod(vectors[:, list(combination)], axis=1) if order else np.ones(len(vectors))
            weights.append(scale * multinomial * (values @ per_pair))
            factors.append(list(combination) + [n_features] * (degree - order))
    return np.asarray(factors, dtype=np.int64).reshape(-1, degree), np.asarray(weights)


@builds_labels
@checked_by(check_svm)
def build_svm(estimator, x, output):
    check_svm(estimator, output)
    decision = shared(estimator, x, "pair decisions", lambda: decision_values(estimator, x))
    if isinstance(estimator, OneClassSVM):
        if output == "label":  # libsvm: (dec > 0) ? 1 : -1
            return _ops.outlier_labels(decision, inclusive=False)
        if output == "score_samples":
            return _ops.add(decision, np.atleast_1d(np.asarray(estimator.offset_, dtype=np.float64)))
        return decision
    if not _is_classifier(estimator):
        return decision
    n_classes = len(estimator.classes_)
    if output == "label":
        return _ops.take(np.asarray(estimator.classes_), _labels(estimator, x, decision, n_classes))
    if output == "proba":
        # libsvm's own binary decision value has the opposite sign of scikit-learn's.
        libsvm_decision = -decision if n_classes == 2 else decision
        prob_a = np.asarray(estimator._probA, dtype=np.float64)
        prob_b = np.asarray(estimator._probB, dtype=np.float64)
        return _ops.svm_probability(libsvm_decision, prob_a, prob_b, n_classes)
    if n_classes == 2 or estimator.decision_function_shape == "ovo":
        return decision
    return shared(estimator, x, "ovr decisions", lambda: _ops.ovr_from_ovo(decision, n_classes))


def _labels(estimator, x, decision, n_classes: int):
    """The class index scikit-learn's ``predict`` returns: libsvm's one-vs-one vote (ties to
    the first class), or with ``break_ties=True`` the first largest ovr decision value."""
    if n_classes == 2:
        # libsvm votes for the first class when its own decision (minus scikit-learn's) is > 0.
        return _ops.above(decision, 0.0, inclusive=True)
    if estimator.break_ties and estimator.decision_function_shape == "ovr":
        ovr = shared(estimator, x, "ovr decisions", lambda: _ops.ovr_from_ovo(decision, n_classes))
        return _ops.argmax(ovr)
    return _ops.ovo_vote(decision, n_classes)


def check_kernel_ridge(estimator, output: str) -> None:
    require_output(estimator, output, ("values",))
    _check_kernel(estimator)


@checked_by(check_kernel_ridge)
def build_kernel_ridge(estimator, x, output):
    """KernelRidge: ``K(X, X_fit_) @ dual_coef_``; the linear kernel folded into weights."""
    check_kernel_ridge(estimator, output)
    points = _dense(estimator.X_fit_)
    dual = np.asarray(estimator.dual_coef_, dtype=np.float64).reshape(len(points), -1)
    if estimator.kernel == "linear":
        return _ops.matmul(x, points.T @ dual)
    gamma = estimator.gamma if estimator.gamma is not None else 1.0 / points.shape[1]
    kernel = _ops.kernel(
        x,
        points,
        estimator.kernel,
        gamma=float(gamma),
        coef0=float(estimator.coef0),
        degree=int(estimator.degree),
    )
    return _ops.matmul(kernel, dual)


BUILDERS = {
    KernelRidge: build_kernel_ridge,
    SVC: build_svm,
    NuSVC: build_svm,
    SVR: build_svm,
    NuSVR: build_svm,
    OneClassSVM: build_svm,
}
