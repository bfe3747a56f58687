"""A ``.tflite`` made elsewhere: compared as-is, and (a float32 file) the hub recipes apply to.

What the file is comes from its flatbuffer (``workbench.inspection``), never from its name. It
runs where it can: on LiteRT, or, for a file made of ops only TFLite Micro registers (its
``Signal*`` audio front-end ops), on TFLite Micro, and the comparison says which. A fixed
batch (a ``RESHAPE`` with a constant shape) runs sample by sample. A float32 file is the hub
of every LiteRT Quantizer recipe, with no converter involved; an already-quantized one is
compared as-is. The user's file is read, never written.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import ConversionError, InvocationError, ModelLoadError
from ..inspection import Inspection, inspect_bytes
from ..runtime import Converted, check_labels, load_tflite
from . import Source


class TFLiteSource(Source):
    """A ``.tflite`` file (or a :class:`~workbench.Converted`) compared as-is.

    Attributes
    ----------
    inspection : Inspection
        What the file really is (``workbench inspect``).
    runtime : {"litert", "tflm"} or None
        Where its outputs come from: LiteRT, or TFLite Micro when LiteRT cannot run it; None
        when neither can (``unrunnable`` says why, and a comparison is its one row).
    litert_reason : str
        Why LiteRT cannot run it ("" when it can).
    """

    kind = "tflite"
    as_is = True

    def __init__(self, converted: Converted, name: str = "model", *, labels=None, path: str | None = None):
        self.converted = converted
        self.name = name
        self.path = path
        self.inspection: Inspection = inspect_bytes(converted.content, name)
        _check_inputs(self.inspection, name, converted)
        self.input_shape = converted.input_shape
        if len(converted.inputs) > 1:
            self.input_names = list(converted.input_names)
        self.input_dtype = _calibration_dtype(converted)
        if labels is not None:
            converted.classes = check_labels(labels, converted, name)
        self.classes = converted.classes
        self.output_kind = converted.output_kind
        self.output_names = converted.output_names
        self.primary_output = converted.primary_output
        # Several outputs follow the rules of a Keras model's heads: one scored, the others compared.
        self.output_labels = converted.output_names
        self.output = converted.primary_output
        self.notes = []
        self.runtime = "litert"
        self.litert_reason = ""
        #: Why neither LiteRT nor TFLite Micro runs the file ("" when one does).
        self.unrunnable = ""
        self._arena: int | None = None
        self._micro_outputs: dict[str, np.ndarray] = {}
        self._probe()
        if self.inspection.is_float32 and self.runtime == "litert":
            self.float32_file = self._hub(converted)
        else:
            self.float32_file = ConversionError(
                received=f"the .tflite file {name!r}, which is {self.inspection.quantization}",
                expected="A float32 .tflite: LiteRT Quantizer's recipes quantize float weights and activations.",
                fix=(
                    "Compare this file as-is (modes=[]), or quantize the float32 .tflite (or the "
                    "original model) it was made from."
                ),
            )

    def _hub(self, converted: Converted) -> Converted | ConversionError:
        """The bytes recipes apply to: the file itself, or for a file with no signature (a TF1
        export) a copy with a serving signature over its inputs and outputs, nothing else changed."""
        if self.inspection.signatures:
            return converted  # the hub itself: recipes apply to these bytes
        from .._serving import with_serving_signature

        try:
            content = with_serving_signature(converted.content, repr(self.name))
        except ModelLoadError as err:
            return ConversionError(received=err.received, expected=err.expected, fix=err.fix)
        self.notes.append(
            f"{self.name} has no signature: recipes apply to a copy with a serving_default signature "
            "built from its inputs and outputs (tensor names); its ops and weights are the file's own."
        )
        hub = Converted(
            content,
            None,
            threads=converted.threads,
            source=converted.source,
            classes=converted.classes,
            primary_output=converted.primary_output,
        )
        return hub

    @classmethod
    def from_file(cls, path: str, *, labels=None) -> TFLiteSource:
        if os.path.isdir(path):
            raise ModelLoadError(
                received=f"path {path!r}, which is a directory",
                expected="A .tflite file.",
                fix="Pass the path of the .tflite file itself.",
            )
        with open(path, "rb") as handle:
            content = handle.read()
        name = os.path.splitext(os.path.basename(path))[0]
        inspect_bytes(content, repr(path))  # a clear error for bytes that are not a .tflite
        try:
            converted = load_tflite(path, labels=labels)
        except ModelLoadError as err:
            if isinstance(err, InvocationError):
                raise
            received = err.received if err.received.startswith(repr(path)) else f"{path!r}: {err.received}"
            raise ModelLoadError(received=received, expected=err.expected, fix=err.fix) from None
        return cls(converted, name=name, path=path)

    # ------------------------------------------------------------------ where it runs
    def _probe(self) -> None:
        """Run two samples of zeros on LiteRT; where it refuses, try TFLite Micro."""
        converted = self.converted
        zeros = _zeros(converted, 1 if converted.declared_shapes else 2)
        try:
            converted.run_all(zeros)
        except InvocationError as err:
            self.litert_reason = err.received
        else:
            self._note_batch()
            if converted.state:
                self.notes.append(
                    f"{self.name} is stateful (it keeps state in {converted.state}): the state is reset "
                    "before each sample, so no test sample's output depends on the ones run before it."
                )
            return
        if len(converted.inputs) > 1:
            self.runtime, self.unrunnable = None, both(self.litert_reason, "checked for one input only")
            return
        from ..targets import check_micro

        check = check_micro(converted)
        if not check.runs:
            self.runtime, self.unrunnable = None, both(self.litert_reason, check.reason)
            return
        self.runtime, self._arena = "tflm", check.arena_bytes
        custom = ", ".join(self.inspection.custom_ops) or "its ops"
        self.notes.append(
            f"{self.name}: outputs come from TFLite Micro, which runs it; LiteRT cannot "
            f"({custom}: custom op registered only in TFLite Micro). Its latency is not measured "
            "(TFLite Micro runs in a process of its own here, so host timings would mislead)."
        )

    def _note_batch(self) -> None:
        info = self.converted.inputs[0]
        if self.converted.declared_shapes:
            shapes = ", ".join(i.describe() for i in self.converted.inputs if not i.batched)
            self.notes.append(
                f"{self.name} runs at its declared shapes, one sample per call: axis 0 of {shapes} is "
                "not a batch (the signature does not make it dynamic, and it is not 1), so each sample "
                "is a whole tensor of that shape."
            )
        elif not info.dynamic_batch:
            self.notes.append(
                f"{self.name} has a fixed batch of {info.shape[0]} (input {info.describe()}): it runs "
                f"{info.shape[0]} sample(s) per call, so its batched latency is a loop over samples."
            )
        elif self.converted.single_sample_only:
            self.notes.append(
                f"{self.name} cannot be resized to a batch of several samples (a fixed batch inside the "
                "graph, e.g. a RESHAPE with a constant shape): it runs one sample per call, so its "
                "batched latency is a loop over samples."
            )

    @property
    def as_is_path(self) -> str:
        """The original row's ``path``: the file run as it is, and on which runtime."""
        return "as-is on TFLite Micro" if self.runtime == "tflm" else "as-is on LiteRT"

    # ------------------------------------------------------------------ the reference
    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.unrunnable:
            raise InvocationError(
                received=f"{self.name}, which {self.unrunnable}",
                expected="A .tflite that LiteRT or TFLite Micro can allocate and invoke.",
                fix="Rebuild the model from builtin ops, or run it where its custom ops are registered.",
            )
        if self.runtime == "tflm":
            from ..targets import check_micro

            # Any arena that works will do here (the smallest is measured once, in _probe).
            check = check_micro(self.converted, X, arena_bytes=max(2 * (self._arena or 0), 64 * 1024))
            if not check.runs:
                raise InvocationError(
                    received=f"{self.name} on TFLite Micro: {check.reason}",
                    expected="A file TFLite Micro runs, as it did on zeros.",
                    fix="Check the samples' range and type against the file's input.",
                )
            self._micro_outputs = check.all_outputs
            outputs = check.outputs
            return outputs.reshape(len(outputs), -1) if outputs.ndim == 1 else outputs
        return self.converted.run(X)

    def default_output(self) -> str:
        return self.converted.primary_output

    def use_output(self, label: str) -> None:
        """Score ``label``: the file and its float32 hub return that output from now on."""
        self.primary_output = label
        self.converted = self.converted.with_primary_output(label)
        if isinstance(self.float32_file, Converted):
            self.float32_file = self.float32_file.with_primary_output(label)

    def predict_outputs(self, X) -> dict[str, np.ndarray]:
        """Every output of the file for ``X``, by name."""
        if self.runtime != "litert":
            self.predict(X)  # TFLite Micro runs once and reads every output
            return dict(self._micro_outputs)
        return self.converted.run_all(X)

    def predict_one(self, x):
        return self.converted.invoke_raw(x)

    def size_bytes(self) -> int:
        return self.converted.size_bytes

    def spec(self):
        what = self.inspection.quantization
        recipes = (
            "Quantize it with a LiteRT Quantizer recipe instead (static_wi8_ai8, dynamic_wi8_afp32, "
            "weight_only_wi4_afp32, ...), which applies to this float32 file directly"
            if self.inspection.is_float32
            else "Compare it as-is (modes=[])"
        )
        raise ConversionError(
            received=f"a converter mode for the .tflite file {self.name!r} ({what})",
            expected=(
                "The original Keras or scikit-learn model: the converter's modes (float16, dynamic, "
                "int8, int16x8) re-run the TFLite converter on it, and a .tflite is already converted."
            ),
            fix=f"{recipes}, or pass the original model for the converter's modes.",
        )


