"""The one Pareto front: rows no other row beats on every objective at once."""

from __future__ import annotations

import numpy as np
import pandas as pd


def pareto_front(table: pd.DataFrame, objectives: dict[str, str], label: str = "variant") -> list[str]:
    """The ``label`` of every row that no other row dominates.

    A row is dominated when another is at least as good on every objective and strictly
    better on one. Rows with a missing objective take no part.

    Parameters
    ----------
    table : DataFrame
        The candidates, one per row.
    objectives : dict of str to {"min", "max"}
        Each column compared, and which way is better.
    label : str, default="variant"
        The column that names the rows.
    """
    values = table[list(objectives)].to_numpy(dtype=float)
    # Every objective turned into one to minimise.
    values = values * np.array([-1.0 if way == "max" else 1.0 for way in objectives.values()])
    usable = np.isfinite(values).all(axis=1)
    names = table[label].to_numpy()[usable]
    values = values[usable]
    front = []
    for i, row in enumerate(values):
        no_worse = (values <= row).all(axis=1)
        better = (values < row).any(axis=1)
        if not (no_worse & better).any():
            front.append(names[i])
    return front
