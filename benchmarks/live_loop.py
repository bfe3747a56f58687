"""How fast the widget answers a toggle: the live loop, measured through the real widget.

What a person does in JupyterLab with Live on: toggle a LiteRT Quantizer recipe, and see the
table and the figure refreshed. Measured on ``digits_cnn`` with TensorFlow warm and the
float32 ``.tflite`` cached (a first run has converted it and measured the original), from
``Controller.update(modes=...)`` until the run has ended and the widget holds the new table
and figure (PNG bytes). Three cases, each repeated, medians reported:

- **new**: the recipe has not been measured (its cache entry is forgotten before each repeat,
  so the same path runs again: quantize in the worker, run the test split, time latency,
  draw the figure);
- **back**: toggling the recipe off again, back to a set of variants already shown;
- **again**: toggling it on again, now measured.

Run: ``python benchmarks/live_loop.py`` (writes ``benchmarks/output/live_loop.md``; the
figures are copied into ``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import workbench  # noqa: E402
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


def toggle(wb, modes) -> float:
    """Seconds from the settings change to the widget showing the new table and figure."""
    started = time.perf_counter()
    wb.controller.update(modes=modes)  # Live is on: the change starts the run
    assert wb.controller.wait(300)
    elapsed = time.perf_counter() - started
    comparison = wb.controller.state.comparison
    assert wb.controller.state.error is None, wb.controller.state.error
    assert list(comparison.table["variant"])[1:] == list(modes)
    assert wb.figure.value == comparison.figure_png() and wb.figure.value[:4] == b"\x89PNG"
    return elapsed


def forget(wb, label: str) -> None:
    for key in [k for k in wb.controller._variants if k[2] == label]:
        del wb.controller._variants[key]


def main() -> str:
    wb = Workbench(scan_notebook=False)
    wb.controller.update(model="digits_cnn", modes=("float32",), latency_budget=0.1)
    wb.controller.run(wait=True)  # TensorFlow warm, float32 converted and cached, original measured
    wb.controller.update(live=True)
    assert wb.controller.wait(300)
    rows = []
    for recipe in RECIPES:
        new, back, again = [], [], []
        for _ in range(REPEATS):
            forget(wb, recipe)
            new.append(toggle(wb, ("float32", recipe)))
            back.append(toggle(wb, ("float32",)))
            again.append(toggle(wb, ("float32", recipe)))
            back.append(toggle(wb, ("float32",)))
        rows.append((recipe, statistics.median(new), statistics.median(back), statistics.median(again)))
    wb.controller.update(live=False)
    lines = [
        "| recipe toggled (digits_cnn) | new: quantize, measure, draw (s) | back to shown variants (s) | on again, measured (s) |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{r}` | {n:.3f} | {b:.3f} | {a:.3f} |" for r, n, b, a in rows]
    cpu = os.cpu_count()
    lines.append("")
    lines.append(
        f"Medians of {REPEATS} repeats (back: {2 * REPEATS}); latency budget 0.1 s per variant, "
        f"1 interpreter thread, {cpu} cores; tflite-workbench {workbench.__version__}."
    )
    text = "\n".join(lines)
    output = HERE / "output"
    output.mkdir(exist_ok=True)
    (output / "live_loop.md").write_text(text + "\n")
    return text


if __name__ == "__main__":
    print(main())
