"""The widget without a browser: set control values and click, then assert on the controller."""

import base64
import datetime
import re
import time

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench.ui.widgets import Workbench

pytestmark = pytest.mark.slow


@pytest.fixture
def wb():
    """A workbench with the converter's float32 and int8 picked (the tests below add to those)."""
    bench = Workbench(scan_notebook=False)
    bench.controller.settings.latency_budget = 0.05
    for name, button in bench.mode_buttons.items():
        button.value = name in ("float32", "int8")
    yield bench
    bench.controller.cancel()
    bench.controller.wait(60)


def uploaded(name: str, content: bytes) -> tuple:
    """What FileUpload.value holds after the user picks one file."""
    stamp = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    return (
        {
            "name": name,
            "type": "",
            "size": len(content),
            "content": memoryview(content),
            "last_modified": stamp,
        },
    )


def click_and_wait(wb, button=None):
    (button or wb.run_button).click()
    assert wb.controller.wait(300)


def test_defaults_offer_examples_and_builtin_datasets():
    wb = Workbench(scan_notebook=False)
    assert {"digits_cnn", "digits_mlp", "diabetes_mlp"} <= set(wb.model.options)
    assert {"digits", "iris", "diabetes"} <= set(wb.dataset.options)
    assert wb.model.value == "digits_cnn" and wb.dataset.value == "(the model's own)"
    # float32 and the recipes Google recommends; the converter's own modes are a click away.
    assert tuple(n for n, b in wb.mode_buttons.items() if b.value) == workbench.DEFAULT_MODES
    assert set(workbench.MODE_NAMES) | set(workbench.QUANTIZER_MODES) == set(wb.mode_buttons)
    assert wb.representative.max == len(workbench.load_dataset("digits_images").X_train)


def test_run_fills_table_figure_and_details(wb):
    click_and_wait(wb)
    state = wb.controller.state
    assert state.error is None and not state.running
    assert list(wb.controller.table()["variant"]) == ["original", "float32", "int8"]
    assert wb.figure.value[:4] == b"\x89PNG"
    assert "<td>int8</td>" in wb.table.value and 'class="best"' in wb.table.value
    assert wb.progress.value == wb.progress.max == 3
    wb.variant.value = "int8"
    details = wb.details.value
    assert "int8(None, 8, 8, 1)" in details and "TFLITE_BUILTINS_INT8" in details
    payload = re.search(r"base64,([A-Za-z0-9+/=]+)", details).group(1)
    assert base64.b64decode(payload) == state.comparison.variants["int8"].content


def test_the_table_is_shown_before_the_figure_is_drawn(wb):
    shown = []
    wb.table.observe(lambda change: shown.append(("table", change["new"])), names="value")
    wb.figure.observe(lambda change: shown.append(("figure", change["new"])), names="value")
    wb.mode_buttons["int8"].value = False
    click_and_wait(wb)
    assert [name for name, _ in shown] == ["table", "figure"]
    # Both belong to this run: the table lists its variants, the figure is its PNG.
    assert "<td>float32</td>" in shown[0][1] and "<td>int8</td>" not in shown[0][1]
    assert shown[1][1][:8] == b"\x89PNG\r\n\x1a\n" and wb.figure.layout.display == "block"


def test_results_are_cached_and_recalibration_touches_only_calibrated_modes(wb):
    click_and_wait(wb)
    first = wb.controller.state.comparison.variants["float32"]
    wb.mode_buttons["dynamic"].value = True
    click_and_wait(wb)
    assert wb.controller.state.variant_status == {
        "original": "done",
        "float32": "cached",
        "dynamic": "done",
        "int8": "cached",
    }
    assert wb.controller.state.comparison.variants["float32"] is first
    wb.representative.value = 30
    click_and_wait(wb)
    assert wb.controller.state.variant_status["int8"] == "done"
    assert wb.controller.state.variant_status["dynamic"] == "cached"
    assert "30 training samples" in wb.controller.state.comparison.representative


def test_int8_io_choice_changes_the_tensors(wb):
    wb.mode_buttons["float32"].value = False
    wb.int8_io.value = "float32"
    click_and_wait(wb)
    converted = wb.controller.state.comparison.variants["int8 (float32 io)"]
    assert converted.inputs[0].dtype == "float32"


