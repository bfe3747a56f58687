"""The one reader of TFLite flatbuffers: parsing, op names, constant data, offset buffers.

Every module that looks inside a ``.tflite`` without an interpreter asks here: :func:`read_model`
parses, :func:`op_name` names an operator code (builtin, deprecated builtin or custom),
:func:`buffer_nbytes` says how much constant data a tensor has.

**Offset buffers**: constant data stored after the flatbuffer instead of inside it.

LiteRT Quantizer writes a model whose constant buffers total 256 KiB or more with
``Buffer.offset``/``Buffer.size`` set and ``Buffer.data`` empty: the bytes sit after the
flatbuffer, 16-byte aligned (``litert_quantizer/model_modifier.py``, ``_serialize_model``).
LiteRT reads such files; TFLite Micro does not (it takes those tensors for activations and
puts the weights in its arena), and a reader that asks only ``Buffer.DataLength()`` sees no
weights at all. Every reader here asks :func:`buffer_nbytes`, and every file that goes to a
board or to the user goes through :func:`inline_buffers` first.

An offset is valid only above 1: serializers reserve the field with ``offset=1, size=1``
before the real value is known (TensorFlow's ``IsValidBufferOffset``, the quantizer's
``_serialize_model``).
"""

from __future__ import annotations

import functools
from collections import Counter

import numpy as np

#: Flatbuffers address with 32-bit offsets: a plain file cannot reach 2 GiB.
_FLATBUFFER_LIMIT = 2**31 - 1
#: TFLite's schema asks ``force_align: 16`` for buffer data (TFLite Micro reads it in place).
_DATA_ALIGNMENT = 16


def is_offset(offset: int) -> bool:
    """True when a ``Buffer.offset`` (or ``Operator.large_custom_options_offset``) points at data."""
    return offset > 1


def buffer_nbytes(model, index: int) -> int:
    """The bytes stored for buffer ``index`` of a parsed ``schema.Model``, inline or at an offset.

    0 for buffer 0 (the empty sentinel), an index out of range, or an empty buffer.
    """
    if index <= 0 or index >= model.BuffersLength():
        return 0
    buffer = model.Buffers(index)
    if buffer is None:
        return 0
    if is_offset(buffer.Offset()):
        return int(buffer.Size())
    return int(buffer.DataLength())


def offset_buffers(content: bytes) -> int:
    """How many buffers (and custom options) ``content`` keeps after the flatbuffer.

    0 for bytes that do not parse as a TFLite flatbuffer: whoever loads them says why.
    """
    import struct

    from ai_edge_litert import schema_py_generated as schema

    if len(content) < 8 or content[4:8] != b"TFL3":
        return 0
    try:
        model = schema.Model.GetRootAs(content, 0)
        count = sum(is_offset(model.Buffers(b).Offset()) for b in range(model.BuffersLength()))
        for s in range(model.SubgraphsLength()):
            graph = model.Subgraphs(s)
            for o in range(graph.OperatorsLength()):
                count += is_offset(graph.Operators(o).LargeCustomOptionsOffset())
    except (struct.error, IndexError, ValueError, TypeError):
        return 0
    return int(count)


