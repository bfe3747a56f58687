"""Datasets: the sets that ship with scikit-learn, and the user's own arrays, DataFrames and CSVs.

A :class:`Dataset` holds a deterministic train/test split (stratified for
classification), the feature and class names, and picks representative samples
for calibration from its training split.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import DatasetError, RepresentativeDataError, describe_array

TASKS = ("classification", "regression")
STRATEGIES = ("random", "stratified", "first")

_BUILTIN = {
    "digits": ("load_digits", "classification", "8x8 handwritten digits, 64 pixel features 0-16"),
    "digits_images": ("load_digits", "classification", "the same digits as 8x8x1 images"),
    "iris": ("load_iris", "classification", "3 iris species, 4 measurements"),
    "wine": ("load_wine", "classification", "3 wine cultivars, 13 chemical measurements"),
    "breast_cancer": ("load_breast_cancer", "classification", "benign vs malignant, 30 features"),
    "diabetes": ("load_diabetes", "regression", "disease progression, 10 features"),
}

DATASET_NAMES: tuple[str, ...] = tuple(_BUILTIN)


@dataclass
class Dataset:
    """A supervised dataset with a fixed train/test split.

    Build one with :func:`load_dataset`, :meth:`from_arrays`, :meth:`from_dataframe`
    or :meth:`from_csv`; they all validate their input and split it the same way.
    """

    name: str
    task: str
    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    feature_names: list[str] = field(default_factory=list)
    class_names: list[str] | None = None
    classes: np.ndarray | None = None
    description: str = ""

    # ----------------------------------------------------------------- constructors
    @classmethod
    def from_arrays(
        cls,
        X,
        y,
        *,
        task: str | None = None,
        name: str = "arrays",
        feature_names=None,
        class_names=None,
        test_size: float = 0.25,
        seed: int = 0,
        description: str = "",
        allow_missing: bool = False,
    ) -> Dataset:
        """Split ``X`` and ``y`` into train and test sets.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Numeric features; images keep their shape, e.g. (n, 8, 8, 1).
        y : array-like of shape (n_samples,)
            Class labels or regression targets.
        task : {"classification", "regression"}, default=None
            ``None`` guesses: integer or string labels with few distinct values are
            classification, floats are regression.
        test_size : float, default=0.25
            Fraction held out for evaluation; classification splits are stratified.
        seed : int, default=0
            Seed of the split, so every run sees the same test set.
        allow_missing : bool, default=False
            Accept NaN features (missing values), for models that handle them
            (HistGradientBoosting, pipelines that start with an imputer). By default NaN is
            refused, naming the columns and rows, because most models turn it into NaN
            outputs. Infinite values and values beyond float32's range are always refused.
        """
        _check_split(test_size, seed)
        X = _numeric_features(X, name, feature_names, allow_missing)
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise DatasetError(
                received=f"y as {describe_array(y)}",
                expected="A 1-D target: one label or value per sample.",
                fix="Pass a single target column.",
            )
        if len(y) != len(X):
            raise DatasetError(
                received=f"{len(X)} samples in X and {len(y)} in y",
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
        task = _resolve_task(task, y)
        if task == "regression":
            y = _finite_float(y, "y")
            classes = None
        else:
            classes = np.unique(y)
            if len(classes) < 2:
                raise DatasetError(
                    received=f"a target with {len(classes)} class",
                    expected="At least two classes for classification.",
                    fix="Check the target column, or pass task='regression'.",
                )
        from sklearn.model_selection import train_test_split

        stratify = y if task == "classification" and _can_stratify(y, test_size) else None
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=test_size, random_state=seed, stratify=stratify
        )
        n_features = int(np.prod(X.shape[1:]))
        if feature_names is None:
            feature_names = [f"x{i}" for i in range(n_features)]
        if class_names is None and classes is not None:
            class_names = [str(c) for c in classes]
        return cls(
            name=name,
            task=task,
            X_train=X_train,
            X_test=X_test,
            y_train=y_train,
            y_test=y_test,
            feature_names=list(map(str, feature_names)),
            class_names=None if class_names is None else list(map(str, class_names)),
            classes=classes,
            description=description,
        )

    @classmethod
    def from_dataframe(cls, df: pd.DataFrame, target: str, **kwargs) -> Dataset:
        """Use every column but ``target`` as a feature; ``kwargs`` go to :meth:`from_arrays`."""
        if not isinstance(df, pd.DataFrame):
            raise DatasetError(
                received=f"a {type(df).__name__}",
                expected="A pandas DataFrame.",
                fix="Wrap the data with pandas.DataFrame(...) or use Dataset.from_arrays.",
            )
        if target not in df.columns:
            columns = ", ".join(map(str, df.columns[:20]))
            raise DatasetError(
                received=f"target={target!r}",
                expected=f"A column of the data; it has: {columns}.",
                fix="Pass one of those column names as target.",
            )
        if len(df) == 0:
            raise DatasetError(
                received=f"a table with the columns {', '.join(map(str, df.columns[:10]))} and no rows",
                expected="At least a few rows of data under the header.",
                fix="Check that the file holds data, not only its header row.",
            )
        features = df.drop(columns=[target])
        kwargs.setdefault("name", "dataframe")
        return cls.from_arrays(
            features, df[target].to_numpy(), feature_names=list(features.columns), **kwargs
        )

    @classmethod
    def from_csv(cls, path, target: str, **kwargs) -> Dataset:
        """Read a CSV with a header row; ``target`` names the label column."""
        path = os.fspath(path)
        if os.path.isdir(path):
            raise DatasetError(
                received=f"path {path!r}, which is a directory",
                expected="A CSV file with a header row.",
                fix="Pass the path of the .csv file inside it.",
            )
        if not os.path.isfile(path):
            raise DatasetError(
                received=f"path {path!r}, which does not exist",
                expected="A CSV file with a header row.",
                fix="Check the path.",
            )
        try:
            df = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
            raise DatasetError(
                received=f"{path!r}, which is not a readable CSV ({err})",
                expected="A comma-separated file with a header row.",
                fix="Open the file and check its format.",
            ) from None
        kwargs.setdefault("name", os.path.splitext(os.path.basename(path))[0])
        return cls.from_dataframe(df, target, **kwargs)

    # ------------------------------------------------------------------- properties
    @property
    def feature_shape(self) -> tuple[int, ...]:
        """The shape of one sample, e.g. ``(64,)`` or ``(8, 8, 1)``."""
        return tuple(self.X_train.shape[1:])

    @property
    def n_classes(self) -> int | None:
        return None if self.classes is None else len(self.classes)

    @property
    def metric(self) -> str:
        """The metric the comparison reports: ``accuracy`` or ``r2``."""
        return "accuracy" if self.task == "classification" else "r2"

    def reshaped(self, shape: tuple[int, ...]) -> Dataset:
        """The same data with each sample reshaped, e.g. 64 pixels to (8, 8, 1)."""
        shape = tuple(int(s) for s in shape)
        if int(np.prod(shape)) != int(np.prod(self.feature_shape)):
            raise DatasetError(
                received=f"dataset {self.name!r} with samples of shape {self.feature_shape}",
                expected=f"Samples that can be reshaped to the model's input {shape}.",
                fix="Pick the dataset the model was trained on, or a model made for this dataset.",
            )
        return dataclasses.replace(
            self,
            X_train=self.X_train.reshape((len(self.X_train), *shape)),
            X_test=self.X_test.reshape((len(self.X_test), *shape)),
        )

    def representative(self, n: int = 200, strategy: str = "random", seed: int = 0) -> np.ndarray:
        """Pick ``n`` calibration samples from the training split.

        Parameters
        ----------
        n : int, default=200
            How many samples; capped at the size of the training split.
        strategy : {"random", "stratified", "first"}, default="random"
            ``random`` draws uniformly, ``stratified`` draws each class in its share of
            the training split (regression: across target quantiles), ``first`` takes
            the first ``n`` rows.
        seed : int, default=0
        """
        if strategy not in STRATEGIES:
            raise RepresentativeDataError(
                received=f"strategy={strategy!r}",
                expected=f"One of {', '.join(STRATEGIES)}.",
                fix="Use strategy='random' unless you are studying calibration.",
            )
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise RepresentativeDataError(
                received=f"n={n!r}",
                expected="A positive whole number of samples.",
                fix="Use a few hundred, e.g. n=200.",
            )
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise RepresentativeDataError(
                received=f"seed={seed!r}",
                expected="A whole number 0 or greater.",
                fix="Use seed=0 or any other non-negative whole number.",
            )
        total = len(self.X_train)
        n = min(int(n), total)
        rng = np.random.default_rng(seed)
        if strategy == "first":
            index = np.arange(n)
        elif strategy == "random":
            index = rng.choice(total, size=n, replace=False)
        else:
            index = self._stratified_index(n, rng)
        return self.X_train[np.sort(index)].astype(np.float32)

    def _stratified_index(self, n: int, rng) -> np.ndarray:
        if self.task == "classification":
            groups = self.y_train
        else:
            edges = np.quantile(self.y_train, np.linspace(0, 1, 11)[1:-1])
            groups = np.searchsorted(edges, self.y_train)
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

    def __repr__(self) -> str:
        classes = f", {self.n_classes} classes" if self.n_classes else ""
        return (
            f"Dataset({self.name!r}, {self.task}{classes}, samples {self.feature_shape}, "
            f"train={len(self.X_train)}, test={len(self.X_test)})"
        )


def load_dataset(name: str, *, test_size: float = 0.25, seed: int = 0) -> Dataset:
    """Load one of the datasets that ship with scikit-learn (nothing is downloaded).

    Parameters
    ----------
    name : {"digits", "digits_images", "iris", "wine", "breast_cancer", "diabetes"}
        ``digits_images`` is ``digits`` with each sample shaped (8, 8, 1) for CNNs.
    """
    if isinstance(name, Dataset):
        return name
    if not isinstance(name, str) or name not in _BUILTIN:
        raise DatasetError(
            received=f"name={name!r}",
            expected=f"One of the built-in datasets: {', '.join(DATASET_NAMES)}.",
            fix="Pick one of those, or build your own with Dataset.from_arrays/from_csv.",
        )
    import sklearn.datasets

    loader, task, description = _BUILTIN[name]
    bunch = getattr(sklearn.datasets, loader)()
    X = bunch.data.astype(np.float32)
    if name == "digits_images":
        X = X.reshape(-1, 8, 8, 1)
    class_names = None
    if task == "classification":
        class_names = [str(c) for c in bunch.target_names]
    return Dataset.from_arrays(
        X,
        bunch.target,
        task=task,
        name=name,
        feature_names=bunch.feature_names,
        class_names=class_names,
        test_size=test_size,
        seed=seed,
        description=description,
    )


def validate_representative(samples, feature_shape: tuple[int, ...]) -> np.ndarray:
    """Check calibration samples against the model's input shape; return them as float32."""
    if samples is None:
        raise RepresentativeDataError(
            received="representative=None",
            expected="Calibration samples for a mode that quantizes activations.",
            fix="Pass representative=dataset.representative(200) or a few hundred training rows.",
        )
    if isinstance(samples, Dataset):
        samples = samples.representative()
    if callable(samples):
        samples = _from_generator(samples, feature_shape)
    if isinstance(samples, pd.DataFrame):
        samples = samples.to_numpy()
    try:
        array = np.asarray(samples)
    except (ValueError, TypeError):
        raise RepresentativeDataError(
            received=f"a {type(samples).__name__} that is not an array of numbers",
            expected=f"An array of shape (n, {', '.join(map(str, feature_shape))}).",
            fix="Pass a numpy array of training samples.",
        ) from None
    if array.dtype.kind not in "biuf":
        raise RepresentativeDataError(
            received=f"representative data as {describe_array(array)}",
            expected="Numeric samples (float or integer).",
            fix="Encode text and categories as numbers first, as the model's training data was.",
        )
    if array.ndim == len(feature_shape):
        array = array[None, ...]
    if tuple(array.shape[1:]) != tuple(feature_shape):
        raise RepresentativeDataError(
            received=f"representative data as {describe_array(array)}",
            expected=f"Samples of shape {tuple(feature_shape)} (the model's input without batch).",
            fix="Pass samples from the same data the model was trained on, shaped like its input.",
        )
    if len(array) == 0:
        raise RepresentativeDataError(
            received="an empty representative dataset",
            expected="At least one calibration sample; a few hundred work well.",
            fix="Pass representative=200 or more training rows.",
        )
    array = array.astype(np.float32)
    bad = ~np.isfinite(array)
    if bad.any():
        rows = np.unique(np.nonzero(bad.reshape(len(array), -1))[0])
        raise RepresentativeDataError(
            received=f"representative data with NaN or inf in {len(rows)} sample(s), e.g. row {rows[0]}",
            expected="Finite values only: calibration ranges cannot be computed from NaN or inf.",
            fix="Drop or impute those rows before calibrating.",
        )
    return array


