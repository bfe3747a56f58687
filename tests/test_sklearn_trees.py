"""Trees and tree ensembles: threshold rounding, NaN routing, both layouts and both kinds
of tests, a large forest, and the settings that are refused.

Every ``.tflite`` here runs on the real LiteRT interpreter and is compared with
scikit-learn's own outputs by ``sklearn_cases.check_exact``.
"""

from __future__ import annotations

import ast
import inspect
import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from sklearn.base import is_regressor
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import (
    AdaBoostClassifier,
    AdaBoostRegressor,
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression
from sklearn.tree import (
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    ExtraTreeClassifier,
    ExtraTreeRegressor,
)
from sklearn_cases import check_exact

import workbench
from workbench import UnsupportedEstimatorError
from workbench.runtime import Converted, builtin_op_names
from workbench.sources.sklearn import _tree_ops, ensemble, tree
from workbench.sources.sklearn.ensemble import _hist_tree
from workbench.sources.sklearn.tree import class_fractions, tree_of


# ------------------------------------------------------------------ threshold rounding
def test_float32_thresholds_give_the_float64_comparison_for_every_neighbour():
    f32 = np.finfo(np.float32)
    t = np.array(
        [0.1, -0.1, 1 / 3, 2.0 / 3, 0.15, 3.5, 0.0, -0.0, 1e-40, -1e-40, 1e30, 1.5 * float(f32.max), np.inf]
    )
    t32 = _tree_ops.float32_thresholds(t)
    assert t32.dtype == np.float32
    assert np.all(t32.astype(np.float64) <= t)
    assert t32[-2] == f32.max and np.isposinf(t32[-1])
    assert t32[5] == 3.5  # exactly representable: unchanged
    for ti, ci in zip(t, t32, strict=True):
        near = [ci]
        for direction in (-np.inf, np.inf):
            x = ci
            for _ in range(3):
                with np.errstate(over="ignore"):
                    x = np.nextafter(x, np.float32(direction))
                near.append(x)
        x = np.array(near, dtype=np.float32)
        np.testing.assert_array_equal(x.astype(np.float64) <= ti, x <= ci)


def test_rounding_to_nearest_would_be_wrong():
    """The test above has teeth: float32(0.1) is above 0.1, so x = float32(0.1) goes right
    in scikit-learn but left under round-to-nearest."""
    nearest = np.float32(0.1)
    assert float(nearest) > 0.1
    assert _tree_ops.float32_thresholds([0.1])[0] == np.nextafter(nearest, np.float32(0))


def _split_nodes(estimator):
    """Every tree of a fitted model as (left, right, feature, threshold) arrays, -1 at leaves."""
    if hasattr(estimator, "_predictors"):
        for nodes in (p.nodes for it in estimator._predictors for p in it):
            leaf = nodes["is_leaf"].astype(bool)
            left = np.where(leaf, -1, nodes["left"].astype(np.int64))
            right = np.where(leaf, -1, nodes["right"].astype(np.int64))
            yield left, right, nodes["feature_idx"], nodes["num_threshold"]
        return
    for fitted in np.asarray(getattr(estimator, "estimators_", [estimator]), dtype=object).ravel():
        t = fitted.tree_
        yield t.children_left, t.children_right, t.feature, t.threshold


def _threshold_neighbours(estimator, X: np.ndarray) -> tuple[np.ndarray, int]:
    """For every split: a sample of ``X`` that reaches it, with the split's feature set to
    float32 values on and next to the threshold (the largest float32 at or below it, the
    smallest above it, and one step further each way). Also returns how many of these rows
    round-to-nearest would send the wrong way at that split."""
    X32 = X.astype(np.float32)
    rows, misrouted = [], 0
    for left, right, feature, threshold in _split_nodes(estimator):
        # Walk all samples down together, keeping one sample that reaches each node.
        reaching = np.full(len(left), -1)
        at = np.zeros(len(X32), dtype=np.int64)
        for _ in range(len(left)):
            first = np.unique(at, return_index=True)
            reaching[first[0]] = np.where(reaching[first[0]] < 0, first[1], reaching[first[0]])
            inner = left[at] >= 0
            if not inner.any():
                break
            goes_left = X32[np.arange(len(X32)), feature[at]].astype(np.float64) <= threshold[at]
            at = np.where(inner, np.where(goes_left, left[at], right[at]), at)
        for node in np.flatnonzero((left >= 0) & (reaching >= 0) & np.isfinite(threshold)):
            t = threshold[node]
            below = _tree_ops.float32_thresholds([t])[0]
            above = np.nextafter(below, np.float32(np.inf))
            values = [
                below,
                above,
                np.nextafter(below, np.float32(-np.inf)),
                np.nextafter(above, np.float32(np.inf)),
            ]
            block = np.repeat(X32[reaching[node]][None], len(values), axis=0)
            block[:, feature[node]] = values
            rows.append(block)
            misrouted += int(float(above) > t and above <= np.float32(t))
    return np.concatenate(rows), misrouted


THRESHOLD_MODELS = [
    lambda: DecisionTreeClassifier(random_state=0),
    lambda: ExtraTreeClassifier(random_state=0),
    lambda: DecisionTreeRegressor(max_depth=8, random_state=0),
    lambda: ExtraTreeRegressor(max_depth=8, random_state=0),
    lambda: RandomForestClassifier(n_estimators=5, random_state=0),
    lambda: RandomForestRegressor(n_estimators=5, max_depth=6, random_state=0),
    lambda: ExtraTreesClassifier(n_estimators=5, random_state=0),
    lambda: ExtraTreesRegressor(n_estimators=5, max_depth=6, random_state=0),
    lambda: GradientBoostingClassifier(n_estimators=10, random_state=0),
    lambda: GradientBoostingRegressor(n_estimators=10, random_state=0),
    lambda: HistGradientBoostingClassifier(max_iter=10, random_state=0),
    lambda: HistGradientBoostingRegressor(max_iter=10, random_state=0),
    lambda: AdaBoostClassifier(DecisionTreeClassifier(max_depth=3), n_estimators=10, random_state=0),
]


@pytest.fixture(scope="module")
def decimal_data():
    """Features in steps of 0.1 (no float32 is a tenth), three classes and a target."""
    rng = np.random.default_rng(0)
    X = rng.integers(0, 30, size=(400, 4)) / 10.0 + 0.1
    y = (X[:, 0] + X[:, 1] > 3.0).astype(int) + (X[:, 2] > 1.55)
    return X, y, X @ [1.0, -2.0, 0.5, 0.3]


@pytest.mark.parametrize("factory", THRESHOLD_MODELS, ids=lambda f: type(f()).__name__)
def test_values_on_and_next_to_every_threshold(factory, decimal_data):
    X, y, target = decimal_data
    estimator = factory()
    estimator.fit(X, target if is_regressor(estimator) else y)
    X_test, misrouted = _threshold_neighbours(estimator, X)
    assert misrouted > 0, "no threshold where round-to-nearest goes wrong: the test would not catch it"
    converted = workbench.convert(estimator, "float32")
    check_exact(estimator, converted, X_test)


def test_denormal_inputs_against_a_zero_threshold():
    X = np.array([[-1.0], [1.0]] * 10)
    estimator = DecisionTreeClassifier().fit(X, [0, 1] * 10)
    assert estimator.tree_.threshold[0] == 0.0
    X_test = np.array([[1e-45], [-1e-45], [1e-39], [-0.0], [0.0]], dtype=np.float32)
    check_exact(estimator, workbench.convert(estimator), X_test)


# ------------------------------------------------------------------ missing values
@pytest.fixture(scope="module")
def nan_data():
    """NaN in training (column 0, predictive), a column that is NaN exactly for class 1
    (its only split is the "NaN only" split at +inf), and columns without NaN in training."""
    rng = np.random.default_rng(1)
    n = 600
    X = rng.normal(size=(n, 4))
    y = (X[:, 1] + X[:, 3] > 0).astype(int)
    X[rng.random(n) < 0.2, 0] = np.nan
    y[np.isnan(X[:, 0]) & (rng.random(n) < 0.7)] = 1
    X[:, 2] = np.where((y == 1) & (rng.random(n) < 0.5), np.nan, 1.0)
    X_test = rng.normal(size=(300, 4))
    X_test[:, 2] = 1.0
    holes = rng.random(X_test.shape) < 0.25
    X_test[holes] = np.nan
    X_test[:10, 1] = np.inf
    X_test[10:20, 3] = -np.inf
    X_test[20:30, 2] = np.inf
    X_test[30:40, 0] = np.inf
    X_test[40:50, 0] = -np.inf
    X_test[50:60, 1] = np.finfo(np.float32).max
    return X, y, X_test


def test_hist_gradient_boosting_routes_nan_and_inf_like_scikit_learn(nan_data):
    X, y, X_test = nan_data
    estimator = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(X, y)
    nodes = np.concatenate([p.nodes for it in estimator._predictors for p in it])
    inner = nodes[~nodes["is_leaf"].astype(bool)]
    assert np.isposinf(inner["num_threshold"]).any(), "no NaN-only split: the test would not cover it"
    assert set(inner["missing_go_to_left"]) == {0, 1}
    report = check_exact(estimator, workbench.convert(estimator), X_test)
    assert report["n"] == len(X_test)


def test_hist_gradient_boosting_regressor_with_nan(nan_data):
    X, y, X_test = nan_data
    estimator = HistGradientBoostingRegressor(max_iter=20, random_state=0).fit(X, y + X[:, 1])
    check_exact(estimator, workbench.convert(estimator), X_test)


def test_forest_routes_nan_by_each_node(nan_data):
    X, y, X_test = nan_data
    X_test = np.where(np.isinf(X_test), 0.0, X_test)  # scikit-learn's trees refuse inf
    estimator = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    check_exact(estimator, workbench.convert(estimator), X_test)


# ------------------------------------------------------------------ both layouts, both tests
def _convert_in_process(trees, n_features, n_outputs, layout, tests) -> Converted:
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([None, n_features], tf.float32)])
    def model(x):
        return _tree_ops.forest_sum(x, trees, n_outputs, layout=layout, tests=tests)

    module = tf.Module()
    module.model = model
    converter = tf.lite.TFLiteConverter.from_concrete_functions([model.get_concrete_function()], module)
    return Converted(converter.convert())


