"""``sweep()`` and ``search()``: many variants of many models, scored in parallel through joblib.

The float32 ``.tflite`` is made once per model (``convert.float32_hub``). Every candidate is
then one task that carries those bytes, its recipe, its calibration samples and a
:class:`workbench.evaluate.Judge` (the test split and the original's outputs), and needs
only ``ai_edge_litert`` and ``litert_quantizer``: no TensorFlow and no model object. joblib
runs the tasks on every core of this machine (loky processes) by default, and on a Dask
cluster under ``joblib.parallel_config(backend="dask")`` with no other change.

Converter modes (``int8``, ``float16``, ...) need TensorFlow, so they are converted here,
in the converter's worker process, before the parallel part; only their scoring is a task.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import _inputs as inputs
from ._args import cancel_event, one_of, positive_seconds, progress_callback, whole_number
from .compare import ORIGINAL, Bench, _check_calibration_choice
from .convert import calibration_samples, convert_source, float32_hub
from .errors import BudgetError, ConversionError, InvalidArgumentError, WorkbenchError
from .evaluate import Judge
from .modes import DEFAULT_MODES, QUANTIZER_MODES, Mode, parse_modes
from .runtime import Converted, stored_tensor_types

#: Seconds of timed calls per candidate (after warm-up; at least 10 calls each).
LATENCY_BUDGET = 0.2

#: Layers whose precision is searched one count at a time; beyond, the counts double.
DENSE_LADDER = 12


# ----------------------------------------------------------------------------- candidates
@dataclass(frozen=True)
class Candidate:
    """One variant to make and score: a mode, and the layers it keeps at higher precision."""

    label: str
    mode: Mode
    #: Op scopes kept at higher precision (``quantize.keep_scopes``), as (regex, precision) pairs.
    keep: tuple[tuple[str, str], ...] = ()
    kept_layers: tuple[str, ...] = ()
    precision: str = ""
    #: The bytes, when they were made before the parallel part (converter modes).
    content: bytes | None = None
    convert_s: float = math.nan
    #: Which model (and calibration) this candidate belongs to: an index into the groups.
    group: int = 0
    #: Why the converter could not make it (converter modes only).
    error: str = ""
    #: For a probe (per-layer error): the calibration inputs its output error is measured on.
    probe: object = None


@dataclass
class _Group:
    """One model on one dataset with one calibration choice: what its tasks share."""

    bench: Bench
    hub: bytes
    io: dict
    judge: Judge
    samples: object = None
    calibration: dict = field(default_factory=dict)


def score_candidate(
    index: int, candidate: Candidate, hub: bytes, io: dict, judge: Judge, samples, parent: int
):
    """Make ``candidate`` from the float32 bytes and score it: one task of a sweep.

    Runs in a joblib worker process or on a Dask worker, with ``ai_edge_litert`` and
    ``litert_quantizer`` only. In the process that started the sweep (``parent``: joblib
    with ``n_jobs=1``, or the local fallback), the recipe is applied in the worker process
    instead, so that native code cannot take the caller down.
    """
    from .quantize import apply_recipe

    started = time.perf_counter()
    mode = candidate.mode
    answer = {"index": index, "content": None, "recipe": None, "pid": os.getpid()}
    failed = {"variant": candidate.label, "mode": mode.name, "path": mode.path}
    try:
        recipe = None
        if candidate.content is not None:
            content, seconds = candidate.content, candidate.convert_s
        else:
            made = apply_recipe(
                hub,
                mode,
                samples if mode.calibrated else None,
                keep=dict(candidate.keep),
                here=os.getpid() != parent,
            )
            content, recipe, seconds = made["content"], made["recipe"], time.perf_counter() - started
        if mode.name != "float32" and stored_tensor_types(content) == stored_tensor_types(hub):
            row = {
                **failed,
                "error": f"unchanged: {mode.name} quantizes no tensor of this model, so it is float32 again",
            }
        elif candidate.probe is not None:
            row = {**failed, "error": "", "probe_error": _output_error(content, hub, io, candidate.probe)}
        else:
            converted = Converted(content, mode, convert_seconds=seconds, **io)
            row, _ = judge.measure(converted, candidate.label, mode.name, seconds, mode.path)
            from .targets import litert_memory_estimate

            row["litert_memory_bytes"] = litert_memory_estimate(content)
            answer.update(content=content, recipe=recipe)
    except WorkbenchError as err:
        row = {**failed, "error": str(err)}
    answer["row"] = row
    answer["tensorflow"] = "tensorflow" in sys.modules
    return answer


def _output_error(content: bytes, hub: bytes, io: dict, samples) -> float:
    """Normalised squared error of a variant's output against the float32 model's."""
    reference = Converted(hub, Mode("float32"), **io).run(samples).astype(np.float64)
    outputs = Converted(content, Mode("float32"), **io).run(samples).astype(np.float64)
    if not np.isfinite(outputs).all():
        return float("inf")
    return float(np.mean((outputs - reference) ** 2) / max(np.mean(reference**2), 1e-30))


class _Runner:
    """Runs candidates through joblib, with progress, cancel and a deadline.

    If the parallel backend fails (a Dask client that is unreachable or goes away, a worker
    process that dies), the candidates not yet scored run here, one at a time, and a note
    says how many ran where.
    """

    def __init__(self, n_jobs, progress, cancel, max_seconds, objective):
        self.n_jobs = n_jobs
        self.report = progress
        self.cancel = cancel
        self.deadline = None if max_seconds is None else time.perf_counter() + max_seconds
        self.max_seconds = max_seconds
        self.objective = objective
        self.notes: list[str] = []
        self.cancelled = False
        self.timed_out = False
        self.done = 0
        self.total = 0
        self.tensorflow_in_tasks = False
        self.pids: set[int] = set()

    def stop_requested(self) -> bool:
        if self.cancel is not None and self.cancel.is_set():
            self.cancelled = True
        if self.deadline is not None and time.perf_counter() > self.deadline:
            self.timed_out = True
        return self.cancelled or self.timed_out

    def run(self, candidates: list[Candidate], groups: list[_Group], best=None) -> dict[int, dict]:
        """Score ``candidates``; returns the answers by index into ``candidates``."""
        import joblib

        answers: dict[int, dict] = {}
        if not candidates or self.stop_requested():
            return answers
        parent = os.getpid()

        def task(i):
            c = candidates[i]
            g = groups[c.group]
            return joblib.delayed(score_candidate)(i, c, g.hub, g.io, g.judge, g.samples, parent)

        def received(answer):
            answers[answer["index"]] = answer
            self.done += 1
            self.tensorflow_in_tasks |= answer["tensorflow"]
            self.pids.add(answer["pid"])
            self.report(self.done, self.total, _progress_message(answer["row"], best, self.objective))

        pending = list(range(len(candidates)))
        try:
            parallel = joblib.Parallel(n_jobs=self.n_jobs, return_as="generator_unordered")
            for answer in parallel(task(i) for i in pending):
                received(answer)
                if self.stop_requested():
                    break
        except KeyboardInterrupt:
            self.cancelled = True
        except Exception as err:  # the backend failed, not a candidate: those become rows
            left = [i for i in pending if i not in answers]
            self.notes.append(
                f"The parallel backend failed after {len(answers)} of {len(candidates)} candidates "
                f"({type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else 'no message'}); "
                f"the other {len(left)} ran in this process, one at a time."
            )
            for i in left:
                if self.stop_requested():
                    break
                c = candidates[i]
                g = groups[c.group]
                received(score_candidate(i, c, g.hub, g.io, g.judge, g.samples, parent))
        return answers

    def stopped_note(self, scored: int, planned: int) -> None:
        if self.cancelled:
            self.notes.append(f"Cancelled: {scored} of {planned} candidates scored; the table has those.")
        elif self.timed_out:
            self.notes.append(
                f"Stopped at max_seconds={self.max_seconds:g}: {scored} of {planned} candidates scored; "
                "the best of those is reported. Allow more time, or fewer modes or calibration choices."
            )


def _progress_message(row: dict, best, objective) -> str:
    what = row["variant"] if not row.get("error") else f"{row['variant']} (failed)"
    if best is None:
        return what
    leader = best()
    return f"{what}; best so far: {leader}" if leader else what


# ----------------------------------------------------------------------------- shared setup
def _prepare(bench: Bench) -> tuple[bytes, dict]:
    hub = float32_hub(bench.source)
    io = {
        "source": hub.source,
        "classes": hub.classes,
        "output_kind": hub.output_kind,
        "output_order": hub.output_names,
        "input_order": hub.input_names,
        "primary_output": hub.primary_output,
        "threads": bench.threads,
    }
    bench.original()
    return hub.content, io


def _reporter(progress, description: str):
    """A callable (done, total, message): a tqdm bar (a widget in a notebook), nothing, or the
    user's function."""
    if callable(progress):
        return progress, lambda: None
    if not progress:
        return (lambda done, total, message: None), lambda: None
    from tqdm.auto import tqdm

    bar = tqdm(desc=description, unit=" candidates", leave=True)

    def report(done, total, message):
        bar.total = total
        bar.n = done
        bar.set_postfix_str(message[:90], refresh=False)
        bar.refresh()

    return report, bar.close


