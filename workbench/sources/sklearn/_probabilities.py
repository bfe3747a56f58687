"""Output heads that turn scores into probabilities: sigmoid and softmax, taken in log space
or relative to each row's best class where float32 would lose what float64 tells apart
(linear models, naive Bayes, mixtures), and the MLP activations."""

from __future__ import annotations

import numpy as np

from ._graph import _tf, constant, matmul, split


def sigmoid(z):
    return _tf().math.sigmoid(z)


def two_columns(p):
    """``[1 - p, p]`` for a (batch, 1) probability of the second class."""
    return _tf().concat([1.0 - p, p], axis=1)


def softmax(z):
    tf = _tf()
    shifted = z - tf.reduce_max(z, axis=1, keepdims=True)
    e = tf.exp(shifted)
    return e / tf.reduce_sum(e, axis=1, keepdims=True)


def normalise_rows(p):
    """Divide each row by its sum; a row of zeros becomes uniform (as scikit-learn's OvR)."""
    tf = _tf()
    total = tf.reduce_sum(p, axis=1, keepdims=True)
    empty = tf.equal(total, 0.0)
    n = float(p.shape[1])
    p = tf.where(empty, tf.ones_like(p), p)
    total = tf.where(empty, tf.fill(tf.shape(total), n), total)
    return p / total


def modified_huber_proba(scores):
    """``(clip(scores, -1, 1) + 1) / 2``: SGDClassifier(loss="modified_huber")."""
    tf = _tf()
    return (tf.clip_by_value(scores, -1.0, 1.0) + 1.0) / 2.0


#: Above this, scipy's float64 ``expit(z) = 1 / (1 + exp(-z))`` is exactly 1: ``1 + exp(-z)``
#: rounds to 1 once ``exp(-z) <= 2**-53``.
FLOAT64_EXPIT_ONE = 53.0 * float(np.log(2.0))


def log_sigmoid(z):
    """``log(expit(z))`` as float64 scipy computes ``expit``, finite for every finite z.

    ``min(z, 0) - log1p(exp(-|z|))``, with ``log1p`` by its series where ``exp(-|z|)`` is
    small (float32's ``log(1 + e)`` is 0 there, from z = 17 on, which would tie classes
    that float64 tells apart), and exactly 0 from :data:`FLOAT64_EXPIT_ONE` on, where
    float64's ``expit`` is exactly 1 and ties the classes itself. The float32 ``sigmoid``
    underflows to 0 below about -88; this stays finite.
    """
    tf = _tf()
    small = tf.exp(-tf.abs(z))
    log1p = tf.where(tf.less(small, 1e-4), small * (1.0 - 0.5 * small), tf.math.log(1.0 + small))
    out = tf.minimum(z, 0.0) - log1p
    return tf.where(tf.greater_equal(z, np.float32(FLOAT64_EXPIT_ONE)), tf.zeros_like(out), out)


#: Below this, scipy's float64 ``expit(z) = 1 / (1 + exp(-z))`` is 0: ``exp(-z)`` overflows.
FLOAT64_EXPIT_ZERO = -float(np.log(np.finfo(np.float64).max))


def logistic_ovr_proba(scores):
    """Sigmoid of each one-vs-rest score, normalised per row (scikit-learn's
    ``_predict_proba_lr``), taken in log space relative to the row's largest: below -88
    the float32 sigmoids are all 0, while float64 still tells one class from the others."""
    return normalise_logs(log_sigmoid(scores), all_zero="uniform")


def normalise_logs(log_p, *, all_zero: str):
    """``p / p.sum(axis=1)`` of the probabilities whose logs are ``log_p``, relative to each
    row's largest, so that probabilities float32 cannot hold (below 1e-38) still count.

    A row whose every ``log_p`` is below :data:`FLOAT64_EXPIT_ZERO` is all 0 in float64
    too; scikit-learn then answers a uniform row (``all_zero="uniform"``: its linear models
    and calibration) or NaN (``"nan"``: OneVsRestClassifier divides 0 by 0).
    """
    tf = _tf()
    proba = softmax(log_p)
    underflow = tf.less(tf.reduce_max(log_p, axis=1, keepdims=True), np.float32(FLOAT64_EXPIT_ZERO))
    fill = 1.0 / float(proba.shape[1]) if all_zero == "uniform" else np.nan
    return tf.where(
        tf.logical_and(underflow, tf.ones_like(proba, dtype=tf.bool)),
        tf.fill(tf.shape(proba), np.float32(fill)),
        proba,
    )


