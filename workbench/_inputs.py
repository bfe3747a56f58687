"""Samples for models with several inputs: a dict of arrays by input name, one row per sample.

A single-input model's samples are one array; a model with several inputs takes a dict
``{input name: array}`` whose arrays share their first axis. These helpers treat both alike,
so that slicing, counting and casting need no branch at every call site.
"""

from __future__ import annotations

import numpy as np


def is_multi(X) -> bool:
    return isinstance(X, dict)


def count(X) -> int:
    """The number of samples."""
    return len(next(iter(X.values()))) if is_multi(X) else len(X)


def take(X, index):
    """Rows ``index`` (a slice or an index array) of every input."""
    return {name: array[index] for name, array in X.items()} if is_multi(X) else X[index]


def cast(X, dtype=np.float32):
    """Every input as ``dtype`` (a dict of dtypes by input name is taken too)."""
    if is_multi(X):
        return {
            name: array.astype(dtype[name] if isinstance(dtype, dict) else dtype, copy=False)
            for name, array in X.items()
        }
    return X.astype(dtype, copy=False)


def shapes(X) -> dict | tuple:
    """The shape of one sample: a tuple, or a dict of tuples by input name."""
    return {name: tuple(a.shape[1:]) for name, a in X.items()} if is_multi(X) else tuple(X.shape[1:])


def check_same_count(arrays: dict, error: type, what: str = "samples") -> None:
    """Raise ``error`` (a ``WorkbenchError`` class) unless every input holds as many rows."""
    counts = {name: len(array) for name, array in arrays.items()}
    if len(set(counts.values())) > 1:
        raise error(
            received=f"inputs with different numbers of {what} ({', '.join(f'{k}: {n}' for k, n in counts.items())})",
            expected=f"The same number of {what} for every input.",
            fix="Take the same rows from every input.",
        )
