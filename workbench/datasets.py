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

from . import _inputs as inputs
from .errors import DataMismatchError, DatasetError, RepresentativeDataError, describe_array

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
    #: True when the targets are the inputs themselves (an autoencoder reconstructs them).
    reconstruction: bool = False
    #: For each test sample, whether it is an anomaly (``anomaly_labels=``): ROC AUC per variant.
    anomaly_test: np.ndarray | None = None

    # ----------------------------------------------------------------- constructors
    @classmethod
    def from_arrays(
        cls,
        X,
        y=None,
        *,
        task: str | None = None,
        name: str = "arrays",
        feature_names=None,
        class_names=None,
        test_size: float = 0.25,
        seed: int = 0,
        description: str = "",
        allow_missing: bool = False,
        reconstruction: bool | None = None,
        anomaly_labels=None,
    ) -> Dataset:
        """Split ``X`` and ``y`` into train and test sets.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Numeric features; images keep their shape, e.g. (n, 8, 8, 1).
        y : array-like of shape (n_samples,) or (n_samples, ...)
            Class labels or regression targets; several values per sample (``(n, k)``,
            ``(n, h, w, c)``) are a regression scored by mean squared error, and ``y`` the
            same as ``X`` is an autoencoder's reconstruction target.
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
        reconstruction : bool, default=None
            The targets are the inputs (an autoencoder): with ``True``, ``y`` may be left out;
            ``None`` says so when ``y`` is ``X``.
        anomaly_labels : array-like of shape (n_samples,), default=None
            Whether each sample is an anomaly (1) or normal (0); an anomaly detector is then
            also scored by the ROC AUC of its per-sample reconstruction error.
        """
        _check_split(test_size, seed)
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
        if _several_inputs(X):
            X = _numeric_inputs(X, name, allow_missing)
        else:
            X = _numeric_features(X, name, feature_names, allow_missing)
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
        train, test = train_test_split(
            np.arange(len(y)), test_size=test_size, random_state=seed, stratify=stratify
        )
        X_train, X_test, y_train, y_test = inputs.take(X, train), inputs.take(X, test), y[train], y[test]
        anomaly_test = None
        if anomaly_labels is not None:
            anomaly_test = _anomaly_labels(anomaly_labels, len(y))[test]
        if feature_names is None:
            if inputs.is_multi(X):
                feature_names = [
                    f"{key}[{i}]" for key, a in X.items() for i in range(int(np.prod(a.shape[1:])))
                ]
            else:
                feature_names = [f"x{i}" for i in range(int(np.prod(X.shape[1:])))]
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
            reconstruction=bool(reconstruction),
            anomaly_test=anomaly_test,
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

    @classmethod
    def from_tf_data(
        cls,
        dataset,
        *,
        name: str = "tf.data",
        max_samples: int | None = None,
        progress: bool = True,
        **kwargs,
    ) -> Dataset:
        """Read a ``tf.data.Dataset`` of ``(x, y)`` pairs, batched or element by element.

        Parameters
        ----------
        dataset : tf.data.Dataset
            Elements ``(features, label)``; a dataset of features alone is refused (it has no
            labels to measure accuracy with).
        max_samples : int, default=None
            Stop after this many samples (big or endless datasets).
        progress : bool, default=True
            A progress bar on stderr while the samples are read.
        **kwargs
            As for :meth:`from_arrays` (``task``, ``test_size``, ``seed``, ``allow_missing``...).
        """
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
        if max_samples is not None:
            whole = isinstance(max_samples, (int, np.integer)) and not isinstance(max_samples, bool)
            if not whole or max_samples < 4:
                raise DatasetError(
                    received=f"max_samples={max_samples!r}",
                    expected="A whole number of samples, 4 or more, or None for all of them.",
                    fix="Pass e.g. max_samples=5000.",
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
        return cls.from_arrays(np.concatenate(features), np.concatenate(labels), name=name, **kwargs)

    @classmethod
    def from_directory(
        cls,
        path,
        *,
        image_size: tuple[int, int],
        color_mode: str = "rgb",
        name: str | None = None,
        max_samples: int | None = None,
        progress: bool = True,
        **kwargs,
    ) -> Dataset:
        """Images in one folder per class, read with Keras's own loader
        (``keras.utils.image_dataset_from_directory``), labels in the folders' sorted order.

        Parameters
        ----------
        path : str or Path
            A folder holding one sub-folder of images per class.
        image_size : (height, width)
            What every image is resized to: the model's input size.
        color_mode : {"rgb", "grayscale", "rgba"}, default="rgb"
        **kwargs
            As for :meth:`from_arrays`; ``max_samples`` and ``progress`` as for :meth:`from_tf_data`.
        """
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
            raise DatasetError(
                received=f"{path!r}, which Keras's image loader refuses ({err})",
                expected="Image files (jpeg, png, bmp, gif) in each class folder.",
                fix="Check that every class folder holds images in one of those formats.",
            ) from None
        return cls.from_tf_data(
            images,
            name=name or os.path.basename(os.path.normpath(path)),
            class_names=classes,
            max_samples=max_samples,
            progress=progress,
            task="classification",
            **kwargs,
        )

    # ------------------------------------------------------------------- properties
    @property
    def feature_shape(self) -> tuple[int, ...] | dict[str, tuple[int, ...]]:
        """The shape of one sample, e.g. ``(64,)`` or ``(8, 8, 1)``; for several inputs a dict
        of shapes by input name."""
        return inputs.shapes(self.X_train)

    def bind_inputs(self, names, shapes) -> Dataset:
        """The same data with its inputs named as a model's: by name, or in order where the
        dataset was given a tuple (``input_0``, ``input_1``, ...). Says which input does not fit."""
        names = list(names)
        if not inputs.is_multi(self.X_train):
            raise DataMismatchError(
                received=f"dataset {self.name!r} with one input of shape {self.feature_shape}",
                expected=f"One array per model input: {', '.join(names)}.",
                fix="Build the dataset with Dataset.from_arrays({name: array, ...}, y) or a tuple in the model's input order.",
            )
        keys = list(self.X_train)
        if len(keys) != len(names):
            raise DataMismatchError(
                received=f"dataset {self.name!r} with {len(keys)} inputs ({', '.join(keys)})",
                expected=f"The model's {len(names)} inputs: {', '.join(names)}.",
                fix="Give one array per model input.",
            )
        if set(keys) == set(names):
            mapping = {name: name for name in names}
        elif keys == [f"input_{i}" for i in range(len(names))]:
            mapping = dict(zip(names, keys, strict=True))  # a tuple: in the model's input order
        else:
            unknown = sorted(set(keys) - set(names))
            raise DataMismatchError(
                received=f"dataset inputs named {', '.join(keys)} ({', '.join(unknown)} not in the model)",
                expected=f"The model's input names: {', '.join(names)}.",
                fix="Name the arrays as the model's inputs, or pass them as a tuple in the model's input order.",
            )
        for name in names:
            got = tuple(self.X_train[mapping[name]].shape[1:])
            if got != tuple(shapes[name]):
                raise DataMismatchError(
                    received=f"input {name!r} with samples of shape {got}",
                    expected=f"Samples of shape {tuple(shapes[name])} for the model's input {name!r}.",
                    fix="Check which array goes to which input.",
                )
        return dataclasses.replace(
            self,
            X_train={name: self.X_train[mapping[name]] for name in names},
            X_test={name: self.X_test[mapping[name]] for name in names},
        )

    @property
    def n_classes(self) -> int | None:
        return None if self.classes is None else len(self.classes)

    @property
    def target_shape(self) -> tuple[int, ...]:
        """The shape of one sample's target: ``()`` for a label or a single value."""
        return tuple(self.y_test.shape[1:])

    @property
    def multi_value(self) -> bool:
        """Several values per sample (a regression scored by mean squared error)."""
        return self.task == "regression" and int(np.prod(self.target_shape)) > 1

    @property
    def metric(self) -> str:
        """The metric the comparison reports: ``accuracy``, ``r2``, or ``mse`` for several
        values per sample (lower is better; see :attr:`higher_is_better`)."""
        if self.task == "classification":
            return "accuracy"
        return "mse" if self.multi_value else "r2"

    @property
    def higher_is_better(self) -> bool:
        return self.metric != "mse"

    def test_only(self) -> Dataset:
        """The same dataset without its training split: what scoring needs, small to send."""
        return dataclasses.replace(
            self, X_train=inputs.take(self.X_train, slice(0, 0)), y_train=self.y_train[:0]
        )

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
        total = inputs.count(self.X_train)
        n = min(int(n), total)
        rng = np.random.default_rng(seed)
        if strategy == "first":
            index = np.arange(n)
        elif strategy == "random":
            index = rng.choice(total, size=n, replace=False)
        else:
            index = self._stratified_index(n, rng)
        return inputs.cast(inputs.take(self.X_train, np.sort(index)))

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
            f"train={inputs.count(self.X_train)}, test={inputs.count(self.X_test)})"
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
    """Check calibration samples against the model's input shape; return them as float32.
    For a model with several inputs (``feature_shape`` a dict), a dict of arrays by input name."""
    if isinstance(feature_shape, dict):
        return _validate_several(samples, feature_shape)
    if samples is None:
        raise RepresentativeDataError(
            received="representative=None",
            expected="Calibration samples for a mode that quantizes activations.",
            fix="Pass representative=dataset.representative(200) or a few hundred training rows.",
        )
    if isinstance(samples, Dataset):
        samples = samples.representative()
    if hasattr(samples, "as_numpy_iterator") and hasattr(samples, "element_spec"):
        samples = _from_tf_data(samples, feature_shape)
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


def _validate_several(samples, feature_shapes: dict) -> dict[str, np.ndarray]:
    if isinstance(samples, Dataset):
        samples = samples.bind_inputs(list(feature_shapes), feature_shapes).representative()
    if isinstance(samples, tuple) and len(samples) == len(feature_shapes):
        samples = dict(zip(feature_shapes, samples, strict=True))
    if not isinstance(samples, dict) or set(samples) != set(feature_shapes):
        got = sorted(samples) if isinstance(samples, dict) else type(samples).__name__
        raise RepresentativeDataError(
            received=f"representative data {got}",
            expected=f"A dict of samples by input name: {', '.join(feature_shapes)} (or a tuple in that order).",
            fix="Pass e.g. {name: training_rows[name][:200] for each input}, or a Dataset with those inputs.",
        )
    checked = {name: validate_representative(samples[name], shape) for name, shape in feature_shapes.items()}
    if len({len(a) for a in checked.values()}) != 1:
        raise RepresentativeDataError(
            received=f"inputs with {', '.join(f'{k}: {len(a)}' for k, a in checked.items())} samples",
            expected="The same number of calibration samples for every input.",
            fix="Take the same rows from every input.",
        )
    return checked


# ----------------------------------------------------------------------- helpers
def _describe_spec(spec) -> str:
    if isinstance(spec, dict):
        return f"dicts of {', '.join(map(str, spec))}"
    if isinstance(spec, tuple):
        return f"tuples of {len(spec)}"
    return f"single tensors of shape {getattr(spec, 'shape', '?')}"


def _progress_bar(enabled: bool, description: str, total):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, unit=" samples", disable=not enabled, leave=False)


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


