"""TensorFlow building blocks for the scikit-learn rebuilds.

Every function takes float32 tensors plus numpy arrays that the family modules have
already read and folded in float64; constants become float32 here, once. Only ops with
TFLite builtin kernels are used. TensorFlow is imported lazily; scikit-learn never.

Precision habits (scikit-learn computes in float64, TFLite in float32):

- an offset is subtracted as ``(x - hi) - lo`` with ``hi + lo`` equal to the float64
  value, so centring costs no accuracy even when the offset dwarfs the spread;
- squared distances are sums of squared differences, not ``|x|² + |s|² - 2 x·s``,
  unless the tensor would be too large (then the expansion runs on centred data);
- long weighted sums whose terms cancel (SVM dual coefficients) are summed in an
  order that keeps the running sum small, because float32 accumulation error grows
  with the size of the partial sums;
- where float64 resolves what float32 cannot (neighbours whose distances agree to 8
  digits), candidates are re-ranked with error-free sums and products (double-float);
- quantities that only matter through differences (GaussianNB log-likelihoods) are
  taken as differences term by term, so the large terms two classes share cancel exactly.
"""

from __future__ import annotations

import numpy as np

#: Above this many float32 values per sample, (batch, n_points, n_features) difference
#: tensors are replaced by the centred expansion (256 samples x 2**16 values = 64 MiB).
DIRECT_DISTANCE_LIMIT = 2**16


def _tf():
    import tensorflow as tf

    return tf


def constant(values, dtype=np.float32):
    """A TensorFlow constant of ``values`` cast once to ``dtype``."""
    return _tf().constant(np.asarray(values, dtype=dtype))


def split(values) -> tuple[np.ndarray, np.ndarray]:
    """float64 ``values`` as float32 ``hi`` plus float32 ``lo``, ``hi + lo`` ≈ ``values``."""
    values = np.asarray(values, dtype=np.float64)
    hi = values.astype(np.float32)
    lo = (values - hi.astype(np.float64)).astype(np.float32)
    return hi, lo


def subtract(x, offset):
    """``x - offset`` with ``offset`` kept to float64 accuracy."""
    hi, lo = split(offset)
    out = x - constant(hi)
    if np.any(lo):
        out = out - constant(lo)
    return out


def matmul(x, weights):
    """``x @ weights`` for a (n_in, n_out) numpy matrix."""
    return _tf().matmul(x, constant(weights))


def affine(x, weights, bias=None, offset=None):
    """``(x - offset) @ weights + bias``; ``offset`` and ``bias`` may be None."""
    if offset is not None:
        x = subtract(x, offset)
    out = matmul(x, weights)
    if bias is not None:
        out = out + constant(bias)
    return out


def columns(x, index):
    """The columns ``index`` of ``x`` (all of them, unchanged, when ``index`` is 0..n-1)."""
    index = np.asarray(index, dtype=np.int64)
    width = x.shape[-1]
    if width is not None and len(index) == width and np.array_equal(index, np.arange(width)):
        return x
    return _tf().gather(x, constant(index, np.int32), axis=1)


def concat(parts):
    """Concatenate (batch, k) tensors along columns."""
    return parts[0] if len(parts) == 1 else _tf().concat(parts, axis=1)


def where(condition, yes, no):
    return _tf().where(condition, yes, no)


def is_nan(x):
    # TFLite has no IS_NAN kernel; NOT_EQUAL(x, x) is true exactly for NaN.
    return _tf().not_equal(x, x)


def greater(x, threshold: float):
    return _tf().greater(x, np.float32(threshold))


def as_float(mask):
    return _tf().cast(mask, _tf().float32)


# ---------------------------------------------------------------------- classifiers
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


# ---------------------------------------------------------------------- labels
def argmax(scores):
    """(batch,) int32 index of each row's largest score, the first one on a tie (as numpy)."""
    return _tf().argmax(scores, axis=1, output_type=_tf().int32)


