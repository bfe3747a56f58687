"""Files from other people, round two (issue 22): what model zoos and runtimes' test suites
contain. Every fixture is built here (model_files.py: the converter, tf.compat.v1, the
flatbuffer schema); outputs are checked against a bare ai_edge_litert Interpreter."""

from __future__ import annotations

import os
import subprocess
import sys

import model_files
import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

import workbench
from workbench.cli import main
from workbench.inspection import inspect_bytes

RNG = np.random.default_rng(22)


def test_a_file_litert_crashes_on_is_probed_in_the_worker_and_refused_clearly(tmp_path, capsys):
    path = tmp_path / "blockwise.tflite"
    path.write_bytes(model_files.crashing_tflite())
    # The oracle: a bare interpreter in a process of its own dies on this file.
    script = (
        "import sys; from ai_edge_litert.interpreter import Interpreter; "
        "i = Interpreter(model_path=sys.argv[1]); i.allocate_tensors()"
    )
    bare = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, timeout=120)
    assert bare.returncode < 0  # killed by a signal, not an exception
    pid = os.getpid()
    with pytest.raises(workbench.ModelLoadError, match="ended it") as info:
        workbench.load_tflite(path)
    assert "not touched" in str(info.value) and "workbench inspect" in str(info.value)
    data = workbench.Dataset.from_arrays(RNG.normal(size=(20, 64)), np.arange(20) % 4)
    with pytest.raises(workbench.ModelLoadError, match="LiteRT cannot open"):
        workbench.compare(path, data, progress=False)
    assert os.getpid() == pid  # still here
    # inspect still says what the flatbuffer holds, and why LiteRT does not run it.
    assert main(["inspect", str(path)]) == 0
    printed = capsys.readouterr().out
    assert "FULLY_CONNECTED" in printed and "int4[4, 64]" in printed
    assert "runs on LiteRT: no" in printed and "signal" in printed


def _bare_per_sample(content: bytes, X: np.ndarray, fresh: bool = True) -> np.ndarray:
    """The oracle: one sample per call on a bare interpreter through the file's tensors, at its
    declared shape; ``fresh`` opens a new interpreter for each sample (no state carried)."""
    outputs = []
    interpreter = None
    for x in X:
        if fresh or interpreter is None:
            interpreter = Interpreter(model_content=content)
            interpreter.allocate_tensors()
        (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
        scale, zero = inp["quantization"]
        dtype = inp["dtype"]
        if scale:
            limits = np.iinfo(dtype)
            x = np.clip(np.round(x / scale + zero), limits.min, limits.max)
        interpreter.set_tensor(inp["index"], x.astype(dtype).reshape(inp["shape"]))
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(out["index"])[0].copy())
    return np.array(outputs)


@pytest.mark.slow
def test_tf1_uint8_file_is_called_uint8_and_runs_as_the_bare_interpreter_does(tmp_path):
    path = tmp_path / "mobilenet-quant.tflite"
    path.write_bytes(model_files.tf1_tflite(uint8=True))
    inspection = inspect_bytes(path.read_bytes())
    assert inspection.mode == "full-integer uint8" and "(int8 activations" not in inspection.quantization
    assert "uint8 activations" in inspection.quantization and not inspection.is_float32
    X = RNG.uniform(-1, 1, (40, 8, 8, 1)).astype(np.float32)
    raw = _bare_per_sample(path.read_bytes(), X)
    assert raw.dtype == np.uint8
    converted = workbench.load_tflite(path)
    (out,) = converted.outputs
    np.testing.assert_array_equal(converted.run(X), (raw.astype(np.float32) - out.zero_point) * out.scale)
    # Bit for bit: the workbench's output quantized back is the interpreter's uint8.
    np.testing.assert_array_equal(
        np.round(converted.run(X) / out.scale + out.zero_point).astype(np.uint8), raw
    )
    check = workbench.check_micro(converted)
    assert not check.runs and "uint8" in check.reason and "hybrid" not in check.reason.lower()
    data = workbench.Dataset.from_arrays(X, raw.argmax(1), task="classification")
    result = workbench.compare(path, data, progress=False, latency_budget=0.02)
    (row,) = result.table.to_dict("records")
    assert row["mode"] == "full-integer uint8" and row["error"] == ""


