"""A ``.tflite``'s input and output tensors as numbers: what a deployment feeds and reads.

:class:`TensorInfo` describes one tensor; :func:`quantize_values` and :func:`dequantize_values`
move values across its scale and zero point; :func:`pad` fills a fixed batch;
:func:`labels_from_scores` turns a scored output into class labels. Every runtime (LiteRT,
TFLite Micro) reads and writes tensors through these.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from . import _inputs
from .errors import DataMismatchError, describe_array


@dataclass(frozen=True)
class TensorInfo:
    """One input or output tensor of a ``.tflite``: what a deployment must feed or read."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    scale: float | None = None
    zero_point: int | None = None

    @property
    def quantized(self) -> bool:
        return self.scale is not None

    @property
    def dynamic_batch(self) -> bool:
        return bool(self.shape) and self.shape[0] == -1

    @property
    def batched(self) -> bool:
        """Whether axis 0 is a batch: dynamic in the signature (-1), or 1. Any other first axis
        (a streaming model's 335 frames) is part of the sample, and a scalar has no axis 0."""
        return bool(self.shape) and self.shape[0] in (-1, 1)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """One sample's shape: without the batch axis where axis 0 is one, else the whole shape."""
        return tuple(self.shape[1:]) if self.batched else tuple(self.shape)

    def describe(self) -> str:
        shape = "(" + ", ".join("None" if s == -1 else str(s) for s in self.shape) + ")"
        quant = f", scale={self.scale:.6g}, zero_point={self.zero_point}" if self.quantized else ""
        return f"{self.name}: {self.dtype}{shape}{quant}"


# --------------------------------------------------------------------- helpers
def labels_from_scores(outputs: np.ndarray, classes: np.ndarray, output_kind: str) -> np.ndarray:
    """Class labels from scores: argmax over columns, or a threshold for a single column
    (0 for decision values, 0.5 for a sigmoid probability); ``"label"`` outputs are the
    labels already."""
    outputs = np.asarray(outputs).reshape(len(outputs), -1)
    if output_kind == "label":
        labels = outputs[:, 0]
        return labels.astype(classes.dtype) if classes.dtype.kind in "biuf" else labels
    if outputs.shape[1] == 1:
        threshold = 0.0 if output_kind == "decision" else 0.5
        return classes[(outputs[:, 0] > threshold).astype(int)]
    return classes[np.argmax(outputs, axis=1)]


def pad(chunk, missing: int):
    """Repeat the last sample ``missing`` times (a fixed batch is filled up; padding is dropped)."""
    if _inputs.is_multi(chunk):
        return {name: np.concatenate([a, np.repeat(a[-1:], missing, axis=0)]) for name, a in chunk.items()}
    return np.concatenate([chunk, np.repeat(chunk[-1:], missing, axis=0)])


def tensor_info(details: dict) -> TensorInfo:
    scales = details["quantization_parameters"]["scales"]
    zero_points = details["quantization_parameters"]["zero_points"]
    quantized = len(scales) > 0 and np.dtype(details["dtype"]).kind in "iu"
    return TensorInfo(
        name=details["name"],
        shape=tuple(int(s) for s in details["shape_signature"]),
        dtype=np.dtype(details["dtype"]).name,
        scale=float(scales[0]) if quantized else None,
        zero_point=int(zero_points[0]) if quantized else None,
    )


def quantize_values(x: np.ndarray, info: TensorInfo) -> np.ndarray:
    dtype = np.dtype(info.dtype)
    if not info.quantized:
        return x.astype(dtype, copy=False)
    limits = np.iinfo(dtype)
    q = np.round(x / info.scale + info.zero_point)
    return np.clip(q, limits.min, limits.max).astype(dtype)


def dequantize_values(y: np.ndarray, info: TensorInfo) -> np.ndarray:
    if not info.quantized:
        y = np.array(y)
        return y.astype(np.float32) if y.dtype.kind == "f" else y
    return ((y.astype(np.float32) - info.zero_point) * info.scale).astype(np.float32)


