"""scikit-learn in the corners (issue 17): saturated scores, one-class fits, multi-output
and multilabel targets, outlier labels, Minkowski neighbours, meta-estimators over any
registered part, and the float32 precision bound. Every model is fitted here on data made
for the corner, and every method is checked against scikit-learn on held-out rows."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.calibration import CalibratedClassifierCV
from sklearn.covariance import EllipticEnvelope
from sklearn.ensemble import (
    AdaBoostClassifier,
    BaggingClassifier,
    ExtraTreesClassifier,
    HistGradientBoostingClassifier,
    IsolationForest,
    RandomForestClassifier,
    StackingClassifier,
    VotingClassifier,
)
from sklearn.linear_model import LogisticRegression, SGDClassifier, SGDOneClassSVM
from sklearn.multiclass import OneVsRestClassifier
from sklearn.multioutput import MultiOutputClassifier
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor, LocalOutlierFactor
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC, LinearSVC, OneClassSVM
from sklearn.tree import DecisionTreeClassifier, ExtraTreeClassifier
from sklearn_cases import check_exact

import workbench
from workbench import UnsupportedEstimatorError

#: float32's unit roundoff: the relative error of one rounding.
UNIT_ROUNDOFF = 2.0**-24


def _quiet_fit(estimator, X, y=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence, deprecations
        return estimator.fit(X, y) if y is not None else estimator.fit(X)


def _float32(X):
    return np.asarray(X, dtype=np.float32).astype(np.float64)


# ------------------------------------------------------------------ 1. saturated scores
def test_saturated_one_vs_rest_logistic_probabilities_follow_float64():
    """Rows where every one-vs-rest score is below -88 (float32 sigmoids are all 0) but
    above -709.78 (float64's are not): scikit-learn gives one class almost all the mass;
    rows below -709.78 everywhere are uniform in scikit-learn too."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 4))
    y = rng.integers(0, 5, size=400)
    estimator = _quiet_fit(SGDClassifier(loss="log_loss", random_state=0), X * 50, y)
    X_test = _float32(rng.normal(size=(800, 4)) * np.repeat([30.0, 100.0], 400)[:, None])
    top = estimator.decision_function(X_test).max(axis=1)
    saturated = (top < -88) & (top > -709)
    underflow = top < -709.79
    assert saturated.sum() >= 20 and underflow.sum() >= 20, "the data must reach both regimes"
    proba = estimator.predict_proba(X_test)
    assert proba[saturated].max(axis=1).min() > 0.99  # not a uniform row
    np.testing.assert_allclose(proba[underflow], 0.2)
    converted = workbench.convert(estimator)
    np.testing.assert_allclose(converted.predict_proba(X_test), proba, atol=1e-6)
    check_exact(estimator, converted, X_test)


@pytest.mark.parametrize(
    "make",
    [
        lambda: LogisticRegression(C=1e4, max_iter=5000),
        lambda: MLPClassifier((8,), max_iter=2000, random_state=0),
        lambda: GaussianNB(),
        lambda: SVC(gamma=2.0, probability=True, random_state=0),
        lambda: AdaBoostClassifier(n_estimators=20, random_state=0),
        lambda: OneVsRestClassifier(LogisticRegression(C=1e4, max_iter=5000)),
    ],
    ids=[
        "LogisticRegression-softmax",
        "MLP-softmax",
        "GaussianNB",
        "SVC-Platt-coupling-rbf",
        "AdaBoost",
        "OneVsRest-logistic",
    ],
)
def test_probabilities_stay_finite_and_faithful_far_from_the_data(make):
    """Test rows up to 1000 times farther out than the training data: logits of
    thousands, kernel values that underflow, likelihoods far in the tails."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(240, 3)) + np.repeat(np.eye(3) * 3, 80, axis=0)
    y = np.repeat(np.arange(3), 80)
    estimator = _quiet_fit(make(), X, y)
    X_test = _float32(rng.normal(size=(300, 3)) * np.repeat([1.0, 30.0, 1000.0], 100)[:, None])
    converted = workbench.convert(estimator)
    proba = converted.predict_proba(X_test)
    assert np.isfinite(proba).all()
    check_exact(estimator, converted, X_test)


def test_calibrated_probabilities_far_out_and_labels_where_float32_can_tell():
    """Three calibrated classifiers averaged: far out, two classes reach probabilities that
    agree to 1e-16 in float64 (0.49999999999999983 against 0.50000000000000011), which no
    float32 value can order; the probabilities stay within 1e-5 and the labels agree
    wherever scikit-learn's two largest differ by more than float32's resolution."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(240, 3)) + np.repeat(np.eye(3) * 3, 80, axis=0)
    y = np.repeat(np.arange(3), 80)
    estimator = CalibratedClassifierCV(LinearSVC(C=100.0, max_iter=20000, random_state=0), cv=3).fit(X, y)
    X_test = _float32(rng.normal(size=(300, 3)) * np.repeat([1.0, 30.0, 1000.0], 100)[:, None])
    converted = workbench.convert(estimator)
    proba = estimator.predict_proba(X_test)
    got = converted.predict_proba(X_test)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, proba, atol=1e-5)
    top_two = np.sort(proba, axis=1)[:, -2:]
    resolved = top_two[:, 1] - top_two[:, 0] > 1e-6
    assert (~resolved).sum() > 10 and resolved.sum() > 200
    np.testing.assert_array_equal(converted.predict(X_test)[resolved], estimator.predict(X_test)[resolved])


