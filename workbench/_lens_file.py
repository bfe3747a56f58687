"""The files a lens reads: a variant's ``.tflite`` and its float32 ``.tflite``, opened once
each and lined up op for op.

A file is read twice over: its computing ops (casts apart) from the flatbuffer, through the
shared reader, and its tensors (stored integers, scales, intermediate activations) through
an interpreter that keeps every tensor after a call. Opened files and the activations they
computed are kept for the last few files and sample sets, since the widget draws one layer
after another of the same comparison.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import numpy as np

from . import _inputs as inputs
from ._flatbuffer import is_constant, op_name, read_model
from ._layers import layer_names
from ._lru import LRU
from .errors import InvalidArgumentError

#: Ops that only move a tensor between types: never a layer of their own.
CASTS = {"QUANTIZE", "DEQUANTIZE"}
#: A batch of at most this many samples per call: every tensor is kept for each call.
_STEP = 32


@dataclass
class LensOp:
    """One computing op of a file: its type, output tensor and weight tensor (indices)."""

    position: int  # among the computing ops of the main subgraph
    op: str
    output: int
    output_name: str
    weight: int | None


@functools.lru_cache(maxsize=1)
def tensor_type_names() -> dict[int, str]:
    """The schema's tensor types by code, as lower-case names (``int8``, ``float32``, ...)."""
    from ai_edge_litert import schema_py_generated as schema

    return {v: k.lower() for k, v in vars(schema.TensorType).items() if not k.startswith("_")}


def computing_ops(content: bytes) -> tuple[list[LensOp], dict[int, str]]:
    """The computing ops (casts apart) in order, and every tensor's stored type by index.

    A weight is the largest constant input of rank 2 or more, followed through a
    ``DEQUANTIZE`` where a weight-only recipe stores it quantized before the op."""
    types = tensor_type_names()
    model = read_model(content)
    graph = model.Subgraphs(0)
    stored = {t: types.get(graph.Tensors(t).Type(), "?") for t in range(graph.TensorsLength())}

    def constant(index):
        return is_constant(model, graph.Tensors(index))

    raw, producer = [], {}
    for o in range(graph.OperatorsLength()):
        op = graph.Operators(o)
        name = op_name(model, op.OpcodeIndex())
        ins = [int(i) for i in op.InputsAsNumpy()] if op.InputsLength() else []
        outs = [int(i) for i in op.OutputsAsNumpy()] if op.OutputsLength() else []
        raw.append((name, ins, outs))
        for out in outs:
            producer[out] = (name, ins)
    ops = []
    for name, ins, outs in raw:
        if name in CASTS or not outs:
            continue
        candidates = []
        for index in ins[1:]:
            if index < 0:
                continue
            if not constant(index) and producer.get(index, ("",))[0] == "DEQUANTIZE":
                index = producer[index][1][0]  # the stored weight behind the cast
            tensor = graph.Tensors(index)
            shape = tensor.ShapeAsNumpy() if tensor.ShapeLength() else np.zeros(0)
            if constant(index) and len(shape) >= 2:
                candidates.append((int(np.prod(shape)), index))
        weight = max(candidates)[1] if candidates else None
        output_name = graph.Tensors(outs[0]).Name().decode(errors="replace")
        ops.append(LensOp(len(ops), name, outs[0], output_name, weight))
    return ops, stored


