"""Model files as they arrive from elsewhere (built here, see model_files.py): fixed-batch
.tflite files, a float32 .tflite as the hub for recipes, a file only TFLite Micro runs, a
variant LiteRT refuses at allocation, Keras 2 .h5 files, autoencoders, and what each file is."""

from __future__ import annotations

import model_files
import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

import workbench
from workbench.cli import main
from workbench.convert import converter_runs
from workbench.inspection import inspect_bytes

RNG = np.random.default_rng(7)


def _per_sample(content: bytes, X: np.ndarray) -> np.ndarray:
    """The file run by hand on LiteRT, one sample per call, (de)quantized by its own parameters."""
    interpreter = Interpreter(model_content=content)
    interpreter.allocate_tensors()
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    outputs = []
    for x in X:
        scale, zero = inp["quantization"]
        q = np.clip(np.round(x / scale + zero), -128, 127).astype(np.int8) if scale else x.astype(np.float32)
        interpreter.set_tensor(inp["index"], q[None])
        interpreter.invoke()
        y = interpreter.get_tensor(out["index"])[0].astype(np.float32)
        scale, zero = out["quantization"]
        outputs.append((y - zero) * scale if scale else y)
    return np.array(outputs)


@pytest.fixture(scope="module")
def keyword_data():
    X = RNG.normal(size=(240, model_files.FEATURES)).astype(np.float32)
    return X


@pytest.fixture(scope="module")
def keyword_files(tmp_path_factory, keyword_data):
    root = tmp_path_factory.mktemp("keyword")
    float32 = root / "kws-float32.tflite"
    float32.write_bytes(model_files.keyword_tflite(int8=False))
    int8 = root / "kws-int8.tflite"
    int8.write_bytes(model_files.keyword_tflite(int8=True, samples=keyword_data[:100]))
    labels = workbench.load_tflite(float32).run(keyword_data).argmax(1)
    data = workbench.Dataset.from_arrays(keyword_data, labels, task="classification", name="keywords")
    return float32, int8, data


def test_fixed_batch_int8_file_compares_end_to_end_on_litert_and_tflite_micro(keyword_files):
    _, int8, data = keyword_files
    before = int8.read_bytes()
    result = workbench.compare(int8, data, progress=False, latency_budget=0.05, target="cortex-m4")
    (row,) = result.table.to_dict("records")
    assert row["mode"] == "full-integer int8" and row["path"] == "as-is on LiteRT"
    assert any("fixed batch of 1" in note and "loop" in note for note in result.notes)
    assert np.isfinite(row["latency_ms_p50"]) and np.isfinite(row["batch_latency_ms"])
    assert row["tflm"] and 1024 < row["tflm_arena_bytes"] < 256 * 1024 and row["tflm_agreement"] > 0.9
    # The outputs are the file's own, as a hand-written per-sample loop gets them.
    source = workbench.sources.as_source(str(int8))
    np.testing.assert_allclose(source.predict(data.X_test), _per_sample(before, data.X_test), atol=1e-6)
    assert row["accuracy"] > 0.8  # int8 against labels from the float32 file
    assert int8.read_bytes() == before  # the user's file is never modified


def test_fixed_batch_int8_lstm_file_compares_end_to_end(tmp_path):
    X = RNG.normal(size=(120, 28, 28)).astype(np.float32)
    path = tmp_path / "lstm-int8.tflite"
    path.write_bytes(model_files.lstm_tflite(X[:50]))
    outputs = _per_sample(path.read_bytes(), X)
    data = workbench.Dataset.from_arrays(X, outputs.argmax(1), task="classification")
    result = workbench.compare(path, data, modes=[], progress=False, latency_budget=0.05, target="cortex-m4")
    (row,) = result.table.to_dict("records")
    assert row["mode"] == "full-integer int8" and row["accuracy"] == 1.0 and row["error"] == ""
    # On TFLite Micro too, with the smallest arena: a byte less does not do.
    arena = int(row["tflm_arena_bytes"])
    assert row["tflm"] and row["tflm_agreement"] > 0.9
    assert not workbench.check_micro(workbench.load_tflite(path), arena_bytes=arena - 1).runs
    assert workbench.load_tflite(path).ops["UNIDIRECTIONAL_SEQUENCE_LSTM"] == 1
    assert any("fixed batch of 1" in note for note in result.notes)


