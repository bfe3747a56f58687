"""How a kernel machine's one-vs-one decision values are built, chosen per estimator when
the graph is built, by emulating the float32 graph in numpy on the support vectors.

The fast form is one (support vectors, pairs) coefficient matrix applied to the kernel
values (one FULLY_CONNECTED), with RBF distances expanded as ``|x - c|² + |s - c|² -
2 (x - c)·(s - c)`` (one more). Both round differently from the gathered sums: one
summation order must serve every pair (:func:`summation_order`), so a pair's float32
partial sums can grow where its coefficients of both signs do not alternate, and the
expansion cancels ``|x - c|²`` against the distance. So each form is emulated in float32
(sequential sums, the worst ordinary order) on up to :data:`MAX_PROBES` support vectors
(where an RBF kernel reaches 1 and the cancellation is largest) and taken only when its
largest error takes at most :data:`TOLERANCE_SHARE` of the tolerance, or no more than
the gathered sums' own; otherwise the gathered sums in balanced order are kept. Neither
is tried when the matrix would outgrow the gathered tables (:func:`dense_fits`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from ._distances import DIRECT_DISTANCE_LIMIT

#: The exactness tolerance: 1e-5 of a column's largest decision value, and 1e-5 absolute
#: on probabilities (scikit-learn's, with the workbench's tests).
TOLERANCE = 1e-5

#: The share of :data:`TOLERANCE` a fast form's emulated error may take.
TOLERANCE_SHARE = 0.3

#: The coefficient matrix is considered when it holds at most this many times the values
#: of the gathered tables (an index and a coefficient per pair and term, padded to the
#: longest pair): about 16 classes. With k classes it is about k/4 times their size, and
#: its product does that many times their multiplications.
MAX_DENSE_GROWTH = 4

#: Support vectors probed (evenly spaced through them).
MAX_PROBES = 128

#: Probes emulated at a time, so the (probes, support vectors, pairs) terms stay small.
_CHUNK_VALUES = 2**22

_F32 = np.float32


@dataclass(frozen=True)
class KernelPlan:
    """``dense``: one coefficient matrix; ``expanded``: RBF distances through a matrix
    product; ``error``: the emulated largest error of the chosen form as a share of the
    tolerance (of the dense form when the gathered sums were kept)."""

    dense: bool
    expanded: bool
    error: float


def balanced_order(coef: np.ndarray) -> np.ndarray:
    """An order of ``coef`` whose running sum stays near zero: take a positive term while
    the sum is not positive, a negative one otherwise (largest magnitudes first)."""
    positive = deque(int(i) for i in np.argsort(-coef) if coef[i] > 0)
    negative = deque(int(i) for i in np.argsort(coef) if coef[i] < 0)
    order: list[int] = []
    running = 0.0
    while positive or negative:
        take_positive = bool(positive) and (running <= 0 or not negative)
        index = positive.popleft() if take_positive else negative.popleft()
        order.append(index)
        running += coef[index]
    return np.asarray(order, dtype=np.int64)


def dense_fits(n_vectors: int, indices) -> bool:
    """Whether a (n_vectors, n_pairs) matrix is within :data:`MAX_DENSE_GROWTH` times the
    gathered tables of these pairs' support-vector ``indices``."""
    longest = max(1, max(len(i) for i in indices))
    return n_vectors * len(indices) <= MAX_DENSE_GROWTH * 2 * len(indices) * longest


def coefficient_matrix(n_vectors: int, indices, coefs) -> np.ndarray:
    """(n_vectors, n_pairs) float64: column p holds pair p's coefficients at its vectors."""
    matrix = np.zeros((n_vectors, len(indices)))
    for p, (index, coef) in enumerate(zip(indices, coefs, strict=True)):
        matrix[index, p] = coef
    return matrix


def summation_order(matrix: np.ndarray, classes: np.ndarray | None) -> np.ndarray:
    """An order of the support vectors (rows of ``matrix``) whose running sums stay small
    in every column, as the gathered sums' balanced order does for one pair.

    One column (regression, one class, two classes): that balanced order, so the sum is
    the gathered one's. One-vs-one pairs: the classes taken in turn, each class's vectors
    largest coefficient first, so every pair (whose two classes have coefficients of
    opposite signs) alternates its signs.
    """
    if classes is None or matrix.shape[1] == 1:
        column = matrix[:, 0]
        order = list(balanced_order(column))
        return np.asarray(order + [i for i in range(len(column)) if column[i] == 0], dtype=np.int64)
    size = np.max(np.abs(matrix), axis=1)
    queues = [list(members[np.argsort(-size[members], kind="stable")]) for members in _members(classes)]
    order = []
    while any(queues):
        for queue in queues:
            if queue:
                order.append(queue.pop(0))
    return np.asarray(order, dtype=np.int64)


def _members(classes: np.ndarray) -> list[np.ndarray]:
    return [np.flatnonzero(classes == c) for c in np.unique(classes)]


