"""Matplotlib figures of a comparison; no widget code here."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

_ORIGINAL_COLOR = "#444444"
_VARIANT_COLOR = "#1f77b4"
_PARETO_COLOR = "#d62728"
_MISFIT_COLOR = "#bbbbbb"
_BUDGET_COLOR = "#2ca02c"


def tradeoff_figure(comparison, figsize=(11, 4.2)):
    """Metric vs size and metric vs single-sample latency, one point per variant.

    The original is a black star; Pareto-optimal variants (no other variant is at least as
    good on metric, size and latency and better on one) are red, joined in each panel.
    With a target, a third panel shows the RAM each variant needs there, the budgets are
    green lines, and variants that do not fit are grey.
    """
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    table = comparison.table
    ok = table[table["error"] == ""]
    metric = comparison.metric
    pareto = set(comparison.pareto())
    budgets = budget_panels(comparison)
    if budgets:
        figsize = (figsize[0] * 1.4, figsize[1])
    # Fixed margins instead of constrained layout: the live loop redraws this on every change,
    # and working the layout out takes as long as drawing.
    figure = new_figure(figsize, layout=None)
    figure.subplots_adjust(
        left=0.065 / (1.4 if budgets else 1), right=0.985, bottom=0.13, top=0.9, wspace=0.05
    )
    axes = figure.subplots(1, 2 + (len(budgets) > 1), sharey=True)
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
        labels = []
        for _, row in ok.iterrows():
            x, y = row[column] * factor, row[metric]
            if not np.isfinite(x):
                continue
            if row["variant"] == "original":
                ax.scatter(x, y, marker="*", s=260, color=_ORIGINAL_COLOR, zorder=3)
                labels.append((x, y, f"original ({comparison.model_kind})"))
                continue
            best = row["variant"] in pareto
            color = _PARETO_COLOR if best else _VARIANT_COLOR
            ax.scatter(
                x,
                y,
                s=90 if best else 55,
                color=_MISFIT_COLOR if row["variant"] in misfits else color,
                edgecolor="black" if best else "none",
                zorder=3,
            )
            labels.append((x, y, row["variant"]))
        front = ok[ok["variant"].isin(pareto)].sort_values(column)
        if len(front) > 1:
            ax.plot(front[column] * factor, front[metric], color=_PARETO_COLOR, lw=1, ls="--", zorder=2)
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_locator(NullLocator())  # the 1-2-5 grid says enough, and draws fast
        ax.set_xlabel(xlabel)
        ax.grid(True, which="major", alpha=0.3)
        _pad_log_axis(ax, ok[column].to_numpy(dtype=float) * factor)
        _pad_metric_axis(ax, ok[metric].to_numpy(dtype=float))
        for budget_column, _, budget_factor, budget, name in budgets:
            if budget_column == column:
                _budget_line(ax, budget * budget_factor, name)
        _annotate_without_overlap(ax, labels)
    axes[0].set_ylabel(metric + " on the test split")
    fit_note = f"; grey: does not fit {comparison.target.name}" if budgets else ""
    figure.suptitle(
        f"{comparison.model_name} on {comparison.dataset.name}: what each mode costs and buys "
        f"(red: Pareto-optimal{fit_note})",
        fontsize=11,
    )
    return figure


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


def _budget_line(ax, x, name):
    if not np.isfinite(x):
        return
    ax.axvline(x, color=_BUDGET_COLOR, lw=1.5, ls=":", zorder=1)
    ax.annotate(
        name, (x, 1), xycoords=("data", "axes fraction"), xytext=(-3, -4), textcoords="offset points",
        rotation=90, ha="right", va="top", fontsize=8, color=_BUDGET_COLOR,
    )  # fmt: skip
    low, high = ax.get_xlim()
    ax.set_xlim(min(low, x / 1.6), max(high, x * 1.6))


def new_figure(figsize, layout="constrained"):
    """A figure that notebooks display as an image, without pyplot keeping or re-showing it.

    Made through pyplot so that, in a Jupyter kernel, the inline backend registers its
    image formatter for figures; closed at once so pyplot forgets it.
    """
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=figsize, layout=layout)
    plt.close(figure)
    return figure


def _annotate_without_overlap(ax, labels, gap_px=14.0):
    """Label points, moving a label up while it would sit on one already placed."""
    scale = ax.figure.dpi / 72  # offsets are in points, positions in pixels
    placed = []
    for x, y, text in sorted(labels, key=lambda item: (item[0], item[1])):
        px, py = ax.transData.transform((x, y))
        # Points near the right edge get their label on the left, inside the axes.
        left_side = px > ax.bbox.x0 + 0.78 * ax.bbox.width
        dy = 5.0
        while any(
            abs(px - qx) < 5.5 * scale * max(len(text), len(t)) and abs(py + dy * scale - qy) < gap_px * scale
            for qx, qy, t in placed
        ):
            dy += gap_px
        placed.append((px, py + dy * scale, text))
        ax.annotate(
            text,
            (x, y),
            xytext=(-6 if left_side else 6, dy),
            textcoords="offset points",
            fontsize=9,
            ha="right" if left_side else "left",
        )


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


_PNG_CACHE: OrderedDict[tuple, bytes] = OrderedDict()
_PNG_CACHE_SIZE = 64


def cached_png(key: tuple, draw) -> bytes:
    """PNG bytes of the figure ``draw()`` makes, kept for the last few keys (same results,
    same picture: toggling back to variants already shown does not draw again)."""
    if key in _PNG_CACHE:
        _PNG_CACHE.move_to_end(key)
        return _PNG_CACHE[key]
    png = figure_png(draw())
    _PNG_CACHE[key] = png
    while len(_PNG_CACHE) > _PNG_CACHE_SIZE:
        _PNG_CACHE.popitem(last=False)
    return png


def figure_png(figure, dpi: int = 110) -> bytes:
    """Render a figure to PNG bytes."""
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def sweep_figure(sweep, figsize_per_panel=(5.2, 3.8)):
    """Metric against calibration size per mode, one panel per model and dataset.

    Calibrated modes are lines through the median over seeds, with the range of seeds as a
    band (a strategy other than the first is dashed); modes that do not calibrate and the
    original are horizontal lines: calibration cannot move them.
    """
    table = sweep.table
    ok = table[table["error"] == ""]
    pairs = list(dict.fromkeys(zip(table["model"], table["dataset"], strict=True)))
    metric = "accuracy" if "accuracy" in table else "r2"
    figure = new_figure((figsize_per_panel[0] * len(pairs), figsize_per_panel[1]))
    axes = np.atleast_1d(figure.subplots(1, len(pairs), squeeze=False)[0])
    colors = {}
    palette = [f"C{i}" for i in range(10)]
    for ax, (model, dataset) in zip(axes, pairs, strict=True):
        rows = ok[(ok["model"] == model) & (ok["dataset"] == dataset)]
        calibrated = rows[rows["representative"].notna() & (rows["variant"] != "original")]
        fixed = rows[rows["representative"].isna()]
        strategies = list(dict.fromkeys(calibrated["strategy"]))
        for (variant, strategy), group in calibrated.groupby(["variant", "strategy"], sort=False):
            color = colors.setdefault(variant, palette[len(colors) % len(palette)])
            by_size = group.groupby("representative")[metric]
            sizes = np.asarray(sorted(by_size.groups), dtype=float)
            median = by_size.median().reindex(sizes).to_numpy()
            ls = "-" if strategy == strategies[0] else "--"
            ax.plot(sizes, median, marker="o", color=color, ls=ls, label=f"{variant} ({strategy})")
            if group["seed"].nunique() > 1:
                low, high = by_size.min().reindex(sizes), by_size.max().reindex(sizes)
                ax.fill_between(sizes, low, high, color=color, alpha=0.15, lw=0)
        for _, row in fixed.iterrows():
            original = row["variant"] == "original"
            color = (
                _ORIGINAL_COLOR if original else colors.setdefault(row["variant"], palette[len(colors) % 10])
            )
            ax.axhline(row[metric], color=color, lw=1.2 if original else 1, ls="-" if original else ":",
                       label=row["variant"] + ("" if original else " (no calibration)"))  # fmt: skip
        if len(calibrated):
            ax.set_xscale("log")
            ticks = sorted(set(calibrated["representative"].astype(int)))
            ax.set_xticks(ticks, [str(t) for t in ticks])
            ax.minorticks_off()
        ax.set_xlabel("calibration samples (log scale)")
        ax.set_title(f"{model} on {dataset}", fontsize=10)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    axes[0].set_ylabel(f"{metric} on the test split")
    figure.suptitle("How the representative dataset moves each mode (band: range over seeds)", fontsize=11)
    return figure


def search_figure(search, figsize=(11, 4.2)):
    """Every candidate of a search: metric vs size and vs latency, the Pareto frontier in red,
    the budget as green lines, the recommended variant as a large ring."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    table = search.table
    ok = table[table["error"] == ""]
    metric = search.metric
    figure = new_figure(figsize)
    axes = figure.subplots(1, 2, sharey=True)
    original = table[table["variant"] == "original"].iloc[0]
    up = search.budget.get("higher_is_better", True)
    floor = original[metric] - search.budget["max_metric_drop"] * (1 if up else -1)
    for ax, (column, xlabel, factor) in zip(
        axes,
        (
            ("size_bytes", "size (KiB, log scale)", 1 / 1024),
            ("latency_ms_p50", "latency, median (ms, log scale)", 1.0),
        ),
        strict=True,
    ):
        candidates = ok[ok["variant"] != "original"]
        layered = candidates["kept_layers"] != ""
        for mask, marker, name in ((~layered, "o", "recipe"), (layered, "s", "recipe + layers kept")):
            part = candidates[mask]
            colors = [
                _PARETO_COLOR if p else (_VARIANT_COLOR if f else _MISFIT_COLOR)
                for p, f in zip(part["pareto"], part["feasible"], strict=True)
            ]
            ax.scatter(
                part[column] * factor, part[metric], c=colors, marker=marker, s=40, zorder=3, label=name
            )
        front = candidates[candidates["pareto"]].sort_values(column)
        if len(front) > 1:
            ax.plot(front[column] * factor, front[metric], color=_PARETO_COLOR, lw=1, ls="--", zorder=2)
        if search.recommended:
            best = candidates[candidates["variant"] == search.recommended].iloc[0]
            ax.scatter(
                best[column] * factor,
                best[metric],
                s=260,
                facecolors="none",
                edgecolors="black",
                lw=2,
                zorder=4,
            )
            ax.annotate(search.recommended, (best[column] * factor, best[metric]), xytext=(8, -12),
                        textcoords="offset points", fontsize=8)  # fmt: skip
        ax.scatter(
            original[column] * factor, original[metric], marker="*", s=220, color=_ORIGINAL_COLOR, zorder=3
        )
        ax.axhline(floor, color=_BUDGET_COLOR, lw=1.5, ls=":")
        if column == "size_bytes" and search.budget["flash"] is not None:
            _budget_line(ax, search.budget["flash"] * factor, "flash budget")
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel(xlabel)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel(f"{metric} on the test split")
    axes[0].legend(fontsize=8, loc="lower right")
    figure.suptitle(
        f"{len(ok) - 1} candidates: red Pareto-optimal, blue within budget, grey outside; "
        f"green: {metric} {'floor' if up else 'ceiling'} {floor:.4g}",
        fontsize=10,
    )
    return figure
