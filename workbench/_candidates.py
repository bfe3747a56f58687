"""Candidates of a sweep or search, and the runner that scores them in parallel through joblib.

A candidate is one task: the float32 bytes, a recipe (or bytes the converter made), the
calibration samples and a :class:`workbench.evaluate.Judge`. It needs only ``ai_edge_litert``
and ``litert_quantizer``, so joblib's processes stay small and a Dask cluster can run it.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field

import numpy as np

from ._args import CANCEL, PROGRESS, Satisfies, Seconds
from .compare import Bench
from .convert import convert_source, float32_hub
from .errors import ConversionError, WorkbenchError
from .evaluate import Judge
from .modes import Mode
from .runtime import Converted

#: Seconds of timed calls per candidate (after warm-up; at least 10 calls each).
LATENCY_BUDGET = 0.2


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
    #: For a probe (per-layer error): the calibration inputs its output error is measured on.
    probe: object = None


@dataclass
class Group:
    """One model on one dataset with one calibration choice: what its tasks share."""

    bench: Bench
    hub: bytes
    io: dict
    judge: Judge
    samples: object = None
    calibration: dict = field(default_factory=dict)
    #: How static recipes compute activation ranges from ``samples`` (a ``workbench.Calibration``).
    statistic: object = None


def score_candidate(
    index: int, candidate: Candidate, hub: bytes, io: dict, judge: Judge, samples, parent: int, statistic=None
):
    """Make ``candidate`` from the float32 bytes and score it: one task of a sweep.

    Runs in a joblib worker process or on a Dask worker, with ``ai_edge_litert`` and
    ``litert_quantizer`` only (``workbench._tasks._score``). In the process that started the
    sweep (``parent``: joblib with ``n_jobs=1``, or the local fallback), it runs in the
    workbench's worker process instead: native code that crashes on a candidate (LiteRT can,
    on some low-bit mixes) must not take the caller down; the crash is that candidate's row.
    """
    from ._tasks import _score
    from ._worker import run as run_in_worker

    mode = candidate.mode
    payload = {
        "candidate": candidate,
        "hub": hub,
        "io": io,
        "judge": judge,
        "samples": samples,
        "calibration": statistic,
    }
    if os.getpid() != parent:
        answer = _score(**payload)
    else:
        try:
            reply = run_in_worker("score", payload, what=f"scoring {candidate.label}")
        except WorkbenchError as err:  # the worker crashed on this candidate
            reply = {"ok": False, "error": str(err)}
        if reply["ok"]:
            answer = reply["result"]
        else:
            failed = {
                "variant": candidate.label,
                "mode": mode.name,
                "path": mode.path,
                "error": reply["error"],
            }
            answer = {"content": None, "recipe": None, "pid": os.getpid(), "row": failed, "tensorflow": False}
    if answer["content"] is not None:
        from .targets import litert_memory_estimate

        answer["row"]["litert_memory_bytes"] = litert_memory_estimate(answer["content"])
    return {**answer, "index": index}


def time_alone(content: bytes, io: dict, judge: Judge, mode: Mode):
    """A candidate's latency measured alone, in the worker process (a crash costs only it)."""
    from ._worker import run as run_in_worker

    try:
        reply = run_in_worker(
            "time", {"content": content, "io": io, "judge": judge, "mode": mode}, what="timing"
        )
    except WorkbenchError:  # the worker crashed on it; the next call starts a fresh one
        return None
    return reply["result"] if reply["ok"] else None