def choose(
    vectors, matrix, intercept, kind: str, gamma: float, coef0: float, degree: int, slopes=None
) -> KernelPlan:
    """The fastest form whose emulated float32 error takes at most :data:`TOLERANCE_SHARE`
    of the tolerance, or no more than the gathered sums' (which are built otherwise).

    ``slopes``: per column, the largest rate at which a probability output moves with the
    decision value (Platt scaling's ``|A| / 4``), or None without probabilities.
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    step = max(1, -(-len(vectors) // MAX_PROBES))
    probes = vectors[::step].astype(_F32).astype(np.float64)  # what the float32 input holds
    exact = _kernel64(probes, vectors, kind, gamma, coef0, degree) @ matrix + intercept
    scale = np.max(np.abs(exact), axis=0)
    scale[scale == 0] = 1.0
    # error x weight is the share of the tolerance taken, on decisions or on probabilities
    weight = 1.0 / (TOLERANCE * scale)
    if slopes is not None:
        weight = np.maximum(weight, np.asarray(slopes, dtype=np.float64) / TOLERANCE)
    must_expand = vectors.size > DIRECT_DISTANCE_LIMIT  # squared_distances expands these anyway
    kept = must_expand and kind == "rbf"
    kernel = _kernel32(probes, vectors, kind, gamma, coef0, degree, kept)
    allowed = max(TOLERANCE_SHARE, _share(_gathered(kernel, matrix, intercept), exact, weight))
    error = _share(_sequential(kernel, matrix, intercept), exact, weight)
    if kind == "rbf" and not must_expand:
        expanded = _kernel32(probes, vectors, kind, gamma, coef0, degree, True)
        expanded_error = _share(_sequential(expanded, matrix, intercept), exact, weight)
        if expanded_error <= allowed:
            return KernelPlan(dense=True, expanded=True, error=expanded_error)
    return KernelPlan(dense=error <= allowed, expanded=kept, error=error)


def _share(got, exact, weight) -> float:
    return float(np.max(np.abs(got - exact) * weight[None, :]))


def _gathered(kernel, matrix, intercept):
    """The gathered sums' float32 result: each column's nonzero terms in balanced order."""
    out = np.empty((len(kernel), matrix.shape[1]))
    for p in range(matrix.shape[1]):
        rows = np.flatnonzero(matrix[:, p])
        rows = rows[balanced_order(matrix[rows, p])]
        terms = kernel[:, rows] * matrix[rows, p].astype(_F32)[None]
        total = np.cumsum(terms, axis=1, dtype=_F32)[:, -1] if len(rows) else _F32(0.0)
        out[:, p] = total + _F32(intercept[p])
    return out


def _kernel64(x, vectors, kind, gamma, coef0, degree):
    if kind == "rbf":
        # expanded in float64: its rounding is ~1e-16 of |x|^2, far below float32's
        squares = np.einsum("ij,ij->i", vectors, vectors)
        d2 = np.einsum("ij,ij->i", x, x)[:, None] + squares[None] - 2.0 * (x @ vectors.T)
        return np.exp(-gamma * np.maximum(d2, 0.0))
    inner = gamma * (x @ vectors.T) + coef0
    return np.tanh(inner) if kind == "sigmoid" else inner ** int(degree)


def _kernel32(x, vectors, kind, gamma, coef0, degree, expanded):
    """The kernel as ``_kernels.kernel`` computes it in float32."""
    x32 = x.astype(_F32)
    if kind != "rbf":
        inner = _F32(gamma) * (x32 @ vectors.astype(_F32).T) + _F32(coef0)
        return np.tanh(inner) if kind == "sigmoid" else inner ** int(degree)
    if expanded:
        centre = vectors.mean(axis=0)
        hi = centre.astype(_F32)
        lo = (centre - hi).astype(_F32)
        xc = (x32 - hi) - lo
        pc = (vectors - centre).astype(_F32)
        x_sq = np.sum(xc * xc, axis=1, keepdims=True, dtype=_F32)
        p_sq = np.einsum("ij,ij->i", vectors - centre, vectors - centre).astype(_F32)
        d2 = np.maximum(x_sq + p_sq[None] - _F32(2.0) * (xc @ pc.T), _F32(0.0))
    else:
        d2 = np.empty((len(x), len(vectors)), dtype=_F32)
        for row, sample in enumerate(x32):
            diff = sample[None] - vectors.astype(_F32)
            d2[row] = np.sum(diff * diff, axis=1, dtype=_F32)
    return np.exp(_F32(-gamma) * d2)


def _sequential(kernel, matrix, intercept):
    """``kernel @ matrix + intercept`` summed in float32 one support vector after another."""
    coef = matrix.astype(_F32)
    rows = max(1, _CHUNK_VALUES // max(1, coef.size))
    out = []
    for start in range(0, len(kernel), rows):
        terms = kernel[start : start + rows, :, None].astype(_F32) * coef[None]
        out.append(np.cumsum(terms, axis=1, dtype=_F32)[:, -1] + np.asarray(intercept, dtype=_F32))
    return np.concatenate(out).astype(np.float64)
