"""Every output scikit-learn offers, in one .tflite: labels computed in the file (libsvm's
one-vs-one vote with its tie rule included), probabilities, decision values, scores,
read by name from the converted model and from a bare LiteRT interpreter."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC, NuSVC, OneClassSVM
from sklearn_cases import check_exact

import workbench


def _blobs(seed: int = 0, k: int = 5):
    """``k`` overlapping classes of different sizes and spreads in 2-D, and test rows over
    the whole plane: where the pairwise decisions are not transitive, votes tie."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-2, 2, size=(k, 2))
    spreads = rng.uniform(0.3, 2, size=k)
    sizes = rng.integers(20, 100, size=k)
    X = np.concatenate(
        [c + rng.normal(0, s, size=(n, 2)) for c, s, n in zip(centres, spreads, sizes, strict=True)]
    )
    y = np.repeat(np.arange(k), sizes)
    X_test = rng.uniform(-4, 4, size=(4000, 2)).astype(np.float32).astype(np.float64)
    return X, y, X_test


def _votes(ovo: np.ndarray, k: int) -> np.ndarray:
    """(n, k) libsvm votes from one-vs-one decision values of pairs (0,1), (0,2), ..."""
    votes = np.zeros((len(ovo), k), dtype=int)
    for p, (i, j) in enumerate(itertools.combinations(range(k), 2)):
        votes[ovo[:, p] > 0, i] += 1
        votes[ovo[:, p] <= 0, j] += 1
    return votes


@pytest.mark.parametrize(
    "make",
    [
        lambda: SVC(),
        lambda: SVC(kernel="sigmoid", gamma=0.3, coef0=0.1),
        lambda: NuSVC(nu=0.2, gamma=1.0),  # larger nu: dual coefficients in the 1e4 (see issue 17)
        lambda: SVC(kernel="sigmoid", gamma=0.3, coef0=0.1, probability=True, random_state=0),
    ],
    ids=["SVC-rbf", "SVC-sigmoid", "NuSVC", "SVC-sigmoid-probability"],
)
def test_multiclass_svm_labels_are_libsvms_vote_with_its_tie_rule(make):
    X, y, X_test = _blobs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # probability=True is deprecated in 1.9
        estimator = make().fit(X, y)
        pairs = make().set_params(decision_function_shape="ovo").fit(X, y).decision_function(X_test)
    votes = _votes(pairs, 5)
    tied = (votes == votes.max(axis=1, keepdims=True)).sum(axis=1) > 1
    assert tied.sum() >= 5, "the data must contain rows whose votes tie"
    first_of_the_tied = np.argmax(votes, axis=1)
    np.testing.assert_array_equal(estimator.predict(X_test)[tied], first_of_the_tied[tied])
    converted = workbench.convert(estimator)
    assert converted.output_names[0] == "predict"
    np.testing.assert_array_equal(converted.predict(X_test), estimator.predict(X_test))
    check_exact(estimator, converted, X_test[:1000])


def test_sigmoid_svc_label_is_not_the_argmax_of_its_decision():
    X, y, X_test = _blobs()
    estimator = SVC(kernel="sigmoid", gamma=0.3, coef0=0.1).fit(X, y)
    argmax = np.argmax(estimator.decision_function(X_test), axis=1)
    assert (argmax != estimator.predict(X_test)).sum() > 10  # what an argmax rebuild would get wrong
    np.testing.assert_array_equal(workbench.convert(estimator).predict(X_test), estimator.predict(X_test))


def test_one_vs_one_shape_predicts_labels_and_pair_decisions():
    X, y, X_test = _blobs(seed=1, k=3)
    estimator = SVC(decision_function_shape="ovo").fit(X, y)
    converted = workbench.convert(estimator)
    assert converted.predict(X_test).shape == (len(X_test),)
    assert converted.decision_function(X_test).shape == (len(X_test), 3)
    np.testing.assert_array_equal(converted.predict(X_test), estimator.predict(X_test))
    check_exact(estimator, converted, X_test)


