"""Data read from where it lives, into arrays a :class:`workbench.Dataset` is built from.

CSV files (pandas), ``tf.data`` pipelines, folders of images (one per class, through
Keras's own loader) and the datasets that ship with scikit-learn. Each reader refuses
what it cannot read with a :class:`~workbench.errors.DatasetError` that says why; the
checks of the arrays themselves, and the split, are the Dataset's.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ._paths import existing_file
from .errors import DatasetError, refused_by

#: The datasets that ship with scikit-learn: loader, task, description.
BUILTIN = {
    "digits": ("load_digits", "classification", "8x8 handwritten digits, 64 pixel features 0-16"),
    "digits_images": ("load_digits", "classification", "the same digits as 8x8x1 images"),
    "iris": ("load_iris", "classification", "3 iris species, 4 measurements"),
    "wine": ("load_wine", "classification", "3 wine cultivars, 13 chemical measurements"),
    "breast_cancer": ("load_breast_cancer", "classification", "benign vs malignant, 30 features"),
    "diabetes": ("load_diabetes", "regression", "disease progression, 10 features"),
}


def builtin(name: str) -> tuple[np.ndarray, np.ndarray, dict]:
    """A scikit-learn dataset's features, targets, and what else ``Dataset.from_arrays`` takes
    of it (task, names, description). ``name`` is a key of :data:`BUILTIN`."""
    import sklearn.datasets

    loader, task, description = BUILTIN[name]
    bunch = getattr(sklearn.datasets, loader)()
    X = bunch.data.astype(np.float32)
    if name == "digits_images":
        X = X.reshape(-1, 8, 8, 1)
    class_names = [str(c) for c in bunch.target_names] if task == "classification" else None
    about = {
        "task": task,
        "feature_names": bunch.feature_names,
        "class_names": class_names,
        "description": description,
    }
    return X, bunch.target, about


def read_csv(path, **kwargs) -> pd.DataFrame:
    """Read a CSV file with a header row, refusing what is not one with a ``DatasetError``.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    **kwargs
        Passed to ``pandas.read_csv`` (e.g. ``nrows=5`` to read the header and a few rows).

    Returns
    -------
    pandas.DataFrame
    """
    path = existing_file(path, DatasetError, "A CSV file with a header row")
    try:
        return pd.read_csv(path, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DatasetError(
            received=f"{path!r}, which is not a readable CSV ({err})",
            expected="A comma-separated file with a header row.",
            fix="Open the file and check its format.",
        ) from None


def tf_data_arrays(dataset, name: str, max_samples: int | None, progress: bool):
    """The features and labels of a ``tf.data.Dataset`` of ``(x, y)`` pairs, batched or not,
    at most ``max_samples`` of them."""
    if not hasattr(dataset, "as_numpy_iterator") or not hasattr(dataset, "element_spec"):
        raise DatasetError(
            received=f"a {type(dataset).__name__}",
            expected="A tf.data.Dataset of (features, label) pairs.",
            fix="Build one with tf.data.Dataset.from_tensor_slices((X, y)), or use Dataset.from_arrays.",
        )
    spec = dataset.element_spec
    if not (isinstance(spec, tuple) and len(spec) == 2):
        raise DatasetError(
            received=f"a tf.data.Dataset whose elements are {_describe_spec(spec)}",
            expected="Elements (features, label): labels are what accuracy is measured against.",
            fix="Map it to pairs, e.g. ds.map(lambda x: (x, label_of(x))), or zip it with its labels.",
        )
    batched = spec[0].shape.rank is not None and spec[0].shape.rank > 0 and spec[0].shape[0] is None
    features, labels, count = [], [], 0
    bar = _progress_bar(progress, f"reading {name}", max_samples)
    for x, y in dataset.as_numpy_iterator():
        x, y = (np.asarray(x), np.asarray(y)) if batched else (np.asarray(x)[None], np.asarray(y)[None])
        if max_samples is not None:
            x, y = x[: max_samples - count], y[: max_samples - count]
        features.append(x)
        labels.append(y)
        count += len(x)
        bar.update(len(x))
        if max_samples is not None and count >= max_samples:
            break
    bar.close()
    if not features:
        raise DatasetError(
            received="an empty tf.data.Dataset",
            expected="At least a few (features, label) pairs.",
            fix="Check the pipeline that builds the dataset (filters, take(), file patterns).",
        )
    return np.concatenate(features), np.concatenate(labels)


def image_folders(path, image_size, color_mode: str):
    """Images in one folder per class, as Keras's ``image_dataset_from_directory`` reads them
    (labels in the folders' sorted order): the ``tf.data.Dataset`` and the class names."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise DatasetError(
            received=f"path {path!r}, which is not a directory",
            expected="A folder with one sub-folder of images per class.",
            fix="Pass the folder that holds the class folders.",
        )
    classes = sorted(d for d in os.listdir(path) if os.path.isdir(os.path.join(path, d)))
    if len(classes) < 2:
        raise DatasetError(
            received=f"{path!r} with {len(classes)} class folder(s) {classes}",
            expected="At least two sub-folders, one per class, each holding that class's images.",
            fix="Put each class's images in a folder of its own under the path.",
        )
    from ._native import captured_output, import_tensorflow

    import_tensorflow()
    import keras

    try:
        with captured_output():
            images = keras.utils.image_dataset_from_directory(
                path,
                labels="inferred",
                label_mode="int",
                class_names=classes,
                color_mode=color_mode,
                image_size=tuple(image_size),
                batch_size=64,
                shuffle=False,
            )
    except ValueError as err:
        expected = "Image files (jpeg, png, bmp, gif) in each class folder."
        fix = "Check that every class folder holds images in one of those formats."
        raise refused_by(
            "Keras's image loader", repr(path), err, expected=expected, fix=fix, error=DatasetError
        ) from None
    return images, classes


def _describe_spec(spec) -> str:
    if isinstance(spec, dict):
        return f"dicts of {', '.join(map(str, spec))}"
    if isinstance(spec, tuple):
        return f"tuples of {len(spec)}"
    return f"single tensors of shape {getattr(spec, 'shape', '?')}"


def _progress_bar(enabled: bool, description: str, total):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, unit=" samples", disable=not enabled, leave=False)
