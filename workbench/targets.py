"""Where a variant can run: TFLite Micro (loads? invokes? arena, flash, same answers as LiteRT),
LiteRT's memory beyond the file, a board's budget, and the model as C source.

TFLite Micro is native code that aborts or segfaults on some inputs (an arena far too small,
or, for some models, a few bytes short of enough; a file it cannot parse), so it runs in a
worker process of its own: a crash there costs a fresh process and becomes a row that says
why, and neither the caller's kernel nor the warm converter worker is touched. Nothing here
imports TensorFlow.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import threading
from dataclasses import dataclass

import numpy as np

from ._flatbuffer import buffer_nbytes
from ._micro import smallest_arena
from .csource import c_source, save_c
from .errors import ModelLoadError, TargetError, WorkerCrashedError

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB

#: The first arena tried, and the largest; the arena grows ×8 between them while allocation fails.
FIRST_ARENA_BYTES = 1 * MIB
MAX_ARENA_BYTES = 256 * MIB
#: Test samples run on TFLite Micro to compare its outputs with LiteRT's.
AGREEMENT_SAMPLES = 1000
#: Below this share of labels agreeing with LiteRT, a variant that runs is flagged: beyond the
#: odd tie that rounding breaks differently, the runtimes compute different things.
AGREEMENT_WARNING = 0.99
MICRO_TIMEOUT = 300.0


# ------------------------------------------------------------------------------------- targets
@dataclass(frozen=True)
class Target:
    """Where a variant should run and the memory it may use there.

    Parameters
    ----------
    name : str, default="custom"
    ram_bytes : int or None
        RAM for the model's working memory: the TFLite Micro tensor arena on a
        microcontroller, the interpreter's memory beyond the file with LiteRT. ``None``:
        no limit.
    flash_bytes : int or None
        Storage for the model itself (flash on a microcontroller). ``None``: no limit.
    runtime : {"tflm", "litert"}, default="tflm"
        The runtime the device runs ``.tflite`` files with.
    description : str, default=""
    """

    name: str = "custom"
    ram_bytes: int | None = None
    flash_bytes: int | None = None
    runtime: str = "tflm"
    description: str = ""

    def __post_init__(self):
        for field in ("ram_bytes", "flash_bytes"):
            object.__setattr__(self, field, byte_budget(field, getattr(self, field)))
        if self.runtime not in RUNTIMES:
            raise TargetError(
                received=f"runtime={self.runtime!r}",
                expected=f"One of {', '.join(map(repr, RUNTIMES))}.",
                fix="Use 'tflm' for a microcontroller, 'litert' for a phone or a PC.",
            )

    def describe(self) -> str:
        ram = "any" if self.ram_bytes is None else format_bytes(self.ram_bytes)
        flash = "any" if self.flash_bytes is None else format_bytes(self.flash_bytes)
        return f"{self.name}: {ram} RAM, {flash} flash, {RUNTIMES[self.runtime]}"


def as_target(target) -> Target:
    """A :class:`Target` from a preset name, a budget string, a dict, or a Target.

    Parameters
    ----------
    target : str, dict or Target
        ``"cortex-m4"`` (see :data:`PRESETS`); ``"ram=256KB,flash=1MB"``; a dict such as
        ``{"ram": "256KB", "flash": "1MB"}`` or ``{"ram_bytes": 262144}``. KB, MB and GB are
        the binary units datasheets mean (1 KB = 1024 bytes); plain numbers are bytes.
    """
    if isinstance(target, Target):
        return target
    if isinstance(target, dict):
        return _target_from_dict(target)
    if isinstance(target, str):
        name = target.strip().lower()
        if name in PRESETS:
            return PRESETS[name]
        if "=" in name:
            pairs = [part.split("=", 1) for part in name.split(",") if part.strip()]
            if all(len(pair) == 2 for pair in pairs):
                return _target_from_dict({k.strip(): v.strip() for k, v in pairs})
        near = difflib.get_close_matches(name, list(PRESETS), n=1, cutoff=0.4)
        hint = f" Did you mean {near[0]!r}?" if near else ""
        raise TargetError(
            received=f"target={target!r}",
            expected=f"A preset ({', '.join(PRESETS)}) or a budget such as 'ram=256KB,flash=1MB'.",
            fix=f"Presets: {presets_help()}.{hint}",
        )
    raise TargetError(
        received=f"target of type {type(target).__name__}",
        expected="A preset name, a dict of budgets or a workbench.Target.",
        fix="Pass e.g. target='cortex-m4' or target={'ram': '256KB', 'flash': '1MB'}.",
    )


_KEYS = {"ram": "ram_bytes", "ram_bytes": "ram_bytes", "flash": "flash_bytes", "flash_bytes": "flash_bytes"}


def _target_from_dict(budget: dict) -> Target:
    unknown = [k for k in budget if k not in (*_KEYS, "name", "runtime", "description")]
    if unknown:
        raise TargetError(
            received=f"budget keys {', '.join(map(repr, unknown))}",
            expected="Keys among ram, flash (or ram_bytes, flash_bytes), name, runtime, description.",
            fix="Write e.g. {'ram': '256KB', 'flash': '1MB'}.",
        )
    fields = {_KEYS.get(k, k): v for k, v in budget.items()}
    return Target(**fields)


_UNITS = {"": 1, "b": 1}
_UNITS.update(
    {
        prefix + suffix: size
        for prefix, size in (("k", KIB), ("m", MIB), ("g", GIB))
        for suffix in ("", "b", "ib")
    }
)


def byte_budget(field: str, value) -> int | None:
    """Bytes from an int or a string with a unit; clear errors for the mistakes people make."""
    if value is None:
        return None
    text = value
    if isinstance(value, str):
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*", value)
        unit = match.group(2).lower() if match else None
        if match is None or unit not in _UNITS:
            raise TargetError(
                received=f"{field}={value!r}",
                expected="A number of bytes, or a number with a unit among B, KB, MB, GB (1 KB = 1024 B).",
                fix=f"Write e.g. {field.split('_')[0]}='256KB'.",
            )
        value = float(match.group(1)) * _UNITS[unit]
        if value != int(value):
            value = int(round(value))
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TargetError(
            received=f"{field}={text!r} of type {type(text).__name__}",
            expected="A number of bytes or a string such as '256KB'.",
            fix=f"Write e.g. {field}=262144 or {field.split('_')[0]}='256KB'.",
        )
    if value < 0 or value != int(value):
        raise TargetError(
            received=f"{field}={text!r}",
            expected="A positive whole number of bytes.",
            fix="Budgets are sizes: give bytes, or a string such as '256KB'.",
        )
    if value < KIB:
        raise TargetError(
            received=f"{field}={text!r}, i.e. {int(value)} bytes",
            expected="A budget of at least 1 KB; no .tflite model fits in less.",
            fix=f"If you meant kilobytes, write '{text}KB' (or {int(value) * KIB} bytes).",
        )
    return int(value)


def format_bytes(n) -> str:
    """1536 -> '1.5 KB' (binary units, as datasheets mean them)."""
    for unit, size in (("GB", GIB), ("MB", MIB), ("KB", KIB)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} B"


RUNTIMES = {"tflm": "TFLite Micro", "litert": "LiteRT"}

#: The presets: published RAM/flash of common boards. A board is a row here, nothing else.
PRESETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target(
            "cortex-m4", 256 * KIB, 1 * MIB, "tflm", "Arduino Nano 33 BLE Sense class (nRF52840, Cortex-M4F)"
        ),
        Target("cortex-m7", 320 * KIB, 1 * MIB, "tflm", "STM32F746 Discovery class (Cortex-M7)"),
        Target("rp2040", 264 * KIB, 2 * MIB, "tflm", "Raspberry Pi Pico (RP2040, Cortex-M0+)"),
        Target("esp32-s3", 512 * KIB, 8 * MIB, "tflm", "ESP32-S3 with 512 KB SRAM and 8 MB flash, no PSRAM"),
        Target(
            "phone",
            1 * GIB,
            4 * GIB,
            "litert",
            "a phone app with LiteRT on the CPU (1 GiB RAM, 4 GiB storage for the model: an assumption)",
        ),
    )
}


def presets_help() -> str:
    """One line per preset, for ``--help`` and error messages."""
    return "; ".join(f"{t.describe()} ({t.description})" for t in PRESETS.values())


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


def check_micro(
    model,
    X=None,
    *,
    arena_bytes: int | None = None,
    max_arena_bytes: int = MAX_ARENA_BYTES,
    timeout: float = MICRO_TIMEOUT,
) -> MicroCheck:
    """Load, allocate and invoke a ``.tflite`` on TFLite Micro; find the smallest arena.

    Parameters
    ----------
    model : Converted or bytes
    X : array-like of shape (n_samples, *input_shape), default=None
        Samples to run (quantized with the file's own scale and zero point when its input is
        integer); their outputs are returned, dequantized. ``None`` invokes once on zeros.
    arena_bytes : int, default=None
        Try this arena only, with no search: does the model allocate and invoke in it?
    max_arena_bytes : int, default=256 MB
        The largest arena tried; a model that needs more is reported as not fitting any.
    timeout : float, default=300

    Returns
    -------
    MicroCheck
    """
    from .runtime import Converted, dequantize_values, quantize_values

    converted = model if isinstance(model, Converted) else Converted(bytes(model))
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
    from ai_edge_litert import schema_py_generated as schema

    graph = schema.Model.GetRootAsModel(content, 0).Subgraphs(0)
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
            raise ModelLoadError(
                received=f"no importable TFLite Micro ({answer['error']})",
                expected="The tflite-micro package, to run variants as a microcontroller does.",
                fix="Install it with: pip install tflite-micro",
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
    refused = _refused_types(types)
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


def _refused_types(types: set[str]) -> str:
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
    from .runtime import builtin_op_names

    return set(builtin_op_names().values())


def _tensor_types(content: bytes) -> set[str]:
    """The names of the tensor types in a flatbuffer (``FLOAT16``, ``INT4``, ...)."""
    from ai_edge_litert import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    model = schema.Model.GetRootAsModel(content, 0)
    return {
        names.get(model.Subgraphs(s).Tensors(t).Type(), "?")
        for s in range(model.SubgraphsLength())
        for t in range(model.Subgraphs(s).TensorsLength())
    }


#: How the arena is measured, for tables, reports and summaries.

# ------------------------------------------------------------------------- LiteRT's first load
# LiteRT is native code: a file it does not expect (a blockwise-quantized tensor whose scales
# point nowhere, say) can abort or segfault the process that opens it. A file made elsewhere is
# therefore opened, allocated and invoked once on zeros in the worker first; only a file that
# did not end the worker there is opened in the caller. The answer is kept per file content
# (its SHA-256), so a file is probed once per session.

#: Seconds the probe may take: opening and one invocation on zeros of a file of any size.
PROBE_TIMEOUT = 120.0


@dataclass(frozen=True)
class LoadProbe:
    """What LiteRT did with a file in the worker.

    Attributes
    ----------
    crashed : str
        How LiteRT ended (or hung) the worker, e.g. ``"was killed by signal 11"``; ``""`` when
        it answered, with or without an error. Only a file with ``crashed == ""`` is opened
        in the caller.
    stage : str
        How far it got: ``"invoked"``, or the stage that failed (``"load"``, ``"allocation"``,
        ``"invocation"``).
    error : str
        LiteRT's own message where a stage failed (``""`` otherwise).
    """

    crashed: str
    stage: str
    error: str = ""

    @property
    def safe(self) -> bool:
        return not self.crashed


_answers: dict[str, LoadProbe] = {}
_lock = threading.Lock()


def probe_litert(content: bytes, timeout: float = PROBE_TIMEOUT) -> LoadProbe:
    """Open, allocate and invoke ``content`` once on LiteRT in the worker process (cached)."""
    import hashlib

    from ._worker import run

    key = hashlib.sha256(content).hexdigest()
    with _lock:
        if key in _answers:
            return _answers[key]
    try:
        answer = run("probe_litert", {"content": bytes(content)}, timeout, what="first load of a .tflite")
        if answer["ok"]:
            probe = LoadProbe(crashed="", stage=answer["result"]["stage"], error=answer["result"]["error"])
        else:  # an error of the probe's own, not LiteRT's: the caller's load reports LiteRT's
            probe = LoadProbe(crashed="", stage="unknown", error=answer["error"])
    except WorkerCrashedError as err:
        # "a first load of a .tflite during which the converter process was killed by signal 11"
        probe = LoadProbe(crashed=err.received.split("during which ", 1)[-1], stage="load or allocation")
    with _lock:
        _answers[key] = probe
    return probe


def refuse_crashing_file(probe: LoadProbe, name: str) -> None:
    """A :class:`ModelLoadError` for a file LiteRT crashed on in the worker; nothing otherwise."""
    if probe.safe:
        return
    raise ModelLoadError(
        received=(
            f"{name}, which LiteRT cannot open: tried first in the worker process, LiteRT ended it "
            f"at {probe.stage} ({probe.crashed}); your session was not touched"
        ),
        expected="A .tflite that LiteRT can load, allocate and invoke.",
        fix=(
            "`workbench inspect FILE` still reads what the flatbuffer holds, without LiteRT; re-export "
            "the model with tensor types and quantization LiteRT supports."
        ),
    )


ARENA_NOTE = (
    "TFLite Micro's arena is measured with its Python interpreter on a 64-bit host; a 32-bit "
    "microcontroller build needs somewhat less (its bookkeeping is pointer-sized)"
)


def where_it_runs(converted) -> list[str]:
    """Lines saying whether a file allocates and invokes on LiteRT and on TFLite Micro."""
    from .runtime import runtime_failure

    # LiteRT's answer is the worker's, at the file's declared shapes: it holds for any input
    # (a scalar, text) and never risks the caller.
    probe = probe_litert(converted.content)
    if not probe.safe:
        lines = [f"runs on LiteRT: no (it ended the worker process that opened it: {probe.crashed})"]
    elif probe.stage == "invoked":
        lines = ["runs on LiteRT: yes"]
    else:
        stage = "allocation" if probe.stage in ("load", "allocation") else "invocation"
        lines = [f"runs on LiteRT: no ({runtime_failure(probe.error, stage, 1).received})"]
    if any(np.dtype(info.dtype).kind in "OSU" for info in converted.inputs):
        return [*lines, f"runs on TFLite Micro: no ({_refused_types({'STRING'})})"]
    if len(converted.inputs) > 1:
        return [*lines, "runs on TFLite Micro: not checked (several inputs)"]
    check = check_micro(converted)
    if check.runs:
        lines.append(
            f"runs on TFLite Micro: yes, arena {check.arena_bytes:,} bytes ({format_bytes(check.arena_bytes)}, "
            f"64-bit host; a 32-bit build needs somewhat less)"
        )
    else:
        lines.append(f"runs on TFLite Micro: no ({check.reason})")
    return lines


# -------------------------------------------------------------------------------- LiteRT memory
def litert_memory_estimate(content: bytes) -> int:
    """An estimate of the memory LiteRT needs beyond the file, for one sample.

    The peak, over the operators in execution order, of the bytes of the non-constant
    tensors alive at that operator (inputs, outputs and intermediates, batch 1), which is
    what an ideal arena plan reaches. XNNPACK's repacked weights and the interpreter's own
    structures are not counted, so a real process uses more.
    """
    from ai_edge_litert import schema_py_generated as schema

    sizes = {
        schema.TensorType.FLOAT32: 4,
        schema.TensorType.FLOAT16: 2,
        schema.TensorType.INT32: 4,
        schema.TensorType.UINT8: 1,
        schema.TensorType.INT64: 8,
        schema.TensorType.BOOL: 1,
        schema.TensorType.INT16: 2,
        schema.TensorType.INT8: 1,
        schema.TensorType.FLOAT64: 8,
    }
    model = schema.Model.GetRootAsModel(content, 0)
    subgraph = model.Subgraphs(0)

    def constant(t):
        return buffer_nbytes(model, subgraph.Tensors(t).Buffer()) > 0

    def nbytes(t):
        tensor = subgraph.Tensors(t)
        shape = [abs(int(d)) or 1 for d in tensor.ShapeAsNumpy()] if tensor.ShapeLength() else []
        return int(np.prod(shape, dtype=np.int64)) * sizes.get(tensor.Type(), 4)

    first, last = {}, {}
    graph_inputs = [int(t) for t in subgraph.InputsAsNumpy()]
    graph_outputs = [int(t) for t in subgraph.OutputsAsNumpy()]
    n_ops = subgraph.OperatorsLength()
    for t in graph_inputs:
        first[t] = 0
    for o in range(n_ops):
        op = subgraph.Operators(o)
        used = [int(t) for t in op.InputsAsNumpy()] if op.InputsLength() else []
        made = [int(t) for t in op.OutputsAsNumpy()] if op.OutputsLength() else []
        made += [int(t) for t in op.IntermediatesAsNumpy()] if op.IntermediatesLength() else []
        for t in used + made:
            if t < 0 or constant(t):
                continue
            first.setdefault(t, o)
            last[t] = o
    for t in graph_outputs:
        last[t] = n_ops
    peak = 0
    for o in range(max(n_ops, 1)):
        alive = sum(nbytes(t) for t in first if first[t] <= o <= last.get(t, first[t]))
        peak = max(peak, alive)
    return int(peak)


# ------------------------------------------------------------------------------------- budgets
def deployment(converted, litert_outputs, X, *, target=None, dataset=None, output_kind="proba") -> dict:
    """The table's deployment columns for one variant (see :func:`workbench.compare`)."""
    from .evaluate import fidelity

    target = as_target(target) if target is not None else None
    samples = np.asarray(X)[:AGREEMENT_SAMPLES]
    check = check_micro(converted, samples)
    agreement = max_abs = np.nan
    reason = check.reason
    if check.runs and dataset is not None:
        agreement, max_abs = fidelity(dataset, litert_outputs[: len(samples)], check.outputs, output_kind)
        if dataset.task == "classification" and agreement < AGREEMENT_WARNING:
            reason = (
                f"answers otherwise than LiteRT for the same file ({agreement:.1%} of labels agree, "
                f"max |Δ| {max_abs:.3g}): a TFLite Micro kernel computes it differently; check on the device"
            )
    columns = {
        "tflm": check.runs,
        "tflm_reason": reason,
        "tflm_arena_bytes": check.arena_bytes if check.arena_bytes is not None else np.nan,
        "flash_bytes": check.flash_bytes,
        "tflm_agreement": agreement,
        "tflm_max_abs_diff": max_abs,
        "litert_memory_bytes": litert_memory_estimate(converted.content),
    }
    if target is not None:
        columns["fits"], columns["fits_detail"] = fits(columns, target)
    return columns


