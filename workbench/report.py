"""The shareable report of a comparison: HTML with the figure embedded, CSV, PNG, .tflite files."""

from __future__ import annotations

import base64
import datetime
import html
import json
import os
import re

import numpy as np
import pandas as pd

from . import _inputs as inputs
from ._mode_code import workbench_snippet
from .modes import Mode

_FORMATS = {
    "size_bytes": "{:,.0f}",
    "size_ratio": "{:.3f}",
    "accuracy": "{:.4f}",
    "r2": "{:.4f}",
    "mse": "{:.4g}",
    "error_rank_corr": "{:.4f}",
    "roc_auc": "{:.4f}",
    "metric_delta": "{:+.4f}",
    "agreement": "{:.2%}",
    "max_abs_diff": "{:.2e}",
    "latency_ms_p50": "{:.4f}",
    "latency_ms_p90": "{:.4f}",
    "batch_latency_ms": "{:.3f}",
    "speedup": "{:.3g}×",
    "speedup_vs_original": "{:.1f}×",
    "convert_s": "{:.3f}",
    "tflm_arena_bytes": "{:,.0f}",
    "flash_bytes": "{:,.0f}",
    "tflm_agreement": "{:.2%}",
    "tflm_max_abs_diff": "{:.2e}",
    "litert_memory_bytes": "{:,.0f}",
}
# Yes/no columns (None: not applicable, e.g. the original has no .tflite).
_FLAGS = ("tflm", "fits")

# Which direction is better, to highlight the best value of each column.
_BETTER = {
    "size_bytes": "min",
    "accuracy": "max",
    "r2": "max",
    "mse": "min",
    "error_rank_corr": "max",
    "roc_auc": "max",
    "agreement": "max",
    "max_abs_diff": "min",
    "latency_ms_p50": "min",
    "latency_ms_p90": "min",
    "batch_latency_ms": "min",
    "tflm_arena_bytes": "min",
    "tflm_agreement": "max",
    "speedup": "max",
}
# Measured against the original itself: the original row is best at them by definition.
_AGAINST_ORIGINAL = ("agreement", "max_abs_diff", "error_rank_corr", "speedup_vs_original")

#: What a table shows at first (those the table has, in its order); the rest are one click away.
DEFAULT_COLUMNS = (
    "variant",
    "mode",
    "path",
    "size_bytes",
    "accuracy",
    "r2",
    "mse",
    "roc_auc",
    "metric_delta",
    "agreement",
    "max_abs_diff",
    "latency_ms_p50",
    "speedup",
    "tflm",
    "tflm_arena_bytes",
    "fits",
    "error",
    "note",
)

STYLE = """
<style>
.workbench-report { font-family: system-ui, sans-serif; max-width: 1200px; }
.workbench-table { border-collapse: collapse; font-size: 13px; }
.workbench-table th, .workbench-table td { padding: 4px 8px; border-bottom: 1px solid #ddd; text-align: right; white-space: nowrap; }
.workbench-table th { background: #f3f3f3; }
.workbench-table td:first-child, .workbench-table th:first-child { text-align: left; }
.workbench-table .best { font-weight: bold; background: #e4f4e4; }
.workbench-table .failed { color: #a00; text-align: left; white-space: normal; min-width: 300px; }
.workbench-table .note { text-align: left; white-space: normal; min-width: 300px; }
.workbench-scroll { overflow-x: auto; max-width: 100%; }
.workbench-report img { max-width: 100%; height: auto; }
.workbench-report details > summary { cursor: pointer; color: #555; margin: 4px 0; }
.workbench-report pre { background: #f7f7f7; padding: 8px; font-size: 12px; overflow-x: auto; }
</style>
"""


