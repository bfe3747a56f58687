"""``search()``, and ``sweep()``: many variants of many models, scored in parallel through joblib.

The float32 ``.tflite`` is made once per model (``convert.float32_hub``). Every candidate is
then one task that carries those bytes, its recipe, its calibration samples and a
:class:`workbench.evaluate.Judge` (the test split and the original's outputs), and needs
only ``ai_edge_litert`` and ``litert_quantizer``: no TensorFlow and no model object. joblib
runs the tasks on every core of this machine (loky processes) by default, and on a Dask
cluster under ``joblib.parallel_config(backend="dask")`` with no other change.

Converter modes (``int8``, ``float16``, ...) need TensorFlow, so they are converted here,
in the converter's worker process, before the parallel part; only their scoring is a task.

This module is the search loop; :func:`sweep` lives in :mod:`workbench._sweep`, the
:class:`Search` result in :mod:`workbench._search_result`, the candidates and their runner in
:mod:`workbench._candidates`, and the budget in :mod:`workbench._budget`. Their public names
stay importable from here.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pandas as pd

from ._args import Options, checked
from ._budget import (
    Devices,
    best_row,
    check_budget,
    closest_to_budget,
    code_for,
    judge_row,
    mark,
    pareto_front,
    recommend,
    refinements_for,
    retime,
    with_candidate_columns,
)
from ._candidates import (
    LATENCY_BUDGET,
    RUN_CONTROLS,
    Candidate,
    Group,
    Runner,
    candidate_for,
    convert_first,
    converted_from,
    prepare,
    reporter,
)
from ._search_result import Search
from ._sweep import Sweep, sweep
from .calibration import Calibration
from .compare import Bench, check_calibration_choice
from .modes import QUANTIZER_MODES, Mode, parse_modes

__all__ = ["LATENCY_BUDGET", "OBJECTIVES", "Search", "Sweep", "search", "sweep"]


#: What a search's recommendation minimises.
OBJECTIVES = ("size", "latency")


@checked(
    objective=Options(OBJECTIVES, fix="Use objective='size' or objective='latency'."),
    **RUN_CONTROLS,
)
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
    budget = check_budget(max_metric_drop, max_flash, max_ram, target)
    check_calibration_choice(representative, strategy, seed)
    statistic = Calibration.of(calibration)
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