class Runner:
    """Runs candidates through joblib, with progress, cancel and a deadline.

    If the parallel backend fails (a Dask client that is unreachable or goes away, a worker
    process that dies), the candidates not yet scored run here, one at a time, and a note
    says how many ran where.
    """

    def __init__(self, n_jobs, progress, cancel, max_seconds, objective):
        # The values are checked (RUN_CONTROLS); numpy numbers become Python's here.
        self.n_jobs = int(n_jobs)
        self.report = progress
        self.cancel = cancel
        self.max_seconds = None if max_seconds is None else float(max_seconds)
        self.deadline = None if max_seconds is None else time.perf_counter() + self.max_seconds
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

    def run(self, candidates: list[Candidate], groups: list[Group], best=None) -> dict[int, dict]:
        """Score ``candidates``; returns the answers by index into ``candidates``."""
        import joblib

        answers: dict[int, dict] = {}
        if not candidates or self.stop_requested():
            return answers
        parent = os.getpid()

        def task(i):
            c = candidates[i]
            g = groups[c.group]
            return joblib.delayed(score_candidate)(i, c, g.hub, g.io, g.judge, g.samples, parent, g.statistic)

        def received(answer):
            answers[answer["index"]] = answer
            self.done += 1
            self.tensorflow_in_tasks |= answer["tensorflow"]
            self.pids.add(answer["pid"])
            self.report(self.done, self.total, progress_message(answer["row"], best, self.objective))

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
                received(score_candidate(i, c, g.hub, g.io, g.judge, g.samples, parent, g.statistic))
        return answers

    def stopped_note(self, scored: int, planned: int) -> None:
        if self.cancelled:
            self.notes.append(f"Cancelled: {scored} of {planned} candidates scored; the table has those.")
        elif self.timed_out:
            self.notes.append(
                f"Stopped at max_seconds={self.max_seconds:g}: {scored} of {planned} candidates scored; "
                "the best of those is reported. Allow more time, or fewer modes or calibration choices."
            )


def progress_message(row: dict, best, objective) -> str:
    what = row["variant"] if not row.get("error") else f"{row['variant']} (failed)"
    if best is None:
        return what
    leader = best()
    return f"{what}; best so far: {leader}" if leader else what


def prepare(bench: Bench) -> tuple[bytes, dict]:
    """The float32 bytes (converted once per model state) and how to read them; the original
    measured."""
    hub = float32_hub(bench.source)
    bench.original()
    return hub.content, bench_io(bench)


def reporter(progress, description: str):
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


#: ``n_jobs=``: processes for the candidates, or -1 for every core.
JOBS = Satisfies(
    lambda n: not isinstance(n, bool) and isinstance(n, (int, np.integer)) and (n >= 1 or n == -1),
    expected="A number of processes (1 or more), or -1 for every core (every Dask worker).",
    fix="Leave n_jobs out to use every core; n_jobs=1 runs candidates one at a time.",
)
#: How :func:`workbench.sweep` and :func:`workbench.search` run their candidates, declared once
#: for both (``@checked(**RUN_CONTROLS)``); :class:`Runner` takes the values.
RUN_CONTROLS = {
    "n_jobs": JOBS,
    "max_seconds": Seconds(fix="Pass max_seconds=60, or None for no limit.", allow_none=True),
    "progress": PROGRESS,
    "cancel": CANCEL,
}


def candidate_for(mode: Mode, group: int, bench: Bench, hub: bytes, converting: list) -> Candidate:
    if mode.name == "float32":
        return Candidate(mode.label, mode, content=hub, convert_s=0.0, group=group)
    candidate = Candidate(mode.label, mode, group=group)
    if not mode.from_float_file:  # the converter re-runs: made before the parallel part
        converting.append(candidate)
    return candidate


def convert_first(candidates: list[Candidate], groups, converting, runner: Runner):
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
            converted = convert_source(
                group.bench.source,
                mode,
                group.samples if mode.calibrated else None,
                calibration=group.statistic if mode.statistic_choice else None,
            )
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


def bench_io(bench: Bench) -> dict:
    """What a Converted of this model needs besides its bytes: names, classes, output order."""
    hub = float32_hub(bench.source)
    return {
        "source": hub.source,
        "classes": hub.classes,
        "output_kind": hub.output_kind,
        "output_order": hub.output_names,
        "input_order": hub.input_names,
        "primary_output": hub.primary_output,
        "threads": bench.threads,
        "signature": getattr(hub, "signature", None),
    }


def converted_from(answer: dict, io: dict) -> Converted:
    row = answer["row"]
    return Converted(
        answer["content"],
        Mode(row["mode"]),
        convert_seconds=row["convert_s"],
        calibration=row.get("calibration") or None,
        label=row["variant"] if row["variant"] != row["mode"] else None,
        recipe=answer.get("recipe"),
        **io,
    )