def _check_jobs(n_jobs) -> int:
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0 or n_jobs < -1:
        raise InvalidArgumentError(
            received=f"n_jobs={n_jobs!r}",
            expected="A number of processes (1 or more), or -1 for every core (every Dask worker).",
            fix="Leave n_jobs out to use every core; n_jobs=1 runs candidates one at a time.",
        )
    return int(n_jobs)


def _check_max_seconds(max_seconds):
    if max_seconds is None:
        return None
    return positive_seconds("max_seconds", max_seconds, fix="Pass max_seconds=60, or None for no limit.")


# ----------------------------------------------------------------------------- sweep
@dataclass
class Sweep:
    """The result of :func:`sweep`: one table over every model, dataset, variant and calibration.

    Attributes
    ----------
    table : pandas.DataFrame
        The columns of :func:`workbench.compare`, after ``model``, ``dataset``,
        ``representative`` (calibration samples; empty for modes that do not calibrate),
        ``strategy`` and ``seed``.
    """

    table: pd.DataFrame
    notes: list[str]
    cancelled: bool = False
    timed_out: bool = False
    seconds: float = 0.0
    workers: int = 1
    tensorflow_in_tasks: bool = False
    task_pids: frozenset = frozenset()

    def plot(self):
        """Metric against calibration size per mode, with the spread over seeds (a Figure)."""
        from .plots import sweep_figure

        return sweep_figure(self)

    def summary(self) -> str:
        from .report import format_table

        return format_table(self.table).to_string(index=False)

    def __repr__(self) -> str:
        return f"Sweep of {len(self.table)} rows in {self.seconds:.1f} s\n" + self.summary()

    def _repr_html_(self) -> str:
        import base64

        from .plots import figure_png
        from .report import table_html

        png = base64.b64encode(figure_png(self.plot())).decode()
        notes = "".join(f"<li>{n}</li>" for n in self.notes)
        return (
            table_html(self.table)
            + (f"<ul>{notes}</ul>" if notes else "")
            + f'<img alt="sweep" src="data:image/png;base64,{png}">'
        )