# ------------------------------------------------------------------ 2. outlier detectors
@pytest.mark.parametrize(
    "make",
    [
        lambda: OneClassSVM(nu=0.05, gamma=0.3),
        lambda: SGDOneClassSVM(nu=0.1, random_state=0),
        lambda: IsolationForest(n_estimators=30, random_state=0),
        lambda: LocalOutlierFactor(n_neighbors=10, novelty=True),
        lambda: EllipticEnvelope(random_state=0),
    ],
    ids=lambda make: type(make()).__name__,
)
def test_outlier_detectors_predict_plus_minus_one_and_their_scores(make):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 3))
    X_test = _float32(np.concatenate([rng.normal(size=(150, 3)), rng.uniform(-8, 8, size=(150, 3))]))
    estimator = _quiet_fit(make(), X)
    converted = workbench.convert(estimator)
    labels = converted.predict(X_test)
    assert set(np.unique(labels)) == {-1, 1}
    assert (labels == -1).sum() > 50 and (labels == 1).sum() > 50
    np.testing.assert_array_equal(labels, estimator.predict(X_test))
    check_exact(estimator, converted, X_test)


# ------------------------------------------------------------------ 3. one class seen
@pytest.mark.parametrize(
    "make",
    [
        DecisionTreeClassifier,
        lambda: RandomForestClassifier(n_estimators=5, random_state=0),
        lambda: ExtraTreesClassifier(n_estimators=5, random_state=0),
        lambda: KNeighborsClassifier(n_neighbors=3),
        GaussianNB,
        lambda: AdaBoostClassifier(n_estimators=5, random_state=0),
        lambda: MLPClassifier((4,), max_iter=50, random_state=0),
        lambda: HistGradientBoostingClassifier(max_iter=5),
        lambda: BaggingClassifier(n_estimators=3, random_state=0),
    ],
    ids=lambda make: type(make()).__name__,
)
def test_classifier_fitted_on_one_class_predicts_it(make):
    rng = np.random.default_rng(6)
    X, X_test = rng.normal(size=(60, 3)), _float32(rng.normal(size=(80, 3)) * 3)
    estimator = _quiet_fit(make(), X, np.full(60, "only"))
    converted = workbench.convert(estimator)
    labels = converted.predict(X_test)
    np.testing.assert_array_equal(labels, np.full(80, "only"))
    np.testing.assert_array_equal(labels, estimator.predict(X_test))
    proba = converted.predict_proba(X_test)
    np.testing.assert_allclose(proba, estimator.predict_proba(X_test), atol=1e-6)
    if proba.shape[1] == 1:  # MLPClassifier alone gives two columns, as scikit-learn
        np.testing.assert_array_equal(proba, 1.0)
    if not isinstance(estimator, AdaBoostClassifier):  # its (n, 1) decision of zeros comes back 1-D
        check_exact(estimator, converted, X_test)


