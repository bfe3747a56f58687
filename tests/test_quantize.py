"""LiteRT Quantizer beside the converter: real recipes on the real float32 .tflite, run on LiteRT."""

import hashlib
import subprocess
import sys

import numpy as np
import pytest

import workbench
from workbench import QUANTIZER_MODES, Mode, RepresentativeDataError, UnknownModeError
from workbench.convert import converter_runs, float32_hub
from workbench.quantize import QuantizerError, quantize_bytes
from workbench.runtime import stored_tensor_types
from workbench.sources import as_source

pytestmark = pytest.mark.slow

# Every recipe the issue names, with the accuracy it may lose against float32 on digits.
RECIPES = {
    "dynamic_wi8_afp32": 0.02,
    "dynamic_wi4_afp32": 0.05,
    "dynamic_wi4b32_afp32": 0.05,
    "dynamic_wi4c_hr_afp32": 0.05,
    "weight_only_wi8_afp32": 0.02,
    "weight_only_wi4_afp32": 0.05,
    "weight_only_wf16_afp32": 0.02,
    "static_wi8_ai8": 0.02,
    "static_wi8_ai16": 0.02,
}


def accuracy(converted, data):
    return float(np.mean(converted.predict(data.X_test).argmax(1) == data.y_test))


@pytest.fixture(scope="module")
def examples(digits_cnn, digits_images, digits_mlp, digits):
    """Each example with its dataset, its source (so the float32 hub is cached) and calibration."""
    return {
        "digits_cnn": (as_source(digits_cnn), digits_images, digits_images.representative(200)),
        "digits_mlp": (as_source(digits_mlp), digits, digits.representative(200)),
    }


@pytest.fixture(scope="module")
def variants(examples):
    from workbench.convert import convert_source

    made = {}
    for name, (source, _, samples) in examples.items():
        for recipe in RECIPES:
            mode = Mode(recipe)
            made[name, recipe] = convert_source(source, mode, samples if mode.calibrated else None)
    return made


@pytest.mark.parametrize("example", ["digits_cnn", "digits_mlp"])
@pytest.mark.parametrize("recipe", list(RECIPES))
def test_every_recipe_quantizes_both_examples_and_keeps_their_accuracy(examples, variants, example, recipe):
    source, data, _ = examples[example]
    converted = variants[example, recipe]
    baseline = accuracy(float32_hub(source), data)
    assert converted.mode == Mode(recipe) and converted.mode.backend == "quantizer"
    assert converted.size_bytes < float32_hub(source).size_bytes or recipe == "dynamic_wi4c_hr_afp32"
    assert stored_tensor_types(converted.content) != stored_tensor_types(float32_hub(source).content)
    assert accuracy(converted, data) >= baseline - RECIPES[recipe]


def test_4_bit_weights_are_at_most_0_7_of_8_bit_dynamic(variants):
    for example in ("digits_cnn", "digits_mlp"):
        wi4 = variants[example, "weight_only_wi4_afp32"].size_bytes
        wi8 = variants[example, "dynamic_wi8_afp32"].size_bytes
        assert wi4 <= 0.7 * wi8, (example, wi4, wi8)


def test_static_recipes_quantize_inputs_and_outputs(variants):
    assert [t.dtype for t in variants["digits_cnn", "static_wi8_ai8"].inputs] == ["int8"]
    assert [t.dtype for t in variants["digits_cnn", "static_wi8_ai16"].inputs] == ["int16"]
    assert [t.dtype for t in variants["digits_cnn", "weight_only_wi4_afp32"].inputs] == ["float32"]
    assert "DEQUANTIZE" in variants["digits_cnn", "weight_only_wi4_afp32"].ops
    assert "DEQUANTIZE" not in variants["digits_cnn", "dynamic_wi4_afp32"].ops


def test_a_quantizer_variant_runs_no_converter(digits_cnn, digits_images):
    source = as_source(digits_cnn)
    float32_hub(source)
    before = sum(converter_runs.values())
    for recipe in ("dynamic_wi8_afp32", "weight_only_wi4_afp32", "static_wi8_ai8"):
        workbench.convert(source, recipe, digits_images.representative(50))
    assert sum(converter_runs.values()) == before
    # A new source of the same model finds the float32 file by the model's fingerprint.
    workbench.convert(digits_cnn, "weight_only_wi8_afp32")
    assert sum(converter_runs.values()) == before


def test_quantizing_never_modifies_the_cached_float32_file(examples, variants):
    source, _, samples = examples["digits_cnn"]
    hub = float32_hub(source)
    digest = hashlib.sha256(hub.content).hexdigest()
    quantize_bytes(hub, Mode("static_wi8_ai8"), samples)
    quantize_bytes(hub, Mode("dynamic_wi4_afp32"))
    assert hashlib.sha256(hub.content).hexdigest() == digest
    assert float32_hub(source) is hub


