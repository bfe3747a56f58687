"""Dummy estimators: constants. DummyClassifier with strategy "prior", "most_frequent" or
"constant" (``predict_proba`` the same row for every sample, ``predict`` its label);
DummyRegressor ``constant_``. The random strategies ("stratified", "uniform") cannot be
frozen into a file."""

from __future__ import annotations

import numpy as np
from sklearn.dummy import DummyClassifier, DummyRegressor

from . import _ops
from ._checks import checked_by, require_output, unsupported
from ._registry import builds_labels


def check_dummy(estimator, output: str) -> None:
    if isinstance(estimator, DummyRegressor):
        require_output(estimator, output, ("values",))
        return
    require_output(estimator, output, ("proba", "label"))
    if estimator.strategy not in ("prior", "most_frequent", "constant") or estimator.n_outputs_ != 1:
        raise unsupported(
            estimator,
            f"strategy={estimator.strategy!r}",
            "strategy 'prior', 'most_frequent' or 'constant' and one target (the others draw random labels)",
            "Use strategy='prior'.",
        )


@builds_labels
@checked_by(check_dummy)
def build_dummy(estimator, x, output):
    check_dummy(estimator, output)
    if isinstance(estimator, DummyRegressor):
        return _ops.constant_rows(x, np.asarray(estimator.constant_, dtype=np.float64).ravel())
    proba = np.asarray(estimator.predict_proba(np.zeros((1, estimator.n_features_in_))), dtype=np.float64)[0]
    if output == "proba":
        return _ops.constant_rows(x, proba)
    label = estimator.predict(np.zeros((1, estimator.n_features_in_)))
    index = int(np.flatnonzero(np.asarray(estimator.classes_) == label[0])[0])
    return _ops.take(np.asarray(estimator.classes_), _ops.constant_index(x, index))


BUILDERS = {DummyClassifier: build_dummy, DummyRegressor: build_dummy}
