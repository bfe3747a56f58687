"""Every mode on every kind of model, each number checked against an independent reading.

The oracle here is written apart from the workbench: the variant's bytes on a bare
``ai_edge_litert`` Interpreter, through its signature runner, one sample at a time, the
output read *by name*, (de)quantized with the file's own scale and zero point, and scored
with scikit-learn's metrics. A row's metric must equal the oracle's; a variant of 8 bits or
more that loses far more than the converter's int8 must say why in its ``note``.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, r2_score

import workbench
from workbench import ALL_MODES

pytestmark = pytest.mark.slow

# Points of metric an 8-bit-or-wider variant may lose beyond the converter's int8 without a note.
LEEWAY = 0.03


# ------------------------------------------------------------------------------ the oracle
def oracle_outputs(content: bytes, X: np.ndarray, name: str) -> np.ndarray:
    """Output ``name`` of the file for every row of ``X``, as float, from a bare interpreter."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=content)
    signatures = interpreter.get_signature_list()
    key = "serving_default" if "serving_default" in signatures else next(iter(signatures))
    runner = interpreter.get_signature_runner(key)
    ((input_name, given),) = runner.get_input_details().items()
    answers = []
    for x in X:
        x = x[None].astype(np.float32)
        scale, zero = _scale(given)
        if np.dtype(given["dtype"]).kind == "i" and scale:
            info = np.iinfo(given["dtype"])
            x = np.clip(np.round(x / scale + zero), info.min, info.max).astype(given["dtype"])
        out = runner(**{input_name: x})[name]
        scale, zero = _scale(runner.get_output_details()[name])
        answers.append((out.astype(np.float64) - zero) * scale if scale else out.astype(np.float64))
    return np.concatenate(answers)


def _scale(detail) -> tuple[float, int]:
    scales = detail["quantization_parameters"]["scales"]
    zeros = detail["quantization_parameters"]["zero_points"]
    return (float(scales[0]), int(zeros[0])) if len(scales) else (0.0, 0)


def oracle_metric(case, content: bytes) -> float:
    outputs = oracle_outputs(content, case.X_test, case.output)
    if case.task == "regression":
        return r2_score(case.y_test, outputs.reshape(len(outputs)))
    if outputs.ndim == 1 or outputs.shape[1] == 1:  # labels themselves (an outlier detector's ±1)
        labels = outputs.reshape(len(outputs)).round().astype(int)
    else:
        labels = np.asarray(case.classes)[outputs.argmax(1)]
    return accuracy_score(case.y_test, labels)


# ------------------------------------------------------------------------------ the models
class Case:
    """One model, the data it is judged on, and which output of its file is scored."""

    def __init__(self, model, data, output, *, classes=None, compare_output=None, methods=()):
        self.model, self.data, self.output = model, data, output
        self.task = data.task
        self.X_test, self.y_test = data.X_test, data.y_test
        self.classes = classes if classes is not None else getattr(data, "classes", None)
        self.compare_output = compare_output
        #: scikit-learn methods every variant must offer, as the estimator does.
        self.methods = methods


def _keras_sine(seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    X = rng.uniform(-3, 3, size=(1200, 1)).astype(np.float32)
    y = np.sin(X[:, 0]) * 2 + 0.5
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(32, activation="tanh"), keras.layers.Dense(1)]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    model.fit(X[:900], y[:900], epochs=60, batch_size=64, verbose=0)
    return model, workbench.Dataset.from_arrays(X, y, task="regression", test_size=0.25, name="sine")


def _keras_gru(seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(400, 12, 4)).astype(np.float32)
    y = (X[:, :, 0].mean(1) > 0).astype(int) + (X[:, :, 1].mean(1) > 0).astype(int)
    model = keras.Sequential(
        [keras.Input((12, 4)), keras.layers.GRU(8), keras.layers.Dense(3, activation="softmax")]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(X[:300], y[:300], epochs=8, verbose=0)
    return model, workbench.Dataset.from_arrays(X, y, test_size=0.25, name="sequences")


def _keras_two_heads(digits, seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((64,))
    hidden = keras.layers.Dense(32, activation="relu")(inputs)
    digit = keras.layers.Dense(10, activation="softmax", name="digit")(hidden)
    ink = keras.layers.Dense(1, name="ink")(hidden)
    model = keras.Model(inputs, [digit, ink], name="two_heads")
    model.compile(optimizer="adam", loss=["sparse_categorical_crossentropy", "mse"])
    model.fit(
        digits.X_train, [digits.y_train, digits.X_train.sum(1, keepdims=True) / 500], epochs=15, verbose=0
    )
    return model


def _outlier_data(seed=0):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(size=(400, 4)), rng.normal(0, 5, size=(60, 4))]).astype(np.float32)
    y = np.r_[np.ones(400, int), -np.ones(60, int)]
    return workbench.Dataset.from_arrays(X, y, test_size=0.4, name="outliers")


