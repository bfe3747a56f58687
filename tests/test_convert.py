"""Real conversions of the Keras examples in every mode, run on the real LiteRT interpreter."""

import os
import pickle

import numpy as np
import pytest

import workbench
from workbench import (
    MODE_NAMES,
    ConversionError,
    DataMismatchError,
    ModelLoadError,
    RepresentativeDataError,
    UnsupportedOpsError,
)

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("mode", MODE_NAMES)
def test_every_mode_converts_both_examples_and_predicts_the_whole_test_split(
    mode, cnn_variants, mlp_variants, digits, digits_images, digits_cnn, digits_mlp
):
    for variants, data, model in (
        (cnn_variants, digits_images, digits_cnn),
        (mlp_variants, digits, digits_mlp),
    ):
        converted = variants[mode]
        outputs = converted.predict(data.X_test)
        assert outputs.shape == (len(data.X_test), 10)
        assert np.isfinite(outputs).all()
        reference = np.asarray(model(data.X_test, training=False))
        agreement = np.mean(outputs.argmax(1) == reference.argmax(1))
        # Every mode keeps nearly every label of these small, well-conditioned models.
        assert agreement >= 0.97, (mode, agreement)


@pytest.mark.parametrize("example", ["cnn", "mlp"])
def test_float32_is_faithful_to_the_original(
    example, cnn_variants, mlp_variants, digits, digits_images, digits_cnn, digits_mlp
):
    variants, data, model = {
        "cnn": (cnn_variants, digits_images, digits_cnn),
        "mlp": (mlp_variants, digits, digits_mlp),
    }[example]
    outputs = variants["float32"].predict(data.X_test)
    reference = np.asarray(model(data.X_test, training=False))
    np.testing.assert_array_equal(outputs.argmax(1), reference.argmax(1))
    assert np.abs(outputs - reference).max() <= 1e-5


@pytest.mark.parametrize("example", ["cnn", "mlp"])
def test_int8_is_at_most_035_of_float32(example, cnn_variants, mlp_variants):
    variants = cnn_variants if example == "cnn" else mlp_variants
    assert variants["int8"].size_bytes <= 0.35 * variants["float32"].size_bytes
    assert variants["float16"].size_bytes < 0.6 * variants["float32"].size_bytes


def test_int8_io_tensors_are_quantized_and_round_trip(cnn_variants, digits_images):
    converted = cnn_variants["int8"]
    (inp,), (out,) = converted.inputs, converted.outputs
    assert inp.dtype == "int8" and out.dtype == "int8"
    assert inp.scale > 0 and -128 <= inp.zero_point <= 127
    assert inp.dynamic_batch
    # Quantizing the data with the tensor's parameters and back loses at most half a step
    # inside the calibrated range.
    from workbench.runtime import dequantize_values, quantize_values

    x = digits_images.X_test[:50]
    quantized = quantize_values(x, inp)
    assert quantized.dtype == np.int8
    restored = dequantize_values(quantized, inp)
    assert np.abs(restored - x).max() <= inp.scale / 2 + 1e-6
    # Outputs come back dequantized: probabilities in [0, 1] on the output's own grid.
    probabilities = converted.predict(x)
    assert probabilities.min() >= 0 and probabilities.max() <= 1.0 + out.scale
    steps = (probabilities / out.scale) + out.zero_point
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-3)


def test_float_io_int8_keeps_float_tensors(digits_cnn, digits_images, cnn_variants):
    converted = workbench.convert(digits_cnn, "int8:float32", digits_images.representative(100))
    assert converted.inputs[0].dtype == "float32" and converted.outputs[0].dtype == "float32"
    assert "QUANTIZE" in converted.ops and "DEQUANTIZE" in converted.ops
    np.testing.assert_array_equal(
        converted.predict(digits_images.X_test).argmax(1).shape, (len(digits_images.X_test),)
    )


def test_converted_reports_ops_io_and_saves(cnn_variants, tmp_path):
    converted = cnn_variants["float32"]
    assert converted.ops["CONV_2D"] == 3 and "FULLY_CONNECTED" in converted.ops
    assert converted.mode.name == "float32" and converted.convert_seconds > 0
    path = converted.save(tmp_path / "sub" / "model.tflite")
    assert os.path.getsize(path) == converted.size_bytes
    loaded = workbench.load_tflite(path)
    np.testing.assert_array_equal(loaded.content, converted.content)


@pytest.mark.parametrize("batch_size", [1, 7, None, 1000])
def test_predict_handles_any_batch_size(cnn_variants, digits_images, batch_size):
    X = digits_images.X_test[:23]
    expected = cnn_variants["float32"].predict(X)
    np.testing.assert_allclose(cnn_variants["float32"].predict(X, batch_size=batch_size), expected, atol=1e-6)
    single = cnn_variants["float32"].predict(X[0])
    np.testing.assert_allclose(single[0], expected[0], atol=1e-6)


