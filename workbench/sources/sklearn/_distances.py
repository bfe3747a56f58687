"""Distances from samples to fitted points: float32 squared distances (direct, or expanded
around a centre for large tables), quadratic forms, and double-float (about 44-bit)
reduced distances built from error-free sums and products, for ranking what float32
cannot tell apart."""

from __future__ import annotations

import numpy as np

from ._graph import _tf, concat, constant, matmul, split, subtract

#: Above this many float32 values per sample, (batch, n_points, n_features) difference
#: tensors are replaced by the centred expansion (256 samples x 2**16 values = 64 MiB).
DIRECT_DISTANCE_LIMIT = 2**16


def squared_distances(x, points, *, exact_integers=False, expanded=False):
    """(batch, n_points) squared euclidean distances to the rows of ``points`` (float64).

    Sums squared differences when the (batch, n_points, n_features) tensor is small
    enough and ``expanded`` is not asked; otherwise expands ``|x - c|² + |s - c|² -
    2 (x - c)·(s - c)`` around the points' centre ``c`` (one matrix product). With ``exact_integers`` (all points are small integers) the
    centre is rounded, so integer inputs give exact, tie-preserving distances.
    """
    tf = _tf()
    points = np.asarray(points, dtype=np.float64)
    n_points, n_features = points.shape
    if n_points * n_features <= DIRECT_DISTANCE_LIMIT and not expanded:
        hi, lo = split(points)
        diff = x[:, None, :] - constant(hi)[None]
        if np.any(lo):
            diff = diff - constant(lo)[None]
        # diff * diff, not SQUARED_DIFFERENCE: that kernel has no int16 version (int16x8 mode).
        return tf.reduce_sum(diff * diff, axis=2)
    centre = points.mean(axis=0)
    if exact_integers:
        centre = np.round(centre)
    xc = subtract(x, centre)
    pc = points - centre
    x_sq = tf.reduce_sum(xc * xc, axis=1, keepdims=True)
    p_sq = np.einsum("ij,ij->i", pc, pc)
    d2 = x_sq + constant(p_sq)[None, :] - 2.0 * matmul(xc, pc.T)
    return tf.maximum(d2, 0.0)


def two_sum(a, b):
    """``a + b`` as a rounded sum and its exact rounding error (Knuth)."""
    total = a + b
    b_part = total - a
    error = (a - (total - b_part)) + (b - b_part)
    return total, error


def exact_square(a):
    """``a * a`` as a rounded product and its exact rounding error (Dekker's split)."""
    product = a * a
    scaled = a * 4097.0  # 2**12 + 1 splits a float32 significand in two halves
    high = scaled - (scaled - a)
    low = a - high
    error = ((high * high - product) + 2.0 * high * low) + low * low
    return product, error


def _pairwise_compensated_sum(values, errors):
    """Double-float ``sum(values + errors)`` over the last axis, pairwise with two_sum."""
    tf = _tf()
    width = int(values.shape[-1])
    size = 1 << max(0, (width - 1).bit_length())
    if size != width:
        padding = [[0, 0], [0, 0], [0, size - width]]
        values, errors = tf.pad(values, padding), tf.pad(errors, padding)
    while size > 1:
        size //= 2
        total, error = two_sum(values[:, :, :size], values[:, :, size:])
        errors = errors[:, :, :size] + errors[:, :, size:] + error
        values = total
    return two_sum(values[:, :, 0], errors[:, :, 0])


def _precise_differences(x, points_hi, points_lo):
    """``x - points`` (batch, m, f) as double-float ``(hi, lo)``, ``|lo| <= ulp(hi) / 2``."""
    diff, diff_error = two_sum(x[:, None, :], -points_hi)
    return two_sum(diff, diff_error - points_lo)


def precise_squared_distances(x, points_hi, points_lo):
    """Squared distances from ``x`` (batch, f) to ``points`` given as float32 hi and lo
    parts (batch, m, f), as double-float ``(hi, lo)`` pairs (batch, m): about 44 bits."""
    diff, diff_error = two_sum(x[:, None, :], -points_hi)
    diff_error = diff_error - points_lo
    square, square_error = exact_square(diff)
    square_error = square_error + 2.0 * diff * diff_error + diff_error * diff_error
    return _pairwise_compensated_sum(square, square_error)


def precise_reduced_distances(x, points_hi, points_lo, metric: str, p: float):
    """scikit-learn's reduced distances (what its searches rank by) from ``x`` to the
    candidate points, as double-float ``(hi, lo)``: squared euclidean, the sum of
    ``|x - s|`` (manhattan) or their largest (chebyshev), each about 44 bits; for another
    Minkowski ``p``, ``sum |x - s| ** p`` in float32 (``lo`` is 0)."""
    tf = _tf()
    if metric == "euclidean":
        return precise_squared_distances(x, points_hi, points_lo)
    diff, diff_error = _precise_differences(x, points_hi, points_lo)
    negative = tf.less(diff, 0.0)
    size, size_error = tf.where(negative, -diff, diff), tf.where(negative, -diff_error, diff_error)
    if metric == "manhattan":
        return _pairwise_compensated_sum(size, size_error)
    if metric == "chebyshev":
        high = tf.reduce_max(size, axis=2)
        at_top = tf.equal(size, high[:, :, None])
        low = tf.reduce_max(tf.where(at_top, size_error, tf.zeros_like(size_error) - 1e30), axis=2)
        return high, low
    total = tf.reduce_sum(tf.pow(size, np.float32(p)), axis=2)
    return total, tf.zeros_like(total)


def rough_reduced_distances(x, points, metric: str, p: float, exact_integers: bool):
    """float32 reduced distances (batch, n_points), to pick the candidates."""
    tf = _tf()
    if metric == "euclidean":
        return squared_distances(x, points, exact_integers=exact_integers)
    # no expansion exists for these: the points are taken in chunks of at most
    # DIRECT_DISTANCE_LIMIT values, so the (batch, chunk, n_features) differences stay bounded
    rows = max(1, DIRECT_DISTANCE_LIMIT // points.shape[1])
    parts = []
    for start in range(0, len(points), rows):
        size = tf.abs(subtract(x[:, None, :], points[None, start : start + rows]))
        if metric == "manhattan":
            parts.append(tf.reduce_sum(size, axis=2))
        elif metric == "chebyshev":
            parts.append(tf.reduce_max(size, axis=2))
        else:
            parts.append(tf.reduce_sum(tf.pow(size, np.float32(p)), axis=2))
    return concat(parts)


def reduced_to_distance(reduced, metric: str, p: float):
    """The distance from a reduced distance: its square root (euclidean), ``p``-th root
    (Minkowski), or itself (manhattan, chebyshev)."""
    tf = _tf()
    if metric == "euclidean":
        return tf.sqrt(reduced)
    if metric == "minkowski":
        return tf.pow(reduced, np.float32(1.0 / p))
    return reduced


def quadratic_forms(x, means, transforms):
    """(batch, k) ``|(x - means[k]) @ transforms[k]|²`` for (k, f) means and (k, f, g) transforms.

    Centred first (offsets kept to float64, see :func:`subtract`), then one batched matrix
    product: no ``|x|² - 2 x·m + |m|²`` cancellation.
    """
    tf = _tf()
    hi, lo = split(means)
    diff = x[None, :, :] - constant(hi)[:, None, :]  # (k, batch, f)
    if np.any(lo):
        diff = diff - constant(lo)[:, None, :]
    projected = tf.matmul(diff, constant(transforms))  # (k, batch, g)
    return tf.transpose(tf.reduce_sum(projected * projected, axis=2))
