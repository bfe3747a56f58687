"""Built-in example models, trained deterministically on first use and cached.

Nothing is downloaded: each example trains in a few seconds on a dataset that ships
with scikit-learn, and is saved as ``.keras`` in the user's cache directory
(``WORKBENCH_CACHE_DIR`` overrides it).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ._native import captured_output, import_tensorflow
from .datasets import load_dataset
from .errors import ModelLoadError

_VERSION = 2


@dataclass(frozen=True)
class Example:
    name: str
    dataset: str
    description: str
    build: Callable


def _digits_mlp(keras, data):
    return keras.Sequential(
        [
            keras.Input(data.feature_shape),
            keras.layers.Rescaling(1 / 16),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ],
        name="digits_mlp",
    ), 60


def _digits_cnn(keras, data):
    return keras.Sequential(
        [
            keras.Input(data.feature_shape),
            keras.layers.Rescaling(1 / 16),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ],
        name="digits_cnn",
    ), 40


def _diabetes_mlp(keras, data):
    normalizer = keras.layers.Normalization()
    normalizer.adapt(data.X_train)
    mean, std = float(np.mean(data.y_train)), float(np.std(data.y_train))
    model = keras.Sequential(
        [
            keras.Input(data.feature_shape),
            normalizer,
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(1),
            # Trained on standardized targets; this layer returns them in the original units.
            keras.layers.Rescaling(std, offset=mean),
        ],
        name="diabetes_mlp",
    )
    return model, 150


EXAMPLES: dict[str, Example] = {
    e.name: e
    for e in (
        Example("digits_mlp", "digits", "Dense 64-32-10 on the 64 digit pixels", _digits_mlp),
        Example("digits_cnn", "digits_images", "Small CNN on 8x8x1 digit images", _digits_cnn),
        Example("diabetes_mlp", "diabetes", "Dense 32-16-1 regression on diabetes", _diabetes_mlp),
    )
}


def cache_dir() -> str:
    """Where trained examples are kept."""
    configured = os.environ.get("WORKBENCH_CACHE_DIR")
    if configured:
        return configured
    import platformdirs

    return platformdirs.user_cache_dir("tflite-workbench")


def example_dataset(name: str) -> str:
    """The name of the dataset an example was trained on."""
    return _example(name).dataset


def load_example(name: str, *, retrain: bool = False):
    """A built-in Keras example model, trained on first use (a few seconds) and then cached.

    Parameters
    ----------
    name : {"digits_mlp", "digits_cnn", "diabetes_mlp"}
    retrain : bool, default=False
        Train again even if a cached copy exists.
    """
    example = _example(name)
    import_tensorflow()
    import keras

    path = os.path.join(cache_dir(), "examples", f"{name}-v{_VERSION}.keras")
    if os.path.isfile(path) and not retrain:
        try:
            return _load(keras, path)
        except (ValueError, OSError, KeyError, EOFError):
            pass  # a damaged cache is retrained below
    model = _train(example, keras)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # Write then rename, so a concurrent reader never sees half a file.
    handle, partial = tempfile.mkstemp(suffix=".keras", dir=os.path.dirname(path))
    os.close(handle)
    with captured_output():
        model.save(partial)
    os.replace(partial, path)
    return _load(keras, path)


def _load(keras, path):
    # Without the optimizer: the original's size is then what a deployment would ship.
    with captured_output():
        return keras.saving.load_model(path, compile=False)


def _example(name: str) -> Example:
    if name not in EXAMPLES:
        raise ModelLoadError(
            received=f"example {name!r}",
            expected=f"One of the built-in examples: {', '.join(EXAMPLES)}.",
            fix="Pick one of those names.",
        )
    return EXAMPLES[name]


def _train(example: Example, keras):
    data = load_dataset(example.dataset)
    keras.utils.set_random_seed(0)
    model, epochs = example.build(keras, data)
    if data.task == "classification":
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(data.X_train, data.y_train, epochs=epochs, batch_size=32, verbose=0)
        return model
    # The last layer maps standardized predictions back to target units, so the layers
    # before it train on standardized targets.
    inner = keras.Model(model.inputs, model.layers[-2].output)
    inner.compile(keras.optimizers.Adam(1e-2), "mse")
    y = (data.y_train - np.mean(data.y_train)) / np.std(data.y_train)
    inner.fit(data.X_train, y, epochs=epochs, batch_size=32, verbose=0)
    return model
