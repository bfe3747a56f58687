"""Tree ensembles: every tree of the ensemble traversed at once by ``_tree_ops``.

- RandomForest / ExtraTrees classifiers: ``predict_proba`` is the mean of the trees'
  class fractions; regressors: the mean of the trees' values.
- GradientBoosting: the init estimator's constant raw prediction plus ``learning_rate``
  times each stage's tree, then the loss's inverse link (sigmoid, ``sigmoid(2 z)`` for
  the exponential loss, softmax). A custom ``init`` estimator is not rebuilt.
- HistGradientBoosting: the baseline plus the trees' leaf values (shrinkage included),
  then the inverse link (identity, exp, sigmoid, softmax). NaN follows each node's
  ``missing_go_to_left``, and the "NaN only" splits (threshold +inf) too. Categorical
  features are not rebuilt.
- AdaBoostClassifier (SAMME, the only algorithm of scikit-learn 1.9): each tree votes
  ``w`` for the class its leaf predicts and ``-w / (K - 1)`` for the others; the
  decision is the vote over the total weight, and ``predict_proba`` its softmax.

AdaBoostRegressor is not rebuilt: its weighted median compares float64 cumulative sums
of estimator weights against half their total; float32 arithmetic cannot reproduce that
comparison for every input, so the rebuild would not be exact.
"""

from __future__ import annotations

import numpy as np
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    AdaBoostClassifier,
    AdaBoostRegressor,
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    IsolationForest,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.tree import DecisionTreeClassifier, ExtraTreeClassifier

from . import _ops, _tree_ops
from ._checks import check_outlier_detector, check_supported, checked_by, require_output, unsupported
from ._registry import build, builds_labels, shared
from .tree import (
    check_classifier,
    check_regressor,
    check_single_output,
    mean_proba,
    mean_values,
    regression_values,
    tree_of,
)

#: scikit-learn link class -> what ``_tree_ops.inverse_link`` calls it.
_LINKS = {
    "IdentityLink": "identity",
    "LogLink": "log",
    "LogitLink": "logit",
    "HalfLogitLink": "half_logit",
    "MultinomialLogit": "multinomial",
}


def _n_features(estimator) -> int:
    return int(estimator.n_features_in_)


def _link(estimator) -> str:
    name = type(estimator._loss.link).__name__
    if name not in _LINKS:
        raise unsupported(
            estimator,
            f"a loss whose link is {name}",
            "the identity, log, logit, half-logit or multinomial-logit link",
            "Use one of scikit-learn's built-in losses.",
        )
    return _LINKS[name]


# ------------------------------------------------------------------ random forests
# A forest is checked and averaged as a single tree is, over its trees.
@checked_by(check_classifier)
def build_forest_classifier(estimator, x, output):
    check_classifier(estimator, output)
    return mean_proba(estimator, x, estimator.estimators_)


@checked_by(check_regressor)
def build_forest_regressor(estimator, x, output):
    check_regressor(estimator, output)
    return mean_values(estimator, x, estimator.estimators_)


# ------------------------------------------------------------------ gradient boosting
def _constant_init(estimator) -> bool:
    init = estimator.init_
    if isinstance(init, str):
        return init == "zero"
    if type(init) is DummyRegressor:
        return True  # mean, median, quantile and constant all predict one value
    return type(init) is DummyClassifier and init.strategy != "stratified"


def check_gradient_boosting(estimator, output: str) -> None:
    if hasattr(estimator, "classes_"):
        require_output(estimator, output, ("proba", "decision"))
    else:
        require_output(estimator, output, ("values",))
    if not _constant_init(estimator):
        raise unsupported(
            estimator,
            f"init={type(estimator.init_).__name__}(...)",
            "the default init (or 'zero', or a DummyClassifier/DummyRegressor with a constant prediction)",
            "Refit with the default init: a custom init estimator's raw predictions are not rebuilt.",
        )
    _link(estimator)


@checked_by(check_gradient_boosting)
def build_gradient_boosting(estimator, x, output):
    check_gradient_boosting(estimator, output)
    stages = np.asarray(estimator.estimators_)  # (n_stages, n_trees_per_stage) of regressors
    rate = float(estimator.learning_rate)
    trees = [
        tree_of(stage[k].tree_, rate * regression_values(stage[k]), columns=[k])
        for stage in stages
        for k in range(stages.shape[1])
    ]
    # The init estimator predicts a constant: its raw prediction for any one sample.
    zeros = np.zeros((1, _n_features(estimator)), dtype=np.float32)
    init = np.asarray(estimator._raw_predict_init(zeros), dtype=np.float64)[0]
    raw = shared(
        estimator,
        x,
        "raw",
        lambda: _tree_ops.add_constant(_tree_ops.forest_sum(x, trees, stages.shape[1]), init),
    )
    return _finish(estimator, raw, output)


