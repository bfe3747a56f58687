"""TensorFlow building blocks for decision trees and their ensembles: the namespace the tree
and ensemble families build from.

The family modules describe every fitted tree as a :class:`Tree` (numpy arrays only) and
call :func:`forest_sum`, which adds up the leaf values the samples reach, for all trees at
once, in the form the build context asks for (``_build_context``); the heads below turn
that sum into scikit-learn's outputs. TensorFlow is imported lazily; scikit-learn never.
The work is done by:

- ``_trees``: one tree as arrays, and its node tests as exact float32 comparisons;
- ``_tree_plan``: the ensemble compiled into packed node tables (layout, test table);
- ``_tree_graph``: those tables traversed as TFLite builtin ops (exact, for LiteRT);
- ``_tree_integer``: integer trees on 8- or 16-bit feature grids (for TFLite Micro).
"""

from __future__ import annotations

import numpy as np

from ._build_context import INDEX_TABLES_ONLY, INTEGER_BITS, integer_index_tables, integer_trees
from ._graph import _tf
from ._tree_graph import build_plan, sum_into_columns
from ._tree_integer import IntegerForest, build_integer_forest, integer_forest_sum, plan_integer_forest
from ._tree_plan import ForestPlan, Group, plan_forest
from ._trees import Tree, float32_thresholds

__all__ = [
    "INDEX_TABLES_ONLY",
    "INTEGER_BITS",
    "ForestPlan",
    "Group",
    "IntegerForest",
    "Tree",
    "add_constant",
    "build_integer_forest",
    "build_plan",
    "float32_thresholds",
    "forest_sum",
    "integer_forest_sum",
    "integer_index_tables",
    "integer_trees",
    "inverse_link",
    "negative_power_of_two",
    "plan_forest",
    "plan_integer_forest",
    "sum_into_columns",
]


def forest_sum(x, trees: list[Tree], n_outputs: int, *, layout: str | None = None, tests: str | None = None):
    """``sum over trees of value[leaf reached by x]`` as a (batch, n_outputs) float32 tensor.

    Parameters
    ----------
    x : float32 tensor of shape (batch, n_features)
    trees : list of Tree
    n_outputs : int
        Width of the output; each tree adds its values to its ``columns``.
    layout, tests : str, default=None
        Force "perfect"/"compact" and "table"/"direct" (for benchmarks and tests).
    """
    bits = INTEGER_BITS.get()
    if bits is not None:
        return integer_forest_sum(x, trees, n_outputs, bits)
    if tests is None and INDEX_TABLES_ONLY.get():
        tests = "table"
    plan = plan_forest(trees, int(x.shape[1]), n_outputs, layout=layout, tests=tests)
    return build_plan(x, plan)


def add_constant(raw, values):
    """``raw + values`` for float64 ``values`` of shape (n_outputs,); skipped when all zero."""
    values = np.asarray(values, dtype=np.float64).ravel()
    if not np.any(values):
        return raw
    return raw + values.astype(np.float32)


def inverse_link(raw, link: str, *, proba: bool, scale: float = 1.0):
    """scikit-learn's inverse link on (batch, k) raw predictions.

    ``identity`` and ``log`` (exp) give values; ``logit`` (sigmoid) and ``half_logit``
    (``sigmoid(2 z)``, the exponential loss) give ``[1 - p, p]`` when ``proba``;
    ``multinomial`` is the softmax of ``scale * raw``.
    """
    tf = _tf()
    if link == "identity":
        return raw
    if link == "log":
        return tf.exp(raw)
    if link in ("logit", "half_logit"):
        p = tf.math.sigmoid(raw + raw if link == "half_logit" else raw)
        return tf.concat([1.0 - p, p], axis=1) if proba else p
    if link == "multinomial":
        return tf.nn.softmax(raw * scale if scale != 1.0 else raw, axis=1)
    raise ValueError(f"unknown link {link!r}")


def negative_power_of_two(depths, scale: float):
    """``-2 ** (-depths * scale)`` (IsolationForest's score), as ``-exp(-ln 2 scale depths)``."""
    tf = _tf()
    return -tf.exp(depths * np.float32(-np.log(2.0) * scale))
