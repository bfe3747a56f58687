"""Single decision trees, rebuilt exactly by the traversal of ``_tree_ops``.

- DecisionTreeClassifier, ExtraTreeClassifier: ``predict_proba`` is the class fractions
  stored at the leaf (``tree_.value``, already normalised in scikit-learn 1.9);
- DecisionTreeRegressor, ExtraTreeRegressor: ``predict``, one column per target.

NaN goes where each node's ``missing_go_to_left`` says, as in scikit-learn.
"""

from __future__ import annotations

import numpy as np
from sklearn.tree import (
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    ExtraTreeClassifier,
    ExtraTreeRegressor,
)

from . import _tree_ops
from ._checks import checked_by, require_output, unsupported


def tree_of(fitted_tree, value, columns=None) -> _tree_ops.Tree:
    """A scikit-learn ``tree_`` (the Cython ``Tree``) as a :class:`_tree_ops.Tree`."""
    return _tree_ops.Tree(
        left=np.asarray(fitted_tree.children_left),
        right=np.asarray(fitted_tree.children_right),
        feature=np.asarray(fitted_tree.feature),
        threshold=np.asarray(fitted_tree.threshold, dtype=np.float64),
        missing_left=np.asarray(fitted_tree.missing_go_to_left, dtype=bool),
        value=value,
        columns=columns,
    )


def class_fractions(estimator) -> np.ndarray:
    """(n_nodes, n_classes): what ``predict_proba`` returns at each node."""
    return np.asarray(estimator.tree_.value, dtype=np.float64)[:, 0, : estimator.n_classes_]


def regression_values(estimator) -> np.ndarray:
    """(n_nodes, n_outputs): what ``predict`` returns at each node."""
    return np.asarray(estimator.tree_.value, dtype=np.float64)[:, :, 0]


def check_single_output(estimator) -> None:
    if getattr(estimator, "n_outputs_", 1) != 1:
        raise unsupported(
            estimator,
            f"{estimator.n_outputs_} outputs (a 2-D y)",
            "one target column",
            "Fit one classifier per target column.",
        )


# --------------------------------------------------------------------- classifiers
def check_classifier(estimator, output: str) -> None:
    require_output(estimator, output, ("proba",))
    check_single_output(estimator)


@checked_by(check_classifier)
def build_classifier(estimator, x, output):
    check_classifier(estimator, output)
    tree = tree_of(estimator.tree_, class_fractions(estimator))
    return _tree_ops.forest_sum(x, [tree], int(estimator.n_classes_))


# --------------------------------------------------------------------- regressors
def check_regressor(estimator, output: str) -> None:
    require_output(estimator, output, ("values",))


@checked_by(check_regressor)
def build_regressor(estimator, x, output):
    check_regressor(estimator, output)
    tree = tree_of(estimator.tree_, regression_values(estimator))
    return _tree_ops.forest_sum(x, [tree], int(estimator.n_outputs_))


BUILDERS = {
    DecisionTreeClassifier: build_classifier,
    ExtraTreeClassifier: build_classifier,
    DecisionTreeRegressor: build_regressor,
    ExtraTreeRegressor: build_regressor,
}
