"""TFLite Micro as a runtime: does a file load, allocate and invoke, in how small an arena, and
with the same answers as LiteRT?

TFLite Micro is native code that aborts or segfaults on some inputs (an arena far too small,
or, for some models, a few bytes short of enough; a file it cannot parse), so it runs in a
worker process of its own: a crash there costs a fresh process and becomes a row that says
why, and neither the caller's kernel nor the warm converter worker is touched. The check takes
a loaded file (a :class:`workbench.runtime.Converted`, or anything with its attributes); the
public :func:`workbench.check_micro` also takes bytes.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from dataclasses import dataclass

import numpy as np

from ._bytes import MIB, byte_budget, format_bytes
from ._flatbuffer import builtin_op_names, read_model
from ._micro import smallest_arena
from ._tensors import dequantize_values, quantize_values
from .errors import missing_package

#: The first arena tried, and the largest; the arena grows ×8 between them while allocation fails.
FIRST_ARENA_BYTES = 1 * MIB
MAX_ARENA_BYTES = 256 * MIB
MICRO_TIMEOUT = 300.0


# ----------------------------------------------------------------------------- TFLite Micro
@dataclass(frozen=True)
class MicroCheck:
    """What TFLite Micro makes of one ``.tflite``, measured with the real interpreter.

    Attributes
    ----------
    runs : bool
        It loaded, allocated its tensors and invoked.
    reason : str
        Why it does not run, in a deployer's terms ("" when it runs).
    arena_bytes : int or None
        The smallest tensor arena with which it allocates and invokes (found by bisection).
    flash_bytes : int
        The model's bytes, which the device keeps in flash.
    outputs : numpy.ndarray or None
        Its (dequantized) primary output on the samples given, one interpreter call per sample.
    all_outputs : dict of str to numpy.ndarray
        Every output (dequantized) by the name the file's LiteRT reading gives it.
    log : str
        TFLite Micro's own last lines, when it refused the file.
    probes : int
        Interpreters the arena search built.
    """

    runs: bool
    reason: str
    arena_bytes: int | None
    flash_bytes: int
    outputs: np.ndarray | None = None
    log: str = ""
    probes: int = 0
    all_outputs: dict = dataclasses.field(default_factory=dict)


def micro_check(
    converted,
    X=None,
    *,
    arena_bytes: int | None = None,
    max_arena_bytes: int = MAX_ARENA_BYTES,
    timeout: float = MICRO_TIMEOUT,
) -> MicroCheck:
    """:func:`workbench.check_micro` on a loaded file (a ``Converted``): the same parameters."""
    content = converted.content
    info = converted.inputs[0]
    if X is None:
        X = np.zeros((1, *converted.input_shape), dtype=np.float32)
    X = converted.check_input(X)
    raw = quantize_values(X, info)
    flex = [op for op in converted.ops if op.startswith("Flex")]
    if flex:
        return MicroCheck(
            False,
            f"needs Select TF ops (Flex: {', '.join(flex)}), which TFLite Micro does not have; "
            "convert without SELECT_TF_OPS, replacing the layers behind these ops",
            None,
            len(content),
        )
    if arena_bytes is not None:
        max_arena_bytes = byte_budget("arena_bytes", arena_bytes)
    first = min(FIRST_ARENA_BYTES, int(max_arena_bytes)) if arena_bytes is None else max_arena_bytes
    payload = {"content": content, "inputs": raw, "first_arena": first, "max_arena": int(max_arena_bytes)}
    payload["find_arena"] = arena_bytes is None
    answer, crash = _call_micro(payload, timeout)
    if crash and payload["find_arena"]:
        # TFLite Micro segfaults at some arena sizes just short of enough. Run once more without
        # the search, then search from here, one probe per call: a probe that crashes fails.
        answer, crash = _call_micro({**payload, "find_arena": False}, timeout)
        if answer is not None and answer["runs"]:
            probe = {**payload, "inputs": raw[:1], "find_arena": False}

            def allocates(size):
                result, _ = _call_micro({**probe, "first_arena": size, "max_arena": size}, timeout)
                return result is not None and result["runs"]

            answer["arena"], answer["probes"] = smallest_arena(
                allocates, answer["allocated"], answer["recorded"]
            )
    if answer is None:
        where = "on this file" if arena_bytes is None else f"with an arena of {max_arena_bytes:,} bytes"
        return MicroCheck(False, f"TFLite Micro crashed {where} ({crash})", None, len(content), log=crash)
    if not answer["runs"]:
        return MicroCheck(
            False,
            _reason(answer, converted, max_arena_bytes, payload["find_arena"]),
            None,
            len(content),
            log=answer["log"],
        )
    # TFLite Micro numbers outputs as the subgraph lists them; the names are LiteRT's reading.
    order = _subgraph_outputs(content)
    indices = converted.output_tensor_indices
    named = {
        name: dequantize_values(np.asarray(answer["outputs"][order.index(indices[name])]), info)
        for name, info in zip(converted.output_names, converted.outputs, strict=True)
        if indices[name] in order
    }
    return MicroCheck(
        True,
        "",
        answer["arena"] if arena_bytes is None else arena_bytes,
        len(content),
        outputs=named.get(converted.primary_output),
        probes=answer.get("probes", 0),
        all_outputs=named,
    )


def _subgraph_outputs(content: bytes) -> list[int]:
    graph = read_model(content).Subgraphs(0)
    return [int(i) for i in graph.OutputsAsNumpy()] if graph.OutputsLength() else []


_micro_worker = None


_micro_worker_lock = threading.Lock()


def _call_micro(payload: dict, timeout: float):
    """(answer, None) from the micro-runtime worker, or (None, what happened) when it died."""
    global _micro_worker
    from ._worker import ConverterWorker, WorkerCrashed

    with _micro_worker_lock:
        if _micro_worker is None:
            _micro_worker = ConverterWorker()  # not the converter's: a TFLite Micro crash must not cost it
    try:
        answer = _micro_worker.call("tflm", payload, timeout)
    except WorkerCrashed as crash:
        log = [line for line in crash.log.strip().splitlines() if "runpy" not in line][-2:]
        what = crash.reason.replace("the converter process", "its process").replace("the converter", "it")
        return None, what + (": " + " / ".join(log) if log else "")
    if not answer["ok"]:
        if "tflite_micro" in answer["error"] and "No module" in answer["error"]:
            raise missing_package(
                "TFLite Micro", answer["error"], "to run variants as a microcontroller does", "tflite-micro"
            )
        return None, answer["error"]
    return answer["result"], None


_MISSING_OP = re.compile(r"Didn't find op for builtin opcode '([A-Z0-9_]+)'")


_HYBRID = re.compile(r"Hybrid models are not supported|type: FLOAT32 with (filter|weights?) type: INT\d")


_LOW_BIT = {"INT4": "4-bit", "UINT4": "4-bit", "INT2": "2-bit"}


_FAILED_NODE = re.compile(r"Node ([A-Z0-9_]+) \(number \d+\) failed to (prepare|invoke)")


def _reason(answer: dict, converted, max_arena: int, searched: bool) -> str:
    """Why TFLite Micro refused the file, from its log and the file's own ops and types."""
    log = answer["log"]
    missing = sorted(set(_MISSING_OP.findall(log)))
    if missing:
        return f"TFLite Micro has no kernel for {', '.join(missing)}; rebuild the model without these ops"
    types = _tensor_types(converted.content)
    refused = refused_types(types)
    if refused and (_HYBRID.search(log) or _FAILED_NODE.search(log) or "STRING" in types):
        return refused
    if _HYBRID.search(log):
        return "hybrid dynamic-range ops are not in TFLite Micro; use int8 or static_wi8_ai8 (fully integer)"
    custom = [op for op in converted.ops if op not in _builtin_names()]
    if custom and ("custom" in log.lower() or "registration" in log.lower()):
        names = ", ".join(custom)
        return (
            f"custom op{'s' if len(custom) > 1 else ''} {names} {'have' if len(custom) > 1 else 'has'} no kernel "
            "in TFLite Micro; write one and add it to your firmware's op resolver, or rebuild without it"
        )
    node = _FAILED_NODE.search(log)
    low_bit = sorted({_LOW_BIT[t] for t in types if t in _LOW_BIT})
    if node and low_bit:
        return (
            f"{' and '.join(low_bit)} weights are not in TFLite Micro's kernels; "
            "use 8-bit weights (int8 or static_wi8_ai8)"
        )
    if node and node.group(1) == "DEQUANTIZE" and "FLOAT16" in types:
        return "float16 weights are not in TFLite Micro (DEQUANTIZE takes int8/int16 only); use int8"
    if not searched:  # one arena, given by the caller: anything else is that arena falling short
        shortfall = (
            f"does not allocate and invoke in an arena of {format_bytes(max_arena)} ({max_arena:,} bytes)"
        )
        detail = "" if answer.get("allocation_failed") else _last_check(log)
        return shortfall + (f" (TFLite Micro: {detail})" if detail else "")
    if answer.get("allocation_failed"):
        return (
            f"does not allocate in the largest arena tried ({format_bytes(max_arena)}); "
            "the model needs more working memory than a microcontroller has"
        )
    if node:
        detail = _last_check(log)
        return f"TFLite Micro's {node.group(1)} kernel refuses this file's tensors ({detail})"
    return "TFLite Micro cannot load this file: " + (_last_check(log) or "it gave no reason")