def sweep(
    models,
    datasets=None,
    modes=DEFAULT_MODES,
    representative=(50, 100, 200, 500),
    strategy=("random",),
    seeds=(0,),
    *,
    n_jobs: int = -1,
    threads: int = 1,
    latency_budget: float = LATENCY_BUDGET,
    progress: bool | Callable = True,
    cancel=None,
    max_seconds: float | None = None,
) -> Sweep:
    """Every model × dataset × mode × calibration choice, scored in parallel, in one table.

    Parameters
    ----------
    models : model, str, or list of them
        Keras models, scikit-learn estimators, files or example names (``"digits_cnn"``).
    datasets : Dataset, str, list of them, or None, default=None
        Every model is scored on every dataset; ``None`` takes each example's own dataset.
    modes : sequence of str or Mode, default=DEFAULT_MODES
        Converter modes and LiteRT Quantizer recipes, as for :func:`workbench.compare`.
    representative : int or sequence of int, default=(50, 100, 200, 500)
        Calibration sizes (training samples) for the modes that calibrate; the others are
        made once per model.
    strategy : str or sequence of str, default=("random",)
        ``"random"``, ``"stratified"``, ``"first"``: how calibration samples are picked.
    seeds : int or sequence of int, default=(0,)
        Seeds of the picking: the spread over seeds shows how much the choice of samples matters.
    n_jobs : int, default=-1
        Processes for the candidates (joblib): -1 is every core, or every Dask worker under
        ``joblib.parallel_config(backend="dask")``.
    latency_budget : float, default=0.2
        Seconds of timed calls per variant. With ``n_jobs`` other than 1, candidates are
        timed side by side, sharing the cores: compare latencies within one sweep only.
    progress : bool or callable, default=True
        ``True`` shows a bar (a widget in a notebook); a callable gets ``(done, total, message)``.
    cancel : object with ``is_set()``, default=None
        When set, the sweep stops and returns the rows it has.
    max_seconds : float, default=None
        Stop after this long and return the rows scored so far.

    Returns
    -------
    Sweep
    """
    modes = parse_modes(modes)
    sizes = _several("representative", representative, (int, np.integer))
    strategies = _several("strategy", strategy, (str,))
    seed_list = _several("seeds", seeds, (int, np.integer))
    for n in sizes:
        whole_number("representative", n, fix="Pass calibration sizes such as representative=(50, 200).")
    for s in strategies:
        for seed in seed_list:
            _check_calibration_choice(200, s, seed)
    n_jobs = _check_jobs(n_jobs)
    max_seconds = _check_max_seconds(max_seconds)
    progress_callback(progress)
    cancel_event(cancel)
    model_list = list(models) if isinstance(models, (list, tuple)) else [models]
    if not model_list:
        raise InvalidArgumentError(
            received="models=[]",
            expected="At least one model.",
            fix="Pass a model, a file, an example name, or a list of them.",
        )
    dataset_list = list(datasets) if isinstance(datasets, (list, tuple)) else [datasets]
    started = time.perf_counter()
    # Every model meets every dataset at the door, so a mismatch raises before any conversion.
    benches = [
        Bench(m, d, threads=threads, latency_budget=latency_budget) for m in model_list for d in dataset_list
    ]
    report, close = _reporter(progress, "sweep")
    runner = _Runner(n_jobs, report, cancel, max_seconds, "size")
    calibrations = [
        {"representative": n, "strategy": s, "seed": seed}
        for n in sizes
        for s in strategies
        for seed in seed_list
    ]
    groups: list[_Group] = []
    candidates: list[Candidate] = []
    originals: list[dict] = []
    converting: list[tuple[Candidate, Bench]] = []
    try:
        for bench in benches:
            context = {"model": bench.source.name, "dataset": bench.data.name}
            try:
                hub, io = _prepare(bench)
            except ConversionError as err:
                originals.append({**context, **bench.original()})
                originals.append({**context, "variant": "float32", "mode": "float32", "error": str(err)})
                continue
            originals.append({**context, **bench.original(), "representative": np.nan, "strategy": ""})
            judge = bench.judge
            plain = _Group(
                bench, hub, io, judge, calibration={"representative": np.nan, "strategy": "", "seed": np.nan}
            )
            groups.append(plain)
            for mode in (m for m in modes if not m.calibrated):
                candidates.append(_candidate(mode, len(groups) - 1, bench, hub, converting))
            for choice in calibrations if any(m.calibrated for m in modes) else ():
                picked = bench.data.representative(
                    choice["representative"], choice["strategy"], choice["seed"]
                )
                calibrated = [m for m in modes if m.calibrated]
                samples = calibration_samples(bench.source, calibrated[0], picked)
                described = {**choice, "representative": inputs.count(picked)}
                groups.append(_Group(bench, hub, io, judge, samples=samples, calibration=described))
                for mode in calibrated:
                    candidates.append(_candidate(mode, len(groups) - 1, bench, hub, converting))
        runner.total = len(candidates)
        planned = len(candidates)
        candidates, failed = _convert_first(candidates, groups, converting, runner)
        answers = runner.run(candidates, groups)
    finally:
        close()
    done = [(candidates[i], answers[i]["row"]) for i in sorted(answers)] + failed
    rows = list(originals)
    for candidate, row in done:
        group = groups[candidate.group]
        rows.append(
            {"model": group.bench.source.name, "dataset": group.bench.data.name, **group.calibration, **row}
        )
    runner.stopped_note(len(done), planned)
    notes = list(runner.notes)
    if len(runner.pids) > 1:
        notes.append(
            "Latencies were measured with candidates running side by side on the same cores: "
            "compare them within this sweep only."
        )
    first = ["model", "dataset", "representative", "strategy", "seed"]
    table = pd.DataFrame(rows)
    table = table[first + [c for c in table.columns if c not in first]]
    table["error"] = table["error"].fillna("")
    return Sweep(
        table=table,
        notes=notes,
        cancelled=runner.cancelled,
        timed_out=runner.timed_out,
        seconds=time.perf_counter() - started,
        workers=len(runner.pids),
        tensorflow_in_tasks=runner.tensorflow_in_tasks,
        task_pids=frozenset(runner.pids),
    )


def _several(name, value, kinds) -> list:
    values = list(value) if isinstance(value, (list, tuple, range)) else [value]
    if not values or not all(isinstance(v, kinds) and not isinstance(v, bool) for v in values):
        kind = "whole numbers" if kinds != (str,) else "names"
        raise InvalidArgumentError(
            received=f"{name}={value!r}",
            expected=f"One value or a list of {kind}.",
            fix=f"Pass e.g. {name}=(50, 200)."
            if kind == "whole numbers"
            else f"Pass e.g. {name}=('random', 'stratified').",
        )
    return values


