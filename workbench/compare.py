"""``compare()``: convert a model in several modes and measure each against the original."""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import _inputs as inputs
from ._args import cancel_event, one_of, positive_seconds, progress_callback, whole_number
from ._deployment import blank_deployment, deployment
from .calibration import Calibration
from .convert import calibration_samples, convert_source, float32_hub
from .datasets import Dataset, load_dataset
from .errors import (
    ConversionError,
    DatasetError,
    InvalidArgumentError,
    OutputPathError,
    RepresentativeDataError,
    TargetError,
    WorkbenchError,
)
from .evaluate import Judge, Latency, check_outputs, covers_some_classes, score
from .modes import DEFAULT_MODES, Mode, parse_modes
from .runtime import Converted
from .sources import Source, as_source
from .targets import ARENA_NOTE, as_target, refit

ORIGINAL = "original"
BATCH_SIZE = 256


@dataclass
class Comparison:
    """The result of :func:`compare`: a table, the converted variants, a plot, a report.

    Attributes
    ----------
    table : pandas.DataFrame
        One row for the original and one per variant; see :func:`compare` for the columns.
    variants : dict of str to Converted
        The converted models by label (``float32``, ``int8``, ...), ready to save or run.
    """

    table: pd.DataFrame
    variants: dict[str, Converted]
    model_name: str
    model_kind: str
    dataset: Dataset
    batch_size: int
    threads: int
    representative: str
    notes: list[str] = field(default_factory=list)
    cancelled: bool = False
    #: The deployment target the table's ``fits`` column is for (a ``workbench.Target``), if any.
    target: object = None
    #: The wrapped model (a ``workbench.sources.Source``): what :func:`workbench.lens` reads
    #: layer names from and re-calibrates; ``None`` for a comparison loaded from elsewhere.
    source: object = field(default=None, repr=False)
    #: The calibration samples the calibrated variants were made with (``None``: none calibrated).
    calibration: object = field(default=None, repr=False)
    #: Every lens drawn on this comparison (``workbench.lens``, the widget's Lens tab), by
    #: ``(variant, layer)``: the report shows each one.
    lenses: dict = field(default_factory=dict, repr=False)
    #: Per-layer errors already measured (``workbench.layer_errors``), by variant label.
    layer_errors: dict = field(default_factory=dict, repr=False)

    @property
    def metric(self) -> str:
        return self.dataset.metric

    @property
    def errors(self) -> dict[str, str]:
        """Modes that failed to convert, with the reason."""
        rows = self.table[self.table["error"] != ""]
        return dict(zip(rows["variant"], rows["error"], strict=True))

    def pareto(self) -> list[str]:
        """Variants that no other variant beats: none is at least as good on metric, size and
        latency together and strictly better on one of them."""
        from ._pareto import pareto_front

        ok = self.table[(self.table["error"] == "") & (self.table["variant"] != ORIGINAL)]
        way = "max" if self.dataset.higher_is_better else "min"
        return pareto_front(ok, {self.metric: way, "size_bytes": "min", "latency_ms_p50": "min"})

    def plot(self):
        """The trade-off figure: metric vs size and metric vs latency (a matplotlib Figure)."""
        from .plots import tradeoff_figure

        return tradeoff_figure(self)

    def figure_png(self) -> bytes:
        """The trade-off figure as PNG bytes, drawn once for the same results.

        The widget shows it and embeds it in the notebook's static copy; returning to a set
        of variants already shown finds it drawn (see ``plots.cached_png``).
        """
        from .plots import cached_png, tradeoff_figure

        key = (
            self.model_name,
            self.dataset.name,
            self.threads,
            self.metric,
            self.table.to_json(orient="split", double_precision=15),
        )
        # Drawn into a kept figure: it becomes PNG bytes at once and is never handed out.
        return cached_png(key, lambda: tradeoff_figure(self, reuse=True))

    def save(self, directory="workbench-report") -> str:
        """Write ``report.html``, ``results.csv``, ``tradeoff.png`` and every ``.tflite``; every
        lens drawn on this comparison (:func:`workbench.lens`, the widget's Lens tab) too.

        Returns the path of ``report.html``. A path that cannot be written raises an
        ``OutputPathError`` and leaves this comparison as it was: save it elsewhere.
        """
        from ._paths import prepare_directory
        from .report import write_report

        directory = prepare_directory(directory)
        try:
            return write_report(self, directory)
        except OSError as err:
            raise OutputPathError(
                received=f"{directory!r}, where writing failed ({err.strerror or err}: {err.filename})",
                expected="A directory with room and permission for the report's files.",
                fix="Call save() again with another directory; the comparison is unchanged.",
            ) from None

    def fitting(self) -> list[str]:
        """The variants that run on the target within its budget (empty without a target)."""
        if "fits" not in self.table:
            return []
        return [v for v, f in zip(self.table["variant"], self.table["fits"], strict=True) if f is True]

    def with_target(self, target) -> Comparison:
        """The same measurements judged against another target's budget, without measuring again."""
        from .targets import as_target, refit

        if "tflm" not in self.table:
            raise TargetError(
                received="a comparison made without target=",
                expected="A comparison whose variants were run on TFLite Micro.",
                fix="Run compare(..., target=...) once; with_target() then re-judges it for any budget.",
            )
        target = as_target(target)
        rows = [refit(row, target) for row in self.table.to_dict("records")]
        table = pd.DataFrame(rows, columns=list(self.table.columns))
        return dataclasses.replace(self, table=table, target=target)

    def fit_summary(self) -> str:
        """Which variants fit the target, and one line per variant saying why (not)."""
        from .targets import fit_summary

        return fit_summary(self)

    def summary(self) -> str:
        """The table as aligned text, for terminals and logs."""
        from .report import format_table

        return format_table(self.table).to_string(index=False)

    def __repr__(self) -> str:
        head = (
            f"Comparison of {self.model_name} on {self.dataset.name} ({self.metric}, threads={self.threads})"
        )
        return head + "\n" + self.summary()

    def _repr_html_(self) -> str:
        from .report import comparison_html

        return comparison_html(self, figure=True)


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
    modes = parse_modes(modes) if not (_no_modes(modes) and _maybe_tflite(model)) else []
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
    samples, described = bench.calibration(representative, strategy, seed, modes)
    mixed = [(m, k) for m in modes if m.name == "int8" or m.backend == "quantizer" for k in keeps]
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


