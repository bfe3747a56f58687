"""A quantized file's signature outputs, pointed back at the tensors the file really returns.

LiteRT Quantizer's static recipes add a DEQUANTIZE (or QUANTIZE) after an output that stays
float, and make the new tensor the subgraph's output (``PartitionedCall:0_dequant``), but leave
the signature naming the tensor before it. A reader of the signature then gets an intermediate
tensor (whose memory the runtime may reuse), and a reader of the subgraph's outputs gets
tensor names instead of ``predict``, ``predict_proba``. Here each such signature output is
pointed at the subgraph output made from it, so that every reader finds the outputs by name.
"""

from __future__ import annotations

from ._flatbuffer import op_name, read_model

#: Ops the quantizer puts between a tensor and the output made from it.
_CONVERSION_OPS = ("DEQUANTIZE", "QUANTIZE")


def unmatched_signature_outputs(content: bytes) -> list[tuple[str, str]]:
    """``(signature, output name)`` of every signature output that is not one of its
    subgraph's outputs (empty for a consistent file)."""
    model = read_model(content)
    unmatched = []
    for s in range(model.SignatureDefsLength()):
        signature = model.SignatureDefs(s)
        subgraph = model.Subgraphs(signature.SubgraphIndex())
        outputs = set(subgraph.OutputsAsNumpy().tolist()) if subgraph.OutputsLength() else set()
        for o in range(signature.OutputsLength()):
            mapping = signature.Outputs(o)
            if mapping.TensorIndex() not in outputs:
                unmatched.append((_text(signature.SignatureKey()), _text(mapping.Name())))
    return unmatched


def restore_output_names(content: bytes) -> bytes:
    """``content`` with every signature output re-pointed at the subgraph output that the
    quantizer made from it (one DEQUANTIZE/QUANTIZE away); unchanged when nothing needs it.
    An output with no such counterpart is left as it is (``unmatched_signature_outputs``
    still names it)."""
    if not unmatched_signature_outputs(content):
        return content
    from ai_edge_litert.tools import flatbuffer_utils

    reader = read_model(content)
    op_names = [op_name(reader, i) for i in range(reader.OperatorCodesLength())]
    model = flatbuffer_utils.read_model_from_bytearray(bytearray(content))
    changed = False
    for signature in model.signatureDefs or []:
        subgraph = model.subgraphs[signature.subgraphIndex]
        outputs = list(subgraph.outputs)
        claimed = {m.tensorIndex for m in signature.outputs if m.tensorIndex in outputs}
        made_from = {}
        for op in subgraph.operators or []:
            if op_names[op.opcodeIndex] in _CONVERSION_OPS and len(op.outputs) == 1 and len(op.inputs) == 1:
                made_from.setdefault(int(op.inputs[0]), []).append(int(op.outputs[0]))
        for mapping in signature.outputs:
            if mapping.tensorIndex in outputs:
                continue
            found = [
                t for t in made_from.get(int(mapping.tensorIndex), []) if t in outputs and t not in claimed
            ]
            if len(found) == 1:
                mapping.tensorIndex = found[0]
                claimed.add(found[0])
                changed = True
    if not changed:
        return content
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