@pytest.fixture(scope="module")
def fitted_for_layouts(nan_data):
    X, y, X_test = nan_data
    forest = RandomForestClassifier(n_estimators=4, max_depth=6, random_state=0).fit(X, y)
    hist = HistGradientBoostingRegressor(max_iter=5, random_state=0).fit(X, y)
    return forest, hist, X_test


@pytest.mark.parametrize("layout", ["perfect", "compact", "sinks"])
@pytest.mark.parametrize("tests", ["table", "direct"])
def test_every_layout_and_kind_of_test_is_exact(layout, tests, fitted_for_layouts):
    forest, hist, X_test = fitted_for_layouts
    n = len(forest.estimators_)
    trees = [tree_of(e.tree_, class_fractions(e) / n) for e in forest.estimators_]
    converted = _convert_in_process(trees, 4, 2, layout, tests)
    assert set(converted.ops) <= set(builtin_op_names().values())
    finite = np.where(np.isinf(X_test), 0.0, X_test).astype(np.float32)
    np.testing.assert_allclose(
        converted.run(finite), forest.predict_proba(finite.astype(np.float64)), atol=1e-6
    )

    trees = [_hist_tree(hist, p, 0) for it in hist._predictors for p in it]
    converted = _convert_in_process(trees, 4, 1, layout, tests)
    raw = hist._raw_predict(X_test.astype(np.float32).astype(np.float64)) - hist._baseline_prediction
    np.testing.assert_allclose(converted.run(X_test), raw, rtol=1e-5, atol=1e-6)