class Bench:
    """One model on one dataset: the original measured once, any variant measured on demand.

    :func:`compare` runs a Bench over a list of modes; the widget keeps one per
    (model, dataset) and asks for variants as the user changes modes and calibration.

    Parameters
    ----------
    model, dataset, threads, latency_budget, target
        As for :func:`compare`. Model/dataset mismatches (input shape, number of classes,
        task) and unknown targets raise here, before any conversion.
    """

    def __init__(
        self, model, dataset=None, *, threads: int = 1, latency_budget: float = 1.0, target=None, output=None
    ):
        threads = whole_number("threads", threads, fix="Use threads=1 for comparable single-core latency.")
        latency_budget = positive_seconds(
            "latency_budget", latency_budget, fix="Use latency_budget=1.0, or 0.1 for a quick look."
        )
        self.target = as_target(target) if target is not None else None
        self.source = as_source(model)
        self.source.select_output(output)
        data = resolve_dataset(dataset, self.source)
        self.notes: list[str] = list(self.source.notes)
        if isinstance(self.source.input_shape, dict):
            data = data.bind_inputs(list(self.source.input_shape), self.source.input_shape)
        elif data.feature_shape != self.source.input_shape:
            self.notes.append(
                f"Samples reshaped from {data.feature_shape} to the model's input {self.source.input_shape}."
            )
            data = data.reshaped(self.source.input_shape)
        self.data = data
        self.threads = threads
        self.latency_budget = latency_budget
        self.X = inputs.cast(data.X_test)
        self.batch = inputs.take(self.X, slice(0, BATCH_SIZE))
        self.reference = self.source.predict(self.X)
        check_outputs(self.reference, data, self.source.name)
        width = int(np.prod(np.shape(self.reference)[1:])) if np.ndim(self.reference) > 1 else 1
        if covers_some_classes(data, width):
            self.notes.append(
                f"The labels of {data.name!r} cover {data.n_classes} of the model's {width} classes "
                f"(read as class indices): accuracy is over those {data.n_classes} classes' samples; "
                "the model may still answer any of its classes."
            )
        # A model with several heads: the others are checked too, each against its own.
        labels = self.source.output_labels
        self.others = [
            (label, key)
            for label, key in zip(labels, self.source.output_names or (), strict=False)
            if label != self.source.output
        ]
        self.reference_others = self.source.predict_outputs(self.X) if self.others else {}
        if self.others:
            self.notes.append(
                f"Scored on the output {self.source.output!r} of {', '.join(map(repr, labels))}; "
                "the others are compared with the original in their own agreement and max_abs_diff columns."
            )
        self.output_kind = self.source.output_kind
        self.original_metric = score(data, self.reference, self.output_kind)
        self._original_row: dict | None = None
        self._original_latency: Latency | None = None
        self._original_size: int | None = None
        self._original_columns: dict | None = None

    def original(self) -> dict:
        """The original model's row (measured on first call)."""
        if self._original_row is None:
            as_is = self.source.kind == "tflite"
            if as_is and self.source.runtime == "tflm":
                self._original_latency = Latency(np.nan, np.nan, np.nan, inputs.count(self.batch), 0)
            else:
                self._original_latency = self._time(self.source.predict_one)
            self._original_size = self.source.size_bytes()
            self._original_row = self.judge.row(
                ORIGINAL,
                self.source.inspection.mode if as_is else "",
                None,
                self.reference,
                self._original_latency,
                path=self.source.as_is_path if as_is else self.source.kind,
            )
        if self.source.kind == "tflite" and self.target is not None:
            return refit({**self._original_row, **self._file_deployment()}, self.target)
        return self._deployed(self._original_row)

    @property
    def judge(self) -> Judge:
        """What scores a variant against this original (it pickles small; see ``Judge``)."""
        return Judge(
            data=self.data.test_only(),
            X=self.X,
            batch=self.batch,
            reference=self.reference,
            output_kind=self.output_kind,
            original_metric=self.original_metric,
            original_size=self._original_size,
            original_latency=self._original_latency,
            latency_budget=self.latency_budget,
            others=[(label, key, self.reference_others[label]) for label, key in self.others],
        )

    def _file_deployment(self) -> dict:
        """A .tflite compared as-is: where the file itself runs, measured once like a variant's."""
        if self._original_columns is None:
            columns = deployment(
                self.source.converted,
                self.reference,
                self.X,
                dataset=self.data,
                output_kind=self.output_kind,
            )
            if self.source.runtime == "tflm":  # its reference is TFLite Micro's: nothing to agree with
                columns.update(tflm_agreement=np.nan, tflm_max_abs_diff=np.nan)
            self._original_columns = columns
        return self._original_columns

    def calibration(self, representative, strategy: str = "random", seed: int = 0, modes=None):
        """Validated calibration samples and a description of how they were picked."""
        if modes is not None and _no_modes(modes):
            return None, "not used"
        modes = parse_modes(modes) if modes is not None else [Mode("int8")]
        return _representative(representative, self.data, strategy, seed, self.source, modes)

    def variant(self, mode, samples=None, calibration=None) -> tuple[dict, Converted | None]:
        """Convert and measure one mode (its activation ranges from ``samples`` with the
        ``calibration`` statistic). A conversion failure becomes a row with its error; a large
        loss of an 8-bit-or-wider variant, a row whose ``note`` says the cause found."""
        mode = Mode.of(mode)
        calibration = Calibration.of(calibration)
        self.original()
        failed = {"variant": mode.label, "mode": mode.name, "path": mode.path}
        if mode.backend == "quantizer":
            try:
                float32_hub(self.source)
            except ConversionError as err:
                if self.source.kind == "tflite":
                    return {**failed, "error": f"does not apply: {err}"}, None
                # The converter's error is in the float32 row (and ran once): not repeated here.
                return {
                    **failed,
                    "error": "needs the float32 .tflite, which did not convert (see float32)",
                }, None
        try:
            converted = convert_source(
                self.source,
                mode,
                samples if mode.calibrated else None,
                threads=self.threads,
                calibration=calibration if mode.backend == "quantizer" else None,
            )
        except ConversionError as err:
            return {**failed, "error": str(err)}, None
        if converted.unchanged or (mode.name != "float32" and _same_tensors(converted, self.source)):
            what = "the recipe" if mode.backend == "quantizer" else "the converter's mode"
            return {
                **failed,
                "error": (
                    f"unchanged: {what} {mode.name} quantizes no tensor of this model (it has no "
                    "weights of the kinds it handles, or too few), so it is float32 again"
                ),
            }, None
        try:
            row, outputs = self.judge.measure(
                converted, mode.label, mode.name, converted.convert_seconds, mode.path
            )
        except WorkbenchError as err:
            return {**failed, "error": str(err)}, None
        self.explain_losses([row], {mode.label: converted})
        return self._deployed(row, converted, outputs), converted

    def explain_losses(self, rows: list[dict], variants: dict[str, Converted]) -> None:
        """Fill the ``note`` of every row of an 8-bit-or-wider variant that lost far more than it
        should (``collapse.needs_explaining``) with the cause read from its file."""
        from . import collapse

        for row in rows:
            converted = variants.get(row.get("variant"))
            if converted is None or row.get("note") or row.get("variant") == ORIGINAL:
                continue
            if not collapse.needs_explaining(
                converted.mode, row, self.data.metric, self.data.higher_is_better
            ):
                continue
            try:
                hub = float32_hub(self.source).content
            except ConversionError:
                continue
            row["note"] = (
                collapse.explain(hub, converted, self.X, calibration=converted.calibration)
                or "Why it lost: no degenerate range and no clipping found on its activations."
            )

    def mixed_variant(
        self, mode, samples, layers: int, precision: str = "auto", calibration=None
    ) -> tuple[dict, Converted | None]:
        """``mode`` with its worst ``layers`` kept at higher precision, measured like any variant."""
        from .diagnose import keep_float

        mode = Mode.of(mode)
        self.original()
        started = time.perf_counter()
        representative = samples if samples is not None else self.data.X_train[:100]
        try:
            converted = keep_float(
                self.source,
                mode,
                representative,
                layers=layers,
                precision=precision,
                calibration=calibration if mode.backend == "quantizer" else None,
            )
        except ConversionError as err:
            label = f"{mode.name}+keep({layers} layers)"
            return {"variant": label, "mode": mode.name, "path": mode.path, "error": str(err)}, None
        converted = converted.with_threads(self.threads)
        row, outputs = self.judge.measure(
            converted, converted.label, mode.name, time.perf_counter() - started, mode.path
        )
        return self._deployed(row, converted, outputs), converted

    def comparison(
        self, rows, variants, representative: str, cancelled: bool = False, calibration=None
    ) -> Comparison:
        """Assemble rows (the original's first) into a :class:`Comparison`."""
        table = with_speedups(pd.DataFrame(rows, columns=list(self.original())), self.source.kind)
        for column in ("calibration", "note"):  # a failed row has neither
            table[column] = table[column].fillna("")
        return Comparison(
            table=table,
            variants=dict(variants),
            model_name=self.source.name,
            model_kind=self.source.kind,
            dataset=self.data,
            batch_size=inputs.count(self.batch),
            threads=self.threads,
            representative=representative,
            notes=list(self.notes)
            + ([f"tflm_arena_bytes: {ARENA_NOTE}."] if self.target is not None else []),
            cancelled=cancelled,
            target=self.target,
            source=self.source,
            calibration=calibration,
        )

    def _deployed(self, row: dict, converted: Converted | None = None, outputs=None) -> dict:
        """With a target: where the variant runs and whether it fits (``targets.deployment``)."""
        if self.target is None:
            return row
        if converted is None or len(converted.inputs) > 1:
            return {**row, **blank_deployment(self.target)}  # TFLite Micro is checked for one input
        columns = deployment(
            converted, outputs, self.X, target=self.target, dataset=self.data, output_kind=self.output_kind
        )
        return {**row, **columns}

    def _time(self, call) -> Latency:
        return self.judge.time(call)


