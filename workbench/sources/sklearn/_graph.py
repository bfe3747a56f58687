"""Graph-building primitives: TensorFlow loaded lazily, numpy constants cast to float32 once,
offsets subtracted to float64 accuracy, column selection and thin wrappers of single ops.

Every other ``_ops`` module builds on these; none of them knows an estimator.
"""

from __future__ import annotations

import numpy as np


def _tf():
    import tensorflow as tf

    return tf


def constant(values, dtype=np.float32):
    """A TensorFlow constant of ``values`` cast once to ``dtype``."""
    return _tf().constant(np.asarray(values, dtype=dtype))


def split(values) -> tuple[np.ndarray, np.ndarray]:
    """float64 ``values`` as float32 ``hi`` plus float32 ``lo``, ``hi + lo`` ≈ ``values``."""
    values = np.asarray(values, dtype=np.float64)
    hi = values.astype(np.float32)
    lo = (values - hi.astype(np.float64)).astype(np.float32)
    return hi, lo


def subtract(x, offset):
    """``x - offset`` with ``offset`` kept to float64 accuracy."""
    hi, lo = split(offset)
    out = x - constant(hi)
    if np.any(lo):
        out = out - constant(lo)
    return out


def matmul(x, weights):
    """``x @ weights`` for a (n_in, n_out) numpy matrix."""
    return _tf().matmul(x, constant(weights))


def affine(x, weights, bias=None, offset=None):
    """``(x - offset) @ weights + bias``; ``offset`` and ``bias`` may be None."""
    if offset is not None:
        x = subtract(x, offset)
    out = matmul(x, weights)
    if bias is not None:
        out = out + constant(bias)
    return out


def columns(x, index):
    """The columns ``index`` of ``x`` (all of them, unchanged, when ``index`` is 0..n-1)."""
    index = np.asarray(index, dtype=np.int64)
    width = x.shape[-1]
    if width is not None and len(index) == width and np.array_equal(index, np.arange(width)):
        return x
    return _tf().gather(x, constant(index, np.int32), axis=1)


def concat(parts):
    """Concatenate (batch, k) tensors along columns."""
    return parts[0] if len(parts) == 1 else _tf().concat(parts, axis=1)


def where(condition, yes, no):
    return _tf().where(condition, yes, no)


def is_nan(x):
    # TFLite has no IS_NAN kernel; NOT_EQUAL(x, x) is true exactly for NaN.
    return _tf().not_equal(x, x)


def greater(x, threshold: float):
    return _tf().greater(x, np.float32(threshold))


def as_float(mask):
    return _tf().cast(mask, _tf().float32)


def split_columns(values, widths):
    """A list of the consecutive column blocks of ``values``, ``widths`` wide."""
    starts = np.cumsum([0] + list(widths))
    return [values[:, int(a) : int(b)] for a, b in zip(starts[:-1], starts[1:], strict=True)]


def one_hot_index(index, n: int):
    """(batch, n) float 0/1 rows from a (batch,) integer index."""
    tf = _tf()
    return tf.one_hot(tf.cast(index, tf.int32), n, dtype=tf.float32)


def as_float_column(values):
    """(batch, 1) float32 from a (batch,) tensor of numbers."""
    tf = _tf()
    return tf.reshape(tf.cast(values, tf.float32), [-1, 1])


def stack_columns(values):
    """(batch, n) from n (batch,) tensors."""
    return _tf().stack(values, axis=1)


def stack(values):
    """(batch, n, ...) from n (batch, ...) tensors."""
    return _tf().stack(values, axis=1)


def weighted_sum(parts, weights):
    """``Σ weights[i] * parts[i]`` of same-shaped tensors (weights folded in float64)."""
    total = None
    for part, weight in zip(parts, np.asarray(weights, dtype=np.float64), strict=True):
        term = part * np.float32(weight)
        total = term if total is None else total + term
    return total


def affine_columns(values, factor, offset):
    """``values * factor + offset`` column by column."""
    return values * constant(factor)[None, :] + constant(offset)[None, :]


def scale(x, offset=None, factor=None, divisor=None):
    """``(x - offset) * factor / divisor``; any of them may be None."""
    if offset is not None:
        x = subtract(x, offset)
    if factor is not None:
        x = x * constant(factor)
    if divisor is not None:
        x = x / constant(divisor)
    return x


def sqrt(x):
    return _tf().sqrt(x)


def constant_rows(x, values):
    """(batch, len(values)): the same row for every sample of ``x``."""
    tf = _tf()
    return tf.zeros_like(x[:, :1]) + constant(values)[None, :]


def constant_index(x, index: int):
    """(batch,) int32 ``index`` for every sample of ``x``."""
    tf = _tf()
    return tf.zeros_like(tf.cast(x[:, 0], tf.int32)) + np.int32(index)


def maximum(x, value: float):
    return _tf().maximum(x, np.float32(value))


def minimum(x, value: float):
    return _tf().minimum(x, np.float32(value))


def greater_equal(x, threshold: float):
    return _tf().greater_equal(x, np.float32(threshold))


def equals_exactly(x, values):
    """(batch, n) True where column j of ``x`` equals the float64 ``values[j]`` (never where
    float32 cannot represent it)."""
    values = np.asarray(values, dtype=np.float64)
    representable = values.astype(np.float32).astype(np.float64) == values
    equal = _tf().equal(x, constant(values)[None, :])
    return _tf().logical_and(equal, constant(representable[None, :], np.bool_))


def ones_like(x):
    return _tf().ones_like(x)


def zeros_like(x):
    return _tf().zeros_like(x)


def log(x):
    return _tf().math.log(x)


def exp(x):
    return _tf().exp(x)


def add(x, values):
    return x + constant(values)


def clip(x, low, high):
    return _tf().clip_by_value(x, constant(low), constant(high))
