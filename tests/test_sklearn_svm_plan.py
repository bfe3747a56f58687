"""Kernel SVMs take one coefficient matrix and expanded RBF distances where float32 allows,
and keep the gathered one-vs-one sums where it does not (issue 24); exact either way.

Oracles: scikit-learn's own outputs, read from a bare ``ai_edge_litert`` interpreter by
signature output name, and the flatbuffer read directly with
``ai_edge_litert.schema_py_generated``: the weight shapes of the FULLY_CONNECTED ops and
the rank of the GATHER outputs.
"""

from __future__ import annotations

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter
from sklearn.datasets import load_wine, make_classification
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import workbench


def _ops(content: bytes) -> list[tuple[str, list[tuple[int, ...]], list[tuple[int, ...]]]]:
    """Every operator of every subgraph: builtin name, input shapes, output shapes."""
    model = schema.Model.GetRootAsModel(content, 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    found = []
    for g in range(model.SubgraphsLength()):
        graph = model.Subgraphs(g)

        def shape(index, graph=graph):
            tensor = graph.Tensors(int(index))
            return tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()

        for o in range(graph.OperatorsLength()):
            op = graph.Operators(o)
            code = model.OperatorCodes(op.OpcodeIndex())
            name = names[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
            inputs = [shape(i) for i in op.InputsAsNumpy() if i >= 0]
            found.append((name, inputs, [shape(i) for i in op.OutputsAsNumpy()]))
    return found


def _outputs(content: bytes, X: np.ndarray) -> dict[str, np.ndarray]:
    interpreter = Interpreter(model_content=content)
    return interpreter.get_signature_runner()(x=np.asarray(X, dtype=np.float32))


def _check_against_sklearn(estimator, content: bytes, X) -> None:
    got = _outputs(content, X)
    X64 = np.asarray(X, dtype=np.float32).astype(np.float64)
    np.testing.assert_array_equal(got["predict"], estimator.predict(X64))
    expected = estimator.decision_function(X64)
    scale = np.abs(expected).max(axis=0)
    np.testing.assert_array_less(
        np.abs(got["decision_function"] - expected), 1e-5 * (np.abs(expected) + scale)
    )
    if "predict_proba" in got:
        np.testing.assert_allclose(got["predict_proba"], estimator.predict_proba(X64), atol=1e-5)


def _weight_shapes(content: bytes) -> set[tuple[int, ...]]:
    return {inputs[1] for name, inputs, _ in _ops(content) if name == "FULLY_CONNECTED"}


def _has_pair_gather(content: bytes) -> bool:
    """A GATHER with a (batch, pairs, terms) output: the gathered one-vs-one sums."""
    return any(name == "GATHER" and len(outputs[0]) == 3 for name, _, outputs in _ops(content))


def test_scaled_wine_svc_takes_one_coefficient_matrix_and_expanded_distances_and_stays_exact():
    X, y = load_wine(return_X_y=True)
    X_train, X_test, y_train, _ = train_test_split(StandardScaler().fit_transform(X), y, random_state=0)
    estimator = SVC(probability=True, random_state=0).fit(X_train, y_train)
    content = workbench.convert(estimator, "float32").content
    n_vectors, n_features = estimator.support_vectors_.shape
    # FULLY_CONNECTED weights are (out, in): x . s for every support vector, then the pairs
    assert {(n_vectors, n_features), (3, n_vectors)} <= _weight_shapes(content)
    assert not _has_pair_gather(content)
    _check_against_sklearn(estimator, content, X_test)


def test_large_dual_coefficients_keep_the_gathered_sums_and_stay_exact():
    # C=100 on three overlapping, unequal classes: coefficients up to 100 of both signs,
    # whose float32 running sums in one order shared by every pair grow about twice as
    # large as in each pair's own balanced order
    X, y = make_classification(
        n_samples=400,
        n_features=6,
        n_informative=4,
        n_classes=3,
        weights=[0.9, 0.05, 0.05],
        class_sep=0.5,
        flip_y=0.05,
        random_state=1,
    )
    estimator = SVC(C=100.0, gamma=0.5).fit(X, y)
    assert np.abs(estimator.dual_coef_).max() == pytest.approx(100.0)
    content = workbench.convert(estimator, "float32").content
    assert _has_pair_gather(content)
    assert (3, len(estimator.support_vectors_)) not in _weight_shapes(content)
    _check_against_sklearn(estimator, content, X)  # the training points, support vectors among them
