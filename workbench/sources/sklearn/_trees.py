"""One fitted tree as numpy arrays (:class:`Tree`), and each node's test as one float32
comparison on an extended input.

Exactness. scikit-learn sends a sample left when ``x <= threshold`` with ``x`` a float32
(or a float64 holding a float32, which is all a float32 ``.tflite`` input can be) and the
threshold a float64. :func:`float32_thresholds` replaces each threshold by the largest
float32 not above it, which gives the same answer for every float32 ``x``. NaN goes where
each node's ``missing_left`` says, the "NaN only" splits of HistGradientBoosting
(threshold +inf) included. No infinite constant enters the graph: the TFLite converter
stores +-inf constants as +-FLT_MAX, which would send ``x = +inf`` the wrong way.

Every node test is "column of the extended input > float32 threshold": the extended input
is ``x``, plus where needed ``x`` with NaN as FLT_MAX (NaN goes right) and ``isnan(x)``
(NaN-only splits, and the never-true test of leaves); see :func:`extended_columns`.
Numpy only: TensorFlow and scikit-learn are never imported here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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


#: Kinds of node test, each "does the sample go right?" for float32 ``x`` and ``t``.
#: Infinite constants are avoided: the TFLite converter stores them as +-FLT_MAX.
NEVER, ABOVE, ABOVE_OR_NAN, NAN_ONLY = range(4)


def test_keys(trees):
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
            # NaN stands in as the largest float32 for these tests (see extended_columns).
            raise ValueError("a NaN-right split at the largest float32 cannot be rebuilt")
        f = np.where(inner & (k != NEVER), t.feature, 0)
        feature.append(f.astype(np.int64))
        threshold.append(np.where((k == ABOVE) | (k == ABOVE_OR_NAN), t32, 0.0).astype(np.float32))
        kind.append(k.astype(np.int64))
    return np.concatenate(feature), np.concatenate(threshold), np.concatenate(kind)


def extended_columns(feature, threshold, kind, n_features: int):
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