def test_a_detector_with_a_float_post_processing_op_is_not_called_dynamic_range(tmp_path):
    content = model_files.detection_tflite()
    inspection = inspect_bytes(content)
    assert "dynamic-range" not in inspection.quantization and "on the fly" not in inspection.quantization
    assert inspection.quantization.startswith("partly integer (uint8 activations")
    assert "TFLite_Detection_PostProcess" in inspection.quantization
    computes = {op.op: op.computes for op in inspection.op_types}
    assert computes == {"LOGISTIC": "uint8", "TFLite_Detection_PostProcess": "mixed uint8/float32"}
    path = tmp_path / "detect.tflite"
    path.write_bytes(content)
    converted = workbench.load_tflite(path)
    codes = {
        "box_encodings": RNG.integers(0, 256, (5, model_files.ANCHORS, 4)),
        "class_logits": RNG.integers(0, 256, (5, model_files.ANCHORS, 3)),
    }
    info = dict(zip(converted.input_names, converted.inputs, strict=True))
    X = {k: ((v - info[k].zero_point) * info[k].scale).astype(np.float32) for k, v in codes.items()}
    got = converted.run_all(X)
    bare = Interpreter(model_content=content)
    bare.allocate_tensors()
    for i in range(5):
        for detail in bare.get_input_details():
            bare.set_tensor(detail["index"], codes[detail["name"]][i : i + 1].astype(np.uint8))
        bare.invoke()
        for detail in bare.get_output_details():
            np.testing.assert_array_equal(got[detail["name"]][i], bare.get_tensor(detail["index"])[0])


@pytest.mark.slow
def test_a_stateful_lstm_file_is_reset_before_each_sample_and_says_so(tmp_path, capsys):
    content = model_files.fused_lstm_tflite()
    path = tmp_path / "lstm.tflite"
    path.write_bytes(content)
    X = RNG.normal(size=(30, 6, 4)).astype(np.float32)
    fresh = _bare_per_sample(content, X)
    carried = _bare_per_sample(content, X, fresh=False)
    assert not np.allclose(fresh, carried)  # the file does carry state from call to call
    converted = workbench.load_tflite(path)
    assert converted.state == "variable tensors"
    np.testing.assert_array_equal(converted.run(X), fresh)
    np.testing.assert_array_equal(converted.run(X[::-1]), fresh[::-1])  # order does not matter
    assert main(["inspect", str(path)]) == 0
    assert "stateful: keeps state between calls in variable tensors" in capsys.readouterr().out
    # A stateful layer keeps its state in resource variables, which LiteRT cannot reset.
    resource = model_files.fused_lstm_tflite(stateful=True)
    (tmp_path / "stateful.tflite").write_bytes(resource)
    fresh_resource = _bare_per_sample(resource, X[:8])
    assert not np.allclose(_bare_per_sample(resource, X[:8], fresh=False), fresh_resource)
    converted = workbench.load_tflite(tmp_path / "stateful.tflite")
    assert converted.state == "resource variables"
    np.testing.assert_array_equal(converted.run(X[:8]), fresh_resource)
    data = workbench.Dataset.from_arrays(X, fresh, task="regression")
    result = workbench.compare(path, data, modes=["dynamic_wi8_afp32"], progress=False, latency_budget=0.02)
    assert result.table.loc[0, "mse"] == 0.0
    assert any("stateful" in note and "reset" in note for note in result.notes)


def test_axis_0_that_is_not_a_batch_runs_at_the_declared_shapes(tmp_path, capsys):
    content = model_files.streaming_tflite()
    path = tmp_path / "streaming.tflite"
    path.write_bytes(content)
    n = 6
    frames = RNG.normal(size=(n, model_files.FRAMES, model_files.FEATURES_PER_FRAME)).astype(np.float32)
    state = RNG.normal(size=(n, model_files.HISTORY, model_files.UNITS)).astype(np.float32)
    converted = workbench.load_tflite(path)
    assert converted.input_shape == {"frames": (335, 80), "state": (10, 16)}
    got = converted.run_all({"frames": frames, "state": state})
    runner = Interpreter(model_content=content).get_signature_runner("serving_default")
    for i in range(n):
        bare = runner(frames=frames[i], state=state[i])
        # logits (1, 4): axis 0 of 1 is the batch; new_state (10, 16) is one sample's whole tensor.
        np.testing.assert_array_equal(got["logits"][i], bare["logits"][0])
        np.testing.assert_array_equal(got["new_state"][i], bare["new_state"])
        oracle = model_files.streaming_oracle(frames[i], state[i])[0]
        np.testing.assert_allclose(got["logits"][i], oracle, rtol=1e-4, atol=1e-5)
    assert main(["inspect", str(path)]) == 0
    assert "runs on LiteRT: yes" in capsys.readouterr().out


