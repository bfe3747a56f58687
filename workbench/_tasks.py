"""What the worker process can be asked to do, and its serve loop (``python -m workbench._tasks``,
started by ``_worker``, which knows the tasks by name only).

Every task returns a plain dict that pickles: ``{"ok": True, "result": ..., "log": ...}``
or ``{"ok": False, "error": "Type: message", "log": "..."}``. Tasks reach only downward:
the sources (how to build a converter for a model), the mode table (how to configure a
converter or a quantizer) and the quantizer; never the modules that call the worker.
"""

from __future__ import annotations

import pickle
import time
import traceback


def dispatch(task: str, message: bytes) -> dict:
    from ._native import captured_output

    started = time.perf_counter()
    log: list[str] = []
    try:
        payload = pickle.loads(message)
        with captured_output(enabled=not payload.get("verbose")) as log:
            result = _TASKS[task](**{k: v for k, v in payload.items() if k != "verbose"})
    except Exception as err:  # reported to the parent, which raises a ConversionError
        return {
            "ok": False,
            "error": f"{type(err).__name__}: {err}",
            "log": (log[0] if log else "") + "\n" + traceback.format_exc(limit=3),
        }
    return {
        "ok": True,
        "result": result,
        "log": log[0] if log else "",
        "seconds": time.perf_counter() - started,
    }


def _converter(spec, mode, samples, select_tf_ops=False):
    from ._native import import_tensorflow
    from .sources import converter_for

    tf = import_tensorflow()
    converter = converter_for(spec, tf, mode)
    mode.configure_converter(converter, samples, tf)
    if select_tf_ops:
        converter.target_spec.supported_ops = [
            *converter.target_spec.supported_ops,
            tf.lite.OpsSet.SELECT_TF_OPS,
        ]
    return tf, converter


def _convert(spec, mode, samples, select_tf_ops=False):
    _, converter = _converter(spec, mode, samples, select_tf_ops)
    return converter.convert()


def _control_flow(content: bytes) -> str:
    """The control-flow ops of ``content`` ("WHILE", "IF", "WHILE/IF"), or "" for none."""
    from ._flatbuffer import builtin_op_counts

    counts = builtin_op_counts(bytes(content))
    return "/".join(op for op in ("WHILE", "IF") if op in counts)


def _quantize(content, mode, samples, keep=None, validate=None, signature=None, calibration=None):
    """Apply ``mode``'s LiteRT Quantizer recipe to float32 ``content`` (see ``workbench.quantize``),
    its activation ranges computed with ``calibration`` (a ``workbench.Calibration``; min/max
    by default); with ``validate`` samples, also the library's per-tensor validation. The
    result's signature outputs name the tensors the file returns (``_output_names``)."""
    import numpy as np

    from ._calibrate import calibrate
    from ._output_names import restore_output_names
    from .calibration import Calibration

    quantizer = mode.quantizer(content, keep)
    signature, input_names = _signature_input(content, signature)
    ranks = _input_ranks(content, signature)
    ranges = None
    if quantizer.need_calibration:
        # The recipe quantizes every subgraph: signatures that take the same inputs as the one
        # compared are calibrated on the same samples.
        data = _signature_samples(input_names, samples, ranks)
        try:
            ranges = calibrate(
                quantizer,
                content,
                {key: data for key in _same_inputs(content, signature)},
                Calibration.of(calibration),
                _threads(),
            )
        except ValueError as err:
            loops = _control_flow(content)
            if not loops or "Tensor data is null" not in str(err):
                raise
            raise ValueError(
                f"its calibration cannot read the tensors inside this file's {loops} loop (they exist "
                "only while the loop runs: a recurrent layer's, or the coupling of SVC(probability=True)). "
                "Use a recipe without calibration (dynamic_*, weight_only_*), or a model without the "
                "loop (a Keras RNN with unroll=True; SVC(probability=False))"
                f" [the library said: {str(err).splitlines()[0]}]"
            ) from err
    result = quantizer.quantize(ranges, enable_progress_report=False)
    from ._flatbuffer import inline_buffers

    # The library keeps large weights after the flatbuffer (offset buffers), which TFLite
    # Micro cannot read: every consumer (LiteRT, TFLite Micro, C source, save) gets one plain
    # file, whose signature outputs name the tensors it returns.
    content = restore_output_names(inline_buffers(bytes(result.quantized_model)))
    answer = {"content": content, "recipe": quantizer.get_quantization_recipe()}
    if validate is not None:
        from litert_quantizer.utils import validation_utils

        metrics = [validation_utils.ValidationErrorMetric(m) for m in VALIDATION_METRICS]
        compared = quantizer.validate(
            test_data={signature: _signature_samples(input_names, validate, ranks)},
            error_metrics=metrics,
            num_threads=_threads(),
        )
        by_kind = compared.get_signature_comparison_result(signature)
        answer["validation"] = [
            {"tensor": tensor, "kind": kind, **{m: float(values.get(m, np.nan)) for m in VALIDATION_METRICS}}
            for kind in ("output", "intermediate", "constant", "input")
            for tensor, values in getattr(by_kind, f"{kind}_tensors").items()
        ]
    return answer


