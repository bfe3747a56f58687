"""One-vs-one classifiers as libsvm and scikit-learn combine their pairs: votes, the
vote-plus-confidence decision and libsvm's pairwise probability coupling."""

from __future__ import annotations

import numpy as np

from ._graph import _tf, as_float, constant, matmul
from ._labels import argmax


def ovo_vote(decision, n_classes: int):
    """libsvm's ``svm_predict``: pair (i, j) votes for i when its decision value is
    positive, for j otherwise; the class with most votes wins, the first one on a tie."""
    tf = _tf()
    first, second = _pair_matrices(n_classes)
    first_wins = as_float(tf.greater(decision, 0.0))
    votes = matmul(first_wins, first) + matmul(1.0 - first_wins, second)
    return argmax(votes)


def ovo_decision(second_wins, confidences, n_classes: int):
    """scikit-learn's ``_ovr_decision_function`` from each pair's 0/1 prediction (1: the
    second class won) and confidence: votes plus confidences squashed to (-1/3, 1/3)."""
    tf = _tf()
    first, second = _pair_matrices(n_classes)
    votes = matmul(second_wins, second) + matmul(1.0 - second_wins, first)
    confidence = matmul(confidences, second - first)
    return votes + confidence / (3.0 * (tf.abs(confidence) + 1.0))


def ovr_from_ovo(decision, n_classes: int):
    """scikit-learn's ``_ovr_decision_function``: votes plus squashed summed confidences."""
    tf = _tf()
    first, second = _pair_matrices(n_classes)
    second_wins = as_float(tf.less(decision, 0.0))
    votes = matmul(second_wins, second) + matmul(1.0 - second_wins, first)
    confidence = matmul(decision, first - second)
    return votes + confidence / (3.0 * (tf.abs(confidence) + 1.0))


def _pair_matrices(n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    pairs = [(i, j) for i in range(n_classes) for j in range(i + 1, n_classes)]
    first = np.zeros((len(pairs), n_classes))
    second = np.zeros((len(pairs), n_classes))
    for p, (i, j) in enumerate(pairs):
        first[p, i] = 1.0
        second[p, j] = 1.0
    return first, second


def svm_probability(decision, prob_a, prob_b, n_classes: int):
    """libsvm's ``svm_predict_probability`` from its own one-vs-one decision values.

    Platt sigmoids give pairwise probabilities clipped to [1e-7, 1 - 1e-7], which
    ``multiclass_probability`` couples (Wu, Lin and Weng, method 2) with the same
    iteration, order of updates and per-sample stopping rule as libsvm, so the result
    is the same approximate solution, not merely a nearby one.
    """
    tf = _tf()
    k = n_classes
    f = decision * constant(prob_a) + constant(prob_b)
    pairwise = tf.clip_by_value(tf.math.sigmoid(-f), 1e-7, 1.0 - 1e-7)
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    r = [[None] * k for _ in range(k)]  # r[i][j]: (batch,) probability of i over j
    for p, (i, j) in enumerate(pairs):
        r[i][j] = pairwise[:, p]
        r[j][i] = 1.0 - r[i][j]
    zero = tf.zeros_like(pairwise[:, 0])
    q = [[None] * k for _ in range(k)]
    for t in range(k):
        diagonal = zero
        for j in range(k):
            if j != t:
                diagonal = diagonal + r[j][t] * r[j][t]
        q[t][t] = diagonal
        for j in range(t + 1, k):
            q[t][j] = -r[j][t] * r[t][j]
            q[j][t] = q[t][j]
    # Q as (batch, k, k), built row by row.
    q_matrix = tf.stack([tf.stack(row, axis=1) for row in q], axis=1)
    eps = 0.005 / k
    max_iter = max(100, k)

    def products(p):
        qp = tf.reduce_sum(q_matrix * p[:, None, :], axis=2)
        return qp, tf.reduce_sum(p * qp, axis=1)

    def body(iteration, p, done):
        qp, pqp = products(p)
        error = tf.reduce_max(tf.abs(qp - pqp[:, None]), axis=1)
        done = tf.logical_or(done, error < eps)
        new_p, new_qp, new_pqp = p, qp, pqp
        for t in range(k):
            q_tt = q_matrix[:, t, t]
            diff = (-new_qp[:, t] + new_pqp) / q_tt
            onehot = np.zeros(k, dtype=np.float32)
            onehot[t] = 1.0
            new_p = new_p + diff[:, None] * constant(onehot)[None]
            grow = 1.0 + diff
            new_pqp = (new_pqp + diff * (diff * q_tt + 2.0 * new_qp[:, t])) / grow / grow
            new_qp = (new_qp + diff[:, None] * q_matrix[:, t, :]) / grow[:, None]
            new_p = new_p / grow[:, None]
        p = tf.where(done[:, None], p, new_p)
        return iteration + 1, p, done

    def keep_going(iteration, p, done):
        return tf.logical_and(iteration < max_iter, tf.logical_not(tf.reduce_all(done)))

    start = tf.fill(tf.shape(pairwise[:, :1]), np.float32(1.0 / k)) * tf.ones([1, k])
    not_done = tf.fill(tf.shape(pairwise[:, 0]), False)
    _, p, _ = tf.while_loop(keep_going, body, (tf.constant(0), start, not_done))
    return p
