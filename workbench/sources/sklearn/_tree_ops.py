"""TensorFlow building blocks for decision trees and their ensembles.

The family modules describe every fitted tree as a :class:`Tree` (numpy arrays only) and
call :func:`forest_sum`, which adds up the leaf values the samples reach, for all trees at
once, with TFLite builtin ops only: GATHER, comparisons, SELECT_V2, ADD, CAST, TRANSPOSE,
UNPACK, CONCATENATION, SUM (or one FULLY_CONNECTED). TensorFlow is imported lazily;
scikit-learn never. Node tables are float32 where they hold thresholds (indices exact
below 2 ** 24), int32 otherwise (each cast is an op, and for one sample ops cost more than
elements); this exact file is for LiteRT, the integer trees below for TFLite Micro.

Exactness. scikit-learn sends a sample left when ``x <= threshold`` with ``x`` a float32
(or a float64 holding a float32, which is all a float32 ``.tflite`` input can be) and the
threshold a float64. :func:`float32_thresholds` replaces each threshold by the largest
float32 not above it, which gives the same answer for every float32 ``x``. NaN goes where
each node's ``missing_left`` says, the "NaN only" splits of HistGradientBoosting
(threshold +inf) included. No infinite constant enters the graph: the TFLite converter
stores +-inf constants as +-FLT_MAX, which would send ``x = +inf`` the wrong way.

Formulation, chosen by measurement on the LiteRT interpreter (one thread, XNNPACK on).
A ``GATHER`` costs about 5-9 ns per gathered *slice* there (a ``memcpy`` each, whatever
its width), far more than a non-broadcast elementwise op (under 1 ns), so the traversal
gathers as few slices as it can: one packed node row per tree and level. (A GEMM
formulation, as in hummingbird, needs a nodes x leaves path matrix per tree: far too
large for deep forests, and at depth 3 several times the bytes of these tables.)

- *Tests.* Every node test is "column of the extended input > float32 threshold": the
  extended input is ``x``, plus where needed ``x`` with NaN as FLT_MAX (NaN goes right)
  and ``isnan(x)`` (NaN-only splits, and the never-true test of leaves). When an ensemble
  has few distinct tests per tree step, they are all evaluated once per sample into a
  (batch, n_tests) table (whole rows of the transposed input gathered at once, one
  comparison), and a node row holds its test index; otherwise it holds the column and the
  threshold ("direct" tests).
- *Layout.* Trees advance together one level per step, in groups of similar depth so a
  few deep trees do not make every tree walk as far. A level gathers one packed row per
  tree, split by one TRANSPOSE and UNPACK (slicing its last axis is as slow as separate
  gathers), then the sample's value or test result. "perfect": a node's children sit at
  ``2 * slot`` and ``2 * slot + 1`` of the next level, no child column, trees padded to
  the group's depth. "compact": each node's row holds its left child (the right one
  follows it); leaves absorb (never-true test, child itself) and a final gather maps the
  position to its distinct leaf row. "sinks": rows for inner nodes only, with both
  children; a leaf is a pointer to one absorbing "sink" row per distinct leaf row, so no
  leaf rows nor final mapping (forests: a few hundred distinct class-fraction rows for
  thousands of leaves). Each group takes the smallest layout.
- *Leaves.* Leaf rows are deduplicated; the trees' values are added into their output
  columns by a SUM over trees where the columns allow it, else one matrix product with a
  0/1 matrix (which adds finite float32 values as a sum does).

Integer trees (:func:`integer_trees`, for the static recipes): thresholds on each
feature's 8- or 16-bit grid, int8 node rows and 8-bit leaves; see
:func:`plan_integer_forest`.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import numpy as np

#: "perfect" is used while its tables are at most this many times the compact ones. Since
#: rows are packed, both layouts gather one row per level; "perfect" saves only a cast.
PERFECT_SIZE_FACTOR = 1.0
#: A table of precomputed tests is used while it has at most this many tests per tree
#: step (tree x level). Measured: a precomputed test costs about 4 ns per sample in a batch
#: of 256 and 5-10 ns alone, a gather 5-6 ns per element; 100 trees of depth 10 on digits
#: (2,400 tests, 1,000 steps) run faster with direct tests, 1,000 trees of depth 3
#: (3,000 steps) faster with the table.
TESTS_PER_STEP = 0.5


def _tf():
    import tensorflow as tf

    return tf


# ------------------------------------------------------------------ numpy description
@dataclass(frozen=True)
class Tree:
    """One fitted binary tree in scikit-learn's array layout; node 0 is the root.

    Parameters
    ----------
    left, right : int arrays of shape (n_nodes,)
        Child indices, -1 at leaves.
    feature : int array of shape (n_nodes,)
        Feature tested at each internal node.
    threshold : float array of shape (n_nodes,)
        A sample goes left when ``x[feature] <= threshold`` (float64, as fitted).
    missing_left : bool array of shape (n_nodes,)
        Where NaN goes.
    value : float array of shape (n_nodes, n_values)
        What a sample reaching the leaf adds to the outputs (scaled by the caller).
    columns : int array of shape (n_values,), default=None
        The output column each value adds to; ``None`` is ``0..n_values-1``.
    """

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    value: np.ndarray
    columns: np.ndarray | None = None

    def __post_init__(self):
        n = len(self.left)
        value = np.asarray(self.value, dtype=np.float64)
        if value.ndim == 1:
            value = value[:, None]
        object.__setattr__(self, "value", value)
        columns = np.arange(value.shape[1]) if self.columns is None else np.asarray(self.columns)
        object.__setattr__(self, "columns", columns.astype(np.int64))
        for name in ("left", "right", "feature", "threshold", "missing_left"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"Tree.{name} has {len(getattr(self, name))} entries for {n} nodes")
        if len(value) != n or len(columns) != value.shape[1]:
            raise ValueError("Tree.value must be (n_nodes, n_values) with one column index per value")

    @property
    def is_leaf(self) -> np.ndarray:
        return np.asarray(self.left) < 0

    def depth(self) -> int:
        """Edges on the longest root-to-leaf path (0 for a single leaf)."""
        depth, frontier = 0, np.array([0])
        left, right = np.asarray(self.left), np.asarray(self.right)
        while True:
            inner = frontier[left[frontier] >= 0]
            if len(inner) == 0:
                return depth
            frontier = np.concatenate([left[inner], right[inner]])
            depth += 1


def float32_thresholds(threshold) -> np.ndarray:
    """The largest float32 ``t32 <= t`` of each float64 ``t``.

    For every float32 ``x``, ``x <= t`` exactly when ``x <= t32``: a float32 above ``t32``
    is above ``t`` too, since no float32 lies in ``(t32, t]``. Rounding to nearest instead
    would send ``x = t32 + 1 ulp`` the wrong way whenever that rounds ``t`` up.
    """
    t = np.asarray(threshold, dtype=np.float64)
    with np.errstate(over="ignore"):
        t32 = t.astype(np.float32)
    above = t32.astype(np.float64) > t
    t32[above] = np.nextafter(t32[above], np.float32(-np.inf))
    return t32


# ------------------------------------------------------------------ compiled tables
@dataclass
class Group:
    """Trees of similar depth, traversed together for ``depth`` levels.

    Node tables are packed rows, one gather per level: "direct" tests store float32
    ``(column, threshold[, left[, right]])`` rows, "table" tests int32 ``(test[, left[,
    right]])`` rows (one column: a flat table). "perfect" has one table per level,
    "compact" and "sinks" one for all.
    Positions are int32, as every GATHER kernel takes.
    """

    trees: list  # indices into the ensemble's trees
    layout: str  # "perfect" or "compact"
    depth: int
    rows: list = field(default_factory=list)  # the node tables (see above)
    start: np.ndarray | None = None  # (n_trees,) position of each root
    leaf_of: np.ndarray | None = None  # final position -> distinct leaf row (several values per leaf)
    values: np.ndarray | None = None  # by final position (one value per leaf) or distinct leaf rows
    sink: int = 0  # "sinks": the first sink row (final position - sink = values row)

    def arrays(self) -> list:
        return [*self.rows, self.leaf_of, self.values]


@dataclass
class ForestPlan:
    """The constant tables of one ensemble, ready to become a graph (see module doc)."""

    tests: str  # "table" (precomputed tests) or "direct"
    n_values: int
    n_outputs: int
    groups: list = field(default_factory=list)
    columns: np.ndarray | None = None  # (n_trees, n_values) output column of each value, in group order
    summing: np.ndarray | None = None  # 0/1 (n_trees * n_values, n_outputs), where a sum cannot do
    # which blocks the extended input needs (see _extended_columns)
    blocks: tuple = (0,)
    # "table": the distinct tests, as a column of the extended input and a threshold
    test_column: np.ndarray | None = None
    test_threshold: np.ndarray | None = None

    def nbytes(self) -> int:
        arrays = [a for g in self.groups for a in g.arrays()]
        arrays += [self.summing, self.test_column, self.test_threshold]
        return int(sum(a.nbytes for a in arrays if a is not None))

    def describe(self) -> str:
        groups = ", ".join(f"{len(g.trees)} trees x {g.depth} levels {g.layout}" for g in self.groups)
        return f"{self.tests} tests; {groups}; {self.nbytes():,} bytes of tables"


def plan_forest(
    trees: list[Tree], n_features: int, n_outputs: int, *, layout: str | None = None, tests: str | None = None
) -> ForestPlan:
    """Compile ``trees`` into a :class:`ForestPlan`; ``layout``/``tests`` force a choice."""
    if not trees:
        raise ValueError("an ensemble needs at least one tree")
    n_values = trees[0].value.shape[1]
    if any(t.value.shape[1] != n_values for t in trees):
        raise ValueError("every tree of an ensemble must have the same number of values per leaf")
    if layout not in (None, "perfect", "compact", "sinks") or tests not in (None, "table", "direct"):
        raise ValueError(f"unknown layout {layout!r} or tests {tests!r}")
    depths = np.array([t.depth() for t in trees])

    column, threshold, plan_blocks = _extended_columns(*_test_keys(trees), n_features)
    keys = np.stack([column, threshold.view(np.int32)], axis=1)
    unique, code = np.unique(keys, axis=0, return_inverse=True)
    code = code.ravel()
    if tests is None:
        steps = int(np.sum(np.maximum(depths, 1)))
        tests = "table" if len(unique) <= TESTS_PER_STEP * steps else "direct"

    plan = ForestPlan(tests, n_values, n_outputs, blocks=plan_blocks)
    if tests == "table":
        plan.test_column = unique[:, 0].astype(np.int32)
        plan.test_threshold = unique[:, 1].astype(np.int32).view(np.float32)
        node_code, node_threshold = code.astype(np.int32), None
    else:
        node_code, node_threshold = column, threshold

    offsets = np.cumsum([0] + [len(t.left) for t in trees])
    order = []
    for members in _depth_groups(depths):
        group = Group(list(members), "compact", int(depths[members].max()))
        chosen = [trees[i] for i in members]
        codes = [node_code[offsets[i] : offsets[i + 1]] for i in members]
        thresholds = (
            None if node_threshold is None else [node_threshold[offsets[i] : offsets[i + 1]] for i in members]
        )
        group.layout = layout or _layout(chosen, group.depth, tests)
        {"perfect": _perfect, "compact": _compact, "sinks": _sinks}[group.layout](
            group, chosen, codes, thresholds
        )
        plan.groups.append(group)
        order.extend(members)

    plan.columns = np.stack([trees[i].columns for i in order])
    plan.summing = _summing_matrix(plan.columns, n_outputs)
    return plan


#: Cost of one more level and of one more group, in tree-levels (what one tree costs for
#: one level): the ops of a level run whatever the number of trees.
LEVEL_COST = 32
GROUP_COST = 64


def _depth_groups(depths: np.ndarray) -> list[np.ndarray]:
    """Split trees into groups of similar depth: a group costs ``trees x its depth`` plus
    fixed costs, so a few deep trees do not make all the shallow ones walk as far."""
    levels = np.unique(np.maximum(depths, 0))
    count = np.array([np.sum(depths == d) for d in levels])
    # best[j]: cheapest split of the trees up to levels[j - 1]; a group ends at its deepest level.
    best = [0.0] + [np.inf] * len(levels)
    cut = [0] * (len(levels) + 1)
    for j in range(1, len(levels) + 1):
        for i in range(j):
            cost = best[i] + count[i:j].sum() * levels[j - 1] + LEVEL_COST * levels[j - 1] + GROUP_COST
            if cost < best[j]:
                best[j], cut[j] = cost, i
    bounds, j = [], len(levels)
    while j > 0:
        bounds.append((cut[j], j))
        j = cut[j]
    groups = []
    for i, j in reversed(bounds):
        groups.append(np.flatnonzero((depths >= levels[i]) & (depths <= levels[j - 1])))
    return groups


def _layout(trees, depth: int, tests: str) -> str:
    """The smallest layout, "perfect" on a tie (it needs no child columns). Every layout
    gathers one packed row per level; "sinks" saves the final leaf-row gather too. Sizes in
    table entries."""
    k = 2 if tests == "direct" else 1  # (column, threshold) or (test)
    values = np.concatenate([t.value for t in trees]).astype(np.float32)
    leaf = np.concatenate([t.is_leaf for t in trees])
    n_nodes, n_inner = len(leaf), int(np.sum(~leaf))
    n_values = values.shape[1]
    distinct = len(np.unique(values[leaf], axis=0))
    shared = distinct * n_values if n_values > 1 else 0  # the distinct leaf rows, in all but one case
    perfect = len(trees) * ((2.0**depth - 1) * k + 2.0**depth) + shared
    compact = n_nodes * (k + 2.0) + shared  # rows with a child, then a leaf row or value per node
    sinks = (n_inner + distinct) * (k + 2.0) + distinct * n_values  # rows with two children, then values
    if perfect <= PERFECT_SIZE_FACTOR * min(compact, sinks) and depth <= 24:
        return "perfect"
    return "sinks" if sinks < compact else "compact"


#: Kinds of node test, each "does the sample go right?" for float32 ``x`` and ``t``.
#: Infinite constants are avoided: the TFLite converter stores them as +-FLT_MAX.
NEVER, ABOVE, ABOVE_OR_NAN, NAN_ONLY = range(4)


def _test_keys(trees):
    """Per node of all trees: feature, float32 threshold and kind of its test.

    - NEVER: leaves (they absorb) and "x <= +inf, NaN left" splits;
    - ABOVE: ``x > t``, NaN goes left;
    - ABOVE_OR_NAN: ``x > t or isnan(x)``, NaN goes right;
    - NAN_ONLY: "x <= +inf, NaN right" (HistGradientBoosting's split of NaN from the rest).
    """
    feature, threshold, kind = [], [], []
    for t in trees:
        inner = ~t.is_leaf
        t32 = float32_thresholds(np.where(inner, t.threshold, 0.0))
        if np.any(np.isneginf(t32[inner])):
            raise ValueError("a split at -inf sends only -inf left; scikit-learn never makes one")
        infinite = np.isposinf(t32)
        nan_left = np.asarray(t.missing_left, dtype=bool)
        k = np.where(nan_left, ABOVE, ABOVE_OR_NAN)
        k = np.where(infinite, np.where(nan_left, NEVER, NAN_ONLY), k)
        k = np.where(inner, k, NEVER)
        if np.any((k == ABOVE_OR_NAN) & (t32 == np.finfo(np.float32).max)):
            # NaN stands in as the largest float32 for these tests (see _extended_columns).
            raise ValueError("a NaN-right split at the largest float32 cannot be rebuilt")
        f = np.where(inner & (k != NEVER), t.feature, 0)
        feature.append(f.astype(np.int64))
        threshold.append(np.where((k == ABOVE) | (k == ABOVE_OR_NAN), t32, 0.0).astype(np.float32))
        kind.append(k.astype(np.int64))
    return np.concatenate(feature), np.concatenate(threshold), np.concatenate(kind)


def _extended_columns(feature, threshold, kind, n_features: int):
    """Each test as a column of the extended input and a threshold: ``column > threshold``
    is "go right", one comparison whatever the kind of test.

    The extended input is ``x`` (block 0: NaN compares false, goes left), then if needed
    ``x`` with NaN as the largest float (block 1: NaN goes right of any threshold below
    it) and ``isnan(x)`` as 0/1 (block 2: against 0 for NAN_ONLY, against 1 for NEVER).
    """
    block = np.choose(kind, [2, 0, 1, 2])
    blocks = tuple(sorted({0, *(int(b) for b in np.unique(block))}))
    position = np.searchsorted(blocks, block)
    column = (position * n_features + feature).astype(np.int32)
    threshold = np.choose(kind, [np.ones_like(threshold), threshold, threshold, np.zeros_like(threshold)])
    return column, threshold.astype(np.float32), blocks


#: Node indices in a float32 row (beside a threshold) are exact below 2 ** 24.
MAX_INDEX = 2**24


def _rows(codes, thresholds, left=None) -> np.ndarray:
    """Packed node rows: ``(code, threshold[, left])`` for direct tests, as float32 (a
    threshold needs it; indices are exact below 2 ** 24), ``(code[, left])`` for table
    tests, as int32 (no cast before they index); a flat table when that is all."""
    columns = (
        [codes] + ([thresholds] if thresholds is not None else []) + ([left] if left is not None else [])
    )
    if max(int(np.max(c, initial=0)) for c in (codes, left if left is not None else codes)) >= MAX_INDEX:
        raise ValueError(f"an ensemble of {MAX_INDEX:,} nodes or tests or more cannot be rebuilt")
    dtype = np.float32 if thresholds is not None else np.int32
    rows = np.stack([np.asarray(c, dtype=dtype) for c in columns], axis=1)
    return rows[:, 0] if rows.shape[1] == 1 else rows


def _perfect(group: Group, trees, codes, thresholds) -> None:
    depth, n_trees = group.depth, len(trees)
    width = [2**level for level in range(depth + 1)]
    step_code = [np.zeros(n_trees * w, dtype=np.int64) for w in width[:-1]]
    step_threshold = [np.zeros(n_trees * w, dtype=np.float32) for w in width[:-1]]
    final = np.zeros(n_trees * width[-1], dtype=np.int64)  # (tree, node) -> row of all_nodes
    offsets = np.cumsum([0] + [len(t.left) for t in trees])
    for i, t in enumerate(trees):
        left, right = np.asarray(t.left), np.asarray(t.right)
        nodes, slots = np.array([0]), np.array([0])
        for level in range(depth):
            inner = left[nodes] >= 0
            positions = i * width[level] + slots
            step_code[level][positions] = codes[i][nodes]
            if thresholds is not None:
                step_threshold[level][positions] = thresholds[i][nodes]
            # A leaf above the last level fills both child slots: whatever its test says.
            nodes = np.concatenate([left[nodes[inner]], right[nodes[inner]], nodes[~inner], nodes[~inner]])
            slots = np.concatenate(
                [2 * slots[inner], 2 * slots[inner] + 1, 2 * slots[~inner], 2 * slots[~inner] + 1]
            )
        final[i * width[-1] + slots] = offsets[i] + nodes
    group.rows = [
        _rows(step_code[level], step_threshold[level] if thresholds is not None else None)
        for level in range(depth)
    ]
    group.start = np.arange(n_trees, dtype=np.int32)  # slot of tree i at level 0
    _leaf_tables(group, trees, final)


def _compact(group: Group, trees, codes, thresholds) -> None:
    # Breadth-first numbering per tree, the two children of a node next to each other.
    offsets = np.cumsum([0] + [len(t.left) for t in trees])
    n_nodes = int(offsets[-1])
    old_of_new = np.zeros(n_nodes, dtype=np.int64)
    left_new = np.zeros(n_nodes, dtype=np.int64)
    starts = []
    position = 0
    for i, t in enumerate(trees):
        left, right = np.asarray(t.left), np.asarray(t.right)
        new = np.zeros(len(left), dtype=np.int64)
        new[0] = position
        starts.append(position)
        position += 1
        frontier = np.array([0])
        while len(frontier):
            inner = frontier[left[frontier] >= 0]
            kids = np.stack([left[inner], right[inner]], axis=1).ravel()
            new[kids] = position + np.arange(len(kids))
            position += len(kids)
            frontier = kids
        old_of_new[new] = offsets[i] + np.arange(len(left))
        is_leaf = left < 0
        left_new[new] = np.where(is_leaf, new, new[np.where(is_leaf, 0, left)])
    threshold = np.concatenate(thresholds)[old_of_new] if thresholds is not None else None
    group.rows = [_rows(np.concatenate(codes)[old_of_new], threshold, left_new)]
    group.start = np.asarray(starts, dtype=np.int32)
    _leaf_tables(group, trees, old_of_new)


def _sinks(group: Group, trees, codes, thresholds) -> None:
    """Rows for the inner nodes only, ``(code[, threshold], left, right)``, then one "sink"
    row per distinct leaf row, whose children are itself: a leaf is a pointer to its sink
    (as emlearn's leaves), and the final position minus ``group.sink`` is the values row."""
    values = np.concatenate([t.value for t in trees]).astype(np.float32)
    leaf = np.concatenate([t.is_leaf for t in trees])
    distinct, value_row = np.unique(values[leaf], axis=0, return_inverse=True)
    n_inner, n_sinks = int(np.sum(~leaf)), len(distinct)
    row_of = np.zeros(len(leaf), dtype=np.int64)
    row_of[~leaf] = np.arange(n_inner)
    row_of[leaf] = n_inner + value_row.ravel()
    offsets = np.cumsum([0] + [len(t.left) for t in trees])[:-1]
    left = np.concatenate(
        [np.where(t.is_leaf, 0, np.asarray(t.left)) + o for t, o in zip(trees, offsets, strict=True)]
    )
    right = np.concatenate(
        [np.where(t.is_leaf, 0, np.asarray(t.right)) + o for t, o in zip(trees, offsets, strict=True)]
    )
    sinks = n_inner + np.arange(n_sinks)
    code = np.concatenate([np.concatenate(codes)[~leaf], np.zeros(n_sinks, dtype=np.int64)])
    columns = [code]
    if thresholds is not None:
        columns.append(
            np.concatenate([np.concatenate(thresholds)[~leaf], np.zeros(n_sinks, dtype=np.float32)])
        )
    columns += [np.concatenate([row_of[left[~leaf]], sinks]), np.concatenate([row_of[right[~leaf]], sinks])]
    if n_inner + n_sinks >= MAX_INDEX or int(np.max(code, initial=0)) >= MAX_INDEX:
        raise ValueError(f"an ensemble of {MAX_INDEX:,} nodes or tests or more cannot be rebuilt")
    group.rows = [
        np.stack(
            [np.asarray(c, dtype=np.float32 if thresholds is not None else np.int32) for c in columns], axis=1
        )
    ]
    group.start = row_of[offsets].astype(np.int32)
    group.sink = n_inner
    group.values = distinct[:, 0].copy() if distinct.shape[1] == 1 else distinct


def _leaf_tables(group: Group, trees, node_at) -> None:
    """Values by final position: directly for one value per leaf, else through a leaf row.

    ``node_at`` is the node (counted over ``trees``) at each final position; only the
    positions holding a leaf can be final, the others get 0 / row 0. Leaf rows are
    deduplicated: a forest's class fractions repeat (a pure leaf is a one-hot row).
    """
    all_values = np.concatenate([t.value for t in trees]).astype(np.float32)
    at_leaf = np.concatenate([t.is_leaf for t in trees])[node_at]
    if all_values.shape[1] == 1:
        group.values = np.where(at_leaf, all_values[node_at, 0], 0.0).astype(np.float32)
        return
    distinct, row = np.unique(all_values[node_at[at_leaf]], axis=0, return_inverse=True)
    leaf_of = np.zeros(len(node_at), dtype=np.int64)
    leaf_of[at_leaf] = row.ravel()
    group.leaf_of = leaf_of.astype(np.int32)
    group.values = distinct


# ------------------------------------------------------------------ the graph
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


def _index(t):
    return _tf().cast(t, _tf().int32)


def _unpack(rows):
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
                result = tf.gather(results, row[0].astype(np.int32), axis=1)
            else:
                result = tf.gather(results, _index(row[0]), batch_dims=1)
            return tf.cast(result, tf.bool) if as_bool else _index(result)
    else:

        def went_right(row, constant, as_bool=False):
            if constant:
                chosen = tf.gather(columns, row[0].astype(np.int32), axis=1)
            else:
                chosen = tf.gather(columns, _index(row[0]), batch_dims=1)
            return chosen > row[1] if as_bool else _index(chosen > row[1])

    parts = [_traverse(x, plan, group, went_right) for group in plan.groups]
    values = parts[0] if len(parts) == 1 else tf.concat(parts, axis=1)
    n_trees, n_values = plan.columns.shape
    if n_trees == 1 and np.array_equal(plan.columns[0], np.arange(plan.n_outputs)):
        return values
    return sum_into_columns(tf.reshape(values, [-1, n_trees, n_values]), plan.columns, plan.n_outputs)


def _traverse(x, plan: ForestPlan, group: Group, went_right):
    """(batch, n_trees * n_values): the values of the leaves the samples reach."""
    tf = _tf()
    perfect = group.layout == "perfect"

    def columns_of(table):
        return [table] if table.ndim == 1 else [table[:, k] for k in range(table.shape[1])]

    def gathered(table, position):
        rows = tf.gather(table, position)
        return [rows] if table.ndim == 1 else _unpack(rows)

    sinks = group.layout == "sinks"
    if group.depth == 0:
        position = tf.zeros(tf.stack([tf.shape(x)[0], len(group.trees)]), tf.int32) + group.start
    elif sinks:  # rows end (left, right): choose one
        roots = [c[group.start] for c in columns_of(group.rows[0])]
        position = _index(tf.where(went_right(roots, True, as_bool=True), roots[-1], roots[-2]))
    else:
        roots = [c[group.start] for c in columns_of(group.rows[0])]
        right = went_right(roots, True)
        position = right + (2 * group.start if perfect else roots[-1].astype(np.int32))
    for level in range(1, group.depth):
        row = gathered(group.rows[level if perfect else 0], position)
        if sinks:
            position = _index(tf.where(went_right(row, False, as_bool=True), row[-1], row[-2]))
            continue
        right = went_right(row, False)
        position = position + position + right if perfect else _index(row[-1]) + right
    if sinks:
        values = tf.gather(group.values, position - group.sink)
        return values if plan.n_values == 1 else tf.reshape(values, [-1, len(group.trees) * plan.n_values])
    if group.leaf_of is None:
        return tf.gather(group.values, position)
    values = tf.gather(group.values, _index(tf.gather(group.leaf_of, position)))
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
    """``x`` and the NaN-handling blocks of :func:`_extended_columns`, side by side."""
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


# ------------------------------------------------------------------ after the sum
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


def plus_minus_one(decision):
    """(batch,) int32: +1 where the single column of ``decision`` is >= 0, else -1."""
    tf = _tf()
    inlier = tf.greater_equal(tf.reshape(decision, [-1]), 0.0)
    return tf.where(inlier, tf.ones_like(tf.cast(inlier, tf.int32)), -tf.ones_like(tf.cast(inlier, tf.int32)))


#: Set while a graph is built for a converter mode that narrows or quantizes float constants:
#: "direct" rows keep child positions in float32 beside the thresholds, which float16 or int8
#: would corrupt; "table" rows are int32, which the converter leaves alone.
INDEX_TABLES_ONLY: ContextVar[bool] = ContextVar("index_tables_only", default=False)


@contextmanager
def integer_index_tables():
    """Build every tree ensemble of the graph with int32 node rows ("table" tests)."""
    token = INDEX_TABLES_ONLY.set(True)
    try:
        yield
    finally:
        INDEX_TABLES_ONLY.reset(token)


# ------------------------------------------------------------------ integer trees
#: Set (to 8 or 16) while a graph is built for an integer-tree variant: :func:`forest_sum`
#: then builds :func:`integer_forest_sum` instead of the exact float32 traversal.
INTEGER_BITS: ContextVar[int | None] = ContextVar("integer_tree_bits", default=None)


@contextmanager
def integer_trees(bits: int):
    """Build every tree ensemble of the graph as integer trees on a ``bits``-bit grid."""
    token = INTEGER_BITS.set(int(bits))
    try:
        yield
    finally:
        INTEGER_BITS.reset(token)


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
    feature, threshold, kind = _test_keys(trees)
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
    # the grid shifted like the step field (see plan_integer_forest)
    grid = tf.round(x * plan.gain + plan.offset)
    grid = tf.minimum(tf.maximum(grid, -plan.shift), float(plan.levels) - plan.shift)
    fields = np.asarray(plan.rows, np.float32) @ plan.decode  # numpy, for the roots
    if plan.steps == 0:  # every tree a single leaf
        position = tf.zeros(tf.stack([tf.shape(x)[0], len(plan.start)]), tf.int32) + plan.start
    else:
        feature, step, left, right = (fields[plan.start, j] for j in range(4))
        chosen = tf.gather(grid, feature.astype(np.int32), axis=1)
        position = _index(tf.where(chosen >= step, right, left))
    for _ in range(1, plan.steps):
        feature, step, left, right = _decode(tf.gather(plan.rows, position), plan)
        chosen = tf.gather(grid, _index(feature), batch_dims=1)
        position = _index(tf.where(chosen >= step, right, left))
    values = tf.cast(tf.gather(plan.values, position - plan.sink), tf.float32)  # (batch, trees, n_values)
    return _combine(values, plan) * np.float32(plan.value_scale)


def _decode(rows, plan: IntegerForest):
    """(batch, trees, width) int8 rows -> (feature, step, left, right), each (batch, trees) float32:
    the bytes of each field weighed by ``256 ** k``, elementwise (a FULLY_CONNECTED would
    need the rows flattened to (batch * trees, width), a reshape TFLite Micro sizes wrongly
    when the batch is dynamic)."""
    planes = _unpack(_tf().cast(rows, _tf().float32))
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


def _summing_matrix(columns: np.ndarray, n_outputs: int) -> np.ndarray | None:
    """The 0/1 matrix :func:`sum_into_columns` needs, or None where a sum does (every
    tree the same columns, as a forest's classes; or one value per tree, tree ``i`` adding
    to column ``i % n_outputs``, as boosting's stages)."""
    n_trees, n_values = columns.shape
    if np.all(columns == columns[0]) and np.array_equal(np.sort(columns[0]), np.arange(n_outputs)):
        return None
    if (
        n_values == 1
        and n_trees % n_outputs == 0
        and np.array_equal(columns[:, 0], np.arange(n_trees) % n_outputs)
    ):
        return None
    summing = np.zeros((n_trees * n_values, n_outputs), dtype=np.float32)
    summing[np.arange(n_trees * n_values), columns.ravel()] = 1.0
    return summing


def sum_into_columns(values, columns: np.ndarray, n_outputs: int):
    """(batch, n_outputs): (batch, n_trees, n_values) ``values`` added into their output
    ``columns``: a SUM over trees where the columns allow it (no table), else one matrix
    product with a 0/1 matrix (which adds finite float32 values as a sum does)."""
    tf = _tf()
    n_trees, n_values = columns.shape
    summing = _summing_matrix(columns, n_outputs)
    if summing is not None:
        return tf.matmul(tf.reshape(values, [-1, n_trees * n_values]), summing)
    if np.all(columns == columns[0]):
        total = tf.reduce_sum(values, axis=1)
        order = np.argsort(columns[0])
        return total if np.array_equal(order, np.arange(n_values)) else tf.gather(total, order, axis=1)
    return tf.reduce_sum(tf.reshape(values, [-1, n_trees // n_outputs, n_outputs]), axis=1)
