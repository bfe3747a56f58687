"""How fast the widget answers a toggle: the live loop, measured through the real widget,
side by side with the bare LiteRT Quantizer call that makes the same variant.

What a person does in JupyterLab with Live on: with the widget's default modes shown, toggle a
LiteRT Quantizer recipe and see the table and the figure refreshed. Measured on ``digits_cnn``
with TensorFlow warm and the float32 ``.tflite`` cached (a first run has converted it and
measured the original), from ``Controller.update(modes=...)`` until the run has ended and the
widget holds the new table and figure (PNG bytes); the widget shows the table first, and the
time until it did is reported too. Cases, each repeated, medians reported:

- **bare quantizer**: the plain ``litert_quantizer`` code ``Mode(recipe).snippet()`` prints,
  run in this process on the same float32 bytes and calibration samples (the floor: what
  the widget adds is the worker, scoring the test split, timing latency and drawing);
- **new**: the recipe not measured yet (its cache entry is forgotten before each repeat: the
  worker quantizes, the test split runs, latency is timed, the figure is drawn);
- **revisit, figure drawn anew**: the recipe measured, the figure of that set of variants
  not drawn yet (the figure cache is emptied first);
- **revisit**: toggled off and on again: every variant measured and both figures drawn before.

Run: ``python benchmarks/live_loop.py`` (rewrites its section of ``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from _results import write_section  # noqa: E402

import workbench  # noqa: E402
from workbench import plots  # noqa: E402
from workbench.ui.widgets import Workbench  # noqa: E402

RECIPES = (
    "dynamic_wi8_afp32",
    "dynamic_wi4_afp32",
    "dynamic_wi4b32_afp32",
    "weight_only_wi8_afp32",
    "weight_only_wi4_afp32",
    "weight_only_wf16_afp32",
    "static_wi8_ai8",
    "static_wi8_ai16",
)
REPEATS = 7
NEW_GOAL_S, REVISIT_GOAL_S = 0.35, 0.10


def toggle(wb, modes, cpu: list | None = None, table: list | None = None) -> float:
    """Seconds from the settings change to the widget showing the new table and figure;
    ``cpu`` gets this process's CPU seconds for it (all its threads; the worker's not),
    ``table`` the seconds until the table alone was shown (the widget shows it first)."""
    shown: dict[str, float] = {}

    def seen(change) -> None:
        shown.setdefault("table" if change["owner"] is wb.table else "figure", time.perf_counter())

    wb.table.observe(seen, names="value")
    wb.figure.observe(seen, names="value")
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        wb.controller.update(modes=modes)  # Live is on: the change starts the run
        assert wb.controller.wait(300)
        elapsed = time.perf_counter() - started
    finally:
        wb.table.unobserve(seen, names="value")
        wb.figure.unobserve(seen, names="value")
    if cpu is not None:
        cpu.append(time.process_time() - cpu_started)
    if table is not None:
        table.append(shown.get("table", started + elapsed) - started)
    comparison = wb.controller.state.comparison
    assert wb.controller.state.error is None, wb.controller.state.error
    assert sorted(comparison.table["variant"][1:]) == sorted(modes)
    assert wb.figure.value == comparison.figure_png() and wb.figure.value[:4] == b"\x89PNG"
    return elapsed


def forget(wb, label: str) -> None:
    for key in [k for k in wb.controller._variants if k[2] == label]:
        del wb.controller._variants[key]


def bare_quantizer(recipe: str, float_model: bytes, samples) -> float:
    """Seconds for the plain litert_quantizer code the workbench prints for ``recipe``."""
    code = workbench.Mode(recipe).snippet()
    start = code.index("from litert_quantizer import")
    body = code[start : code.index("result.export_model")]
    namespace = {"float_model": float_model, "calibration_samples": samples}
    started = time.perf_counter()
    exec(body, namespace)
    return time.perf_counter() - started


def main() -> str:
    load_before = os.getloadavg()
    wb = Workbench(scan_notebook=False)
    defaults = tuple(wb.controller.settings.modes)
    wb.controller.update(model="digits_cnn", modes=defaults, latency_budget=0.1)
    wb.controller.run(wait=True)  # TensorFlow warm, float32 converted and cached, original measured
    wb.controller.update(live=True)
    assert wb.controller.wait(300)
    data = workbench.load_dataset("digits_images")
    float_model = workbench.convert(workbench.load_example("digits_cnn"), "float32").content
    samples = data.representative(wb.controller.settings.representative)
    rows = []
    for recipe in RECIPES:
        base = tuple(m for m in defaults if m != recipe)
        shown = (*base, recipe) if recipe not in defaults else defaults
        bare, new, new_table, new_cpu, anew, anew_cpu, revisit = [], [], [], [], [], [], []
        for _ in range(REPEATS):
            bare.append(bare_quantizer(recipe, float_model, samples))
            forget(wb, recipe)
            toggle(wb, base)
            new.append(toggle(wb, shown, new_cpu, new_table))
            toggle(wb, base)
            plots._PNG_CACHE.clear()
            anew.append(toggle(wb, shown, anew_cpu))
            toggle(wb, base)  # drawn again: both figures are now in the cache
            revisit.append(toggle(wb, shown))
            revisit.append(toggle(wb, base))
        medians = (bare, new_table, new, new_cpu, anew, anew_cpu, revisit)
        rows.append([recipe, *(statistics.median(v) for v in medians)])
    wb.controller.update(live=False)
    load_after = os.getloadavg()
    lines = [
        "| recipe toggled (digits_cnn) | bare quantizer call (s) | new: table shown (s) "
        "| new: table and figure (s) | new ÷ bare | new, CPU here (s) "
        "| revisit, figure drawn anew (s) | its CPU here (s) | revisit (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| `{r}` | {b:.3f} | {t:.3f} | {n:.3f} | {n / b:.1f}× | {nc:.3f} | {a:.3f} | {ac:.3f} | {v:.3f} |"
        for r, b, t, n, nc, a, ac, v in rows
    ]
    lines.append("")
    lines.append(
        f"Medians of {REPEATS} repeats (revisit: {2 * REPEATS}); shown with the widget's default modes "
        f"({', '.join(defaults)}); latency budget 0.1 s per variant, 1 interpreter thread, "
        f"{os.cpu_count()} cores; load average {load_before[0]:.1f} before, {load_after[0]:.1f} after; "
        f"tflite-workbench {workbench.__version__}. Goals: new at most {NEW_GOAL_S} s, revisit at most "
        f"{REVISIT_GOAL_S} s."
    )
    text = "\n".join(lines)
    write_section(
        "live-loop",
        "# The live loop: toggling a recipe in the widget\n\n"
        "Generated by `python benchmarks/live_loop.py`: from `Controller.update(modes=...)` (Live on) "
        "until the widget holds the new table and figure, on `digits_cnn` with the widget's default "
        "modes shown, TensorFlow warm and the float32 `.tflite` cached, beside the bare "
        "`litert_quantizer` call (the code `Mode(recipe).snippet()` prints) in the same run. *new*: "
        "the recipe not measured yet (quantize in the worker, run the test split, time latency, draw); "
        "*table shown*: until the widget showed the new table (it shows it before the figure); "
        "*new ÷ bare*: the widget's whole new-recipe time over the bare call's; "
        "*revisit, figure drawn anew*: measured, but that set of variants not drawn yet; *revisit*: "
        "toggled off and on again, both sets drawn before. *CPU here*: this process's CPU seconds "
        "(widget, controller, scoring, drawing; not the worker's quantization), which a loaded "
        "machine does not inflate the way it inflates wall time.\n\n" + text,
    )
    return text


if __name__ == "__main__":
    print(main())
