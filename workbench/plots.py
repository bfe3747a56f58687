"""Matplotlib figures of a comparison; no widget code here.

The trade-off figure of a comparison is drawn here. The package's other figures live beside
it and are named from here too: a layer's lens and calibration study (``_lens_figures``),
a search and a sweep (``_search_figures``), the pieces they share (``_figures``) and label
placement (``_figure_labels``).
"""

from __future__ import annotations

import numpy as np

from ._figure_labels import place_labels
from ._figures import (
    MISFIT_COLOR,
    ORIGINAL_COLOR,
    PARETO_COLOR,
    VARIANT_COLOR,
    budget_line,
    cached_png,
    cost_axis,
    figure_png,
    new_figure,
    pareto_line,
)
from ._figures import PNG_CACHE as _PNG_CACHE  # noqa: F401 (benchmarks/live_loop.py clears it)
from ._lens_figures import calibration_figure, lens_figure
from ._search_figures import search_figure, sweep_figure

__all__ = [
    "budget_panels",
    "cached_png",
    "calibration_figure",
    "figure_png",
    "lens_figure",
    "new_figure",
    "place_labels",
    "search_figure",
    "sweep_figure",
    "tradeoff_figure",
]


def tradeoff_figure(comparison, figsize=(11, 4.2), *, reuse: bool = False):
    """Metric vs size and metric vs single-sample latency, one point per variant.

    The original is a black star. Each panel has its own Pareto front, for its two axes: the
    variants no other variant beats on both the metric and that panel's cost (size, latency
    or RAM) are red and joined. With a target, a third panel shows the RAM each variant needs
    there, the budgets are green lines, and variants that do not fit are grey. Each label sits
    beside its point, inside the axes, with a leader line where it had to move away.

    ``reuse=True`` draws into a figure kept from the last call of the same layout instead of
    a new one (for PNGs drawn at once, as the live widget's: making the axes and their ticks
    is half the time of a redraw). Such a figure changes at the next call: never hand it out.
    """
    from ._pareto import pareto_front

    table = comparison.table
    ok = table[table["error"] == ""]
    metric = comparison.metric
    way = "max" if comparison.dataset.higher_is_better else "min"
    variants = ok[ok["variant"] != "original"]
    budgets = budget_panels(comparison)
    if budgets:
        figsize = (figsize[0] * 1.4, figsize[1])
    panel_count = 2 + (len(budgets) > 1)
    if reuse:
        figure, axes, scaled = _reused_axes(figsize, panel_count)
    else:
        (figure, axes), scaled = _new_axes(figsize, panel_count), False
    panels = (
        ("size_bytes", "size (KiB, log scale)", 1 / 1024),
        (
            "latency_ms_p50",
            f"single-sample latency, median (ms, log scale, {comparison.threads} thread)",
            1.0,
        ),
    ) + tuple(budgets[1:2])
    misfits = set(ok["variant"][ok["fits"] == False]) if "fits" in ok else set()  # noqa: E712 (None: no file)
    for ax, (column, xlabel, factor, *_) in zip(axes, panels, strict=True):
        pareto = set(pareto_front(variants, {metric: way, column: "min"}))
        labels, points = [], []
        for name, x, y in zip(ok["variant"], ok[column] * factor, ok[metric], strict=True):
            if not np.isfinite(x):
                continue
            if name == "original":
                ax.scatter(x, y, marker="*", s=260, color=ORIGINAL_COLOR, zorder=3)
                labels.append((x, y, f"original ({comparison.model_kind})"))
                continue
            best = name in pareto
            color = MISFIT_COLOR if name in misfits else PARETO_COLOR if best else VARIANT_COLOR
            points.append((x, y, 90 if best else 55, color, "black" if best else "none"))
            labels.append((x, y, name))
        if points:  # one collection for all the variants: each artist costs at every redraw
            xs, ys, sizes, colors, edges = zip(*points, strict=True)
            ax.scatter(xs, ys, s=sizes, c=colors, edgecolors=edges, zorder=3)
        pareto_line(ax, ok[ok["variant"].isin(pareto)], column, factor, metric)
        if scaled:  # a kept figure's axes keep their log scale, ticks and grid
            ax.set_xlabel(xlabel)
        else:
            cost_axis(ax, xlabel)
        _pad_log_axis(ax, ok[column].to_numpy(dtype=float) * factor)
        _pad_metric_axis(ax, ok[metric].to_numpy(dtype=float))
        for budget_column, _, budget_factor, budget, name in budgets:
            if budget_column == column:
                budget_line(ax, budget * budget_factor, name)
        place_labels(ax, labels)
    axes[0].set_ylabel(metric + " on the test split")
    fit_note = f"; grey: does not fit {comparison.target.name}" if budgets else ""
    figure.suptitle(
        f"{comparison.model_name} on {comparison.dataset.name}: what each mode costs and buys "
        f"(red: no variant has a better {metric} at a lower cost on that panel's axis{fit_note})",
        fontsize=10,
    )
    return figure


