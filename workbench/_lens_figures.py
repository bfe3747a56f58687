"""Figures of one layer: the lens (a layer's weights on the variant's grid, its rounding
error, activations and the arithmetic with its own numbers) and the calibration study (the
range each calibration set gives a layer, and what it clips).
"""

from __future__ import annotations

import numpy as np

from ._figures import new_figure

_CALIBRATION_COLOR = "#2ca02c"
_TEST_COLOR = "#1f77b4"
_GRID_COLOR = "#d62728"


def lens_figure(lens, figsize=(12, 7.5)):
    """One layer of one variant (a ``workbench.lens.Lens``): the float weights with the
    variant's grid over them, the worst channels, the rounding error in steps, the
    activations on calibration and test samples with the calibrated range, and the formula
    with the layer's own numbers."""
    figure = new_figure(figsize, layout=None)
    figure.subplots_adjust(left=0.05, right=0.99, bottom=0.06, top=0.92, hspace=0.55, wspace=0.3)
    grid = figure.add_gridspec(3, 4)
    numbers = lens.numbers
    figure.suptitle(
        f"{lens.layer} ({lens.op}) in {lens.variant}: {numbers['weight type']} weights, {numbers['granularity']}"
    )
    channel_of, scale_of = _lens_channels(lens)
    worst = int(lens.channels["channel"].iloc[0])
    unit = "block" if numbers["granularity"].startswith("blockwise") else "channel"
    _weights_panel(
        figure.add_subplot(grid[0, :3]),
        lens.weights[channel_of == worst],
        lens.levels,
        f"float weights{f' of {unit} {worst} (the worst)' if len(lens.channels) > 1 else ''} "
        f"and the {numbers['levels']}-level grid",
    )
    ax = figure.add_subplot(grid[0, 3])
    steps = ((lens.weights - lens.dequantized) / scale_of).ravel()
    counts, edges = np.histogram(steps, bins=40)
    ax.stairs(counts, edges, fill=True, color="#7f7f7f")
    ax.set_title("rounding error (steps)", fontsize=9)
    ax.tick_params(labelsize=7, left=False, labelleft=False)
    ax.set_xlabel("(w − scale·(q − zp)) / scale", fontsize=8)
    if len(lens.channels) > 1:
        for k, row in enumerate(lens.channels.head(lens.small_multiples).itertuples()):
            ax = figure.add_subplot(grid[1, k % 4])
            c = int(row.channel)
            levels = row.scale * (np.arange(*lens.q_range) - row.zero_point)
            _weights_panel(
                ax, lens.weights[channel_of == c], levels, f"{unit} {c}: {row.snr_db:.1f} dB", small=True
            )
    else:
        ax = figure.add_subplot(grid[1, :])
        counts, edges = np.histogram(lens.stored.ravel(), bins=min(lens.levels.size, 64))
        ax.stairs(counts, edges, fill=True, color=_TEST_COLOR)
        ax.set_title("the stored integers q (one scale for the whole tensor)", fontsize=9)
    _activations_panel(figure.add_subplot(grid[2, :2]), lens)
    ax = figure.add_subplot(grid[2, 2:])
    ax.axis("off")
    ax.text(0.02, 1.1, _lens_text(lens), va="top", ha="left", fontsize=8, family="monospace")
    return figure


def _lens_channels(lens):
    """Each weight's channel (or block) and its scale, in the weights' shape."""
    scales = lens.channels.sort_values("channel")["scale"].to_numpy()
    return lens.groups, scales[lens.groups]


def _weights_panel(ax, weights, levels, title, small=False):
    # Histograms as one outline and the grid as one collection: the widget redraws this live.
    counts, edges = np.histogram(weights.ravel(), bins=30 if small else 60)
    ax.stairs(counts, edges, fill=True, color=_TEST_COLOR, alpha=0.8)
    step = max(1, int(np.ceil(levels.size / _LENS_LEVELS)))
    low, high = weights.min(), weights.max()
    margin = 0.15 * (high - low or 1.0)
    ax.set_xlim(low - margin, high + margin)
    drawn = levels[::step]
    drawn = drawn[(drawn >= low - margin) & (drawn <= high + margin)]
    ax.vlines(drawn, 0, 1, transform=ax.get_xaxis_transform(), color=_GRID_COLOR, lw=0.6, alpha=0.6)
    sampled = "" if step == 1 else f" (every {step}th level drawn)"
    ax.set_title(title + ("" if small else sampled), fontsize=8 if small else 9)
    # Counts need no labels: fewer tick labels is most of what makes the figure quick to render.
    ax.tick_params(labelsize=7, left=False, labelleft=False)
    ax.locator_params(axis="x", nbins=4 if small else 8)


_LENS_LEVELS = 33