# ------------------------------------------------------------------ 4. multi-output targets
def _multi_output_data(seed=7):
    """Three targets of different kinds: binary, five classes, and three string classes."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(300, 4))
    X_test = _float32(rng.normal(size=(200, 4)))

    def targets(A):
        return np.column_stack(
            [
                (A[:, 0] > 0).astype(int),
                np.clip(np.round(A[:, 1] * 1.5), -2, 2).astype(int) * 10,
                np.digitize(A[:, 2] + A[:, 3], [-0.5, 0.5]),
            ]
        )

    return X, targets(X), X_test


def _check_multi_output(estimator, converted, X_test):
    """``predict`` in scikit-learn's shape and dtype; ``predict_proba`` a list of arrays."""
    expected = estimator.predict(X_test)
    got = converted.predict(X_test)
    assert got.shape == expected.shape and got.dtype == expected.dtype, (got.dtype, expected.dtype)
    np.testing.assert_array_equal(got, expected)
    if not hasattr(estimator, "predict_proba"):
        return
    expected_proba = estimator.predict_proba(X_test)
    got_proba = converted.predict_proba(X_test)
    if isinstance(expected_proba, list):
        assert isinstance(got_proba, list) and len(got_proba) == len(expected_proba)
        for ours, theirs in zip(got_proba, expected_proba, strict=True):
            assert ours.shape == theirs.shape
            np.testing.assert_allclose(ours, theirs, atol=1e-5)
    else:
        np.testing.assert_allclose(got_proba, expected_proba, atol=1e-5)


@pytest.mark.parametrize(
    "make",
    [
        lambda: DecisionTreeClassifier(random_state=0),
        lambda: ExtraTreeClassifier(random_state=0),
        lambda: RandomForestClassifier(n_estimators=10, max_depth=6, random_state=0),
        lambda: ExtraTreesClassifier(n_estimators=10, random_state=0),
        lambda: KNeighborsClassifier(n_neighbors=6),
        lambda: KNeighborsClassifier(n_neighbors=6, weights="distance", metric="manhattan"),
        lambda: MultiOutputClassifier(LogisticRegression(max_iter=2000)),
        lambda: MultiOutputClassifier(SVC(kernel="rbf")),
    ],
    ids=[
        "DecisionTree",
        "ExtraTree",
        "RandomForest",
        "ExtraTrees",
        "KNeighbors",
        "KNeighbors-distance-manhattan",
        "MultiOutput-LogisticRegression",
        "MultiOutput-SVC",
    ],
)
def test_multi_output_classifiers_predict_every_target(make):
    X, Y, X_test = _multi_output_data()
    estimator = _quiet_fit(make(), X, Y)
    converted = workbench.convert(estimator)
    if hasattr(estimator, "predict_proba"):
        assert converted.output_names == ("predict", "predict_proba_0", "predict_proba_1", "predict_proba_2")
    _check_multi_output(estimator, converted, X_test)


def test_multi_output_string_labels_and_bare_interpreter(tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    X, Y, X_test = _multi_output_data(seed=8)
    names = np.array(["low", "mid", "high"])
    Y_text = np.column_stack([names[Y[:, 0]], names[Y[:, 2]]])
    estimator = RandomForestClassifier(n_estimators=8, random_state=0).fit(X, Y_text)
    converted = workbench.convert(estimator)
    _check_multi_output(estimator, converted, X_test)
    assert converted.predict(X_test).dtype.kind == "U"
    runner = Interpreter(model_path=str(converted.save(tmp_path / "forest.tflite"))).get_signature_runner()
    outputs = runner(x=X_test.astype(np.float32))
    assert set(outputs) == {"predict", "predict_proba_0", "predict_proba_1"}
    for k, expected in enumerate(estimator.predict_proba(X_test)):
        np.testing.assert_allclose(outputs[f"predict_proba_{k}"], expected, atol=1e-5)


@pytest.mark.parametrize(
    "make",
    [
        lambda: DecisionTreeClassifier(max_depth=5, random_state=0),
        lambda: RandomForestClassifier(n_estimators=10, random_state=0),
        lambda: KNeighborsClassifier(n_neighbors=5),
        lambda: MLPClassifier((16,), max_iter=1500, random_state=0),
    ],
    ids=["DecisionTree", "RandomForest", "KNeighbors", "MLP"],
)
def test_multilabel_indicator_targets(make):
    rng = np.random.default_rng(9)
    X = rng.normal(size=(300, 5))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0.5, X[:, 3] * X[:, 4] > 0]).astype(int)
    X_test = _float32(rng.normal(size=(200, 5)))
    estimator = _quiet_fit(make(), X, Y)
    converted = workbench.convert(estimator)
    _check_multi_output(estimator, converted, X_test)
    assert converted.predict(X_test).shape == (200, 3)