def test_probability_model_predicts_by_vote_not_by_largest_probability():
    X, y, X_test = _blobs(seed=2, k=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator = SVC(probability=True, random_state=0).fit(X, y)
    by_proba = np.argmax(estimator.predict_proba(X_test), axis=1)
    assert (by_proba != estimator.predict(X_test)).any(), "the data must separate the two rules"
    converted = workbench.convert(estimator)
    assert converted.output_names == ("predict", "predict_proba", "decision_function")
    check_exact(estimator, converted, X_test)


def test_binary_outputs_have_scikit_learns_shapes():
    data = workbench.load_dataset("breast_cancer")
    estimator = LogisticRegression(max_iter=5000).fit(data.X_train, data.y_train)
    converted = workbench.convert(estimator)
    assert converted.decision_function(data.X_test).shape == (len(data.X_test),)
    assert converted.predict_proba(data.X_test).shape == (len(data.X_test), 2)
    assert converted.run(data.X_test).shape == (len(data.X_test), 2)  # the primary output: predict_proba
    check_exact(estimator, converted, data.X_test)


def test_string_labels_come_back_as_the_same_strings():
    data = workbench.load_dataset("iris")
    names = np.array(["setosa", "versicolor", "virginica"], dtype=object)
    estimator = LogisticRegression(max_iter=5000).fit(data.X_train, names[data.y_train])
    converted = workbench.convert(estimator)
    labels = converted.predict(data.X_test)
    assert labels.dtype.kind == "U"
    np.testing.assert_array_equal(labels, estimator.predict(data.X_test))


def test_outlier_detector_predicts_plus_minus_one_and_scores():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    X_test = np.concatenate([rng.normal(size=(100, 3)), rng.normal(0, 4, size=(100, 3))])
    estimator = OneClassSVM(nu=0.1, gamma=0.5).fit(X)
    converted = workbench.convert(estimator)
    assert converted.output_names == ("predict", "decision_function", "score_samples")
    assert set(converted.predict(X_test)) == {-1, 1}
    check_exact(estimator, converted, X_test)


def test_every_output_reads_by_name_from_a_bare_interpreter(tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    data = workbench.load_dataset("wine")
    estimator = LogisticRegression(max_iter=5000).fit(data.X_train, data.y_train)
    path = workbench.convert(estimator).save(tmp_path / "model.tflite")
    runner = Interpreter(model_path=str(path)).get_signature_runner()
    outputs = runner(x=data.X_test.astype(np.float32))
    assert set(outputs) == {"predict", "predict_proba", "decision_function"}
    np.testing.assert_array_equal(outputs["predict"], estimator.predict(data.X_test))
    np.testing.assert_allclose(outputs["predict_proba"], estimator.predict_proba(data.X_test), atol=1e-5)
    np.testing.assert_allclose(
        outputs["decision_function"], estimator.decision_function(data.X_test), rtol=1e-5, atol=1e-4
    )


def test_run_all_returns_every_output_in_the_stated_order():
    data = workbench.load_dataset("iris")
    estimator = LogisticRegression(max_iter=5000).fit(data.X_train, data.y_train)
    converted = workbench.convert(estimator)
    everything = converted.run_all(data.X_test)
    assert tuple(everything) == converted.output_names == ("predict", "predict_proba", "decision_function")
    assert [t.name for t in converted.outputs] == list(converted.output_names)
    assert converted.primary_output == "predict_proba"
    np.testing.assert_array_equal(everything["predict_proba"], converted.run(data.X_test))
    with pytest.raises(workbench.DataMismatchError, match="transform"):
        converted.transform(data.X_test)
    with pytest.raises(workbench.DataMismatchError, match="output_names"):
        converted.run_all(data.X_test, names=["labels"])


def test_int16x8_file_keeps_the_primary_output_and_labels_still_work():
    data = workbench.load_dataset("iris")
    estimator = LogisticRegression(max_iter=5000).fit(data.X_train, data.y_train)
    converted = workbench.convert(estimator, "int16x8", data.representative(50))
    assert converted.output_names == ("predict_proba",)  # no int16 ARG_MAX kernel for the label rule
    agreement = np.mean(converted.predict(data.X_test) == estimator.predict(data.X_test))
    assert agreement > 0.9