def build_case(name: str, tmp_dir) -> Case:
    from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest, RandomForestClassifier
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    digits = workbench.load_dataset("digits")
    classify = ("predict", "predict_proba")
    if name == "keras_cnn":
        return Case(workbench.load_example("digits_cnn"), workbench.load_dataset("digits_images"), "output_0")
    if name == "keras_mlp":
        return Case(workbench.load_example("digits_mlp"), digits, "output_0")
    if name == "keras_gru":
        model, data = _keras_gru()
        return Case(model, data, "output_0")
    if name == "keras_sine_regressor":
        model, data = _keras_sine()
        return Case(model, data, "output_0")
    if name == "keras_two_heads":
        return Case(_keras_two_heads(digits), digits, "output_0", compare_output="digit")
    if name == "sklearn_logistic":
        model = LogisticRegression(max_iter=3000).fit(digits.X_train, digits.y_train)
        return Case(model, digits, "predict_proba", methods=(*classify, "decision_function"))
    if name == "sklearn_forest":
        model = RandomForestClassifier(30, max_depth=8, random_state=0).fit(digits.X_train, digits.y_train)
        return Case(model, digits, "predict_proba", methods=classify)
    if name == "sklearn_boosted":
        model = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(
            digits.X_train, digits.y_train
        )
        return Case(model, digits, "predict_proba", methods=classify)
    if name == "sklearn_mlp":
        model = MLPClassifier((32,), max_iter=400, random_state=0).fit(digits.X_train, digits.y_train)
        return Case(model, digits, "predict_proba", methods=classify)
    if name == "sklearn_svc_pipeline":
        model = make_pipeline(StandardScaler(), SVC(probability=True, random_state=0))
        model.fit(digits.X_train, digits.y_train)
        return Case(model, digits, "predict_proba", methods=(*classify, "decision_function"))
    if name == "sklearn_linear_regressor":
        diabetes = workbench.load_dataset("diabetes")
        return Case(
            LinearRegression().fit(diabetes.X_train, diabetes.y_train),
            diabetes,
            "predict",
            methods=("predict",),
        )
    if name == "sklearn_mlp_regressor":
        diabetes = workbench.load_dataset("diabetes")
        model = make_pipeline(
            StandardScaler(), MLPRegressor(hidden_layer_sizes=(32,), max_iter=2000, random_state=0)
        )
        model.fit(diabetes.X_train, diabetes.y_train)
        return Case(model, diabetes, "predict", methods=("predict",))
    if name == "sklearn_outlier_detector":
        data = _outlier_data()
        model = IsolationForest(n_estimators=40, random_state=0).fit(data.X_train)
        return Case(
            model, data, "predict", classes=np.array([-1, 1]), methods=("predict", "decision_function")
        )
    if name == "float32_tflite":
        path = workbench.convert(workbench.load_example("digits_mlp"), "float32").save(tmp_dir / "mlp.tflite")
        return Case(str(path), digits, "output_0")
    raise KeyError(name)


CASES = (
    "keras_cnn",
    "keras_mlp",
    "keras_gru",
    "keras_sine_regressor",
    "keras_two_heads",
    "sklearn_logistic",
    "sklearn_forest",
    "sklearn_boosted",
    "sklearn_mlp",
    "sklearn_svc_pipeline",
    "sklearn_linear_regressor",
    "sklearn_mlp_regressor",
    "sklearn_outlier_detector",
    "float32_tflite",
)

