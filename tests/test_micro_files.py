"""Files a microcontroller can use: LiteRT Quantizer's offset buffers written inline.

The raw files here come from ``litert_quantizer`` itself (not through the workbench), on
models with enough weights (256 KiB or more) that the library stores them after the
flatbuffer. Oracles: the flatbuffer read with the schema in the test, a bare
``ai_edge_litert`` Interpreter through its signature runner, and the real ``tflite_micro``
interpreter's own allocation report.
"""

from __future__ import annotations

import ctypes
import re

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter

import workbench
from workbench.csource import c_source
from workbench.inspection import inspect_bytes
from workbench.runtime import stored_tensor_types

pytestmark = pytest.mark.slow

RECIPES = ["static_wi8_ai8", "dynamic_wi8_afp32", "weight_only_wi8_afp32"]


# ---------------------------------------------------------------- models and oracles
def _keras_mlp():
    import keras

    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    ), np.random.default_rng(0).random((64, 784), dtype=np.float32)


def _autoencoder():
    import keras

    keras.utils.set_random_seed(1)
    inputs = keras.Input((640,))
    x = inputs
    for width in [128, 128, 128, 128, 8, 128, 128, 128, 128]:
        x = keras.layers.Dense(width, activation="relu")(x)
    model = keras.Model(inputs, keras.layers.Dense(640)(x))
    return model, np.random.default_rng(1).normal(size=(64, 640)).astype(np.float32)


