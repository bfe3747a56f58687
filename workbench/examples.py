"""Built-in example models, trained deterministically on first use and cached.

Nothing is downloaded: each example trains in a few seconds on a dataset that ships
with scikit-learn, and is saved as ``.keras`` in the user's cache directory
(``WORKBENCH_CACHE_DIR`` overrides it).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._native import captured_output, import_tensorflow
from .datasets import load_dataset
from .errors import ModelLoadError

_VERSION = 4


@dataclass(frozen=True)
class Example:
    name: str
    dataset: str
    description: str
    build: Callable
    epochs: int
    learning_rate: float = 1e-3
    batch_size: int = 32


def _digits_mlp(keras, data):
    return keras.Sequential(
        [
            keras.Input(data.feature_shape),
            keras.layers.Rescaling(1 / 16),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ],
        name="digits_mlp",
    )


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
    )


def _diabetes_mlp(keras, data):
    normalizer = keras.layers.Normalization()
    normalizer.adapt(data.X_train)
    mean, std = float(np.mean(data.y_train)), float(np.std(data.y_train))
    return keras.Sequential(
        [
            keras.Input(data.feature_shape),
            normalizer,
            keras.layers.Dense(32, activation="relu", kernel_regularizer=keras.regularizers.l2(1e-2)),
            keras.layers.Dense(1),
            # Trained on standardized targets; this layer returns them in the original units.
            keras.layers.Rescaling(std, offset=mean),
        ],
        name="diabetes_mlp",
    )


EXAMPLES: dict[str, Example] = {
    e.name: e
    for e in (
        Example("digits_mlp", "digits", "Dense 256-128-10 on the 64 digit pixels", _digits_mlp, epochs=40),
        Example("digits_cnn", "digits_images", "Small CNN on 8x8x1 digit images", _digits_cnn, epochs=40),
        Example(
            "diabetes_mlp",
            "diabetes",
            "Dense 32-1 regression on diabetes, inputs normalized inside the model",
            _diabetes_mlp,
            epochs=60,
            learning_rate=3e-3,
            batch_size=64,
        ),
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
    model = example.build(keras, data)
    optimizer = keras.optimizers.Adam(example.learning_rate)
    fit = {"epochs": example.epochs, "batch_size": example.batch_size, "verbose": 0}
    if data.task == "classification":
        model.compile(optimizer, "sparse_categorical_crossentropy")
        model.fit(data.X_train, data.y_train, **fit)
        return model
    # The last layer maps standardized predictions back to target units, so the layers
    # before it train on standardized targets.
    inner = keras.Model(model.inputs, model.layers[-2].output)
    inner.compile(optimizer, "mse")
    inner.fit(data.X_train, (data.y_train - np.mean(data.y_train)) / np.std(data.y_train), **fit)
    return model