def both(litert: str, micro: str) -> str:
    return f"runs on neither runtime: LiteRT: {litert}; TFLite Micro: {micro}"


def _check_inputs(inspection: Inspection, name: str, converted: Converted) -> None:
    for input_name, info in zip(converted.input_names, converted.inputs, strict=True):
        if np.dtype(info.dtype).kind in "OSU":
            raise ModelLoadError(
                received=f"{name!r}, whose input {input_name!r} is text (strings, shape {info.describe().split('(', 1)[1]}",
                expected=(
                    "Numeric inputs: the workbench measures what quantization does to a model's "
                    "arithmetic on numbers (accuracy, agreement, size, latency), and text has none."
                ),
                fix=(
                    "Compare the numeric model behind the text step (token ids or embeddings in, as a "
                    "file of its own); `workbench inspect` still describes this file."
                ),
            )
    for tensor in inspection.inputs:
        if not tensor.shape:
            raise ModelLoadError(
                received=f"{name!r}, whose input {tensor.name!r} has no axes (a scalar, or a dynamic rank)",
                expected="Inputs of a known rank: one axis for the batch, then the sample's axes.",
                fix="Re-export the model with an input signature of fixed rank, e.g. tf.TensorSpec([None, 49, 40]).",
            )
        if 0 in tensor.shape:
            raise ModelLoadError(
                received=f"{name!r}, whose input {tensor.describe()} has a zero-size axis",
                expected="Inputs that hold at least one value per sample.",
                fix="Re-export the model with its real input shape.",
            )


def _calibration_dtype(converted: Converted):
    """What calibration samples must be: the file's own type for unquantized integer inputs
    (token ids, raw audio), float32 otherwise."""

    def one(info):
        return info.dtype if np.dtype(info.dtype).kind in "iu" and not info.quantized else "float32"

    if len(converted.inputs) > 1:
        return {name: one(info) for name, info in zip(converted.input_names, converted.inputs, strict=True)}
    return one(converted.inputs[0])


def _zeros(converted: Converted, n: int):
    if len(converted.inputs) > 1:
        return {name: np.zeros((n, *shape), np.float32) for name, shape in converted.input_shape.items()}
    return np.zeros((n, *converted.input_shape), np.float32)


__all__ = ["TFLiteSource"]
