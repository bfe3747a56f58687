"""The lens draws one layer of one variant from the files: every number it shows is checked
here against the .tflite read independently (the interpreter's tensor details), against the
Keras model or the fitted estimator itself, and against counts made in the test."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

import workbench
from workbench import InvalidArgumentError, RepresentativeDataError

pytestmark = pytest.mark.slow

MODES = ["float32", "float16", "int8", "static_wi8_ai8", "weight_only_wi4_afp32", "dynamic_wi4b32_afp32"]


@pytest.fixture(scope="module")
def comparison(digits_cnn, digits_images):
    return workbench.compare(digits_cnn, digits_images, modes=MODES, latency_budget=0.05, progress=False)


def _details(content):
    interpreter = Interpreter(model_content=content)
    interpreter.allocate_tensors()
    return interpreter, interpreter.get_tensor_details()


def _weight_of(content, kernel_shape):
    """The quantized tensor stored with a Keras Dense kernel's transposed shape, and its integers."""
    interpreter, details = _details(content)
    (found,) = [
        d
        for d in details
        if tuple(d["shape"]) == kernel_shape[::-1] and len(d["quantization_parameters"]["scales"])
    ]
    return found["quantization_parameters"], np.array(interpreter.get_tensor(found["index"]))


def _output_quantization(content, prefix):
    _, details = _details(content)
    (found,) = [d for d in details if d["name"].startswith(prefix + "MatMul;") and "Relu" in d["name"]]
    params = found["quantization_parameters"]
    return float(params["scales"][0]), int(params["zero_points"][0]), np.iinfo(found["dtype"])


@pytest.mark.parametrize("variant", ["int8", "static_wi8_ai8", "weight_only_wi4_afp32"])
def test_the_grid_and_the_scales_are_those_of_the_file(comparison, digits_cnn, variant):
    seen = workbench.lens(comparison, variant, "dense")
    kernel = np.asarray(digits_cnn.get_layer("dense").kernel)
    params, q = _weight_of(comparison.variants[variant].content, kernel.shape)
    scales, zero_points = params["scales"], params["zero_points"]
    by_channel = seen.channels.sort_values("channel")
    np.testing.assert_allclose(by_channel["scale"], scales, rtol=1e-7)
    np.testing.assert_array_equal(by_channel["zero_point"], zero_points)
    worst = int(seen.channels["channel"].iloc[0])
    assert seen.numbers["weight scale"] == pytest.approx(scales[worst], rel=1e-7)
    bits = 4 if variant.startswith("weight_only_wi4") else 8
    assert seen.bits == bits and seen.numbers["levels"] == 2**bits
    expected_levels = scales[worst] * (np.arange(-(2 ** (bits - 1)), 2 ** (bits - 1)) - zero_points[worst])
    np.testing.assert_allclose(seen.levels, expected_levels, rtol=1e-6)
    # The float weights are the Keras kernel's, and the grid values are the file's integers.
    np.testing.assert_allclose(seen.weights, kernel.T, rtol=1e-6)
    np.testing.assert_allclose(seen.dequantized, scales[:, None] * (q - zero_points[:, None]), rtol=1e-6)
    # Every weight lies within half a step of its grid value (no weight is clipped).
    steps = np.abs(kernel.T - seen.dequantized) / scales[:, None]
    assert steps.max() <= 0.5 + 1e-4
    assert seen.numbers["weight max rounding error"] == pytest.approx(
        np.abs(kernel.T - seen.dequantized).max()
    )
    # The worked value uses the shown channel's own scale, and its arithmetic holds.
    worked = seen.numbers["worked weight"]
    assert f"round(w / {scales[worst]:.6g})" in worked
    w, q_value = (float(part.split("=")[-1]) for part in worked.split(";")[:2])
    assert q_value in q[worst] and abs(w / scales[worst] - q_value) <= 0.5 + 1e-4
    figure = seen.plot()
    assert len(figure.axes) >= 7  # weights, rounding, four channels, activations, formula