def _finish(estimator, raw, output):
    """Raw predictions -> what ``output`` asks for, through the loss's inverse link."""
    if output == "decision":
        return raw
    return _tree_ops.inverse_link(raw, _link(estimator), proba=output == "proba")


# ------------------------------------------------------------------ histogram boosting
def check_hist_gradient_boosting(estimator, output: str) -> None:
    if hasattr(estimator, "classes_"):
        require_output(estimator, output, ("proba", "decision"))
    else:
        require_output(estimator, output, ("values",))
    categorical = getattr(estimator, "is_categorical_", None)
    if getattr(estimator, "_preprocessor", None) is not None or (
        categorical is not None and np.any(categorical)
    ):
        raise unsupported(
            estimator,
            "categorical features",
            "numeric features only",
            "Fit it with categorical_features=None, encoding categories yourself "
            "(e.g. an OrdinalEncoder before the model, or one-hot columns).",
        )
    _link(estimator)


def _hist_tree(estimator, predictor, column: int) -> _tree_ops.Tree:
    nodes = predictor.nodes
    leaf = nodes["is_leaf"].astype(bool)
    if np.any(nodes["is_categorical"].astype(bool) & ~leaf):  # guard: check_... refuses these first
        raise unsupported(
            estimator, "categorical splits", "numeric splits only", "Fit with categorical_features=None."
        )
    return _tree_ops.Tree(
        left=np.where(leaf, -1, nodes["left"].astype(np.int64)),
        right=np.where(leaf, -1, nodes["right"].astype(np.int64)),
        feature=nodes["feature_idx"].astype(np.int64),
        threshold=nodes["num_threshold"].astype(np.float64),
        missing_left=nodes["missing_go_to_left"].astype(bool),
        value=nodes["value"].astype(np.float64),
        columns=[column],
    )


@checked_by(check_hist_gradient_boosting)
def build_hist_gradient_boosting(estimator, x, output):
    check_hist_gradient_boosting(estimator, output)
    return _finish(estimator, shared(estimator, x, "raw", lambda: _hist_raw(estimator, x)), output)


def _hist_raw(estimator, x):
    trees = [
        _hist_tree(estimator, p, k) for iteration in estimator._predictors for k, p in enumerate(iteration)
    ]
    n_outputs = int(estimator.n_trees_per_iteration_)
    raw = _tree_ops.forest_sum(x, trees, n_outputs)
    return _tree_ops.add_constant(raw, np.asarray(estimator._baseline_prediction, dtype=np.float64).ravel())


# ------------------------------------------------------------------ AdaBoost
TREE_CLASSIFIERS = (DecisionTreeClassifier, ExtraTreeClassifier)


def check_adaboost(estimator, output: str) -> None:
    require_output(estimator, output, ("proba", "decision"))
    for sub in estimator.estimators_:
        if type(sub) in TREE_CLASSIFIERS:
            check_single_output(sub)
        else:
            check_supported(sub, "label")  # any registered classifier votes with its predict


@checked_by(check_adaboost)
def build_adaboost(estimator, x, output):
    """SAMME: each estimator votes ``w`` for the class it predicts and ``-w / (K - 1)`` for
    the others, over the total weight. Trees vote from their leaves (all of them in one
    traversal); any other registered classifier through its own ``predict``."""
    check_adaboost(estimator, output)
    classes = np.asarray(estimator.classes_)
    k = len(classes)
    if k == 1:  # scikit-learn: decision 0, probability 1
        return _ops.constant_rows(x, np.zeros(1) if output == "decision" else np.ones(1))
    weights = np.asarray(estimator.estimator_weights_, dtype=np.float64)
    total = weights.sum()  # over every weight, as scikit-learn (unfitted stages weigh 0)
    width = 1 if k == 2 else k
    trees, others = [], []
    for sub, w in zip(estimator.estimators_, weights[: len(estimator.estimators_)], strict=True):
        if type(sub) not in TREE_CLASSIFIERS:
            others.append((sub, w))
            continue
        # scikit-learn's tree.predict: the first class of largest value at the leaf.
        label = np.asarray(sub.classes_)[np.argmax(np.asarray(sub.tree_.value)[:, 0, :], axis=1)]
        voted = np.searchsorted(classes, label)  # classes_ is sorted (np.unique)
        trees.append(tree_of(sub.tree_, _votes(np.arange(k)[None, :] == voted[:, None], w, total, k)))

    def decision_values():
        parts = [_tree_ops.forest_sum(x, trees, width)] if trees else []
        for sub, w in others:
            predicted = _ops.equal_rows(build(sub, x, "label"), classes)  # (batch, k) one-hot
            # row c of the table: the votes when the sub-estimator predicts class c
            parts.append(_ops.matmul(predicted, _votes(np.eye(k, dtype=bool), w, total, k)))
        return _ops.weighted_sum(parts, np.ones(len(parts)))

    decision = shared(estimator, x, "decision", decision_values)
    if output == "decision":
        return decision
    if k == 2:
        return _tree_ops.inverse_link(decision, "logit", proba=True)  # softmax([-d, d] / 2)
    return _tree_ops.inverse_link(decision, "multinomial", proba=True, scale=1.0 / (k - 1))


