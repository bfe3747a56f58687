"""Build contexts: settings the graph being built asks of every tree ensemble (and of its
labels) without passing them through each builder: int32 index tables for converter
modes that narrow float constants, and integer trees for the static recipes."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

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
