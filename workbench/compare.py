"""``compare()``: convert a model in several modes and measure each against the original."""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np
import pandas as pd

from . import _columns as columns
from . import _inputs as inputs
from ._args import cancel_event, progress_callback
from ._bench import (  # noqa: F401  (importable from here, as before the redesign)
    BATCH_SIZE,
    Bench,
    check_calibration_choice,
    no_modes,
    resolve_dataset,
    with_speedups,
)
from ._comparison import ORIGINAL, Comparison  # noqa: F401
from ._deployment import blank_deployment
from .calibration import Calibration
from .errors import (
    InvalidArgumentError,
)
from .modes import DEFAULT_MODES, Mode, parse_modes
from .runtime import Converted
from .sources import Source, as_source
from .targets import as_target


def compare(
    model,
    dataset=None,
    modes=DEFAULT_MODES,
    representative=200,
    *,
    strategy: str = "random",
    seed: int = 0,
    threads: int = 1,
    latency_budget: float = 1.0,
    progress: bool | Callable = True,
    cancel=None,
    keep_float: int | tuple[int, ...] = (),
    keep_precision: str = "auto",
    output=None,
    target=None,
    calibration=None,
) -> Comparison:
    """Convert ``model`` in each mode and measure accuracy, size and latency against the original.

    Parameters
    ----------
    model : keras.Model, scikit-learn estimator, str or Path
        The model, a file, or a built-in example name; it is never modified.
    dataset : Dataset or str, default=None
        The data to evaluate on (its test split) and calibrate with (its training split).
        ``None`` takes the dataset a built-in example was trained on.
    modes : sequence of str or Mode, default=DEFAULT_MODES
        Converter modes (``float32``, ``float16``, ``dynamic``, ``int8``, ``int16x8``: the
        converter's post-training quantization, which Google now deprecates) and LiteRT
        Quantizer recipes (``static_wi8_ai8``, ``weight_only_wi4_afp32``, ...; see
        ``workbench.QUANTIZER_MODES``), which quantize the float32 ``.tflite`` and are the
        recommended path. The default is float32 and the recommended recipes. A ``.tflite``
        file is its own reference (the ``original`` row, its ``mode`` read from the file):
        by default a float32 file gets the recommended recipes, applied to its bytes with no
        converter, and a quantized one is compared as-is; ``modes=[]`` compares the file alone.
    representative : int or array-like, default=200
        Calibration samples for ``int8``, ``int16x8`` and the ``static_*`` recipes: a number
        of training samples picked with ``strategy``, or the samples themselves.
    strategy : {"random", "stratified", "first"}, default="random"
    seed : int, default=0
    threads : int, default=1
        Interpreter threads for the variants' latency.
    latency_budget : float, default=1.0
        Seconds of timed calls per model (after warm-up; at least 10 calls each).
    progress : bool or callable, default=True
        ``True`` prints one line per step to stderr; a callable receives
        ``(done, total, message)``.
    cancel : object with ``is_set()``, default=None
        Checked between variants; when set, the comparison stops and returns what it has.
    keep_float : int or tuple of int, default=()
        Mixed precision: for the converter's int8, every quantizer recipe in ``modes`` and
        each K here, add a variant with the K layers of largest quantization error kept at
        higher precision, e.g. ``int8+float(2 layers)`` or ``dynamic_wi4_afp32+int8(1 layer)``.
    output : str or int, default=None
        For a Keras model with several outputs: the one scored against the dataset (its name,
        or its index in Keras's order); ``None`` takes the first. Every other output gets its
        own ``agreement[<name>]`` and ``max_abs_diff[<name>]`` columns.
    keep_precision : {"auto", "float", "int8"}, default="auto"
        What the kept layers of a quantizer recipe get: ``"auto"`` keeps 8-bit weights under
        4- and 2-bit recipes and float otherwise (see :func:`workbench.keep_float`).
    target : str, dict or Target, default=None
        A device to deploy to: a preset (``"cortex-m4"``, ``"esp32-s3"``, ``"phone"``, see
        ``workbench.TARGETS``) or a budget (``{"ram": "256KB", "flash": "1MB"}``). Every variant
        is then also loaded and run on TFLite Micro, and the table says whether it fits.
    calibration : {"minmax", "percentile", "ema"}, tuple or Calibration, default="minmax"
        How LiteRT Quantizer's static recipes compute activation ranges from the calibration
        samples (see :func:`workbench.convert`); the converter's ``int8`` and ``int16x8``
        always use their own min/max. The ``calibration`` column names the statistic of each
        calibrated row.

    Returns
    -------
    Comparison
        ``.table`` has the columns ``variant, mode, path, size_bytes, size_ratio, <metric>,
        metric_delta, agreement, max_abs_diff, latency_ms_p50, latency_ms_p90,
        batch_latency_ms, speedup, convert_s, speedup_vs_original, calibration, error, note`` where
        ``<metric>`` is ``accuracy`` or ``r2``; ``speedup`` is the float32 ``.tflite``'s median
        latency over the row's (NaN without a float32 row), ``speedup_vs_original`` the original's
        call over it; ``note`` says, for an 8-bit-or-wider variant that lost more than 2 points (or
        agrees on under 90% of samples), the cause read from its file: a degenerate range, the
        share clipped on a named tensor, or input columns flattened by a coarse step.
        With a ``target``, also ``tflm`` (runs on TFLite Micro), ``tflm_reason`` (why not),
        ``tflm_arena_bytes`` (smallest arena, measured), ``flash_bytes`` (the model's bytes), ``tflm_agreement`` and ``tflm_max_abs_diff`` (TFLite Micro's outputs
        against LiteRT's for the same file), ``litert_memory_bytes`` (an estimate: peak live
        tensor bytes), ``fits`` and ``fits_detail`` (what the budget allows and what it needs).
        With several values per sample (an autoencoder: ``Dataset.from_arrays(X, X)``), the
        metric is ``mse`` and each row also has ``error_rank_corr`` (Spearman correlation of its
        per-sample errors with the original's) and, with anomaly labels, ``roc_auc``.
    """
    # The defaults (also as the CLI passes them, a list): for a .tflite they depend on what it is.
    default_modes = isinstance(modes, (list, tuple)) and tuple(modes) == tuple(DEFAULT_MODES)
    modes = parse_modes(modes) if not (no_modes(modes) and _maybe_tflite(model)) else []
    keeps = _keep_counts(keep_float)
    check_calibration_choice(representative, strategy, seed)
    calibration = Calibration.of(calibration)
    progress_callback(progress)
    cancel_event(cancel)
    if keep_precision not in ("auto", "float", "int8"):
        raise InvalidArgumentError(
            received=f"keep_precision={keep_precision!r}",
            expected="One of 'auto', 'float', 'int8'.",
            fix="Leave keep_precision out for 8 bits under 4-bit recipes and float otherwise.",
        )
    report = _progress_reporter(progress)
    source = as_source(model)
    if source.unrunnable:
        return _unrunnable(source, dataset, target, threads)
    bench = Bench(
        model, dataset, threads=threads, latency_budget=latency_budget, target=target, output=output
    )
    modes = _modes_for(bench, modes, default_modes)
    samples, described = bench.calibration(representative, strategy, seed, modes, per_row=True)
    mixed = [(m, k) for m in modes if m.keeps_layers for k in keeps]
    total = len(modes) + len(mixed) + 1
    report(
        0, total, f"original {bench.source.name}: measuring on {inputs.count(bench.data.X_test)} test samples"
    )
    rows = [bench.original()]
    variants: dict[str, Converted] = {}
    cancelled = False
    for done, mode in enumerate(modes, start=1):
        if cancel is not None and cancel.is_set():
            cancelled = True
            report(done - 1, total, "cancelled")
            break
        report(done, total, f"{mode.label}: converting")
        row, converted = bench.variant(mode, samples, calibration)
        rows.append(row)
        if converted is None:
            report(done, total, f"{mode.label}: failed ({_short_error(row['error'])})")
        else:
            variants[mode.label] = converted
            report(
                done,
                total,
                f"{mode.label}: {converted.size_bytes:,} bytes, {row[bench.data.metric]:.4f} {bench.data.metric}",
            )
    for done, (mode, k) in enumerate(mixed, start=len(modes) + 1):
        if cancelled or (cancel is not None and cancel.is_set()):
            cancelled = True
            break
        report(done, total, f"{mode.label} keeping its {k} worst layer(s) at higher precision")
        row, converted = bench.mixed_variant(mode, samples, k, keep_precision, calibration)
        rows.append(row)
        if converted is not None:
            variants[converted.label] = converted
    report(total, total, "done")
    _beside_int8(rows, bench.data.metric)
    return bench.comparison(rows, variants, described, cancelled=cancelled, calibration=samples)


