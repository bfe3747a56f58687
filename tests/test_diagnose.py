"""diagnose(): op coverage, per-layer quantization error, mixed precision, size and I/O, on real conversions."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import workbench
from workbench import ConversionError, RepresentativeDataError, UnsupportedOpsError

pytestmark = pytest.mark.slow


@keras.saving.register_keras_serializable(package="tests")
class ScaledSwish(keras.layers.Layer):
    """A custom layer made only of ops TFLite has."""

    def call(self, x):
        return x * keras.ops.sigmoid(1.5 * x)


@pytest.fixture(scope="module")
def cnn_int8(digits_cnn, digits_images):
    return workbench.diagnose(digits_cnn, "int8", dataset=digits_images)


def test_op_coverage_names_layers_and_marks_builtins(cnn_int8):
    ops = cnn_int8.ops.set_index("op")
    assert ops.loc["Conv2D", "count"] == 3 and ops["builtin"].all()
    assert ops.loc["Conv2D", "layers"] == "conv2d, conv2d_1, conv2d_2"
    assert ops.loc["Softmax", "layers"] == "dense_1"
    assert cnn_int8.error is None and cnn_int8.unsupported == []


def test_an_op_outside_the_builtins_is_traced_to_its_layer_with_the_way_out():
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(4, name="encoder"),
            keras.layers.Lambda(lambda x: tf.math.cumprod(x, axis=1), name="running_product"),
        ]
    )
    with pytest.raises(UnsupportedOpsError, match="Cumprod"):
        workbench.convert(model)
    diagnosis = workbench.diagnose(model)
    bad = diagnosis.ops[~diagnosis.ops["builtin"]]
    assert list(bad["op"]) == ["Cumprod"] and list(bad["layers"]) == ["running_product"]
    assert "SELECT_TF_OPS" in bad["advice"].iloc[0] and "Flex delegate" in bad["advice"].iloc[0]
    # With SELECT_TF_OPS it converts: the size is known, the Python interpreter cannot run it.
    assert diagnosis.select_tf_ops_size > 0
    assert "cannot run it" in str(diagnosis) and "tf.Cumprod (from running_product)" in str(diagnosis)


def test_an_op_not_even_flex_has_is_said_plainly():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(tf.math.erfinv, name="inverse_erf")])
    diagnosis = workbench.diagnose(model)
    assert diagnosis.unsupported == ["Erfinv"] and diagnosis.select_tf_ops_size is None
    assert "would need a custom op" in str(diagnosis)


def test_lambda_and_custom_layers_of_supported_ops_convert_and_are_shown(digits):
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Lambda(lambda x: x / 16.0, name="scale"),
            ScaledSwish(name="swish"),
            keras.layers.Dense(10),
        ]
    )
    converted = workbench.convert(model, "float32")
    reference = np.asarray(model(digits.X_test))
    np.testing.assert_allclose(converted.predict(digits.X_test), reference, atol=1e-5)
    diagnosis = workbench.diagnose(model)
    assert diagnosis.error is None and diagnosis.ops["builtin"].all()
    assert "swish (custom ScaledSwish)" in " ".join(diagnosis.ops["layers"])
    assert "Custom layers made of supported ops convert" in str(diagnosis)


def test_per_layer_error_is_the_debuggers_worst_first(cnn_int8):
    layers = cnn_int8.layers
    assert list(layers.columns[:4]) == ["layer", "op", "rmse_per_step", "max_abs_error"]
    assert layers["rmse_per_step"].is_monotonic_decreasing
    assert set(layers["layer"]) >= {"conv2d", "conv2d_1", "conv2d_2", "dense", "dense_1"}
    assert (layers["rmse_per_step"] > 0).all() and (layers["scale"] > 0).all()
    figure = cnn_int8.plot()
    assert len(figure.axes) == 2 and "quantization steps" in figure.axes[0].get_xlabel()


def test_keeping_the_worst_layers_in_float_is_a_variant_of_its_own(digits_cnn, digits_images, cnn_int8):
    result = workbench.compare(
        digits_cnn, digits_images, modes=["int8"], keep_float=(1, 2), latency_budget=0.05, progress=False
    )
    table = result.table.set_index("variant")
    assert list(table.index) == ["original", "int8", "int8+float(1 layer)", "int8+float(2 layers)"]
    mixed = result.variants["int8+float(2 layers)"]
    assert mixed.float_layers == cnn_int8.worst_layers(2)
    # Layers kept in float store float32 weights: bigger than int8, smaller than float32.
    float32 = workbench.convert(digits_cnn, "float32").size_bytes
    assert table.loc["int8", "size_bytes"] < table.loc["int8+float(2 layers)", "size_bytes"] < float32
    assert "DEQUANTIZE" in mixed.ops
    assert table.loc["int8+float(2 layers)", "agreement"] >= 0.95


def test_size_breakdown_accounts_for_the_bytes(cnn_int8):
    size = cnn_int8.size
    assert size["bytes"].sum() <= cnn_int8.converted.size_bytes
    assert size["bytes"].sum() > 0.7 * cnn_int8.converted.size_bytes
    assert size.loc[size["layer"] == "conv2d_2", "changed_type"].item()
    conv = size[size["layer"] == "conv2d_2"].iloc[0]
    assert "int8" in conv["dtypes"] and conv["float32_bytes"] > 3 * conv["bytes"]


def test_io_contract_warns_about_quantized_tensors(cnn_int8):
    io = cnn_int8.io.set_index("side")
    assert io.loc["input", "dtype"] == "int8" and io.loc["input", "shape"] == "(batch, 8, 8, 1)"
    assert "must be quantized" in io.loc["input", "warning"]
    assert "dequantize" in io.loc["output", "warning"]


def test_fixed_batch_model_converts_and_is_flagged(digits):
    # Keras 3's export makes the batch axis dynamic; tf_keras keeps a fixed batch size.
    import tf_keras

    model = tf_keras.Sequential(
        [tf_keras.Input((64,), batch_size=1), tf_keras.layers.Dense(10, activation="softmax")]
    )
    converted = workbench.convert(model)
    assert converted.inputs[0].shape == (1, 64) and not converted.inputs[0].dynamic_batch
    expected = model(digits.X_test[:7]).numpy()
    np.testing.assert_allclose(converted.predict(digits.X_test[:7]), expected, atol=1e-6)
    warning = workbench.diagnose(model).io.set_index("side").loc["input", "warning"]
    assert "Fixed batch of 1" in warning


def test_two_input_models_convert_and_their_contract_lists_both_inputs():
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    model = keras.Model([a, b], keras.layers.Dense(1)(keras.layers.Concatenate()([a, b])))
    converted = workbench.convert(model)
    assert converted.input_names == ["a", "b"] and converted.input_shape == {"a": (3,), "b": (2,)}
    contract = workbench.diagnose(model).io
    assert list(contract.loc[contract["side"] == "input", "shape"]) == ["(batch, 3)", "(batch, 2)"]


def test_representative_dataset_of_the_wrong_structure(digits_mlp, digits):
    def pairs():
        for x in digits.X_train[:10]:
            yield [x[None], x[None]]

    with pytest.raises(RepresentativeDataError, match="list of 2 parts"):
        workbench.convert(digits_mlp, "int8", pairs)

    def tf_style():
        for x in digits.X_train[:50]:
            yield [x[None].astype("float32")]

    assert workbench.convert(digits_mlp, "int8", tf_style).inputs[0].dtype == "int8"


def test_a_failed_diagnosis_never_loses_the_model(digits_mlp):
    weights = [w.copy() for w in digits_mlp.get_weights()]
    with pytest.raises(RepresentativeDataError):
        workbench.diagnose(digits_mlp, "int8")
    for before, after in zip(weights, digits_mlp.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    assert isinstance(workbench.diagnose(digits_mlp).converted, workbench.Converted)
    assert issubclass(UnsupportedOpsError, ConversionError)