def test_mismatched_pair_is_caught_before_conversion_and_the_widget_recovers(wb):
    wb.model.value = "digits_mlp"
    wb.dataset.value = "iris"
    click_and_wait(wb)
    assert "dataset 'iris' with samples of shape (4,)" in wb.controller.state.error
    assert "Error:" in wb.error.value and "(64,)" in wb.error.value
    assert wb.controller.state.variant_status == {}
    wb.dataset.value = "digits"
    click_and_wait(wb)
    assert wb.error.value == "" and wb.controller.state.error is None
    assert list(wb.controller.table()["variant"]) == ["original", "float32", "int8"]


def test_cancel_stops_between_variants(wb):
    for button in wb.mode_buttons.values():
        button.value = True
    wb.controller.listeners.append(
        lambda event: wb.controller.cancel() if "float16: done" in wb.controller.state.status else None
    )
    click_and_wait(wb)
    state = wb.controller.state
    assert state.comparison.cancelled and state.status.startswith("Cancelled")
    assert list(state.comparison.table["variant"]) == ["original", "float32", "float16"]


def test_live_mode_runs_on_change(wb):
    wb.live.value = True
    assert wb.controller.wait(300)
    assert wb.controller.table() is not None
    wb.mode_buttons["float16"].value = True
    assert wb.controller.wait(300)
    assert "float16" in list(wb.controller.table()["variant"])


def test_uploads_a_tflite_compared_as_is(wb, tmp_path):
    converted = workbench.convert("digits_mlp", "dynamic")
    wb.upload.value = uploaded("mlp-dynamic.tflite", converted.content)
    assert wb.model.value == "mlp-dynamic.tflite"
    wb.dataset.value = "digits"
    click_and_wait(wb)
    table = wb.controller.table()
    assert list(table["variant"]) == ["original"] and table.loc[0, "size_bytes"] == converted.size_bytes
    assert table.loc[0, "accuracy"] > 0.9


def test_csv_upload_asks_for_the_target(wb, digits):
    frame = pd.DataFrame(digits.X_test, columns=digits.feature_names).assign(digit=digits.y_test)
    content = frame.to_csv(index=False).encode()
    wb.upload.value = uploaded("digits.csv", content)
    assert wb.target.layout.display == "flex" and "digit" in wb.target.options
    wb.target.value = "digit"
    assert wb.dataset.value == "digits.csv"
    assert wb.controller.datasets["digits.csv"].n_classes == 10


def test_bad_upload_is_one_clear_message(wb):
    wb.upload.value = uploaded("notes.txt", b"hi")
    assert "notes.txt" in wb.error.value and ".keras, .skops or .tflite" in wb.error.value


def test_models_and_datasets_passed_in_and_found_in_the_notebook(digits_mlp, digits):
    X = np.concatenate([digits.X_train, digits.X_test])
    y = np.concatenate([digits.y_train, digits.y_test])
    from workbench.ui.controller import Controller

    controller = Controller(
        models={"mine": digits_mlp},
        datasets={"pairs": (X, y)},
        namespace={"net": digits_mlp, "x": 3, "_hidden": digits_mlp},
    )
    assert (
        {"mine", "net"} <= set(controller.models)
        and "_hidden" not in controller.models
        and "x" not in controller.models
    )
    assert controller.datasets["pairs"].n_classes == 10
    controller.settings.latency_budget = 0.05
    controller.update(model="net", dataset="pairs", modes=("float32",))
    controller.run(wait=True)
    assert controller.state.error is None
    assert controller.table().loc[1, "agreement"] == 1.0


def test_static_copy_for_readers_without_a_kernel(wb):
    before = wb._bundle()
    assert "application/vnd.jupyter.widget-view+json" in before and "run the notebook" in before["text/html"]
    click_and_wait(wb)
    after = wb._bundle()
    assert "<td>int8</td>" in after["text/html"] and "data:image/png;base64," in after["text/html"]