def test_float32_file_is_the_hub_recipes_apply_with_no_converter_call(keyword_files):
    float32, _, data = keyword_files
    runs = sum(converter_runs.values())
    result = workbench.compare(
        float32, data, modes=["static_wi8_ai8", "weight_only_wi4_afp32"], progress=False, latency_budget=0.05
    )
    assert sum(converter_runs.values()) == runs  # no converter involved
    table = result.table.set_index("variant")
    assert table.loc["original", "mode"] == "float32" and (table["error"] == "").all()
    static = result.variants["static_wi8_ai8"]
    assert static.inputs[0].dtype == "int8" and inspect_bytes(static.content).mode == "full-integer int8"
    assert inspect_bytes(result.variants["weight_only_wi4_afp32"].content).mode == "weight-only int4"
    assert table.loc["static_wi8_ai8", "agreement"] > 0.9 and table.loc["static_wi8_ai8", "size_ratio"] < 0.4
    # The recipe applied to the file is the one convert() applies to it, byte for byte.
    assert workbench.convert(float32, "weight_only_wi4_afp32").content == (
        result.variants["weight_only_wi4_afp32"].content
    )
    # Without modes: the as-is row and the recommended recipes (float32 is the file itself).
    default = workbench.compare(float32, data, progress=False, latency_budget=0.02)
    assert list(default.table["variant"]) == ["original", *workbench.DEFAULT_MODES[1:]]
    assert sum(converter_runs.values()) == runs


def test_quantized_file_compares_as_is_and_says_why_recipes_and_converter_modes_do_not_apply(keyword_files):
    _, int8, data = keyword_files
    assert list(workbench.compare(int8, data, progress=False, latency_budget=0.02).table["variant"]) == [
        "original"
    ]
    result = workbench.compare(
        int8, data, modes=["static_wi8_ai8", "int8"], progress=False, latency_budget=0.02
    )
    errors = result.errors
    assert "full integer (int8 activations)" in errors["static_wi8_ai8"]
    assert "float32 .tflite" in errors["static_wi8_ai8"] and "modes=[]" in errors["static_wi8_ai8"]
    assert "original Keras or scikit-learn model" in errors["int8"]


def test_a_file_only_tflite_micro_runs_gets_a_row_naming_its_ops_with_its_tflite_micro_result(tmp_path):
    path = tmp_path / "frontend.tflite"
    path.write_bytes(model_files.signal_window_tflite())
    audio = RNG.integers(-3000, 3000, (80, model_files.WINDOW)).astype(np.float32)
    data = workbench.Dataset.from_arrays(audio, model_files.windowed(audio))
    with pytest.raises(workbench.InvocationError, match="custom op SignalWindow"):
        workbench.load_tflite(path).predict(audio[:2])
    result = workbench.compare(path, data, progress=False, target="cortex-m4")
    (row,) = result.table.to_dict("records")
    assert "SignalWindow" in row["mode"] and row["path"] == "as-is on TFLite Micro"
    assert row["mse"] == 0.0  # TFLite Micro's outputs are exactly (audio * window) >> 12
    assert row["tflm"] and row["tflm_arena_bytes"] > 0 and row["fits"]
    assert any("registered only in TFLite Micro" in note for note in result.notes)


@pytest.mark.slow
def test_a_variant_that_fails_at_allocation_is_a_row_with_its_reason(tmp_path):
    import keras

    model = keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, weights=None, classes=4)
    X = RNG.uniform(-1, 1, (60, 32, 32, 3)).astype(np.float32)
    data = workbench.Dataset.from_arrays(X, np.arange(60) % 4)
    result = workbench.compare(
        model, data, modes=["int16x8"], representative=20, progress=False, latency_budget=0.02
    )
    error = result.errors["int16x8"]
    assert "refuses at allocation" in error and "node" in error and "DEPTHWISE_CONV_2D" in error
    converted = workbench.convert(model, "int16x8", representative=X[:20])
    with pytest.raises(workbench.WorkbenchError) as info:
        converted.predict(X[:2])
    assert isinstance(info.value, workbench.InvocationError) and "DEPTHWISE_CONV_2D" in str(info.value)
    # The same file received from someone else: neither runtime runs it, and its one row says both.
    as_file = workbench.compare(
        converted.save(tmp_path / "mnv2.tflite"), data, progress=False, target="cortex-m4"
    )
    (row,) = as_file.table.to_dict("records")
    assert "LiteRT: " in row["error"] and "TFLite Micro: " in row["error"] and row["fits"] is False
    assert row["mode"] == "full-integer int16x8" and row["size_bytes"] == converted.size_bytes