def test_the_table_knows_which_path_made_each_variant(digits_mlp, digits):
    result = workbench.compare(
        digits_mlp, digits, modes=["float32", "int8", "static_wi8_ai8"], latency_budget=0.05, progress=False
    )
    path = dict(zip(result.table["variant"], result.table["path"], strict=True))
    assert path["int8"] == "converter PTQ (deprecated)"
    assert path["static_wi8_ai8"] == "LiteRT Quantizer"
    assert path["float32"] == "converter"
    static = result.table.set_index("variant").loc["static_wi8_ai8"]
    assert static["agreement"] > 0.95 and static["convert_s"] > 0


def test_the_default_modes_are_float32_and_the_recommended_recipes():
    assert workbench.DEFAULT_MODES[0] == "float32"
    assert all(Mode(m).backend == "quantizer" for m in workbench.DEFAULT_MODES[1:])
    assert "static_wi8_ai8" in workbench.DEFAULT_MODES and workbench.MODE_NAMES == (
        "float32",
        "float16",
        "dynamic",
        "int8",
        "int16x8",
    )


@pytest.mark.parametrize("recipe", sorted(QUANTIZER_MODES))
def test_each_recipe_is_the_librarys_own(examples, recipe):
    """The table's config makes exactly the recipe Google's function of that name makes."""
    from litert_quantizer import quantizer
    from litert_quantizer import recipe as recipes

    from workbench.modes import _RECIPE_FUNCTIONS

    hub = float32_hub(examples["digits_mlp"][0])
    ours = Mode(recipe).quantizer(hub.content).get_quantization_recipe()
    if recipe in _RECIPE_FUNCTIONS:
        theirs = quantizer.Quantizer(bytearray(hub.content), getattr(recipes, recipe)())
        assert ours == theirs.get_quantization_recipe()
    else:
        assert ours[0]["algorithm_key"] == "float_casting"


def test_a_recipes_snippet_reproduces_the_variant(examples, variants, tmp_path, monkeypatch):
    source, data, samples = examples["digits_cnn"]
    monkeypatch.chdir(tmp_path)
    for recipe in ("weight_only_wi4_afp32", "static_wi8_ai8"):
        np.save(tmp_path / "samples.npy", samples)
        code = Mode(recipe).snippet(saved_model_dir=source.spec()[1], calibration_samples="samples.npy")
        exec(compile(code, f"<snippet {recipe}>", "exec"), {})
        made = workbench.Converted((tmp_path / f"model-{recipe}.tflite").read_bytes())
        ours = variants["digits_cnn", recipe]
        # The same quantized tensors and the same answers, to the last bit, on the whole test split.
        assert stored_tensor_types(made.content) == stored_tensor_types(ours.content)
        assert abs(made.size_bytes - ours.size_bytes) < 0.01 * ours.size_bytes
        np.testing.assert_array_equal(made.run(data.X_test), ours.run(data.X_test))


def test_a_static_recipe_without_data_says_what_it_needs(digits_cnn):
    with pytest.raises(RepresentativeDataError, match="representative"):
        workbench.convert(digits_cnn, "static_wi8_ai8")
    source = as_source(digits_cnn)
    with pytest.raises(RepresentativeDataError, match="static recipe static_wi8_ai16"):
        quantize_bytes(float32_hub(source), Mode("static_wi8_ai16"), None)


def test_an_unknown_recipe_lists_the_real_ones_with_the_nearest(digits_cnn):
    with pytest.raises(UnknownModeError) as info:
        workbench.convert(digits_cnn, "static_wi8_a8")
    message = str(info.value)
    assert "Did you mean mode='static_wi8_ai8'?" in message
    assert all(name in message for name in QUANTIZER_MODES)


def test_a_recipe_the_library_cannot_apply_is_a_clear_error(examples):
    hub = float32_hub(examples["digits_mlp"][0])
    broken = Mode("dynamic_wi8_afp32")
    with pytest.raises(QuantizerError) as info:
        quantize_bytes(hub, broken, keep={"(": "float"})  # not a regular expression
    assert "LiteRT Quantizer's error applying dynamic_wi8_afp32" in info.value.received
    assert info.value.fix


def test_a_model_that_does_not_convert_reports_the_converters_error_once():
    import keras
    import tensorflow as tf

    model = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(tf.math.bessel_i0e)])
    rng = np.random.default_rng(0)
    data = workbench.Dataset.from_arrays(rng.normal(size=(90, 3)), np.arange(90) % 3, name="three")
    runs = sum(converter_runs.values())
    recipes = ["dynamic_wi8_afp32", "weight_only_wi4_afp32"]
    result = workbench.compare(model, data, modes=["float32", *recipes], latency_budget=0.05, progress=False)
    errors = result.errors
    assert "BesselI0e" in errors["float32"]
    assert all(errors[r] == "needs the float32 .tflite, which did not convert (see float32)" for r in recipes)
    assert sum(converter_runs.values()) == runs + 1  # one converter run for three rows
    for recipe in ("dynamic_wi8_afp32", "weight_only_wi4_afp32", "dynamic_wi4_afp32"):
        with pytest.raises(workbench.UnsupportedOpsError, match="BesselI0e"):
            workbench.convert(model, recipe)  # a new source each time, the same model state
    assert sum(converter_runs.values()) == runs + 1