def _stored_types(content: bytes) -> dict[str, str]:
    """Tensor name -> stored type of every constant, read with the schema alone."""
    from ai_edge_litert import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(content, 0))
    graph = model.subgraphs[0]
    return {
        t.name.decode(): names[t.type]
        for t in graph.tensors
        if model.buffers[t.buffer].data is not None and len(model.buffers[t.buffer].data)
    }


@pytest.mark.parametrize("narrow", [True, False], ids=["int16 tables", "int32 tables"])
@pytest.mark.parametrize("layout", ["perfect", "compact", "sinks"])
def test_table_rows_are_int16_where_they_fit_and_int32_beyond(
    layout, narrow, fitted_for_layouts, monkeypatch
):
    from workbench.sources.sklearn import _tree_plan

    if not narrow:  # as if every table had 2 ** 15 entries or more
        monkeypatch.setattr(_tree_plan, "INT16_ENTRIES", 2)
    _, hist, X_test = fitted_for_layouts
    trees = [_hist_tree(hist, p, 0) for it in hist._predictors for p in it]
    converted = _convert_in_process(trees, 4, 1, layout, "table")
    rows = {n: t for n, t in _stored_types(converted.content).items() if "node_rows" in n}
    assert rows and set(rows.values()) == {"INT16" if narrow else "INT32"}, rows
    raw = hist._raw_predict(X_test.astype(np.float32).astype(np.float64)) - hist._baseline_prediction
    np.testing.assert_allclose(converted.run(X_test), raw, rtol=1e-5, atol=1e-6)


