"""What a user gets for an estimator the workbench cannot rebuild, or for wrong data."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.compose import ColumnTransformer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.manifold import Isomap
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC
from sklearn_cases import check_exact

import workbench
from workbench import DataMismatchError, NotFittedError, UnsupportedEstimatorError
from workbench.sources.sklearn import SklearnSource


@pytest.fixture(scope="module")
def iris():
    return workbench.load_dataset("iris")


def test_unfitted_estimator_is_not_fitted_error():
    with pytest.raises(NotFittedError, match="LogisticRegression.fit"):
        workbench.convert(LogisticRegression())


def test_unfitted_pipeline_is_not_fitted_error():
    with pytest.raises(NotFittedError):
        workbench.convert(make_pipeline(StandardScaler(), LogisticRegression()))


@pytest.mark.parametrize(
    "make, way_out",
    [
        (lambda d: Isomap(n_components=2).fit(d.X_train), "supported_estimators()"),
        (lambda d: IsotonicRegression().fit(d.X_train[:, 0], d.y_train), "supported_estimators()"),
        (
            lambda d: GridSearchCV(LogisticRegression(max_iter=1000), {"C": [1.0]}, cv=2).fit(
                d.X_train, d.y_train
            ),
            "model.best_estimator_",
        ),
    ],
    ids=["Isomap", "IsotonicRegression", "GridSearchCV"],
)
def test_unsupported_estimator_is_named_first_with_the_way_out(iris, make, way_out):
    estimator = make(iris)
    with pytest.raises(UnsupportedEstimatorError) as info:
        workbench.convert(estimator)
    message = str(info.value)
    assert message.startswith(f"Received: an {type(estimator).__name__}") or message.startswith(
        f"Received: a {type(estimator).__name__}"
    )
    assert way_out in message
    assert len(message) < 300, message  # the list of supported classes lives elsewhere
    assert "LogisticRegression" in workbench.supported_estimators()


def test_supported_estimators_lists_subclasses_resolved_to_their_base():
    names = workbench.supported_estimators()
    assert names == sorted(names)
    assert {"LogisticRegression", "LogisticRegressionCV", "Pipeline", "SVC"} <= set(names)


def test_a_users_subclass_is_not_guessed(iris):
    class MyLogistic(LogisticRegression):
        def predict(self, X):
            return super().predict(X)

    estimator = MyLogistic(max_iter=1000).fit(iris.X_train, iris.y_train)
    with pytest.raises(UnsupportedEstimatorError, match="MyLogistic.*LogisticRegression"):
        workbench.convert(estimator)


def test_unsupported_step_inside_a_pipeline_fails_before_conversion(iris):
    pipeline = make_pipeline(Isomap(n_components=2), LogisticRegression()).fit(iris.X_train, iris.y_train)
    with pytest.raises(UnsupportedEstimatorError, match="Isomap"):
        SklearnSource(pipeline)


def _linear_kernel(a, b):
    return a @ b.T


@pytest.mark.parametrize(
    "make, setting",
    [
        (lambda d: SVC(kernel="precomputed").fit(d.X_train @ d.X_train.T, d.y_train), "precomputed"),
        (lambda d: SVC(kernel=_linear_kernel).fit(d.X_train, d.y_train), "callable kernel"),
        (lambda d: KNeighborsClassifier(metric="cosine").fit(d.X_train, d.y_train), "cosine"),
        (
            lambda d: KNeighborsClassifier(weights=lambda dist: 1 / (1 + dist)).fit(d.X_train, d.y_train),
            "weights",
        ),
    ],
    ids=["precomputed-kernel", "callable-kernel", "cosine", "callable-weights"],
)
def test_unsupported_setting_names_what_is_supported(iris, make, setting):
    estimator = make(iris)
    with pytest.raises(UnsupportedEstimatorError) as info:
        workbench.convert(estimator)
    message = str(info.value)
    assert setting in message
    assert type(estimator).__name__ in message
    assert info.value.fix


def test_precomputed_kernel_message_lists_the_kernels(iris):
    estimator = SVC(kernel="precomputed").fit(iris.X_train @ iris.X_train.T, iris.y_train)
    with pytest.raises(UnsupportedEstimatorError, match="'linear', 'rbf', 'poly' or 'sigmoid'"):
        workbench.convert(estimator)


def test_string_categories_are_unsupported():
    X = np.array([["a"], ["b"], ["a"]], dtype=object)
    with pytest.raises(UnsupportedEstimatorError, match="numeric categories"):
        SklearnSource(OneHotEncoder().fit(X))


def test_column_selection_by_name_is_unsupported():
    df = pd.DataFrame({"a": [0.0, 1.0, 2.0], "b": [1.0, 0.0, 1.0]})
    transformer = ColumnTransformer([("scale", StandardScaler(), ["a"])], remainder="passthrough").fit(df)
    with pytest.raises(UnsupportedEstimatorError, match="by position"):
        workbench.convert(transformer)


def test_wrong_feature_count_to_converted_predict(iris):
    converted = workbench.convert(LogisticRegression(max_iter=1000).fit(iris.X_train, iris.y_train))
    with pytest.raises(DataMismatchError, match="shape"):
        converted.predict(iris.X_test[:, :3])


def test_reference_path_rejects_strings_and_sparse_input(iris):
    source = SklearnSource(LogisticRegression(max_iter=1000).fit(iris.X_train, iris.y_train))
    with pytest.raises(DataMismatchError, match="Numeric features"):
        source.predict(np.array([["a", "b", "c", "d"]]))
    with pytest.raises(DataMismatchError, match="toarray"):
        source.predict(sparse.csr_matrix(iris.X_test))
    with pytest.raises(DataMismatchError, match="4 features"):
        source.predict(iris.X_test[:, :2])


def test_one_vs_one_svc_outputs_pair_decisions_not_labels():
    data = workbench.load_dataset("wine")
    estimator = SVC(decision_function_shape="ovo").fit(data.X_train, data.y_train)
    converted = workbench.convert(estimator)
    assert converted.classes is None  # an argmax over pairs would not be a class label
    assert converted.decision_function(data.X_test).shape == (len(data.X_test), 3)
    check_exact(estimator, converted, data.X_test)  # labels by libsvm's vote on the pairs


def test_family_modules_do_not_import_tensorflow():
    code = """
        import importlib, sys
        from workbench.sources.sklearn import _ops, _registry
        for family in _registry.FAMILIES:
            importlib.import_module("workbench.sources.sklearn." + family)
        _registry.registry()
        print("tensorflow" in sys.modules)
    """
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
