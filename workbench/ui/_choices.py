"""What the workbench offers to pick from: models and datasets passed in, found among a
notebook's variables, or uploaded as files. The controller keeps the lists; these turn each
kind of thing into an entry, or say why it cannot be one.
"""

from __future__ import annotations

import os

from .._csv_header import csv_columns
from ..datasets import Dataset
from ..errors import DatasetError, ModelLoadError
from ..sources import module_root

MODEL_UPLOADS = (".keras", ".skops", ".tflite")


def models_in(namespace: dict) -> dict[str, object]:
    """The Keras models and fitted scikit-learn estimators among a notebook's variables."""
    found = {}
    for name, value in list(namespace.items()):
        if name.startswith("_") or isinstance(value, type):
            continue
        root = module_root(value)
        keras = root in ("keras", "tf_keras") and hasattr(value, "inputs")
        if keras or (root == "sklearn" and hasattr(value, "fit") and _is_fitted(value)):
            found[name] = value
    return found


def as_dataset(name: str, data) -> Dataset:
    """A Dataset, a DataFrame (its last column is the target), an (X, y) pair or a
    ``tf.data.Dataset`` of (x, y) pairs, as a :class:`~workbench.Dataset` named ``name``."""
    import pandas as pd

    if isinstance(data, Dataset):
        return data
    if isinstance(data, pd.DataFrame):
        return Dataset.from_dataframe(data, target=data.columns[-1], name=name)
    if isinstance(data, tuple) and len(data) == 2:
        return Dataset.from_arrays(data[0], data[1], name=name)
    if hasattr(data, "as_numpy_iterator") and hasattr(data, "element_spec"):
        return Dataset.from_tf_data(data, name=name, progress=False)
    raise DatasetError(
        received=f"dataset {name!r} of type {type(data).__name__}",
        expected=(
            "A Dataset, a pandas DataFrame (last column = target), an (X, y) pair or a "
            "tf.data.Dataset of (x, y) pairs."
        ),
        fix="Wrap it with Dataset.from_arrays(X, y) or Dataset.from_dataframe(df, target=...).",
    )


def save_upload(directory: str, filename: str, content: bytes) -> str:
    """Write an uploaded model (.keras, .skops, .tflite) or CSV into ``directory``; its path."""
    base = os.path.basename(filename)
    if os.path.splitext(base)[1].lower() not in (*MODEL_UPLOADS, ".csv"):
        raise ModelLoadError(
            received=f"an upload named {base!r}",
            expected="A .keras, .skops or .tflite model, or a .csv dataset.",
            fix="Save the model or data in one of those formats.",
        )
    path = os.path.join(directory, base)
    with open(path, "wb") as handle:
        handle.write(bytes(content))
    return path


def pending_csv(path: str) -> dict:
    """An uploaded CSV waiting for its target column: its name, path and columns."""
    base = os.path.basename(path)
    columns = csv_columns(path, repr(base), "Check the file's format.")
    return {"name": base, "path": path, "columns": columns}


def _is_fitted(estimator) -> bool:
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(estimator)
    except (NotFittedError, TypeError):
        return False
    return True