def _new_axes(figsize, panel_count: int):
    # Fixed margins instead of constrained layout: the live loop redraws this on every change,
    # and working the layout out takes as long as drawing.
    figure = new_figure(figsize, layout=None)
    figure.subplots_adjust(
        left=0.065 / (1.4 if panel_count > 2 else 1), right=0.985, bottom=0.13, top=0.9, wspace=0.05
    )
    return figure, figure.subplots(1, panel_count, sharey=True)


_REUSED: dict[tuple, tuple] = {}


def _reused_axes(figsize, panel_count: int):
    """The kept figure of this layout with its data, labels and lines taken away; its axes,
    ticks and scales stay (a new figure spends most of its making on them). The third value
    says whether its cost axes were set up by an earlier call (``cost_axis``)."""
    key = (tuple(figsize), panel_count)
    scaled = key in _REUSED
    if not scaled:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        _REUSED[key] = _new_axes(figsize, panel_count)
        # Its own Agg canvas keeps one renderer from PNG to PNG, and matplotlib keeps text
        # extents per renderer: the ticks, axis labels and title are measured once, not at
        # every redraw (savefig gives a figure without one a new canvas each time).
        FigureCanvasAgg(_REUSED[key][0])
    figure, axes = _REUSED[key]
    for ax in axes:
        for artist in [*ax.collections, *ax.lines, *ax.texts, *ax.patches]:
            artist.remove()
        ax.relim()
    return figure, axes, scaled


def budget_panels(comparison) -> list[tuple]:
    """(column, x label, factor, budget bytes, budget name) for the flash and RAM budget lines."""
    target = getattr(comparison, "target", None)
    if target is None or "fits" not in comparison.table:
        return []
    ram_column, ram_label = (
        ("tflm_arena_bytes", "TFLite Micro arena, 64-bit host") if target.runtime == "tflm" else
        ("litert_memory_bytes", "LiteRT memory, estimate")
    )  # fmt: skip
    flash = target.flash_bytes if target.flash_bytes is not None else np.nan
    ram = target.ram_bytes if target.ram_bytes is not None else np.nan
    return [
        ("size_bytes", "", 1 / 1024, flash, f"{target.name} flash"),
        (ram_column, f"{ram_label} (KiB, log scale)", 1 / 1024, ram, f"{target.name} RAM"),
    ]


def _pad_log_axis(ax, values):
    values = values[np.isfinite(values) & (values > 0)]
    if len(values):
        ax.set_xlim(values.min() / 1.6, values.max() * 2.2)


def _pad_metric_axis(ax, values):
    values = values[np.isfinite(values)]
    if len(values):
        low, high = values.min(), values.max()
        pad = max((high - low) * 0.25, 0.01)
        ax.set_ylim(low - pad, high + pad)
