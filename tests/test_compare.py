"""compare(): the table, the plot and the report, on real conversions."""

import base64
import re
import threading

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench import MODE_NAMES, DataMismatchError, Dataset, DatasetError

pytestmark = pytest.mark.slow

COLUMNS = [
    "variant", "size_bytes", "size_ratio", "accuracy", "metric_delta", "agreement", "max_abs_diff",
    "latency_ms_p50", "latency_ms_p90", "batch_latency_ms", "speedup", "convert_s",
]  # fmt: skip


def test_table_has_the_original_and_every_mode(cnn_comparison):
    table = cnn_comparison.table
    assert list(table["variant"]) == ["original", *MODE_NAMES]
    assert set(COLUMNS) <= set(table.columns)
    original = table.iloc[0]
    assert original["size_ratio"] == 1.0 and original["agreement"] == 1.0
    assert original["speedup_vs_original"] == 1.0 and table.iloc[1]["speedup"] == 1.0  # float32
    assert (table["error"] == "").all()


def test_table_values_are_measured_not_assumed(cnn_comparison, digits_images, digits_cnn):
    table = cnn_comparison.table.set_index("variant")
    reference = np.asarray(digits_cnn(digits_images.X_test, training=False))
    accuracy = np.mean(reference.argmax(1) == digits_images.y_test)
    assert table.loc["original", "accuracy"] == pytest.approx(accuracy)
    assert table.loc["float32", "agreement"] == 1.0 and table.loc["float32", "max_abs_diff"] <= 1e-5
    int8 = cnn_comparison.variants["int8"]
    assert table.loc["int8", "size_bytes"] == int8.size_bytes
    assert table.loc["int8", "size_ratio"] == pytest.approx(
        int8.size_bytes / table.loc["original", "size_bytes"]
    )
    assert table.loc["int8", "metric_delta"] == pytest.approx(table.loc["int8", "accuracy"] - accuracy)
    assert (table["latency_ms_p90"] >= table["latency_ms_p50"]).all()
    assert (table["latency_ms_p50"] > 0).all() and (table.loc[list(MODE_NAMES), "convert_s"] > 0).all()
    assert table.loc["int8", "max_abs_diff"] > table.loc["float32", "max_abs_diff"]


def test_plot_shows_metric_against_size_and_latency(cnn_comparison):
    figure = cnn_comparison.plot()
    left, right = figure.axes
    assert "size" in left.get_xlabel() and "latency" in right.get_xlabel()
    texts = {t.get_text() for t in left.texts}
    assert {"original (keras)", *MODE_NAMES} <= texts
    pareto = cnn_comparison.pareto()
    assert pareto and set(pareto) <= set(MODE_NAMES)


def test_pareto_variants_are_not_dominated(cnn_comparison):
    table = cnn_comparison.table.set_index("variant").drop("original")
    pareto = cnn_comparison.pareto()
    for name, row in table.iterrows():
        no_worse = (
            (table["accuracy"] >= row["accuracy"])
            & (table["size_bytes"] <= row["size_bytes"])
            & (table["latency_ms_p50"] <= row["latency_ms_p50"])
        )
        some_better = (
            (table["accuracy"] > row["accuracy"])
            | (table["size_bytes"] < row["size_bytes"])
            | (table["latency_ms_p50"] < row["latency_ms_p50"])
        )
        dominated = bool((no_worse & some_better).any())
        assert (name in pareto) == (not dominated), name
    smallest = table["size_bytes"].idxmin()
    if table.loc[smallest, "accuracy"] == table["accuracy"].max():
        assert smallest in pareto


def test_save_writes_a_report_readable_without_a_kernel(cnn_comparison, tmp_path):
    path = cnn_comparison.save(tmp_path / "report")
    html = (tmp_path / "report" / "report.html").read_text()
    assert path.endswith("report.html")
    png = re.search(r'src="data:image/png;base64,([^"]+)"', html).group(1)
    assert base64.b64decode(png)[:8] == b"\x89PNG\r\n\x1a\n"
    for mode in MODE_NAMES:
        assert f"<td>{mode}</td>" in html
        assert (tmp_path / "report" / f"digits_cnn-{mode}.tflite").stat().st_size == cnn_comparison.variants[
            mode
        ].size_bytes
    csv = pd.read_csv(tmp_path / "report" / "results.csv")
    assert list(csv["variant"]) == list(cnn_comparison.table["variant"])
    assert (tmp_path / "report" / "tradeoff.png").read_bytes()[:4] == b"\x89PNG"
    assert "converter.target_spec.supported_types = [tf.float16]" in html