def _sklearn_mlp():
    import warnings

    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    X, y = load_digits(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPClassifier(hidden_layer_sizes=(1024, 256), max_iter=3, random_state=0).fit(X, y)
    return model, X[:64].astype(np.float32)


def _sklearn_regressor():
    import warnings

    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    X, y = load_digits(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPRegressor(hidden_layer_sizes=(1024, 256), max_iter=3, random_state=0).fit(
            X, y.astype(float)
        )
    return model, X[:64].astype(np.float32)


MODELS = {"keras_mlp": _keras_mlp, "autoencoder": _autoencoder, "sklearn_mlp": _sklearn_mlp}
# The regressor, as when these tests were written (a classifier with labels 0..k-1 runs as well: its
# predict is the int32 index, see test_every_path's TFLite Micro test).
MICRO_MODELS = {**MODELS, "sklearn_mlp": _sklearn_regressor}


@pytest.fixture(scope="module")
def made():
    """Each model with its samples and its float32 ``.tflite`` (the quantizer's input)."""
    cache = {}

    def get(name, micro=False):
        if (name, micro) not in cache:
            model, X = (MICRO_MODELS if micro else MODELS)[name]()
            cache[name, micro] = (model, X, workbench.convert(model, "float32").content)
        return cache[name, micro]

    return get


def library_variant(float_bytes: bytes, recipe_name: str, X: np.ndarray) -> bytes:
    """The recipe applied by ``litert_quantizer`` directly, as a user would: its raw bytes."""
    from litert_quantizer import quantizer, recipe

    key, name = _signature_input(float_bytes)
    qt = quantizer.Quantizer(bytearray(float_bytes), getattr(recipe, recipe_name)())
    calibration = None
    if qt.need_calibration:
        calibration = qt.calibrate({key: [{name: x[None]} for x in X]}, num_threads=1)
    return bytes(qt.quantize(calibration, enable_progress_report=False).quantized_model)


def _signature_input(content: bytes) -> tuple[str, str]:
    signatures = Interpreter(model_content=content).get_signature_list()
    key = next(iter(signatures))
    return key, signatures[key]["inputs"][0]


def signature_outputs(content: bytes, X: np.ndarray) -> dict[str, np.ndarray]:
    interpreter = Interpreter(model_content=content)
    key, name = _signature_input(content)
    runner = interpreter.get_signature_runner(key)
    detail = runner.get_input_details()[name]
    if detail["dtype"] != np.float32:  # an integer input, fed as its scale and zero point say
        scale, zero_point = detail["quantization"]
        limits = np.iinfo(detail["dtype"])
        X = np.clip(np.round(X / scale + zero_point), limits.min, limits.max).astype(detail["dtype"])
    outputs = [runner(**{name: x[None]}) for x in X]
    return {out: np.concatenate([o[out] for o in outputs]) for out in outputs[0]}


def buffer_table(content: bytes) -> list[tuple[int, int, bytes]]:
    """(offset, size, stored bytes) of every buffer, read with the schema: data inline, or
    ``size`` bytes at ``offset`` when the offset is valid (above 1)."""
    model = schema.Model.GetRootAs(content, 0)
    rows = []
    for b in range(model.BuffersLength()):
        buffer = model.Buffers(b)
        if buffer.Offset() > 1:
            data = content[buffer.Offset() : buffer.Offset() + buffer.Size()]
        else:
            data = buffer.DataAsNumpy().tobytes() if buffer.DataLength() else b""
        rows.append((buffer.Offset(), buffer.Size(), data))
    return rows


def tensor_table(content: bytes) -> list[tuple[str, int, tuple, int]]:
    model = schema.Model.GetRootAs(content, 0)
    graph = model.Subgraphs(0)
    rows = []
    for t in range(graph.TensorsLength()):
        tensor = graph.Tensors(t)
        shape = tuple(tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()
        rows.append((tensor.Name().decode(), tensor.Type(), shape, tensor.Buffer()))
    return rows


def micro_arena(content: bytes, capfd) -> tuple[int, np.ndarray]:
    """TFLite Micro's own arena total for ``content`` (allocated generously), and its raw
    output on zeros."""
    from tflite_micro.python.tflite_micro import runtime

    interpreter = runtime.Interpreter.from_bytes(content, arena_size=4_000_000)
    details = interpreter.get_input_details(0)
    interpreter.set_input(np.zeros(details["shape"], details["dtype"]), 0)
    interpreter.invoke()
    libc = ctypes.CDLL(None)
    libc.fflush(None)
    capfd.readouterr()
    interpreter.print_allocations()
    libc.fflush(None)  # the report is C stdio, buffered when stdout is not a terminal
    captured = capfd.readouterr()
    report = captured.out + captured.err
    return int(re.search(r"Arena allocation total (\d+) bytes", report).group(1)), np.array(
        interpreter.get_output(0)
    )


@pytest.fixture(scope="module")
def raw_files(made):
    cache = {}

    def get(name, recipe_name, micro=False):
        if (name, recipe_name, micro) not in cache:
            _, X, float_bytes = made(name, micro)
            cache[name, recipe_name, micro] = library_variant(float_bytes, recipe_name, X)
        return cache[name, recipe_name, micro]

    return get


CASES = [(m, r) for m in MODELS for r in RECIPES]
IDS = [f"{m}-{r}" for m, r in CASES]


# ---------------------------------------------------------------- the plain file
@pytest.mark.parametrize(("name", "recipe_name"), CASES, ids=IDS)
def test_inlined_file_has_the_same_tensors_buffers_and_outputs(made, raw_files, name, recipe_name):
    from workbench._flatbuffer import inline_buffers

    _, X, _ = made(name)
    raw = raw_files(name, recipe_name)
    before = buffer_table(raw)
    assert any(offset > 1 for offset, _, _ in before), "the library stored no offset buffer: model too small"

    plain = inline_buffers(raw)
    after = buffer_table(plain)
    assert all(offset == 0 and size == 0 for offset, size, _ in after)
    assert [data for _, _, data in after] == [data for _, _, data in before]
    assert tensor_table(plain) == tensor_table(raw)
    # Aligned as TFLite's schema asks (force_align: 16), for TFLite Micro reading in place.
    model = schema.Model.GetRootAs(plain, 0)
    base = np.frombuffer(plain, np.uint8).ctypes.data
    for b in range(model.BuffersLength()):
        if model.Buffers(b).DataLength():
            assert (model.Buffers(b).DataAsNumpy().ctypes.data - base) % 16 == 0

    expected, got = signature_outputs(raw, X[:16]), signature_outputs(plain, X[:16])
    assert expected.keys() == got.keys()
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key])


def test_a_file_without_offset_buffers_comes_back_unchanged(made):
    from workbench._flatbuffer import inline_buffers

    _, _, float_bytes = made("autoencoder")
    assert inline_buffers(float_bytes) is float_bytes
    not_a_model = b"\x00" * 64
    assert inline_buffers(not_a_model) is not_a_model


# ---------------------------------------------------------------- readers
@pytest.mark.parametrize(("name", "recipe_name"), CASES, ids=IDS)
def test_inspection_reads_the_weights_of_a_raw_quantizer_file(made, raw_files, name, recipe_name):
    raw = raw_files(name, recipe_name)
    found = inspect_bytes(raw)
    by_op = {op.op: op for op in found.op_types}
    if recipe_name == "weight_only_wi8_afp32":
        # int8 weights dequantized to float before each FULLY_CONNECTED
        assert "INT8" in by_op["DEQUANTIZE"].weights
        assert found.mode.startswith("weight-only")
    else:
        assert "INT8" in by_op["FULLY_CONNECTED"].weights
        assert "INT32" not in by_op["FULLY_CONNECTED"].activations  # the biases are weights
        # (a scikit-learn graph keeps an op in float under the static recipe: "mixed")
        integer = ("full-integer", "mixed") if recipe_name.startswith("static") else ("dynamic-range",)
        assert found.mode.startswith(integer), found.mode
    weighted = "DEQUANTIZE" if recipe_name == "weight_only_wi8_afp32" else "FULLY_CONNECTED"
    line = next(line for line in found.report().splitlines() if line.strip().startswith(weighted + " "))
    assert "int8" in line.split("->")[0], line

    # Sizes by tensor add up to the stored bytes the tensors point at (read with the schema).
    referenced = {buffer for *_, buffer in tensor_table(raw)}
    stored = sum(len(data) for b, (_, _, data) in enumerate(buffer_table(raw)) if b in referenced)
    assert sum(nbytes for *_, nbytes in found.tensors) == stored
    assert stored > 256 * 1024
    # The same reading as of the plain file, whose weights are inline.
    from workbench._flatbuffer import inline_buffers

    plain = inspect_bytes(inline_buffers(raw))
    assert (found.op_types, found.tensors, found.mode) == (plain.op_types, plain.tensors, plain.mode)
    counts = stored_tensor_types(raw)
    assert counts.get("int8", 0) >= 3


# ---------------------------------------------------------------- what goes to a board
@pytest.mark.parametrize("name", list(MICRO_MODELS))
def test_micro_arena_of_a_static_recipe_is_near_the_converters_int8(made, raw_files, name, capfd):
    model, X, _ = made(name, micro=True)
    variant = workbench.convert(model, "static_wi8_ai8", representative=X)
    int8 = workbench.convert(model, "int8", representative=X)
    assert not any(offset > 1 for offset, _, _ in buffer_table(variant.content))

    converter_arena, _ = micro_arena(int8.content, capfd)
    recipe_arena, micro_out = micro_arena(variant.content, capfd)
    raw_arena, _ = micro_arena(raw_files(name, "static_wi8_ai8", micro=True), capfd)
    assert raw_arena > 10 * converter_arena  # before: the weights land in the arena
    assert recipe_arena <= 1.5 * converter_arena

    # TFLite Micro computes with the weights: its output on zeros is LiteRT's, within a step.
    interpreter = Interpreter(model_content=variant.content)
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
    interpreter.invoke()
    expected = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    assert np.max(np.abs(micro_out.astype(np.int32) - expected.astype(np.int32))) <= 1

    # The workbench's own arena search (the real interpreter, in its worker) agrees.
    assert workbench.check_micro(variant).arena_bytes <= 1.5 * workbench.check_micro(int8).arena_bytes


def test_c_source_and_save_hold_the_weights(made, raw_files, tmp_path):
    _, X, _ = made("autoencoder")
    raw = raw_files("autoencoder", "static_wi8_ai8")
    source, _ = c_source(raw, "g_model")
    array = bytes(int(h, 16) for h in re.findall(r"0x([0-9a-f]{2})", source))
    assert f"g_model_len = {len(array)};" in source
    assert abs(len(array) - len(raw)) <= 0.01 * len(raw)  # the weights are in the array
    assert not any(offset > 1 for offset, _, _ in buffer_table(array))
    for key, values in signature_outputs(raw, X[:8]).items():
        np.testing.assert_array_equal(signature_outputs(array, X[:8])[key], values)

    # A user's own quantizer file, loaded as-is, is saved plain; its size is the saved file's.
    path = tmp_path / "raw.tflite"
    path.write_bytes(raw)
    loaded = workbench.load_tflite(path)
    saved = loaded.save(tmp_path / "plain.tflite")
    written = open(saved, "rb").read()
    assert loaded.size_bytes == len(written)
    assert not any(offset > 1 for offset, _, _ in buffer_table(written))
    summary = loaded.summary(runtimes=False)
    assert "no weights" not in summary
    assert "after the flatbuffer" in summary  # says the file given is not the one to flash
    assert path.read_bytes() == raw  # the user's file is untouched