def _beside_int8(rows: list[dict], metric: str) -> None:
    """Each explained loss set beside the converter's int8 of the same model, where compared."""
    int8 = next((r for r in rows if r.get("mode") == "int8" and not r.get("error")), None)
    if int8 is None:
        return
    for row in rows:
        if row.get("note", "").startswith("Why it lost") and row is not int8:
            row["note"] += f" The converter's int8 of the same model: {metric} {int8[metric]:.4g}."


def with_speedups(table: pd.DataFrame, source_kind: str) -> pd.DataFrame:
    """``speedup`` against the float32 ``.tflite`` on the same interpreter (the ``float32`` row,
    or the original when it is itself a ``.tflite``), and ``speedup_vs_original`` against the
    original's own call, as ``evaluate`` measured it (for Keras, ``model(x)``, whose per-call
    Python overhead makes that ratio large for any ``.tflite``)."""
    if "speedup" not in table or "latency_ms_p50" not in table:
        return table
    table = table.copy()
    against_original = table.pop("speedup")
    table.insert(
        table.columns.get_loc("convert_s") + 1 if "convert_s" in table else len(table.columns),
        "speedup_vs_original",
        against_original,
    )
    reference = table[(table["variant"] == "float32") & (table["error"] == "")]
    if not len(reference) and source_kind == "tflite":
        reference = table[(table["variant"] == ORIGINAL) & (table["error"] == "")]
    p50 = reference["latency_ms_p50"].iloc[0] if len(reference) else np.nan
    table.insert(
        table.columns.get_loc("batch_latency_ms") + 1,
        "speedup",
        p50 / table["latency_ms_p50"].astype(float),
    )
    return table