def _from_tf_data(dataset, feature_shape, limit: int = 10_000) -> np.ndarray:
    """Calibration samples from a tf.data.Dataset of features, or of (features, label) pairs,
    batched or not (at most ``limit`` samples)."""
    rows, count = [], 0
    for element in dataset.as_numpy_iterator():
        x = np.asarray(element[0] if isinstance(element, tuple) else element)
        x = x if x.ndim == len(feature_shape) + 1 else x[None]
        rows.append(x)
        count += len(x)
        if count >= limit:
            break
    return np.concatenate(rows)[:limit] if rows else np.zeros((0, *feature_shape), np.float32)


def _several_inputs(X) -> bool:
    """A dict of arrays, or a tuple of arrays: one per input of a model with several."""
    if isinstance(X, dict):
        return True
    return isinstance(X, tuple) and len(X) > 1 and all(isinstance(a, np.ndarray) and a.ndim >= 1 for a in X)


def _numeric_inputs(X, name: str, allow_missing: bool) -> dict[str, np.ndarray]:
    named = dict(X) if isinstance(X, dict) else {f"input_{i}": a for i, a in enumerate(X)}
    arrays = {
        str(key): _numeric_features(value, f"{name}[{key}]", None, allow_missing)
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


def _anomaly_labels(labels, n: int) -> np.ndarray:
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
