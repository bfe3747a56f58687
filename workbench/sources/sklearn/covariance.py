"""EllipticEnvelope: ``score_samples`` is minus the squared Mahalanobis distance to
``location_`` (``|(x - location_) L|²`` with ``L`` the Cholesky factor of the precision,
folded in float64), ``decision_function`` that minus ``offset_``, ``predict`` +1 where the
decision is >= 0, as scikit-learn."""

from __future__ import annotations

import numpy as np
from sklearn.covariance import EllipticEnvelope

from . import _ops
from ._checks import checked_by, require_output
from ._registry import builds_labels


def check_envelope(estimator, output: str) -> None:
    require_output(estimator, output, ("label", "decision", "score_samples"))


@builds_labels
@checked_by(check_envelope)
def build_envelope(estimator, x, output):
    check_envelope(estimator, output)
    factor = np.linalg.cholesky(np.asarray(estimator.get_precision(), dtype=np.float64))
    location = np.asarray(estimator.location_, dtype=np.float64)[None, :]
    scores = -1.0 * _ops.quadratic_forms(x, location, factor[None])
    if output == "score_samples":
        return scores
    decision = _ops.add(scores, np.array([-float(estimator.offset_)]))
    if output == "label":
        return _ops.outlier_labels(decision)
    return decision


BUILDERS = {EllipticEnvelope: build_envelope}
