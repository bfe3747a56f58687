"""Output heads that turn scores into labels: argmax and thresholds as int32 indices, and
the lookup of those indices in a table of class labels (numbers or strings)."""

from __future__ import annotations

import numpy as np

from ._build_context import INTEGER_BITS
from ._graph import _tf, add, as_float, constant


def argmax(scores):
    """(batch,) int32 index of each row's largest score, the first one on a tie (as numpy)."""
    return _tf().argmax(scores, axis=1, output_type=_tf().int32)


def above(values, threshold: float, *, inclusive: bool = False):
    """(batch,) int32: 1 where the single column of ``values`` is above ``threshold``
    (or equal to it with ``inclusive``), else 0."""
    tf = _tf()
    column = tf.reshape(values, [-1])
    test = tf.greater_equal if inclusive else tf.greater
    return tf.cast(test(column, np.float32(threshold)), tf.int32)


def equal_rows(labels, classes):
    """(batch, k) float 0/1: where the (batch,) ``labels`` equal each of ``classes``."""
    tf = _tf()
    classes = np.asarray(classes)
    if classes.dtype.kind in "USO":
        table = tf.constant(np.char.encode(classes.astype(str), "utf-8"))
    else:
        table = constant(classes, classes.dtype)
        if labels.dtype != table.dtype:  # int32 labels 0..k-1 (see take) against int64 classes
            labels = tf.cast(labels, table.dtype)
    return as_float(tf.equal(labels[:, None], table[None, :]))


def indicator(scores, threshold: float):
    """(batch, k) int64 0/1: where ``scores`` is above ``threshold`` (a multilabel ``predict``)."""
    tf = _tf()
    return tf.cast(tf.greater(scores, np.float32(threshold)), tf.int64)


def block_argmax(blocks, starts):
    """(batch, n_blocks) int32: per (batch, width) tensor of ``blocks``, the first largest
    column's index plus that block's ``starts`` entry (an index into all blocks' columns)."""
    return _tf().stack(
        [argmax(block) + np.int32(start) for block, start in zip(blocks, starts, strict=True)], axis=1
    )


def last_argmax(scores):
    """(batch,) int32 index of the *last* largest score (scikit-learn's OvR ``predict``)."""
    n = int(scores.shape[-1])
    return np.int32(n - 1) - argmax(_tf().reverse(scores, axis=[1]))


def outlier_labels(decision, *, inclusive: bool = True):
    """scikit-learn's outlier ``predict``: +1 (inlier) where the decision value is at least 0
    (above 0 without ``inclusive``, as libsvm's one-class SVM), -1 elsewhere."""
    return take(np.array([-1, 1], dtype=np.int32), above(decision, 0.0, inclusive=inclusive))


def _micro_labels(values: np.ndarray) -> bool:
    """Whether integer labels are built for TFLite Micro: in an integer-tree variant (see
    ``_build_context.integer_trees``), for labels float32 holds exactly."""
    integers = values.dtype.kind in "iub"
    return (
        INTEGER_BITS.get() is not None and integers and bool(np.all(np.abs(values.astype(np.int64)) < 2**24))
    )


def take(values, index):
    """``values[index]`` for a 1-D numpy table (numbers or strings) and an int32 index.

    Labels ``0 .. k-1`` are the index itself (int32, no table): the file then needs no
    int64 GATHER, which TFLite Micro lacks, so a classifier's ``predict`` runs on a board.
    """
    values = np.asarray(values)
    if values.dtype.kind in "iub" and np.array_equal(values, np.arange(len(values))):
        return index
    if _micro_labels(values):
        # int32 labels from a float32 table: TFLite Micro gathers float32 and int8 data
        # only and casts to no int64.
        table = constant(values.astype(np.float32), np.float32)
        return _tf().cast(_tf().gather(table, index), _tf().int32)
    if values.dtype.kind in "USO":
        table = _tf().constant(np.char.encode(values.astype(str), "utf-8"))
    else:
        table = constant(values, values.dtype)
    return _tf().gather(table, index)


def outlier_outputs(scores, offset: float, output: str):
    """An outlier detector's ``output`` from its (batch, 1) ``score_samples``: the scores, the
    decision ``scores - offset`` (its fitted ``offset_``), or the labels ``predict`` makes of
    that decision (+1 where it is at least 0, -1 elsewhere)."""
    if output == "score_samples":
        return scores
    decision = add(scores, np.array([-offset]))
    return outlier_labels(decision) if output == "label" else decision