def _candidate(mode: Mode, group: int, bench: Bench, hub: bytes, converting: list) -> Candidate:
    if mode.name == "float32":
        return Candidate(mode.label, mode, content=hub, convert_s=0.0, group=group)
    candidate = Candidate(mode.label, mode, group=group)
    if mode.backend == "converter":
        converting.append(candidate)
    return candidate


def _convert_first(candidates: list[Candidate], groups, converting, runner: _Runner):
    """Converter modes are made here (they need TensorFlow), in the converter's worker.

    Returns the candidates to score and the (candidate, row) of those that failed to convert.
    """
    waiting = {id(c) for c in converting}
    ready, failed = [], []
    for candidate in candidates:
        if id(candidate) not in waiting:
            ready.append(candidate)
            continue
        if runner.stop_requested():
            continue
        group = groups[candidate.group]
        runner.report(runner.done, runner.total, f"converting {candidate.label} with the TFLite converter")
        started = time.perf_counter()
        mode = candidate.mode
        try:
            converted = convert_source(group.bench.source, mode, group.samples if mode.calibrated else None)
        except ConversionError as err:
            failed.append(
                (candidate, {"variant": mode.label, "mode": mode.name, "path": mode.path, "error": str(err)})
            )
            runner.done += 1
            continue
        ready.append(
            Candidate(
                candidate.label,
                mode,
                content=converted.content,
                convert_s=time.perf_counter() - started,
                group=candidate.group,
            )
        )
    return ready, failed


# ----------------------------------------------------------------------------- search
@dataclass
class Search:
    """The result of :func:`search`: every candidate, the Pareto set and the recommendation.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per candidate (and the original's first), with the columns of
        :func:`workbench.compare` and ``recipe``, ``kept_layers``, ``keep_precision``,
        ``meets_metric``, ``meets_flash``, ``meets_ram`` (``None``: not checked), ``feasible``,
        ``pareto`` and ``miss`` (what a candidate misses the budget by).
    recommended : str or None
        The candidate that meets the budget with the best objective; ``None`` if none does.
    closest : list of str
        When none meets it: the candidates that come closest, each with ``miss`` in the table.
    code : str
        Plain ``litert_quantizer`` (or converter) code that reproduces the recommended variant.
    """

    table: pd.DataFrame
    variants: dict[str, Converted]
    recommended: str | None
    pareto: list[str]
    closest: list[str]
    code: str
    budget: dict
    objective: str
    metric: str
    notes: list[str]
    cancelled: bool = False
    timed_out: bool = False
    seconds: float = 0.0
    hub_seconds: float = 0.0
    #: Whether any task's process had TensorFlow loaded (it should not: tasks stay small).
    tensorflow_in_tasks: bool = False
    #: The process ids that scored candidates.
    task_pids: frozenset = frozenset()
    _candidates: dict = field(default_factory=dict, repr=False)
    _contents: dict = field(default_factory=dict, repr=False)
    _io: dict = field(default_factory=dict, repr=False)

    def code_for(self, label: str) -> str:
        """Plain code that reproduces the candidate ``label`` (see :meth:`Mode.snippet`)."""
        if label not in self._candidates:
            raise InvalidArgumentError(
                received=f"label={label!r}",
                expected=f"One of the candidates: {', '.join(list(self._candidates)[:12])}, ...",
                fix="Pick a label from the table's variant column.",
            )
        return _code(self._candidates[label])

    def variant(self, label: str) -> Converted:
        """Any scored candidate as a Converted, ready to save or run."""
        if label not in self._contents:
            raise InvalidArgumentError(
                received=f"label={label!r}",
                expected="A candidate that was scored (its row has no error).",
                fix="Pick a label from the table's variant column whose error is empty.",
            )
        return self.variants.get(label) or _converted(self._contents[label], self._io)

    @property
    def best(self) -> Converted | None:
        """The recommended variant, ready to save or run (``None`` if no candidate meets the budget)."""
        return self.variants.get(self.recommended) if self.recommended else None

    def plot(self):
        """Every candidate (metric vs size and vs latency), the frontier and the budget lines."""
        from .plots import search_figure

        return search_figure(self)

    def summary(self) -> str:
        lines = [
            f"{len(self.table) - 1} candidates in {self.seconds:.1f} s; budget: {_describe_budget(self.budget, self.metric)}"
        ]
        if self.recommended:
            row = self.table.set_index("variant").loc[self.recommended]
            lines.append(
                f"recommended: {self.recommended} — {row['size_bytes']:,} bytes, {self.metric} "
                f"{row[self.metric]:.4f} ({row['metric_delta']:+.4f}), {row['latency_ms_p50']:.3f} ms"
            )
        else:
            lines.append("no candidate meets the budget; closest:")
            misses = self.table.set_index("variant")["miss"]
            lines += [f"  {label}: {misses[label]}" for label in self.closest]
        lines.append(f"Pareto set: {', '.join(self.pareto)}")
        lines += self.notes
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        import base64
        import html

        from .plots import figure_png
        from .report import table_html

        png = base64.b64encode(figure_png(self.plot())).decode()
        columns = [
            c
            for c in (
                "variant",
                "size_bytes",
                self.metric,
                "metric_delta",
                "latency_ms_p50",
                "tflm_arena_bytes",
                "feasible",
                "pareto",
                "miss",
            )
            if c in self.table
        ]
        shown = self.table[self.table["pareto"] | (self.table["variant"] == self.recommended)]
        return (
            f"<pre>{html.escape(self.summary())}</pre>"
            + table_html(shown[columns])
            + f'<img alt="search" src="data:image/png;base64,{png}">'
            + f"<pre>{html.escape(self.code)}</pre>"
        )