def refused_types(types: set[str]) -> str:
    """TFLite Micro's reason for tensor types its kernels do not take ("" when none)."""
    if "STRING" in types:
        return (
            "string tensors are not in TFLite Micro (it has no string kernels or string tensors); "
            "turn the text into numbers (token ids) before the model"
        )
    if "UINT8" in types:
        # Its kernels say "Hybrid models are not supported" for uint8, which is not the cause.
        return (
            "uint8 tensors (TF1-era quantization) are not in TFLite Micro, whose kernels take int8 "
            "and int16; re-quantize the float32 model to int8 (the converter's int8 or static_wi8_ai8)"
        )
    return ""


def _last_check(log: str) -> str:
    lines = [line.strip() for line in log.splitlines() if line.strip() and not _FAILED_NODE.search(line)]
    return lines[-1][-200:] if lines else ""


def _builtin_names() -> set[str]:
    return set(builtin_op_names().values())


def _tensor_types(content: bytes) -> set[str]:
    """The names of the tensor types in a flatbuffer (``FLOAT16``, ``INT4``, ...)."""
    from ai_edge_litert import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    model = read_model(content)
    return {
        names.get(model.Subgraphs(s).Tensors(t).Type(), "?")
        for s in range(model.SubgraphsLength())
        for t in range(model.Subgraphs(s).TensorsLength())
    }


ARENA_NOTE = (
    "TFLite Micro's arena is measured with its Python interpreter on a 64-bit host; a 32-bit "
    "microcontroller build needs somewhat less (its bookkeeping is pointer-sized)"
)