def test_multi_output_targets_of_mixed_kinds_are_refused_unchanged():
    """scikit-learn's fit refuses a y mixing strings and numbers (it sorts the whole y), but
    a MultiOutputClassifier assembled from classifiers fitted one target at a time has one."""
    X, Y, _ = _multi_output_data()
    estimator = MultiOutputClassifier(LogisticRegression(max_iter=2000)).fit(X, Y[:, :2])
    estimator.estimators_[0] = LogisticRegression(max_iter=2000).fit(X, np.where(Y[:, 0] == 1, "yes", "no"))
    estimator.classes_ = [e.classes_ for e in estimator.estimators_]  # what fit records
    before = pickle.dumps(estimator)
    with pytest.raises(UnsupportedEstimatorError) as info:
        workbench.convert(estimator)
    message = str(info.value)
    assert "numbers and strings" in message and "Encode every target column" in message
    assert pickle.dumps(estimator) == before


# ------------------------------------------------------------------ 5. Minkowski neighbours
@pytest.mark.parametrize(
    "parameters",
    [
        {"metric": "manhattan"},
        {"metric": "cityblock", "weights": "distance"},
        {"metric": "chebyshev", "weights": "distance"},
        {"p": 3},
        {"p": 0.5, "weights": "distance"},
        {"p": 1.5, "metric": "minkowski"},
    ],
    ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()),
)
def test_neighbours_under_minkowski_metrics(parameters):
    rng = np.random.default_rng(10)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int) + (X[:, 2] > 0.8)
    X_test = _float32(np.concatenate([rng.normal(size=(200, 4)), X[:20]]))  # 20 at distance 0
    classifier = KNeighborsClassifier(n_neighbors=7, **parameters).fit(X, y)
    regressor = KNeighborsRegressor(n_neighbors=4, **parameters).fit(X, X[:, 0] - 2 * X[:, 3])
    for estimator in (classifier, regressor):
        check_exact(estimator, workbench.convert(estimator), X_test)


def test_manhattan_neighbours_over_a_training_set_larger_than_one_distance_chunk():
    """digits: 1,347 training rows of 64 features, more than one chunk of differences (its
    integer pixels, jittered so that no two manhattan distances tie)."""
    data = workbench.load_dataset("digits")
    rng = np.random.default_rng(18)
    X_train = data.X_train + rng.normal(0, 0.05, data.X_train.shape)
    estimator = KNeighborsClassifier(n_neighbors=5, metric="manhattan", weights="distance").fit(
        X_train, data.y_train
    )
    assert estimator.n_samples_fit_ * 64 > 2**16  # DIRECT_DISTANCE_LIMIT
    X_test = data.X_test + rng.normal(0, 0.05, data.X_test.shape)
    check_exact(estimator, workbench.convert(estimator), X_test)


