"""Sweep throughput: candidates per second at n_jobs=1 and n_jobs=2, and what the float32
conversion costs beside one candidate.

The grid: digits_cnn and digits_mlp, every LiteRT Quantizer recipe, the static recipes at
four calibration sizes and two seeds (48 candidates). Each sweep call is timed whole, the
set-up included (the original measured once per model, the float32 file from the cache);
the runs alternate between n_jobs=1 and n_jobs=2 and the medians are reported. The float32
conversion is timed from a fresh model state (Keras export and converter), as a first
sweep of a new model pays it.

Run: ``python benchmarks/sweep_throughput.py`` (rewrites its section of RESULTS.md).
"""

from __future__ import annotations

import importlib
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from _results import write_section  # noqa: E402

import workbench  # noqa: E402
from workbench._worker import shared_worker  # noqa: E402
from workbench.sources import as_source  # noqa: E402

# The modules, not the functions of the same names that the package exports.
convert_module = importlib.import_module("workbench.convert")
keras_source = importlib.import_module("workbench.sources.keras")

MODELS = ("digits_cnn", "digits_mlp")
GRID = dict(
    modes=list(workbench.QUANTIZER_MODES),
    representative=[50, 100, 200, 500],
    seeds=[0, 1],
    latency_budget=0.05,
    progress=False,
)
ROUNDS = 3


def float32_seconds(name: str, cold: bool = False) -> float:
    """Export and convert a freshly loaded model: what a new model state costs once. ``cold``:
    in a fresh worker process, which imports TensorFlow first (a session's first conversion)."""
    if cold:
        shared_worker().close()
    convert_module._HUBS.clear()
    keras_source._EXPORTS.clear()
    source = as_source(workbench.load_example(name))
    started = time.perf_counter()
    convert_module.float32_hub(source)
    return time.perf_counter() - started


def main() -> None:
    workbench.sweep(list(MODELS), n_jobs=2, **{**GRID, "representative": [50], "seeds": [0]})  # warm
    timings: dict[int, list[float]] = {1: [], 2: []}
    count = 0
    for _ in range(ROUNDS):
        for n_jobs in (1, 2):
            started = time.perf_counter()
            result = workbench.sweep(list(MODELS), n_jobs=n_jobs, **GRID)
            timings[n_jobs].append(time.perf_counter() - started)
            count = int((result.table["variant"] != "original").sum())
            assert (result.table["error"] == "").all(), result.table["error"].unique()
    hub = {name: statistics.median(float32_seconds(name) for _ in range(3)) for name in MODELS}
    cold = {name: statistics.median(float32_seconds(name, cold=True) for _ in range(3)) for name in MODELS}
    one, two = (statistics.median(timings[n]) for n in (1, 2))
    per_candidate = one / count
    lines = [
        "## Sweep throughput (`benchmarks/sweep_throughput.py`)",
        "",
        f"{count} candidates: {', '.join(MODELS)}; every LiteRT Quantizer recipe; the static ones at "
        "4 calibration sizes × 2 seeds. Whole `sweep()` calls (set-up included), latency budget "
        f"0.05 s per candidate, medians of {ROUNDS} alternating runs, on {os.cpu_count()} cores.",
        "",
        "| n_jobs | seconds | candidates / s | vs n_jobs=1 |",
        "|---|---|---|---|",
        f"| 1 | {one:.1f} | {count / one:.2f} | 1.00× |",
        f"| 2 | {two:.1f} | {count / two:.2f} | {one / two:.2f}× |",
        "",
        "The float32 conversion (Keras export and converter, from a fresh model state), done once "
        "per model, against one candidate (n_jobs=1, set-up included). *Warm*: in a worker that "
        "has TensorFlow loaded; *cold*: a fresh worker, as a session's first conversion:",
        "",
        "| model | float32 warm (s) | float32 cold (s) | one candidate (s) | warm / candidate | cold / candidate |",
        "|---|---|---|---|---|---|",
    ]
    for name in MODELS:
        lines.append(
            f"| {name} | {hub[name]:.2f} | {cold[name]:.2f} | {per_candidate:.3f} | "
            f"{hub[name] / per_candidate:.1f}× | {cold[name] / per_candidate:.1f}× |"
        )
    write_section("sweep-throughput", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
