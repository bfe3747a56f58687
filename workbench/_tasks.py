"""What the converter worker process can be asked to do (see ``_worker``).

Every task returns a plain dict that pickles: ``{"ok": True, ...}`` or
``{"ok": False, "error": "Type: message", "log": "..."}``.
"""

from __future__ import annotations

import time
import traceback


def dispatch(task: str, payload: dict) -> dict:
    from ._native import captured_output

    started = time.perf_counter()
    log: list[str] = []
    try:
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


def converter_for(spec, tf, mode=None):
    """A fresh TFLiteConverter from a picklable description of the model (for ``mode``)."""
    kind, value = spec
    if kind == "saved_model":
        return tf.lite.TFLiteConverter.from_saved_model(value)
    if kind == "sklearn":
        from .sources.sklearn import SklearnSource

        return SklearnSource(value).converter(tf, mode)
    raise ValueError(f"unknown model description {kind!r}")


def _converter(spec, mode, samples, select_tf_ops=False):
    from ._native import import_tensorflow
    from .convert import apply_mode

    tf = import_tensorflow()
    converter = converter_for(spec, tf, mode)
    apply_mode(converter, mode, samples, tf)
    if select_tf_ops:
        converter.target_spec.supported_ops = [
            *converter.target_spec.supported_ops,
            tf.lite.OpsSet.SELECT_TF_OPS,
        ]
    return tf, converter


def _convert(spec, mode, samples, select_tf_ops=False):
    _, converter = _converter(spec, mode, samples, select_tf_ops)
    return converter.convert()


def _graph_ops(spec):
    """(op type, node name) of every TensorFlow op the model's graph runs, in graph order."""
    from ._native import import_tensorflow

    tf = import_tensorflow()
    kind, value = spec
    if kind == "saved_model":
        graph_def = tf.saved_model.load(value).signatures["serving_default"].graph.as_graph_def()
    else:
        from .sources.sklearn import SklearnSource

        graph_def = SklearnSource(value).graph(tf).get_concrete_function().graph.as_graph_def()
    nodes = list(graph_def.node) + [n for f in graph_def.library.function for n in f.node_def]
    return [(node.op, node.name) for node in nodes]


def _layer_errors(spec, mode, samples, debug_samples):
    """The TFLite quantization debugger's per-layer statistics, as CSV text."""
    import io
    import warnings

    tf, converter = _converter(spec, _float_io(mode), samples)
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

    tf, converter = _converter(spec, _float_io(mode), samples)
    options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=list(nodes))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter,
            debug_dataset=lambda: ([x[None, ...]] for x in samples[:1]),
            debug_options=options,
        )
        return debugger.get_nondebug_quantized_model()


def _float_io(mode):
    # The debugger works on float-interface models; the I/O type does not change layer errors.
    from .modes import Mode

    return Mode(mode.name, io="float32") if "float32" in mode.settings["io_types"] else mode


def _ping():
    return "pong"


_TASKS = {
    "convert": _convert,
    "graph_ops": _graph_ops,
    "layer_errors": _layer_errors,
    "keep_float": _keep_float,
    "ping": _ping,
}
