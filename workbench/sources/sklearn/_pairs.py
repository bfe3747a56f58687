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

    The graph keeps op counts low, since a single sample pays per op: ``r`` and ``Q``
    are whole (batch, k, k) tensors, and the iterate is one (batch, 2k) row ``[p, Qp]``
    moved per class ``t`` along row ``t`` of ``[I, Q]`` (libsvm's two inner loops in one),
    with libsvm's per-step normalisation deferred to the end of each sweep: 10 ops a step.
    """
    tf = _tf()
    k = n_classes
    f = decision * constant(prob_a) + constant(prob_b)
    pairwise = tf.clip_by_value(tf.math.sigmoid(-f), 1e-7, 1.0 - 1e-7)
    # r as (batch, k, k): r[i][j] = r_p, r[j][i] = 1 - r_p, 0 on the diagonal, copied by
    # one GATHER (a +-1 matrix product would store k^2 x n_pairs floats: 18 KB at k = 10)
    n_pairs = k * (k - 1) // 2
    index = np.full((k, k), 2 * n_pairs, dtype=np.int32)  # the zero column
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    for p, (i, j) in enumerate(pairs):
        index[i, j], index[j, i] = p, n_pairs + p
    values = tf.concat([pairwise, 1.0 - pairwise, tf.zeros_like(pairwise[:, :1])], axis=1)
    r = tf.reshape(tf.gather(values, constant(index.ravel(), np.int32), axis=1), [-1, k, k])
    # Q[t][t] = sum_j r[j][t]^2, Q[t][j] = -r[j][t] r[t][j] (r's diagonal is 0)
    diagonal = tf.reduce_sum(r * r, axis=1)
    eye = np.eye(k)
    q_matrix = diagonal[:, :, None] * constant(eye)[None] - r * tf.transpose(r, [0, 2, 1])
    rows = tf.concat([tf.zeros_like(q_matrix) + constant(eye)[None], q_matrix], axis=2)  # [I, Q]
    # loop invariants, split once (one UNPACK each) rather than sliced per step
    row_list = tf.unstack(rows, axis=1)
    q_list = tf.unstack(diagonal[:, :, None], axis=1)
    eps = 0.005 / k
    max_iter = max(100, k)

    def check(p, done):
        """libsvm's stopping test, with Qp and pQp recomputed from p (for accuracy, as it
        does): before the first sweep and after each one, so no sweep is spent on it."""
        state = tf.reshape(tf.matmul(p[:, None, :], rows), [-1, 2 * k])  # [p, Qp]
        qp = state[:, k:]
        pqp = tf.reduce_sum(p * qp, axis=1, keepdims=True)
        error = tf.reduce_max(tf.abs(qp - pqp), axis=1)
        return tf.logical_or(done, error < eps), state, pqp

    def body(iteration, p, done, state, pqp):
        # libsvm normalises p (and Qp, pQp) after every step; here the sums wait: state
        # holds [P, QP] with p = P / total, w = P.QP, and step = diff * total
        w, total = pqp, None
        for t in range(k):
            qp_t = state[:, k + t : k + t + 1]
            mean = w if total is None else w / total  # pQp in libsvm's terms, times total
            step = (mean - qp_t) / q_list[t]
            w = w + step * (qp_t + mean)  # diff Q_tt = pQp - Qp_t, so no Q_tt term
            total = 1.0 + step if total is None else total + step
            state = state + step * row_list[t]
        p = tf.where(done[:, None], p, state[:, :k] / total)
        return (iteration + 1, p, *check(p, done))

    def keep_going(iteration, p, done, state, pqp):
        return tf.logical_and(iteration < max_iter, tf.logical_not(tf.reduce_all(done)))

    start = tf.zeros_like(pairwise[:, :1]) + constant(np.full((1, k), 1.0 / k))
    # all False, from a comparison: TFLite Micro's FILL takes only constant dimensions
    not_yet = tf.less(tf.zeros_like(pairwise[:, 0]), 0.0)
    done, state, pqp = check(start, not_yet)
    _, p, *_ = tf.while_loop(keep_going, body, (tf.constant(0), start, done, state, pqp))
    return p