@pytest.mark.parametrize(
    "parameters",
    [
        {"metric": "manhattan", "weights": "distance", "n_neighbors": 4},
        {"metric": "manhattan", "n_neighbors": 5},
        {"metric": "euclidean", "n_neighbors": 6},
        {"metric": "chebyshev", "weights": "distance", "n_neighbors": 3},
        {"algorithm": "kd_tree", "metric": "manhattan", "n_neighbors": 5},
        {
            "algorithm": "kd_tree",
            "metric": "euclidean",
            "weights": "distance",
            "n_neighbors": 4,
            "leaf_size": 7,
        },
        {"algorithm": "auto", "metric": "minkowski", "p": 3, "n_neighbors": 6},
    ],
    ids=lambda p: "-".join(str(v) for v in p.values()),
)
def test_neighbours_on_a_grid_with_exact_ties(parameters):
    """Integer features and duplicated rows: many training points at exactly the k-th
    distance, of different classes. scikit-learn keeps the tied points its search keeps
    (its heap, fed in index order by brute force, in the tree's depth-first order by a
    kd-tree), not simply the lowest indices; the file replays that search."""
    rng = np.random.default_rng(11)
    X = rng.integers(0, 12, size=(150, 3)).astype(float)
    X = np.concatenate([X, X[:30]])  # exact duplicates: zero-distance ties
    y = rng.integers(0, 3, size=len(X))
    X_test = np.concatenate([X[:40], rng.integers(0, 12, size=(300, 3)).astype(float)])
    estimator = KNeighborsClassifier(**{"algorithm": "brute", **parameters}).fit(X, y)
    k = parameters["n_neighbors"]
    chosen = estimator.kneighbors(X_test, return_distance=False)
    name = {"manhattan": "cityblock"}.get(parameters["metric"], parameters["metric"])
    exact = cdist(X_test, X, name, **({"p": parameters["p"]} if "p" in parameters else {}))
    ordered = np.sort(exact, axis=1)
    tied = ordered[:, k - 1] == ordered[:, k]  # the k-th distance is shared beyond the k
    by_index = np.argsort(exact, axis=1, kind="stable")[:, :k]  # ties to the lowest index
    differs = [set(a) != set(b) for a, b in zip(chosen, by_index, strict=True)]
    assert tied.sum() > 50 and sum(differs) > 5, "ties must decide the neighbours on some rows"
    check_exact(estimator, workbench.convert(estimator), X_test)


@pytest.mark.parametrize(
    "make, said",
    [
        (lambda X, y: KNeighborsClassifier(metric="cosine").fit(X, y), "Minkowski family"),
        (
            lambda X, y: KNeighborsClassifier(metric="minkowski", p=3, metric_params={"w": np.ones(3)}).fit(
                X, y
            ),
            "metric_params",
        ),
        (
            lambda X, y: KNeighborsClassifier(metric="precomputed").fit(np.abs(X @ X.T), y),
            "distances to the training samples at prediction time",
        ),
    ],
    ids=["cosine", "weighted-minkowski", "precomputed"],
)
def test_metric_outside_the_family_is_refused_with_what_is_supported(make, said):
    rng = np.random.default_rng(12)
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 2, size=40)
    estimator = make(X, y)
    before = pickle.dumps(estimator)
    with pytest.raises(UnsupportedEstimatorError, match=said) as info:
        workbench.convert(estimator)
    assert "manhattan" in str(info.value) and "efit" in info.value.fix
    assert pickle.dumps(estimator) == before


# ------------------------------------------------------------------ 6. meta-estimators
@pytest.mark.parametrize(
    "make, n_classes",
    [
        (lambda: AdaBoostClassifier(estimator=LogisticRegression(max_iter=2000), n_estimators=15), 4),
        (lambda: AdaBoostClassifier(estimator=LogisticRegression(max_iter=2000), n_estimators=15), 2),
        (lambda: AdaBoostClassifier(estimator=GaussianNB(), n_estimators=10), 3),
        (lambda: AdaBoostClassifier(estimator=SVC(kernel="linear"), n_estimators=5), 3),
    ],
    ids=["LogisticRegression-4", "LogisticRegression-2", "GaussianNB-3", "SVC-3"],
)
def test_adaboost_over_registered_non_tree_estimators(make, n_classes):
    rng = np.random.default_rng(13)
    X = rng.normal(size=(300, 4))
    y = np.digitize(X[:, 0] + 0.5 * X[:, 1] + rng.normal(0, 0.7, 300), np.linspace(-1, 1, n_classes - 1))
    estimator = _quiet_fit(make().set_params(random_state=0), X, y)
    assert len(estimator.estimators_) > 1
    check_exact(estimator, workbench.convert(estimator), _float32(rng.normal(size=(300, 4)) * 1.5))


