"""What every figure of the package shares: a figure pyplot does not keep, its PNG bytes (and
a cache of them), the colours, and the log-scaled cost axis with its budget and Pareto lines.
"""

from __future__ import annotations

import threading

import numpy as np

from ._lru import LRU

ORIGINAL_COLOR = "#444444"
VARIANT_COLOR = "#1f77b4"
PARETO_COLOR = "#d62728"
MISFIT_COLOR = "#bbbbbb"
BUDGET_COLOR = "#2ca02c"

#: PNGs by the key their caller gives (same results, same picture).
PNG_CACHE: LRU[bytes] = LRU(64)
# Drawing and rendering happen together under it: a kept figure (``reuse=True``) is drawn
# into by one caller at a time (the widget's run thread, a report being saved).
_DRAWING = threading.Lock()


def new_figure(figsize, layout="constrained"):
    """A figure that notebooks display as an image, without pyplot keeping or re-showing it.

    Made through pyplot so that, in a Jupyter kernel, the inline backend registers its
    image formatter for figures; closed at once so pyplot forgets it.
    """
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=figsize, layout=layout)
    plt.close(figure)
    return figure


def figure_png(figure, dpi: int = 110) -> bytes:
    """Render a figure to PNG bytes.

    zlib's fastest level: the same pixels, and for these flat-coloured figures a file within a
    few per cent of the default level's, in about half the encoding time (the live widget
    encodes one on every change; ``benchmarks/live_loop.py``).
    """
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def cached_png(key: tuple, draw) -> bytes:
    """PNG bytes of the figure ``draw()`` makes, kept for the last few keys (same results,
    same picture: toggling back to variants already shown does not draw again)."""
    with _DRAWING:
        return PNG_CACHE.get_or_make(key, lambda: figure_png(draw()))


def cost_axis(ax, xlabel: str) -> None:
    """A log-scaled x axis of sizes or latencies, ticked 1-2-5 with plain numbers."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_locator(NullLocator())  # the 1-2-5 grid says enough, and draws fast
    ax.set_xlabel(xlabel)
    ax.grid(True, which="major", alpha=0.3)


def pareto_line(ax, front, column: str, factor: float, metric: str) -> None:
    """The Pareto front's rows joined by a dashed red line, in order of ``column``."""
    front = front.sort_values(column)
    if len(front) > 1:
        ax.plot(front[column] * factor, front[metric], color=PARETO_COLOR, lw=1, ls="--", zorder=2)


def budget_line(ax, x, name):
    """A budget as a green vertical line named at its top, kept inside the x limits."""
    if not np.isfinite(x):
        return
    ax.axvline(x, color=BUDGET_COLOR, lw=1.5, ls=":", zorder=1)
    ax.annotate(
        name, (x, 1), xycoords=("data", "axes fraction"), xytext=(-3, -4), textcoords="offset points",
        rotation=90, ha="right", va="top", fontsize=8, color=BUDGET_COLOR,
    )  # fmt: skip
    low, high = ax.get_xlim()
    ax.set_xlim(min(low, x / 1.6), max(high, x * 1.6))
