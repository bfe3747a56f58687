"""A serving signature for a ``.tflite`` that has none (most files from the TF1 era).

LiteRT Quantizer calibrates and quantizes through a signature; a file converted from a frozen
graph has none. The signature is built from the main subgraph's own inputs and outputs, named
by their tensors' names, and written into a copy of the flatbuffer: the SignatureDef is the
only change (operators, tensors and weight buffers are copied as they are). A file whose entry
point is ambiguous (several subgraphs that no op calls), whose inputs or outputs have no name
or share one, or whose weights live outside the flatbuffer, is refused with the reason.
"""

from __future__ import annotations

from .errors import ModelLoadError

SERVING_KEY = "serving_default"


def with_serving_signature(content: bytes, name: str = "the file") -> bytes:
    """``content`` with a ``serving_default`` signature over its main subgraph's inputs and
    outputs (tensor names as the signature's names); everything else is unchanged.

    Raises
    ------
    ModelLoadError
        When no such signature can be built, saying why.
    """
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(content, 0)
    if model.signatureDefs:
        return bytes(content)
    _check_buffers(model, name)
    graph = model.subgraphs[0]
    _check_entry_point(model, name)
    inputs = [_tensor_map(schema, graph, int(i), "input", name) for i in graph.inputs]
    outputs = [_tensor_map(schema, graph, int(i), "output", name) for i in graph.outputs]
    names = [m.name for m in inputs] + [m.name for m in outputs]
    repeated = sorted({n.decode(errors="replace") for n in names if names.count(n) > 1})
    if repeated:
        raise _refusal(name, f"its inputs and outputs share the name(s) {', '.join(repeated)}")
    signature = schema.SignatureDefT()
    signature.inputs, signature.outputs = inputs, outputs
    signature.signatureKey, signature.subgraphIndex = SERVING_KEY.encode(), 0
    model.signatureDefs = [signature]
    builder = flatbuffers.Builder(len(content) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _tensor_map(schema, graph, index: int, side: str, name: str):
    tensor_name = graph.tensors[index].name or b""
    if not tensor_name.strip():
        raise _refusal(name, f"its {side} tensor {index} has no name, which a signature needs")
    mapped = schema.TensorMapT()
    mapped.name, mapped.tensorIndex = tensor_name, index
    return mapped


def _check_buffers(model, name: str) -> None:
    # Weights stored after the flatbuffer (Buffer.offset) would not survive a rewrite.
    if any((buffer.offset or 0) > 1 for buffer in model.buffers or ()):
        raise _refusal(name, "its weights are stored outside the flatbuffer (offset buffers)")


def _check_entry_point(model, name: str) -> None:
    """Subgraph 0 must be the only subgraph that no op calls (the others: loop bodies, branches)."""
    called = set()
    for graph in model.subgraphs:
        for op in graph.operators or ():
            options = op.builtinOptions
            for field, value in vars(options).items() if options is not None else ():
                if field.lower().endswith("subgraphindex") and isinstance(value, int):
                    called.add(value)
    entries = [i for i in range(len(model.subgraphs)) if i not in called]
    if entries != [0]:
        listed = ", ".join(str(i) for i in entries) or "none"
        raise _refusal(
            name,
            f"it has {len(model.subgraphs)} subgraphs and the ones no op calls ({listed}) are not just "
            "subgraph 0, so which one to serve is ambiguous",
        )


def _refusal(name: str, why: str) -> ModelLoadError:
    return ModelLoadError(
        received=f"{name}, a file with no signature, for which none can be built: {why}",
        expected=(
            "A float32 .tflite whose main subgraph's inputs and outputs have names: LiteRT Quantizer "
            "calibrates and quantizes through a signature, built from those."
        ),
        fix=(
            "Re-convert the model with a signature (tf.lite.TFLiteConverter.from_saved_model or "
            "from_concrete_functions), or compare the file as-is (modes=[])."
        ),
    )