def _beside_int8(rows: list[dict], metric: str) -> None:
    """Each explained loss set beside the converter's int8 of the same model, where compared."""
    int8 = next((r for r in rows if r.get("mode") == "int8" and not r.get("error")), None)
    if int8 is None:
        return
    for row in rows:
        if row.get("note", "").startswith("Why it lost") and row is not int8:
            row["note"] += f" The converter's int8 of the same model: {metric} {int8[metric]:.4g}."


def _unrunnable(source: Source, dataset, target, threads: int) -> Comparison:
    """A .tflite that neither LiteRT nor TFLite Micro runs: one row that says both reasons."""
    target = as_target(target) if target is not None else None
    data = resolve_dataset(dataset, source)
    row = columns.row(**{
        "variant": ORIGINAL,
        "mode": source.inspection.mode,
        "path": "as-is",
        "size_bytes": source.size_bytes(),
        "size_ratio": 1.0,
        data.metric: np.nan,
        "metric_delta": np.nan,
        "agreement": np.nan,
        "max_abs_diff": np.nan,
        "latency_ms_p50": np.nan,
        "latency_ms_p90": np.nan,
        "batch_latency_ms": np.nan,
        "speedup": np.nan,
        "convert_s": np.nan,
        "error": f"{source.name} {source.unrunnable}",
    })  # fmt: skip
    if target is not None:
        row.update(blank_deployment(target))
        row.update(tflm=False, tflm_reason=source.unrunnable.split("TFLite Micro: ", 1)[-1])
        row.update(flash_bytes=source.size_bytes(), fits=False, fits_detail="does not run on TFLite Micro")
    return Comparison(
        table=pd.DataFrame([row]),
        variants={},
        model_name=source.name,
        model_kind=source.kind,
        dataset=data,
        batch_size=0,
        threads=threads,
        representative="not used",
        notes=[f"{source.name} was not measured: it {source.unrunnable}."],
        target=target,
    )


