"""LiteRT's interpreter, as every module talks to it.

Opening a file (:func:`new_interpreter`), choosing its signature, naming its inputs and outputs,
saying in a user's terms why LiteRT refused it (:func:`runtime_failure`), and the first load of a
file from elsewhere, which happens in the worker process because LiteRT may abort on it
(:func:`probe_litert`). Also the memory LiteRT needs beyond the file (:func:`litert_memory_estimate`).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import numpy as np

from ._flatbuffer import is_constant, read_model
from ._native import captured_output
from .errors import DataMismatchError, InvocationError, ModelLoadError, WorkerCrashedError, refused_by


class PrepareFailed(Exception):
    """Internal: LiteRT could not allocate the model's tensors for a batch size."""


def choose_signature(interpreter, signature: str | None) -> str | None:
    """The signature to run: ``signature``, else ``serving_default`` when the file has several
    (None when it has one or none, which the tensor order serves)."""
    keys = list(interpreter.get_signature_list())
    if signature is None:
        if len(keys) <= 1:
            return None
        if "serving_default" in keys:
            return "serving_default"
        raise DataMismatchError(
            received=f"a .tflite with the signatures {', '.join(keys)} and no signature=",
            expected="signature= naming the one to run (there is no serving_default).",
            fix=f"Pass e.g. signature={keys[0]!r} (on the command line: --signature {keys[0]}).",
        )
    if signature not in keys:
        raise DataMismatchError(
            received=f"signature={signature!r}",
            expected=f"One of the file's signatures: {', '.join(keys) or '(it has none)'}.",
            fix=f"Pass signature={keys[0]!r}."
            if keys
            else "Leave signature out: the file has no signatures.",
        )
    return signature if len(keys) > 1 else None


_NODE = re.compile(r"Node number (\d+) \(([^)]+)\) failed to (prepare|invoke)")


_UNRESOLVED = re.compile(r"unresolved custom op: (\w+)")


def runtime_failure(message: str, stage: str, batch: int) -> InvocationError:
    """LiteRT's refusal of a file (at ``stage``: allocation or invocation), naming the op and node."""
    text = " ".join(line.strip() for line in message.strip().splitlines() if "XNNPACK" not in line)
    if not text:  # the CPU delegate's own refusal is all there is: say it rather than nothing
        text = " ".join(line.strip() for line in message.strip().splitlines())
    node = _NODE.search(text)
    custom = _UNRESOLVED.search(text)
    check = text[: node.start()].strip().rstrip(".") if node else text
    check = check.split("See instructions")[0].strip().rstrip(".")
    if custom:
        where = f"the custom op {custom.group(1)}, which LiteRT has no kernel for"
        fix = (
            "Run it where that op is registered (TFLite Micro registers its Signal* ops; see "
            "workbench.check_micro), or rebuild the model from builtin ops."
        )
    else:
        where = f"node {node.group(1)} ({node.group(2)})" if node else "one of its ops"
        fix = "Try another mode or recipe for this model (this op has no kernel for these types), or convert it again."
    return InvocationError(
        received=f"a .tflite that LiteRT refuses at {stage} (batch of {batch}): {where}: {check[:300]}",
        expected="A model whose ops LiteRT's CPU kernels can allocate and invoke.",
        fix=fix,
    )


def input_names(interpreter, details: list[dict]) -> list[str]:
    """The inputs' signature names in tensor (the model's) order; tensor names without one."""
    try:
        signatures = interpreter.get_signature_list()
        if len(signatures) == 1:
            (key,) = signatures
            runner = interpreter.get_signature_runner(key)
            by_index = {d["index"]: name for name, d in runner.get_input_details().items()}
            if all(d["index"] in by_index for d in details):
                return [by_index[d["index"]] for d in details]
    except (ValueError, RuntimeError, KeyError):
        pass  # a file without a usable signature: its tensors' own names
    return [d["name"] for d in details]


def named_outputs(interpreter, details: list[dict], order) -> list[tuple[str, dict]]:
    """``(name, details)`` of every output: by the signature's names when the file has
    exactly one signature (in ``order`` where given, else the signature's order), by
    tensor name otherwise."""
    signatures = interpreter.get_signature_list()
    by_index = {d["index"]: d for d in details}
    named = [(d["name"], d) for d in details]
    if len(signatures) == 1:
        (key,) = signatures
        runner_outputs = interpreter.get_signature_runner(key).get_output_details()
        if all(d["index"] in by_index for d in runner_outputs.values()):
            named = [(name, by_index[d["index"]]) for name, d in runner_outputs.items()]
    if order:
        rank = {name: i for i, name in enumerate(order)}
        named.sort(key=lambda item: rank.get(item[0], len(rank)))
    return named


def check_threads(threads) -> int:
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise DataMismatchError(
            received=f"threads={threads!r}",
            expected="A whole number of interpreter threads, 1 or more.",
            fix="Use threads=1 for comparable single-core latency.",
        )
    return int(threads)


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
    model = read_model(content)
    subgraph = model.Subgraphs(0)

    def constant(t):
        return is_constant(model, subgraph.Tensors(t))

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


def new_interpreter(content: bytes, threads: int = 1):
    """A LiteRT ``Interpreter`` on ``content``, or a :class:`ModelLoadError` saying why not."""
    from ai_edge_litert.interpreter import Interpreter

    try:
        # The default op resolver applies XNNPACK, as on a phone; its banner is kept quiet.
        with captured_output():
            return Interpreter(model_content=content, num_threads=threads)
    except ValueError as err:
        fix = "Re-convert the model; a .tflite that needs the Flex delegate cannot run here."
        raise refused_by(
            "LiteRT",
            f"{len(content):,} bytes",
            err,
            expected="A valid .tflite flatbuffer made of builtin ops.",
            fix=fix,
        ) from None