def format_table(table: pd.DataFrame) -> pd.DataFrame:
    """The table as strings, numbers rounded for reading; failed modes show their error."""
    shown = table.copy()
    for column, fmt in _FORMATS.items():
        if column in shown:
            shown[column] = ["" if pd.isna(v) else fmt.format(v) for v in shown[column]]
    for column in ("tflm_reason", "fits_detail"):
        if column in shown:
            shown[column] = [_short(v, 110) for v in shown[column]]
    for column in _FLAGS:
        if column in shown:
            shown[column] = [{True: "yes", False: "no"}.get(v, "") for v in shown[column]]
    if "error" in shown:
        shown["error"] = [_short(e) for e in shown["error"]]
        if not (shown["error"] != "").any():
            shown = shown.drop(columns=["error"])
    if "note" in shown and not (shown["note"].fillna("") != "").any():
        shown = shown.drop(columns=["note"])  # only a loss that needed explaining has one
    # A converted variant's mode is its label; a file compared as-is has its own, from what it contains.
    as_is = (
        "mode" in shown
        and "variant" in shown
        and (shown.loc[shown["variant"] == "original", "mode"] != "").any()
    )
    return shown if as_is else shown.drop(columns=["mode"], errors="ignore")


def table_html(table: pd.DataFrame, columns=DEFAULT_COLUMNS) -> str:
    """The table in HTML, the best value of each column in bold: the ``columns`` shown (those
    the table has), and every column behind a toggle when some were left out.

    Parameters
    ----------
    table : DataFrame
        A comparison's (or search's) table.
    columns : sequence of str or None, default=DEFAULT_COLUMNS
        The columns shown at first; ``None`` shows them all.
    """
    shown = format_table(table)
    keep = [c for c in shown.columns if columns is None or c in columns or _is_head_column(c, columns)]
    compact = _table_html(table, shown[keep])
    hidden = [c for c in shown.columns if c not in keep]
    if not hidden:
        return compact
    return (
        compact
        + f"<details><summary>All {len(shown.columns)} columns (adds {html.escape(', '.join(hidden))})"
        f"</summary><div class='workbench-scroll'>{_table_html(table, shown)}</div></details>"
    )


def _is_head_column(column: str, columns) -> bool:
    """``agreement[<head>]`` follows ``agreement``: shown where it is."""
    return "[" in column and column.split("[", 1)[0] in columns


def _table_html(table: pd.DataFrame, shown: pd.DataFrame) -> str:
    best = {}
    ok = table[table["error"] == ""] if "error" in table else table
    for column, direction in _BETTER.items():
        candidates = ok
        if column in _AGAINST_ORIGINAL and "variant" in ok:
            candidates = ok[ok["variant"] != "original"]
        # A best of one is no news.
        if column in candidates and candidates[column].notna().sum() > 1:
            best[column] = getattr(candidates[column], direction)()
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    body = []
    # Rows as dicts: the live widget writes this table on every change, and iterrows builds a
    # Series per row (the table's columns mix strings and numbers, so no value is cast).
    for raw, row in zip(table.to_dict("records"), shown.to_dict("records"), strict=True):
        cells = []
        original = raw.get("variant") == "original"
        for column in shown.columns:
            classes = ""
            trivial = original and column in _AGAINST_ORIGINAL
            if column in best and not trivial and raw.get("error", "") == "" and raw[column] == best[column]:
                classes = ' class="best"'
            if column == "error" and row[column]:
                classes = ' class="failed"'
            if column == "note" and row[column]:
                classes = ' class="note"'
            cells.append(f"<td{classes}>{html.escape(str(row[column]))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<table class="workbench-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )


def comparison_html(comparison, figure: bool = True) -> str:
    """The table, and optionally the figure as an embedded PNG: readable with no kernel."""
    parts = [STYLE, '<div class="workbench-report">', _caption(comparison), table_html(comparison.table)]
    if figure:
        png = base64.b64encode(comparison.figure_png()).decode()
        parts.append(f'<p><img alt="trade-off figure" src="data:image/png;base64,{png}"/></p>')
    parts.append("</div>")
    return "\n".join(parts)


