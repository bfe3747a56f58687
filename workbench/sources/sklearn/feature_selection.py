"""Feature selectors: ``transform`` keeps the columns of ``get_support()``.

RFE and RFECV also predict: their ``estimator_`` (fitted on the kept columns) is rebuilt
through the registry on those columns, for every output it has.
"""

from __future__ import annotations

import numpy as np
from sklearn.feature_selection import (
    RFE,
    RFECV,
    GenericUnivariateSelect,
    SelectFdr,
    SelectFpr,
    SelectFromModel,
    SelectFwe,
    SelectKBest,
    SelectPercentile,
    SequentialFeatureSelector,
    VarianceThreshold,
)

from . import _ops
from ._checks import check_supported, checked_by, require_output, unsupported
from ._registry import build, builds_labels


def _kept(estimator) -> np.ndarray:
    kept = np.flatnonzero(estimator.get_support())
    if len(kept) == 0:
        raise unsupported(
            estimator, "no selected feature", "at least one kept feature", "Loosen the selection threshold."
        )
    return kept


def check_selector(estimator, output: str) -> None:
    if isinstance(estimator, RFE) and output != "transform":
        check_supported(estimator.estimator_, output)
    else:
        require_output(estimator, output, ("transform",))
    _kept(estimator)


@builds_labels
@checked_by(check_selector)
def build_selector(estimator, x, output):
    check_selector(estimator, output)
    kept = _ops.columns(x, _kept(estimator))
    if output == "transform":
        return kept
    return build(estimator.estimator_, kept, output)


BUILDERS = {
    klass: build_selector
    for klass in (
        SelectKBest,
        SelectPercentile,
        SelectFpr,
        SelectFdr,
        SelectFwe,
        GenericUnivariateSelect,
        VarianceThreshold,
        SelectFromModel,
        SequentialFeatureSelector,
        RFE,
        RFECV,
    )
}