def test_inspect_tells_dynamic_range_from_full_integer(digits_mlp, digits, tmp_path, capsys):
    dynamic = workbench.convert(digits_mlp, "dynamic")
    int8 = workbench.convert(digits_mlp, "int8", representative=digits)
    assert inspect_bytes(dynamic.content).mode == "dynamic-range int8"
    assert inspect_bytes(dynamic.content).float_ops > 0
    assert (
        inspect_bytes(int8.content).mode == "full-integer int8" and inspect_bytes(int8.content).float_ops == 0
    )
    path = dynamic.save(tmp_path / "model-int8.tflite")  # named int8, really dynamic-range
    assert main(["inspect", path]) == 0
    printed = capsys.readouterr().out
    assert "dynamic-range (int8 weights" in printed and "FULLY_CONNECTED" in printed
    assert "runs on LiteRT: yes" in printed and "TFLite Micro: no" in printed
    assert "hybrid" in printed
    summary = int8.summary()
    assert "full integer (int8 activations)" in summary and "arena" in summary and "64-bit host" in summary


def test_an_h5_neither_keras_loads_gets_both_reasons(tmp_path):
    import h5py

    path = tmp_path / "broken.h5"
    with h5py.File(path, "w") as handle:
        handle.attrs["model_config"] = '{"class_name": "NoSuchModel", "config": {}}'
    with pytest.raises(workbench.ModelLoadError) as info:
        workbench.convert(path)
    assert "Keras 3: " in str(info.value) and "tf_keras (Keras 2): " in str(info.value)
    assert "custom_objects" in str(info.value)


def test_keras2_h5_compares_in_every_converter_mode(tmp_path, digits_images):
    path = tmp_path / "teachable.h5"
    model_files.keras2_h5(path, weights_path=tmp_path / "teachable.weights.h5")
    result = workbench.compare(
        path, digits_images, modes=workbench.MODE_NAMES, progress=False, latency_budget=0.02
    )
    assert (result.table["error"] == "").all(), result.errors
    assert list(result.table["variant"]) == ["original", *workbench.MODE_NAMES]
    assert any("loaded with tf_keras" in note for note in result.notes)
    assert (result.table["agreement"] > 0.9).all()
    with pytest.raises(workbench.ModelLoadError, match="holds only weights") as info:
        workbench.convert(tmp_path / "teachable.weights.h5")
    assert "load_weights" in str(info.value)


def test_autoencoder_compares_with_mse_and_the_ranking_of_reconstruction_errors(digits):
    import keras

    X = np.concatenate([digits.X_train, digits.X_test]).astype(np.float32) / 16
    labels = np.concatenate([digits.y_train, digits.y_test])
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(64, activation="sigmoid"),
        ]
    )
    model.compile("adam", "mse")
    model.fit(X[labels != 0], X[labels != 0], epochs=15, batch_size=64, verbose=0)
    data = workbench.Dataset.from_arrays(X, X, anomaly_labels=labels == 0)
    assert data.reconstruction and data.metric == "mse"
    result = workbench.compare(
        model, data, modes=["float32", "int8", "weight_only_wi4_afp32"], progress=False, latency_budget=0.02
    )
    table = result.table.set_index("variant")
    errors = ((model.predict(data.X_test, verbose=0) - data.X_test) ** 2).mean(axis=1)
    assert table.loc["original", "mse"] == pytest.approx(errors.mean(), rel=1e-5)
    assert table.loc["float32", "error_rank_corr"] > 0.999
    assert 0.8 < table.loc["int8", "error_rank_corr"] < 1.0
    from sklearn.metrics import roc_auc_score

    assert table.loc["original", "roc_auc"] == pytest.approx(roc_auc_score(data.anomaly_test, errors))
    assert table.loc["original", "roc_auc"] > 0.8


def test_bad_files_and_arguments_get_clear_errors(tmp_path, keyword_files):
    float32, _, data = keyword_files
    cut = tmp_path / "cut.tflite"
    cut.write_bytes(float32.read_bytes()[:12])
    with pytest.raises(workbench.ModelLoadError, match="first bytes"):
        workbench.load_tflite(cut)
    zipped = tmp_path / "model.tflite"
    zipped.write_bytes(b"PK\x03\x04" + bytes(40))
    with pytest.raises(workbench.ModelLoadError, match="zip archive"):
        workbench.compare(zipped, data)
    for shape, message in (((), "no axes"), ((1, 0), "zero-size axis")):
        odd = tmp_path / f"odd-{len(shape)}.tflite"
        odd.write_bytes(model_files.signal_window_tflite(shape))
        with pytest.raises(workbench.ModelLoadError, match=message):
            workbench.compare(odd, data)
    folder = tmp_path / "labelled"
    folder.mkdir()
    (folder / "model.tflite").write_bytes(float32.read_bytes())
    (folder / "labels.txt").write_text("0 yes\n1 no\n2 silence\n")
    with pytest.raises(workbench.DataMismatchError, match="3 class names"):
        workbench.compare(folder / "model.tflite", data)
    (folder / "labels.txt").write_text("0 yes\n1 no\n2 silence\n3 unknown\n")
    labelled = workbench.load_tflite(folder / "model.tflite")
    assert list(labelled.classes) == ["yes", "no", "silence", "unknown"]
    predicted = labelled.predict(data.X_test[:20])
    expected = np.array(["yes", "no", "silence", "unknown"])[
        workbench.load_tflite(float32).run(data.X_test[:20]).argmax(1)
    ]
    assert predicted.tolist() == expected.tolist()
    assert list(workbench.load_tflite(folder / "model.tflite", labels=list("abcd")).classes) == list("abcd")
    with pytest.raises(workbench.DatasetError, match="One label per sample: 10 values"):
        workbench.Dataset.from_arrays(np.zeros((10, 4)), np.zeros((10, 4)), anomaly_labels=[0, 1])
    explicit = workbench.Dataset.from_arrays(np.arange(40.0).reshape(10, 4), reconstruction=True)
    assert explicit.reconstruction and explicit.target_shape == (4,)
    np.testing.assert_array_equal(explicit.y_test, explicit.X_test)
    with pytest.raises(workbench.DatasetError, match="reconstruction=True"):
        workbench.Dataset.from_arrays(np.zeros((10, 4)))
    with pytest.raises(workbench.DatasetError, match="task='regression'"):
        workbench.Dataset.from_arrays(np.zeros((10, 4)), np.zeros((10, 4)), task="classification")


