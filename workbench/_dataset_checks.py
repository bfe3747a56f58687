"""The user's own data checked before it becomes a :class:`workbench.Dataset`.

Features must be numeric, finite and fit in float32 (NaN only when allowed), one row per
sample, in one array or one per model input; targets one per sample with none missing, and
the task (classification or regression) guessed or checked. Each refusal is a
:class:`~workbench.errors.DatasetError` that names the columns and rows at fault.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from . import _inputs as inputs
from .errors import DatasetError, describe_array

TASKS = ("classification", "regression")


class Checked(NamedTuple):
    """What :func:`features_and_targets` hands back."""

    X: np.ndarray | dict
    y: np.ndarray
    task: str
    #: The distinct labels, ``None`` for regression.
    classes: np.ndarray | None
    #: Whether ``y`` is ``X`` itself (an autoencoder's target).
    reconstruction: bool


def features_and_targets(
    X, y, task, name: str, feature_names, allow_missing: bool, reconstruction
) -> Checked:
    """``X`` and ``y`` checked: float32 features, targets, the task and the classes."""
    if y is None:
        if not reconstruction:
            raise DatasetError(
                received="no y",
                expected="Labels or targets, one per sample; or reconstruction=True for an autoencoder.",
                fix="Pass y, or Dataset.from_arrays(X, reconstruction=True) to score reconstructions of X.",
            )
        y = X
    if reconstruction is None:
        reconstruction = y is X
    y_is_x = y is X
    if several_inputs(X):
        X = numeric_inputs(X, name, allow_missing)
    else:
        X = numeric_features(X, name, feature_names, allow_missing)
    y = np.asarray(y)
    if y_is_x and not inputs.is_multi(X):
        y = X
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim > 1:
        if task == "classification" or y.dtype.kind not in "biuf":
            raise DatasetError(
                received=f"y as {describe_array(y)}" + (" with task='classification'" if task else ""),
                expected="A 1-D target of class labels, or numeric values of any per-sample shape (regression).",
                fix="Pass one label per sample for classification, or task='regression' for several values.",
            )
        task = "regression"
    if len(y) != inputs.count(X):
        raise DatasetError(
            received=f"{inputs.count(X)} samples in X and {len(y)} in y",
            expected="One target per sample.",
            fix="Check that X and y come from the same rows.",
        )
    missing = np.flatnonzero(pd.isna(y))
    if len(missing):
        raise DatasetError(
            received=f"{len(missing)} missing (NaN or None) target(s), e.g. in row {missing[0]}",
            expected="A label or value for every sample: a missing label would become a class of its own.",
            fix="Drop the rows without a target before building the dataset.",
        )
    task = resolve_task(task, y)
    if task == "regression":
        return Checked(X, finite_float(y, "y"), task, None, bool(reconstruction))
    classes = np.unique(y)
    if len(classes) < 2:
        raise DatasetError(
            received=f"a target with {len(classes)} class",
            expected="At least two classes for classification.",
            fix="Check the target column, or pass task='regression'.",
        )
    return Checked(X, y, task, classes, bool(reconstruction))


def several_inputs(X) -> bool:
    """A dict of arrays, or a tuple of arrays: one per input of a model with several."""
    if isinstance(X, dict):
        return True
    return isinstance(X, tuple) and len(X) > 1 and all(isinstance(a, np.ndarray) and a.ndim >= 1 for a in X)


def numeric_inputs(X, name: str, allow_missing: bool) -> dict[str, np.ndarray]:
    named = dict(X) if isinstance(X, dict) else {f"input_{i}": a for i, a in enumerate(X)}
    arrays = {
        str(key): numeric_features(value, f"{name}[{key}]", None, allow_missing)
        for key, value in named.items()
    }
    counts = {key: len(a) for key, a in arrays.items()}
    if len(set(counts.values())) != 1:
        raise DatasetError(
            received=f"inputs with different numbers of samples: {counts}",
            expected="The same samples in every input: one row per sample in each array.",
            fix="Check that the arrays come from the same rows.",
        )
    return arrays


def numeric_features(X, name: str, feature_names=None, allow_missing: bool = False) -> np.ndarray:
    if isinstance(X, pd.DataFrame):
        non_numeric = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
        if non_numeric:
            raise DatasetError(
                received=f"non-numeric feature columns {non_numeric[:5]}",
                expected="Numeric features.",
                fix="Encode those columns as numbers, or drop them.",
            )
        feature_names = list(X.columns) if feature_names is None else feature_names
        X = X.to_numpy()
    X = np.asarray(X)
    if X.ndim == 0 or len(X) == 0:
        raise DatasetError(
            received=f"an empty dataset ({name})",
            expected="At least a few samples to split into train and test.",
            fix="Check the file or arrays you passed.",
        )
    if X.ndim == 1:
        X = X[:, None]
    if X.dtype.kind not in "biuf":
        raise DatasetError(
            received=f"features as {describe_array(X)}",
            expected="Numeric features (float or integer).",
            fix="Encode text and categories as numbers first.",
        )
    if len(X) < 4:
        raise DatasetError(
            received=f"{len(X)} samples",
            expected="At least 4 samples to split into train and test.",
            fix="Use more data.",
        )
    with np.errstate(over="ignore", invalid="ignore"):
        X32 = X.astype(np.float32)
    _check_finite(X, X32, feature_names, allow_missing)
    return X32


def _check_finite(X, X32, feature_names, allow_missing: bool) -> None:
    """Refuse NaN (unless allowed), inf, and values that overflow float32, naming where."""
    flat, flat32 = X.reshape(len(X), -1), X32.reshape(len(X32), -1)
    missing = np.isnan(flat) if flat.dtype.kind == "f" else np.zeros(flat.shape, bool)
    infinite = ~np.isfinite(flat32) & ~missing
    names = list(feature_names) if feature_names is not None else [f"x{i}" for i in range(flat.shape[1])]

    def where(mask) -> str:
        rows = np.unique(np.nonzero(mask)[0])
        columns = [str(names[c]) if c < len(names) else f"x{c}" for c in np.unique(np.nonzero(mask)[1])]
        shown = ", ".join(map(str, rows[:5])) + (" ..." if len(rows) > 5 else "")
        return f"column(s) {', '.join(columns[:8])}{' ...' if len(columns) > 8 else ''}, row(s) {shown}"

    if infinite.any():
        overflow = np.isfinite(flat) & infinite if flat.dtype.kind == "f" else infinite
        what = "values beyond float32's range (about 3.4e38)" if overflow.any() else "infinite values"
        raise DatasetError(
            received=f"{what} in {where(infinite)}",
            expected="Finite features that fit in float32, as TFLite models compute in float32.",
            fix="Clip or rescale those columns, or drop those rows.",
        )
    if missing.any() and not allow_missing:
        raise DatasetError(
            received=f"{int(missing.sum())} NaN (missing) value(s) in {where(missing)}",
            expected="Features without missing values (most models turn NaN into NaN outputs).",
            fix=(
                "Impute or drop them, or pass allow_missing=True for a model that handles missing "
                "values itself (HistGradientBoosting, or a pipeline that starts with SimpleImputer)."
            ),
        )


def anomaly_labels(labels, n: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != n:
        raise DatasetError(
            received=f"anomaly_labels as {describe_array(labels)}",
            expected=f"One label per sample: {n} values, 1 (or True) for an anomaly and 0 for normal.",
            fix="Pass the labels of the same rows as X, in the same order.",
        )
    values = set(np.unique(labels).tolist())
    if not values <= {0, 1}:  # True and False are 1 and 0
        raise DatasetError(
            received=f"anomaly_labels with the values {sorted(map(str, values))[:6]}",
            expected="0 (normal) or 1 (anomaly) for each sample.",
            fix="Map the labels to 0 and 1, e.g. anomaly_labels=(labels == 'abnormal').",
        )
    return labels.astype(bool)


def finite_float(y, what: str) -> np.ndarray:
    try:
        y = y.astype(np.float64)
    except (TypeError, ValueError):
        raise DatasetError(
            received=f"a non-numeric {what}",
            expected="Numeric regression targets.",
            fix="Pass task='classification' for labels.",
        ) from None
    if not np.isfinite(y).all():
        raise DatasetError(
            received=f"{what} with NaN or inf",
            expected="Finite targets.",
            fix="Drop those rows.",
        )
    return y


def resolve_task(task, y) -> str:
    if task is None:
        few = len(np.unique(y)) <= max(20, int(0.05 * len(y)))
        task = "classification" if (y.dtype.kind in "biuOSU" and few) else "regression"
    if task not in TASKS:
        raise DatasetError(
            received=f"task={task!r}",
            expected=f"One of {', '.join(TASKS)}.",
            fix="Pass task='classification' or task='regression'.",
        )
    return task