def test_per_tensor_error_for_static_recipes_names_the_users_layers(digits_cnn, digits_images):
    for recipe in ("static_wi8_ai8", "static_wi8_ai16"):
        d = workbench.diagnose(digits_cnn, recipe, dataset=digits_images)
        layers = d.layers
        assert d.layer_metric == "snr_drop_db"
        ops = layers[layers["op"] != "weights"]
        assert {"conv2d", "dense", "dense_1"} <= set(ops["layer"])
        assert list(ops["snr_drop_db"]) == sorted(ops["snr_drop_db"], reverse=True)
        assert (ops["snr_db"] > 10).all() and (ops["cosine_similarity"] > 0.9).all()
        assert "LiteRT Quantizer's validation" in str(d)
        assert d.worst_layers(1) == [ops.iloc[0]["layer"]]
    # 16-bit activations lose less than 8-bit ones, layer by layer, at the model's output.
    int8 = workbench.diagnose(digits_cnn, "static_wi8_ai8", dataset=digits_images).layers
    int16 = workbench.diagnose(digits_cnn, "static_wi8_ai16", dataset=digits_images).layers
    out8 = int8[int8["op"] == "SOFTMAX"]["snr_db"].iloc[0]
    out16 = int16[int16["op"] == "SOFTMAX"]["snr_db"].iloc[0]
    assert out16 > out8


def test_mixed_precision_through_recipes_is_its_own_row(digits_cnn, digits_images):
    result = workbench.compare(
        digits_cnn,
        digits_images,
        modes=["float32", "dynamic_wi4_afp32", "static_wi8_ai8"],
        keep_float=2,
        latency_budget=0.05,
        progress=False,
    )
    table = result.table.set_index("variant")
    assert "dynamic_wi4_afp32+int8(2 layers)" in table.index
    assert "static_wi8_ai8+float(2 layers)" in table.index
    mixed = result.variants["dynamic_wi4_afp32+int8(2 layers)"]
    assert len(mixed.float_layers) == 2
    assert (
        table.loc["dynamic_wi4_afp32+int8(2 layers)", "size_bytes"]
        > table.loc["dynamic_wi4_afp32", "size_bytes"]
    )
    # The kept layers really hold 8-bit weights now, beside the other layers' 4-bit ones.
    types = stored_tensor_types(mixed.content)
    assert "int8" in types and "int4" in types


def test_scikit_learn_models_go_through_the_recipes_and_say_when_nothing_changes(digits):
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    modes = ["float32", "dynamic_wi8_afp32", "static_wi8_ai8"]
    linear = LogisticRegression(max_iter=300).fit(digits.X_train, digits.y_train)
    table = workbench.compare(linear, digits, modes=modes, latency_budget=0.05, progress=False).table
    assert (table["error"] == "").all()
    assert table.set_index("variant").loc["dynamic_wi8_afp32", "agreement"] > 0.95
    tree = DecisionTreeClassifier(max_depth=5, random_state=0).fit(digits.X_train, digits.y_train)
    result = workbench.compare(tree, digits, modes=modes, latency_budget=0.05, progress=False)
    row = result.table.set_index("variant").loc["dynamic_wi8_afp32"]
    assert row["error"].startswith("unchanged: the recipe dynamic_wi8_afp32 quantizes no tensor")
    assert "dynamic_wi8_afp32" not in result.variants and "dynamic_wi8_afp32" not in result.pareto()


def test_the_command_line_compares_both_paths(tmp_path):
    command = [
        sys.executable, "-m", "workbench.cli", "compare", "--model", "digits_cnn",
        "--modes", "float32", "int8", "static_wi8_ai8", "weight_only_wi4_afp32",
        "--latency-budget", "0.05", "--out", str(tmp_path / "report"),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    for label in ("int8", "static_wi8_ai8", "weight_only_wi4_afp32", "LiteRT Quantizer"):
        assert label in result.stdout
    report = (tmp_path / "report" / "report.html").read_text()
    assert "LiteRT Quantizer code for this variant" in report and "recipe.static_wi8_ai8()" in report
    assert (tmp_path / "report" / "digits_cnn-static_wi8_ai8.tflite").stat().st_size > 0
    # The recipe as applied, which litert_quantizer loads back: it makes the same file.
    import json

    from litert_quantizer import quantizer

    recipe = json.loads((tmp_path / "report" / "digits_cnn-weight_only_wi4_afp32_recipe.json").read_text())
    float32 = (tmp_path / "report" / "digits_cnn-float32.tflite").read_bytes()
    again = quantizer.Quantizer(bytearray(float32), recipe).quantize(enable_progress_report=False)
    assert (
        bytes(again.quantized_model)
        == (tmp_path / "report" / "digits_cnn-weight_only_wi4_afp32.tflite").read_bytes()
    )
