"""What a ``.tflite`` file really is, read from the flatbuffer alone (``workbench inspect``).

Inputs and outputs with their types, shapes, scales and zero points; the ops by count; the
weight and activation types of each op, from which follows what the file *is* (float32,
float16 weights, dynamic-range, weight-only, full integer, or partly integer with float ops
left), whatever its name says; the size of each tensor; its signatures. Named
``inspection`` so as not to shadow the standard library's ``inspect``. Needs neither
TensorFlow nor an interpreter.
"""

from __future__ import annotations

import struct
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ._flatbuffer import buffer_nbytes, builtin_op_names, op_name, read_model
from ._tree_inspection import find_trees
from .errors import ModelLoadError

_FLOATS = {"FLOAT32", "FLOAT16", "FLOAT64", "BFLOAT16"}
_INTEGER_WEIGHTS = {"INT8", "UINT8", "INT4", "INT2", "INT16"}
_INTEGER_ACTIVATIONS = {"INT8", "UINT8", "INT16"}
# Ops that only move data between float and integer at a model's edges or before an op.
_CONVERSIONS = {"QUANTIZE", "DEQUANTIZE"}
# Handles to tables and variables: they hold no values an op computes on.
_HANDLES = {"RESOURCE", "VARIANT"}
_WIDTH_ORDER = ["uint8", "int8", "int16", "float16", "bfloat16", "float32", "float64"]
_BITS = {"INT8": "int8", "UINT8": "uint8", "INT4": "int4", "INT2": "int2", "INT16": "int16"}