def write_report(comparison, directory: str) -> str:
    """Write report.html, results.csv, tradeoff.png and per variant its .tflite and C source (.cc/.h)."""
    os.makedirs(directory, exist_ok=True)
    comparison.table.to_csv(os.path.join(directory, "results.csv"), index=False)
    png = comparison.figure_png()
    with open(os.path.join(directory, "tradeoff.png"), "wb") as handle:
        handle.write(png)
    files = []
    for label, converted in comparison.variants.items():
        name = f"{comparison.model_name}-{converted.key}.tflite"
        converted.save(os.path.join(directory, name))
        converted.save_c(os.path.join(directory, name[: -len(".tflite")] + ".cc"))
        if converted.recipe is not None:
            with open(os.path.join(directory, name[: -len(".tflite")] + "_recipe.json"), "w") as handle:
                json.dump(converted.recipe, handle, indent=1)
        files.append((label, name, converted))
    calibration_file = _save_calibration(comparison, directory)
    encoded = base64.b64encode(png).decode()
    page = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>workbench: {html.escape(comparison.model_name)} on {html.escape(comparison.dataset.name)}</title>",
        STYLE,
        "</head><body><div class='workbench-report'>",
        f"<h1>{html.escape(comparison.model_name)} on {html.escape(comparison.dataset.name)}</h1>",
        _caption(comparison),
        table_html(comparison.table),
        f'<p><img alt="trade-off figure" src="data:image/png;base64,{encoded}"/></p>',
        "<h2>Variants</h2>",
    ]
    for label, name, converted in files:
        stem = html.escape(name[: -len(".tflite")])
        links = f"<a href='{html.escape(name)}'>{html.escape(name)}</a>"
        links += (
            f" · C source for TFLite Micro <a href='{stem}.cc'>{stem}.cc</a>, <a href='{stem}.h'>{stem}.h</a>"
        )
        if converted.recipe is not None:
            recipe_file = name[: -len(".tflite")] + "_recipe.json"
            links += f" · LiteRT Quantizer recipe <a href='{html.escape(recipe_file)}'>{html.escape(recipe_file)}</a>"
        page.append(f"<h3>{html.escape(label)} — {links}</h3>")
        io_lines = [f"input  {t.describe()}" for t in converted.inputs]
        io_lines += [f"output {t.describe()}" for t in converted.outputs]
        ops = ", ".join(f"{op} ×{n}" for op, n in converted.ops.items())
        page.append(f"<pre>{html.escape(chr(10).join(io_lines))}\nops: {html.escape(ops)}</pre>")
        page.append("<details><summary>What the file really is</summary>")
        page.append(f"<pre>{html.escape(converted.summary(runtimes=False))}</pre></details>")
        if converted.mode is not None and converted.path != converted.mode.path:
            # Made by the workbench itself (a tree ensemble's integer trees): its own call reproduces it.
            page.append(
                f"<details><summary>workbench code for this variant ({html.escape(converted.path)})</summary>"
            )
            code = workbench_snippet(converted.mode, converted.path)
            page.append(f"<pre>{html.escape(code)}</pre></details>")
        elif converted.mode is not None:
            page.append(f"<details><summary>{html.escape(snippet_title(converted))}</summary>")
            page.append(f"<p>{html.escape(_snippet_needs(converted.mode, calibration_file))}</p>")
            page.append(
                f"<pre>{html.escape(Mode.snippet(converted.mode, calibration=converted.calibration))}</pre></details>"
            )
    page += _lens_sections(comparison, directory)
    page.append(f"<p><small>{html.escape(_environment())}</small></p></div></body></html>")
    path = os.path.join(directory, "report.html")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(page))
    return path


def _lens_sections(comparison, directory: str) -> list[str]:
    """Every lens drawn on this comparison (``workbench.lens``, the widget's Lens tab): its
    figure and table in the page, and as ``lens-<variant>-<layer>.png`` and ``.csv``."""
    lenses = comparison.lenses
    if not lenses:
        return []
    page = ["<h2>Lens</h2>"]
    for (variant, layer), found in lenses.items():
        stem = "lens-" + re.sub(r"[^A-Za-z0-9]+", "-", f"{variant}-{layer}").strip("-")
        png = found.png()
        with open(os.path.join(directory, stem + ".png"), "wb") as handle:
            handle.write(png)
        found.table.to_csv(os.path.join(directory, stem + ".csv"))
        encoded = base64.b64encode(png).decode()
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in found.notes)
        shown = found.table.assign(
            value=[f"{v:.6g}" if isinstance(v, float) else str(v) for v in found.table["value"]]
        )
        page += [
            f"<h3>{html.escape(layer)} in {html.escape(variant)} — <a href='{stem}.png'>{stem}.png</a>, "
            f"<a href='{stem}.csv'>{stem}.csv</a></h3>",
            f'<p><img alt="lens on {html.escape(layer)}" src="data:image/png;base64,{encoded}"/></p>',
            f"<ul>{notes}</ul>" if notes else "",
            shown.to_html(classes="workbench-table"),
        ]
    return page


