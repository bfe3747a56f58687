"""Matplotlib figures of a comparison; no widget code here."""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

_ORIGINAL_COLOR = "#444444"
_VARIANT_COLOR = "#1f77b4"
_PARETO_COLOR = "#d62728"
_MISFIT_COLOR = "#bbbbbb"
_BUDGET_COLOR = "#2ca02c"


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
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

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
        figure, axes = _reused_axes(figsize, panel_count)
    else:
        figure, axes = _new_axes(figsize, panel_count)
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
                ax.scatter(x, y, marker="*", s=260, color=_ORIGINAL_COLOR, zorder=3)
                labels.append((x, y, f"original ({comparison.model_kind})"))
                continue
            best = name in pareto
            color = _MISFIT_COLOR if name in misfits else _PARETO_COLOR if best else _VARIANT_COLOR
            points.append((x, y, 90 if best else 55, color, "black" if best else "none"))
            labels.append((x, y, name))
        if points:  # one collection for all the variants: each artist costs at every redraw
            xs, ys, sizes, colors, edges = zip(*points, strict=True)
            ax.scatter(xs, ys, s=sizes, c=colors, edgecolors=edges, zorder=3)
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
    ticks and scales stay (a new figure spends most of its making on them)."""
    key = (tuple(figsize), panel_count)
    if key not in _REUSED:
        _REUSED[key] = _new_axes(figsize, panel_count)
    figure, axes = _REUSED[key]
    for ax in axes:
        for artist in [*ax.collections, *ax.lines, *ax.texts, *ax.patches]:
            artist.remove()
        ax.relim()
    return figure, axes


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


#: Where a label may go around its point, nearest first: (distance in points, direction).
_LABEL_SPOTS = [
    (distance, direction)
    for distance in (4, 9, 16, 26, 40, 58)
    for direction in ((1, 0), (-1, 0), (1, 1), (1, -1), (-1, 1), (-1, -1), (0, 1), (0, -1))
]
_LABEL_FONTSIZE = 8.5
_MARKER_RADIUS = 5.0  # points: a label may not cover another variant's marker


def place_labels(ax, labels, fontsize: float = _LABEL_FONTSIZE) -> list:
    """Put each label beside its point, inside the axes, off the other labels and markers.

    Each label takes the nearest free spot around its point (right, left, the diagonals,
    above, below, then farther out); one that had to move away gets a leader line (one
    collection, ``gid="leaders"``, from the point to the label). Call this once the axes'
    limits are final. Works in points, so the PNG's dpi does not matter.

    Parameters
    ----------
    ax : matplotlib Axes
    labels : list of (x, y, text)
        Data coordinates of each point and its label.
    fontsize : float

    Returns
    -------
    list of matplotlib Text, in the order of ``labels``
    """
    from matplotlib.collections import LineCollection
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path
    from matplotlib.transforms import ScaledTranslation

    font = FontProperties(size=fontsize)
    figure = ax.figure
    to_points = 72.0 / figure.dpi
    frame = ax.bbox.extents * to_points  # x0, y0, x1, y1
    centres = [ax.transData.transform((x, y)) * to_points for x, y, _ in labels]
    markers = [(cx - _MARKER_RADIUS, cy - _MARKER_RADIUS, cx + _MARKER_RADIUS, cy + _MARKER_RADIUS)
               for cx, cy in centres]  # fmt: skip
    # The most crowded points choose first, while the spots nearest them are still free.
    crowd = [sum(np.hypot(*(c - d)) < 40 for d in centres) for c in centres]
    order = sorted(range(len(labels)), key=lambda i: -crowd[i])
    placed: list[tuple] = []
    texts: dict[int, object] = {}
    leaders = []
    for i in order:
        x, y, text = labels[i]
        cx, cy = centres[i]
        width = text_to_path.get_text_width_height_descent(text, font, ismath=False)[0] + 2
        height = fontsize * 1.3
        others = placed + markers[:i] + markers[i + 1 :]
        box, distance = _free_spot(cx, cy, width, height, frame, others)
        placed.append(box)
        # The text's baseline-left corner, as an offset in points from its point.
        offset = ScaledTranslation((box[0] + 1 - cx) / 72, (box[1] + 0.25 * fontsize - cy) / 72,
                                   figure.dpi_scale_trans)  # fmt: skip
        texts[i] = ax.text(x, y, text, transform=ax.transData + offset, fontsize=fontsize,
                           ha="left", va="baseline", zorder=4, clip_on=False)  # fmt: skip
        # A leader whenever the label does not touch its point's neighbourhood, measured as the
        # gap between the point and the label's box (the spot search's own distance is not that).
        gap = max(box[0] - cx, cx - box[2], box[1] - cy, cy - box[3], 0.0)
        if distance > 9 or gap > 6:
            # From the point to the nearest point of the label's box, in data coordinates.
            # (2 points inside the planned box: the drawn text's box is a little smaller than it.)
            near = (min(max(cx, box[0] + 2), box[2] - 2), min(max(cy, box[1] + 2), box[3] - 2))
            start = np.array([cx, cy]) + _MARKER_RADIUS * 0.8 * _unit(np.subtract(near, (cx, cy)))
            leaders.append(ax.transData.inverted().transform(np.array([start, near]) / to_points))
    if leaders:
        ax.add_collection(
            LineCollection(leaders, colors="#777777", linewidths=0.6, zorder=2.5, gid="leaders"),
            autolim=False,
        )
    return [texts[i] for i in range(len(labels))]


def _free_spot(cx, cy, width, height, frame, others) -> tuple[tuple, float]:
    """The nearest box around (cx, cy) inside ``frame`` that covers none of ``others`` (or
    covers least), and how far out it is, in points."""
    best, best_cost = None, np.inf
    for distance, (dx, dy) in _LABEL_SPOTS:
        reach = _MARKER_RADIUS + distance
        if dx and dy:  # diagonals: as far out along each axis as 0.7 of the distance
            left = cx + 0.7 * reach if dx > 0 else cx - 0.7 * reach - width
            bottom = cy + 0.7 * reach if dy > 0 else cy - 0.7 * reach - height
        else:
            left = cx + reach if dx > 0 else cx - reach - width if dx < 0 else cx - width / 2
            bottom = cy + reach if dy > 0 else cy - reach - height if dy < 0 else cy - height / 2
        box = (left, bottom, left + width, bottom + height)
        if box[0] < frame[0] + 2 or box[2] > frame[2] - 2 or box[1] < frame[1] + 2 or box[3] > frame[3] - 2:
            continue
        cost = sum(_overlap(box, other) for other in others)
        if cost == 0:
            return box, distance
        if cost + distance < best_cost:
            best, best_cost = (box, distance), cost + distance
    if best is None:  # no spot inside the axes at all: the nearest one, pulled inside
        left = min(max(cx + _MARKER_RADIUS, frame[0] + 2), frame[2] - 2 - width)
        bottom = min(max(cy - height / 2, frame[1] + 2), frame[3] - 2 - height)
        best = ((left, bottom, left + width, bottom + height), 99)
    return best


def _unit(vector) -> np.ndarray:
    length = float(np.hypot(*vector))
    return np.asarray(vector) / length if length else np.zeros(2)


def _overlap(a, b) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return width * height if width > 0 and height > 0 else 0.0


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
# Drawing and rendering happen together under it: a kept figure (``reuse=True``) is drawn
# into by one caller at a time (the widget's run thread, a report being saved).
_DRAWING = threading.Lock()


def cached_png(key: tuple, draw) -> bytes:
    """PNG bytes of the figure ``draw()`` makes, kept for the last few keys (same results,
    same picture: toggling back to variants already shown does not draw again)."""
    with _DRAWING:
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


# ------------------------------------------------------------------ the lens
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