def above(values, threshold: float, *, inclusive: bool = False):
    """(batch,) int32: 1 where the single column of ``values`` is above ``threshold``
    (or equal to it with ``inclusive``), else 0."""
    tf = _tf()
    column = tf.reshape(values, [-1])
    test = tf.greater_equal if inclusive else tf.greater
    return tf.cast(test(column, np.float32(threshold)), tf.int32)


def ovo_vote(decision, n_classes: int):
    """libsvm's ``svm_predict``: pair (i, j) votes for i when its decision value is
    positive, for j otherwise; the class with most votes wins, the first one on a tie."""
    tf = _tf()
    first, second = _pair_matrices(n_classes)
    first_wins = as_float(tf.greater(decision, 0.0))
    votes = matmul(first_wins, first) + matmul(1.0 - first_wins, second)
    return argmax(votes)


def equal_rows(labels, classes):
    """(batch, k) float 0/1: where the (batch,) ``labels`` equal each of ``classes``."""
    tf = _tf()
    classes = np.asarray(classes)
    if classes.dtype.kind in "USO":
        table = tf.constant(np.char.encode(classes.astype(str), "utf-8"))
    else:
        table = constant(classes, classes.dtype)
    return as_float(tf.equal(labels[:, None], table[None, :]))


def indicator(scores, threshold: float):
    """(batch, k) int64 0/1: where ``scores`` is above ``threshold`` (a multilabel ``predict``)."""
    tf = _tf()
    return tf.cast(tf.greater(scores, np.float32(threshold)), tf.int64)


def block_argmax(blocks, starts):
    """(batch, n_blocks) int32: per (batch, width) tensor of ``blocks``, the first largest
    column's index plus that block's ``starts`` entry (an index into all blocks' columns)."""
    return _tf().stack(
        [argmax(block) + np.int32(start) for block, start in zip(blocks, starts, strict=True)], axis=1
    )


def split_columns(values, widths):
    """A list of the consecutive column blocks of ``values``, ``widths`` wide."""
    starts = np.cumsum([0] + list(widths))
    return [values[:, int(a) : int(b)] for a, b in zip(starts[:-1], starts[1:], strict=True)]


def last_argmax(scores):
    """(batch,) int32 index of the *last* largest score (scikit-learn's OvR ``predict``)."""
    n = int(scores.shape[-1])
    return np.int32(n - 1) - argmax(_tf().reverse(scores, axis=[1]))


def one_hot_index(index, n: int):
    """(batch, n) float 0/1 rows from a (batch,) integer index."""
    tf = _tf()
    return tf.one_hot(tf.cast(index, tf.int32), n, dtype=tf.float32)


def as_float_column(values):
    """(batch, 1) float32 from a (batch,) tensor of numbers."""
    tf = _tf()
    return tf.reshape(tf.cast(values, tf.float32), [-1, 1])


def stack_columns(values):
    """(batch, n) from n (batch,) tensors."""
    return _tf().stack(values, axis=1)


def stack(values):
    """(batch, n, ...) from n (batch, ...) tensors."""
    return _tf().stack(values, axis=1)


def weighted_sum(parts, weights):
    """``Σ weights[i] * parts[i]`` of same-shaped tensors (weights folded in float64)."""
    total = None
    for part, weight in zip(parts, np.asarray(weights, dtype=np.float64), strict=True):
        term = part * np.float32(weight)
        total = term if total is None else total + term
    return total


def affine_columns(values, factor, offset):
    """``values * factor + offset`` column by column."""
    return values * constant(factor)[None, :] + constant(offset)[None, :]


def ovo_decision(second_wins, confidences, n_classes: int):
    """scikit-learn's ``_ovr_decision_function`` from each pair's 0/1 prediction (1: the
    second class won) and confidence: votes plus confidences squashed to (-1/3, 1/3)."""
    tf = _tf()
    first, second = _pair_matrices(n_classes)
    votes = matmul(second_wins, second) + matmul(1.0 - second_wins, first)
    confidence = matmul(confidences, second - first)
    return votes + confidence / (3.0 * (tf.abs(confidence) + 1.0))


def outlier_labels(decision, *, inclusive: bool = True):
    """scikit-learn's outlier ``predict``: +1 (inlier) where the decision value is at least 0
    (above 0 without ``inclusive``, as libsvm's one-class SVM), -1 elsewhere."""
    return take(np.array([-1, 1], dtype=np.int32), above(decision, 0.0, inclusive=inclusive))


