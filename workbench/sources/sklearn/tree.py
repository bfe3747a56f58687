"""Single decision trees, rebuilt exactly by the traversal of ``_tree_ops``.

- DecisionTreeClassifier, ExtraTreeClassifier: ``predict_proba`` is the class fractions
  stored at the leaf (``tree_.value``, already normalised in scikit-learn 1.9); fitted
  on a 2-D ``y`` (multi-output or multilabel), one block of fractions per target, and
  ``predict`` each block's first largest class;
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

from . import _ops, _tree_ops
from ._checks import checked_by, require_output, unsupported
from ._registry import label_table, target_classes


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


def class_widths(estimator) -> list[int]:
    """The number of classes of each target (one entry for a single target)."""
    return [int(n) for n in np.atleast_1d(estimator.n_classes_)]


def class_fractions(estimator) -> np.ndarray:
    """(n_nodes, total classes): what ``predict_proba`` returns at each node, every
    target's classes side by side (scikit-learn returns one array per target)."""
    value = np.asarray(estimator.tree_.value, dtype=np.float64)
    return np.concatenate([value[:, k, :n] for k, n in enumerate(class_widths(estimator))], axis=1)


def per_target(estimator, proba):
    """``proba`` as scikit-learn returns it: one tensor, or a list of one per target."""
    widths = class_widths(estimator)
    if getattr(estimator, "n_outputs_", 1) == 1:
        return proba
    return _ops.split_columns(proba, widths)


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
    check_targets(estimator)


def check_targets(estimator) -> None:
    """A multi-output classifier's labels must fit one typed output (see ``label_table``)."""
    targets = target_classes(estimator)
    if targets is not None:
        label_table(estimator, targets)


def mean_proba(estimator, x, members):
    """``estimator``'s ``predict_proba``: the mean of its ``members``' class fractions (the
    tree itself, or a forest's trees), per target."""
    n = len(members)
    trees = [tree_of(member.tree_, class_fractions(member) / n) for member in members]
    return per_target(estimator, _tree_ops.forest_sum(x, trees, sum(class_widths(estimator))))


@checked_by(check_classifier)
def build_classifier(estimator, x, output):
    check_classifier(estimator, output)
    return mean_proba(estimator, x, [estimator])


# --------------------------------------------------------------------- regressors
def check_regressor(estimator, output: str) -> None:
    require_output(estimator, output, ("values",))


def mean_values(estimator, x, members):
    """``estimator``'s ``predict``: the mean of its ``members``' values (the tree itself, or a
    forest's trees)."""
    n = len(members)
    trees = [tree_of(member.tree_, regression_values(member) / n) for member in members]
    return _tree_ops.forest_sum(x, trees, int(estimator.n_outputs_))


@checked_by(check_regressor)
def build_regressor(estimator, x, output):
    check_regressor(estimator, output)
    return mean_values(estimator, x, [estimator])


BUILDERS = {
    DecisionTreeClassifier: build_classifier,
    ExtraTreeClassifier: build_classifier,
    DecisionTreeRegressor: build_regressor,
    ExtraTreeRegressor: build_regressor,
}
