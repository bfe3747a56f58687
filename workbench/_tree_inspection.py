"""A tree ensemble in a ``.tflite``, described from the file alone: how many trees, their
depth and nodes, the integer grid its thresholds sit on and what its leaves hold.

The workbench's tree graphs name their tables (``_tree_names``); this reads those constants
and the ops that use them through ``_flatbuffer``, never the estimator, so a file saved and
inspected elsewhere says the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ._flatbuffer import named_constants, op_graph, read_model
from ._tree_names import EXACT_LEAVES, EXACT_ROWS, EXACT_SINGLE_LEAVES, INTEGER, PREFIX


@dataclass(frozen=True)
class IntegerTrees:
    """Integer trees as a file holds them (see :func:`integer_trees`)."""

    n_trees: int
    depth: int
    tests: int  # inner nodes: one packed row each
    bits: int
    grid_low: int
    grid_high: int
    steps: np.ndarray  # (n_features,) the grid's step per feature (1 / gain); 0 where unused
    first_op: str  # the op that starts quantizing the input ("" when it is not the file's first)
    row_bytes: int
    leaf_rows: int
    leaf_width: int
    leaf_scale: float
    leaf_sums: np.ndarray  # (leaf_rows,) each distinct leaf row's sum, dequantized

    @property
    def leaves(self) -> int:
        """Leaves of all trees (every inner node has two children)."""
        return self.tests + self.n_trees

    @property
    def nodes(self) -> int:
        return self.tests + self.leaves

    @property
    def leaves_are_probabilities(self) -> bool:
        """Non-negative leaf rows of one sum: each tree's share of the class probabilities."""
        if self.leaf_rows == 0 or self.leaf_width < 2 or np.any(self.leaf_sums < 0):
            return False
        rounding = self.leaf_width * self.leaf_scale  # half a step per value, twice over
        return bool(np.ptp(self.leaf_sums) <= rounding)

    def verdict(self) -> tuple[str, str]:
        """What the file is, as ``inspect`` says it (sentence, table word): not "partly integer"
        with float ops left, but integer trees whose whole numbers float32 ops compare and add."""
        return (
            f"integer trees ({self.bits}-bit feature grids, int8 node rows, 8-bit leaves; float32 ops "
            "compare the whole grid steps and add the 8-bit leaves exactly, then scale the sum)",
            f"integer trees {self.bits}-bit",
        )

    def lines(self) -> list[str]:
        used = self.steps[self.steps > 0]
        where = f"the file's first op ({self.first_op})" if self.first_op else "ops before the trees"
        grid = (
            f"  thresholds on each feature's {self.bits}-bit integer grid; the input is quantized per "
            f"feature by {where}: grid = clip(round(x * gain + offset), {self.grid_low}, {self.grid_high})"
        )
        steps = (
            f"  grid step (1/gain) {used.min():.4g} to {used.max():.4g} over {used.size} of "
            f"{self.steps.size} features"
            if used.size
            else f"  no feature is tested (of {self.steps.size})"
        )
        if self.leaves_are_probabilities:
            held = f"8-bit class probabilities (votes), each row summing to {np.mean(self.leaf_sums):.3g}"
        else:
            held = "8-bit values (scores or outputs)"
        return [
            f"tree ensemble (workbench integer trees): {self.n_trees} trees, depth {self.depth}, "
            f"{self.nodes:,} nodes ({self.tests:,} tests, {self.leaves:,} leaves)",
            grid,
            steps,
            f"  node rows: {self.tests + self.leaf_rows:,} of {self.row_bytes} int8 bytes "
            f"(feature, step, left, right), {self.leaf_rows} of them ending at a leaf",
            f"  leaves: {self.leaf_rows} distinct rows of {self.leaf_width} int8 values x "
            f"{self.leaf_scale:.4g}: {held}",
        ]


