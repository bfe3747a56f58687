"""The scikit-learn estimators the workbench rebuilds, each on real data, and the exactness check.

``CASES`` holds ``pytest.param(factory, dataset_name, id=...)`` entries: ``factory()``
returns a fresh, unfitted estimator with a fixed ``random_state``; ``dataset_name`` is one
of :data:`DATASETS` (the bundled datasets plus synthetic ones). ``ALL_CASES`` adds the
tree and ensemble cases of ``sklearn_tree_cases.py`` when that file exists.

:func:`fit_case` fits a case on the training split; :func:`check_exact` is the one
definition of "the .tflite agrees with scikit-learn" used by every test.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.linear_model import (
    ElasticNet,
    Lasso,
    LinearRegression,
    LogisticRegression,
    Ridge,
    RidgeClassifier,
    SGDClassifier,
    SGDRegressor,
)
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    Normalizer,
    OneHotEncoder,
    PolynomialFeatures,
    RobustScaler,
    StandardScaler,
)
from sklearn.svm import SVC, SVR, LinearSVC, LinearSVR, NuSVC, NuSVR, OneClassSVM

import workbench

# ------------------------------------------------------------------------------ data
BUNDLED = ("iris", "wine", "breast_cancer", "digits", "diabetes")
SYNTHETIC = (
    "synthetic",
    "synthetic_regression",
    "missing",
    "categorical",
    "categorical_known",
    "mixed",
    "diabetes_two_targets",
    "diabetes_positive",
    "wine_two_targets",
)
DATASETS = BUNDLED + ("digits_small",) + SYNTHETIC

#: Grid values of the synthetic features, and the midpoints a tree would split at.
GRID = np.array([-2.0, -1.0, -0.5, 0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0])


def _near(values: np.ndarray) -> np.ndarray:
    """``values`` and their float32 neighbours on both sides (the .tflite sees float32)."""
    v = values.astype(np.float32)
    return np.concatenate([v, np.nextafter(v, np.float32(-np.inf)), np.nextafter(v, np.float32(np.inf))])


def _synthetic(seed: int = 0, n_train: int = 300, n_test: int = 300, n_features: int = 6):
    """Features on a grid of typical values; the test rows sit exactly on grid values, on
    midpoints between them, and one float32 step either side of both."""
    rng = np.random.default_rng(seed)
    X_train = rng.choice(GRID, size=(n_train, n_features))
    special = np.concatenate([_near(GRID), _near((GRID[1:] + GRID[:-1]) / 2)]).astype(np.float64)
    X_test = rng.choice(special, size=(n_test, n_features))
    return X_train, X_test


def _synthetic_target(X: np.ndarray) -> np.ndarray:
    score = X[:, 0] + 0.5 * X[:, 1] - X[:, 2] * (X[:, 3] > 0)
    return np.digitize(score, [-0.5, 1.0])


@functools.cache
def load_case_data(name: str):
    """``(X_train, X_test, y_train, y_test)`` of a case dataset, as float64 arrays."""
    if name in BUNDLED:
        d = workbench.load_dataset(name)
        return d.X_train, d.X_test, d.y_train, d.y_test
    if name == "digits_small":  # for the slow fits (SVC probability=True does a 5-fold CV)
        X_train, X_test, y_train, y_test = load_case_data("digits")
        return X_train[:500], X_test[:250], y_train[:500], y_test[:250]
    if name == "synthetic":
        X_train, X_test = _synthetic()
        return X_train, X_test, _synthetic_target(X_train), _synthetic_target(X_test)
    if name == "synthetic_regression":
        X_train, X_test = _synthetic(seed=1)
        coef = np.array([3.0, -2.0, 0.5, 1.0, 0.0, -1.5])
        rng = np.random.default_rng(1)
        y_train = X_train @ coef + 10.0 + rng.normal(0, 0.1, len(X_train))
        return X_train, X_test, y_train, X_test @ coef + 10.0
    if name == "diabetes_two_targets":
        X_train, X_test, y_train, y_test = load_case_data("diabetes")
        return (
            X_train,
            X_test,
            np.column_stack([y_train, X_train[:, 2] * 100]),
            np.column_stack([y_test, X_test[:, 2] * 100]),
        )
    if name == "wine_two_targets":  # two classification targets (multi-output classifiers)
        X_train, X_test, y_train, y_test = load_case_data("wine")
        return (
            X_train,
            X_test,
            np.column_stack([y_train, (y_train + 1) % 3]),
            np.column_stack([y_test, (y_test + 1) % 3]),
        )
    if name == "diabetes_positive":  # a target for the log-link GLMs
        X_train, X_test, y_train, y_test = load_case_data("diabetes")
        return X_train, X_test, y_train / 100.0, y_test / 100.0
    if name == "missing":
        # wine with 10% of the entries missing, and column 3 never observed in training.
        X_train, X_test, y_train, y_test = (a.copy() for a in load_case_data("wine"))
        rng = np.random.default_rng(2)
        X_train[rng.random(X_train.shape) < 0.1] = np.nan
        X_test[rng.random(X_test.shape) < 0.1] = np.nan
        X_train[:, 3] = np.nan
        return X_train, X_test, y_train, y_test
    if name in ("categorical", "categorical_known", "mixed"):
        return _categorical(unknown=name != "categorical_known", continuous=name == "mixed")
    raise KeyError(f"unknown case dataset {name!r}; expected one of {', '.join(DATASETS)}")


def _categorical(unknown: bool, continuous: bool):
    """Three numeric categorical columns: one with a rare category, one with NaN as a
    category, one with 0.1, a category no float32 input can equal. ``continuous`` adds
    two continuous columns (the second far from zero); ``unknown`` puts categories
    unseen in training into the test split."""
    rng = np.random.default_rng(3)

    def draw(n, with_unknown):
        a = rng.choice([0.0, 1.0, 2.0, 3.0, 4.0], size=n, p=[0.3, 0.3, 0.2, 0.17, 0.03])
        b = rng.choice([-1.0, 0.5, 2.0, np.nan], size=n)
        c = rng.choice([10.0, 20.0, 0.1], size=n)
        if with_unknown:
            a[::7] = 7.0
            b[1::9] = 5.0
        columns = [a, b, c]
        if continuous:
            columns += [rng.normal(size=n), rng.normal(1000.0, 100.0, size=n)]
        return np.column_stack(columns)

    X_train, X_test = draw(400, False), draw(200, unknown)
    if not unknown:
        # 0.1 is not a float32 number: its float32 input is an unknown category to scikit-learn.
        X_test[:, 2] = np.where(X_test[:, 2] == 0.1, 10.0, X_test[:, 2])

    def target(X):
        return ((X[:, 0] >= 2) ^ (X[:, 1] > 0)).astype(int) + (X[:, 2] == 20.0)

    return X_train, X_test, target(X_train), target(X_test)


# ------------------------------------------------------------------------------ cases
def case(factory, dataset: str, variant: str = "", marks=()):
    """A ``pytest.param`` whose id names the estimator class (the last step of a pipeline)
    and the dataset."""
    estimator = factory()
    name = type(estimator).__name__
    if isinstance(estimator, Pipeline):
        name = "Pipeline-" + type(estimator.steps[-1][1]).__name__
    label = "-".join(p for p in (name, variant, dataset) if p)
    return pytest.param(factory, dataset, id=label, marks=marks)


def scaled(*steps):
    return lambda: make_pipeline(StandardScaler(), *(s() for s in steps))


def _mixed_columns(handle_unknown="ignore", **encoder):
    return lambda: Pipeline(
        [
            (
                "columns",
                ColumnTransformer(
                    [
                        (
                            "onehot",
                            OneHotEncoder(handle_unknown=handle_unknown, sparse_output=False, **encoder),
                            [0, 1, 2],
                        ),
                        ("scale", StandardScaler(), [4]),
                    ],
                    remainder="passthrough",
                ),
            ),
            ("model", LogisticRegression(max_iter=2000)),
        ]
    )


CASES = [
    # linear regressors
    case(LinearRegression, "diabetes"),
    case(LinearRegression, "synthetic_regression"),
    case(lambda: Ridge(alpha=0.5), "diabetes"),
    case(lambda: Lasso(alpha=0.05), "diabetes"),
    case(lambda: ElasticNet(alpha=0.01, l1_ratio=0.3), "diabetes"),
    case(lambda: SGDRegressor(random_state=0), "diabetes"),
    case(lambda: LinearSVR(C=10.0, random_state=0, max_iter=20000), "diabetes"),
    # linear classifiers
    case(lambda: LogisticRegression(max_iter=5000), "iris"),
    case(scaled(lambda: LogisticRegression(max_iter=2000)), "wine"),
    case(lambda: LogisticRegression(max_iter=5000), "breast_cancer"),
    case(lambda: LogisticRegression(max_iter=2000), "digits"),
    case(lambda: LogisticRegression(max_iter=2000), "synthetic"),
    case(scaled(lambda: SGDClassifier(loss="log_loss", random_state=0)), "iris", "log_loss"),
    case(scaled(lambda: SGDClassifier(loss="log_loss", random_state=0)), "breast_cancer", "log_loss"),
    case(scaled(lambda: SGDClassifier(loss="modified_huber", random_state=0)), "wine", "modified_huber"),
    case(
        scaled(lambda: SGDClassifier(loss="modified_huber", random_state=0)),
        "breast_cancer",
        "modified_huber",
    ),
    case(lambda: SGDClassifier(random_state=0), "digits", "hinge"),
    case(RidgeClassifier, "breast_cancer"),
    case(RidgeClassifier, "digits"),
    case(lambda: LinearSVC(random_state=0), "iris"),
    case(scaled(lambda: LinearSVC(random_state=0)), "breast_cancer"),
    # kernel SVMs
    case(SVC, "iris", "rbf"),
    case(SVC, "wine", "rbf"),
    case(SVC, "breast_cancer", "rbf"),
    case(SVC, "digits", "rbf"),
    case(SVC, "synthetic", "rbf"),
    case(lambda: SVC(kernel="poly", degree=3), "iris", "poly"),
    case(scaled(lambda: SVC(kernel="poly", degree=2, coef0=1.0)), "breast_cancer", "poly"),
    case(scaled(lambda: SVC(kernel="sigmoid", gamma=0.05)), "wine", "sigmoid"),
    case(scaled(lambda: SVC(kernel="linear")), "breast_cancer", "linear"),
    case(lambda: SVC(kernel="linear"), "iris", "linear"),
    case(lambda: SVC(decision_function_shape="ovo"), "wine", "ovo"),
    case(lambda: SVC(kernel="poly", decision_function_shape="ovo"), "digits_small", "ovo"),
    case(lambda: SVC(break_ties=True), "digits_small", "break_ties"),
    case(lambda: SVC(probability=True, random_state=0), "iris", "proba"),
    case(scaled(lambda: SVC(probability=True, random_state=0)), "breast_cancer", "proba"),
    case(lambda: SVC(probability=True, random_state=0), "digits_small", "proba"),
    case(scaled(lambda: NuSVC(nu=0.3)), "iris"),
    case(scaled(lambda: NuSVC(nu=0.2, kernel="poly")), "breast_cancer"),
    case(scaled(lambda: NuSVC(nu=0.3, probability=True, random_state=0)), "wine", "proba"),
    case(lambda: SVR(C=100.0), "diabetes", "rbf"),
    case(lambda: SVR(kernel="linear", C=100.0), "diabetes", "linear"),
    case(lambda: SVR(kernel="poly", C=10.0, coef0=1.0), "synthetic_regression", "poly"),
    case(lambda: NuSVR(C=100.0), "diabetes"),
    case(scaled(lambda: OneClassSVM(nu=0.1)), "wine"),
    case(lambda: OneClassSVM(nu=0.2, gamma=0.1), "synthetic"),
    # neural networks
    case(lambda: MLPClassifier(hidden_layer_sizes=(32,), max_iter=300, random_state=0), "digits", "relu"),
    case(
        scaled(lambda: MLPClassifier((16, 8), activation="tanh", max_iter=500, random_state=0)),
        "iris",
        "tanh",
    ),
    case(
        scaled(lambda: MLPClassifier((16,), activation="logistic", max_iter=500, random_state=0)),
        "breast_cancer",
        "logistic",
    ),
    case(
        scaled(lambda: MLPClassifier((8,), activation="identity", max_iter=500, random_state=0)),
        "wine",
        "identity",
    ),
    case(lambda: MLPClassifier((16,), max_iter=500, random_state=0), "synthetic", "relu"),
    case(
        lambda: MLPRegressor(hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=500, random_state=0),
        "diabetes",
        "relu",
    ),
    case(
        lambda: MLPRegressor(hidden_layer_sizes=(16,), activation="tanh", max_iter=500, random_state=0),
        "synthetic_regression",
        "tanh",
    ),
    # neighbours
    case(KNeighborsClassifier, "iris", "uniform"),
    case(lambda: KNeighborsClassifier(n_neighbors=7), "digits", "uniform"),
    case(scaled(lambda: KNeighborsClassifier(weights="distance")), "wine", "distance"),
    case(lambda: KNeighborsClassifier(n_neighbors=4, weights="distance"), "breast_cancer", "distance"),
    case(lambda: KNeighborsClassifier(n_neighbors=5, weights="distance"), "synthetic", "distance"),
    case(KNeighborsRegressor, "diabetes", "uniform"),
    case(lambda: KNeighborsRegressor(n_neighbors=3, weights="distance"), "diabetes", "distance"),
    # naive Bayes
    case(GaussianNB, "iris"),
    case(GaussianNB, "wine"),
    case(GaussianNB, "breast_cancer"),
    case(GaussianNB, "digits"),
    case(GaussianNB, "synthetic"),
    # preprocessing, alone (transform output) and in pipelines
    case(StandardScaler, "breast_cancer"),
    case(lambda: StandardScaler(with_mean=False), "wine", "no_mean"),
    case(MinMaxScaler, "wine"),
    case(lambda: MinMaxScaler(feature_range=(-1, 2), clip=True), "synthetic", "clip"),
    case(MaxAbsScaler, "diabetes"),
    case(RobustScaler, "breast_cancer"),
    case(lambda: Normalizer(norm="l1"), "iris", "l1"),
    case(Normalizer, "wine", "l2"),
    case(lambda: Normalizer(norm="max"), "synthetic", "max"),
    case(lambda: PCA(n_components=10, random_state=0), "digits"),
    case(lambda: PCA(n_components=5, whiten=True, random_state=0), "breast_cancer", "whiten"),
    case(lambda: PolynomialFeatures(degree=3), "iris"),
    case(
        lambda: PolynomialFeatures(degree=2, interaction_only=True, include_bias=False), "wine", "interaction"
    ),
    case(SimpleImputer, "missing", "mean"),
    case(lambda: SimpleImputer(strategy="median", add_indicator=True), "missing", "median"),
    case(
        lambda: SimpleImputer(strategy="most_frequent", keep_empty_features=True), "missing", "most_frequent"
    ),
    case(lambda: SimpleImputer(strategy="constant", fill_value=-3.5), "missing", "constant"),
    case(lambda: SimpleImputer(missing_values=0.0, strategy="mean"), "digits", "zero_marker"),
    case(
        lambda: make_pipeline(
            SimpleImputer(add_indicator=True), StandardScaler(), LogisticRegression(max_iter=2000)
        ),
        "missing",
    ),
    case(lambda: OneHotEncoder(handle_unknown="ignore", sparse_output=False), "categorical", "ignore"),
    case(lambda: OneHotEncoder(handle_unknown="error"), "categorical_known", "error_sparse"),
    case(
        lambda: OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=20, sparse_output=False),
        "categorical",
        "infrequent",
    ),
    case(
        lambda: OneHotEncoder(drop="first", handle_unknown="ignore", sparse_output=False),
        "categorical",
        "drop",
    ),
    case(
        lambda: OneHotEncoder(drop="if_binary", handle_unknown="warn", max_categories=3),
        "categorical",
        "warn",
    ),
    case(_mixed_columns(), "mixed", "columns"),
    case(
        _mixed_columns("infrequent_if_exist", min_frequency=20, drop="first"), "mixed", "columns_infrequent"
    ),
    case(
        lambda: ColumnTransformer(
            [("pca", PCA(n_components=2, random_state=0), slice(0, 6)), ("drop", "drop", [6])],
            remainder=MinMaxScaler(),
            transformer_weights={"pca": 2.0},
        ),
        "wine",
        "weights",
    ),
    case(
        lambda: ColumnTransformer(
            [
                ("keep", "passthrough", [0, 1]),
                ("id", FunctionTransformer(), np.array([False, True, True, False])),
            ]
        ),
        "iris",
        "passthrough",
    ),
    case(FunctionTransformer, "diabetes"),
    case(lambda: make_pipeline(StandardScaler(), PCA(n_components=8, random_state=0)), "breast_cancer"),
    case(
        lambda: make_pipeline(MinMaxScaler(), PolynomialFeatures(2), "passthrough", Ridge(alpha=0.1)),
        "diabetes",
        "passthrough",
    ),
]

try:
    from sklearn_tree_cases import TREE_CASES
except ImportError:
    TREE_CASES = []
from sklearn_breadth_cases import BREADTH_CASES  # noqa: E402 -- imports this module's datasets lazily

ALL_CASES = CASES + TREE_CASES + BREADTH_CASES


def fit_case(factory, dataset: str):
    """A fitted estimator of the case and its data ``(X_train, X_test, y_train, y_test)``."""
    X_train, X_test, y_train, y_test = load_case_data(dataset)
    estimator = factory()
    with warnings.catch_warnings():
        # Small max_iter for speed and deprecated-but-supported options (SVC probability=True)
        # must not fail the fit; the rebuild is tested against what was fitted.
        warnings.simplefilter("ignore")
        estimator.fit(X_train, y_train)
    return estimator, (X_train, X_test, y_train, y_test)


# ------------------------------------------------------------------------------ the check
PROBA_ATOL = 1e-5
RTOL = 1e-5


#: Methods scikit-learn offers that the rebuild leaves out of the file, with the reason.
NOT_REBUILT = {
    "PCA.score_samples": "a Gaussian log-likelihood, not a prediction; not rebuilt",
    "FactorAnalysis.score_samples": "a Gaussian log-likelihood, not a prediction; not rebuilt",
    "BernoulliRBM.score_samples": "a pseudo-likelihood of a randomly corrupted copy of X: not deterministic",
}

#: Every per-sample method a converted file can carry, in the order it states them.
METHODS = ("predict", "predict_proba", "decision_function", "score_samples", "transform")


def sklearn_methods(estimator) -> list[str]:
    """The methods of :data:`METHODS` scikit-learn offers for this fitted estimator."""
    final = estimator
    while getattr(final, "steps", None) and not isinstance(final.steps[-1][1], str | type(None)):
        final = final.steps[-1][1]
    found = []
    for method in METHODS:
        try:
            available = hasattr(estimator, method)
        except (AttributeError, ValueError):
            available = False
        if available and f"{type(final).__name__}.{method}" not in NOT_REBUILT:
            found.append(method)
    return found


def check_exact(estimator, converted, X) -> dict:
    """Assert that a float32 ``.tflite`` reproduces a fitted scikit-learn estimator on ``X``.

    Parameters
    ----------
    estimator : fitted scikit-learn estimator or pipeline
    converted : workbench.Converted
        ``workbench.convert(estimator, "float32")``.
    X : array-like of shape (n_samples, n_features)

    Both sides see the same input: ``X`` rounded to float32 (the ``.tflite`` input type)
    and given to scikit-learn as float64, so the check measures the rebuild, not the
    rounding of the input. Every method scikit-learn offers (``predict``,
    ``predict_proba``, ``decision_function``, ``score_samples``, ``transform``; see
    :data:`NOT_REBUILT` for the exceptions) must be an output of the file, and the
    converted model's method of the same name must return scikit-learn's shape and:

    - ``predict`` of a classifier, outlier detector or clusterer: the same labels on every
      sample (the label rule runs in the file: libsvm's vote, thresholds, argmax);
    - probabilities within 1e-5 (absolute);
    - decision values, regression outputs, scores and transforms within
      ``1e-5 * |reference| + 1e-5 * scale``, where ``scale`` is the column's largest
      ``|reference|`` (1 for an all-zero column).

    Returns
    -------
    dict
        ``max_abs`` and ``max_rel`` deviations over the float outputs (``max_rel``
        relative to the column scale), ``n`` samples, and ``methods`` checked.
    """
    X64 = np.asarray(X, dtype=np.float32).astype(np.float64)
    methods = sklearn_methods(estimator)
    # a multi-output predict_proba is one output per target: predict_proba_0, predict_proba_1, ...
    missing = [
        m for m in methods if m not in converted.output_names and f"{m}_0" not in converted.output_names
    ]
    assert not missing, (
        f"{type(estimator).__name__} has {missing} but the file's outputs are {converted.output_names}"
    )
    report = {"max_abs": 0.0, "max_rel": 0.0, "n": len(X64), "methods": methods}
    for method in methods:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unknown categories, missing feature names
            expected = getattr(estimator, method)(X64)
        expected = np.asarray(expected.toarray() if hasattr(expected, "toarray") else expected)
        got = np.asarray(getattr(converted, method)(X64))
        assert got.shape == expected.shape, (method, got.shape, expected.shape)
        if method == "predict" and _is_labels(estimator):
            np.testing.assert_array_equal(got, expected, err_msg=f"{method} labels differ")
            continue
        deviation, relative = _check_close(method, np.asarray(got, np.float64), expected.astype(np.float64))
        report["max_abs"] = max(report["max_abs"], deviation)
        report["max_rel"] = max(report["max_rel"], relative)
    return report


def _is_labels(estimator) -> bool:
    final = estimator
    while getattr(final, "steps", None):
        final = final.steps[-1][1]
    kind = final.__sklearn_tags__().estimator_type
    return kind in ("classifier", "outlier_detector", "clusterer", "density_estimator")


def _check_close(method: str, got: np.ndarray, expected: np.ndarray) -> tuple[float, float]:
    got2, expected2 = got.reshape(len(got), -1), expected.reshape(len(expected), -1)
    assert not np.isnan(got2[~np.isnan(expected2)]).any(), f"{method}: NaN where scikit-learn has none"
    scale = np.max(np.abs(np.nan_to_num(expected2)), axis=0) if len(expected2) else np.ones(got2.shape[1])
    scale[scale == 0] = 1.0
    deviation = np.abs(np.nan_to_num(got2) - np.nan_to_num(expected2))
    if method == "predict_proba":
        allowed = np.full_like(expected2, PROBA_ATOL)
    else:
        allowed = RTOL * np.abs(np.nan_to_num(expected2)) + RTOL * scale[None, :]
    bad = (deviation > allowed) | (np.isnan(got2) != np.isnan(expected2))
    if bad.any():
        rows, cols = np.nonzero(bad)
        shown = ", ".join(
            f"[{r}, {c}] tflite {got2[r, c]:.9g} vs sklearn {expected2[r, c]:.9g}"
            for r, c in zip(rows[:5], cols[:5], strict=True)
        )
        raise AssertionError(
            f"{bad.sum()} of {bad.size} {method} outputs differ beyond the tolerance "
            f"(max abs deviation {deviation.max():.3g}, max relative to scale {(deviation / scale).max():.3g}): {shown}"
        )
    return float(deviation.max(initial=0.0)), float((deviation / scale).max(initial=0.0))


def estimator_classes(estimator) -> set[type]:
    """Every estimator class inside ``estimator``: itself, pipeline steps, column parts."""
    found = {type(estimator)}
    for _, step in getattr(estimator, "steps", None) or []:
        if not isinstance(step, str) and step is not None:
            found |= estimator_classes(step)
    for _, part, _ in getattr(estimator, "transformers", None) or []:
        if not isinstance(part, str):
            found |= estimator_classes(part)
    if isinstance(estimator, ColumnTransformer):
        remainder = estimator.remainder
        if remainder == "passthrough":
            found.add(FunctionTransformer)  # fitted ColumnTransformers pass through with it
        elif not isinstance(remainder, str):
            found |= estimator_classes(remainder)
    return found
