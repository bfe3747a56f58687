"""Labels beside their points: each takes the nearest free spot around its point, inside the
axes and off the other labels and markers, with a leader line when it had to move away.
"""

from __future__ import annotations

import numpy as np

from ._lru import LRU

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
        width = _text_width(text, font) + 2
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


#: Label widths in points by (text, font): the live widget places the same labels on every
#: redraw. A FontProperties hashes by all its properties, rcParams' family included.
_WIDTHS: LRU[float] = LRU(512)


def _text_width(text: str, font) -> float:
    from matplotlib.textpath import text_to_path

    return _WIDTHS.get_or_make(
        (text, font), lambda: text_to_path.get_text_width_height_descent(text, font, ismath=False)[0]
    )


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
