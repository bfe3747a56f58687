"""A model on a dataset, measured: :class:`Bench` measures the original once and any variant on
demand (``compare`` runs one over a list of modes; the widget keeps one per model and dataset), and
checks the arguments that pick its data (dataset, calibration samples)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import _columns as columns
from . import _inputs as inputs
from ._args import one_of, positive_seconds, whole_number
from ._comparison import ORIGINAL, Comparison
from ._deployment import blank_deployment, deployment
from .calibration import Calibration
from .convert import calibration_samples, convert_source, float32_hub
from .datasets import Dataset, load_dataset
from .errors import (
    ConversionError,
    DatasetError,
    RepresentativeDataError,
    WorkbenchError,
)
from .evaluate import Judge, Latency, check_outputs, covers_some_classes, score
from .modes import Mode, parse_modes
from .runtime import Converted
from .sources import Source, as_source
from .targets import ARENA_NOTE, as_target, refit

BATCH_SIZE = 256


@dataclass(frozen=True)
class RefusedCalibration:
    """Calibration samples a dataset could not give (see :meth:`Bench.calibration`): the
    calibrated modes' rows say ``error``, the others are measured."""

    error: WorkbenchError


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
            as_is = self.source.as_is
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
        if self.source.as_is and self.target is not None:
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

    def calibration(
        self, representative, strategy: str = "random", seed: int = 0, modes=None, *, per_row: bool = False
    ):
        """Validated calibration samples and a description of how they were picked.

        With ``per_row``, samples drawn from a dataset that holds missing values (NaN, allowed
        through ``allow_missing``) are not refused for the whole comparison: a
        :class:`RefusedCalibration` stands in for them, and each calibrated mode's row says why
        it does not apply while every other row is measured."""
        if modes is not None and no_modes(modes):
            return None, "not used"
        modes = parse_modes(modes) if modes is not None else [Mode("int8")]
        try:
            return _representative(representative, self.data, strategy, seed, self.source, modes)
        except RepresentativeDataError as err:
            if not (per_row and isinstance(representative, (int, np.integer))):
                raise  # samples the user gave: theirs to fix
            return RefusedCalibration(err), "not used: the dataset's samples hold missing values"

    def variant(self, mode, samples=None, calibration=None) -> tuple[dict, Converted | None]:
        """Convert and measure one mode (its activation ranges from ``samples`` with the
        ``calibration`` statistic). A conversion failure becomes a row with its error; a large
        loss of an 8-bit-or-wider variant, a row whose ``note`` says the cause found."""
        mode = Mode.of(mode)
        calibration = Calibration.of(calibration)
        self.original()
        made = self.source.integer_trees(mode, None)  # a tree ensemble's static modes: its own graph
        failed = columns.failed_row(mode.label, mode.name, made.made_by if made else mode.path, "")
        if made is not None:
            try:  # NaN in the data it would run on has no place on the trees' integer grids
                self.source.integer_trees(mode, self.X)
            except ConversionError as err:
                return {**failed, "error": f"does not apply: {err}"}, None
        if isinstance(samples, RefusedCalibration) and mode.calibrated:
            return {**failed, "error": f"does not apply: {samples.error}"}, None
        if mode.from_float_file:
            try:
                float32_hub(self.source)
            except ConversionError as err:
                if self.source.as_is:
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
                calibration=calibration if mode.statistic_choice else None,
            )
        except ConversionError as err:
            return {**failed, "error": str(err)}, None
        if converted.unchanged or (mode.name != "float32" and _same_tensors(converted, self.source)):
            what = "the recipe" if mode.from_float_file else "the converter's mode"
            return {
                **failed,
                "error": (
                    f"unchanged: {what} {mode.name} quantizes no tensor of this model (it has no "
                    "weights of the kinds it handles, or too few), so it is float32 again"
                ),
            }, None
        try:
            row, outputs = self.judge.measure(
                converted, mode.label, mode.name, converted.convert_seconds, converted.path
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
        if isinstance(samples, RefusedCalibration):
            label = f"{mode.name}+keep({layers} layers)"
            return columns.failed_row(label, mode.name, mode.path, f"does not apply: {samples.error}"), None
        started = time.perf_counter()
        representative = samples if samples is not None else self.data.X_train[:100]
        try:
            converted = keep_float(
                self.source,
                mode,
                representative,
                layers=layers,
                precision=precision,
                calibration=calibration if mode.statistic_choice else None,
            )
        except ConversionError as err:
            label = f"{mode.name}+keep({layers} layers)"
            return columns.failed_row(label, mode.name, mode.path, str(err)), None
        converted = converted.with_threads(self.threads)
        row, outputs = self.judge.measure(
            converted, converted.label, mode.name, time.perf_counter() - started, converted.path
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
            calibration=None if isinstance(calibration, RefusedCalibration) else calibration,
        )

    def _deployed(self, row: dict, converted: Converted | None = None, outputs=None) -> dict:
        """With a target: where the variant runs and whether it fits (``_deployment.deployment``)."""
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


def no_modes(modes) -> bool:
    return isinstance(modes, (list, tuple)) and len(modes) == 0


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