def inline_buffers(content: bytes) -> bytes:
    """``content`` as a plain flatbuffer: every offset buffer written inline in ``Buffer.data``.

    The same tensors, buffers (same indices, same bytes), operators, signatures and
    metadata; buffer data 16-byte aligned, as the converter writes it. Bytes without offset
    buffers come back unchanged (the same object), and so do files of 2 GiB or more, which a
    plain flatbuffer cannot address, and bytes that are not a TFLite flatbuffer (for the
    loader's own error to describe).

    Parameters
    ----------
    content : bytes
        A ``.tflite`` flatbuffer.

    Returns
    -------
    bytes
    """
    if len(content) >= _FLATBUFFER_LIMIT or not offset_buffers(content):
        return content
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    whole = np.frombuffer(content, dtype=np.uint8)
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(content, 0))
    buffers = []
    for buffer in model.buffers or []:
        data = buffer.data
        if is_offset(buffer.offset):
            data = whole[buffer.offset : buffer.offset + buffer.size] if buffer.size else None
        elif buffer.offset or buffer.size:
            data = None  # a reserved placeholder that never received its data
        buffers.append(_AlignedBuffer(data))
    model.buffers = buffers
    for graph in model.subgraphs or []:
        for op in graph.operators or []:
            if is_offset(op.largeCustomOptionsOffset):
                start = op.largeCustomOptionsOffset
                op.customOptions = whole[start : start + op.largeCustomOptionsSize]
            op.largeCustomOptionsOffset = op.largeCustomOptionsSize = 0
    builder = flatbuffers.Builder(len(content) + 4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


class _AlignedBuffer:
    """A ``BufferT`` that packs its data 16-byte aligned (the generated ``Pack`` aligns to 1)."""

    def __init__(self, data):
        self.data = data

    def Pack(self, builder):  # noqa: N802 -- the generated object API's name
        from ai_edge_litert import schema_py_generated as schema

        vector = None
        if self.data is not None:
            raw = np.ascontiguousarray(self.data).view(np.uint8).reshape(-1).tobytes()
            builder.StartVector(1, len(raw), _DATA_ALIGNMENT)
            builder.head -= len(raw)
            builder.Bytes[builder.head : builder.head + len(raw)] = raw
            vector = builder.EndVector()
        schema.BufferStart(builder)
        if vector is not None:
            schema.BufferAddData(builder, vector)
        return schema.BufferEnd(builder)


def read_model(content: bytes):
    """``content`` parsed as a ``schema.Model`` (no checks: :func:`workbench.inspection.check_flatbuffer`
    says why bytes are not a model)."""
    from ai_edge_litert import schema_py_generated as schema

    return schema.Model.GetRootAsModel(content, 0)


def op_name(model, opcode_index: int, names: dict[int, str] | None = None) -> str:
    """The builtin name of operator code ``opcode_index`` (``CONV_2D``), or a custom op's own code.

    Files written before builtin codes passed 127 keep them in ``DeprecatedBuiltinCode``: the
    larger of the two fields is the code.
    """
    code = model.OperatorCodes(opcode_index)
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    names = builtin_op_names() if names is None else names
    if names.get(builtin) == "CUSTOM":
        custom = code.CustomCode()
        return custom.decode(errors="replace") if custom else "CUSTOM"
    return names.get(builtin, f"BUILTIN_{builtin}")


def is_constant(model, tensor) -> bool:
    """Whether ``tensor`` (of ``model``) has stored data: a weight or a constant."""
    return buffer_nbytes(model, tensor.Buffer()) > 0


@functools.lru_cache(maxsize=1)
def builtin_op_names() -> dict[int, str]:
    """Builtin operator codes to names, as the schema the runtime ships with spells them."""
    from ai_edge_litert import schema_py_generated as schema

    return {
        value: name
        for name, value in vars(schema.BuiltinOperator).items()
        if not name.startswith("_") and isinstance(value, int)
    }


def stored_tensor_types(content: bytes) -> dict[str, int]:
    """How many tensors with stored data (weights, constants) the file has, by type."""
    from ai_edge_litert import schema_py_generated as schema

    names = {v: k.lower() for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    model = schema.Model.GetRootAsModel(content, 0)
    counts: Counter[str] = Counter()
    for s in range(model.SubgraphsLength()):
        graph = model.Subgraphs(s)
        for t in range(graph.TensorsLength()):
            tensor = graph.Tensors(t)
            if buffer_nbytes(model, tensor.Buffer()):
                counts[names.get(tensor.Type(), "?")] += 1
    return dict(counts)


def op_graph(content: bytes) -> list[dict]:
    """The operators of the main subgraph in order: builtin name, and the names of the
    tensors each reads (constants apart) and writes. Read from the flatbuffer alone."""
    from ai_edge_litert import schema_py_generated as schema

    names = builtin_op_names()
    model = schema.Model.GetRootAsModel(content, 0)
    graph = model.Subgraphs(0)

    def tensor(index):
        t = graph.Tensors(index)
        constant = buffer_nbytes(model, t.Buffer()) > 0
        return t.Name().decode(errors="replace"), constant

    ops = []
    for o in range(graph.OperatorsLength()):
        op = graph.Operators(o)
        code = model.OperatorCodes(op.OpcodeIndex())
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        inputs = [tensor(i) for i in op.InputsAsNumpy() if i >= 0] if op.InputsLength() else []
        ops.append(
            {
                "op": names.get(builtin, f"BUILTIN_{builtin}"),
                "inputs": [name for name, constant in inputs if not constant],
                "weights": [name for name, constant in inputs if constant],
                "outputs": [tensor(i)[0] for i in op.OutputsAsNumpy()] if op.OutputsLength() else [],
            }
        )
    return ops


def builtin_op_counts(content: bytes) -> dict[str, int]:
    """Count the operators of every subgraph by builtin name (custom ops by their code)."""
    from ai_edge_litert import schema_py_generated as schema

    names = builtin_op_names()
    model = schema.Model.GetRootAsModel(content, 0)
    codes = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == schema.BuiltinOperator.CUSTOM:
            custom = code.CustomCode()
            codes.append(custom.decode() if custom else "CUSTOM")
        else:
            codes.append(names.get(builtin, f"BUILTIN_{builtin}"))
    counts: Counter[str] = Counter()
    for s in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(s)
        for o in range(subgraph.OperatorsLength()):
            counts[codes[subgraph.Operators(o).OpcodeIndex()]] += 1
    return dict(counts.most_common())


_NUMPY_TYPES = {
    "FLOAT32": np.float32,
    "FLOAT16": np.float16,
    "FLOAT64": np.float64,
    "INT8": np.int8,
    "UINT8": np.uint8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "BOOL": np.bool_,
}


def named_constants(content: bytes, prefix: str) -> dict[str, np.ndarray]:
    """The constants of the main subgraph whose names start with ``prefix``, as arrays of
    their stored type and shape (inline or offset buffers alike); types numpy has no
    equivalent for (int4, strings) are left out."""
    from ai_edge_litert import schema_py_generated as schema

    types = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    model = read_model(content)
    graph = model.Subgraphs(0)
    found: dict[str, np.ndarray] = {}
    for t in range(graph.TensorsLength()):
        tensor = graph.Tensors(t)
        name = tensor.Name().decode(errors="replace")
        dtype = _NUMPY_TYPES.get(types.get(tensor.Type(), ""))
        if not name.startswith(prefix) or dtype is None or not buffer_nbytes(model, tensor.Buffer()):
            continue
        buffer = model.Buffers(tensor.Buffer())
        if is_offset(buffer.Offset()):
            raw = bytes(content[buffer.Offset() : buffer.Offset() + buffer.Size()])
        else:
            raw = buffer.DataAsNumpy().tobytes()
        shape = tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()
        found[name] = np.frombuffer(raw, dtype=dtype).reshape(shape)
    return found