def test_keep_float_adds_a_mixed_precision_row_and_diagnose_tab_explains_int8(wb):
    wb.keep_float.value = 1
    click_and_wait(wb)
    table = wb.controller.table()
    assert list(table["variant"]) == ["original", "float32", "int8", "int8+float(1 layer)"]
    assert table.iloc[3]["size_bytes"] > table.iloc[2]["size_bytes"]
    wb.diagnose_mode.value = "int8"
    wb.diagnose_button.click()
    deadline = time.monotonic() + 300
    while (wb.controller.state.diagnosing or wb.diagnose_button.disabled) and time.monotonic() < deadline:
        time.sleep(0.2)
    diagnosis = wb.controller.state.diagnosis
    assert isinstance(diagnosis, workbench.Diagnosis)
    assert "Quantization error is largest in" in wb.diagnosis.value
    assert wb.diagnosis_figure.value[:4] == b"\x89PNG" and wb.diagnosis_figure.layout.display == "block"


def test_a_recipe_variant_offers_its_recipe_as_the_library_loads_it(wb):
    import json

    wb.mode_buttons["weight_only_wi4_afp32"].value = True
    click_and_wait(wb)
    wb.variant.value = "weight_only_wi4_afp32"
    details = wb.details.value
    assert "LiteRT Quantizer code for this variant" in details and "recipe.weight_only_wi4_afp32()" in details
    payload = re.search(r'href="data:application/json;base64,([A-Za-z0-9+/=]+)"', details).group(1)
    recipe = json.loads(base64.b64decode(payload))
    assert recipe == wb.controller.state.comparison.variants["weight_only_wi4_afp32"].recipe
    assert recipe[0]["op_config"]["weight_tensor_config"]["num_bits"] == 4


def test_a_model_with_two_heads_gets_a_choice_of_the_scored_one(digits):
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((64,))
    hidden = keras.layers.Dense(16, activation="relu")(inputs)
    model = keras.Model(
        inputs,
        [
            keras.layers.Dense(1, name="ink")(hidden),
            keras.layers.Dense(10, activation="softmax", name="digit")(hidden),
        ],
    )
    wb = Workbench(models={"two heads": model}, datasets={"digits": digits}, scan_notebook=False)
    wb.controller.settings.latency_budget = 0.05
    for name, button in wb.mode_buttons.items():
        button.value = name == "float32"
    wb.model.value = "two heads"
    wb.dataset.value = "digits"
    assert wb.output.layout.display == "flex" and list(wb.output.options) == ["ink", "digit"]
    wb.output.value = "digit"  # the head the digits dataset scores
    click_and_wait(wb)
    assert wb.controller.state.error is None
    table = wb.controller.table().set_index("variant")
    assert table.loc["float32", "agreement"] == 1.0 and "agreement[ink]" in table.columns


def test_the_lens_tab_orders_layers_by_error_and_redraws_when_the_calibration_changes(wb):
    for name, button in wb.mode_buttons.items():
        button.value = name in ("float32", "float16", "static_wi8_ai8")
    click_and_wait(wb)
    c = wb.controller
    # float32 and float16 have no integer grid: the lens offers the quantized variant only.
    assert list(wb.lens_variant.options) == ["static_wi8_ai8"] and wb.lens_variant.value == "static_wi8_ai8"
    errors = workbench.layer_errors(c.state.comparison, "static_wi8_ai8")
    assert list(wb.lens_layer.options) == list(errors["layer"])
    assert wb.lens_layer.value == errors["layer"].iloc[0]
    assert wb.lens_figure.value[:8] == b"\x89PNG\r\n\x1a\n"
    wb.lens_layer.value = "dense"
    before = c.lens("static_wi8_ai8", "dense")
    assert wb.lens_figure.value == before.png()
    assert f"{before.numbers['activation scale']:.6g}" in wb.lens_table.value
    # Ten calibration samples instead of 200: another range, drawn without touching the tab.
    wb.representative.value = 10
    click_and_wait(wb)
    after = c.lens("static_wi8_ai8", "dense")
    assert len(after.activations["calibration"]) == 10 and len(before.activations["calibration"]) == 200
    assert after.numbers["activation scale"] != before.numbers["activation scale"]
    assert wb.lens_layer.value == "dense" and wb.lens_figure.value == after.png()
    assert f"{after.numbers['activation scale']:.6g}" in wb.lens_table.value
    # Every other layer is drawn in the background, so picking it is answered from the cache.
    c.warm_lens("static_wi8_ai8").join(120)
    drawn = len(c._lenses)
    wb.lens_layer.value = "conv2d_1"
    assert len(c._lenses) == drawn and wb.lens_figure.value == c.lens("static_wi8_ai8", "conv2d_1").png()
    wb.lens_layer.value = "dense"
    # Back to 200: the lens drawn before is the one shown, from the cache.
    wb.representative.value = 200
    click_and_wait(wb)
    assert c.lens("static_wi8_ai8", "dense") is before and wb.lens_figure.value == before.png()
    # The report keeps the lens the tab showed, not those drawn ahead in the background.
    assert set(c.state.comparison.lenses) == {("static_wi8_ai8", "dense")}