def blank_deployment(target=None) -> dict:
    """The deployment columns of a row that has no ``.tflite`` (the original): all empty."""
    columns = {"tflm": None, "tflm_reason": ""}
    for key in (
        "tflm_arena_bytes",
        "flash_bytes",
        "tflm_agreement",
        "tflm_max_abs_diff",
        "litert_memory_bytes",
    ):
        columns[key] = np.nan
    if target is not None:
        columns.update(fits=None, fits_detail="")
    return columns


def fits(columns: dict, target) -> tuple[bool, str]:
    """Whether a variant with these deployment columns fits ``target``, and why (not)."""
    target = as_target(target)
    if target.runtime == "tflm":
        if not columns["tflm"]:
            return False, "does not run on TFLite Micro"
        ram = columns["tflm_arena_bytes"]
        ram_label = "arena"
    else:
        ram = columns["litert_memory_bytes"]
        ram_label = "memory (est.)"
    flash = columns["flash_bytes"]
    parts, ok = [], True
    for label, used, budget in ((ram_label, ram, target.ram_bytes), ("flash", flash, target.flash_bytes)):
        if budget is None or used is None or (isinstance(used, float) and np.isnan(used)):
            continue
        share = used / budget
        ok &= used <= budget
        parts.append(
            f"{label} {format_bytes(used)} {'≤' if used <= budget else '>'} {format_bytes(budget)} ({share:.0%})"
        )
    detail = ", ".join(parts)
    if target.runtime == "tflm" and columns.get("tflm_reason"):
        detail += "; but " + columns["tflm_reason"]
    return bool(ok), detail


