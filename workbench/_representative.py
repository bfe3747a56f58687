"""Calibration samples checked against a model's inputs before any conversion.

Whatever the user calls representative data (an array, a DataFrame, a ``tf.data.Dataset``,
TFLite's ``representative_dataset`` function, or one of those per input) becomes float32
samples of the model's input shape, or a :class:`~workbench.errors.RepresentativeDataError`
that says what does not fit. A :class:`workbench.Dataset` is unwrapped before this, by
:func:`workbench.datasets.validate_representative`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import _inputs as inputs
from .errors import RepresentativeDataError, describe_array


def checked_samples(samples, feature_shape: tuple[int, ...] | dict) -> np.ndarray | dict:
    """Calibration samples (anything but a Dataset) checked against the model's input shape,
    as float32; for several inputs (``feature_shape`` a dict), a dict of arrays by input name."""
    if isinstance(feature_shape, dict):
        return _validate_several(samples, feature_shape)
    if samples is None:
        raise RepresentativeDataError(
            received="representative=None",
            expected="Calibration samples for a mode that quantizes activations.",
            fix="Pass representative=dataset.representative(200) or a few hundred training rows.",
        )
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
    if isinstance(samples, tuple) and len(samples) == len(feature_shapes):
        samples = dict(zip(feature_shapes, samples, strict=True))
    if not isinstance(samples, dict) or set(samples) != set(feature_shapes):
        got = sorted(samples) if isinstance(samples, dict) else type(samples).__name__
        raise RepresentativeDataError(
            received=f"representative data {got}",
            expected=f"A dict of samples by input name: {', '.join(feature_shapes)} (or a tuple in that order).",
            fix="Pass e.g. {name: training_rows[name][:200] for each input}, or a Dataset with those inputs.",
        )
    checked = {name: checked_samples(samples[name], shape) for name, shape in feature_shapes.items()}
    inputs.check_same_count(checked, RepresentativeDataError, "calibration samples")
    return checked


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
