"""Feature transforms of the preprocessing and naive Bayes families: category matches and
one-hot lookups, bin counts, quantile interpolation, power transforms, row norms,
polynomial monomials and missing-value masks."""

from __future__ import annotations

import numpy as np

from ._graph import _tf, as_float, columns, constant, is_nan, matmul, split, where


def category_match(x, feature, values):
    """(batch, m) 0/1: whether column ``feature[m]`` of ``x`` equals ``values[m]``."""
    repeated = columns(x, feature)
    return as_float(_tf().equal(repeated, constant(values)[None, :]))


def count_at_or_above(x, feature, edges, membership):
    """(batch, n_features): per feature, how many of its ``edges`` (one per row of
    ``feature``; ``membership`` maps them to features) are at or below the input."""
    passed = as_float(_tf().greater_equal(columns(x, feature), constant(edges)[None, :]))
    return matmul(passed, membership)


def _float32_round(values, up: bool) -> np.ndarray:
    """Each float64 value rounded to float32 upwards (``up``) or downwards."""
    values = np.asarray(values, dtype=np.float64)
    rounded = values.astype(np.float32)
    if up:
        low = rounded.astype(np.float64) < values
        rounded[low] = np.nextafter(rounded[low], np.float32(np.inf))
    else:
        high = rounded.astype(np.float64) > values
        rounded[high] = np.nextafter(rounded[high], np.float32(-np.inf))
    return rounded