def test_blockwise_scales_one_per_block_of_32_weights(comparison, digits_cnn):
    seen = workbench.lens(comparison, "dynamic_wi4b32_afp32", "dense")
    kernel = np.asarray(digits_cnn.get_layer("dense").kernel).T  # (64 out, 64 in): two blocks a row
    interpreter, details = _details(comparison.variants["dynamic_wi4b32_afp32"].content)
    (found,) = [d for d in details if tuple(d["shape"]) == kernel.shape and d["dtype"] != np.float32]
    scales = found["quantization_parameters"]["scales"]
    assert len(scales) == 128 and "block of 32" in seen.numbers["granularity"]
    np.testing.assert_allclose(seen.channels.sort_values("channel")["scale"], scales, rtol=1e-7)
    q = np.array(interpreter.get_tensor(found["index"]))
    per_weight = np.repeat(scales.reshape(64, 2), 32, axis=1)
    np.testing.assert_allclose(seen.dequantized, per_weight * q, rtol=1e-6)
    assert (np.abs(kernel - seen.dequantized) / per_weight).max() <= 0.5 + 1e-4
    assert seen.bits == 4 and seen.plot() is not None


@pytest.mark.parametrize("variant", ["int8", "static_wi8_ai8"])
def test_the_clip_fraction_is_a_count_of_the_test_activations_outside_the_calibrated_range(
    comparison, digits_cnn, digits_images, variant
):
    import keras

    seen = workbench.lens(comparison, variant, "dense")
    scale, zero_point, limits = _output_quantization(
        comparison.variants[variant].content, "digits_cnn_1/dense_1/"
    )
    assert seen.numbers["activation scale"] == pytest.approx(scale, rel=1e-7)
    assert seen.numbers["activation zero point"] == zero_point
    low, high = scale * (limits.min - zero_point), scale * (limits.max - zero_point)
    assert seen.activation_range == pytest.approx((low, high))
    # The layer's float outputs, from Keras itself (not from any .tflite).
    probe = keras.Model(digits_cnn.inputs, digits_cnn.get_layer("dense").output)
    activations = np.asarray(probe([digits_images.X_test], training=False))
    counted = np.mean((activations < low) | (activations > high))
    assert seen.numbers["test clip fraction"] == pytest.approx(counted, abs=2 / activations.size)
    np.testing.assert_allclose(seen.activations["test"], activations, atol=1e-4)
    calibration = np.asarray(probe([comparison.calibration], training=False))
    assert seen.numbers["calibration max"] == pytest.approx(calibration.max(), rel=1e-4)
    # The converter, and the workbench for LiteRT Quantizer's static recipes (min/max by
    # default, not the library's moving average), take the calibration samples' min and max.
    assert high == pytest.approx(calibration.max(), rel=0.01)
    assert seen.numbers["range statistic"].startswith("minmax")


def test_no_layer_takes_the_one_with_the_largest_error_from_the_diagnosis(
    comparison, digits_cnn, digits_images
):
    errors = workbench.layer_errors(comparison, "static_wi8_ai8")
    assert list(errors["error"]) == sorted(errors["error"], reverse=True)
    seen = workbench.lens(comparison, "static_wi8_ai8")
    assert seen.layer == errors["layer"].iloc[0]
    diagnosis = workbench.diagnose(
        digits_cnn, "static_wi8_ai8", representative=comparison.calibration, dataset=digits_images
    )
    ops = diagnosis.layers[(diagnosis.layers["op"] != "weights") & (diagnosis.layers["layer"] == seen.layer)]
    assert seen.numbers["layer error: snr_drop_db"] == pytest.approx(ops["snr_drop_db"].max(), abs=1e-6)
    int8 = workbench.layer_errors(comparison, "int8")
    assert set(int8["metric"]) == {"rmse_per_step"} and set(int8["layer"]) <= {
        layer.name for layer in digits_cnn.layers
    }


