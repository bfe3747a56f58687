"""A ``.tflite`` file compared as-is: it is already converted, so it is its own reference."""

from __future__ import annotations

import os

import numpy as np

from ..errors import ConversionError
from ..runtime import Converted, load_tflite
from . import Source


class TFLiteSource(Source):
    kind = "tflite"

    def __init__(self, converted: Converted, name: str = "model"):
        self.converted = converted
        self.name = name
        self.input_shape = converted.input_shape
        self.classes = converted.classes
        self.output_kind = converted.output_kind

    @classmethod
    def from_file(cls, path: str) -> TFLiteSource:
        return cls(load_tflite(path), name=os.path.splitext(os.path.basename(path))[0])

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.converted.run(X)

    def predict_one(self, x):
        return self.converted.invoke_raw(x)

    def size_bytes(self) -> int:
        return self.converted.size_bytes

    def spec(self):
        raise ConversionError(
            received=f"the .tflite file {self.name!r}",
            expected="A Keras model or scikit-learn estimator to convert; a .tflite is already converted.",
            fix="Compare the .tflite as-is (no modes), or convert the original model instead.",
        )