def _regression_trees(depths, n_features=3):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, n_features))
    fitted = [DecisionTreeRegressor(max_depth=d, random_state=0).fit(X, rng.normal(size=400)) for d in depths]
    return [tree_of(f.tree_, f.tree_.value[:, :, 0]) for f in fitted]


def test_shallow_trees_get_the_perfect_layout_deep_sparse_ones_the_compact():
    plan = _tree_ops.plan_forest(_regression_trees([2] * 20), 3, 1)
    assert [g.layout for g in plan.groups] == ["perfect"], plan.describe()
    deep = DecisionTreeRegressor(random_state=0).fit(
        np.random.default_rng(0).normal(size=(500, 3)), np.arange(500.0)
    )
    plan = _tree_ops.plan_forest([tree_of(deep.tree_, deep.tree_.value[:, :, 0])], 3, 1)
    assert [g.layout for g in plan.groups] == ["compact"], plan.describe()  # perfect: 2**depth slots


def test_a_few_deep_trees_do_not_make_the_shallow_ones_walk_as_far():
    trees = _regression_trees([2] * 60 + [12] * 2)
    plan = _tree_ops.plan_forest(trees, 3, 1)
    assert sorted(g.depth for g in plan.groups) == [2, 12], plan.describe()
    assert sorted(len(g.trees) for g in plan.groups) == [2, 60]


def test_single_leaf_trees_give_their_constant():
    X = np.random.default_rng(0).normal(size=(30, 3))
    regressor = DecisionTreeRegressor().fit(X, np.full(30, 2.5))
    assert regressor.tree_.node_count == 1
    check_exact(regressor, workbench.convert(regressor), X)
    forest = RandomForestRegressor(n_estimators=3, random_state=0).fit(X, np.full(30, -1.0))
    check_exact(forest, workbench.convert(forest), X)


@pytest.mark.parametrize(
    "factory",
    [
        lambda: DecisionTreeRegressor(max_depth=6, random_state=0),
        lambda: RandomForestRegressor(5, random_state=0),
    ],
    ids=["DecisionTreeRegressor", "RandomForestRegressor"],
)
def test_several_targets_give_one_column_each(factory, decimal_data):
    X, _, target = decimal_data
    estimator = factory().fit(X, np.stack([target, -2 * target + X[:, 3]], axis=1))
    converted = workbench.convert(estimator)
    assert converted.outputs[0].shape[1:] == (2,)
    check_exact(estimator, converted, X)


# ------------------------------------------------------------------ a large forest
def test_hundred_trees_of_depth_ten_convert_exactly_and_unchanged(digits):
    estimator = RandomForestClassifier(n_estimators=100, max_depth=10, random_state=0)
    estimator.fit(digits.X_train, digits.y_train)
    before = pickle.dumps(estimator)
    converted = workbench.convert(estimator, "float32")
    assert pickle.dumps(estimator) == before
    assert set(converted.ops) <= set(builtin_op_names().values())
    assert sum(converted.ops.values()) < 100, converted.ops  # levels of all trees at once, not per tree
    check_exact(estimator, converted, digits.X_test)


