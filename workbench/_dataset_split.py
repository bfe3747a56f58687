"""Which rows a :class:`workbench.Dataset` holds out, and which it lends for calibration.

The train/test split is deterministic (a seed) and stratified for classification where every
class can be; calibration samples are drawn from the training split only, at random,
stratified (each class, or each decile of a regression target, in its share) or the first
rows.
"""

from __future__ import annotations

import numpy as np

#: How :meth:`workbench.Dataset.representative` picks its samples.
STRATEGIES = ("random", "stratified", "first")


def split(y: np.ndarray, task: str, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The indices of the train and test rows."""
    from sklearn.model_selection import train_test_split

    stratify = y if task == "classification" and _can_stratify(y, test_size) else None
    return train_test_split(np.arange(len(y)), test_size=test_size, random_state=seed, stratify=stratify)


def _can_stratify(y, test_size: float) -> bool:
    _, counts = np.unique(y, return_counts=True)
    n_test = int(np.ceil(test_size * len(y)))
    return counts.min() >= 2 and n_test >= len(counts)


def sample_index(strategy: str, n: int, y_train: np.ndarray, task: str, seed: int) -> np.ndarray:
    """The sorted indices of ``n`` training rows (``n`` at most the training split's size)."""
    rng = np.random.default_rng(seed)
    if strategy == "first":
        index = np.arange(n)
    elif strategy == "random":
        index = rng.choice(len(y_train), size=n, replace=False)
    else:
        index = _stratified_index(n, y_train, task, rng)
    return np.sort(index)


def _stratified_index(n: int, y_train: np.ndarray, task: str, rng) -> np.ndarray:
    if task == "classification":
        groups = y_train
    else:
        edges = np.quantile(y_train, np.linspace(0, 1, 11)[1:-1])
        groups = np.searchsorted(edges, y_train)
    values, counts = np.unique(groups, return_counts=True)
    quotas = np.floor(counts / counts.sum() * n).astype(int)
    # Hand out what the flooring left over, largest remainders first.
    remainder = n - quotas.sum()
    order = np.argsort(-(counts / counts.sum() * n - quotas))
    quotas[order[:remainder]] += 1
    picked = [
        rng.choice(np.flatnonzero(groups == value), size=min(q, c), replace=False)
        for value, q, c in zip(values, quotas, counts, strict=True)
    ]
    return np.concatenate(picked)