def refit(row: dict, target) -> dict:
    """A measured row with its ``fits`` columns for ``target`` (the other columns do not depend on it)."""
    if target is None or row.get("tflm") is None or row.get("error"):
        return row
    fit, detail = fits(row, target)
    return {**row, "fits": fit, "fits_detail": detail}


def fit_summary(comparison) -> str:
    """Which variants fit the comparison's target, then one line per variant saying why (not)."""
    target = comparison.target
    table = comparison.table
    if target is None or "fits" not in table:
        return "No deployment target: pass compare(..., target='cortex-m4') or a budget to see what fits."
    rows = table[(table["variant"] != "original") & table["fits"].notna()]
    fitting = ", ".join(comparison.fitting()) or "none"
    lines = [f"Fits {target.name} ({target.describe().split(': ', 1)[1]}): {fitting}"]
    for _, row in rows.iterrows():
        why = row["fits_detail"] if row["tflm"] or target.runtime != "tflm" else row["tflm_reason"]
        lines.append(f"  {row['variant']}: {'yes' if row['fits'] else 'no'}: {why}")
    if target.runtime == "tflm":
        lines.append(f"({ARENA_NOTE}.)")
    return "\n".join(lines)


__all__ = ["PRESETS", "Target", "as_target", "c_source", "check_micro", "save_c", "smallest_arena"]