#: Error metrics asked of the quantizer's validation, in the library's names.
VALIDATION_METRICS = ("mse", "snr", "cosine_similarity")


def _signature_input(content: bytes, signature: str | None = None) -> tuple[str, list[str]]:
    from ai_edge_litert.interpreter import Interpreter

    signatures = Interpreter(model_content=content).get_signature_list()
    if not signatures:
        raise ValueError("the float32 model has no signature; LiteRT Quantizer calibrates through one")
    signature = signature if signature in signatures else next(iter(signatures))
    return signature, list(signatures[signature]["inputs"])


def _same_inputs(content: bytes, signature: str) -> list[str]:
    from ai_edge_litert.interpreter import Interpreter

    signatures = Interpreter(model_content=content).get_signature_list()
    inputs = sorted(signatures[signature]["inputs"])
    return [key for key, io in signatures.items() if sorted(io["inputs"]) == inputs]


def _input_ranks(content: bytes, signature: str) -> dict[str, int]:
    """Each signature input's rank, as the file declares it."""
    from ai_edge_litert.interpreter import Interpreter

    details = Interpreter(model_content=content).get_signature_runner(signature).get_input_details()
    return {name: len(d["shape_signature"]) for name, d in details.items()}


def _signature_samples(input_names, samples, ranks=None) -> list[dict]:
    """One dict of inputs per sample, each with a batch axis, as LiteRT Quantizer takes them;
    a sample that already has the input's full rank (its axis 0 is not a batch: a streaming
    model's frames) goes in as it is. Float samples go in as float32; integer ones (token ids)
    keep their type."""
    import numpy as np

    ranks = ranks or {}

    def typed(name, array):
        array = np.asarray(array)
        array = array if array.dtype.kind in "iu" else array.astype(np.float32)
        return array if array.ndim == ranks.get(name, array.ndim + 1) else array[None, ...]

    if isinstance(samples, dict):
        count = len(next(iter(samples.values())))
        return [{name: typed(name, samples[name][i]) for name in input_names} for i in range(count)]
    (name,) = input_names
    return [{name: typed(name, sample)} for sample in samples]


def _threads() -> int:
    import os

    return max(1, min(2, os.cpu_count() or 1))


def _graph_ops(spec):
    """(op type, node name) of every TensorFlow op the model's graph runs, in graph order."""
    from ._native import import_tensorflow
    from .sources import graph_def_for

    graph_def = graph_def_for(spec, import_tensorflow())
    nodes = list(graph_def.node) + [n for f in graph_def.library.function for n in f.node_def]
    return [(node.op, node.name) for node in nodes]


def _layer_errors(spec, mode, samples, debug_samples):
    """The TFLite quantization debugger's per-layer statistics, as CSV text."""
    import io
    import warnings

    tf, converter = _converter(spec, mode.with_float_io(), samples)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the debugger uses tf.lite.Interpreter internally
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter, debug_dataset=lambda: ([x[None, ...]] for x in debug_samples)
        )
        debugger.run()
    text = io.StringIO()
    debugger.layer_statistics_dump(text)
    return text.getvalue()


def _keep_float(spec, mode, samples, nodes):
    """The model quantized except for ``nodes`` (tensor names), which stay float."""
    import warnings

    tf, converter = _converter(spec, mode.with_float_io(), samples)
    options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=list(nodes))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter,
            debug_dataset=lambda: ([x[None, ...]] for x in samples[:1]),
            debug_options=options,
        )
        return debugger.get_nondebug_quantized_model()


def _micro(**payload):
    """Load and run a ``.tflite`` on TFLite Micro (see ``workbench._micro``)."""
    from ._micro import micro_task

    return micro_task(**payload)