def _activations_panel(ax, lens):
    values = lens.activations
    if not values:
        ax.axis("off")
        ax.text(0, 0.5, "no activations: " + " ".join(lens.notes), fontsize=9, wrap=True)
        return
    every = np.concatenate([v.ravel() for v in values.values()])
    low, high = float(every.min()), float(every.max())
    if lens.activation_range is not None:
        low, high = min(low, lens.activation_range[0]), max(high, lens.activation_range[1])
    bins = np.linspace(low, high, 61) if high > low else 10
    for name, color in (("calibration", _CALIBRATION_COLOR), ("test", _TEST_COLOR)):
        if name in values:
            counts, edges = np.histogram(values[name].ravel(), bins=bins, density=True)
            ax.stairs(counts, edges, lw=1.5, color=color, label=f"{name} ({len(values[name])} samples)")
    from matplotlib.ticker import NullLocator

    ax.set_yscale("log")
    ax.yaxis.set_minor_locator(NullLocator())
    ax.tick_params(labelsize=7)
    ax.set_ylabel("density (log)", fontsize=8)
    numbers = lens.numbers
    if lens.activation_range is not None:
        lo, hi = lens.activation_range
        ax.axvspan(lo, hi, color=_GRID_COLOR, alpha=0.07, label="calibrated range")
        for edge in (lo, hi):
            ax.axvline(edge, color=_GRID_COLOR, lw=1.2)
        title = (
            f"layer output: calibrated range [{lo:.3g}, {hi:.3g}], "
            f"{100 * numbers['test clip fraction']:.2f}% of test activations clipped"
        )
    else:
        title = "layer output (kept in float by this variant: no range, nothing clipped)"
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, loc="upper right")


def _lens_text(lens) -> str:
    numbers = lens.numbers
    s, z = numbers["weight scale"], numbers["weight zero point"]
    lines = [
        "real = scale × (q − zero_point)",
        "",
        f"weights: scale = {s:.4g}, zp = {z}",
        _wrap(numbers["worked weight"]),
        f"weight SNR {numbers['weight SNR (dB)']:.1f} dB",
    ]
    if "weight SNR with one scale (dB)" in numbers:
        lines.append(f"(one scale per tensor: {numbers['weight SNR with one scale (dB)']:.1f} dB)")
    if lens.activation_quant is not None:
        a_s, a_z, _ = lens.activation_quant
        lines += ["", f"activations: scale = {a_s:.4g}, zp = {a_z}", _wrap(numbers["worked activation"])]
    error = [k for k in numbers if k.startswith("layer error")]
    if error:
        value = numbers[error[0]]
        lines += ["", f"{error[0]}:", f"  {value:.4g}" if isinstance(value, float) else f"  {value}"]
    return "\n".join(lines)


def _wrap(text: str) -> str:
    return "\n".join("  " + part.strip() for part in text.split(";"))


def calibration_figure(study, figsize=(12, 4.2)):
    """A layer's test activations with the range each calibration set gives (left), and the
    share of test activations clipped and the variant's score by calibration size (right)."""
    figure = new_figure(figsize, layout=None)
    figure.subplots_adjust(left=0.06, right=0.93, bottom=0.14, top=0.88, wspace=0.35)
    left, right = figure.subplots(1, 2)
    table = study.table
    left.hist(
        study.test_activations.ravel(), bins=60, color="#cccccc", density=True, label="test activations"
    )
    left.set_yscale("log")
    top = left.get_ylim()[1]
    colors = {"random": _TEST_COLOR, "stratified": "#ff7f0e", "first": "#9467bd"}
    several = "statistic" in table and table["statistic"].nunique() > 1
    styles = dict(zip(table["statistic"].unique(), ("-", ":", "-."), strict=False)) if several else {}

    def named(statistic, strategy):
        return f"{statistic.split(' (')[0]}, {strategy}" if several else strategy

    for k, row in enumerate(table.itertuples()):
        y = top * 0.6 ** (k + 1)
        left.plot(
            [row.range_min, row.range_max],
            [y, y],
            color=colors.get(row.strategy, "k"),
            lw=3,
            ls=styles.get(getattr(row, "statistic", None), "-"),
        )
        left.annotate(
            f"{named(getattr(row, 'statistic', ''), row.strategy)} {row.samples}",
            (row.range_max, y),
            fontsize=7,
            xytext=(3, -3),
            textcoords="offset points",
        )
    left.set_title(f"{study.layer} in {study.variant}: the range each calibration set gives", fontsize=9)
    left.set_xlabel("activation value")
    twin = right.twinx()
    keys = ["statistic", "strategy"] if several else ["strategy"]
    for key, rows in table.groupby(keys, sort=False):
        statistic, strategy = key if several else ("", key[0] if isinstance(key, tuple) else key)
        color = colors.get(strategy, "k")
        right.plot(
            rows["samples"],
            100 * rows["test_clip_fraction"],
            marker="o",
            ls=styles.get(statistic, "-"),
            color=color,
            label=f"{named(statistic, strategy)}: clipped",
        )
        twin.plot(
            rows["samples"],
            rows[study.metric],
            "s--",
            color=color,
            alpha=0.6,
            label=f"{named(statistic, strategy)}: {study.metric}",
        )
    right.set_xscale("log")
    right.set_xlabel("calibration samples (log scale)")
    right.set_ylabel("% of test activations clipped")
    twin.set_ylabel(study.metric)
    right.legend(fontsize=7, loc="upper right")
    twin.legend(fontsize=7, loc="lower right")
    right.set_title("clipping and score by calibration size", fontsize=9)
    return figure
