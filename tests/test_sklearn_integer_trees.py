"""Integer trees: the static recipes of a scikit-learn tree ensemble (issue 24).

Oracles: scikit-learn's own ``predict`` (label agreement), a bare ``ai_edge_litert``
interpreter reading the file's outputs by signature name, and TFLite Micro's own Python
runtime reading them by position.
"""

from __future__ import annotations

import html
import pickle

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier, RandomForestRegressor

import workbench

MODES = ["static_wi8_ai8", "static_wi8_ai16"]


def _outputs(content: bytes, X: np.ndarray) -> dict:
    interpreter = Interpreter(model_content=content)
    runner = interpreter.get_signature_runner()
    return {name: np.asarray(value) for name, value in runner(x=X.astype(np.float32)).items()}


@pytest.fixture(scope="module")
def forests(digits):
    forest = RandomForestClassifier(n_estimators=20, max_depth=8, random_state=0)
    boosted = GradientBoostingClassifier(n_estimators=10, max_depth=3, random_state=0)
    return [m.fit(digits.X_train, digits.y_train) for m in (forest, boosted)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("which", [0, 1], ids=["forest", "boosting"])
def test_static_recipes_make_integer_trees_that_agree_with_scikit_learn(forests, digits, mode, which):
    estimator = forests[which]
    before = pickle.dumps(estimator)
    X = digits.X_test.astype(np.float32)
    converted = workbench.convert(estimator, mode, representative=digits.X_train[:50])
    assert pickle.dumps(estimator) == before  # the estimator is never modified

    outputs = _outputs(converted.content, X)
    labels, proba = outputs["predict"], outputs["predict_proba"]
    # predict is predict_proba's argmax, in the same file
    np.testing.assert_array_equal(estimator.classes_[np.argmax(proba, axis=1)], labels)
    expected = estimator.predict(X.astype(np.float64))
    assert np.mean(labels == expected) >= 0.98  # digits are integers 0..16: the grids hold them
    assert np.max(np.abs(proba - estimator.predict_proba(X.astype(np.float64)))) < 0.1

    # the node table is int8 bytes, no float32 table is left that large
    details = Interpreter(model_content=converted.content).get_tensor_details()
    largest = max(details, key=lambda d: int(np.prod(d["shape"])) * np.dtype(d["dtype"]).itemsize)
    assert np.dtype(largest["dtype"]) == np.int8
    if which == 0:  # a deep forest's file shrinks; ten boosting stages are tiny either way
        assert converted.size_bytes < workbench.convert(estimator).size_bytes


def test_integer_trees_give_the_same_answers_on_tflite_micro(forests, digits):
    from tflite_micro.python.tflite_micro import runtime

    converted = workbench.convert(forests[0], "static_wi8_ai8", representative=digits.X_train[:50])
    X = digits.X_test[:20].astype(np.float32)
    expected = _outputs(converted.content, X)
    litert = Interpreter(model_content=converted.content)
    by_index = {d["index"]: d for d in litert.get_output_details()}
    positions = [d["index"] for d in litert.get_output_details()]
    names = {
        name: positions.index(d["index"])
        for name, d in litert.get_signature_runner().get_output_details().items()
        if d["index"] in by_index
    }
    micro = runtime.Interpreter.from_bytes(converted.content, arena_size=200_000)
    for i, sample in enumerate(X):
        micro.set_input(sample[None, :], 0)
        micro.invoke()
        assert micro.get_output(names["predict"])[0] == expected["predict"][i]
        np.testing.assert_allclose(
            micro.get_output(names["predict_proba"])[0], expected["predict_proba"][i], atol=1e-6
        )


def test_a_regressor_gets_values_within_its_8_bit_leaves(diabetes):
    regressor = RandomForestRegressor(n_estimators=10, max_depth=5, random_state=0)
    regressor.fit(diabetes.X_train, diabetes.y_train)
    converted = workbench.convert(regressor, "static_wi8_ai16", representative=diabetes.X_train[:50])
    X = diabetes.X_test.astype(np.float32)
    got = _outputs(converted.content, X)["predict"].ravel()
    expected = regressor.predict(X.astype(np.float64))
    spread = np.ptp(expected)
    # 8-bit leaves and 16-bit grids: a few percent of the range, not exact
    assert np.median(np.abs(got - expected)) < 0.02 * spread


def test_nan_in_the_calibration_data_says_why_the_mode_cannot_apply(forests, digits):
    samples = digits.X_train[:50].astype(np.float32).copy()
    samples[3, 5] = np.nan
    before = pickle.dumps(forests[0])
    with pytest.raises(workbench.WorkbenchError, match="NaN"):
        workbench.convert(forests[0], "static_wi8_ai8", representative=samples)
    # the source's own refusal, for samples that reach it (a grid has no place for NaN)
    source = workbench.sources.as_source(forests[0])
    with pytest.raises(workbench.WorkbenchError, match="NaN") as caught:
        source.integer_trees(workbench.Mode("static_wi8_ai8"), samples)
    assert "float32" in str(caught.value)
    assert pickle.dumps(forests[0]) == before


def test_other_models_and_modes_are_untouched(digits):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=2000).fit(digits.X_train, digits.y_train)
    source = workbench.sources.as_source(model)
    assert source.integer_trees(workbench.Mode("static_wi8_ai8"), None) is None
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(digits.X_train, digits.y_train)
    assert (
        workbench.sources.as_source(forest).integer_trees(workbench.Mode("dynamic_wi8_afp32"), None) is None
    )


