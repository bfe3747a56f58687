"""``sweep()``: every model × dataset × mode × calibration choice, scored in parallel, in one table.

The float32 ``.tflite`` is made once per model; each calibrated mode is then one candidate per
choice of calibration samples (size, strategy, seed) and statistic, each an independent task
run through joblib (see :mod:`workbench._candidates`). The result is a :class:`Sweep`: the
table, its notes and a plot of the metric against calibration size.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import _inputs as inputs
from ._args import checked, whole_number
from ._candidates import (
    LATENCY_BUDGET,
    RUN_CONTROLS,
    Candidate,
    Group,
    Runner,
    candidate_for,
    convert_first,
    prepare,
    reporter,
)
from .calibration import Calibration
from .compare import Bench, check_calibration_choice
from .convert import calibration_samples
from .errors import ConversionError, InvalidArgumentError
from .modes import DEFAULT_MODES, parse_modes


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


@checked(**RUN_CONTROLS)
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
                        if not mode.statistic_choice and n:
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