def _micro_labels(values: np.ndarray) -> bool:
    """Whether integer labels are built for TFLite Micro: in an integer-tree variant (see
    ``_tree_ops.integer_trees``), for labels float32 holds exactly."""
    from ._tree_ops import INTEGER_BITS

    integers = values.dtype.kind in "iub"
    return (
        INTEGER_BITS.get() is not None and integers and bool(np.all(np.abs(values.astype(np.int64)) < 2**24))
    )


def take(values, index):
    """``values[index]`` for a 1-D numpy table (numbers or strings) and an int32 index."""
    values = np.asarray(values)
    if _micro_labels(values):
        # int32 labels from a float32 table (or the index itself): TFLite Micro gathers
        # float32 and int8 data only and casts to no int64.
        if np.array_equal(values, np.arange(len(values))):
            return index
        table = constant(values.astype(np.float32), np.float32)
        return _tf().cast(_tf().gather(table, index), _tf().int32)
    if values.dtype.kind in "USO":
        table = _tf().constant(np.char.encode(values.astype(str), "utf-8"))
    else:
        table = constant(values, values.dtype)
    return _tf().gather(table, index)


# ---------------------------------------------------------------------- distances
def squared_distances(x, points, *, exact_integers=False):
    """(batch, n_points) squared euclidean distances to the rows of ``points`` (float64).

    Sums squared differences when the (batch, n_points, n_features) tensor is small
    enough; otherwise expands ``|x - c|² + |s - c|² - 2 (x - c)·(s - c)`` around the
    points' centre ``c``. With ``exact_integers`` (all points are small integers) the
    centre is rounded, so integer inputs give exact, tie-preserving distances.
    """
    tf = _tf()
    points = np.asarray(points, dtype=np.float64)
    n_points, n_features = points.shape
    if n_points * n_features <= DIRECT_DISTANCE_LIMIT:
        hi, lo = split(points)
        diff = x[:, None, :] - constant(hi)[None]
        if np.any(lo):
            diff = diff - constant(lo)[None]
        # diff * diff, not SQUARED_DIFFERENCE: that kernel has no int16 version (int16x8 mode).
        return tf.reduce_sum(diff * diff, axis=2)
    centre = points.mean(axis=0)
    if exact_integers:
        centre = np.round(centre)
    xc = subtract(x, centre)
    pc = points - centre
    x_sq = tf.reduce_sum(xc * xc, axis=1, keepdims=True)
    p_sq = np.einsum("ij,ij->i", pc, pc)
    d2 = x_sq + constant(p_sq)[None, :] - 2.0 * matmul(xc, pc.T)
    return tf.maximum(d2, 0.0)


# ---------------------------------------------------------------------- kernels
def kernel(x, vectors, kind: str, gamma: float, coef0: float, degree: int):
    """libsvm's kernel between every row of ``x`` and every support vector."""
    tf = _tf()
    if kind == "rbf":
        return tf.exp(np.float32(-gamma) * squared_distances(x, vectors))
    dots = matmul(x, np.asarray(vectors, dtype=np.float64).T)
    if kind == "linear":
        return dots
    inner = np.float32(gamma) * dots + np.float32(coef0)
    if kind == "sigmoid":
        return tf.tanh(inner)
    return power(inner, degree)


def power(z, degree: int):
    """``z ** degree`` for an integer degree by repeated squaring, as libsvm's powi."""
    tf = _tf()
    result = None
    base = z
    times = int(degree)
    while times > 0:
        if times % 2 == 1:
            result = base if result is None else result * base
        times //= 2
        if times:
            base = base * base
    return tf.ones_like(z) if result is None else result


def weighted_sums(values, index, coef, bias):
    """Columns ``sum_l values[:, index[p, l]] * coef[p, l] + bias[p]`` for each row p.

    ``index`` and ``coef`` are (n_out, length) arrays padded with coefficient 0. The
    caller orders each row so that positive and negative terms alternate.
    """
    tf = _tf()
    index = np.asarray(index)
    picked = tf.gather(values, constant(index, np.int32), axis=1)  # (batch, n_out, length)
    terms = picked * constant(coef)[None]
    return tf.reduce_sum(terms, axis=2) + constant(bias)


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