@pytest.mark.parametrize(
    "factory",
    [
        lambda: GradientBoostingClassifier(n_estimators=10, random_state=0),
        lambda: HistGradientBoostingClassifier(max_iter=10, random_state=0),
        lambda: AdaBoostClassifier(n_estimators=10, random_state=0),
    ],
    ids=lambda f: type(f()).__name__,
)
def test_conversion_leaves_the_estimator_unchanged(factory):
    data = workbench.load_dataset("wine")
    estimator = factory().fit(data.X_train, data.y_train)
    before = pickle.dumps(estimator)
    workbench.convert(estimator, "float32")
    assert pickle.dumps(estimator) == before


@pytest.mark.parametrize("dataset", ["breast_cancer", "wine"])
@pytest.mark.parametrize(
    "factory, build",
    [
        (
            lambda: GradientBoostingClassifier(n_estimators=10, random_state=0),
            ensemble.build_gradient_boosting,
        ),
        (
            lambda: HistGradientBoostingClassifier(max_iter=10, random_state=0),
            ensemble.build_hist_gradient_boosting,
        ),
        (lambda: AdaBoostClassifier(n_estimators=10, random_state=0), ensemble.build_adaboost),
    ],
    ids=["GradientBoosting", "HistGradientBoosting", "AdaBoost"],
)
def test_boosting_decision_values(factory, build, dataset):
    """Asked for ``decision`` (a pipeline without predict_proba does), boosting gives
    ``decision_function``: one column for two classes."""
    import tensorflow as tf

    data = workbench.load_dataset(dataset)
    estimator = factory().fit(data.X_train, data.y_train)
    X = data.X_test.astype(np.float32)
    got = build(estimator, tf.constant(X), "decision").numpy()
    expected = estimator.decision_function(X.astype(np.float64)).reshape(len(X), -1)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------ refused settings
REFUSED = [
    pytest.param(
        lambda X, y: GradientBoostingClassifier(n_estimators=5, init=LogisticRegression(max_iter=500)).fit(
            X, y
        ),
        ["init=LogisticRegression", "default init"],
        id="gradient-boosting-custom-init",
    ),
    pytest.param(
        lambda X, y: GradientBoostingClassifier(
            n_estimators=5, init=DummyClassifier(strategy="stratified")
        ).fit(X, y),
        ["init=DummyClassifier"],
        id="gradient-boosting-random-init",
    ),
    pytest.param(
        lambda X, y: HistGradientBoostingClassifier(max_iter=5, categorical_features=[0]).fit(np.round(X), y),
        ["categorical features", "OrdinalEncoder"],
        id="hist-gradient-boosting-categorical",
    ),
    pytest.param(
        lambda X, y: AdaBoostRegressor(n_estimators=3, random_state=0).fit(X, y),
        ["AdaBoostRegressor", "RandomForestRegressor"],
        id="adaboost-regressor",
    ),
]


@pytest.mark.parametrize("fit, words", REFUSED)
def test_refused_settings_say_what_and_how_to_fix(fit, words):
    data = workbench.load_dataset("iris")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator = fit(data.X_train, data.y_train)
    with pytest.raises(UnsupportedEstimatorError) as caught:
        workbench.convert(estimator, "float32")
    message = str(caught.value)
    for word in words:
        assert word in message, message
    assert caught.value.fix


# ------------------------------------------------------------------ module hygiene
def test_tree_modules_do_not_import_tensorflow_and_tree_ops_not_sklearn():
    code = """
        import sys
        from workbench.sources.sklearn import _tree_ops, tree, ensemble
        print("tensorflow" in sys.modules)
    """
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
    from workbench.sources.sklearn import _tree_graph, _tree_integer, _tree_plan, _trees

    imported = set()
    for module in (_tree_ops, _trees, _tree_plan, _tree_graph, _tree_integer):  # the tree op modules
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
    assert "sklearn" not in imported
    assert set(tree.BUILDERS) | set(ensemble.BUILDERS)  # both families register something
