"""TensorFlow building blocks for the scikit-learn rebuilds: the one namespace the family
modules build from (``_ops.affine``, ``_ops.take``...), re-exported from the modules that hold
each idea:

- ``_graph``: graph-building primitives (constants, offsets, columns, single ops);
- ``_probabilities`` and ``_labels``: output heads, scores to probabilities and to labels;
- ``_pairs``: pairs of classes combined as libsvm and scikit-learn do;
- ``_kernels``: kernel machines' kernels and dual sums;
- ``_distances`` and ``_neighbours``: distances (float32 and double-float) and the
  nearest-neighbour search built on them;
- ``_transforms``: the preprocessing family's feature transforms.

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

from ._distances import (
    DIRECT_DISTANCE_LIMIT,
    exact_square,
    precise_reduced_distances,
    precise_squared_distances,
    quadratic_forms,
    reduced_to_distance,
    rough_reduced_distances,
    squared_distances,
    two_sum,
)
from ._graph import (
    add,
    affine,
    affine_columns,
    as_float,
    as_float_column,
    clip,
    columns,
    concat,
    constant,
    constant_index,
    constant_rows,
    equals_exactly,
    exp,
    greater,
    greater_equal,
    is_nan,
    log,
    matmul,
    maximum,
    minimum,
    one_hot_index,
    ones_like,
    scale,
    split,
    split_columns,
    sqrt,
    stack,
    stack_columns,
    subtract,
    weighted_sum,
    where,
    zeros_like,
)
from ._kernels import kernel, power, weighted_sums
from ._labels import (
    above,
    argmax,
    block_argmax,
    equal_rows,
    indicator,
    last_argmax,
    outlier_labels,
    outlier_outputs,
    take,
)
from ._neighbours import (
    BRUTE_CHUNK,
    EXTRA_CANDIDATES,
    REPLAY_LIMIT,
    heap_nearest,
    kd_tree_order,
    lof_scores,
    nearest,
    nearest_replaying_ties,
    neighbour_average,
    neighbour_weights,
)
from ._pairs import ovo_decision, ovo_vote, ovr_from_ovo, svm_probability
from ._probabilities import (
    FLOAT64_EXPIT_ONE,
    FLOAT64_EXPIT_ZERO,
    activation,
    gaussian_nb_proba,
    linear_softmax,
    log_sigmoid,
    logistic_ovr_proba,
    logsumexp,
    modified_huber_proba,
    normalise_logs,
    normalise_rows,
    sigmoid,
    softmax,
    two_columns,
)
from ._transforms import (
    category_match,
    count_at_or_above,
    expm1,
    interpolate_both_ways,
    missing_mask,
    monomials,
    one_hot,
    power_offsets,
    row_normalise,
)

__all__ = [
    "BRUTE_CHUNK",
    "DIRECT_DISTANCE_LIMIT",
    "EXTRA_CANDIDATES",
    "FLOAT64_EXPIT_ONE",
    "FLOAT64_EXPIT_ZERO",
    "REPLAY_LIMIT",
    "above",
    "activation",
    "add",
    "affine",
    "affine_columns",
    "argmax",
    "as_float",
    "as_float_column",
    "block_argmax",
    "category_match",
    "clip",
    "columns",
    "concat",
    "constant",
    "constant_index",
    "constant_rows",
    "count_at_or_above",
    "equal_rows",
    "equals_exactly",
    "exact_square",
    "exp",
    "expm1",
    "gaussian_nb_proba",
    "greater",
    "greater_equal",
    "heap_nearest",
    "indicator",
    "interpolate_both_ways",
    "is_nan",
    "kd_tree_order",
    "kernel",
    "last_argmax",
    "linear_softmax",
    "lof_scores",
    "log",
    "log_sigmoid",
    "logistic_ovr_proba",
    "logsumexp",
    "matmul",
    "maximum",
    "minimum",
    "missing_mask",
    "modified_huber_proba",
    "monomials",
    "nearest",
    "nearest_replaying_ties",
    "neighbour_average",
    "neighbour_weights",
    "normalise_logs",
    "normalise_rows",
    "one_hot",
    "one_hot_index",
    "ones_like",
    "outlier_labels",
    "outlier_outputs",
    "ovo_decision",
    "ovo_vote",
    "ovr_from_ovo",
    "power",
    "power_offsets",
    "precise_reduced_distances",
    "precise_squared_distances",
    "quadratic_forms",
    "reduced_to_distance",
    "rough_reduced_distances",
    "row_normalise",
    "scale",
    "sigmoid",
    "softmax",
    "split",
    "split_columns",
    "sqrt",
    "squared_distances",
    "stack",
    "stack_columns",
    "subtract",
    "svm_probability",
    "take",
    "two_columns",
    "two_sum",
    "weighted_sum",
    "weighted_sums",
    "where",
    "zeros_like",
]
