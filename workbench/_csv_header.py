"""A CSV's column names, read from its header alone, with one clear error when pandas cannot.

The command line checks ``--label`` against them before any model loads, and the widget
offers them as the target column of an uploaded CSV.
"""

from __future__ import annotations

from .errors import DatasetError


def csv_columns(path, named: str, fix: str) -> list[str]:
    """The column names in the first line of the CSV at ``path``.

    Parameters
    ----------
    path : str or path-like
        The file, already known to exist.
    named : str
        How the error names the file (``"--dataset 'x.csv'"``, ``"'x.csv'"``).
    fix : str
        What the error tells the user to do.

    Raises
    ------
    DatasetError
        When pandas cannot read the file as CSV (empty, not text, not a table).
    """
    import pandas as pd

    try:
        return [str(c) for c in pd.read_csv(path, nrows=0).columns]
    except (ValueError, OSError, UnicodeDecodeError) as err:  # pandas' parse errors are ValueErrors
        raise DatasetError(
            received=f"{named}, which is not a readable CSV ({err})",
            expected="A comma-separated file with a header row.",
            fix=fix,
        ) from None