def test_a_scalar_input_with_nested_while_loops_is_inspected_and_run(tmp_path, capsys):
    path = tmp_path / "loops.tflite"
    path.write_bytes(model_files.scalar_loops_tflite())
    assert main(["inspect", str(path)]) == 0
    printed = capsys.readouterr().out
    assert "x:0: float32()" in printed and "WHILE" in printed and "runs on LiteRT: yes" in printed
    converted = workbench.load_tflite(path)
    assert "runs on TFLite Micro: yes" in converted.summary()
    x = np.array([0.0, 1.5, -2.0], np.float32)
    np.testing.assert_array_equal(converted.run_all(x)["y"], 12 * x)
    np.testing.assert_array_equal(workbench.check_micro(converted, x).outputs, 12 * x)


def test_string_inputs_are_described_by_inspect_and_refused_clearly_by_compare(tmp_path, capsys):
    words = tmp_path / "words.tflite"
    words.write_bytes(model_files.string_tflite(with_numbers=False))
    inspection = inspect_bytes(words.read_bytes())
    assert "float32" not in inspection.quantization and not inspection.is_float32
    assert "string" in inspection.quantization
    assert main(["inspect", str(words)]) == 0
    printed = capsys.readouterr().out
    assert "words:0: string(None)" in printed and "runs on LiteRT: yes" in printed
    assert "runs on TFLite Micro: no (string tensors are not in TFLite Micro" in printed
    data = workbench.Dataset.from_arrays(RNG.normal(size=(20, 1)), np.arange(20) % 2)
    for with_numbers in (False, True):
        path = tmp_path / f"text-{with_numbers}.tflite"
        path.write_bytes(model_files.string_tflite(with_numbers))
        with pytest.raises(workbench.ModelLoadError, match="input 'words' is text") as info:
            workbench.compare(path, data, progress=False)
        assert "measures" in str(info.value) and "workbench inspect" in str(info.value)