def test_check_micro_returns_the_primary_output_not_the_first(forests, digits):
    # The file states predict before predict_proba; a comparison scores predict_proba.
    converted = workbench.convert(forests[0], "static_wi8_ai8", representative=digits.X_train[:50])
    X = digits.X_test[:10].astype(np.float32)
    check = workbench.check_micro(converted, X)
    assert check.runs
    np.testing.assert_allclose(check.outputs, _outputs(converted.content, X)["predict_proba"], atol=1e-6)


@pytest.fixture(scope="module")
def iris_forest():
    data = workbench.load_dataset("iris")
    forest = RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0)
    return forest.fit(data.X_train, data.y_train), data


def test_integer_tree_rows_say_the_workbench_made_them(iris_forest):
    from sklearn.linear_model import LogisticRegression

    forest, data = iris_forest
    comparison = workbench.compare(forest, data, modes=["float32", "static_wi8_ai8"], progress=False)
    paths = comparison.table.set_index("variant")["path"]
    assert paths["static_wi8_ai8"] == "integer trees (workbench)"
    assert paths["float32"] == "converter"
    assert comparison.variants["static_wi8_ai8"].path == "integer trees (workbench)"
    # what the row says is what the file is: int8 node rows, not a quantizer's float32 tables
    details = Interpreter(model_content=comparison.variants["static_wi8_ai8"].content).get_tensor_details()
    assert any(np.dtype(d["dtype"]) == np.int8 for d in details)
    # the mode keeps its own path; a model that is no tree ensemble is made by the quantizer
    assert workbench.Mode("static_wi8_ai8").path == "LiteRT Quantizer"
    linear = LogisticRegression(max_iter=500).fit(data.X_train, data.y_train)
    converted = workbench.convert(linear, "static_wi8_ai8", representative=data.X_train[:50])
    assert converted.path == "LiteRT Quantizer"
    assert converted.with_threads(2).path == "LiteRT Quantizer"


def test_the_report_prints_workbench_code_that_remakes_the_integer_trees(iris_forest, tmp_path, monkeypatch):
    forest, data = iris_forest
    comparison = workbench.compare(forest, data, modes=["static_wi8_ai8"], progress=False)
    page = open(comparison.save(tmp_path / "report"), encoding="utf-8").read()
    assert "workbench code for this variant (integer trees (workbench))" in page
    assert "LiteRT Quantizer code for this variant" not in page  # no recipe makes these trees
    start = page.index("<pre>import numpy as np\nimport workbench")
    code = html.unescape(page[start + len("<pre>") : page.index("</pre>", start)])
    namespace: dict = {}
    exec(code, namespace)  # runs as pasted: it defines a function of the estimator
    monkeypatch.chdir(tmp_path / "report")  # where calibration_samples.npy was saved
    remade = namespace["static_wi8_ai8_variant"](forest)
    original = comparison.variants["static_wi8_ai8"]
    # the same trees: read apart from the workbench, both files answer alike on the test split
    X = np.asarray(data.X_test, dtype=np.float32)
    assert np.array_equal(_outputs(remade.content, X)["predict"], _outputs(original.content, X)["predict"])
    assert remade.path == original.path


def _iris_with_holes():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    X = X.copy()
    X[np.random.default_rng(0).random(X.shape) < 0.1] = np.nan
    return workbench.Dataset.from_arrays(X, y, allow_missing=True, name="iris with holes")


@pytest.mark.slow
def test_nan_data_gives_the_integer_tree_rows_a_reason_and_measures_the_others():
    from sklearn.ensemble import HistGradientBoostingClassifier

    data = _iris_with_holes()
    model = HistGradientBoostingClassifier(max_iter=10, max_depth=3, random_state=0)
    model.fit(data.X_train, data.y_train)
    params, before = model.get_params(), model.predict_proba(data.X_test)
    modes = ["float32", "int8", "static_wi8_ai8", "static_wi8_ai16"]
    table = workbench.compare(model, data, modes=modes, progress=False).table.set_index("variant")
    # measured: NaN routed as scikit-learn routes it
    assert table.loc["float32", "error"] == "" and table.loc["float32", "agreement"] == 1.0
    # the converter's int8 cannot calibrate on samples with NaN: its row says so, nothing aborts
    assert "NaN" in table.loc["int8", "error"] and np.isnan(table.loc["int8", "agreement"])
    for mode in ("static_wi8_ai8", "static_wi8_ai16"):
        error = table.loc[mode, "error"]
        assert "NaN" in error and "grid" in error and "float32" in error and "impute" in error
        assert table.loc[mode, "path"] == "integer trees (workbench)"
        assert np.isnan(table.loc[mode, "agreement"])
    # calibration samples without NaN, test data with it: still no integer trees for it
    finite = data.X_train[~np.isnan(data.X_train).any(axis=1)][:30]
    again = workbench.compare(model, data, modes=["static_wi8_ai8"], representative=finite, progress=False)
    assert "NaN" in again.table.set_index("variant").loc["static_wi8_ai8", "error"]
    assert model.get_params() == params
    np.testing.assert_array_equal(model.predict_proba(data.X_test), before)


def test_categorical_splits_are_refused_with_the_fix():
    from sklearn.ensemble import HistGradientBoostingClassifier

    data = workbench.load_dataset("iris")
    X = data.X_train.copy()
    X[:, 0] = np.round(X[:, 0])  # a few whole-number categories
    model = HistGradientBoostingClassifier(max_iter=5, categorical_features=[0], random_state=0)
    model.fit(X, data.y_train)
    params = model.get_params()
    with pytest.raises(workbench.WorkbenchError, match="categorical") as caught:
        workbench.convert(model, "static_wi8_ai8", representative=X[:30])
    assert "categorical_features=None" in str(caught.value)
    assert model.get_params() == params
