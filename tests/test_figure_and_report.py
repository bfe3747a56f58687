"""The trade-off figure and the report tell the truth at a glance: labels beside their points
and inside the axes, each panel's own Pareto front, no trivial "best", a table that fits,
speedup against the float32 .tflite."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

import workbench
from workbench.plots import figure_png, tradeoff_figure
from workbench.report import table_html

pytestmark = pytest.mark.slow

RED = (214 / 255, 39 / 255, 40 / 255)  # the figure's Pareto colour, #d62728


@pytest.fixture(scope="module")
def crowded(digits_cnn, digits_images):
    """Twelve variants, several at nearly the same size and accuracy: labels must make room."""
    modes = [*workbench.MODE_NAMES, *workbench.QUANTIZER_MODES[:4], "weight_only_wi8_afp32", "static_wi8_ai8"]
    return workbench.compare(digits_cnn, digits_images, modes=modes, latency_budget=0.05, progress=False)


def drawn(comparison):
    figure = comparison.plot()
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return figure, canvas.get_renderer()


def test_every_label_lies_inside_its_axes_and_beside_its_point(crowded):
    figure, renderer = drawn(crowded)
    names = set(crowded.table["variant"]) | {"original (keras)"}
    for ax in figure.axes:
        frame = ax.get_window_extent(renderer)
        labels = [t for t in ax.texts if t.get_text() in names]
        assert len(labels) == len(crowded.table)
        # Leader lines, in pixels: each from a point towards its label.
        leaders = [c for c in ax.collections if c.get_gid() == "leaders"]
        segments = [ax.transData.transform(s) for c in leaders for s in c.get_segments()]
        boxes = []
        for label in labels:
            box = label.get_window_extent(renderer)
            assert frame.x0 <= box.x0 and box.x1 <= frame.x1, label.get_text()
            assert frame.y0 <= box.y0 and box.y1 <= frame.y1, label.get_text()
            # Beside its point, or joined to it by a leader line that ends at the label.
            point = ax.transData.transform(label.get_position())
            gap = max(box.x0 - point[0], point[0] - box.x1, box.y0 - point[1], point[1] - box.y1, 0)
            near = 20 * figure.dpi / 72
            joined = any(
                np.hypot(*(start - point)) < near
                and box.x0 - 3 <= end[0] <= box.x1 + 3
                and box.y0 - 3 <= end[1] <= box.y1 + 3
                for start, end in segments
            )
            assert gap <= near or joined, label.get_text()
            boxes.append(box)
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                overlap_w = min(a.x1, b.x1) - max(a.x0, b.x0)
                overlap_h = min(a.y1, b.y1) - max(a.y0, b.y0)
                assert overlap_w <= 1 or overlap_h <= 1, "two labels overlap"


def test_a_kept_figure_draws_the_same_picture_as_a_new_one(crowded, cnn_comparison):
    fresh = figure_png(tradeoff_figure(crowded))
    figure_png(tradeoff_figure(cnn_comparison, reuse=True))  # something else drawn in it first
    assert figure_png(tradeoff_figure(crowded, reuse=True)) == fresh


def front_of(points: list[tuple[str, float, float]]) -> set[str]:
    """Oracle: the variants no other beats on both cost (lower) and accuracy (higher)."""
    return {
        name
        for name, cost, score in points
        if not any(c <= cost and s >= score and (c < cost or s > score) for _, c, s in points)
    }


def test_each_panel_marks_the_pareto_front_of_its_own_two_axes(crowded):
    figure, _ = drawn(crowded)
    table = crowded.table[(crowded.table["error"] == "") & (crowded.table["variant"] != "original")]
    for ax, column, factor in zip(
        figure.axes, ("size_bytes", "latency_ms_p50"), (1 / 1024, 1.0), strict=True
    ):
        expected = front_of([(r.variant, r[column], r.accuracy) for _, r in table.iterrows()])
        red = set()
        for collection in ax.collections:
            colours = collection.get_facecolors()
            for k, (x, y) in enumerate(collection.get_offsets()):
                if len(colours) and np.allclose(colours[k % len(colours)][:3], RED, atol=0.01):
                    near = table[np.isclose(table[column] * factor, x) & np.isclose(table["accuracy"], y)]
                    red |= set(near["variant"])
        assert red == expected, column


def test_speedup_is_against_the_float32_tflite(crowded):
    table = crowded.table.set_index("variant")
    float32 = table.loc["float32", "latency_ms_p50"]
    assert table.loc["float32", "speedup"] == 1.0
    expected = float32 / table["latency_ms_p50"]
    np.testing.assert_allclose(table["speedup"], expected)
    # Keras's own call, kept under its own name.
    expected_keras = table.loc["original", "latency_ms_p50"] / table["latency_ms_p50"]
    np.testing.assert_allclose(table["speedup_vs_original"], expected_keras, rtol=1e-9)


def cells(html_table: str) -> tuple[list[str], list[list[str]]]:
    head = re.findall(r"<th>(.*?)</th>", html_table.split("</thead>")[0])
    rows = [re.findall(r"<td[^>]*>.*?</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", html_table)[1:]]
    return head, rows


def test_report_table_shows_few_columns_and_no_trivial_best(crowded):
    html = table_html(crowded.table)
    compact, _, rest = html.partition("<details>")
    head, rows = cells(compact)
    assert {"speedup", "latency_ms_p50", "agreement", "size_bytes"} <= set(head)
    assert len(head) <= 10
    hidden = set(crowded.table.columns) - set(head) - {"mode", "error", "note"}  # shown only when not empty
    assert hidden and all(column in rest for column in hidden)
    original = dict(zip(head, rows[0], strict=True))
    for column in ("agreement", "max_abs_diff"):
        assert 'class="best"' not in original[column], column
    # The best agreement among the variants is still marked.
    assert any('class="best"' in dict(zip(head, row, strict=True))["agreement"] for row in rows[1:])


def test_report_saves_what_its_code_loads(crowded, tmp_path):
    crowded.save(tmp_path / "report")
    samples = np.load(tmp_path / "report" / "calibration_samples.npy")
    np.testing.assert_array_equal(samples, np.asarray(crowded.calibration, dtype=np.float32))
    page = (tmp_path / "report" / "report.html").read_text()
    assert "calibration_samples = np.load(&#x27;calibration_samples.npy&#x27;)" in page
    assert pd.read_csv(tmp_path / "report" / "results.csv")["speedup"].notna().all()
