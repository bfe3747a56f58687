"""Nearest-neighbour search as scikit-learn does it: float32 candidates re-ranked in
double-float, scikit-learn's heap search replayed where exact ties decide the set, the
KDTree's visiting order, and what is made of the neighbours found (weights, averages,
LocalOutlierFactor scores)."""

from __future__ import annotations

import numpy as np

from ._distances import precise_reduced_distances, rough_reduced_distances
from ._graph import _tf, as_float, constant, matmul, split

#: Candidates kept beyond the k nearest by float32 distance, re-ranked in double-float.
EXTRA_CANDIDATES = 16


def nearest(x, points, k: int, *, metric="euclidean", p=2.0, exact_integers=False, with_ties=False):
    """The ``k`` nearest of ``points`` (float64) to each row of ``x`` under ``metric``
    ("euclidean", "manhattan", "chebyshev" or "minkowski" with exponent ``p``).

    Returns candidate indices (batch, m), their reduced distances (batch, m; see
    :func:`precise_reduced_distances`) and a 0/1 mask (batch, m) of the ``k`` nearest
    among them (and with ``with_ties``, whether any sample of the batch has a candidate left
    out at exactly the distance of one kept). float32 distances pick ``k`` plus
    :data:`EXTRA_CANDIDATES` candidates;
    those are ranked by double-float distance, then by training index, so neighbours whose
    float64 distances differ in the 8th digit (beyond float32) are ordered as
    scikit-learn orders them, and exact ties go to the lower index as in its brute-force
    search.
    """
    tf = _tf()
    points = np.asarray(points, dtype=np.float64)
    n_candidates = min(len(points), k + EXTRA_CANDIDATES)
    rough = rough_reduced_distances(x, points, metric, p, exact_integers)
    _, index = tf.math.top_k(-rough, k=n_candidates, sorted=True)
    hi, lo = split(points)
    high, low = precise_reduced_distances(
        x, tf.gather(constant(hi), index), tf.gather(constant(lo), index), metric, p
    )
    # rank of candidate i = how many candidates j come first: (distance, index) order.
    h_i, h_j = high[:, :, None], high[:, None, :]
    l_i, l_j = low[:, :, None], low[:, None, :]
    idx_i, idx_j = index[:, :, None], index[:, None, :]
    same = tf.logical_and(tf.equal(h_j, h_i), tf.equal(l_j, l_i))
    first = tf.logical_or(
        tf.logical_or(tf.less(h_j, h_i), tf.logical_and(tf.equal(h_j, h_i), tf.less(l_j, l_i))),
        tf.logical_and(same, tf.less(idx_j, idx_i)),
    )
    rank = tf.reduce_sum(as_float(first), axis=2)
    chosen = as_float(tf.less(rank, float(k)))
    if with_ties:
        # a candidate left out at exactly the distance of one kept: the tie decides the set
        kept, left_out = tf.greater(chosen, 0.5), tf.less(chosen, 0.5)
        tie = tf.logical_and(same, tf.logical_and(kept[:, None, :], left_out[:, :, None]))
        return index, high, chosen, tf.reduce_any(tie)
    return index, high, chosen


#: Replaying a search computes double-float distances to every training point: at most
#: this many values (training points x features) per sample.
REPLAY_LIMIT = 2**14


#: scikit-learn's brute-force search pushes every training point, in index order, into a
#: bounded max-heap per sample, one chunk of this many points at a time (its
#: ``pairwise_dist_chunk_size``); up to one chunk the order does not depend on its threads.
BRUTE_CHUNK = 256


