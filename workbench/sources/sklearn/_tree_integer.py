"""Integer-grid quantization of tree ensembles, for the static recipes (TFLite Micro):
thresholds on each feature's 8- or 16-bit grid, node rows as int8 bytes and 8-bit leaves
(see :func:`plan_integer_forest`), and the graph that walks them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..._tree_names import INTEGER
from ._graph import _tf
from ._tree_graph import as_index, sum_into_columns, unpack
from ._trees import ABOVE, ABOVE_OR_NAN, MAX_INDEX, Tree, test_keys


@dataclass
class IntegerForest:
    """An ensemble on integer grids (see :func:`plan_integer_forest`), numpy only."""

    bits: int
    levels: int  # the grid runs 0..levels
    offset: (
        np.ndarray
    )  # (n_features,) float32: grid(x) = clip(round(x * gain + offset), -shift, levels - shift)
    gain: np.ndarray  # (n_features,) float32
    rows: np.ndarray  # (n_rows, width) int8: (feature, step - shift, left, right) as balanced digits
    decode: np.ndarray  # (width, 4) float32: rows (as float32) @ decode -> the four fields
    shift: float  # the step field and the grid are both shifted down by this
    start: np.ndarray  # (n_trees,) int32 root rows
    steps: int
    sink: int  # first sink row: the final row minus ``sink`` is the leaf's value row
    values: np.ndarray  # (n_distinct, n_values) int8 leaf values
    value_scale: float
    columns: np.ndarray  # (n_trees, n_values) output column of each value
    n_outputs: int
    n_features: int

    def nbytes(self) -> int:
        return int(sum(a.nbytes for a in (self.offset, self.gain, self.rows, self.values)))

    def describe(self) -> str:
        return (
            f"{len(self.start)} trees on {self.bits}-bit feature grids, {len(self.rows):,} rows of "
            f"{self.rows.shape[1]} bytes, {len(self.values)} distinct 8-bit leaves; {self.nbytes():,} bytes"
        )


def _digits_for(values: np.ndarray) -> int:
    """Balanced base-256 digits (-128..127 each) that hold every one of ``values``."""
    n = 1
    while np.max(values) > 127 * (256**n - 1) // 255 or np.min(values) < -128 * (256**n - 1) // 255:
        n += 1
    return n


def _balanced_digits(fields: np.ndarray) -> np.ndarray:
    """(n_rows, width) int8: each column of ``fields`` as its balanced base-256 digits,
    least significant first (``value = sum(digit_k * 256 ** k)``)."""
    columns = []
    for j in range(fields.shape[1]):
        rest = fields[:, j].astype(np.int64)
        for _ in range(_digits_for(fields[:, j])):
            digit = (rest + 128) % 256 - 128
            columns.append(digit)
            rest = (rest - digit) // 256
    return np.stack(columns, axis=1).astype(np.int8)


def plan_integer_forest(trees: list[Tree], n_features: int, n_outputs: int, bits: int) -> IntegerForest:
    """Quantize ``trees``: thresholds onto each feature's integer grid, leaves to 8 bits.

    The grid of a feature spans its thresholds (values beyond the outermost ones all go
    the same way, so clipping loses nothing): the lowest threshold sits at step 1, the
    highest at ``levels - 1``, ``levels = 2 ** bits - 2``. A node sends a sample right when
    ``grid(x) >= step``, ``step = grid(threshold) + 1``: ``x <= threshold`` always goes left
    as in scikit-learn, and ``x > threshold`` right unless it lies within one grid step
    above the threshold (never, for integer features with steps below 1). NaN has no
    route. Rows hold ``(feature, step, left, right)``; a leaf is no row: its parent points
    at the "sink" row of the leaf's distinct 8-bit values, which sends every sample to
    itself, so all trees walk the deepest one's depth and end on a sink (as emlearn's
    leaf pointers, without a test for "is this a leaf" at every step).
    """
    if not trees:
        raise ValueError("an ensemble needs at least one tree")
    levels = 2**bits - 2
    feature, threshold, kind = test_keys(trees)
    tested = (kind == ABOVE) | (kind == ABOVE_OR_NAN)
    low = np.full(n_features, np.inf)
    high = np.full(n_features, -np.inf)
    np.minimum.at(low, feature[tested], threshold[tested].astype(np.float64))
    np.maximum.at(high, feature[tested], threshold[tested].astype(np.float64))
    used = np.isfinite(low)
    low, high = np.where(used, low, 0.0), np.where(used, high, 0.0)
    span = high - low
    # one threshold: any scale places it; a small one keeps the grid's rounding band narrow
    scale = np.where(span > 0, span / (levels - 2), np.maximum(np.abs(low), 1.0) * 2.0**-12)
    gain = np.where(used, 1.0 / scale, 0.0)
    offset = np.where(used, 1.0 - low * gain, 1.0)
    # The step and the grid are shifted down by ``shift`` so that 0..levels + 1 fits
    # bits / 8 balanced digits (see _balanced_digits); the grid of x is computed as the
    # graph does, in float32 (a MUL then an ADD), so x == threshold lands where the
    # threshold does and goes left, as in scikit-learn.
    shift = 128 * (2**bits - 1) // 255
    gain, offset = gain.astype(np.float32), (offset - shift).astype(np.float32)
    at_threshold = np.round(threshold.astype(np.float32) * gain[feature] + offset[feature])
    step = np.where(tested, at_threshold.astype(np.float64) + 1, levels + 1 - shift)  # levels + 1: never
    step = np.clip(step, -shift, levels + 1 - shift).astype(np.int64)

    all_values = np.concatenate([t.value for t in trees])
    largest = float(np.max(np.abs(all_values), initial=0.0))
    value_scale = largest / 127.0 if largest > 0 else 1.0
    q_values = np.clip(np.round(all_values / value_scale), -127, 127).astype(np.int8)
    is_leaf = np.concatenate([t.is_leaf for t in trees])
    distinct, value_row = np.unique(q_values[is_leaf], axis=0, return_inverse=True)

    # Rows: the inner nodes of all trees, then one sink per distinct leaf row. A child
    # pointer names an inner node's row, or for a leaf the sink of its values.
    offsets = np.cumsum([0] + [len(t.left) for t in trees])
    inner = ~is_leaf
    n_inner = int(inner.sum())
    row_of = np.zeros(len(is_leaf), dtype=np.int64)
    row_of[inner] = np.arange(n_inner)
    row_of[is_leaf] = n_inner + value_row.ravel()
    left = np.concatenate([np.asarray(t.left) + o for t, o in zip(trees, offsets[:-1], strict=True)])
    right = np.concatenate([np.asarray(t.right) + o for t, o in zip(trees, offsets[:-1], strict=True)])
    n_sinks = len(distinct)
    sinks = n_inner + np.arange(n_sinks)
    fields = np.zeros((n_inner + n_sinks, 4), dtype=np.int64)
    fields[:n_inner, 0] = feature[inner]
    fields[:n_inner, 1] = step[inner]
    fields[:n_inner, 2] = row_of[left[inner]]
    fields[:n_inner, 3] = row_of[right[inner]]
    fields[n_inner:] = np.stack(
        [np.zeros(n_sinks), np.full(n_sinks, levels + 1 - shift), sinks, sinks], axis=1
    )
    if int(fields.max()) >= MAX_INDEX:
        raise ValueError(f"an ensemble of {MAX_INDEX:,} nodes or more cannot be rebuilt")
    # Balanced base-256 digits (each -128..127, one int8 byte): a field is the sum of its
    # bytes times 256 ** k, with no offset to add back.
    rows = _balanced_digits(fields)
    decode = np.zeros((rows.shape[1], 4), dtype=np.float32)
    at = 0
    for j in range(4):
        for k in range(_digits_for(fields[:, j])):
            decode[at, j] = 256.0**k
            at += 1
    columns = np.stack([t.columns for t in trees])
    return IntegerForest(
        bits=bits,
        levels=levels,
        offset=offset,
        gain=gain,
        rows=rows,
        decode=decode,
        shift=float(shift),
        start=row_of[offsets[:-1]].astype(np.int32),
        steps=max(t.depth() for t in trees),
        sink=n_inner,
        values=distinct.astype(np.int8),
        value_scale=value_scale,
        columns=columns,
        n_outputs=n_outputs,
        n_features=n_features,
    )


def integer_forest_sum(x, trees: list[Tree], n_outputs: int, bits: int):
    """:func:`forest_sum` on integer grids: the input's grid values are its first ops,
    the node rows int8 bytes and the leaves 8-bit; the decoded integers (exact in float32,
    all below 2 ** 24) are compared and summed in float32. Every op is one TFLite Micro
    runs: GATHER of int8/float32 data, CAST, FULLY_CONNECTED, TRANSPOSE, UNPACK, ROUND,
    MINIMUM/MAXIMUM, GREATER_EQUAL, ADD, SUM."""
    plan = plan_integer_forest(trees, int(x.shape[1]), n_outputs, bits)
    return build_integer_forest(x, plan)


def build_integer_forest(x, plan: IntegerForest):
    tf = _tf()

    def named(key, value):
        return tf.constant(value, name=INTEGER[key])  # how inspect finds the tables

    # the grid shifted like the step field (see plan_integer_forest)
    grid = tf.round(x * named("gain", plan.gain) + named("offset", plan.offset))
    low, high = np.float32(-plan.shift), np.float32(plan.levels - plan.shift)
    grid = tf.minimum(tf.maximum(grid, named("low", low)), named("high", high))
    rows, leaves = named("rows", plan.rows), named("leaves", plan.values)
    fields = np.asarray(plan.rows, np.float32) @ plan.decode  # numpy, for the roots
    if plan.steps == 0:  # every tree a single leaf
        position = tf.zeros(tf.stack([tf.shape(x)[0], len(plan.start)]), tf.int32) + named(
            "roots", plan.start
        )
    else:
        feature, step, left, right = (fields[plan.start, j] for j in range(4))
        chosen = tf.gather(grid, named("roots", feature.astype(np.int32)), axis=1)
        position = as_index(tf.where(chosen >= step, right, left))
    for _ in range(1, plan.steps):
        feature, step, left, right = _decode(tf.gather(rows, position), plan)
        chosen = tf.gather(grid, as_index(feature), batch_dims=1)
        position = as_index(tf.where(chosen >= step, right, left))
    values = tf.cast(tf.gather(leaves, position - plan.sink), tf.float32)  # (batch, trees, n_values)
    return _combine(values, plan) * named("scale", np.float32(plan.value_scale))


def _decode(rows, plan: IntegerForest):
    """(batch, trees, width) int8 rows -> (feature, step, left, right), each (batch, trees) float32:
    the bytes of each field weighed by ``256 ** k``, elementwise (a FULLY_CONNECTED would
    need the rows flattened to (batch * trees, width), a reshape TFLite Micro sizes wrongly
    when the batch is dynamic)."""
    planes = unpack(_tf().cast(rows, _tf().float32))
    fields = []
    for j in range(4):
        total = None
        for k in np.flatnonzero(plan.decode[:, j]):
            weight = float(plan.decode[k, j])
            term = planes[k] if weight == 1.0 else planes[k] * weight
            total = term if total is None else total + term
        fields.append(total)
    return fields


def _combine(values, plan: IntegerForest):
    return sum_into_columns(values, plan.columns, plan.n_outputs)
