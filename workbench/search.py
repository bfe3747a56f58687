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

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import _inputs as inputs
from ._args import cancel_event, one_of, progress_callback, whole_number
from ._budget import (
    Devices,
    best_row,
    check_budget,
    closest_to_budget,
    code_for,
    describe_budget,
    judge_row,
    mark,
    pareto_front,
    recommend,
    refinements_for,
    retime,
    with_candidate_columns,
)
from ._candidates import (
    Candidate,
    Group,
    Runner,
    candidate_for,
    check_jobs,
    check_max_seconds,
    convert_first,
    converted_from,
    prepare,
    reporter,
)
from .calibration import Calibration
from .compare import Bench, check_calibration_choice
from .convert import calibration_samples
from .errors import ConversionError, InvalidArgumentError
from .modes import DEFAULT_MODES, QUANTIZER_MODES, Mode, parse_modes
from .runtime import Converted

#: Seconds of timed calls per candidate (after warm-up; at least 10 calls each).
LATENCY_BUDGET = 0.2


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


def _one_calibration(calibration) -> bool:
    """Whether a tuple is one calibration, ``("percentile", 99.9)``, rather than a list of them."""
    return len(calibration) == 2 and isinstance(calibration[0], str) and not isinstance(calibration[1], str)


def sweep(
    models,
    datasets=None,
    modes=DEFAULT_MODES,
    representative=(50, 100, 200, 500),
    strategy=("random",),
    seeds=(0,),
    *,
    calibration=("minmax",),
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
    calibration : str, tuple, Calibration or sequence of them, default=("minmax",)
        The statistics static recipes compute activation ranges with (``"minmax"``,
        ``"percentile"``, ``"ema"``; see :func:`workbench.convert`): each is one more
        calibration choice. The converter's calibrated modes use their own min/max and are
        made once per choice of samples.
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
            check_calibration_choice(200, s, seed)
    several = isinstance(calibration, (list, tuple)) and not _one_calibration(calibration)
    statistics = list(dict.fromkeys(Calibration.of(c) for c in (calibration if several else [calibration])))
    n_jobs = check_jobs(n_jobs)
    max_seconds = check_max_seconds(max_seconds)
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
    report, close = reporter(progress, "sweep")
    runner = Runner(n_jobs, report, cancel, max_seconds, "size")
    calibrations = [
        {"representative": n, "strategy": s, "seed": seed}
        for n in sizes
        for s in strategies
        for seed in seed_list
    ]
    groups: list[Group] = []
    candidates: list[Candidate] = []
    originals: list[dict] = []
    converting: list[tuple[Candidate, Bench]] = []
    try:
        for bench in benches:
            context = {"model": bench.source.name, "dataset": bench.data.name}
            try:
                hub, io = prepare(bench)
            except ConversionError as err:
                originals.append({**context, **bench.original()})
                originals.append({**context, "variant": "float32", "mode": "float32", "error": str(err)})
                continue
            originals.append({**context, **bench.original(), "representative": np.nan, "strategy": ""})
            judge = bench.judge
            plain = Group(
                bench, hub, io, judge, calibration={"representative": np.nan, "strategy": "", "seed": np.nan}
            )
            groups.append(plain)
            for mode in (m for m in modes if not m.calibrated):
                candidates.append(candidate_for(mode, len(groups) - 1, bench, hub, converting))
            for choice in calibrations if any(m.calibrated for m in modes) else ():
                picked = bench.data.representative(
                    choice["representative"], choice["strategy"], choice["seed"]
                )
                calibrated = [m for m in modes if m.calibrated]
                samples = calibration_samples(bench.source, calibrated[0], picked)
                described = {**choice, "representative": inputs.count(picked)}
                for n, statistic in enumerate(statistics):
                    groups.append(
                        Group(
                            bench, hub, io, judge, samples=samples, calibration=described, statistic=statistic
                        )
                    )
                    for mode in calibrated:
                        if mode.backend == "converter" and n:
                            continue  # the converter takes no statistic: made once per choice of samples
                        candidates.append(candidate_for(mode, len(groups) - 1, bench, hub, converting))
        runner.total = len(candidates)
        planned = len(candidates)
        candidates, failed = convert_first(candidates, groups, converting, runner)
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
    #: The statistic its static candidates were calibrated with (a ``workbench.Calibration``).
    _statistic: object = field(default=None, repr=False)

    def code_for(self, label: str) -> str:
        """Plain code that reproduces the candidate ``label`` (see :meth:`Mode.snippet`)."""
        if label not in self._candidates:
            raise InvalidArgumentError(
                received=f"label={label!r}",
                expected=f"One of the candidates: {', '.join(list(self._candidates)[:12])}, ...",
                fix="Pick a label from the table's variant column.",
            )
        return code_for(self._candidates[label], self._statistic)

    def variant(self, label: str) -> Converted:
        """Any scored candidate as a Converted, ready to save or run."""
        if label not in self._contents:
            raise InvalidArgumentError(
                received=f"label={label!r}",
                expected="A candidate that was scored (its row has no error).",
                fix="Pick a label from the table's variant column whose error is empty.",
            )
        return self.variants.get(label) or converted_from(self._contents[label], self._io)

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
            f"{len(self.table) - 1} candidates in {self.seconds:.1f} s; budget: {describe_budget(self.budget, self.metric)}"
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
    calibration=None,
    n_jobs: int = -1,
    threads: int = 1,
    latency_budget: float = LATENCY_BUDGET,
    progress: bool | Callable = True,
    cancel=None,
    max_seconds: float | None = None,
) -> Search:
    """The smallest (or fastest) variant that keeps the metric within ``max_metric_drop`` and fits.

    First every recipe in ``modes`` is scored. Then, for each recipe that loses too much
    but would be smaller than the best so far, each layer's own error is measured alone
    (one probe per layer: the recipe on that layer, every other layer in float, output
    error on calibration samples, never the test split), and the recipe is tried again
    with its worst k layers at higher precision for every k, from all of them down: a
    climb from the aggressive end and a descent from the safe end of the same ranking,
    scored in parallel. Candidates that meet the metric and flash budgets are then run on
    TFLite Micro (with a target or ``max_ram``), best first, until one fits.

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
    calibration : str, tuple or Calibration, default="minmax"
        How static recipes compute activation ranges (see :func:`workbench.convert`).
    n_jobs, latency_budget, progress, cancel, max_seconds
        As for :func:`sweep`. Latencies of the Pareto set are measured again alone at the end.

    Returns
    -------
    Search
    """

    modes = parse_modes(modes)
    objective = one_of("objective", objective, OBJECTIVES, fix="Use objective='size' or objective='latency'.")
    budget = check_budget(max_metric_drop, max_flash, max_ram, target)
    check_calibration_choice(representative, strategy, seed)
    statistic = Calibration.of(calibration)
    n_jobs = check_jobs(n_jobs)
    max_seconds = check_max_seconds(max_seconds)
    progress_callback(progress)
    cancel_event(cancel)
    started = time.perf_counter()
    bench = Bench(model, dataset, threads=threads, latency_budget=latency_budget)
    hub_started = time.perf_counter()
    hub, io = prepare(bench)
    hub_seconds = time.perf_counter() - hub_started
    samples, _ = bench.calibration(representative, strategy, seed, [Mode("static_wi8_ai8")])
    group = Group(bench, hub, io, bench.judge, samples=samples, statistic=statistic)
    report, close = reporter(progress, "search")
    runner = Runner(n_jobs, report, cancel, max_seconds, objective)
    metric = bench.data.metric
    budget["higher_is_better"] = bool(getattr(bench.data, "higher_is_better", True))
    scored: list[tuple[Candidate, dict]] = []

    rows: list[dict] = []
    contents: dict[str, dict] = {}
    device = Devices(bench, budget["target"], runner)

    def leader() -> str:
        best = best_row(rows, objective, metric)
        return "" if best is None else f"{best['variant']} ({best['size_bytes']:,} B, {best[metric]:.4f})"

    def take(candidates, answers, failed=()):
        for candidate, answer in [(candidates[i], answers[i]) for i in sorted(answers)] + list(failed):
            row = with_candidate_columns(candidate, answer["row"])
            judge_row(row, budget, metric)
            rows.append(row)
            scored.append((candidate, answer))
            if answer.get("content") is not None:
                contents[row["variant"]] = answer

    try:
        converting: list = []
        first = [candidate_for(m, 0, bench, hub, converting) for m in modes]
        runner.total = len(first)
        first, failed = convert_first(first, [group], converting, runner)
        failed = [(c, {"row": row, "content": None, "recipe": None}) for c, row in failed]
        take(first, runner.run(first, [group], best=leader), failed)
        device.walk(rows, contents, objective, metric)
        if layers and not runner.stop_requested():
            refinements = refinements_for(scored, rows, contents, group, device, objective, metric, runner)

            def score_round(candidates):
                runner.total += len(candidates)
                before = len(rows)
                take(candidates, runner.run(candidates, [group], best=leader))
                device.walk(
                    rows[before:],
                    contents,
                    objective,
                    metric,
                    better_than=best_row(rows[:before], objective, metric),
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
    for column in ("error", "calibration", "note"):
        table[column] = table[column].fillna("")
    mark(table, budget, metric)
    runner.stopped_note(len(scored), planned)
    notes = list(runner.notes)
    if len(runner.pids) > 1:
        # Side by side on shared cores, latencies are not comparable: each is measured again alone.
        crashed = retime(table, list(contents), contents, bench)
        notes.append(
            f"Latencies were measured again one candidate at a time ({len(contents)} candidates), "
            "since the parallel tasks shared the cores."
        )
        if crashed:
            notes.append(
                f"LiteRT crashed timing {', '.join(crashed)} (in the worker process, so nothing was lost); "
                "their latencies are from the parallel run. Check them before deploying."
            )
    pareto = pareto_front(table, metric, budget["higher_is_better"])
    table["pareto"] = table["variant"].isin(pareto)
    recommended = recommend(table, objective, metric, budget)
    closest = [] if recommended else closest_to_budget(table, budget)
    keep = set(pareto) | set(closest) | ({recommended} if recommended else set())
    variants = {label: converted_from(contents[label], io) for label in keep if label in contents}
    for label, converted in variants.items():
        converted.recipe = contents[label]["recipe"]
    by_label = {c.label: c for c, _ in scored}
    code = code_for(by_label[recommended], statistic) if recommended else ""
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
        _statistic=statistic,
        _contents=contents,
        _io=io,
    )