def activation(z, name: str):
    """An MLP activation by scikit-learn's name."""
    tf = _tf()
    if name == "identity":
        return z
    if name == "relu":
        return tf.nn.relu(z)
    if name == "tanh":
        return tf.tanh(z)
    if name == "logistic":
        return tf.math.sigmoid(z)
    if name == "softmax":
        return softmax(z)
    raise ValueError(f"unknown activation {name!r}")


def gaussian_nb_proba(x, theta, var, log_prior):
    """GaussianNB's ``predict_proba``: the softmax of the joint log-likelihoods
    ``log_prior - ½ Σ log(2π var) - ½ Σ (x - θ)² / var``.

    Features a class never varied on have ``var`` = epsilon and terms of 1e7 and more,
    so float32 log-likelihoods are off by units. Only their differences matter: each
    class is compared with the most likely one feature by feature, where the terms two
    classes share cancel exactly, before anything is summed.
    """
    tf = _tf()
    theta = np.asarray(theta, dtype=np.float64)
    var = np.asarray(var, dtype=np.float64)
    n_classes = theta.shape[0]
    bias = np.asarray(log_prior, dtype=np.float64) - 0.5 * np.sum(np.log(2.0 * np.pi * var), axis=1)
    hi, lo = split(theta)
    diff = x[:, None, :] - constant(hi)[None]
    if np.any(lo):
        diff = diff - constant(lo)[None]
    terms = diff * diff / constant(var)[None]  # (batch, classes, features)
    rough = constant(bias)[None, :] - 0.5 * tf.reduce_sum(terms, axis=2)
    best = tf.one_hot(tf.argmax(rough, axis=1), n_classes, dtype=tf.float32)
    best_terms = tf.reduce_sum(terms * best[:, :, None], axis=1)  # (batch, features)
    bias_gap = bias[None, :] - bias[:, None]  # [r, c]: bias of c minus bias of r, in float64
    relative = matmul(best, bias_gap) - 0.5 * tf.reduce_sum(terms - best_terms[:, None, :], axis=2)
    return softmax(relative)


def linear_softmax(features, weights, bias):
    """``softmax(features @ weights + bias)`` with the scores taken relative to each row's
    best class before anything is summed.

    Joint log-likelihoods of count models reach hundreds, so float32 scores are off by
    1e-3 while only their differences (often units) matter. Here the best class is picked
    by float32 scores, then every class's difference to it is one product with weight
    differences folded in float64: ``features @ (w_c - w_best) + (b_c - b_best)``.
    """
    tf = _tf()
    weights = np.asarray(weights, dtype=np.float64)
    bias = np.asarray(bias, dtype=np.float64)
    k = weights.shape[1]
    rough = matmul(features, weights) + constant(bias)
    if k == 1:
        return softmax(rough)
    best = tf.one_hot(tf.argmax(rough, axis=1), k, dtype=tf.float32)  # (batch, k)
    gaps = (weights[:, None, :] - weights[:, :, None]).reshape(
        weights.shape[0], k * k
    )  # [.., r, c]: w_c - w_r
    bias_gaps = (bias[None, :] - bias[:, None]).reshape(k * k)
    relative = tf.reshape(matmul(features, gaps) + constant(bias_gaps), [-1, k, k])
    return softmax(tf.reduce_sum(relative * best[:, :, None], axis=1))


def logsumexp(scores):
    """(batch, 1) ``log Σ exp(scores)`` per row, relative to the row maximum."""
    tf = _tf()
    top = tf.reduce_max(scores, axis=1, keepdims=True)
    return top + tf.math.log(tf.reduce_sum(tf.exp(scores - top), axis=1, keepdims=True))
