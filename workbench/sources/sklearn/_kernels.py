"""Kernel machines: libsvm's kernels between samples and support vectors, and the dual
coefficients' weighted sums in an order that keeps float32 partial sums small."""

from __future__ import annotations

import numpy as np

from ._distances import squared_distances
from ._graph import _tf, constant, matmul


def kernel(x, vectors, kind: str, gamma: float, coef0: float, degree: int, expanded: bool = False):
    """libsvm's kernel between every row of ``x`` and every support vector; ``expanded``
    computes RBF distances through one matrix product (see ``squared_distances``)."""
    tf = _tf()
    if kind == "rbf":
        return tf.exp(np.float32(-gamma) * squared_distances(x, vectors, expanded=expanded))
    dots = matmul(x, np.asarray(vectors, dtype=np.float64).T)
    if kind == "linear":
        return dots
    inner = np.float32(gamma) * dots + np.float32(coef0)
    if kind == "sigmoid":
        return tf.tanh(inner)
    return power(inner, degree)


def power(z, degree: int):
    """``z ** degree`` for an integer degree by repeated squaring, as libsvm's powi."""
    tf = _tf()
    result = None
    base = z
    times = int(degree)
    while times > 0:
        if times % 2 == 1:
            result = base if result is None else result * base
        times //= 2
        if times:
            base = base * base
    return tf.ones_like(z) if result is None else result


def weighted_sums(values, index, coef, bias):
    """Columns ``sum_l values[:, index[p, l]] * coef[p, l] + bias[p]`` for each row p.

    ``index`` and ``coef`` are (n_out, length) arrays padded with coefficient 0. The
    caller orders each row so that positive and negative terms alternate.
    """
    tf = _tf()
    index = np.asarray(index)
    picked = tf.gather(values, constant(index, np.int32), axis=1)  # (batch, n_out, length)
    terms = picked * constant(coef)[None]
    return tf.reduce_sum(terms, axis=2) + constant(bias)