def test_predict_rejects_data_of_the_wrong_shape(cnn_variants):
    with pytest.raises(DataMismatchError, match=r"Samples of shape \(8, 8, 1\)"):
        cnn_variants["float32"].predict(np.zeros((3, 64), np.float32))


def test_conversion_leaves_the_model_untouched(digits, digits_mlp):
    weights = [w.copy() for w in digits_mlp.get_weights()]
    config = pickle.dumps(digits_mlp.get_config())
    workbench.convert(digits_mlp, "int8", digits.representative(50))
    for before, after in zip(weights, digits_mlp.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    assert pickle.dumps(digits_mlp.get_config()) == config


def test_keras_file_and_saved_model_directory_convert(digits_mlp, digits, tmp_path):
    path = tmp_path / "mlp.keras"
    digits_mlp.save(path)
    from_file = workbench.convert(str(path), "float32")
    digits_mlp.export(str(tmp_path / "saved"), format="tf_saved_model", verbose=False)
    from_dir = workbench.convert(tmp_path / "saved", "float32")
    reference = np.asarray(digits_mlp(digits.X_test, training=False))
    for converted in (from_file, from_dir):
        assert np.abs(converted.predict(digits.X_test) - reference).max() <= 1e-5


def test_tf_keras_models_convert(digits):
    import tf_keras

    model = tf_keras.Sequential([tf_keras.Input((64,)), tf_keras.layers.Dense(10, activation="softmax")])
    converted = workbench.convert(model, "dynamic")
    reference = model(digits.X_test, training=False).numpy()
    assert np.mean(converted.predict(digits.X_test).argmax(1) == reference.argmax(1)) > 0.97


@pytest.mark.parametrize("mode", ["int8", "int16x8"])
def test_calibrated_modes_need_representative_data(digits_mlp, mode):
    with pytest.raises(RepresentativeDataError, match="representative=None"):
        workbench.convert(digits_mlp, mode)


def test_representative_data_is_checked_against_the_model(digits_mlp):
    with pytest.raises(RepresentativeDataError, match=r"\(64,\)"):
        workbench.convert(digits_mlp, "int8", np.zeros((10, 8, 8, 1)))
    with pytest.raises(RepresentativeDataError, match="NaN"):
        workbench.convert(digits_mlp, "int8", np.full((10, 64), np.nan))


def test_missing_and_corrupt_model_files(tmp_path):
    with pytest.raises(ModelLoadError, match="neither a file"):
        workbench.convert(tmp_path / "nothing.keras")
    corrupt = tmp_path / "broken.keras"
    corrupt.write_bytes(b"this is not a zip archive")
    with pytest.raises(ModelLoadError, match="exists but is not a complete .keras file"):
        workbench.convert(corrupt)
    with pytest.raises(ModelLoadError, match="extension .txt"):
        (tmp_path / "model.txt").write_text("x")
        workbench.convert(tmp_path / "model.txt")


def test_ops_outside_the_builtins_are_named():
    import keras
    import tensorflow as tf

    model = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(tf.math.erfinv)])
    with pytest.raises(UnsupportedOpsError) as info:
        workbench.convert(model, "float32")
    assert info.value.ops == ["Erfinv"]
    assert "Erfinv" in str(info.value) and "SELECT_TF_OPS" in str(info.value)
    assert isinstance(info.value, ConversionError)


def test_converter_log_stays_quiet_unless_verbose(digits_mlp, capfd):
    workbench.convert(digits_mlp, "dynamic")
    out, err = capfd.readouterr()
    assert "Saved artifact" not in out + err and "tf_tfl_flatbuffer_helpers" not in out + err
    assert out + err == ""


def test_an_unchanged_model_is_exported_and_converted_once_and_a_changed_one_again(digits_mlp, digits):
    import keras

    from workbench.convert import converter_runs
    from workbench.sources.keras import export_runs

    model = keras.models.clone_model(digits_mlp)
    model.set_weights(digits_mlp.get_weights())
    exports, runs = sum(export_runs.values()), sum(converter_runs.values())
    first = workbench.convert(model, "float32")
    again = workbench.convert(model, "float32")
    workbench.compare(
        model, digits, modes=["float32", "dynamic_wi8_afp32"], latency_budget=0.05, progress=False
    )
    assert again.content == first.content
    assert sum(export_runs.values()) - exports <= 1  # none if digits_mlp's own export was seen
    assert sum(converter_runs.values()) - runs <= 1
    # Trained a little further: a new export, a new conversion, new outputs.
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(digits.X_train[:64], digits.y_train[:64], epochs=1, verbose=0)
    exports, runs = sum(export_runs.values()), sum(converter_runs.values())
    trained = workbench.convert(model, "float32")
    assert sum(export_runs.values()) == exports + 1 and sum(converter_runs.values()) == runs + 1
    assert trained.content != first.content
    np.testing.assert_allclose(
        trained.predict(digits.X_test[:20]), model.predict(digits.X_test[:20], verbose=0), atol=1e-5
    )