def _probe_litert(content: bytes) -> dict:
    """A file from elsewhere on LiteRT for the first time (``workbench.targets.probe_litert``):
    opened, allocated, and invoked once on zeros at its declared shapes."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    try:
        interpreter = Interpreter(model_content=content)
    except (ValueError, RuntimeError) as err:
        return {"stage": "load", "error": str(err)}
    try:
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as err:
        return {"stage": "allocation", "error": str(err)}
    try:
        for detail in interpreter.get_input_details():
            dtype = np.dtype(detail["dtype"])
            shape = tuple(int(s) for s in detail["shape"])
            zeros = np.full(shape, b"", dtype=object) if dtype.kind in "OSU" else np.zeros(shape, dtype)
            interpreter.set_tensor(detail["index"], zeros)
        interpreter.invoke()
    except (ValueError, RuntimeError, TypeError) as err:
        return {"stage": "invocation", "error": str(err)}
    return {"stage": "invoked", "error": ""}


def _ping():
    return "pong"


def _loaded_modules():
    """Which heavy libraries this worker has imported (a class on one server counts its memory)."""
    import sys

    return {name: name in sys.modules for name in ("tensorflow", "keras", "litert_quantizer")}


def _score(candidate, hub, io, judge, samples, calibration=None):
    """Make a sweep's candidate from the float32 bytes and score it (``workbench._candidates``):
    the recipe applied here, then the variant run on the test split and timed by ``judge``.
    Needs ``ai_edge_litert`` and ``litert_quantizer`` only."""
    import os
    import sys
    import time

    from .errors import WorkbenchError
    from .runtime import Converted, stored_tensor_types

    started = time.perf_counter()
    mode = candidate.mode
    answer = {"content": None, "recipe": None, "pid": os.getpid()}
    failed = {"variant": candidate.label, "mode": mode.name, "path": mode.path}
    try:
        recipe = None
        if candidate.content is not None:
            content, seconds = candidate.content, candidate.convert_s
        else:
            chosen = samples if mode.calibrated else None
            try:
                made = _quantize(
                    hub,
                    mode,
                    chosen,
                    keep=dict(candidate.keep),
                    signature=io.get("signature"),
                    calibration=calibration,
                )
            except Exception as err:  # the library's own error, as the row's
                answer["row"] = {**failed, "error": f"LiteRT Quantizer's error applying {mode.name}: {err}"}
                answer["tensorflow"] = "tensorflow" in sys.modules
                return answer
            content, recipe, seconds = made["content"], made["recipe"], time.perf_counter() - started
        if mode.name != "float32" and stored_tensor_types(content) == stored_tensor_types(hub):
            row = {
                **failed,
                "error": f"unchanged: {mode.name} quantizes no tensor of this model, so it is float32 again",
            }
        elif candidate.probe is not None:
            row = {**failed, "error": "", "probe_error": _output_error(content, hub, io, candidate.probe)}
        else:
            from .calibration import CONVERTER_CALIBRATION, Calibration

            used = None
            if mode.calibrated:
                used = Calibration.of(calibration).label if mode.statistic_choice else CONVERTER_CALIBRATION
            converted = Converted(content, mode, convert_seconds=seconds, calibration=used, **io)
            row, outputs = judge.measure(converted, candidate.label, mode.name, seconds, converted.path)
            answer.update(content=content, recipe=recipe, outputs=outputs)
    except WorkbenchError as err:
        row = {**failed, "error": str(err)}
    answer["row"] = row
    answer["tensorflow"] = "tensorflow" in sys.modules
    return answer


def _output_error(content: bytes, hub: bytes, io: dict, samples) -> float:
    """Normalised squared error of a variant's output against the float32 model's."""
    import numpy as np

    from .modes import Mode
    from .runtime import Converted

    reference = Converted(hub, Mode("float32"), **io).run(samples).astype(np.float64)
    outputs = Converted(content, Mode("float32"), **io).run(samples).astype(np.float64)
    if not np.isfinite(outputs).all():
        return float("inf")
    return float(np.mean((outputs - reference) ** 2) / max(np.mean(reference**2), 1e-30))


def _time(content, io, judge, mode):
    """Latency of one variant, alone (``workbench._budget.retime``)."""
    from .runtime import Converted

    return judge.time(Converted(content, mode, **io).invoke_raw)


_TASKS = {
    "convert": _convert,
    "quantize": _quantize,
    "graph_ops": _graph_ops,
    "layer_errors": _layer_errors,
    "keep_float": _keep_float,
    "ping": _ping,
    "loaded_modules": _loaded_modules,
    "score": _score,
    "time": _time,
    "tflm": _micro,
    "probe_litert": _probe_litert,
}


# ----------------------------------------------------------------- the worker's loop
def serve(receive_fd: int, send_fd: int) -> None:  # pragma: no cover -- runs in the worker
    """Answer requests from the pipes until told to exit: acknowledge each, then answer it."""
    from multiprocessing.connection import Connection

    receive = Connection(receive_fd, writable=False)
    send = Connection(send_fd, readable=False)
    while True:
        try:
            request, task, payload = receive.recv()
        except (EOFError, OSError):
            return
        if task == "exit":
            return
        send.send((request, "accepted", None))
        send.send((request, "answer", dispatch(task, payload)))


if __name__ == "__main__":  # pragma: no cover
    import sys

    serve(int(sys.argv[1]), int(sys.argv[2]))