# Rows that are errors by design, and the reason each must give (a regular expression).
EXPECTED_ERRORS = {
    # A .tflite is compared as made: the converter would need the model it came from.
    ("float32_tflite", "float16"): "converter|does not apply",
    ("float32_tflite", "dynamic"): "converter|does not apply",
    ("float32_tflite", "int8"): "converter|does not apply",
    ("float32_tflite", "int16x8"): "converter|does not apply",
    # TensorFlow's converter crashes calibrating a recurrent loop; the row names the layer.
    ("keras_gru", "int8"): "recurrent",
    ("keras_gru", "int16x8"): "recurrent",
    # LiteRT Quantizer cannot calibrate a WHILE loop: the row says so, and what to use instead.
    ("keras_gru", "static_wi8_ai8"): "LiteRT Quantizer.*WHILE loop.*unroll=True",
    ("keras_gru", "static_wi8_ai16"): "LiteRT Quantizer.*WHILE loop.*unroll=True",
}
# What the libraries refuse for any model of a kind, in their own words: blockwise scales need
# every weight's input dimension to be a multiple of 32; the Hadamard rotation needs matrices
# it can rotate; the converter has no 16x8 kernel for comparisons (trees, forests, detectors).
LIBRARY_LIMITS = {
    "dynamic_wi4b32_afp32": "not divisible by block size 32",
    "dynamic_wi4c_hr_afp32": "LiteRT Quantizer's error",
    "int16x8": "not yet supported for op",
}
EXPECTED_ERRORS.update(
    {
        # The converter crashes (SIGSEGV) calibrating the SVC's pairwise coupling; the worker survives.
        ("sklearn_svc_pipeline", "int8"): "killed by signal",
        ("sklearn_svc_pipeline", "int16x8"): "killed by signal",
        # LiteRT Quantizer's calibrator reads the tensors of the coupling's WHILE loop, which
        # exist only while it runs: the row says so, with the library's own words.
        ("sklearn_svc_pipeline", "static_wi8_ai8"): "WHILE loop.*probability=False.*Tensor data is null",
        ("sklearn_svc_pipeline", "static_wi8_ai16"): "WHILE loop.*probability=False.*Tensor data is null",
    }
)
# Models whose weights are few or none (trees have no weight tensors; the converter leaves
# matrices under 1,024 values in float): a weight-only mode may change nothing, and says so.
MAY_BE_UNCHANGED = {name for name in CASES if name.startswith("sklearn_")} | {
    "keras_sine_regressor",
    "keras_gru",
}


_comparisons: dict[str, tuple[Case, workbench.Comparison]] = {}


@pytest.fixture
def compared(request, tmp_path_factory):
    name = request.param
    if name not in _comparisons:
        case = build_case(name, tmp_path_factory.mktemp(name))
        result = workbench.compare(
            case.model,
            case.data,
            modes=ALL_MODES,
            latency_budget=0.02,
            progress=False,
            output=case.compare_output,
        )
        _comparisons[name] = (case, result)
    return name, *_comparisons[name]


def _row(result, mode):
    table = result.table
    rows = table[(table["mode"] == mode) & (table["variant"] == mode)]
    assert len(rows) == 1, f"no row for {mode}: {list(table['variant'])}"
    return rows.iloc[0]


@pytest.mark.parametrize("mode", ALL_MODES)
@pytest.mark.parametrize("compared", CASES, indirect=True)
def test_every_number_matches_an_independent_reading(compared, mode):
    name, case, result = compared
    row = _row(result, mode)
    metric = result.metric
    expected_error = EXPECTED_ERRORS.get((name, mode))
    if (
        row["error"].startswith("unchanged")
        and name in MAY_BE_UNCHANGED
        and not workbench.Mode(mode).calibrated
    ):
        return
    if row["error"] and mode in LIBRARY_LIMITS and re.search(LIBRARY_LIMITS[mode], row["error"]):
        return
    if row["error"]:
        assert expected_error is not None, f"{name} × {mode} failed: {row['error']}"
        assert re.search(expected_error, row["error"]), row["error"]
        return
    assert expected_error is None, f"{name} × {mode} should have failed"
    variant = result.variants[mode]
    # The file names its outputs as the original's, and the row's number is the oracle's.
    from ai_edge_litert.interpreter import Interpreter

    signatures = Interpreter(model_content=variant.content).get_signature_list()
    assert case.output in next(iter(signatures.values()))["outputs"]
    assert row[metric] == pytest.approx(oracle_metric(case, variant.content), abs=1e-6)
    original = result.table.set_index("variant").loc["original", metric]
    assert row["metric_delta"] == pytest.approx(row[metric] - original, abs=1e-9)

    # An 8-bit-or-wider variant that loses far more than the converter's int8 says why.
    if workbench.Mode(mode).bits >= 8 and mode != "int8":
        table = result.table.set_index("variant")
        int8_loss = (
            original - table.loc["int8", metric]
            if "int8" in table.index and not table.loc["int8", "error"]
            else 0.0
        )
        if original - row[metric] > max(int8_loss, 0.0) + LEEWAY:
            assert row["note"].startswith("Why it lost"), (
                f"{name} × {mode} lost {original - row[metric]:.3f} silently"
            )

    # Every method the estimator has works on the variant and gives its shapes. (The converter's
    # int16x8 has no int16 ARG_MAX or comparisons: its file holds the scored output alone, and
    # predict applies the label rule to it in Python.)
    for method in (
        case.methods if mode != "int16x8" else [m for m in ("predict", case.output) if m in case.methods]
    ):
        expected = np.asarray(getattr(case.model, method)(case.X_test[:5]))
        got = np.asarray(getattr(variant, method)(case.X_test[:5]))
        assert got.shape == expected.shape, (method, got.shape, expected.shape)