OBJECTIVES = ("size", "latency")


def search(
    model,
    dataset=None,
    max_metric_drop: float = 0.01,
    *,
    max_flash=None,
    max_ram=None,
    target=None,
    objective: str = "size",
    modes=QUANTIZER_MODES,
    layers: bool = True,
    representative=200,
    strategy: str = "random",
    seed: int = 0,
    n_jobs: int = -1,
    threads: int = 1,
    latency_budget: float = LATENCY_BUDGET,
    progress: bool | Callable = True,
    cancel=None,
    max_seconds: float | None = None,
) -> Search:
    """The smallest (or fastest) variant that keeps the metric within ``max_metric_drop`` and fits.

    First every recipe in ``modes`` is scored. Then, for each recipe that loses too much
    but would be smaller than the best so far, the layers are ranked by their own
    quantization error (LiteRT Quantizer's validation on calibration samples, never the
    test split) and the recipe is tried again with its worst 1, 2, ... layers at higher
    precision, up to all but the mildest: a climb from the aggressive end and a descent
    from the safe end of the same ranking, scored in parallel. Candidates that meet the
    metric and flash budgets are then run on TFLite Micro (with a target or ``max_ram``),
    best first, until one fits.

    Parameters
    ----------
    model, dataset
        As for :func:`workbench.compare`.
    max_metric_drop : float, default=0.01
        How much accuracy (or R²) a variant may lose against the original, e.g. 0.01 for one point.
    max_flash, max_ram : int or str, default=None
        Budgets for the model's bytes and its working memory (the TFLite Micro arena), e.g.
        ``"256KB"``; they override the target's.
    target : str, dict or Target, default=None
        A device preset (``"cortex-m4"``) or budget, as for :func:`workbench.compare`.
    objective : {"size", "latency"}, default="size"
        What the recommendation minimises among the candidates that meet the budget.
    modes : sequence of str, default=QUANTIZER_MODES
        The starting recipes (converter modes are allowed too, without per-layer search).
    layers : bool, default=True
        Search per-layer precision; ``False`` scores the recipes only.
    representative, strategy, seed
        Calibration samples for static recipes and for ranking layers.
    n_jobs, latency_budget, progress, cancel, max_seconds
        As for :func:`sweep`. Latencies of the Pareto set are measured again alone at the end.

    Returns
    -------
    Search
    """

    modes = parse_modes(modes)
    objective = one_of("objective", objective, OBJECTIVES, fix="Use objective='size' or objective='latency'.")
    budget = _check_budget(max_metric_drop, max_flash, max_ram, target)
    _check_calibration_choice(representative, strategy, seed)
    n_jobs = _check_jobs(n_jobs)
    max_seconds = _check_max_seconds(max_seconds)
    progress_callback(progress)
    cancel_event(cancel)
    started = time.perf_counter()
    bench = Bench(model, dataset, threads=threads, latency_budget=latency_budget)
    hub_started = time.perf_counter()
    hub, io = _prepare(bench)
    hub_seconds = time.perf_counter() - hub_started
    samples, _ = bench.calibration(representative, strategy, seed, [Mode("static_wi8_ai8")])
    group = _Group(bench, hub, io, bench.judge, samples=samples)
    report, close = _reporter(progress, "search")
    runner = _Runner(n_jobs, report, cancel, max_seconds, objective)
    metric = bench.data.metric
    scored: list[tuple[Candidate, dict]] = []

    rows: list[dict] = []
    contents: dict[str, dict] = {}
    device = _Devices(bench, budget["target"], runner)

    def leader() -> str:
        best = _best_row(rows, objective, metric)
        return "" if best is None else f"{best['variant']} ({best['size_bytes']:,} B, {best[metric]:.4f})"

    def take(candidates, answers, failed=()):
        for candidate, answer in [(candidates[i], answers[i]) for i in sorted(answers)] + list(failed):
            row = _with_candidate_columns(candidate, answer["row"])
            _judge_row(row, budget, metric)
            rows.append(row)
            scored.append((candidate, answer))
            if answer.get("content") is not None:
                contents[row["variant"]] = answer

    try:
        converting: list = []
        first = [_candidate(m, 0, bench, hub, converting) for m in modes]
        runner.total = len(first)
        first, failed = _convert_first(first, [group], converting, runner)
        failed = [(c, {"row": row, "content": None, "recipe": None}) for c, row in failed]
        take(first, runner.run(first, [group], best=leader), failed)
        device.walk(rows, contents, objective, metric)
        if layers and not runner.stop_requested():
            refinements = _refinements(scored, rows, contents, group, device, objective, metric, runner)

            def score_round(candidates):
                runner.total += len(candidates)
                before = len(rows)
                take(candidates, runner.run(candidates, [group], best=leader))
                device.walk(
                    rows[before:],
                    contents,
                    objective,
                    metric,
                    better_than=_best_row(rows[:before], objective, metric),
                )

            probed = [
                (r, layer, probe)
                for r in refinements
                for layer, probe in zip(r.layers, r.probes(), strict=True)
            ]
            runner.total += len(probed)
            answers = runner.run([probe for _, _, probe in probed], [group])
            ladders = []
            for refinement in refinements:
                own = {
                    layer: answers[i]["row"].get("probe_error", 0.0)
                    for i, (r, layer, _) in enumerate(probed)
                    if r is refinement and i in answers
                }
                if len(own) == len(refinement.layers):  # not if stopped half way
                    ladders += refinement.ladder(own)
            score_round(ladders)
    finally:
        close()
    planned = runner.total
    table = pd.DataFrame([{**bench.original(), "recipe": "", "kept_layers": "", "keep_precision": ""}, *rows])
    table["error"] = table["error"].fillna("")
    _mark(table, budget, metric)
    runner.stopped_note(len(scored), planned)
    notes = list(runner.notes)
    if len(runner.pids) > 1:
        # Side by side on shared cores, latencies are not comparable: each is measured again alone.
        _retime(table, list(contents), contents, bench)
        notes.append(
            f"Latencies were measured again one candidate at a time in this process ({len(contents)} candidates), "
            "since the parallel tasks shared the cores."
        )
    pareto = _pareto(table, metric)
    table["pareto"] = table["variant"].isin(pareto)
    recommended = _recommend(table, objective, metric)
    closest = [] if recommended else _closest(table, budget)
    keep = set(pareto) | set(closest) | ({recommended} if recommended else set())
    variants = {label: _converted(contents[label], io) for label in keep if label in contents}
    for label, converted in variants.items():
        converted.recipe = contents[label]["recipe"]
    by_label = {c.label: c for c, _ in scored}
    code = _code(by_label[recommended]) if recommended else ""
    return Search(
        table=table,
        variants=variants,
        recommended=recommended,
        pareto=pareto,
        closest=closest,
        code=code,
        budget=budget,
        objective=objective,
        metric=metric,
        notes=notes,
        cancelled=runner.cancelled,
        timed_out=runner.timed_out,
        seconds=time.perf_counter() - started,
        hub_seconds=hub_seconds,
        tensorflow_in_tasks=runner.tensorflow_in_tasks,
        task_pids=frozenset(runner.pids),
        _candidates=by_label,
        _contents=contents,
        _io=io,
    )