def test_signature_picks_one_of_several_and_serving_default_is_the_default(tmp_path):
    path = tmp_path / "two.tflite"
    path.write_bytes(model_files.two_signature_tflite(tmp_path / "saved"))
    X = RNG.normal(size=(200, 8)).astype(np.float32)
    default = workbench.load_tflite(path)
    assert default.signature == "serving_default" and default.output_names == ("scores",)
    embed = workbench.load_tflite(path, signature="embed")
    np.testing.assert_allclose(embed.run(X), np.maximum(X, 0) * 2, rtol=1e-6)
    with pytest.raises(workbench.DataMismatchError, match="embed, serving_default"):
        workbench.load_tflite(path, signature="classify")
    data = workbench.Dataset.from_arrays(X, default.run(X).argmax(1), task="classification")
    result = workbench.compare(default, data, modes=["static_wi8_ai8"], progress=False, latency_budget=0.02)
    assert result.errors == {} and result.table.loc[1, "agreement"] > 0.8
    assert result.variants["static_wi8_ai8"].signature == "serving_default"


@pytest.mark.slow
def test_widget_takes_a_float32_tflite_as_the_hub_and_shows_what_each_file_is(digits_mlp, digits):
    import datetime

    from workbench.ui.widgets import Workbench

    content = workbench.convert(digits_mlp).content
    wb = Workbench(scan_notebook=False)
    wb.controller.settings.latency_budget = 0.02
    for name, button in wb.mode_buttons.items():
        button.value = name in ("int8", "weight_only_wi4_afp32")
    stamp = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    wb.upload.value = (
        {
            "name": "mlp.tflite",
            "type": "",
            "size": len(content),
            "content": memoryview(content),
            "last_modified": stamp,
        },
    )
    wb.dataset.value = "digits"
    runs = sum(converter_runs.values())
    wb.run_button.click()
    assert wb.controller.wait(300)
    table = wb.controller.table()
    # The recipe applies to the file; the converter's int8 has no model to run on and is left out.
    assert list(table["variant"]) == ["original", "weight_only_wi4_afp32"] and (table["error"] == "").all()
    assert sum(converter_runs.values()) == runs
    wb.variant.value = "weight_only_wi4_afp32"
    assert "What the file really is" in wb.details.value and "weight-only (int4 weights" in wb.details.value
    wb.controller.cancel()


def test_a_file_with_two_outputs_scores_the_one_named_and_compares_the_other(tmp_path, digits):
    path = tmp_path / "two-outputs.tflite"
    path.write_bytes(model_files.two_output_tflite())
    assert set(workbench.load_tflite(path).output_names) == {"logits", "scores"}
    result = workbench.compare(
        path, digits, modes=["dynamic_wi8_afp32"], output="scores", progress=False, latency_budget=0.02
    )
    table = result.table.set_index("variant")
    assert table.loc["original", "agreement[logits]"] == 1.0
    assert 0.9 < table.loc["dynamic_wi8_afp32", "agreement[logits]"] <= 1.0
    assert 0 < table.loc["dynamic_wi8_afp32", "max_abs_diff[logits]"] < 1
    assert result.variants["dynamic_wi8_afp32"].primary_output == "scores"
    with pytest.raises(workbench.DataMismatchError, match="'logits', 'scores'|'scores', 'logits'"):
        workbench.compare(path, digits, output="probabilities", progress=False)