def _votes(is_voted, w: float, total: float, k: int) -> np.ndarray:
    """SAMME votes ``w`` or ``-w / (K - 1)`` over ``total``; for two classes the vote for
    the second class minus the vote for the first (scikit-learn's binary decision)."""
    vote = np.atleast_2d(np.where(is_voted, w, -w / (k - 1)) / total)
    return vote[:, 1:] - vote[:, :1] if k == 2 else vote


# ------------------------------------------------------------------ isolation forest
def _isolation_tree(tree, features, path_lengths, average_lengths) -> _tree_ops.Tree:
    fitted = tree.tree_
    feature = np.asarray(fitted.feature)
    inner = feature >= 0
    feature = np.where(inner, np.asarray(features)[np.maximum(feature, 0)], feature)  # subset -> input column
    value = (np.asarray(path_lengths, np.float64) + np.asarray(average_lengths, np.float64) - 1.0)[:, None]
    return _tree_ops.Tree(
        left=np.asarray(fitted.children_left),
        right=np.asarray(fitted.children_right),
        feature=feature,
        threshold=np.asarray(fitted.threshold, dtype=np.float64),
        missing_left=np.asarray(fitted.missing_go_to_left, dtype=bool),
        value=value,
    )


def _average_path_length(n: int) -> float:
    """The average path length of an unsuccessful search in a binary tree of ``n`` points."""
    if n <= 1:
        return 0.0
    if n == 2:
        return 1.0
    return 2.0 * (np.log(n - 1.0) + np.euler_gamma) - 2.0 * (n - 1.0) / n


@builds_labels
@checked_by(check_outlier_detector)
def build_isolation_forest(estimator, x, output):
    """``score_samples = -2 ** (-Σ depth / (n_trees c(max_samples)))``, where each tree's
    depth at a leaf is its path length plus the average path length of what it holds,
    minus 1 (scikit-learn's ``_compute_score_samples``)."""
    check_outlier_detector(estimator, output)
    trees = [
        _isolation_tree(tree, features, lengths, averages)
        for tree, features, lengths, averages in zip(
            estimator.estimators_,
            estimator.estimators_features_,
            estimator._decision_path_lengths,
            estimator._average_path_length_per_tree,
            strict=True,
        )
    ]
    # once for all its outputs (as the other ensembles are), so its tables keep their names
    depths = shared(estimator, x, "depths", lambda: _tree_ops.forest_sum(x, trees, 1))
    denominator = len(trees) * _average_path_length(int(estimator._max_samples))
    scores = _tree_ops.negative_power_of_two(depths, 1.0 / denominator if denominator else 0.0)
    return _ops.outlier_outputs(scores, float(estimator.offset_), output)


BUILDERS = {
    IsolationForest: build_isolation_forest,
    RandomForestClassifier: build_forest_classifier,
    ExtraTreesClassifier: build_forest_classifier,
    RandomForestRegressor: build_forest_regressor,
    ExtraTreesRegressor: build_forest_regressor,
    GradientBoostingClassifier: build_gradient_boosting,
    GradientBoostingRegressor: build_gradient_boosting,
    HistGradientBoostingClassifier: build_hist_gradient_boosting,
    HistGradientBoostingRegressor: build_hist_gradient_boosting,
    AdaBoostClassifier: build_adaboost,
}

REFUSED = {
    AdaBoostRegressor: (
        "A model whose prediction float32 can reproduce exactly; AdaBoostRegressor predicts a weighted "
        "median, a comparison of float64 cumulative sums of estimator weights that float32 cannot repeat.",
        "Use RandomForestRegressor or GradientBoostingRegressor, which are rebuilt exactly.",
    ),
}