def heap_nearest(x, points, k: int, *, metric="euclidean", p=2.0, order=None):
    """The ``k`` nearest of ``points`` as scikit-learn's brute-force search finds them,
    exact ties included: its ``heap_push`` replayed over every training point in index
    order (a point enters when it is closer than the heap's root, which is then sifted
    down, the larger child first and the left one on a tie), distances compared in
    double-float. Among points exactly tied at the k-th distance, the ones kept are those
    this order keeps (not simply the lowest indices).

    ``order`` (batch, n) int32, if given, is the order each sample's search visits the
    points in (a tree search's, see :func:`kd_tree_order`) instead of the index order.

    Returns indices (batch, k), their reduced distances (batch, k) and a mask of ones, as
    :func:`nearest` does.
    """
    tf = _tf()
    points = np.asarray(points, dtype=np.float64)
    n = len(points)
    hi, lo = split(points)
    high, low = precise_reduced_distances(x, constant(hi)[None], constant(lo)[None], metric, p)
    batch = tf.shape(x)[:1]
    if order is None:
        order = tf.zeros(tf.concat([batch, [n]], axis=0), tf.int32) + tf.range(n)[None, :]
    order_t = tf.transpose(order)  # (n, batch): the point each sample visits at each step
    depth = int(np.floor(np.log2(k))) if k > 1 else 0

    def less(a_high, a_low, b_high, b_low):
        return tf.logical_or(
            tf.less(a_high, b_high), tf.logical_and(tf.equal(a_high, b_high), tf.less(a_low, b_low))
        )

    def at(values, position):
        return tf.gather(values, tf.reshape(position, [-1, 1]), batch_dims=1)[:, 0]

    def body(j, heap_high, heap_low, heap_index):
        point = tf.gather(order_t, j)
        v_high, v_low = at(high, point), at(low, point)
        push = less(v_high, v_low, heap_high[:, 0], heap_low[:, 0])
        current = tf.zeros_like(tf.cast(v_high, tf.int32))
        active = push
        for _ in range(depth):
            left = 2 * current + 1
            right = left + 1
            has_left, has_right = tf.less(left, k), tf.less(right, k)
            left_c, right_c = tf.minimum(left, k - 1), tf.minimum(right, k - 1)
            l_high, l_low = at(heap_high, left_c), at(heap_low, left_c)
            r_high, r_low = at(heap_high, right_c), at(heap_low, right_c)
            take_right = tf.logical_and(has_right, less(l_high, l_low, r_high, r_low))
            swap = tf.where(take_right, right_c, left_c)
            s_high, s_low = tf.where(take_right, r_high, l_high), tf.where(take_right, r_low, l_low)
            s_index = at(heap_index, swap)
            go = tf.logical_and(tf.logical_and(active, has_left), less(v_high, v_low, s_high, s_low))
            here = tf.logical_and(tf.equal(tf.range(k)[None, :], current[:, None]), go[:, None])
            heap_high = tf.where(here, s_high[:, None], heap_high)
            heap_low = tf.where(here, s_low[:, None], heap_low)
            heap_index = tf.where(here, s_index[:, None], heap_index)
            current = tf.where(go, swap, current)
            active = go
        here = tf.logical_and(tf.equal(tf.range(k)[None, :], current[:, None]), push[:, None])
        heap_high = tf.where(here, v_high[:, None], heap_high)
        heap_low = tf.where(here, v_low[:, None], heap_low)
        heap_index = tf.where(here, point[:, None] + tf.zeros_like(heap_index), heap_index)
        return j + 1, heap_high, heap_low, heap_index

    shape = tf.concat([batch, [k]], axis=0)
    start = (
        tf.constant(0),
        tf.fill(shape, np.float32(np.finfo(np.float32).max)),
        tf.zeros(shape, tf.float32),
        tf.fill(shape, np.int32(-1)),
    )
    _, heap_high, _, heap_index = tf.while_loop(lambda j, *_: j < n, body, start)
    return heap_index, heap_high, tf.ones_like(heap_high)