def interpolate_both_ways(x, knots, values):
    """Per column j, ``0.5 * (np.interp(x, knots[j], values[j]) - np.interp(-x, -knots[j][::-1],
    -values[j][::-1]))``: QuantileTransformer's mean of the right- and left-continuous
    interpolations, which differ only on repeated knots. ``knots`` and ``values`` are
    (n_features, n_knots) float64; a float32 x is compared with each knot rounded up (for
    ``x >= knot``) or down (for ``x > knot``), which gives the float64 answer."""
    tf = _tf()
    knots = np.asarray(knots, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    n_features, n_knots = knots.shape
    feature = np.repeat(np.arange(n_features), n_knots)
    membership = np.zeros((len(feature), n_features))
    membership[np.arange(len(feature)), feature] = 1.0
    repeated = columns(x, feature)
    at_or_below = matmul(
        as_float(tf.greater_equal(repeated, constant(_float32_round(knots.ravel(), up=True))[None])),
        membership,
    )
    below = matmul(
        as_float(tf.greater(repeated, constant(_float32_round(knots.ravel(), up=False))[None])), membership
    )
    gaps = np.diff(knots, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        slopes = np.where(gaps > 0, np.diff(values, axis=1) / np.where(gaps > 0, gaps, 1.0), 0.0)
    slopes = np.concatenate([slopes, np.zeros((n_features, 1))], axis=1).ravel()
    base = (np.arange(n_features) * n_knots)[None, :]
    first, last = values[:, 0], values[:, -1]

    def along(count, shift: int):
        # the interval starting at knot ``count + shift``, clipped to the inner ones
        start = tf.clip_by_value(tf.cast(count, tf.int32) + shift, 0, n_knots - 2) + constant(base, np.int32)
        hi, lo = split(knots.ravel())
        offset = (x - tf.gather(constant(hi), start)) - tf.gather(constant(lo), start)
        inner = tf.gather(constant(values.ravel()), start) + offset * tf.gather(constant(slopes), start)
        inner = tf.where(tf.less(count, 0.5), tf.zeros_like(inner) + constant(first)[None], inner)
        return tf.where(tf.greater(count, n_knots - 0.5), tf.zeros_like(inner) + constant(last)[None], inner)

    right = along(at_or_below, -1)  # the last knot at or below x starts the interval
    left = along(below, -1)  # the first knot at or above x ends it
    return 0.5 * (right + left)


def expm1(z):
    """``exp(z) - 1`` without the cancellation near 0: a Taylor series where |z| < 1/2
    (error below 3e-10 relative), ``exp(z) - 1`` elsewhere."""
    tf = _tf()
    series = z
    term = z
    for n in range(2, 11):
        term = term * z / np.float32(n)
        series = series + term
    return tf.where(tf.less(tf.abs(z), 0.5), series, tf.exp(z) - 1.0)


def power_offsets(shifted_logs, lambdas, reference_factors, scales):
    """Per column ``scales * expm1(lambdas * shifted_logs)`` or, where ``lambdas`` is 0,
    ``scales * shifted_logs``: a power transform relative to a reference point (the caller
    folds the reference into ``shifted_logs`` and ``reference_factors``)."""
    lambdas = np.asarray(lambdas, dtype=np.float64)
    zero = lambdas == 0
    powered = expm1(shifted_logs * constant(np.where(zero, 1.0, lambdas))[None, :])
    out = where(constant(zero[None, :], np.bool_), shifted_logs, powered)
    return out * constant(np.asarray(reference_factors) * np.asarray(scales))[None, :]


def row_normalise(x, norm: str):
    """Divide each row by its l1, l2 or max norm; zero rows stay zero (as ``normalize``)."""
    tf = _tf()
    if norm == "l1":
        norms = tf.reduce_sum(tf.abs(x), axis=1, keepdims=True)
    elif norm == "l2":
        norms = tf.sqrt(tf.reduce_sum(x * x, axis=1, keepdims=True))
    else:
        norms = tf.reduce_max(tf.abs(x), axis=1, keepdims=True)
    norms = tf.where(tf.equal(norms, 0.0), tf.ones_like(norms), norms)
    return x / norms


def monomials(x, factors):
    """Products of columns: ``factors`` is (n_out, degree) column indices, where index
    ``n_features`` stands for 1 (so lower-degree terms are padded with it)."""
    tf = _tf()
    padded = tf.concat([x, tf.ones_like(x[:, :1])], axis=1)
    factors = np.asarray(factors)
    if factors.shape[1] == 0:
        return tf.ones_like(x[:, :1]) * tf.ones([1, factors.shape[0]])
    picked = tf.gather(padded, constant(factors, np.int32), axis=1)  # (batch, n_out, degree)
    result = picked[:, :, 0]
    for d in range(1, factors.shape[1]):
        result = result * picked[:, :, d]
    return result


def missing_mask(x, missing_value: float):
    """True where ``x`` is the missing marker (NaN, or a number)."""
    tf = _tf()
    if np.isnan(missing_value):
        return is_nan(x)
    if np.float32(missing_value) != missing_value:
        return tf.zeros_like(x, dtype=tf.bool)  # a float32 input can never equal it
    return tf.equal(x, np.float32(missing_value))


def one_hot(x, feature, values, is_nan_category, table, unknown):
    """One-hot encode numeric categories by lookup tables.

    ``feature[m]`` and ``values[m]`` name category m (NaN where a float32 input can never
    equal it; ``is_nan_category[m]`` marks the NaN category); ``table`` (n_categories,
    n_out) is the encoding of each category and ``unknown`` (n_features, n_out) the
    encoding of a value that matches none of its feature's categories.
    """
    tf = _tf()
    repeated = columns(x, feature)
    match = tf.equal(repeated, constant(values)[None, :])
    if np.any(is_nan_category):
        nan_match = tf.logical_and(is_nan(repeated), constant(is_nan_category, np.bool_)[None, :])
        match = tf.logical_or(match, nan_match)
    match = as_float(match)
    n_features = unknown.shape[0]
    membership = np.zeros((len(feature), n_features))
    membership[np.arange(len(feature)), feature] = 1.0
    unmatched = 1.0 - matmul(match, membership)
    # NaN entries (OrdinalEncoder's encoded_missing_value) would poison the products: they
    # are looked up as 0/1 flags and put back with a select.
    table, unknown = np.asarray(table, np.float64), np.asarray(unknown, np.float64)
    nan_table, nan_unknown = np.isnan(table), np.isnan(unknown)
    out = matmul(match, np.where(nan_table, 0.0, table)) + matmul(
        unmatched, np.where(nan_unknown, 0.0, unknown)
    )
    if nan_table.any() or nan_unknown.any():
        flagged = matmul(match, nan_table.astype(float)) + matmul(unmatched, nan_unknown.astype(float))
        out = tf.where(tf.greater(flagged, 0.5), tf.fill(tf.shape(out), np.float32(np.nan)), out)
    return out