def _check_budget(max_metric_drop, max_flash, max_ram, target) -> dict:
    from .targets import _budget, as_target, format_bytes

    if (
        isinstance(max_metric_drop, bool)
        or not isinstance(max_metric_drop, (int, float, np.integer, np.floating))
        or not math.isfinite(max_metric_drop)
    ):
        raise BudgetError(
            received=f"max_metric_drop={max_metric_drop!r}",
            expected="How much of the metric a variant may lose, a number such as 0.01 (one point of accuracy).",
            fix="Pass max_metric_drop=0.01.",
        )
    if max_metric_drop < 0:
        raise BudgetError(
            received=f"max_metric_drop={max_metric_drop!r}, which asks every variant to beat the original",
            expected="A drop of 0 or more: quantization cannot be required to gain accuracy.",
            fix="Pass max_metric_drop=0 for no loss at all, or e.g. 0.01.",
        )
    resolved = as_target(target) if target is not None else None
    flash = _budget("max_flash", max_flash)
    ram = _budget("max_ram", max_ram)
    for name, given, device in (
        ("max_flash", flash, resolved.flash_bytes if resolved else None),
        ("max_ram", ram, resolved.ram_bytes if resolved else None),
    ):
        if given is not None and device is not None and given > device:
            raise BudgetError(
                received=f"{name}={format_bytes(given)} with target {resolved.name!r}, which has {format_bytes(device)}",
                expected=f"A {name.split('_')[1]} budget within the device's ({format_bytes(device)}).",
                fix=f"Leave {name} out to use the device's, or pass at most {format_bytes(device)}.",
            )
    flash = flash if flash is not None else (resolved.flash_bytes if resolved else None)
    ram = ram if ram is not None else (resolved.ram_bytes if resolved else None)
    if resolved is not None or ram is not None:
        from .targets import Target

        runtime = resolved.runtime if resolved else "tflm"
        name = resolved.name if resolved else "custom"
        target = Target(name=name, ram_bytes=ram, flash_bytes=flash, runtime=runtime)
    return {"max_metric_drop": float(max_metric_drop), "flash": flash, "ram": ram, "target": target}


def _describe_budget(budget: dict, metric: str) -> str:
    from .targets import format_bytes

    parts = [f"{metric} drop ≤ {budget['max_metric_drop']:g}"]
    if budget["flash"] is not None:
        parts.append(f"flash ≤ {format_bytes(budget['flash'])}")
    if budget["ram"] is not None:
        parts.append(f"RAM ≤ {format_bytes(budget['ram'])}")
    if budget["target"] is not None:
        parts.append(f"on {budget['target'].name} ({budget['target'].runtime})")
    return ", ".join(parts)


def _meets(row: dict, budget: dict, metric: str) -> tuple[bool, bool]:
    if row.get("error"):
        return False, False
    tolerance = 1e-12
    meets_metric = row["metric_delta"] >= -budget["max_metric_drop"] - tolerance
    meets_flash = budget["flash"] is None or row["size_bytes"] <= budget["flash"]
    return bool(meets_metric), bool(meets_flash)


def _order(rows: list[dict], objective: str, metric: str) -> list[dict]:
    key = "size_bytes" if objective == "size" else "latency_ms_p50"
    return sorted(rows, key=lambda r: (r[key], -r[metric], r["size_bytes"]))


def _feasible(row: dict) -> bool:
    return bool(row["meets_metric"] and row["meets_flash"] and (not row["_needs_ram"] or row["meets_ram"]))


def _best_row(rows, objective, metric):
    """The best row known to meet the whole budget (RAM included where it is asked for)."""
    ok = [r for r in rows if _feasible(r)]
    return _order(ok, objective, metric)[0] if ok else None