# ------------------------------------------------------------------------------ TFLite Micro
_MICRO_SCRIPT = """
import sys, numpy as np
from tflite_micro.python.tflite_micro import runtime
content = open(sys.argv[1], 'rb').read()
X = np.load(sys.argv[2])
position = int(sys.argv[3])
interpreter = runtime.Interpreter.from_bytes(content, arena_size=4 * 1024 * 1024)
out = []
for x in X:
    interpreter.set_input(x[None], 0)
    interpreter.invoke()
    out.append(np.array(interpreter.get_output(position)))
np.save(sys.argv[4], np.concatenate(out))
"""


def micro_oracle(content: bytes, X: np.ndarray, name: str, tmp_path) -> np.ndarray:
    """Output ``name`` from TFLite Micro's own interpreter, in a process of its own (it can
    abort), dequantized with the file's scale: the output found by its position among the
    subgraph's outputs, read with a bare LiteRT interpreter."""
    import subprocess
    import sys

    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=content)
    runner = interpreter.get_signature_runner()
    wanted = runner.get_output_details()[name]
    position = [d["index"] for d in interpreter.get_output_details()].index(wanted["index"])
    given = runner.get_input_details()
    ((_, detail),) = given.items()
    scale, zero = _scale(detail)
    X = X.astype(np.float32)
    if np.dtype(detail["dtype"]).kind == "i" and scale:
        info = np.iinfo(detail["dtype"])
        X = np.clip(np.round(X / scale + zero), info.min, info.max).astype(detail["dtype"])
    paths = [tmp_path / n for n in ("model.tflite", "x.npy", "out.npy")]
    paths[0].write_bytes(content)
    np.save(paths[1], X)
    subprocess.run(
        [sys.executable, "-c", _MICRO_SCRIPT, str(paths[0]), str(paths[1]), str(position), str(paths[2])],
        check=True,
        timeout=300,
    )
    out = np.load(paths[2]).astype(np.float64)
    scale, zero = _scale(wanted)
    return (out - zero) * scale if scale else out


MICRO_CASES = ("keras_mlp", "sklearn_logistic", "sklearn_linear_regressor")
MICRO_MODES = ("float32", "int8", "static_wi8_ai8", "weight_only_wi8_afp32", "dynamic_wi8_afp32")


@pytest.mark.parametrize("name", MICRO_CASES)
def test_tflite_micro_answers_as_its_own_interpreter_does(name, tmp_path):
    case = build_case(name, tmp_path)
    result = workbench.compare(
        case.model, case.data, modes=MICRO_MODES, target="cortex-m4", latency_budget=0.02, progress=False
    )
    X = case.X_test[:200]
    ran = 0
    for mode in MICRO_MODES:
        row = _row(result, mode)
        if not row["tflm"]:
            # Dynamic-range files need hybrid kernels TFLite Micro does not have: the row says so.
            # (A classifier with labels 0..k-1 returns its int32 index: no int64 GATHER.)
            assert re.search("hybrid|dynamic", row["tflm_reason"]), (mode, row["tflm_reason"])
            continue
        ran += 1
        content = result.variants[mode].content
        micro = micro_oracle(content, X, case.output, tmp_path)
        litert = oracle_outputs(content, X, case.output)
        if case.task == "regression":
            close = np.isclose(micro.ravel(), litert.ravel(), rtol=1e-3, atol=1e-3 * np.ptp(litert))
            assert close.mean() >= 0.95, mode
        else:
            same = micro.argmax(1) == litert.argmax(1)
            assert row["tflm_agreement"] == pytest.approx(same.mean(), abs=0.02), mode
            assert same.mean() >= 0.9, mode
        assert row["tflm_arena_bytes"] > 0 and row["flash_bytes"] == len(content)
    assert ran >= 3


def test_an_svc_with_probabilities_runs_on_tflite_micro_as_scikit_learn_does(tmp_path):
    """The float32 file of a scaled SVC(probability=True): its coupling loop (WHILE) and its
    labels (0..9, the int32 index) are ops TFLite Micro has; checked against scikit-learn."""
    case = build_case("sklearn_svc_pipeline", tmp_path)
    content = workbench.convert(case.model, "float32").content
    X = case.X_test[:40].astype(np.float32)
    expected = case.model.predict_proba(X.astype(np.float64))
    proba = micro_oracle(content, X, "predict_proba", tmp_path)
    np.testing.assert_allclose(proba, expected, atol=1e-4)
    labels = micro_oracle(content, X, "predict", tmp_path)
    np.testing.assert_array_equal(labels.ravel(), case.model.predict(X.astype(np.float64)))
