"""Tree graph emission: a :class:`~._tree_plan.ForestPlan` traversed for all trees at once,
with TFLite builtin ops only: GATHER, comparisons, SELECT_V2, ADD, CAST, TRANSPOSE,
UNPACK, CONCATENATION, SUM (or one FULLY_CONNECTED). This exact float32 traversal is for
LiteRT; ``_tree_integer`` builds the integer trees for TFLite Micro."""

from __future__ import annotations

import numpy as np

from ..._tree_names import EXACT_LEAVES, EXACT_ROWS, EXACT_SINGLE_LEAVES
from ._graph import _tf
from ._tree_plan import ForestPlan, Group, summing_matrix


def as_index(t):
    return _tf().cast(t, _tf().int32)


def as_positions(t):
    """``t`` as GATHER positions: int16 and int32 as they are (no op), anything else int32."""
    tf = _tf()
    return t if t.dtype in (tf.int16, tf.int32) else as_index(t)


def unpack(rows):
    """(batch, n, k) packed rows -> k (batch, n) tensors: one TRANSPOSE, then contiguous
    slices (slicing the last axis directly is as slow as k separate gathers)."""
    tf = _tf()
    return tf.unstack(tf.transpose(rows, [2, 0, 1]), axis=0)


def build_plan(x, plan: ForestPlan):
    tf = _tf()
    columns = _extended_input(x, plan.blocks)
    if plan.tests == "table":
        results = _test_table(columns, plan)

        def went_right(row, constant, as_bool=False):
            # row: (code[, left]) per tree, a numpy array (roots) or a (batch, n_trees) tensor
            if constant:
                result = tf.gather(results, row[0].astype(plan.index_dtype), axis=1)
            else:
                result = tf.gather(results, as_positions(row[0]), batch_dims=1)
            return tf.cast(result, tf.bool) if as_bool else as_index(result)
    else:

        def went_right(row, constant, as_bool=False):
            if constant:
                chosen = tf.gather(columns, row[0].astype(np.int32), axis=1)
            else:
                chosen = tf.gather(columns, as_index(row[0]), batch_dims=1)
            return chosen > row[1] if as_bool else as_index(chosen > row[1])

    parts = [_traverse(x, plan, group, went_right, i) for i, group in enumerate(plan.groups)]
    values = parts[0] if len(parts) == 1 else tf.concat(parts, axis=1)
    n_trees, n_values = plan.columns.shape
    if n_trees == 1 and np.array_equal(plan.columns[0], np.arange(plan.n_outputs)):
        return values
    return sum_into_columns(tf.reshape(values, [-1, n_trees, n_values]), plan.columns, plan.n_outputs)


def _traverse(x, plan: ForestPlan, group: Group, went_right, number: int = 0):
    """(batch, n_trees * n_values): the values of the leaves the samples reach. The tables
    gathered from are named (``_tree_names``), so that ``inspect`` finds them in the file."""
    tf = _tf()
    perfect = group.layout == "perfect"

    def named(name, value):
        return tf.constant(value, name=name.format(group=number))

    def columns_of(table):
        return [table] if table.ndim == 1 else [table[:, k] for k in range(table.shape[1])]

    tables = {}  # one constant per table, however many levels gather from it

    def gathered(index, position):
        if index not in tables:
            tables[index] = named(EXACT_ROWS, group.rows[index])
        table = group.rows[index]
        rows = tf.gather(tables[index], position)
        if table.ndim == 1:
            return [rows]
        # int16 rows are unpacked as int32: the converter has no int16 TRANSPOSE.
        return unpack(rows if table.dtype != np.int16 else as_index(rows))

    sinks = group.layout == "sinks"
    if group.depth == 0:
        position = tf.zeros(tf.stack([tf.shape(x)[0], len(group.trees)]), tf.int32) + named(
            EXACT_SINGLE_LEAVES, group.start
        )
    elif sinks:  # rows end (left, right): choose one
        roots = [c[group.start] for c in columns_of(group.rows[0])]
        left, right = roots[-2].astype(np.int32), roots[-1].astype(np.int32)
        position = as_index(tf.where(went_right(roots, True, as_bool=True), right, left))
    else:
        roots = [c[group.start] for c in columns_of(group.rows[0])]
        right = went_right(roots, True)
        position = right + (2 * group.start if perfect else roots[-1].astype(np.int32))
    for level in range(1, group.depth):
        row = gathered(level if perfect else 0, position)
        if sinks:
            position = as_index(tf.where(went_right(row, False, as_bool=True), row[-1], row[-2]))
            continue
        right = went_right(row, False)
        position = position + position + right if perfect else as_index(row[-1]) + right
    leaves = named(EXACT_LEAVES, group.values)
    if sinks:
        values = tf.gather(leaves, position - group.sink)
        return values if plan.n_values == 1 else tf.reshape(values, [-1, len(group.trees) * plan.n_values])
    if group.leaf_of is None:
        return tf.gather(leaves, position)
    values = tf.gather(leaves, as_positions(tf.gather(group.leaf_of, position)))
    return tf.reshape(values, [-1, len(group.trees) * plan.n_values])


def _test_table(columns, plan: ForestPlan):
    """(batch, n_tests) int32: 1 where the test sends the sample right, from the extended input.

    Computed as (n_tests, batch) so that each test gathers a whole row of the transposed
    input at once, then compared with the thresholds as a column (one op for all tests).
    Transposed as int8: TFLite's int32 transpose of this shape is four times slower.
    """
    tf = _tf()
    rows = tf.transpose(columns)
    chosen = tf.gather(rows, plan.test_column)
    right = tf.greater(chosen, plan.test_threshold[:, None])
    return tf.cast(tf.transpose(tf.cast(right, tf.int8)), tf.int32)


def _extended_input(x, blocks):
    """``x`` and the NaN-handling blocks of :func:`extended_columns`, side by side."""
    tf = _tf()
    if blocks == (0,):
        return x
    nan = tf.not_equal(x, x)  # TFLite has no IS_NAN kernel
    parts = [x]
    if 1 in blocks:
        parts.append(tf.where(nan, tf.constant(np.finfo(np.float32).max, tf.float32), x))
    if 2 in blocks:
        parts.append(tf.cast(nan, tf.float32))
    return tf.concat(parts, axis=1)


def sum_into_columns(values, columns: np.ndarray, n_outputs: int):
    """(batch, n_outputs): (batch, n_trees, n_values) ``values`` added into their output
    ``columns``: a SUM over trees where the columns allow it (no table), else one matrix
    product with a 0/1 matrix (which adds finite float32 values as a sum does)."""
    tf = _tf()
    n_trees, n_values = columns.shape
    summing = summing_matrix(columns, n_outputs)
    if summing is not None:
        return tf.matmul(tf.reshape(values, [-1, n_trees * n_values]), summing)
    if np.all(columns == columns[0]):
        total = tf.reduce_sum(values, axis=1)
        order = np.argsort(columns[0])
        return total if np.array_equal(order, np.arange(n_values)) else tf.gather(total, order, axis=1)
    return tf.reduce_sum(tf.reshape(values, [-1, n_trees // n_outputs, n_outputs]), axis=1)