def test_signature_cli_option_picks_one_of_several_with_no_serving_default(tmp_path, capsys):
    path = tmp_path / "two.tflite"
    path.write_bytes(model_files.two_signature_tflite(tmp_path / "saved", classify_key="classify"))
    assert main(["inspect", str(path)]) != 0
    assert "no serving_default" in capsys.readouterr().err
    assert main(["inspect", str(path), "--signature", "embed"]) == 0
    assert "classify: inputs x; outputs scores" in capsys.readouterr().out
    X = RNG.normal(size=(80, 8)).astype(np.float32)
    csv = tmp_path / "data.csv"
    scores = workbench.load_tflite(path, signature="classify").run(X)
    header = ",".join([f"f{i}" for i in range(8)] + ["label"])
    rows = np.column_stack([X, scores.argmax(1)])
    np.savetxt(csv, rows, delimiter=",", header=header, comments="", fmt=["%.6f"] * 8 + ["%d"])
    out = tmp_path / "report"
    code = main(
        [
            "compare",
            "--model",
            str(path),
            "--signature",
            "classify",
            "--dataset",
            str(csv),
            "--label",
            "label",
            "--modes",
            "dynamic_wi8_afp32",
            "--latency-budget",
            "0.02",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "dynamic_wi8_afp32" in printed and "Report:" in printed
    assert main(["compare", "--model", "digits_mlp", "--signature", "classify", "--out", str(out)]) != 0
    assert "--signature only for a .tflite" in capsys.readouterr().err


def _signature_outputs(content: bytes, X: np.ndarray) -> np.ndarray:
    """The oracle for a variant: its serving signature's ``scores`` by name, one sample per call,
    (de)quantized with the file's own parameters."""
    runner = Interpreter(model_content=content).get_signature_runner("serving_default")
    inp, out = runner.get_input_details()["input"], runner.get_output_details()["scores"]
    outputs = []
    for x in X:
        scale, zero = inp["quantization"]
        if scale:
            x = np.clip(np.round(x / scale + zero), -128, 127)
        y = runner(input=x[None].astype(inp["dtype"]))["scores"][0].astype(np.float32)
        scale, zero = out["quantization"]
        outputs.append((y - zero) * scale if scale else y)
    return np.array(outputs)


def _unpacked(content: bytes):
    from ai_edge_litert import schema_py_generated as schema

    return schema.ModelT.InitFromPackedBuf(content, 0)


def test_a_signature_is_built_for_a_signature_less_float32_file_with_nothing_else_changed(tmp_path):
    from workbench._serving import with_serving_signature

    content = model_files.tf1_tflite(uint8=False)
    assert Interpreter(model_content=content).get_signature_list() == {}
    signed = with_serving_signature(content)
    before, after = _unpacked(content), _unpacked(signed)
    (signature,) = after.signatureDefs
    assert signature.signatureKey == b"serving_default" and not before.signatureDefs
    # Ops, tensors and weight buffers are the file's own, byte for byte.
    assert [bytes(b.data) if b.data is not None else b"" for b in before.buffers] == [
        bytes(b.data) if b.data is not None else b"" for b in after.buffers
    ]
    for old, new in zip(before.subgraphs, after.subgraphs, strict=True):
        assert [(o.opcodeIndex, list(o.inputs), list(o.outputs)) for o in old.operators] == [
            (o.opcodeIndex, list(o.inputs), list(o.outputs)) for o in new.operators
        ]
        assert [(t.name, list(t.shape), t.type, t.buffer) for t in old.tensors] == [
            (t.name, list(t.shape), t.type, t.buffer) for t in new.tensors
        ]
    assert [c.builtinCode for c in before.operatorCodes] == [c.builtinCode for c in after.operatorCodes]
    # Through the signature, the same outputs as the file's own tensors.
    X = RNG.normal(size=(1, 8, 8, 1)).astype(np.float32)
    runner = Interpreter(model_content=signed).get_signature_runner("serving_default")
    np.testing.assert_array_equal(runner(input=X)["scores"], _bare_per_sample(content, X)[None, 0])
    # Files for which none can be built say why.
    unnamed = _unpacked(content)
    unnamed.subgraphs[0].tensors[unnamed.subgraphs[0].inputs[0]].name = b""
    two = _unpacked(content)
    two.subgraphs.append(_unpacked(content).subgraphs[0])
    for model, why in ((unnamed, "has no name"), (two, "ambiguous")):
        with pytest.raises(workbench.ModelLoadError, match=why):
            with_serving_signature(model_files._pack(model))


@pytest.mark.slow
def test_a_signature_less_float32_file_takes_every_path(tmp_path, capsys):
    path = tmp_path / "frozen-graph.tflite"
    path.write_bytes(model_files.tf1_tflite(uint8=False))
    before = path.read_bytes()
    X = RNG.uniform(-1, 1, (160, 8, 8, 1)).astype(np.float32)
    labels = _bare_per_sample(before, X).argmax(1)
    data = workbench.Dataset.from_arrays(X, labels, task="classification", name="frozen")
    assert main(["inspect", str(path)]) == 0
    assert "signatures: none" in capsys.readouterr().out
    modes = ["static_wi8_ai8", "dynamic_wi8_afp32", "weight_only_wi4_afp32"]
    result = workbench.compare(path, data, modes=modes, progress=False, latency_budget=0.02)
    table = result.table.set_index("variant")
    assert (table["error"] == "").all(), result.errors
    assert any("no signature" in note for note in result.notes)
    # Each variant's accuracy is its own outputs' (a bare interpreter through its signature).
    for mode in modes:
        content = result.variants[mode].content
        predicted = _signature_outputs(content, data.X_test).argmax(1)
        assert table.loc[mode, "accuracy"] == pytest.approx(np.mean(predicted == data.y_test))
    assert table.loc["dynamic_wi8_afp32", "agreement"] > 0.9
    lens = workbench.lens(result, "static_wi8_ai8")
    assert (
        lens.numbers["op"] in ("CONV_2D", "FULLY_CONNECTED") and lens.numbers["variant"] == "static_wi8_ai8"
    )
    found = workbench.search(path, data, progress=False, latency_budget=0.02, layers=False)
    assert found.recommended is not None
    assert path.read_bytes() == before  # the user's file is read, never written


def test_a_tflite_micro_only_file_reads_every_value_of_its_outputs(tmp_path):
    path = tmp_path / "frontend.tflite"
    width = model_files.WINDOW
    path.write_bytes(model_files.signal_window_tflite(audio_shape=(width,), output_shape=(width,)))
    audio = RNG.integers(-3000, 3000, (40, width)).astype(np.float32)
    data = workbench.Dataset.from_arrays(audio, model_files.windowed(audio))
    result = workbench.compare(path, data, progress=False)
    (row,) = result.table.to_dict("records")
    assert row["path"] == "as-is on TFLite Micro" and row["error"] == "" and row["mse"] == 0.0
    source = workbench.sources.as_source(str(path))
    outputs = source.predict_outputs(audio[:5])
    (name,) = outputs
    np.testing.assert_array_equal(outputs[name], model_files.windowed(audio[:5]))


def test_labels_that_cover_some_of_a_many_class_models_classes_are_accepted(tmp_path):
    path = tmp_path / "classifier.tflite"
    path.write_bytes(model_files.two_output_tflite())  # 10 classes
    X = RNG.normal(size=(400, 64)).astype(np.float32)
    scores = workbench.load_tflite(path).run_output(X, "scores")
    predicted = scores.argmax(1)
    keep = np.isin(predicted, [2, 5, 7])
    X, y = X[keep], predicted[keep].copy()
    y[::4] = 2  # some wrong labels, so that accuracy is not 1 by construction
    data = workbench.Dataset.from_arrays(X, y, task="classification", name="few")
    result = workbench.compare(path, data, output="scores", modes=[], progress=False, latency_budget=0.02)
    from sklearn.metrics import accuracy_score

    test_scores = Interpreter(model_content=path.read_bytes()).get_signature_runner()(pixels=data.X_test)
    expected = accuracy_score(data.y_test, test_scores["scores"].argmax(1))
    assert result.table.loc[0, "accuracy"] == pytest.approx(expected) and expected < 1
    assert any("cover 3 of the model's 10 classes" in note for note in result.notes)
    wrong = workbench.Dataset.from_arrays(X, y + 20, task="classification")  # not class indices below 10
    with pytest.raises(workbench.DataMismatchError, match="class indices from 0 to 9"):
        workbench.compare(path, wrong, output="scores", modes=[], progress=False)


@pytest.mark.slow
def test_recipes_apply_to_a_file_whose_axis_0_is_not_a_batch(tmp_path):
    path = tmp_path / "streaming.tflite"
    path.write_bytes(model_files.streaming_tflite())
    n = 40
    frames = RNG.normal(size=(n, model_files.FRAMES, model_files.FEATURES_PER_FRAME)).astype(np.float32)
    state = RNG.normal(size=(n, model_files.HISTORY, model_files.UNITS)).astype(np.float32)
    y = np.array([model_files.streaming_oracle(frames[i], state[i])[0] for i in range(n)])
    data = workbench.Dataset.from_arrays({"frames": frames, "state": state}, y, task="regression")
    modes = ["dynamic_wi8_afp32", "static_wi8_ai8"]
    result = workbench.compare(path, data, output="logits", modes=modes, progress=False, latency_budget=0.02)
    table = result.table.set_index("variant")
    assert (table["error"] == "").all(), result.errors
    assert any("declared shapes" in note for note in result.notes)
    for mode in modes:
        runner = Interpreter(model_content=result.variants[mode].content).get_signature_runner()
        details = runner.get_input_details()
        logits = []
        for f, s in zip(data.X_test["frames"], data.X_test["state"], strict=True):
            feed = {}
            for name, x in (("frames", f), ("state", s)):
                scale, zero = details[name]["quantization"]
                q = np.clip(np.round(x / scale + zero), -128, 127) if scale else x
                feed[name] = q.astype(details[name]["dtype"])
            out = runner(**feed)["logits"][0].astype(np.float32)
            scale, zero = runner.get_output_details()["logits"]["quantization"]
            logits.append((out - zero) * scale if scale else out)
        expected = np.mean((np.array(logits) - data.y_test) ** 2)
        assert table.loc[mode, "mse"] == pytest.approx(expected, rel=1e-5)