def test_regression_reports_r2(diabetes_mlp, diabetes):
    result = workbench.compare(
        diabetes_mlp, diabetes, modes=["float32", "int8"], latency_budget=0.1, progress=False
    )
    table = result.table.set_index("variant")
    assert "r2" in table.columns and "accuracy" not in table.columns
    assert table.loc["original", "r2"] > 0.2
    assert table.loc["float32", "agreement"] == 1.0
    assert abs(table.loc["int8", "metric_delta"]) < 0.1


def test_example_name_brings_its_dataset_and_reshapes(digits):
    steps = []
    result = workbench.compare(
        "digits_cnn", digits, modes=["float32"], latency_budget=0.05, progress=lambda *a: steps.append(a)
    )
    assert any("reshaped" in note for note in result.notes)
    assert steps[0][:2] == (0, 2) and steps[-1] == (2, 2, "done")
    assert (
        workbench.compare("digits_mlp", modes=["float32"], latency_budget=0.05, progress=False).dataset.name
        == "digits"
    )


def test_cancel_stops_between_variants(digits_mlp, digits):
    cancel = threading.Event()

    def progress(done, total, message):
        if message.startswith("float16"):
            cancel.set()

    result = workbench.compare(
        digits_mlp,
        digits,
        modes=["float32", "float16", "dynamic"],
        latency_budget=0.05,
        progress=progress,
        cancel=cancel,
    )
    assert result.cancelled
    assert list(result.table["variant"]) == ["original", "float32", "float16"]


def test_labels_that_do_not_match_the_model(digits_mlp, digits):
    X = np.concatenate([digits.X_train, digits.X_test])
    y = np.concatenate([digits.y_train, digits.y_test])
    # Labels that are some of the model's class indices are a smaller test set, said in a note.
    three_classes = Dataset.from_arrays(X, y % 3)
    result = workbench.compare(
        digits_mlp, three_classes, modes=["float32"], progress=False, latency_budget=0.02
    )
    assert any("cover 3 of the model's 10 classes" in note for note in result.notes)
    # More classes than the model has outputs cannot be read from it.
    twelve = Dataset.from_arrays(X, np.where(np.arange(len(y)) % 50 == 0, 10 + y % 2, y))
    with pytest.raises(DataMismatchError, match="10 outputs per sample") as info:
        workbench.compare(digits_mlp, twelve, modes=["float32"], progress=False)
    assert "12 outputs" in str(info.value)


def test_dataset_that_does_not_fit_the_input(digits_mlp):
    with pytest.raises(DatasetError, match=r"dataset .iris. with samples of shape \(4,\)"):
        workbench.compare(digits_mlp, "iris", modes=["float32"], progress=False)
    with pytest.raises(DatasetError, match="dataset=None"):
        workbench.compare(digits_mlp, modes=["float32"], progress=False)


def test_a_failing_mode_is_reported_and_the_others_still_run(digits_mlp, digits):
    from workbench.modes import Mode

    # int16 I/O on the int16x8 mode asks the converter for something it refuses for this model
    # only if it does; either way the table must hold a row per requested mode.
    result = workbench.compare(
        digits_mlp,
        digits,
        modes=["float32", Mode("int16x8", io="int16")],
        latency_budget=0.05,
        progress=False,
    )
    assert list(result.table["variant"]) == ["original", "float32", "int16x8 (int16 io)"]
    row = result.table.iloc[2]
    assert row["error"] == "" or "converter error" in row["error"]


def test_latency_takes_one_timed_call_when_one_call_exceeds_the_budget():
    from workbench.evaluate import measure_latency

    calls = {"one": 0, "batch": 0}
    work = np.random.default_rng(0).standard_normal(20_000)

    def call(kind):
        def run(x):
            calls[kind] += 1
            np.sort(work)  # real work: a call never takes zero seconds

        return run

    # a budget no call fits in: one warm-up call, then one timed call of each kind
    latency = measure_latency(call("one"), call("batch"), work[:1], work[:8], budget_s=0.0)
    assert calls == {"one": 2, "batch": 2}
    assert latency.repeats == 1 and latency.batch_size == 8 and latency.p50_ms > 0
    # a budget that holds them: the usual warm-ups and at least the minimum repeats
    calls.update(one=0, batch=0)
    latency = measure_latency(
        call("one"), call("batch"), work[:1], work[:8], budget_s=10.0, min_repeats=4, max_repeats=4
    )
    assert calls == {"one": 5 + 4, "batch": 2 + 4} and latency.repeats == 4
