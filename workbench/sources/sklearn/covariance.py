"""EllipticEnvelope: ``score_samples`` is minus the squared Mahalanobis distance to
``location_`` (``|(x - location_) L|²`` with ``L`` the Cholesky factor of the precision,
folded in float64), ``decision_function`` that minus ``offset_``, ``predict`` +1 where the
decision is >= 0, as scikit-learn."""

from __future__ import annotations

import numpy as np
from sklearn.covariance import EllipticEnvelope

from . import _ops
from ._checks import check_outlier_detector, checked_by
from ._registry import builds_labels


@builds_labels
@checked_by(check_outlier_detector)
def build_envelope(estimator, x, output):
    check_outlier_detector(estimator, output)
    factor = np.linalg.cholesky(np.asarray(estimator.get_precision(), dtype=np.float64))
    location = np.asarray(estimator.location_, dtype=np.float64)[None, :]
    scores = -1.0 * _ops.quadratic_forms(x, location, factor[None])
    return _ops.outlier_outputs(scores, float(estimator.offset_), output)


BUILDERS = {EllipticEnvelope: build_envelope}