class _Refinement:
    """Per-layer precision for one recipe: which layers stay at higher precision.

    Each layer's own error is measured alone: a probe quantizes that layer with the recipe
    and keeps every other layer in float, and its output error on calibration samples (never
    the test split) ranks it. Ranked one at a time like this, a layer that wrecks the model
    cannot hide the layers after it (end-to-end, every layer after a bad one looks bad, and
    an op's own share looks small once its input is already ruined). The recipe is then
    tried with its worst k layers at higher precision for every k, from all of them down:
    the climb from the aggressive end and the descent from the safe end are the same ladder,
    scored in parallel.
    """

    def __init__(self, mode: Mode, row: dict, ops: pd.DataFrame, ranking):
        self.mode = mode
        self.row = row
        self.ops = ops
        self.ranking = ranking
        self.precision = "int8" if mode.settings["config"]["num_bits"] < 8 else "float"
        self.layers = list(dict.fromkeys(ops["layer"]))

    def probes(self) -> list[Candidate]:
        """One probe per layer: the recipe on that layer alone."""
        from .quantize import keep_scopes

        probes = []
        for layer in self.layers:
            others = [other for other in self.layers if other != layer]
            scopes = keep_scopes(self.ops, others, "float")[0] if others else {}
            probes.append(
                Candidate(
                    f"{self.mode.name} on {layer} alone",
                    self.mode,
                    keep=tuple(scopes.items()),
                    probe=self.ranking,
                )
            )
        return probes

    def ladder(self, errors: dict[str, float]) -> list[Candidate]:
        """The recipe with its worst k layers (by their probes) at higher precision, every k."""
        from .quantize import keep_scopes

        worst_first = sorted(self.layers, key=lambda layer: -errors.get(layer, 0.0))
        candidates = []
        for k in _ladder(len(worst_first)):
            scopes, kept = keep_scopes(self.ops, worst_first[:k], self.precision)
            label = f"{self.mode.name}+{self.precision}({k} layer{'s' if k != 1 else ''})"
            candidates.append(
                Candidate(
                    label,
                    self.mode,
                    keep=tuple(scopes.items()),
                    kept_layers=tuple(kept),
                    precision=self.precision,
                )
            )
        return candidates


def _weighted_ops(hub: Converted, layer_of) -> pd.DataFrame:
    """The ops with float weights (the ones a recipe quantizes) by layer: ``layer, op, tensor``."""
    from .runtime import op_graph

    weighted = _weighted_outputs(hub.content)
    rows = [
        {"layer": layer_of(name), "op": op["op"], "tensor": name}
        for op in op_graph(hub.content)
        for name in op["outputs"]
        if name in weighted
    ]
    return pd.DataFrame(rows, columns=["layer", "op", "tensor"])


def _refinements(
    scored, rows, contents, group: _Group, device, objective, metric, runner: _Runner
) -> list[_Refinement]:
    """The recipes worth refining: those that lose too much and, with some layers at higher
    precision, could still beat the best candidate so far (and run on the device)."""
    from .diagnose import _layer_mapper

    best = _best_row(rows, objective, metric)
    ranking = group.samples
    if ranking is None or isinstance(ranking, dict):
        runner.notes.append(
            "Per-layer precision was not searched: it ranks layers on one input's calibration samples."
        )
        return []
    source = group.bench.source
    ops = _weighted_ops(float32_hub(source), _layer_mapper(source, 600.0))
    if ops["layer"].nunique() < 2:
        return []  # one layer: keeping it is the float model or another recipe
    chosen = []
    for (candidate, _), row in zip(scored, rows, strict=True):
        mode = candidate.mode
        if mode.backend != "quantizer" or row.get("error") or row["meets_metric"] or runner.stop_requested():
            continue  # keeping layers at higher precision buys back accuracy, nothing else
        if best is not None and objective == "size" and row["size_bytes"] >= best["size_bytes"]:
            continue  # keeping layers only adds bytes: it cannot beat the best
        if not device.could_run(row, contents):
            runner.notes.append(
                f"{mode.name}: layers not searched, since it does not run on {device.target.name} "
                f"({row['tflm_reason']})."
            )
            continue
        chosen.append(_Refinement(mode, row, ops, inputs.take(ranking, slice(0, 100))))
    return chosen