class LensFile:
    """A ``.tflite`` opened once, without delegates and keeping every tensor, so that
    intermediate activations can be read after a call."""

    def __init__(self, content: bytes):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        from ._native import captured_output

        with captured_output():
            self.interpreter = Interpreter(
                model_content=content,
                experimental_preserve_all_tensors=True,
                experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
            )
            self.interpreter.allocate_tensors()
        self.details = {d["index"]: d for d in self.interpreter.get_tensor_details()}
        self.ops, self.stored = computing_ops(content)
        self.input = self.interpreter.get_input_details()
        self._batch = None
        self._activations: LRU[np.ndarray] = LRU(8)

    def quantization(self, index: int) -> tuple[np.ndarray, np.ndarray, int]:
        """Tensor ``index``'s scales, zero points and quantized dimension."""
        params = self.details[index]["quantization_parameters"]
        return (
            np.asarray(params["scales"], dtype=np.float64),
            np.asarray(params["zero_points"], dtype=np.int64),
            int(params["quantized_dimension"]),
        )

    def constant(self, index: int) -> np.ndarray:
        """The data stored for tensor ``index`` (a weight: its stored integers or floats)."""
        return np.array(self.interpreter.get_tensor(index))

    def activations(self, index: int, samples, key) -> np.ndarray:
        """The values of tensor ``index`` for every sample (kept for the last few sample sets)."""
        return self._activations.get_or_make((index, key), lambda: self._run(index, samples))

    def _run(self, index: int, samples) -> np.ndarray:
        (detail,) = self.input
        dtype = detail["dtype"]
        fixed = None if detail["shape_signature"][0] == -1 else int(detail["shape"][0])
        # Every tensor is kept for each call: small batches bound the memory for a big model.
        step = fixed or _STEP
        parts = []
        for start in range(0, inputs.count(samples), step):
            chunk = np.asarray(samples[start : start + step])
            n = len(chunk)
            if fixed and n < fixed:
                chunk = np.concatenate([chunk, np.repeat(chunk[-1:], fixed - n, axis=0)])
            if self._batch != len(chunk):
                self.interpreter.resize_tensor_input(detail["index"], [len(chunk), *chunk.shape[1:]])
                self.interpreter.allocate_tensors()
                self._batch = len(chunk)
            self.interpreter.set_tensor(detail["index"], chunk.astype(dtype, copy=False))
            self.interpreter.invoke()
            parts.append(np.array(self.interpreter.get_tensor(index))[:n])
        return np.concatenate(parts).astype(np.float64)


_FILES: LRU[LensFile] = LRU(12)


def open_file(content: bytes) -> LensFile:
    """``content`` opened as a :class:`LensFile`, once for the last dozen files."""
    return _FILES.get_or_make(hashlib.sha1(content).hexdigest(), lambda: LensFile(content))


def samples_key(samples) -> str:
    """A key that tells sample sets apart by content (their activations are kept by it)."""
    array = np.ascontiguousarray(samples)
    return f"{array.shape}:{hashlib.sha1(array.tobytes()).hexdigest()}"


@dataclass
class LinedUp:
    """A variant's file and the float32 file it derives from, with the same computing ops in
    the same order, and the user's name for each op."""

    converted: object  # the variant's Converted
    file: LensFile
    reference: LensFile
    names: list[str]

    def weighted(self) -> list[str]:
        """The names of the layers with weights."""
        return [n for n, op in zip(self.names, self.file.ops, strict=True) if op.weight is not None]


def lined_up(comparison, variant: str) -> LinedUp:
    """The variant ``variant`` of ``comparison`` beside its float32 file (checked first)."""
    variants = getattr(comparison, "variants", None)
    if variants is None:
        raise InvalidArgumentError(
            received=f"{type(comparison).__name__}",
            expected="A Comparison from workbench.compare().",
            fix="Run result = workbench.compare(model, data, modes=[...]) and pass result.",
        )
    if variant not in variants:
        raise InvalidArgumentError(
            received=f"variant={variant!r}",
            expected=f"One of this comparison's variants: {', '.join(variants) or '(none converted)'}.",
            fix="Add the mode to compare(..., modes=[...]) or pass one of these labels.",
        )
    converted = variants[variant]
    file, reference = open_file(converted.content), open_file(float32_of(comparison).content)
    types = [op.op for op in file.ops]
    if types != [op.op for op in reference.ops]:
        raise InvalidArgumentError(
            received=f"variant {variant!r}, whose ops ({', '.join(types)}) are not those of the float32 file",
            expected="A variant with the same ops as the float32 model (casts apart), so that its weights line up with the float ones.",
            fix=(
                "A recipe that adds ops (the Hadamard rotation of dynamic_wi4c_hr_afp32) stores rotated "
                "weights that no longer match the float32 ones: look at another variant."
            ),
        )
    return LinedUp(converted, file, reference, layer_names(comparison.source, reference.ops))


def float32_of(comparison):
    """The float32 variant the comparison's variants derive from (made again if not compared)."""
    if "float32" in comparison.variants:
        return comparison.variants["float32"]
    if comparison.source is None:
        raise InvalidArgumentError(
            received="a comparison without its model and without a float32 variant",
            expected="A comparison that has the float32 file the variants derive from.",
            fix="Compare again with 'float32' among the modes.",
        )
    from .convert import float32_hub

    return float32_hub(comparison.source)