def numeric(
    X,
    expected: str = "Numeric input.",
    fix: str = "Encode the data as numbers, as for the original model.",
) -> np.ndarray:
    """``X`` as an array of numbers (bools and integers included), else a :class:`DataMismatchError`."""
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise DataMismatchError(received=f"X as {describe_array(X)}", expected=expected, fix=fix)
    return X


def checked_input(X, expected: tuple[int, ...]) -> np.ndarray:
    """``X`` as float32 samples of shape ``expected`` (one sample alone gets a batch axis); a
    :class:`DataMismatchError` says what differs."""
    X = numeric(X)
    if X.shape[1:] != expected:
        if X.shape == expected:
            X = X[None, ...]
        else:
            raise DataMismatchError(
                received=f"X as {describe_array(X)}",
                expected=f"Samples of shape {expected}, i.e. X of shape (n, {', '.join(map(str, expected))}).",
                fix="Reshape the data to the model's input shape.",
            )
    return X.astype(np.float32, copy=False)


def checked_inputs(X, inputs: dict[str, TensorInfo]) -> dict[str, np.ndarray]:
    """One float32 array per input of a several-input file, by name: from a dict by name or a
    list in the model's order; a :class:`DataMismatchError` says what differs."""
    names = list(inputs)
    if isinstance(X, (list, tuple)) and len(X) == len(names):
        X = dict(zip(names, X, strict=True))  # in the model's input order
    if not isinstance(X, dict) or set(X) != set(names):
        got = ", ".join(map(str, X)) if isinstance(X, dict) else type(X).__name__
        raise DataMismatchError(
            received=f"X as {got}",
            expected=f"One array per input, as a dict by name or a list in this order: {', '.join(names)}.",
            fix="Pass e.g. {" + ", ".join(f"{n!r}: ..." for n in names) + "}.",
        )
    checked = {}
    for name in names:
        array = np.asarray(X[name])
        expected = inputs[name].sample_shape
        if array.dtype.kind not in "biuf" or array.shape[1:] != expected:
            raise DataMismatchError(
                received=f"input {name!r} as {describe_array(array)}",
                expected=f"Numeric samples of shape {expected} for input {name!r}.",
                fix="Check which array goes to which input.",
            )
        checked[name] = array.astype(np.float32, copy=False)
    _inputs.check_same_count(checked, DataMismatchError)
    return checked


#: A class-name file beside the model, as Teachable Machine writes it ("0 ClassName" lines).
LABELS_FILE = "labels.txt"


def read_labels(path: str) -> list[str] | None:
    """Class names from a labels file, one per line (``0 ClassName`` as Teachable Machine
    writes it, or just ``ClassName``); None when there is no such file."""
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8", errors="replace") as handle:
        lines = [line.strip() for line in handle if line.strip()]
    names = []
    for i, line in enumerate(lines):
        first, _, rest = line.partition(" ")
        names.append(rest.strip() if first == str(i) and rest.strip() else line)
    return names


def check_labels(labels, converted, name: str) -> np.ndarray:
    """``labels`` as class names for ``converted``'s scored output, one per value."""
    labels = np.asarray(list(labels))
    primary = next(o for o in converted.outputs if o.name == converted.primary_output)
    width = int(np.prod(primary.sample_shape)) if primary.sample_shape else 1
    if len(labels) != width and not (width == 1 and len(labels) == 2):
        raise DataMismatchError(
            received=f"{len(labels)} class names ({', '.join(map(str, labels[:5]))}{', ...' if len(labels) > 5 else ''}) for {name!r}",
            expected=f"One name per output of the model: its output {primary.describe()} has {width}.",
            fix="Fix labels.txt (one line per class, in output order), or pass labels= yourself.",
        )
    return labels
