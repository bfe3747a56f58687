"""Figures of a search and a sweep: every candidate of a budget search against its budget,
and the metric of each mode by calibration size over models and datasets.
"""

from __future__ import annotations

import numpy as np

from ._figures import (
    BUDGET_COLOR,
    MISFIT_COLOR,
    ORIGINAL_COLOR,
    PARETO_COLOR,
    VARIANT_COLOR,
    budget_line,
    cost_axis,
    new_figure,
    pareto_line,
)


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
                ORIGINAL_COLOR if original else colors.setdefault(row["variant"], palette[len(colors) % 10])
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
                PARETO_COLOR if p else (VARIANT_COLOR if f else MISFIT_COLOR)
                for p, f in zip(part["pareto"], part["feasible"], strict=True)
            ]
            ax.scatter(
                part[column] * factor, part[metric], c=colors, marker=marker, s=40, zorder=3, label=name
            )
        pareto_line(ax, candidates[candidates["pareto"]], column, factor, metric)
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
            original[column] * factor, original[metric], marker="*", s=220, color=ORIGINAL_COLOR, zorder=3
        )
        ax.axhline(floor, color=BUDGET_COLOR, lw=1.5, ls=":")
        if column == "size_bytes" and search.budget["flash"] is not None:
            budget_line(ax, search.budget["flash"] * factor, "flash budget")
        cost_axis(ax, xlabel)
    axes[0].set_ylabel(f"{metric} on the test split")
    axes[0].legend(fontsize=8, loc="lower right")
    figure.suptitle(
        f"{len(ok) - 1} candidates: red Pareto-optimal, blue within budget, grey outside; "
        f"green: {metric} {'floor' if up else 'ceiling'} {floor:.4g}",
        fontsize=10,
    )
    return figure