def test_find_best_searches_the_picked_model_for_the_device_and_shows_the_winner():
    bench = Workbench(scan_notebook=False)
    bench.model.value = "digits_mlp"
    bench.device.value = "cortex-m4"
    bench.find_drop.value = 0.01
    bench.find_button.click()
    thread = bench.controller._find_thread
    assert bench.find_button.disabled  # one search at a time
    thread.join(600)
    state = bench.controller.find_state
    assert state.error is None, state.error
    result = state.result
    assert result.recommended is not None
    winner = result.table.set_index("variant").loc[result.recommended]
    assert winner["fits"] is True and winner["metric_delta"] >= -0.01
    # The bar counted every candidate; the tab shows the winner, its code and the figure.
    assert bench.find_progress.value == bench.find_progress.max == state.total == len(result.table) - 1
    assert result.recommended in bench.find_result.value and "litert_quantizer" in bench.find_result.value
    assert bench.find_figure.layout.display == "block" and not bench.find_button.disabled


def test_find_best_with_a_budget_beyond_the_device_says_so_and_starts_nothing():
    bench = Workbench(scan_notebook=False)
    bench.device.value = "cortex-m4"
    bench.find_flash.value = "8MB"
    bench.find_button.click()
    assert "which has 1 MB" in bench.find_result.value
    assert bench.controller._find_thread is None and not bench.find_button.disabled


def test_the_ranges_control_remakes_only_static_recipes_with_the_statistic_picked(wb):
    for name, button in wb.mode_buttons.items():
        button.value = name in ("int8", "static_wi8_ai8", "dynamic_wi8_afp32")
    click_and_wait(wb)
    table = wb.controller.table().set_index("variant")
    assert table.loc["static_wi8_ai8", "calibration"] == "minmax"
    assert table.loc["int8", "calibration"] == "minmax (the converter's own)"
    wb.calibration.value = "ema"
    click_and_wait(wb)
    status = wb.controller.state.variant_status
    assert status["static_wi8_ai8"] == "done"
    assert status["dynamic_wi8_afp32"] == status["int8"] == "cached"  # the converter takes no statistic
    table = wb.controller.table().set_index("variant")
    assert table.loc["static_wi8_ai8", "calibration"].startswith("ema")
    with pytest.raises(workbench.InvalidArgumentError, match="minmax"):
        wb.controller.update(calibration="median")


def test_data_with_missing_values_gives_calibrated_rows_a_reason_and_measures_the_rest():
    from sklearn.datasets import load_iris
    from sklearn.ensemble import HistGradientBoostingClassifier

    from workbench.ui.controller import Controller

    X, y = load_iris(return_X_y=True)
    X = X.copy()
    X[np.random.default_rng(0).random(X.shape) < 0.1] = np.nan
    data = workbench.Dataset.from_arrays(X, y, allow_missing=True, name="iris with holes")
    model = HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(data.X_train, data.y_train)
    before = model.predict_proba(data.X_test)
    controller = Controller(models={"hgb": model}, datasets={"holes": data})
    controller.settings.latency_budget = 0.05
    controller.update(model="hgb", dataset="holes", modes=("float32", "static_wi8_ai8"))
    controller.run(wait=True)
    assert controller.state.error is None  # the run went on
    table = controller.table().set_index("variant")
    assert table.loc["float32", "error"] == ""
    assert table.loc["float32", "accuracy"] == pytest.approx(
        np.mean(model.predict(data.X_test) == data.y_test), abs=1e-9
    )
    assert "does not apply" in table.loc["static_wi8_ai8", "error"]
    assert np.array_equal(model.predict_proba(data.X_test), before)  # the estimator is untouched
