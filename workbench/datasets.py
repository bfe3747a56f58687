"""Datasets: the sets that ship with scikit-learn, and the user's own arrays, DataFrames and CSVs.

A :class:`Dataset` holds a deterministic train/test split (stratified for
classification), the feature and class names, and picks representative samples
for calibration from its training split. This module is the Dataset and its public
helpers; the pieces behind them are private modules: reading files, pipelines and
scikit-learn's bundles (``_dataset_readers``), checking the user's arrays
(``_dataset_checks``), the split and the sampling (``_dataset_split``), and checking
calibration samples against a model's inputs (``_representative``).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import _inputs as inputs
from ._args import Interval, Options, WholeNumber, checked
from ._dataset_checks import TASKS, features_and_targets
from ._dataset_checks import anomaly_labels as anomaly_labels_of
from ._dataset_readers import BUILTIN, builtin, image_folders, read_csv, tf_data_arrays
from ._dataset_split import STRATEGIES, sample_index, split
from ._representative import checked_samples
from .errors import DataMismatchError, DatasetError, RepresentativeDataError

__all__ = [
    "DATASET_NAMES",
    "STRATEGIES",
    "TASKS",
    "Dataset",
    "load_dataset",
    "read_csv",
    "validate_representative",
]

DATASET_NAMES: tuple[str, ...] = tuple(BUILTIN)
#: The name this module gave the table of scikit-learn's datasets before the split.
_BUILTIN = BUILTIN


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
    @checked(
        error=DatasetError,
        test_size=Interval(
            0,
            1,
            expected="The fraction of samples held out for testing, a number between 0 and 1.",
            fix="Use test_size=0.25 (the default) or another fraction such as 0.2.",
        ),
        seed=WholeNumber(
            0,
            expected="A whole number 0 or greater.",
            fix="Use seed=0 (the default) or any other non-negative whole number.",
        ),
    )
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
        X, y, task, classes, reconstruction = features_and_targets(
            X, y, task, name, feature_names, allow_missing, reconstruction
        )
        train, test = split(y, task, test_size, seed)
        X_train, X_test, y_train, y_test = inputs.take(X, train), inputs.take(X, test), y[train], y[test]
        anomaly_test = None
        if anomaly_labels is not None:
            anomaly_test = anomaly_labels_of(anomaly_labels, len(y))[test]
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
            reconstruction=reconstruction,
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
        df = read_csv(path)
        kwargs.setdefault("name", os.path.splitext(os.path.basename(os.fspath(path)))[0])
        return cls.from_dataframe(df, target, **kwargs)

    @classmethod
    @checked(
        error=DatasetError,
        max_samples=WholeNumber(
            4,
            expected="A whole number of samples, 4 or more, or None for all of them.",
            fix="Pass e.g. max_samples=5000.",
            allow_none=True,
        ),
    )
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
        X, y = tf_data_arrays(dataset, name, max_samples, progress)
        return cls.from_arrays(X, y, name=name, **kwargs)

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
        images, classes = image_folders(path, image_size, color_mode)
        return cls.from_tf_data(
            images,
            name=name or os.path.basename(os.path.normpath(os.fspath(path))),
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

    @checked(
        error=RepresentativeDataError,
        strategy=Options(
            STRATEGIES,
            expected=f"One of {', '.join(STRATEGIES)}.",
            fix="Use strategy='random' unless you are studying calibration.",
        ),
        n=WholeNumber(
            1, expected="A positive whole number of samples.", fix="Use a few hundred, e.g. n=200."
        ),
        seed=WholeNumber(
            0,
            expected="A whole number 0 or greater.",
            fix="Use seed=0 or any other non-negative whole number.",
        ),
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
        n = min(int(n), inputs.count(self.X_train))
        index = sample_index(strategy, n, self.y_train, self.task, seed)
        return inputs.cast(inputs.take(self.X_train, index))

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
    if not isinstance(name, str) or name not in BUILTIN:
        raise DatasetError(
            received=f"name={name!r}",
            expected=f"One of the built-in datasets: {', '.join(DATASET_NAMES)}.",
            fix="Pick one of those, or build your own with Dataset.from_arrays/from_csv.",
        )
    X, y, about = builtin(name)
    return Dataset.from_arrays(X, y, name=name, test_size=test_size, seed=seed, **about)


def validate_representative(samples, feature_shape: tuple[int, ...] | dict) -> np.ndarray | dict:
    """Check calibration samples against the model's input shape; return them as float32.
    For a model with several inputs (``feature_shape`` a dict), a dict of arrays by input name.

    Parameters
    ----------
    samples : Dataset, array-like, DataFrame, tf.data.Dataset or callable
        A Dataset lends :meth:`Dataset.representative` (its inputs named as the model's);
        a callable is TFLite's ``representative_dataset`` function.
    feature_shape : tuple of int, or dict of str to tuple of int
        The model's input shape without the batch axis; by input name for several inputs.
    """
    if isinstance(samples, Dataset):
        if isinstance(feature_shape, dict):
            samples = samples.bind_inputs(list(feature_shape), feature_shape)
        samples = samples.representative()
    return checked_samples(samples, feature_shape)