@dataclass(frozen=True)
class TensorSummary:
    """One input or output as a deployment must feed or read it."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    scale: float | None = None
    zero_point: int | None = None

    def describe(self) -> str:
        shape = "(" + ", ".join("None" if s == -1 else str(s) for s in self.shape) + ")"
        quant = f", scale={self.scale:.6g}, zero_point={self.zero_point}" if self.scale is not None else ""
        return f"{self.name}: {self.dtype}{shape}{quant}"


@dataclass(frozen=True)
class OpTypes:
    """An op type, how often the file has it, and the tensor types it reads and writes."""

    op: str
    count: int
    weights: tuple[str, ...]
    activations: tuple[str, ...]
    custom: bool = False

    @property
    def computes_in_float(self) -> bool:
        return self.op not in _CONVERSIONS and bool(set(self.activations) & _FLOATS)

    @property
    def computes(self) -> str:
        """What the op computes on, from its activations' types: ``uint8``, ``int8``, ``int16``,
        ``float16``, ``float32``, ``mixed uint8/float32`` (a detector's post-processing), or
        ``-`` (no numbers: strings, handles); a QUANTIZE or DEQUANTIZE ``converts`` between."""
        kinds = {t.lower() for t in self.activations if t in _FLOATS | _INTEGER_ACTIVATIONS}
        numeric = sorted(kinds, key=_WIDTH_ORDER.index)
        if self.op in _CONVERSIONS:
            return "converts " + "/".join(numeric) if numeric else "-"
        if len(numeric) > 1:
            return "mixed " + "/".join(numeric)
        return numeric[0] if numeric else "-"


@dataclass(frozen=True)
class Inspection:
    """What a ``.tflite`` contains (see :func:`inspect_bytes`).

    Attributes
    ----------
    quantization : str
        What the file is, from its ops' tensor types: ``float32``, ``float16 weights``,
        ``dynamic-range (int8 weights, float activations)``, ``weight-only (int4 weights)``,
        ``full integer (int8 activations)`` (or uint8, TF1's quantization; or int16),
        ``partly integer (uint8 activations; N float ops left: ...)``, or, for a file with no
        float arithmetic at all (string lookups), ``no float arithmetic to quantize``.
    mode : str
        The same in a word or two, for a table's ``mode`` column.
    float_ops : int
        Ops (quantize and dequantize apart) that compute on float activations.
    """

    size_bytes: int
    inputs: tuple[TensorSummary, ...]
    outputs: tuple[TensorSummary, ...]
    ops: dict[str, int]
    op_types: tuple[OpTypes, ...]
    tensors: tuple[tuple[str, str, tuple[int, ...], int], ...]
    signatures: dict[str, dict[str, list[str]]]
    quantization: str
    mode: str
    float_ops: int
    custom_ops: tuple[str, ...] = ()
    description: str = ""
    notes: tuple[str, ...] = field(default=())
    #: A tree ensemble the workbench built, described from its named tables (``_tree_inspection``).
    trees: tuple[str, ...] = field(default=())

    @property
    def is_float32(self) -> bool:
        """A float32 file: what LiteRT Quantizer's recipes take as their input."""
        return self.mode == "float32"

    def report(self, largest: int = 10) -> str:
        """The inspection as text, for ``workbench inspect`` and ``Converted.summary()``."""
        lines = [f"{self.size_bytes:,} bytes; {self.quantization}"]
        if self.description:
            lines.append(f"description: {self.description}")
        lines += list(self.trees)
        lines.append("inputs:")
        lines += [f"  {t.describe()}" for t in self.inputs]
        lines.append("outputs:")
        lines += [f"  {t.describe()}" for t in self.outputs]
        lines.append("ops (weights -> activations [what each computes on]):")
        for op in self.op_types:
            weights = "/".join(op.weights).lower() or "no weights"
            activations = "/".join(op.activations).lower() or "-"
            custom = " (custom)" if op.custom else ""
            lines.append(f"  {op.op}{custom} ×{op.count}: {weights} -> {activations} [{op.computes}]")
        if self.float_ops and self.mode != "float32":
            lines.append(f"  {self.float_ops} op(s) still compute in float")
        lines.append(f"largest tensors (of {len(self.tensors)} with data):")
        for name, dtype, shape, nbytes in self.tensors[:largest]:
            lines.append(f"  {nbytes:>10,} bytes  {dtype.lower()}{list(shape)}  {name}")
        if self.signatures:
            lines.append("signatures:")
            for key, io in self.signatures.items():
                lines.append(f"  {key}: inputs {', '.join(io['inputs'])}; outputs {', '.join(io['outputs'])}")
        else:
            lines.append("signatures: none (inputs and outputs by tensor name)")
        lines += list(self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()


def _first_bytes(content: bytes) -> str:
    head = content[:8]
    known = {
        b"PK\x03\x04": "a zip archive (a .keras file?)",
        b"\x89HDF": "an HDF5 file (a Keras .h5?)",
        b"\x80": "a Python pickle",
    }
    what = next((label for magic, label in known.items() if head.startswith(magic)), "")
    return f"first bytes {head!r}" + (f", {what}" if what else "")


def check_flatbuffer(content: bytes, name: str = "the file"):
    """The parsed ``schema.Model`` of ``content``, or a :class:`ModelLoadError` that says what
    the bytes are instead (empty, another format, cut short)."""

    fix = "Pass the .tflite file itself; a file cut short (an interrupted download or copy) must be copied again."
    if len(content) < 16 or content[4:8] != b"TFL3":
        what = "empty" if not content else f"{len(content):,} bytes, {_first_bytes(content)}"
        raise ModelLoadError(
            received=f"{name}: {what}",
            expected="A TFLite flatbuffer, whose bytes 4 to 8 are the identifier b'TFL3'.",
            fix=fix,
        )
    try:
        model = read_model(content)
        for s in range(model.SubgraphsLength()):
            graph = model.Subgraphs(s)
            for t in range(graph.TensorsLength()):
                graph.Tensors(t).ShapeAsNumpy()
            for o in range(graph.OperatorsLength()):
                op = graph.Operators(o)
                if op.OpcodeIndex() >= model.OperatorCodesLength():
                    raise IndexError(f"operator {o} has no operator code {op.OpcodeIndex()}")
                _check_indices(graph, op, o)
        for b in range(model.BuffersLength()):
            model.Buffers(b).DataLength()
    except (struct.error, IndexError, ValueError, TypeError) as err:
        raise ModelLoadError(
            received=(
                f"{name}: {len(content):,} bytes that start as a TFLite flatbuffer but do not parse "
                f"({type(err).__name__}{': ' + str(err) if isinstance(err, IndexError) else ''})"
            ),
            expected="A complete .tflite file.",
            fix=fix,
        ) from None
    return model


def state_kind(content: bytes) -> str:
    """Where a file keeps state between invocations: ``"variable tensors"`` (a fused LSTM's
    state, which LiteRT carries from one call to the next), ``"resource variables"``
    (``ASSIGN_VARIABLE``, a stateful layer's), or ``""`` for none."""
    model = read_model(content)
    graphs = [model.Subgraphs(s) for s in range(model.SubgraphsLength())]
    if any(g.Tensors(t).IsVariable() for g in graphs for t in range(g.TensorsLength())):
        return "variable tensors"
    codes = {i for i in range(model.OperatorCodesLength()) if op_name(model, i) == "ASSIGN_VARIABLE"}
    if any(g.Operators(o).OpcodeIndex() in codes for g in graphs for o in range(g.OperatorsLength())):
        return "resource variables"
    return ""


def _notes(content: bytes) -> tuple[str, ...]:
    """What a reader of the file must know beyond its types: whether it keeps state."""
    state = state_kind(content)
    if not state:
        return ()
    return (
        f"stateful: keeps state between calls in {state}; the workbench resets it before each "
        "sample, so no sample's output depends on the ones run before it (run it as a stream yourself "
        "to carry state)",
    )


def _check_indices(graph, op, number: int) -> None:
    """An IndexError for an operator that reads or writes a tensor the subgraph does not have."""
    count = graph.TensorsLength()
    used = list(op.InputsAsNumpy()) if op.InputsLength() else []
    made = list(op.OutputsAsNumpy()) if op.OutputsLength() else []
    wrong = [int(t) for t in used + made if t >= count]
    if wrong:
        raise IndexError(f"operator {number} names tensor {wrong[0]}, of {count} in its subgraph")


def _names(enum) -> dict[int, str]:
    return {v: k for k, v in vars(enum).items() if not k.startswith("_") and isinstance(v, int)}


def inspect_bytes(content: bytes, name: str = "the file") -> Inspection:
    """What ``content`` (a ``.tflite``) really is, from the flatbuffer alone.

    Raises
    ------
    ModelLoadError
        When the bytes are not a complete TFLite flatbuffer.
    """
    from ai_edge_litert import schema_py_generated as schema

    model = check_flatbuffer(content, name)
    types = _names(schema.TensorType)
    builtins = builtin_op_names()
    known = set(builtins.values())
    codes = []
    for i in range(model.OperatorCodesLength()):
        name = op_name(model, i, builtins)
        codes.append((name, name not in known and not name.startswith("BUILTIN_")))

    counts: Counter[str] = Counter()
    weights: dict[str, set] = {}
    activations: dict[str, set] = {}
    custom_ops: dict[str, bool] = {}
    float_ops = hybrid = dequantized_weights = 0
    low_bit: set[str] = set()
    integer_activations: set[str] = set()
    other_activations: set[str] = set()  # strings, booleans, int32/int64 indices
    float_op_names: dict[str, bool] = {}
    tensors = []
    for s in range(model.SubgraphsLength()):
        graph = model.Subgraphs(s)

        def constant(t, graph=graph):
            return buffer_nbytes(model, graph.Tensors(t).Buffer()) > 0

        for t in range(graph.TensorsLength()):
            tensor = graph.Tensors(t)
            if constant(t):
                nbytes = buffer_nbytes(model, tensor.Buffer())
                shape = tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()
                tensors.append(
                    (tensor.Name().decode(errors="replace"), types.get(tensor.Type(), "?"), shape, nbytes)
                )
        for o in range(graph.OperatorsLength()):
            op = graph.Operators(o)
            name, custom = codes[op.OpcodeIndex()]
            if custom:
                custom_ops[name] = True
            counts[name] += 1
            used = [int(t) for t in op.InputsAsNumpy() if t >= 0] if op.InputsLength() else []
            made = [int(t) for t in op.OutputsAsNumpy() if t >= 0] if op.OutputsLength() else []
            w = {types.get(graph.Tensors(t).Type(), "?") for t in used if constant(t)}
            a = {types.get(graph.Tensors(t).Type(), "?") for t in used + made if not constant(t)}
            # A recurrent op's int16 state is its own business, not the width of the activations.
            widths = {
                types.get(graph.Tensors(t).Type(), "?")
                for t in used + made
                if not constant(t) and not graph.Tensors(t).IsVariable()
            }
            # Shapes, indices and biases are int32 constants: they say nothing of quantization.
            w.discard("INT32")
            weights.setdefault(name, set()).update(w)
            activations.setdefault(name, set()).update(a)
            computes_float = name not in _CONVERSIONS and bool(a & _FLOATS)
            float_ops += computes_float
            if computes_float:
                float_op_names[name] = True
            if name not in _CONVERSIONS:
                integer_activations |= widths & _INTEGER_ACTIVATIONS
                other_activations |= widths - _INTEGER_ACTIVATIONS - _FLOATS - _HANDLES
            # A custom op on float tensors (a detector's post-processing) is float code of its
            # own, not a builtin kernel quantizing its input on the fly.
            if computes_float and w & _INTEGER_WEIGHTS and not custom:
                hybrid += 1
                low_bit |= w & _INTEGER_WEIGHTS
            if name == "DEQUANTIZE" and w:
                dequantized_weights += 1
                low_bit |= w & _INTEGER_WEIGHTS
                low_bit |= w & {"FLOAT16"}

    quantization, mode = _what_it_is(
        _Tally(float_ops, hybrid, dequantized_weights, low_bit, integer_activations, other_activations),
        tuple(float_op_names),
    )
    if custom_ops:
        names = ", ".join(custom_ops)
        quantization += f"; custom ops {names}"
        mode += f", custom ops {names}"
    op_types = tuple(
        OpTypes(
            op,
            n,
            tuple(sorted(weights.get(op, ()))),
            tuple(sorted(activations.get(op, ()))),
            custom_ops.get(op, False),
        )
        for op, n in counts.most_common()
    )
    trees = find_trees(content)
    if trees is not None and trees.verdict() is not None:
        quantization, mode = trees.verdict()
    main = model.Subgraphs(0)
    description = model.Description().decode(errors="replace") if model.Description() else ""
    return Inspection(
        size_bytes=len(content),
        inputs=tuple(_summary(main, int(t), types) for t in main.InputsAsNumpy()),
        outputs=tuple(_summary(main, int(t), types) for t in main.OutputsAsNumpy()),
        ops=dict(counts.most_common()),
        op_types=op_types,
        tensors=tuple(sorted(tensors, key=lambda item: -item[3])),
        signatures=_signatures(model),
        quantization=quantization,
        mode=mode,
        float_ops=float_ops,
        custom_ops=tuple(custom_ops),
        description=description,
        notes=_notes(content),
        trees=tuple(trees.lines()) if trees is not None else (),
    )


@dataclass(frozen=True)
class _Tally:
    """What the ops of a file compute on, counted over every subgraph."""

    float_ops: int
    hybrid: int
    dequantized: int
    low_bit: set
    integer_activations: set
    other_activations: set


def _what_it_is(tally: _Tally, float_op_names: tuple[str, ...]) -> tuple[str, str]:
    """The file's verdict from its tensors' types: (sentence, a word or two for a table)."""
    float_ops, low_bit, integer = tally.float_ops, tally.low_bit, tally.integer_activations
    bits = "/".join(sorted({_BITS.get(b, b.lower()) for b in low_bit if b != "FLOAT16"})) or "int8"
    if float_ops == 0 and integer:
        width = _activation_width(integer)
        label = "int16x8" if width == "int16" else width
        era = ", TF1-era quantization" if "uint8" in width else ""
        return f"full integer ({width} activations{era})", f"full-integer {label}"
    if tally.hybrid:
        return (
            f"dynamic-range ({bits} weights, float activations quantized on the fly; "
            f"{float_ops} float op(s))",
            f"dynamic-range {bits}",
        )
    if integer:
        width = _activation_width(integer)
        left = ", ".join(float_op_names)
        return (
            f"partly integer ({width} activations; {float_ops} float op(s) left: {left})",
            f"mixed {width} ({float_ops} float ops)",
        )
    if tally.dequantized:
        if low_bit == {"FLOAT16"}:
            return "float16 weights (dequantized to float32 before each op)", "float16"
        return f"weight-only ({bits} weights dequantized to float before each op)", f"weight-only {bits}"
    if float_ops == 0 and tally.other_activations:
        kinds = "/".join(sorted(t.lower() for t in tally.other_activations))
        return f"no float arithmetic to quantize ({kinds} tensors only)", f"{kinds} ops"
    return "float32 (no quantization)", "float32"


def _activation_width(integer: set) -> str:
    """``uint8``, ``int8``, ``int16`` or a mix such as ``uint8/int8``; int16 with int8 is int16x8's."""
    if "INT16" in integer:
        return "int16"
    return "/".join(_BITS[t] for t in ("UINT8", "INT8") if t in integer)


def _summary(graph, index: int, types) -> TensorSummary:
    tensor = graph.Tensors(index)
    signature = tensor.ShapeSignatureAsNumpy() if tensor.ShapeSignatureLength() else None
    shape = signature if signature is not None else (tensor.ShapeAsNumpy() if tensor.ShapeLength() else [])
    quant = tensor.Quantization()
    scale = zero_point = None
    if quant is not None and quant.ScaleLength():
        scale, zero_point = float(quant.Scale(0)), int(quant.ZeroPoint(0)) if quant.ZeroPointLength() else 0
    return TensorSummary(
        name=tensor.Name().decode(errors="replace"),
        dtype=types.get(tensor.Type(), "?").lower(),
        shape=tuple(int(d) for d in np.asarray(shape)),
        scale=scale,
        zero_point=zero_point,
    )


def _signatures(model) -> dict[str, dict[str, list[str]]]:
    found = {}
    for i in range(model.SignatureDefsLength()):
        sig = model.SignatureDefs(i)
        key = sig.SignatureKey().decode() if sig.SignatureKey() else f"signature_{i}"
        found[key] = {
            "inputs": [sig.Inputs(j).Name().decode() for j in range(sig.InputsLength())],
            "outputs": [sig.Outputs(j).Name().decode() for j in range(sig.OutputsLength())],
        }
    return found