def _unrunnable(source: Source, dataset, target, threads: int) -> Comparison:
    """A .tflite that neither LiteRT nor TFLite Micro runs: one row that says both reasons."""
    target = as_target(target) if target is not None else None
    data = resolve_dataset(dataset, source)
    row = {
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
    }
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


def _no_modes(modes) -> bool:
    return isinstance(modes, (list, tuple)) and len(modes) == 0


def _modes_for(bench: Bench, modes: list[Mode], default: bool) -> list[Mode]:
    """The modes a comparison runs. A ``.tflite`` is its own reference (the original row): with
    the default modes, a float32 file gets the recommended recipes and a quantized one is
    compared as-is; no modes at all is a comparison of the file alone."""
    if bench.source.kind != "tflite":
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


def _same_tensors(converted: Converted, source: Source) -> bool:
    """Whether a converter variant stores exactly the tensor types of the float32 file."""
    from .runtime import stored_tensor_types

    try:
        hub = float32_hub(source)
    except ConversionError:
        return False
    return (
        stored_tensor_types(converted.content) == stored_tensor_types(hub.content)
        and [t.dtype for t in converted.inputs] == [t.dtype for t in hub.inputs]
        and converted.ops == hub.ops
    )


def check_calibration_choice(representative, strategy, seed) -> None:
    """The calibration arguments, checked whether or not a chosen mode calibrates."""
    from .datasets import STRATEGIES

    one_of("strategy", strategy, STRATEGIES, fix="Use strategy='random' unless you are studying calibration.")
    whole_number("seed", seed, minimum=0, fix="Use seed=0 or any other non-negative whole number.")
    if isinstance(representative, (bool, float, str, bytes, np.floating)) or representative is None:
        raise RepresentativeDataError(
            received=f"representative={representative!r}",
            expected="A number of training samples (a whole number, e.g. 200) or an array of samples.",
            fix="Pass representative=200, or samples such as dataset.representative(200).",
        )
    if isinstance(representative, (int, np.integer)):
        whole_number("representative", representative, fix="Pass representative=200.")


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


