"""Activation ranges computed the workbench's way (min/max over every sample by default), the
library's moving average by name, a percentile on request, and losses explained from the file."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import r2_score
from test_every_path import _keras_sine, oracle_outputs

import workbench
from workbench import Calibration, InvalidArgumentError
from workbench.convert import converter_runs

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sine():
    return _keras_sine()


def _output_range(content: bytes, name: str) -> tuple[float, float]:
    """The real range an int8/int16 output can hold, read with a bare interpreter."""
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_content=content).get_signature_runner()
    detail = runner.get_output_details()[name]
    scale = float(detail["quantization_parameters"]["scales"][0])
    zero = int(detail["quantization_parameters"]["zero_points"][0])
    info = np.iinfo(detail["dtype"])
    return scale * (info.min - zero), scale * (info.max - zero)


def test_a_one_value_output_keeps_its_range_and_the_moving_average_is_explained(sine):
    model, data = sine
    keras_out = model.predict(data.X_train[:200], verbose=0)
    minmax = workbench.compare(
        model, data, modes=["int8", "static_wi8_ai8"], latency_budget=0.02, progress=False
    ).table.set_index("variant")
    ema = workbench.compare(
        model, data, modes=["int8", "static_wi8_ai8"], latency_budget=0.02, progress=False, calibration="ema"
    )
    table = ema.table.set_index("variant")
    # The library's moving average collapses a one-value tensor; the row says where, computed.
    assert table.loc["static_wi8_ai8", "r2"] < 0.5
    assert "degenerate range" in table.loc["static_wi8_ai8", "note"]
    assert "The converter's int8 of the same model" in table.loc["static_wi8_ai8", "note"]
    assert table.loc["static_wi8_ai8", "calibration"].startswith("ema")
    low, high = _output_range(ema.variants["static_wi8_ai8"].content, "output_0")
    assert high - low < 0.5 * np.ptp(keras_out)  # narrowed: it cannot hold what Keras outputs
    # min/max over every sample: as good as the converter's int8, and nothing to explain.
    assert minmax.loc["static_wi8_ai8", "r2"] >= minmax.loc["int8", "r2"] - 0.01
    assert minmax.loc["static_wi8_ai8", "note"] == ""
    assert minmax.loc["static_wi8_ai8", "calibration"] == "minmax"
    assert minmax.loc["int8", "calibration"] == "minmax (the converter's own)"


def test_minmax_covers_what_calibration_saw_and_a_percentile_narrows_it(sine):
    model, data = sine
    samples = data.representative(200)
    outputs = model.predict(samples, verbose=0)
    made = {
        c: workbench.convert(model, "static_wi8_ai8", samples, calibration=c)
        for c in ("minmax", ("percentile", 90.0))
    }
    low, high = _output_range(made["minmax"].content, "output_0")
    step = (high - low) / 255
    assert low <= outputs.min() + step and high >= outputs.max() - step
    p_low, p_high = _output_range(made[("percentile", 90.0)].content, "output_0")
    assert p_high - p_low < high - low
    assert made[("percentile", 90.0)].calibration == "percentile 90"


def test_a_regressor_loses_nothing_with_minmax_where_the_moving_average_clips(diabetes):
    estimator = LinearRegression().fit(diabetes.X_train, diabetes.y_train)
    samples = diabetes.representative(200)
    truth = r2_score(diabetes.y_test, estimator.predict(diabetes.X_test))
    scores = {}
    for statistic in ("minmax", "ema"):
        variant = workbench.convert(estimator, "static_wi8_ai8", samples, calibration=statistic)
        scores[statistic] = r2_score(
            diabetes.y_test, oracle_outputs(variant.content, diabetes.X_test, "predict").ravel()
        )
    assert scores["minmax"] == pytest.approx(truth, abs=0.01)
    assert scores["ema"] < truth - 0.05


def test_a_classifiers_static_variant_reads_its_outputs_by_name(digits):
    estimator = LogisticRegression(max_iter=3000).fit(digits.X_train, digits.y_train)
    variant = workbench.convert(estimator, "static_wi8_ai8", digits.representative(200))
    assert variant.output_names == ("predict", "predict_proba", "decision_function")
    # Every signature output is a tensor the file returns (none left at an intermediate).
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=variant.content)
    returned = {d["index"] for d in interpreter.get_output_details()}
    named = interpreter.get_signature_runner().get_output_details()
    assert {d["index"] for d in named.values()} == returned
    labels = oracle_outputs(variant.content, digits.X_test, "predict").ravel()
    assert np.mean(labels == estimator.predict(digits.X_test)) > 0.95
    assert variant.predict_proba(digits.X_test).shape == (len(digits.X_test), 10)
    assert variant.decision_function(digits.X_test).shape == (len(digits.X_test), 10)


@pytest.mark.parametrize("statistic", ["minmax", "ema", ("percentile", 99.0)])
def test_the_printed_code_calibrates_as_the_variant_did(
    digits_cnn, digits_images, tmp_path, monkeypatch, statistic
):
    from workbench.sources import as_source

    samples = digits_images.representative(100)
    ours = workbench.convert(digits_cnn, "static_wi8_ai8", samples, calibration=statistic)
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "samples.npy", samples)
    code = workbench.Mode("static_wi8_ai8").snippet(
        saved_model_dir=as_source(digits_cnn).spec()[1],
        calibration_samples="samples.npy",
        calibration=statistic,
    )
    exec(compile(code, "<snippet>", "exec"), {})
    made = workbench.Converted((tmp_path / "model-static_wi8_ai8.tflite").read_bytes())
    X = digits_images.X_test[:200]
    np.testing.assert_array_equal(made.invoke_raw(X[:1]), ours.invoke_raw(X[:1]))
    np.testing.assert_array_equal(made.run(X), ours.run(X))


@pytest.mark.parametrize(
    "bad",
    ["median", "percentile:abc", ("percentile", 40), ("percentile", 101), ("percentile", float("nan")), 3],
)
def test_a_bad_calibration_is_refused_before_any_work(digits_mlp, digits, bad):
    before = sum(converter_runs.values())
    for call in (
        lambda: workbench.convert(digits_mlp, "static_wi8_ai8", digits, calibration=bad),
        lambda: workbench.compare(digits_mlp, digits, calibration=bad, progress=False),
        lambda: workbench.sweep(digits_mlp, digits, calibration=bad, progress=False),
        lambda: workbench.search(digits_mlp, digits, calibration=bad, progress=False),
        lambda: workbench.keep_float(digits_mlp, "static_wi8_ai8", digits, calibration=bad),
    ):
        with pytest.raises(InvalidArgumentError) as info:
            call()
        message = str(info.value)
        assert "minmax" in message or "percentile" in message, message
    assert sum(converter_runs.values()) == before


def test_the_converter_takes_no_other_statistic(digits_mlp, digits):
    with pytest.raises(InvalidArgumentError, match="converter calibrates with its own"):
        workbench.convert(digits_mlp, "int8", digits, calibration="percentile")
    assert workbench.convert(digits_mlp, "int8", digits, calibration="minmax").calibration.startswith(
        "minmax"
    )


def test_calibration_names_round_trip():
    for value in ("minmax", "ema", "percentile", "percentile:99.9", ("percentile", 95)):
        chosen = Calibration.of(value)
        assert Calibration.of(chosen.label) == chosen


def test_a_float32_autoencoder_agrees_with_keras_everywhere(digits):
    import keras

    keras.utils.set_random_seed(0)
    X = digits.X_train / 16
    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(64)]
    )
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, X, epochs=5, verbose=0)
    data = workbench.Dataset.from_arrays(np.concatenate([X, digits.X_test / 16]), reconstruction=True)
    row = workbench.compare(model, data, modes=["float32"], progress=False, latency_budget=0.02).table.iloc[1]
    # Differences are float rounding (outputs near zero included): every sample agrees.
    assert 0 < row["max_abs_diff"] < 1e-4
    assert row["agreement"] == 1.0


def test_the_lens_names_the_statistic_and_the_study_compares_them(digits_mlp, digits):
    result = workbench.compare(
        digits_mlp, digits, modes=["static_wi8_ai8"], progress=False, latency_budget=0.02
    )
    lens = workbench.lens(result, "static_wi8_ai8")
    assert lens.table.loc["range statistic", "value"] == "minmax"
    study = workbench.calibration_lens(
        result, "static_wi8_ai8", sizes=(200,), strategies=("random",), statistics=("minmax", "ema")
    )
    table = study.table.set_index("statistic")
    assert set(table.index) == {"minmax", "ema 0.95 (LiteRT Quantizer's default)"}
    ema = table.loc["ema 0.95 (LiteRT Quantizer's default)"]
    # The moving average stays inside what calibration saw; min/max covers it.
    assert table.loc["minmax", "range_max"] >= table.loc["minmax", "seen_max"] - table.loc["minmax", "scale"]
    assert ema["range_max"] < table.loc["minmax", "range_max"]
    study.plot()