def kd_tree_order(
    x, lower, upper, pairs, flip_matrix, offset_base, leaf_of_point, within_leaf, metric: str, p: float
):
    """(batch, n) int32: the order scikit-learn's ``KDTree`` depth-first query visits the
    training points in, for each sample (pruned nodes included: their points could not
    enter the heap anyway).

    At every inner node the child whose box is nearer (its reduced distance to the box,
    ``min_rdist``, in double-float) is visited first, the left one on a tie; a leaf's
    points in the tree's ``idx_array`` order. ``lower``/``upper`` are the (n_nodes,
    n_features) float64 boxes; the leaf offsets are ``offset_base + flip @ flip_matrix``,
    where ``flip`` is 1 at the inner nodes (``pairs``: their children's node indices, in
    ``flip_matrix``'s row order) that visit their right child first.
    """
    tf = _tf()
    lo_hi, lo_lo = split(lower)
    up_hi, up_lo = split(upper)
    lo_hi, lo_lo, up_hi, up_lo = (constant(a)[None] for a in (lo_hi, lo_lo, up_hi, up_lo))
    xs = x[:, None, :]
    below = tf.logical_or(tf.less(xs, lo_hi), tf.logical_and(tf.equal(xs, lo_hi), tf.greater(lo_lo, 0.0)))
    above = tf.logical_or(tf.greater(xs, up_hi), tf.logical_and(tf.equal(xs, up_hi), tf.less(up_lo, 0.0)))
    xs = xs + tf.zeros_like(lo_hi)
    near_hi = tf.where(below, lo_hi + tf.zeros_like(xs), tf.where(above, up_hi + tf.zeros_like(xs), xs))
    near_lo = tf.where(
        below, lo_lo + tf.zeros_like(xs), tf.where(above, up_lo + tf.zeros_like(xs), tf.zeros_like(xs))
    )
    bound_high, bound_low = precise_reduced_distances(x, near_hi, near_lo, metric, p)  # (batch, n_nodes)
    left, right = np.asarray(pairs, dtype=np.int32).T
    l_high, l_low = tf.gather(bound_high, left, axis=1), tf.gather(bound_low, left, axis=1)
    r_high, r_low = tf.gather(bound_high, right, axis=1), tf.gather(bound_low, right, axis=1)
    # right first exactly when the left box is farther: LB_left > LB_right
    flip = as_float(
        tf.logical_or(
            tf.less(r_high, l_high), tf.logical_and(tf.equal(r_high, l_high), tf.less(r_low, l_low))
        )
    )
    offsets = matmul(flip, flip_matrix) + constant(offset_base)[None, :]  # (batch, n_leaves)
    position = tf.gather(offsets, constant(leaf_of_point, np.int32), axis=1) + constant(within_leaf)[None, :]
    _, order = tf.math.top_k(-position, k=int(len(leaf_of_point)), sorted=True)
    return order


def nearest_replaying_ties(x, points, k: int, *, metric="euclidean", p=2.0, exact_integers=False, order=None):
    """:func:`nearest`, and where a batch has a sample whose k nearest are decided by an
    exact tie, :func:`heap_nearest` instead (``order``: a function of ``x`` giving the
    search's visiting order, or None for index order). The replay costs a loop over every
    training point, so it runs (a TFLite IF) only for batches that need it."""
    tf = _tf()
    index, reduced, chosen, tied = nearest(
        x, points, k, metric=metric, p=p, exact_integers=exact_integers, with_ties=True
    )
    width = int(index.shape[1])

    def replay():
        heap_index, heap_reduced, ones = heap_nearest(
            x, points, k, metric=metric, p=p, order=None if order is None else order(x)
        )
        padding = [[0, 0], [0, width - k]]
        return (
            tf.pad(heap_index, padding),
            tf.pad(heap_reduced, padding, constant_values=1.0),
            tf.pad(ones, padding),
        )

    return tf.cond(tied, replay, lambda: (index, reduced, chosen))


def neighbour_weights(distance, chosen, weights: str):
    """scikit-learn's ``_get_weights`` over the chosen neighbours: 1 (uniform) or
    1/distance, where neighbours at distance 0 take all the weight of their row."""
    tf = _tf()
    if weights == "uniform":
        return chosen
    zero = tf.logical_and(tf.equal(distance, 0.0), tf.greater(chosen, 0.0))
    any_zero = tf.reduce_any(zero, axis=1, keepdims=True)
    inverse = chosen / tf.where(tf.equal(distance, 0.0), tf.ones_like(distance), distance)
    return tf.where(any_zero, as_float(zero), inverse)


def neighbour_average(index, weight, table):
    """``sum_j weight[:, j] * table[index[:, j]] / sum_j weight[:, j]`` for a (n_fit, m) table."""
    tf = _tf()
    rows = tf.gather(constant(table), index)  # (batch, k, m)
    total = tf.reduce_sum(rows * weight[:, :, None], axis=1)
    return total / tf.reduce_sum(weight, axis=1, keepdims=True)


def lof_scores(index, d2, chosen, k_distance, lrd, k: int):
    """(batch, 1) LocalOutlierFactor ``score_samples`` from :func:`nearest`'s candidates."""
    tf = _tf()
    distance = tf.sqrt(d2)
    reach = tf.maximum(distance, tf.gather(constant(k_distance), index))
    mean_reach = tf.reduce_sum(reach * chosen, axis=1, keepdims=True) / np.float32(k)
    neighbour_lrd = tf.reduce_sum(
        tf.gather(constant(lrd), index) * chosen, axis=1, keepdims=True
    ) / np.float32(k)
    return -neighbour_lrd * (mean_reach + np.float32(1e-10))
