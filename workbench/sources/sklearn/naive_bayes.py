"""Gaussian naive Bayes: per-class joint log-likelihoods, then a softmax.

``predict_proba`` is ``exp(jll - logsumexp(jll))``, the softmax of the joint
log-likelihoods ``log prior - ½ Σ log(2π var) - ½ Σ (x - θ)² / var``. The constant part
is summed in float64, and the log-likelihoods are compared feature by feature with the
most likely class's (see ``_ops.gaussian_nb_proba``): on digits, where never-inked pixels
give terms of 1e9, this is what keeps the probabilities within 1e-6.
"""

from __future__ import annotations

import numpy as np
from sklearn.naive_bayes import GaussianNB

from . import _ops
from ._checks import checked_by, require_output


def check_gaussian_nb(estimator, output: str) -> None:
    require_output(estimator, output, ("proba",))


@checked_by(check_gaussian_nb)
def build_gaussian_nb(estimator, x, output):
    check_gaussian_nb(estimator, output)
    with np.errstate(divide="ignore"):
        log_prior = np.log(np.asarray(estimator.class_prior_, dtype=np.float64))
    return _ops.gaussian_nb_proba(x, estimator.theta_, estimator.var_, log_prior)


BUILDERS = {GaussianNB: build_gaussian_nb}