def test_the_report_shows_every_lens_drawn_on_the_comparison(comparison, tmp_path):
    seen = workbench.lens(comparison, "int8", "dense_1")
    page = open(comparison.save(tmp_path / "report"), encoding="utf-8").read()
    assert "<h2>Lens</h2>" in page and "dense_1 in int8" in page
    assert (tmp_path / "report" / "lens-int8-dense-1.png").read_bytes() == seen.png()
    written = (tmp_path / "report" / "lens-int8-dense-1.csv").read_text()
    assert f"{seen.numbers['weight scale']}" in written and "test clip fraction" in written


def test_bad_requests_say_what_exists(comparison):
    with pytest.raises(InvalidArgumentError, match=r"nearest first: dense, dense_1") as info:
        workbench.lens(comparison, "int8", "dens")
    assert "conv2d_2" in str(info.value)
    with pytest.raises(InvalidArgumentError, match="stores the weights of .* as float16"):
        workbench.lens(comparison, "float16", "dense")
    with pytest.raises(InvalidArgumentError, match="One of this comparison's variants: float32"):
        workbench.lens(comparison, "int4", "dense")
    with pytest.raises(InvalidArgumentError, match="channels=9"):
        workbench.lens(comparison, "int8", "dense", channels=9)
    with pytest.raises(InvalidArgumentError, match="not calibrated"):
        workbench.calibration_lens(comparison, "weight_only_wi4_afp32", "dense")
    with pytest.raises(RepresentativeDataError, match="sizes containing 0"):
        workbench.calibration_lens(comparison, "static_wi8_ai8", "dense", sizes=(0,))


def test_a_variant_without_calibration_shows_the_weights_and_says_why_no_range(digits_cnn, digits_images):
    result = workbench.compare(
        digits_cnn, digits_images, modes=["weight_only_wi4_afp32"], latency_budget=0.05, progress=False
    )
    assert result.calibration is None
    seen = workbench.lens(result, "weight_only_wi4_afp32", "conv2d_1")
    assert seen.activation_range is None and "calibration" not in seen.activations
    assert any("keeps this layer's activations in float32" in note for note in seen.notes)
    assert "activation scale" not in seen.numbers
    assert seen.plot() is not None and "<img" in seen._repr_html_()


def test_a_layer_kept_in_float_is_refused_and_the_others_keep_their_grid(digits_cnn, digits_images):
    result = workbench.compare(
        digits_cnn,
        digits_images,
        modes=["weight_only_wi4_afp32"],
        keep_float=1,
        keep_precision="float",
        latency_budget=0.05,
        progress=False,
    )
    (label,) = [v for v in result.variants if "+float" in v]
    (kept,) = result.variants[label].float_layers
    with pytest.raises(InvalidArgumentError, match=f"stores the weights of {kept} as float32"):
        workbench.lens(result, label, kept)
    other = next(n for n in ("conv2d", "conv2d_1", "dense") if n != kept)
    assert workbench.lens(result, label, other).bits == 4


def test_calibration_side_by_side_matches_variants_made_independently(comparison, digits_cnn, digits_images):
    study = workbench.calibration_lens(
        comparison, "static_wi8_ai8", "dense", sizes=(10, None), strategies=("random", "stratified")
    )
    table = study.table
    assert list(zip(table["strategy"], table["samples"], strict=True)) == [
        ("random", 10),
        ("random", len(digits_images.X_train)),
        ("stratified", 10),
        ("stratified", len(digits_images.X_train)),
    ]
    picked = digits_images.representative(10, strategy="stratified", seed=0)
    alone = workbench.convert(digits_cnn, "static_wi8_ai8", representative=picked)
    scale, zero_point, limits = _output_quantization(alone.content, "digits_cnn_1/dense_1/")
    row = table.iloc[2]
    assert row["scale"] == pytest.approx(scale, rel=1e-7) and row["zero_point"] == zero_point
    high = scale * (limits.max - zero_point)
    test = study.test_activations
    assert row["test_clip_fraction"] == pytest.approx(np.mean(test > high))
    # Ten samples see a smaller range than the whole training split, so more is clipped.
    assert table.iloc[0]["test_clip_fraction"] > table.iloc[1]["test_clip_fraction"]
    assert table["accuracy"].between(0.5, 1).all()
    assert len(study.plot().axes) == 3


