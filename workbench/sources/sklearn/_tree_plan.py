"""Tree table layout and packing: an ensemble of :class:`~._trees.Tree` compiled into a
:class:`ForestPlan` of packed node tables (numpy only), ready for ``_tree_graph``.

Formulation, chosen by measurement on the LiteRT interpreter (one thread, XNNPACK on).
A ``GATHER`` costs about 5-9 ns per gathered *slice* there (a ``memcpy`` each, whatever
its width), far more than a non-broadcast elementwise op (under 1 ns), so the traversal
gathers as few slices as it can: one packed node row per tree and level. (A GEMM
formulation, as in hummingbird, needs a nodes x leaves path matrix per tree: far too
large for deep forests, and at depth 3 several times the bytes of these tables.) Node
tables are float32 where they hold thresholds (indices exact below 2 ** 24); otherwise
int16 where every entry fits (GATHER takes int16 positions as they are, so a flat table
costs no op; packed int16 rows are cast to int32 before their TRANSPOSE, which the
converter has only from 32 bits down), else int32.

- *Tests.* When an ensemble has few distinct tests per tree step, they are all evaluated
  once per sample into a (batch, n_tests) table (whole rows of the transposed input
  gathered at once, one comparison), and a node row holds its test index; otherwise it
  holds the column and the threshold ("direct" tests).
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
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._trees import MAX_INDEX, Tree, extended_columns, test_keys

#: "perfect" is used while its tables are at most this many times the compact ones. Since
#: rows are packed, both layouts gather one row per level; "perfect" saves only a cast.
PERFECT_SIZE_FACTOR = 1.0


#: A table of precomputed tests is used while it has at most this many tests per tree
#: step (tree x level). Measured: a precomputed test costs about 4 ns per sample in a batch
#: of 256 and 5-10 ns alone, a gather 5-6 ns per element; 100 trees of depth 10 on digits
#: (2,400 tests, 1,000 steps) run faster with direct tests, 1,000 trees of depth 3
#: (3,000 steps) faster with the table.
TESTS_PER_STEP = 0.5


@dataclass
class Group:
    """Trees of similar depth, traversed together for ``depth`` levels.

    Node tables are packed rows, one gather per level: "direct" tests store float32
    ``(column, threshold[, left[, right]])`` rows, "table" tests int16 or int32 ``(test[,
    left[, right]])`` rows (one column: a flat table; see :func:`_narrow`). "perfect" has
    one table per level, "compact" and "sinks" one for all. Positions computed in the
    graph are int32.
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
    # which blocks the extended input needs (see extended_columns)
    blocks: tuple = (0,)
    # "table": the distinct tests, as a column of the extended input and a threshold
    test_column: np.ndarray | None = None
    test_threshold: np.ndarray | None = None
    # the stored "table" node rows and leaf-row maps: int16 where every entry fits, else int32
    index_dtype: type = np.int32

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

    column, threshold, plan_blocks = extended_columns(*test_keys(trees), n_features)
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
    plan.summing = summing_matrix(plan.columns, n_outputs)
    if tests == "table":
        _narrow(plan)
    return plan


#: Table entries below this fit int16, which LiteRT's GATHER takes as positions as they
#: are: "table" node rows then cost half the bytes, and a flat table no op more.
INT16_ENTRIES = 2**15


def _narrow(plan: ForestPlan) -> None:
    """int16 "table" node rows, leaf-row maps and test columns where every entry fits. Positions stay
    int32 in the graph (TFLite has no int16 TRANSPOSE for packed rows), so only the
    stored tables narrow."""
    tables = [t for group in plan.groups for t in [*group.rows, group.leaf_of] if t is not None]
    if max(int(np.max(t, initial=0)) for t in [*tables, plan.test_column]) >= INT16_ENTRIES:
        return
    plan.test_column = plan.test_column.astype(np.int16)
    for group in plan.groups:
        group.rows = [t.astype(np.int16) for t in group.rows]
        if group.leaf_of is not None:
            group.leaf_of = group.leaf_of.astype(np.int16)
    plan.index_dtype = np.int16


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


def summing_matrix(columns: np.ndarray, n_outputs: int) -> np.ndarray | None:
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