def _save_calibration(comparison, directory: str) -> str | None:
    """``calibration_samples.npy``: the samples the calibrated variants were made with, which
    the code shown for them loads (one array; a model of several inputs has no single file)."""
    samples = comparison.calibration
    if not isinstance(samples, np.ndarray):
        return None
    path = os.path.join(directory, "calibration_samples.npy")
    np.save(path, samples.astype(np.float32, copy=False))
    return path


def _snippet_needs(mode: Mode, calibration_file: str | None) -> str:
    """What the code shown for a variant starts from, and where to get it."""
    needs = "Run it in this folder after exporting the model there: model.export('saved_model') (Keras 3)"
    if not mode.calibrated:
        return needs + "."
    if calibration_file is not None:
        return needs + "; calibration_samples.npy beside this report holds the calibration samples used."
    return needs + ", and with your calibration inputs saved by np.save('calibration_samples.npy', samples)."


def snippet_title(converted) -> str:
    """What the code shown for a variant is, and what it leaves out."""
    mode = converted.mode
    title = (
        "LiteRT Quantizer code for this variant"
        if mode.from_float_file
        else "TFLiteConverter code for this variant"
    )
    if converted.float_layers:
        title += f" (without the layers kept at higher precision: {', '.join(converted.float_layers)})"
    return title


def _caption(comparison) -> str:
    data = comparison.dataset
    lines = [
        f"Model <b>{html.escape(comparison.model_name)}</b> ({comparison.model_kind}), "
        f"dataset <b>{html.escape(data.name)}</b>: {data.metric} on {inputs.count(data.X_test)} test samples; "
        f"calibration: {html.escape(comparison.representative)}.",
        f"Latency: single-sample median and p90 after warm-up, and one batch of "
        f"{comparison.batch_size}, with {comparison.threads} interpreter thread(s); the original "
        f"is called as a user would call it on this CPU. speedup: the float32 .tflite's median "
        f"latency over the row's (speedup_vs_original: the original's call over the row's).",
        "Figure: in each panel, red marks the variants no other variant beats on both the metric "
        "and that panel's cost (its own Pareto front, so a variant can be red in one panel only).",
    ]
    target = getattr(comparison, "target", None)
    if target is not None:
        fitting = ", ".join(comparison.fitting()) or "none"
        lines.append(
            f"Target <b>{html.escape(target.describe())}</b> ({html.escape(target.description or 'custom budget')}): "
            f"fits: <b>{html.escape(fitting)}</b>. Arena: the smallest that allocates and invokes on "
            "TFLite Micro, found by bisection, measured on a 64-bit host (a 32-bit microcontroller build needs somewhat less: its bookkeeping is pointer-sized); flash: the model's bytes; LiteRT memory: an estimate "
            "(peak live tensor bytes, batch 1)."
        )
    lines += [html.escape(n) for n in comparison.notes]
    if comparison.cancelled:
        lines.append("<b>Cancelled</b>: only the variants above were measured.")
    return "<p>" + "<br>".join(lines) + "</p>"


def _environment() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for package in ("tensorflow", "ai-edge-litert", "keras", "scikit-learn", "numpy"):
        try:
            parts.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            continue
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    return f"Made by tflite-workbench on {stamp} with " + ", ".join(parts) + "."


def _short(message: str, limit: int = 160) -> str:
    message = str(message or "")
    return message if len(message) <= limit else message[: limit - 1] + "…"
