"""Offset buffers: constant data stored after the flatbuffer instead of inside it.

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