# ---------------------------------------------------------------------- networks
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


# ---------------------------------------------------------------------- neighbours
#: Candidates kept beyond the k nearest by float32 distance, re-ranked in double-float.
EXTRA_CANDIDATES = 16


def two_sum(a, b):
    """``a + b`` as a rounded sum and its exact rounding error (Knuth)."""
    total = a + b
    b_part = total - a
    error = (a - (total - b_part)) + (b - b_part)
    return total, error


def exact_square(a):
    """``a * a`` as a rounded product and its exact rounding error (Dekker's split)."""
    product = a * a
    scaled = a * 4097.0  # 2**12 + 1 splits a float32 significand in two halves
    high = scaled - (scaled - a)
    low = a - high
    error = ((high * high - product) + 2.0 * high * low) + low * low
    return product, error


def _pairwise_compensated_sum(values, errors):
    """Double-float ``sum(values + errors)`` over the last axis, pairwise with two_sum."""
    tf = _tf()
    width = int(values.shape[-1])
    size = 1 << max(0, (width - 1).bit_length())
    if size != width:
        padding = [[0, 0], [0, 0], [0, size - width]]
        values, errors = tf.pad(values, padding), tf.pad(errors, padding)
    while size > 1:
        size //= 2
        total, error = two_sum(values[:, :, :size], values[:, :, size:])
        errors = errors[:, :, :size] + errors[:, :, size:] + error
        values = total
    return two_sum(values[:, :, 0], errors[:, :, 0])


def _precise_differences(x, points_hi, points_lo):
    """``x - points`` (batch, m, f) as double-float ``(hi, lo)``, ``|lo| <= ulp(hi) / 2``."""
    diff, diff_error = two_sum(x[:, None, :], -points_hi)
    return two_sum(diff, diff_error - points_lo)


def precise_squared_distances(x, points_hi, points_lo):
    """Squared distances from ``x`` (batch, f) to ``points`` given as float32 hi and lo
    parts (batch, m, f), as double-float ``(hi, lo)`` pairs (batch, m): about 44 bits."""
    diff, diff_error = two_sum(x[:, None, :], -points_hi)
    diff_error = diff_error - points_lo
    square, square_error = exact_square(diff)
    square_error = square_error + 2.0 * diff * diff_error + diff_error * diff_error
    return _pairwise_compensated_sum(square, square_error)


def precise_reduced_distances(x, points_hi, points_lo, metric: str, p: float):
    """scikit-learn's reduced distances (what its searches rank by) from ``x`` to the
    candidate points, as double-float ``(hi, lo)``: squared euclidean, the sum of
    ``|x - s|`` (manhattan) or their largest (chebyshev), each about 44 bits; for another
    Minkowski ``p``, ``sum |x - s| ** p`` in float32 (``lo`` is 0)."""
    tf = _tf()
    if metric == "euclidean":
        return precise_squared_distances(x, points_hi, points_lo)
    diff, diff_error = _precise_differences(x, points_hi, points_lo)
    negative = tf.less(diff, 0.0)
    size, size_error = tf.where(negative, -diff, diff), tf.where(negative, -diff_error, diff_error)
    if metric == "manhattan":
        return _pairwise_compensated_sum(size, size_error)
    if metric == "chebyshev":
        high = tf.reduce_max(size, axis=2)
        at_top = tf.equal(size, high[:, :, None])
        low = tf.reduce_max(tf.where(at_top, size_error, tf.zeros_like(size_error) - 1e30), axis=2)
        return high, low
    total = tf.reduce_sum(tf.pow(size, np.float32(p)), axis=2)
    return total, tf.zeros_like(total)


