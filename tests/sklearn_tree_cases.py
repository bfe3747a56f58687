"""The tree and ensemble estimators the workbench rebuilds, each on real data.

``TREE_CASES`` has the format of ``CASES`` in ``sklearn_cases.py`` (which appends it to
``ALL_CASES``): ``pytest.param(factory, dataset_name, id=...)`` where ``factory()`` returns
a fresh, unfitted estimator with a fixed ``random_state`` and ``dataset_name`` is one of
``sklearn_cases.DATASETS``. "synthetic" puts test values exactly on the grid midpoints
the trees split at and one float32 step either side; "missing" has NaN in training and
test data. The thresholds that float32 cannot represent are tested value by value in
``test_sklearn_trees.py``.

This module does not import ``sklearn_cases`` (which imports it), so either can be
imported first.
"""

from __future__ import annotations

import pytest
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import (
    AdaBoostClassifier,
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.tree import (
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    ExtraTreeClassifier,
    ExtraTreeRegressor,
)


def case(factory, dataset: str, variant: str = "", marks=()):
    """``pytest.param(factory, dataset)`` with an id naming the class, variant and dataset."""
    label = "-".join(p for p in (type(factory()).__name__, variant, dataset) if p)
    return pytest.param(factory, dataset, id=label, marks=marks)


TREE_CASES = [
    # single trees
    case(lambda: DecisionTreeClassifier(random_state=0), "iris"),
    case(lambda: DecisionTreeClassifier(random_state=0), "breast_cancer"),
    case(lambda: DecisionTreeClassifier(max_depth=6, random_state=0), "digits", "depth6"),
    case(lambda: DecisionTreeClassifier(random_state=0), "synthetic"),
    case(lambda: DecisionTreeClassifier(random_state=0), "missing"),
    case(lambda: ExtraTreeClassifier(random_state=0), "wine"),
    case(lambda: DecisionTreeRegressor(random_state=0), "diabetes"),
    case(lambda: DecisionTreeRegressor(max_depth=5, random_state=0), "synthetic_regression", "depth5"),
    case(lambda: ExtraTreeRegressor(random_state=0), "diabetes"),
    # forests
    case(lambda: RandomForestClassifier(n_estimators=20, random_state=0), "wine"),
    case(lambda: RandomForestClassifier(n_estimators=20, max_depth=8, random_state=0), "digits", "depth8"),
    case(lambda: RandomForestClassifier(n_estimators=10, random_state=0), "missing"),
    case(lambda: RandomForestRegressor(n_estimators=20, random_state=0), "diabetes"),
    case(lambda: ExtraTreesClassifier(n_estimators=20, random_state=0), "breast_cancer"),
    case(lambda: ExtraTreesClassifier(n_estimators=10, random_state=0), "synthetic"),
    case(lambda: ExtraTreesRegressor(n_estimators=20, random_state=0), "diabetes"),
    # gradient boosting
    case(lambda: GradientBoostingClassifier(n_estimators=30, random_state=0), "breast_cancer"),
    case(lambda: GradientBoostingClassifier(n_estimators=20, random_state=0), "iris"),
    case(
        lambda: GradientBoostingClassifier(n_estimators=20, loss="exponential", random_state=0),
        "breast_cancer",
        "exponential",
    ),
    case(
        lambda: GradientBoostingClassifier(n_estimators=20, init="zero", random_state=0), "wine", "zero_init"
    ),
    case(lambda: GradientBoostingClassifier(n_estimators=15, max_depth=2, random_state=0), "synthetic"),
    case(lambda: GradientBoostingRegressor(n_estimators=30, random_state=0), "diabetes"),
    case(
        lambda: GradientBoostingRegressor(
            n_estimators=20, loss="huber", init=DummyRegressor(strategy="median"), random_state=0
        ),
        "synthetic_regression",
        "huber_median_init",
    ),
    case(lambda: HistGradientBoostingClassifier(max_iter=30, random_state=0), "breast_cancer"),
    case(lambda: HistGradientBoostingClassifier(max_iter=10, random_state=0), "digits"),
    case(lambda: HistGradientBoostingClassifier(max_iter=20, random_state=0), "synthetic"),
    case(lambda: HistGradientBoostingRegressor(max_iter=30, random_state=0), "diabetes"),
    case(
        lambda: HistGradientBoostingRegressor(max_iter=30, loss="poisson", random_state=0),
        "diabetes",
        "poisson",
    ),
    # AdaBoost (SAMME)
    case(lambda: AdaBoostClassifier(n_estimators=30, random_state=0), "breast_cancer"),
    case(lambda: AdaBoostClassifier(n_estimators=20, random_state=0), "wine"),
    case(
        lambda: AdaBoostClassifier(DecisionTreeClassifier(max_depth=3), n_estimators=10, random_state=0),
        "synthetic",
        "depth3",
    ),
]