def _maybe_tflite(model) -> bool:
    """Whether ``model`` is (or names) a .tflite, which alone may be compared with no modes."""
    import os

    if isinstance(model, (str, os.PathLike)):
        return os.fspath(model).lower().endswith(".tflite")
    return isinstance(model, Converted) or getattr(model, "kind", None) == "tflite"


def _modes_for(bench: Bench, modes: list[Mode], default: bool) -> list[Mode]:
    """The modes a comparison runs. A ``.tflite`` is its own reference (the original row): with
    the default modes, a float32 file gets the recommended recipes and a quantized one is
    compared as-is; no modes at all is a comparison of the file alone."""
    if not bench.source.as_is:
        if not modes:
            parse_modes([])  # the error that says what to pass
        return modes
    inspection = bench.source.inspection
    if default:
        if not (inspection.is_float32 and bench.source.runtime == "litert"):
            bench.notes.append(
                f"{bench.source.name} is {inspection.quantization}: compared as-is. LiteRT Quantizer's "
                "recipes take a float32 .tflite; quantize the float32 file (or the original model) it came from."
            )
            return []
        bench.notes.append(
            f"{bench.source.name} is a float32 .tflite: it is the original row, and LiteRT Quantizer's "
            "recommended recipes are applied to its bytes directly (no converter)."
        )
        return [m for m in modes if m.name != "float32"]
    return modes


def _keep_counts(keep_float) -> tuple[int, ...]:
    counts = (keep_float,) if isinstance(keep_float, (int, np.integer)) else keep_float
    if (
        isinstance(keep_float, bool)
        or not isinstance(counts, (tuple, list))
        or not all(isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 0 for k in counts)
    ):
        raise InvalidArgumentError(
            received=f"keep_float={keep_float!r}",
            expected="A number of layers (0 or more) or a tuple of them, e.g. keep_float=(1, 2).",
            fix="Pass whole numbers: keep_float=1 keeps the worst layer at higher precision.",
        )
    return tuple(int(k) for k in counts if k)


def _short_error(message: str) -> str:
    return message.split(" Received: ", 1)[-1].split(". ", 1)[0][:120]


def _progress_reporter(progress) -> Callable:
    if callable(progress):
        return progress
    if not progress:
        return lambda done, total, message: None

    def report(done, total, message):
        print(f"[{done}/{total}] {message}", file=sys.stderr, flush=True)

    return report