def _weighted_outputs(content: bytes) -> set[str]:
    """Output tensors of the ops with float weights: the ones a recipe quantizes."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    from .runtime import op_graph

    details = Interpreter(model_content=content).get_tensor_details()
    floats = {d["name"] for d in details if d["dtype"] == np.float32}
    return {
        name for op in op_graph(content) if any(w in floats for w in op["weights"]) for name in op["outputs"]
    }


def _ladder(count: int) -> list[int]:
    """Layer counts to try, from all layers kept down: every count for small models, and beyond
    ``DENSE_LADDER`` layers, halving."""
    if count <= DENSE_LADDER:
        return list(range(count, 0, -1))
    ladder, k = [], count
    while k > DENSE_LADDER:
        ladder.append(k)
        k //= 2
    return ladder + list(range(k, 0, -1))


def _with_candidate_columns(candidate: Candidate, row: dict) -> dict:
    return {
        **row,
        "recipe": candidate.mode.name,
        "kept_layers": ", ".join(candidate.kept_layers),
        "keep_precision": candidate.precision,
    }


def _judge_row(row: dict, budget: dict, metric: str) -> None:
    row["meets_metric"], row["meets_flash"] = _meets(row, budget, metric)
    row["meets_ram"] = None
    row["_needs_ram"] = budget["ram"] is not None or (
        budget["target"] is not None and budget["target"].runtime == "tflm"
    )
    target = budget["target"]
    if (
        target is not None
        and target.runtime == "litert"
        and budget["ram"] is not None
        and not row.get("error")
    ):
        row["meets_ram"] = bool(row["litert_memory_bytes"] <= budget["ram"])


class _Devices:
    """TFLite Micro checks for a search, each variant at most once."""

    def __init__(self, bench: Bench, target, runner: _Runner):
        self.bench = bench
        self.target = target
        self.runner = runner

    @property
    def active(self) -> bool:
        return self.target is not None and self.target.runtime == "tflm"

    def check(self, row: dict, contents: dict) -> None:
        from .targets import deployment

        if "tflm" in row or row["variant"] not in contents:
            return
        self.runner.report(self.runner.done, self.runner.total, f"{row['variant']}: running on TFLite Micro")
        converted = _converted(contents[row["variant"]], bench_io(self.bench))
        outputs = converted.run(self.bench.X)
        bench = self.bench
        row.update(
            deployment(
                converted,
                outputs,
                bench.X,
                target=self.target,
                dataset=bench.data,
                output_kind=bench.output_kind,
            )
        )
        row["meets_ram"] = bool(row["fits"])

    def could_run(self, row: dict, contents: dict) -> bool:
        """Whether a recipe runs on the device at all (checked on its own variant)."""
        if not self.active:
            return True
        self.check(row, contents)
        return bool(row.get("tflm", True))

    def walk(self, rows, contents, objective, metric, better_than=None) -> None:
        """Check the rows that meet metric and flash, best first, until one fits."""
        if not self.active:
            return
        hopeful = _order([r for r in rows if r["meets_metric"] and r["meets_flash"]], objective, metric)
        for row in hopeful:
            if better_than is not None and _order([row, better_than], objective, metric)[0] is better_than:
                break
            if self.runner.stop_requested():
                break
            self.check(row, contents)
            if row["meets_ram"]:
                break


def bench_io(bench: Bench) -> dict:
    hub = float32_hub(bench.source)
    return {
        "source": hub.source,
        "classes": hub.classes,
        "output_kind": hub.output_kind,
        "output_order": hub.output_names,
        "input_order": hub.input_names,
        "primary_output": hub.primary_output,
        "threads": bench.threads,
    }


def _converted(answer: dict, io: dict) -> Converted:
    row = answer["row"]
    converted = Converted(answer["content"], Mode(row["mode"]), convert_seconds=row["convert_s"], **io)
    converted.label_override = row["variant"] if row["variant"] != row["mode"] else None
    return converted


def _mark(table: pd.DataFrame, budget: dict, metric: str) -> None:
    """``feasible`` and ``miss`` for every candidate (the original's are empty)."""
    is_original = table["variant"] == ORIGINAL
    for column in ("meets_metric", "meets_flash", "meets_ram", "_needs_ram"):
        if column not in table:
            table[column] = None
        table[column] = table[column].astype(object)
        table.loc[is_original, column] = None
    ok = table["meets_metric"].eq(True) & table["meets_flash"].eq(True)
    ok &= ~table["_needs_ram"].eq(True) | table["meets_ram"].eq(True)
    table["feasible"] = ok & ~is_original
    table["miss"] = [
        "" if original or feasible else _miss(row, budget, metric)
        for original, feasible, row in zip(
            is_original, table["feasible"], table.to_dict("records"), strict=True
        )
    ]
    table.drop(columns="_needs_ram", inplace=True)


def _miss(row: dict, budget: dict, metric: str) -> str:
    from .targets import format_bytes

    if row.get("error"):
        return "failed: " + str(row["error"]).splitlines()[0][:120]
    parts = []
    if not row["meets_metric"]:
        parts.append(
            f"{metric} drop {-row['metric_delta']:.4f} > {budget['max_metric_drop']:g} by {-row['metric_delta'] - budget['max_metric_drop']:.4f}"
        )
    if not row["meets_flash"]:
        over = row["size_bytes"] - budget["flash"]
        parts.append(
            f"flash {format_bytes(row['size_bytes'])} > {format_bytes(budget['flash'])} by {format_bytes(over)} ({over / budget['flash']:.0%})"
        )
    if row.get("_needs_ram"):
        if row.get("meets_ram") is None:
            parts.append(
                "not run on the device: it missed the other budgets first"
                if parts
                else "not run on the device: a candidate better on the objective fits"
            )
        elif not row["meets_ram"]:
            parts.append(str(row.get("fits_detail") or "does not fit the RAM budget"))
    return "; ".join(parts)


def _pareto(table: pd.DataFrame, metric: str) -> list[str]:
    ok = table[(table["error"] == "") & (table["variant"] != ORIGINAL)]
    best = []
    values = ok[[metric, "size_bytes", "latency_ms_p50"]].to_numpy(dtype=float)
    for i, (m, s, t) in enumerate(values):
        others = np.delete(values, i, axis=0)
        no_worse = (others[:, 0] >= m) & (others[:, 1] <= s) & (others[:, 2] <= t)
        better = (others[:, 0] > m) | (others[:, 1] < s) | (others[:, 2] < t)
        if not (no_worse & better).any():
            best.append(ok["variant"].iloc[i])
    return best


def _recommend(table: pd.DataFrame, objective: str, metric: str) -> str | None:
    feasible = table[table["feasible"]]
    if feasible.empty:
        return None
    return _order(feasible.to_dict("records"), objective, metric)[0]["variant"]


def _closest(table: pd.DataFrame, budget: dict, count: int = 3) -> list[str]:
    """The candidates nearest the budget: fewest budgets missed, then the smallest shortfall,
    each shortfall relative to its budget."""
    rows = table[(table["variant"] != ORIGINAL) & (table["error"] == "")]

    def distance(row):
        shortfall = 0.0
        if row["meets_metric"] is False:
            shortfall += -row["metric_delta"] / max(budget["max_metric_drop"], 0.01)
        if row["meets_flash"] is False:
            shortfall += row["size_bytes"] / budget["flash"] - 1
        if row["meets_ram"] is False and budget["ram"]:
            used = row.get("tflm_arena_bytes")
            shortfall += (used / budget["ram"] - 1) if used == used and used else 1.0
        missed = [row["meets_metric"] is False, row["meets_flash"] is False, row["meets_ram"] is False]
        return (sum(missed), shortfall, row["size_bytes"])

    ranked = sorted(rows.to_dict("records"), key=distance)
    return [r["variant"] for r in ranked[:count]]


def _retime(table: pd.DataFrame, labels: list[str], contents: dict, bench: Bench) -> None:
    io = bench_io(bench)
    for label in dict.fromkeys(labels):
        if label not in contents:
            continue
        converted = _converted(contents[label], io)
        latency = bench.judge.time(converted.invoke_raw)
        where = table["variant"] == label
        table.loc[where, "latency_ms_p50"] = latency.p50_ms
        table.loc[where, "latency_ms_p90"] = latency.p90_ms
        table.loc[where, "batch_latency_ms"] = latency.batch_ms
        table.loc[where, "speedup"] = bench.judge.original_latency.p50_ms / latency.p50_ms


def _code(candidate: Candidate) -> str:
    return candidate.mode.snippet(keep=dict(candidate.keep) if candidate.keep else None)