def test_a_scikit_learn_mlp_and_a_linear_model_by_their_attribute_names(digits):
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    mlp = MLPClassifier((32,), max_iter=200, random_state=0).fit(digits.X_train, digits.y_train)
    result = workbench.compare(mlp, digits, modes=["static_wi8_ai8"], latency_budget=0.05, progress=False)
    errors = workbench.layer_errors(result, "static_wi8_ai8")
    assert set(errors["layer"]) == {"coefs_[0]", "coefs_[1]"}
    seen = workbench.lens(result, "static_wi8_ai8", "coefs_[0]")
    np.testing.assert_allclose(seen.weights, mlp.coefs_[0].T, rtol=1e-6)
    hidden = np.maximum(digits.X_test @ mlp.coefs_[0] + mlp.intercepts_[0], 0)
    low, high = seen.activation_range
    counted = np.mean((hidden < low) | (hidden > high))
    assert seen.numbers["test clip fraction"] == pytest.approx(counted, abs=2 / hidden.size)
    assert not [n for n in seen.notes if "folded" in n]

    # In a pipeline the converter folds the scaler into the first weights: the lens says so.
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipeline = make_pipeline(StandardScaler(), MLPClassifier((16,), max_iter=100, random_state=0))
    pipeline.fit(digits.X_train, digits.y_train)
    result = workbench.compare(
        pipeline, digits, modes=["static_wi8_ai8"], latency_budget=0.05, progress=False
    )
    first, second = (workbench.lens(result, "static_wi8_ai8", f"coefs_[{k}]") for k in (0, 1))
    assert any("folded" in n for n in first.notes) and not any("folded" in n for n in second.notes)
    np.testing.assert_allclose(second.weights, pipeline[-1].coefs_[1].T, rtol=1e-6)

    linear = LogisticRegression(max_iter=300).fit(digits.X_train, digits.y_train)
    result = workbench.compare(
        linear, digits, modes=["dynamic_wi8_afp32"], latency_budget=0.05, progress=False
    )
    seen = workbench.lens(result, "dynamic_wi8_afp32")
    assert seen.layer == "coef_" and seen.activation_range is None
    np.testing.assert_allclose(seen.weights, linear.coef_, rtol=1e-6)
    assert seen.numbers["layer error: snr_drop_db"] >= 0


def test_recipes_and_the_lens_need_no_tensorflow_in_any_process(comparison, tmp_path):
    """A float32 .tflite already made: a recipe, its validation and the lens run on LiteRT and
    LiteRT Quantizer alone, in the kernel and in the worker."""
    path = comparison.variants["float32"].save(tmp_path / "digits_cnn.tflite")
    script = textwrap.dedent(
        f"""
        import sys
        import workbench
        from workbench._worker import run

        data = workbench.load_dataset("digits_images")
        # A float32 .tflite is its own hub: recipes apply to its bytes.
        result = workbench.compare({str(path)!r}, data, modes=["static_wi8_ai8"], latency_budget=0.05, progress=False)
        seen = workbench.lens(result, "static_wi8_ai8")
        seen.plot()
        print(sorted(workbench.layer_errors(result, "static_wi8_ai8")["layer"]))
        print(seen.layer, seen.numbers["layer error: snr_drop_db"] > 0)
        print("kernel", "tensorflow" in sys.modules)
        print("worker", run("loaded_modules", {{}})["result"]["tensorflow"])
        """
    )
    package_root = os.path.dirname(os.path.dirname(workbench.__file__))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    # No Keras model to name them: the layers are the scopes in the file's tensor names.
    assert lines[-4] == str(sorted(["conv2d_1", "conv2d_1_2", "conv2d_2_1", "dense_1", "dense_1_2"]))
    assert lines[-3].endswith("True")
    assert lines[-2:] == ["kernel False", "worker False"]
