"""The names a tree ensemble's graph gives its tables in a ``.tflite``: the builder
(``sources/sklearn/_tree_integer.py``) names them, ``inspect`` finds them by these names and
describes the trees from the file alone (``_tree_inspection.py``)."""

from __future__ import annotations

#: Every name starts with this: a file holds workbench trees when a constant does.
PREFIX = "workbench_trees/"

#: The integer trees' tables: the per-feature grid (gain, offset, its lowest and highest
#: step), one constant of length n_trees (the roots' features, or for trees that are single
#: leaves the roots), the packed int8 node rows, the distinct 8-bit leaves and their scale.
INTEGER = {
    "gain": PREFIX + "grid_gain",
    "offset": PREFIX + "grid_offset",
    "low": PREFIX + "grid_low",
    "high": PREFIX + "grid_high",
    "roots": PREFIX + "roots",
    "rows": PREFIX + "node_rows",
    "leaves": PREFIX + "leaf_values",
    "scale": PREFIX + "leaf_scale",
}

#: The exact float32 trees' tables, per group of trees walked together (``_tree_graph``): the
#: packed node rows, the distinct leaf rows, and for trees that are single leaves their roots.
EXACT = PREFIX + "exact/group{group}/"
EXACT_ROWS = EXACT + "node_rows"
EXACT_LEAVES = EXACT + "leaf_values"
EXACT_SINGLE_LEAVES = EXACT + "single_leaves"