# ----------------------------------------------------------------------- helpers
def _from_generator(generator, feature_shape, limit: int = 10_000) -> np.ndarray:
    """Samples from a TFLite-style representative_dataset function: each item a list
    holding one array of shape (1, *input_shape) (a bare array is taken too)."""
    rows = []
    for i, item in enumerate(generator()):
        if i >= limit:
            break
        if isinstance(item, (list, tuple)) and len(item) == 1:
            item = item[0]
        if isinstance(item, (dict, list, tuple)):
            raise RepresentativeDataError(
                received=f"a representative_dataset whose item {i} is a {type(item).__name__}"
                + (f" of {len(item)} parts" if hasattr(item, "__len__") else ""),
                expected=f"Items that are a list with one array of shape (1, {', '.join(map(str, feature_shape))}), as TFLite's converter takes.",
                fix="Yield [x[None, ...].astype('float32')] for each sample x, or pass the samples as one array.",
            )
        item = np.asarray(item)
        rows.append(item[0] if item.ndim == len(feature_shape) + 1 and len(item) == 1 else item)
    return np.asarray(rows) if rows else np.zeros((0, *feature_shape), np.float32)


def _numeric_features(X, name: str, feature_names=None, allow_missing: bool = False) -> np.ndarray:
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


def _check_split(test_size, seed) -> None:
    if (
        isinstance(test_size, bool)
        or not isinstance(test_size, (int, float, np.integer, np.floating))
        or not (0 < test_size < 1)
    ):
        raise DatasetError(
            received=f"test_size={test_size!r}",
            expected="The fraction of samples held out for testing, a number between 0 and 1.",
            fix="Use test_size=0.25 (the default) or another fraction such as 0.2.",
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DatasetError(
            received=f"seed={seed!r}",
            expected="A whole number 0 or greater.",
            fix="Use seed=0 (the default) or any other non-negative whole number.",
        )


def _finite_float(y, what: str) -> np.ndarray:
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


def _resolve_task(task, y) -> str:
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


def _can_stratify(y, test_size: float) -> bool:
    _, counts = np.unique(y, return_counts=True)
    n_test = int(np.ceil(test_size * len(y)))
    return counts.min() >= 2 and n_test >= len(counts)