@pytest.mark.parametrize(
    "make",
    [
        # distance weights: uniform votes average to exact ties like [0.4, 0.4, 0.2] whose
        # float64 rounding (0.4000000000000001 against 0.4) decides the label; float32 cannot
        lambda: BaggingClassifier(
            KNeighborsClassifier(5, metric="manhattan", weights="distance"), n_estimators=4, random_state=0
        ),
        lambda: VotingClassifier(
            [("svc", SVC()), ("mlp", MLPClassifier((8,), max_iter=800, random_state=0)), ("nb", GaussianNB())]
        ),
        lambda: StackingClassifier(
            [
                ("knn", KNeighborsClassifier(7, metric="chebyshev", weights="distance")),
                (
                    "ada",
                    AdaBoostClassifier(LogisticRegression(max_iter=2000), n_estimators=5, random_state=0),
                ),
            ],
            final_estimator=LogisticRegression(max_iter=2000),
            cv=3,
        ),
    ],
    ids=["Bagging-manhattan-kNN", "Voting-hard-SVC-MLP-NB", "Stacking-chebyshev-kNN-AdaBoost-LR"],
)
def test_meta_estimators_over_the_new_corners(make):
    rng = np.random.default_rng(17)
    X = rng.normal(size=(300, 4))
    y = np.digitize(X[:, 0] - X[:, 2] + rng.normal(0, 0.5, 300), [-0.7, 0.7])
    estimator = _quiet_fit(make(), X, y)
    check_exact(estimator, workbench.convert(estimator), _float32(rng.normal(size=(300, 4)) * 1.5))


# ------------------------------------------------------------------ 7. the precision bound
def test_linear_decision_values_are_within_the_float32_dot_product_bound():
    """A hinge-loss SGDClassifier on data whose terms cancel: the float32 decision value
    of n features differs from scikit-learn's float64 one by at most
    ``(n + 2) * 2**-24 * (sum |coef_j x_j| + |intercept|)`` (each weight rounded once,
    each product once, n - 1 additions, the intercept once); the error relative to the
    value itself can be far above 1e-5 where the terms cancel."""
    rng = np.random.default_rng(14)
    n = 30
    X = rng.normal(size=(400, n)) * rng.uniform(1, 100, size=n)
    y = (X @ rng.normal(size=n) > 0).astype(int)
    estimator = _quiet_fit(SGDClassifier(loss="hinge", random_state=0), X, y)
    X_test = _float32(rng.normal(size=(400, n)) * rng.uniform(1, 100, size=n))
    expected = estimator.decision_function(X_test)
    got = workbench.convert(estimator).decision_function(X_test)
    terms = np.abs(X_test * estimator.coef_[0]).sum(axis=1) + abs(estimator.intercept_[0])
    bound = (n + 2) * UNIT_ROUNDOFF * terms
    deviation = np.abs(got - expected)
    assert np.all(deviation <= bound), float((deviation / bound).max())
    assert (deviation / np.abs(expected)).max() > 1e-6, "the data must cancel enough to matter"


def test_multiclass_svc_probabilities_are_within_the_stated_coupling_bound():
    """libsvm stops its pairwise coupling when max_t |(Qp)_t - pQp| < 0.005 / k; float32
    decides that test with its own rounding, so a row on the edge takes one iteration more
    or fewer. The README states 1e-4 (absolute) for multi-class SVC/NuSVC probabilities."""
    rng = np.random.default_rng(15)
    X = rng.normal(size=(400, 3))
    y = np.digitize(X[:, 0] + X[:, 1] * X[:, 2], [-1, -0.2, 0.4, 1.2])
    estimator = _quiet_fit(SVC(probability=True, random_state=0), X, y)
    X_test = _float32(rng.normal(size=(1000, 3)) * 1.5)
    got = workbench.convert(estimator).predict_proba(X_test)
    np.testing.assert_allclose(got, estimator.predict_proba(X_test), atol=1e-4)
