"""Naive Bayes: per-class joint log-likelihoods, then a softmax (``predict_proba`` is
``exp(jll - logsumexp(jll))``).

Multinomial and Complement NB: ``jll = X @ feature_log_prob_.T`` plus the class log prior
(Complement NB adds it only for a single class, as scikit-learn). Bernoulli NB binarizes X
at ``binarize`` and adds ``log(1 - p)`` terms. Categorical NB looks up each feature's
category (an integer value; others match none) in ``feature_log_prob_``.

Gaussian NB:

``predict_proba`` is ``exp(jll - logsumexp(jll))``, the softmax of the joint
log-likelihoods ``log prior - ½ Σ log(2π var) - ½ Σ (x - θ)² / var``. The constant part
is summed in float64, and the log-likelihoods are compared feature by feature with the
most likely class's (see ``_ops.gaussian_nb_proba``): on digits, where never-inked pixels
give terms of 1e9, this is what keeps the probabilities within 1e-6.
"""

from __future__ import annotations

import numpy as np
from sklearn.naive_bayes import BernoulliNB, CategoricalNB, ComplementNB, GaussianNB, MultinomialNB

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


def check_discrete_nb(estimator, output: str) -> None:
    require_output(estimator, output, ("proba",))


def _linear_terms(estimator, x):
    """``(features, weights, bias)`` with ``jll = features @ weights + bias``."""
    flp = np.asarray(estimator.feature_log_prob_, dtype=np.float64)
    prior = np.asarray(estimator.class_log_prior_, dtype=np.float64)
    if isinstance(estimator, BernoulliNB):
        if estimator.binarize is not None:
            x = _ops.as_float(_ops.greater(x, float(estimator.binarize)))
        negative = np.log(1.0 - np.exp(flp))
        return x, (flp - negative).T, prior + negative.sum(axis=1)
    if isinstance(estimator, ComplementNB) and len(estimator.classes_) != 1:
        return x, flp.T, np.zeros(len(prior))
    return x, flp.T, prior


@checked_by(check_discrete_nb)
def build_discrete_nb(estimator, x, output):
    check_discrete_nb(estimator, output)
    return _ops.linear_softmax(*_linear_terms(estimator, x))


@checked_by(check_discrete_nb)
def build_categorical_nb(estimator, x, output):
    check_discrete_nb(estimator, output)
    feature, values, rows = [], [], []
    for i, table in enumerate(estimator.feature_log_prob_):  # table: (n_classes, n_categories_i)
        for category in range(table.shape[1]):
            feature.append(i)
            values.append(float(category))
            rows.append(np.asarray(table[:, category], dtype=np.float64))
    match = _ops.category_match(x, np.asarray(feature), np.asarray(values, dtype=np.float32))
    prior = np.asarray(estimator.class_log_prior_, dtype=np.float64)
    return _ops.linear_softmax(match, np.asarray(rows), prior)


BUILDERS = {
    GaussianNB: build_gaussian_nb,
    MultinomialNB: build_discrete_nb,
    ComplementNB: build_discrete_nb,
    BernoulliNB: build_discrete_nb,
    CategoricalNB: build_categorical_nb,
}