def _rough_reduced_distances(x, points, metric: str, p: float, exact_integers: bool):
    """float32 reduced distances (batch, n_points), to pick the candidates."""
    tf = _tf()
    if metric == "euclidean":
        return squared_distances(x, points, exact_integers=exact_integers)
    # no expansion exists for these: the points are taken in chunks of at most
    # DIRECT_DISTANCE_LIMIT values, so the (batch, chunk, n_features) differences stay bounded
    rows = max(1, DIRECT_DISTANCE_LIMIT // points.shape[1])
    parts = []
    for start in range(0, len(points), rows):
        size = tf.abs(subtract(x[:, None, :], points[None, start : start + rows]))
        if metric == "manhattan":
            parts.append(tf.reduce_sum(size, axis=2))
        elif metric == "chebyshev":
            parts.append(tf.reduce_max(size, axis=2))
        else:
            parts.append(tf.reduce_sum(tf.pow(size, np.float32(p)), axis=2))
    return concat(parts)


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
    rough = _rough_reduced_distances(x, points, metric, p, exact_integers)
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


def reduced_to_distance(reduced, metric: str, p: float):
    """The distance from a reduced distance: its square root (euclidean), ``p``-th root
    (Minkowski), or itself (manhattan, chebyshev)."""
    tf = _tf()
    if metric == "euclidean":
        return tf.sqrt(reduced)
    if metric == "minkowski":
        return tf.pow(reduced, np.float32(1.0 / p))
    return reduced


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


# ---------------------------------------------------------------------- naive Bayes
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


def category_match(x, feature, values):
    """(batch, m) 0/1: whether column ``feature[m]`` of ``x`` equals ``values[m]``."""
    repeated = columns(x, feature)
    return as_float(_tf().equal(repeated, constant(values)[None, :]))


def count_at_or_above(x, feature, edges, membership):
    """(batch, n_features): per feature, how many of its ``edges`` (one per row of
    ``feature``; ``membership`` maps them to features) are at or below the input."""
    passed = as_float(_tf().greater_equal(columns(x, feature), constant(edges)[None, :]))
    return matmul(passed, membership)


def _float32_round(values, up: bool) -> np.ndarray:
    """Each float64 value rounded to float32 upwards (``up``) or downwards."""
    values = np.asarray(values, dtype=np.float64)
    rounded = values.astype(np.float32)
    if up:
        low = rounded.astype(np.float64) < values
        rounded[low] = np.nextafter(rounded[low], np.float32(np.inf))
    else:
        high = rounded.astype(np.float64) > values
        rounded[high] = np.nextafter(rounded[high], np.float32(-np.inf))
    return rounded


def interpolate_both_ways(x, knots, values):
    """Per column j, ``0.5 * (np.interp(x, knots[j], values[j]) - np.interp(-x, -knots[j][::-1],
    -values[j][::-1]))``: QuantileTransformer's mean of the right- and left-continuous
    interpolations, which differ only on repeated knots. ``knots`` and ``values`` are
    (n_features, n_knots) float64; a float32 x is compared with each knot rounded up (for
    ``x >= knot``) or down (for ``x > knot``), which gives the float64 answer."""
    tf = _tf()
    knots = np.asarray(knots, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    n_features, n_knots = knots.shape
    feature = np.repeat(np.arange(n_features), n_knots)
    membership = np.zeros((len(feature), n_features))
    membership[np.arange(len(feature)), feature] = 1.0
    repeated = columns(x, feature)
    at_or_below = matmul(
        as_float(tf.greater_equal(repeated, constant(_float32_round(knots.ravel(), up=True))[None])),
        membership,
    )
    below = matmul(
        as_float(tf.greater(repeated, constant(_float32_round(knots.ravel(), up=False))[None])), membership
    )
    gaps = np.diff(knots, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        slopes = np.where(gaps > 0, np.diff(values, axis=1) / np.where(gaps > 0, gaps, 1.0), 0.0)
    slopes = np.concatenate([slopes, np.zeros((n_features, 1))], axis=1).ravel()
    base = (np.arange(n_features) * n_knots)[None, :]
    first, last = values[:, 0], values[:, -1]

    def along(count, shift: int):
        # the interval starting at knot ``count + shift``, clipped to the inner ones
        start = tf.clip_by_value(tf.cast(count, tf.int32) + shift, 0, n_knots - 2) + constant(base, np.int32)
        hi, lo = split(knots.ravel())
        offset = (x - tf.gather(constant(hi), start)) - tf.gather(constant(lo), start)
        inner = tf.gather(constant(values.ravel()), start) + offset * tf.gather(constant(slopes), start)
        inner = tf.where(tf.less(count, 0.5), tf.zeros_like(inner) + constant(first)[None], inner)
        return tf.where(tf.greater(count, n_knots - 0.5), tf.zeros_like(inner) + constant(last)[None], inner)

    right = along(at_or_below, -1)  # the last knot at or below x starts the interval
    left = along(below, -1)  # the first knot at or above x ends it
    return 0.5 * (right + left)


def quadratic_forms(x, means, transforms):
    """(batch, k) ``|(x - means[k]) @ transforms[k]|²`` for (k, f) means and (k, f, g) transforms.

    Centred first (offsets kept to float64, see :func:`subtract`), then one batched matrix
    product: no ``|x|² - 2 x·m + |m|²`` cancellation.
    """
    tf = _tf()
    hi, lo = split(means)
    diff = x[None, :, :] - constant(hi)[:, None, :]  # (k, batch, f)
    if np.any(lo):
        diff = diff - constant(lo)[:, None, :]
    projected = tf.matmul(diff, constant(transforms))  # (k, batch, g)
    return tf.transpose(tf.reduce_sum(projected * projected, axis=2))


def logsumexp(scores):
    """(batch, 1) ``log Σ exp(scores)`` per row, relative to the row maximum."""
    tf = _tf()
    top = tf.reduce_max(scores, axis=1, keepdims=True)
    return top + tf.math.log(tf.reduce_sum(tf.exp(scores - top), axis=1, keepdims=True))


# ---------------------------------------------------------------------- preprocessing
def scale(x, offset=None, factor=None, divisor=None):
    """``(x - offset) * factor / divisor``; any of them may be None."""
    if offset is not None:
        x = subtract(x, offset)
    if factor is not None:
        x = x * constant(factor)
    if divisor is not None:
        x = x / constant(divisor)
    return x


def sqrt(x):
    return _tf().sqrt(x)


def constant_rows(x, values):
    """(batch, len(values)): the same row for every sample of ``x``."""
    tf = _tf()
    return tf.zeros_like(x[:, :1]) + constant(values)[None, :]


def constant_index(x, index: int):
    """(batch,) int32 ``index`` for every sample of ``x``."""
    tf = _tf()
    return tf.zeros_like(tf.cast(x[:, 0], tf.int32)) + np.int32(index)


def expm1(z):
    """``exp(z) - 1`` without the cancellation near 0: a Taylor series where |z| < 1/2
    (error below 3e-10 relative), ``exp(z) - 1`` elsewhere."""
    tf = _tf()
    series = z
    term = z
    for n in range(2, 11):
        term = term * z / np.float32(n)
        series = series + term
    return tf.where(tf.less(tf.abs(z), 0.5), series, tf.exp(z) - 1.0)


def power_offsets(shifted_logs, lambdas, reference_factors, scales):
    """Per column ``scales * expm1(lambdas * shifted_logs)`` or, where ``lambdas`` is 0,
    ``scales * shifted_logs``: a power transform relative to a reference point (the caller
    folds the reference into ``shifted_logs`` and ``reference_factors``)."""
    lambdas = np.asarray(lambdas, dtype=np.float64)
    zero = lambdas == 0
    powered = expm1(shifted_logs * constant(np.where(zero, 1.0, lambdas))[None, :])
    out = where(constant(zero[None, :], np.bool_), shifted_logs, powered)
    return out * constant(np.asarray(reference_factors) * np.asarray(scales))[None, :]


def maximum(x, value: float):
    return _tf().maximum(x, np.float32(value))


def minimum(x, value: float):
    return _tf().minimum(x, np.float32(value))


def greater_equal(x, threshold: float):
    return _tf().greater_equal(x, np.float32(threshold))


def equals_exactly(x, values):
    """(batch, n) True where column j of ``x`` equals the float64 ``values[j]`` (never where
    float32 cannot represent it)."""
    values = np.asarray(values, dtype=np.float64)
    representable = values.astype(np.float32).astype(np.float64) == values
    equal = _tf().equal(x, constant(values)[None, :])
    return _tf().logical_and(equal, constant(representable[None, :], np.bool_))


def ones_like(x):
    return _tf().ones_like(x)


def zeros_like(x):
    return _tf().zeros_like(x)


def log(x):
    return _tf().math.log(x)


def exp(x):
    return _tf().exp(x)


def add(x, values):
    return x + constant(values)


def clip(x, low, high):
    return _tf().clip_by_value(x, constant(low), constant(high))


def row_normalise(x, norm: str):
    """Divide each row by its l1, l2 or max norm; zero rows stay zero (as ``normalize``)."""
    tf = _tf()
    if norm == "l1":
        norms = tf.reduce_sum(tf.abs(x), axis=1, keepdims=True)
    elif norm == "l2":
        norms = tf.sqrt(tf.reduce_sum(x * x, axis=1, keepdims=True))
    else:
        norms = tf.reduce_max(tf.abs(x), axis=1, keepdims=True)
    norms = tf.where(tf.equal(norms, 0.0), tf.ones_like(norms), norms)
    return x / norms


def monomials(x, factors):
    """Products of columns: ``factors`` is (n_out, degree) column indices, where index
    ``n_features`` stands for 1 (so lower-degree terms are padded with it)."""
    tf = _tf()
    padded = tf.concat([x, tf.ones_like(x[:, :1])], axis=1)
    factors = np.asarray(factors)
    if factors.shape[1] == 0:
        return tf.ones_like(x[:, :1]) * tf.ones([1, factors.shape[0]])
    picked = tf.gather(padded, constant(factors, np.int32), axis=1)  # (batch, n_out, degree)
    result = picked[:, :, 0]
    for d in range(1, factors.shape[1]):
        result = result * picked[:, :, d]
    return result


def missing_mask(x, missing_value: float):
    """True where ``x`` is the missing marker (NaN, or a number)."""
    tf = _tf()
    if np.isnan(missing_value):
        return is_nan(x)
    if np.float32(missing_value) != missing_value:
        return tf.zeros_like(x, dtype=tf.bool)  # a float32 input can never equal it
    return tf.equal(x, np.float32(missing_value))


def one_hot(x, feature, values, is_nan_category, table, unknown):
    """One-hot encode numeric categories by lookup tables.

    ``feature[m]`` and ``values[m]`` name category m (NaN where a float32 input can never
    equal it; ``is_nan_category[m]`` marks the NaN category); ``table`` (n_categories,
    n_out) is the encoding of each category and ``unknown`` (n_features, n_out) the
    encoding of a value that matches none of its feature's categories.
    """
    tf = _tf()
    repeated = columns(x, feature)
    match = tf.equal(repeated, constant(values)[None, :])
    if np.any(is_nan_category):
        nan_match = tf.logical_and(is_nan(repeated), constant(is_nan_category, np.bool_)[None, :])
        match = tf.logical_or(match, nan_match)
    match = as_float(match)
    n_features = unknown.shape[0]
    membership = np.zeros((len(feature), n_features))
    membership[np.arange(len(feature)), feature] = 1.0
    unmatched = 1.0 - matmul(match, membership)
    # NaN entries (OrdinalEncoder's encoded_missing_value) would poison the products: they
    # are looked up as 0/1 flags and put back with a select.
    table, unknown = np.asarray(table, np.float64), np.asarray(unknown, np.float64)
    nan_table, nan_unknown = np.isnan(table), np.isnan(unknown)
    out = matmul(match, np.where(nan_table, 0.0, table)) + matmul(
        unmatched, np.where(nan_unknown, 0.0, unknown)
    )
    if nan_table.any() or nan_unknown.any():
        flagged = matmul(match, nan_table.astype(float)) + matmul(unmatched, nan_unknown.astype(float))
        out = tf.where(tf.greater(flagged, 0.5), tf.fill(tf.shape(out), np.float32(np.nan)), out)
    return out
