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


def converter_for(spec, tf):
    """A fresh TFLiteConverter from a picklable description of the model."""
    kind, value = spec
    if kind == "saved_model":
        return tf.lite.TFLiteConverter.from_saved_model(value)
    if kind == "sklearn":
        from .sources.sklearn import SklearnSource

        return SklearnSource(value).converter(tf)
    raise ValueError(f"unknown model description {kind!r}")


def _convert(spec, mode, samples):
    from ._native import import_tensorflow
    from .convert import apply_mode

    tf = import_tensorflow()
    converter = converter_for(spec, tf)
    apply_mode(converter, mode, samples, tf)
    return converter.convert()


def _ping():
    return "pong"


_TASKS = {"convert": _convert, "ping": _ping}