def integer_trees(content: bytes) -> IntegerTrees | None:
    """The integer trees ``content`` holds, or None when it holds none."""
    tables = named_constants(content, PREFIX)
    if not all(INTEGER[key] in tables for key in ("gain", "rows", "leaves", "scale", "roots")):
        return None
    rows, leaves = tables[INTEGER["rows"]], tables[INTEGER["leaves"]]
    gain = tables[INTEGER["gain"]].astype(np.float64)
    low, high = float(tables[INTEGER["low"]]), float(tables[INTEGER["high"]])
    scale = float(tables[INTEGER["scale"]])
    tests = len(rows) - len(leaves)  # every distinct leaf row has its one "sink" row
    ops = op_graph(content)
    walks = sum(op["op"] == "GATHER" and INTEGER["rows"] in op["weights"] for op in ops)
    first = ops[0] if ops else {"op": "", "weights": []}
    return IntegerTrees(
        n_trees=len(tables[INTEGER["roots"]]),
        depth=walks + 1 if tests else 0,
        tests=tests,
        bits=int(round(np.log2(high - low + 2))),
        grid_low=int(low),
        grid_high=int(high),
        steps=np.divide(1.0, gain, out=np.zeros_like(gain), where=gain > 0),
        first_op=first["op"] if INTEGER["gain"] in first["weights"] else "",
        row_bytes=int(rows.shape[1]),
        leaf_rows=len(leaves),
        leaf_width=int(leaves.shape[1]) if leaves.ndim == 2 else 1,
        leaf_scale=scale,
        leaf_sums=leaves.reshape(len(leaves), -1).astype(np.float64).sum(axis=1) * scale,
    )


@dataclass(frozen=True)
class ExactTrees:
    """The exact float32 trees a file holds (see :func:`exact_trees`), group by group."""

    n_trees: int
    depth: int
    groups: int
    row_count: int  # node rows of every table (padding and absorbing rows included)
    leaf_rows: int
    leaf_width: int

    def verdict(self) -> None:
        """Nothing to add: the file's float32 verdict is the truth."""
        return None

    def lines(self) -> list[str]:
        return [
            f"tree ensemble (workbench exact float32 trees): {self.n_trees} trees, depth {self.depth}, "
            f"walked in {self.groups} group(s)",
            "  thresholds: scikit-learn's own, in float32 (no grid; the input is read as it is)",
            f"  node rows: {self.row_count:,} (layout padding and absorbing rows included)",
            f"  leaves: {self.leaf_rows} distinct rows of {self.leaf_width} float32 values",
        ]


def exact_trees(content: bytes) -> ExactTrees | None:
    """The exact float32 trees ``content`` holds, or None (none, or tables the converter
    changed, as float16 does: their gathers no longer read the named tables)."""
    tables = named_constants(content, PREFIX)
    ops = op_graph(content)
    shapes = _shapes(content)
    n_trees = depth = groups = rows = leaf_rows = 0
    width = 1
    for number in range(len(tables)):
        leaves = EXACT_LEAVES.format(group=number)
        if leaves not in tables or tables[leaves].dtype != np.float32:
            break
        reads = [op for op in ops if op["op"] == "GATHER" and leaves in op["weights"]]
        if not reads:
            return None
        groups += 1
        n_trees += shapes[reads[0]["outputs"][0]][1]
        leaf_rows += len(tables[leaves])
        width = tables[leaves].shape[1] if tables[leaves].ndim == 2 else 1
        pattern = re.compile(re.escape(EXACT_ROWS.format(group=number)) + r"(_\d+)?$")
        named = [name for name in tables if pattern.match(name)]
        rows += sum(len(tables[name]) for name in named)
        walks = sum(op["op"] == "GATHER" and any(n in op["weights"] for n in named) for op in ops)
        single = EXACT_SINGLE_LEAVES.format(group=number) in tables
        depth = max(depth, 0 if single else walks + 1)
    if not groups:
        return None
    return ExactTrees(n_trees, depth, groups, rows, leaf_rows, width)


def _shapes(content: bytes) -> dict[str, tuple[int, ...]]:
    graph = read_model(content).Subgraphs(0)
    found = {}
    for t in range(graph.TensorsLength()):
        tensor = graph.Tensors(t)
        shape = tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()
        found[tensor.Name().decode(errors="replace")] = shape
    return found


@dataclass(frozen=True)
class SeveralEnsembles:
    """A file with several tree ensembles (a voting or stacking of forests): their tables
    share names, so only their number is told."""

    count: int

    def verdict(self) -> None:
        return None

    def lines(self) -> list[str]:
        return [
            f"{self.count} tree ensembles (workbench trees): trees, depth and leaves are told for a "
            "file with one ensemble"
        ]


def find_trees(content: bytes) -> IntegerTrees | ExactTrees | SeveralEnsembles | None:
    """The workbench trees ``content`` holds (integer or exact float32), or None."""
    # each ensemble has one first leaf table; TensorFlow numbers the names of the others "_1", ...
    first = re.compile(
        "^(" + re.escape(INTEGER["leaves"]) + "|" + re.escape(EXACT_LEAVES.format(group=0)) + r")(_\d+)?$"
    )
    count = sum(bool(first.match(name)) for name in named_constants(content, PREFIX))
    if count > 1:
        return SeveralEnsembles(count)
    return integer_trees(content) or exact_trees(content)