def resolve_dataset(dataset, source: Source) -> Dataset:
    if dataset is None:
        from .examples import EXAMPLES

        if source.example in EXAMPLES:
            return load_dataset(EXAMPLES[source.example].dataset)
        raise DatasetError(
            received="dataset=None",
            expected="A Dataset or a built-in dataset name to evaluate the model on.",
            fix="Pass e.g. dataset='digits' or Dataset.from_csv('data.csv', target='label').",
        )
    if isinstance(dataset, Dataset):
        return dataset
    if isinstance(dataset, str):
        return load_dataset(dataset)
    raise DatasetError(
        received=f"dataset of type {type(dataset).__name__}",
        expected="A Dataset or a built-in dataset name.",
        fix="Wrap arrays with Dataset.from_arrays(X, y) or a DataFrame with Dataset.from_dataframe.",
    )


def _representative(representative, data: Dataset, strategy, seed, source, modes):
    """Validated calibration samples (or None if no mode calibrates) and how they were picked."""
    if not any(m.calibrated for m in modes):
        return None, "not used"
    if isinstance(representative, bool) or representative is None:
        raise RepresentativeDataError(
            received=f"representative={representative!r}",
            expected="A number of training samples or an array of them for int8/int16x8.",
            fix="Pass representative=200, or leave int8 and int16x8 out of modes.",
        )
    if isinstance(representative, (int, np.integer)):
        picked = data.representative(int(representative), strategy=strategy, seed=seed)
        described = f"{len(picked)} training samples ({strategy}, seed {seed})"
    else:
        picked = representative
        described = f"{len(np.asarray(representative))} samples given"
    calibrated = next(m for m in modes if m.calibrated)
    return calibration_samples(source, calibrated, picked), described


def _progress_reporter(progress) -> Callable:
    if callable(progress):
        return progress
    if not progress:
        return lambda done, total, message: None

    def report(done, total, message):
        print(f"[{done}/{total}] {message}", file=sys.stderr, flush=True)

    return report
