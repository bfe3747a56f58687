"""Preprocessing steps: scalers, Normalizer, PCA, PolynomialFeatures, SimpleImputer,
OneHotEncoder (numeric categories), ColumnTransformer and the identity FunctionTransformer.

Every builder outputs ``transform(X)``. Offsets (means, centres, minima) are subtracted
with their float64 value kept (see ``_ops.subtract``), so a scaled feature whose mean
dwarfs its spread loses no accuracy in float32.

NaN inputs reach the .tflite unchanged, so SimpleImputer with ``missing_values=np.nan``
works on NaN inputs, and OneHotEncoder treats NaN as scikit-learn does (its own category
when it was seen in fit, unknown otherwise).

OneHotEncoder's encoding of every known category comes from the encoder itself (its
``transform`` of the categories), so ``drop`` and infrequent categories are reproduced
exactly. An unknown value gives what scikit-learn gives for ``handle_unknown="ignore"``,
``"infrequent_if_exist"`` and ``"warn"``; with ``handle_unknown="error"``, where
scikit-learn raises, the .tflite cannot raise and outputs zeros for that feature.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import (
    Binarizer,
    FunctionTransformer,
    KBinsDiscretizer,
    MaxAbsScaler,
    MinMaxScaler,
    Normalizer,
    OneHotEncoder,
    OrdinalEncoder,
    PolynomialFeatures,
    PowerTransformer,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
    TargetEncoder,
)

from . import _ops
from ._checks import checked_by, require_output, unsupported
from .pipeline import check_parts, transformed


def _floats(values) -> np.ndarray | None:
    return None if values is None else np.asarray(values, dtype=np.float64)


def check_transformer(estimator, output: str) -> None:
    require_output(estimator, output, ("transform",))


# --------------------------------------------------------------------- scalers
@checked_by(check_transformer)
def build_standard_scaler(estimator, x, output):
    check_transformer(estimator, output)
    offset = _floats(estimator.mean_) if estimator.with_mean else None
    divisor = _floats(estimator.scale_) if estimator.with_std else None
    return _ops.scale(x, offset=offset, divisor=divisor)


@checked_by(check_transformer)
def build_robust_scaler(estimator, x, output):
    check_transformer(estimator, output)
    return _ops.scale(x, offset=_floats(estimator.center_), divisor=_floats(estimator.scale_))


@checked_by(check_transformer)
def build_max_abs_scaler(estimator, x, output):
    check_transformer(estimator, output)
    return _ops.scale(x, divisor=_floats(estimator.scale_))


@checked_by(check_transformer)
def build_min_max_scaler(estimator, x, output):
    check_transformer(estimator, output)
    # x * scale_ + min_ with min_ = low - data_min_ * scale_, computed as
    # (x - data_min_) * scale_ + low so that values near data_min_ do not cancel.
    low, high = (float(v) for v in estimator.feature_range)
    out = _ops.scale(x, offset=_floats(estimator.data_min_), factor=_floats(estimator.scale_))
    out = _ops.add(out, np.full(out.shape[-1], low))
    if estimator.clip:
        out = _ops.clip(out, np.full(out.shape[-1], low), np.full(out.shape[-1], high))
    return out


@checked_by(check_transformer)
def build_normalizer(estimator, x, output):
    check_transformer(estimator, output)
    return _ops.row_normalise(x, estimator.norm)


# --------------------------------------------------------------------- PCA
@checked_by(check_transformer)
def build_pca(estimator, x, output):
    check_transformer(estimator, output)
    weights = np.asarray(estimator.components_, dtype=np.float64).T
    if estimator.whiten:
        scale = np.sqrt(np.asarray(estimator.explained_variance_, dtype=np.float64))
        scale[scale < np.finfo(scale.dtype).eps] = np.finfo(scale.dtype).eps
        weights = weights / scale
    return _ops.affine(x, weights, offset=_floats(estimator.mean_))


# --------------------------------------------------------------------- polynomial features
@checked_by(check_transformer)
def build_polynomial_features(estimator, x, output):
    check_transformer(estimator, output)
    powers = np.asarray(estimator.powers_)
    n_features = powers.shape[1]
    degree = int(powers.sum(axis=1).max()) if len(powers) else 0
    factors = np.full((len(powers), degree), n_features, dtype=np.int64)
    for row, exponents in enumerate(powers):
        index = np.repeat(np.arange(n_features), exponents)
        factors[row, : len(index)] = index
    return _ops.monomials(x, factors)


# --------------------------------------------------------------------- imputation
def _missing_value(estimator) -> float:
    value = estimator.missing_values
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    raise unsupported(
        estimator,
        f"missing_values={value!r}",
        "a numeric missing_values marker (np.nan or a number)",
        "Encode missing entries as NaN or a number.",
    )


def check_imputer(estimator, output: str) -> None:
    check_transformer(estimator, output)
    _missing_value(estimator)
    try:
        np.asarray(estimator.statistics_, dtype=np.float64)
    except (TypeError, ValueError):
        statistics = np.asarray(estimator.statistics_)
        raise unsupported(
            estimator,
            f"statistics of dtype {statistics.dtype} (non-numeric data)",
            "numeric features",
            "Impute numeric columns only; the .tflite takes float32 input.",
        ) from None


@checked_by(check_imputer)
def build_simple_imputer(estimator, x, output):
    check_imputer(estimator, output)
    statistics = np.asarray(estimator.statistics_, dtype=np.float64)
    mask = _ops.missing_mask(x, _missing_value(estimator))
    fill = np.where(np.isnan(statistics), 0.0, statistics)
    filled = _ops.where(mask, _ops.constant(fill)[None, :], x)
    keep = np.arange(len(statistics))
    if not estimator.keep_empty_features:
        keep = np.flatnonzero(~np.isnan(statistics))
    parts = [_ops.columns(filled, keep)]
    if estimator.add_indicator:
        features = np.asarray(estimator.indicator_.features_, dtype=np.int64)
        parts.append(_ops.columns(_ops.as_float(mask), features))
    return _ops.concat(parts)


# --------------------------------------------------------------------- one-hot encoding
def _numeric_categories(estimator) -> list[np.ndarray]:
    categories = []
    for values in estimator.categories_:
        try:
            categories.append(np.asarray(values, dtype=np.float64))
        except (TypeError, ValueError):
            raise unsupported(
                estimator,
                f"non-numeric categories such as {values[0]!r}",
                "numeric categories",
                "Encode string categories as numbers before the encoder; the .tflite takes float32 input.",
            ) from None
    return categories


def check_one_hot(estimator, output: str) -> None:
    check_transformer(estimator, output)
    _numeric_categories(estimator)
    if isinstance(estimator, OrdinalEncoder) and np.isnan(_ordinal_unknown(estimator)):
        raise unsupported(
            estimator,
            "unknown_value=np.nan",
            "a numeric unknown_value (or handle_unknown='error')",
            "Use unknown_value=-1.",
        )
    if isinstance(estimator, OneHotEncoder) and not hasattr(estimator, "_n_features_outs"):
        raise unsupported(
            estimator,
            "no _n_features_outs attribute (an unexpected scikit-learn version)",
            "scikit-learn 1.2 or newer",
            "Upgrade scikit-learn and refit the encoder.",
        )


def _encode(estimator, rows: np.ndarray) -> np.ndarray | None:
    """The encoder's own output for ``rows``; None where scikit-learn raises (unknown
    value with ``handle_unknown="error"``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = estimator.transform(rows)
        except ValueError:
            return None
    out = out.toarray() if hasattr(out, "toarray") else out
    return np.asarray(out, dtype=np.float64)


def _unknown_value(categories: np.ndarray) -> float:
    finite = categories[np.isfinite(categories)]
    return float(finite.max() + 1.0) if len(finite) else 0.0


def _ordinal_unknown(estimator) -> float:
    value = getattr(estimator, "unknown_value", None)
    return float(value) if estimator.handle_unknown == "use_encoded_value" and value is not None else 0.0


@checked_by(check_one_hot)
def build_one_hot_encoder(estimator, x, output):
    """Every encoder that maps each feature's categories to a block of values
    (OneHotEncoder, OrdinalEncoder, TargetEncoder): the encoder's own ``transform`` of
    its categories and of an unknown value is the lookup table."""
    check_one_hot(estimator, output)
    categories = _numeric_categories(estimator)
    n_features = len(categories)
    longest = max(len(c) for c in categories)
    probe = np.column_stack([c[np.minimum(np.arange(longest), len(c) - 1)] for c in categories])
    encoded = _encode(estimator, probe)
    if isinstance(estimator, OneHotEncoder):
        widths = np.asarray(estimator._n_features_outs)
    else:
        widths = np.full(n_features, encoded.shape[1] // n_features)
    bounds = np.concatenate([[0], np.cumsum(widths)]).astype(int)
    feature, values, nan_category, rows = [], [], [], []
    unknown = np.zeros((n_features, bounds[-1]))
    for i, cats in enumerate(categories):
        block = slice(bounds[i], bounds[i + 1])
        for r, value in enumerate(cats):
            row = np.zeros(bounds[-1])
            row[block] = encoded[r, block]
            rows.append(row)
            feature.append(i)
            # A float32 input can only equal a category that float32 represents exactly.
            representable = np.isnan(value) or np.float32(value) == value
            values.append(value if representable and not np.isnan(value) else np.nan)
            nan_category.append(bool(np.isnan(value)))
        stranger = probe[:1].copy()
        stranger[0, i] = _unknown_value(cats)
        unknown_out = _encode(estimator, stranger)
        if unknown_out is not None:
            unknown[i, block] = unknown_out[0, block]
    return _ops.one_hot(
        x,
        np.asarray(feature, dtype=np.int64),
        np.asarray(values, dtype=np.float64),
        np.asarray(nan_category, dtype=bool),
        np.asarray(rows),
        unknown,
    )


# --------------------------------------------------------------------- identity
def check_function_transformer(estimator, output: str) -> None:
    check_transformer(estimator, output)
    if estimator.func is not None:
        raise unsupported(
            estimator,
            f"func={estimator.func!r}",
            "func=None (the identity, which ColumnTransformer uses for 'passthrough')",
            "Replace the function with a supported transformer.",
        )


@checked_by(check_function_transformer)
def build_function_transformer(estimator, x, output):
    check_function_transformer(estimator, output)
    return x


# --------------------------------------------------------------------- column transformer
def _selects_by_name(columns) -> bool:
    if isinstance(columns, str):
        return True
    if isinstance(columns, (list, tuple, np.ndarray)):
        return any(isinstance(c, str) for c in columns)
    return False


def _column_parts(estimator):
    """(name, transformer, input column indices, weight) of every part that outputs columns."""
    weights = estimator.transformer_weights or {}
    indices = estimator._transformer_to_input_indices
    for name, transformer, _ in estimator.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        index = np.asarray(indices[name], dtype=np.int64)
        if len(index) == 0:
            continue
        yield name, transformer, index, weights.get(name)


def check_column_transformer(estimator, output: str) -> None:
    check_transformer(estimator, output)
    for name, _, columns in estimator.transformers:
        if _selects_by_name(columns):
            raise unsupported(
                estimator,
                f"columns selected by name for {name!r} ({columns!r})",
                "columns selected by position (integers, slices or boolean masks)",
                "The .tflite takes a plain array without column names: select the columns by position.",
            )
    check_parts(transformer for _, transformer, _, _ in _column_parts(estimator))


@checked_by(check_column_transformer)
def build_column_transformer(estimator, x, output):
    check_column_transformer(estimator, output)
    parts = [
        transformed(transformer, _ops.columns(x, index), weight)
        for _, transformer, index, weight in _column_parts(estimator)
    ]
    if not parts:
        raise unsupported(
            estimator,
            "no output columns (every part dropped)",
            "at least one transformer that outputs columns",
            "Keep at least one column.",
        )
    return _ops.concat(parts)


# --------------------------------------------------------------------- thresholds and bins
@checked_by(check_transformer)
def build_binarizer(estimator, x, output):
    check_transformer(estimator, output)
    return _ops.as_float(_ops.greater(x, float(estimator.threshold)))


def check_bins(estimator, output: str) -> None:
    check_transformer(estimator, output)


@checked_by(check_bins)
def build_bins(estimator, x, output):
    """``searchsorted(bin_edges_[j][1:-1], x, side="right")``: the count of inner edges at
    or below x, each edge rounded up to float32 (the same test for every float32 x)."""
    check_bins(estimator, output)
    feature, edges = [], []
    for j, bin_edges in enumerate(estimator.bin_edges_):
        for edge in np.asarray(bin_edges, dtype=np.float64)[1:-1]:
            feature.append(j)
            edges.append(_float32_at_or_above(edge))
    n_features = len(estimator.bin_edges_)
    membership = np.zeros((len(feature), n_features))
    membership[np.arange(len(feature)), feature] = 1.0
    bins = _ops.count_at_or_above(x, np.asarray(feature), np.asarray(edges, dtype=np.float32), membership)
    if estimator.encode == "ordinal":
        return bins
    return build_one_hot_encoder(estimator._encoder, bins, "transform")


def _float32_at_or_above(value: float) -> np.float32:
    rounded = np.float32(value)
    return rounded if float(rounded) >= value else np.nextafter(rounded, np.float32(np.inf))


# --------------------------------------------------------------------- power transforms
def check_power(estimator, output: str) -> None:
    check_transformer(estimator, output)
    if not estimator.standardize:
        raise unsupported(
            estimator,
            "standardize=False",
            "standardize=True (the default)",
            "Refit with standardize=True, or scale the output yourself.",
        )


def _branch(lambdas, mean, scale, base, sign: float):
    """``(T(base) - mean) / scale`` for ``T(u) = sign (u ** l - 1) / l`` (``sign log u``
    where l is 0), computed relative to the point ``u0`` where ``T(u0) = mean``:
    ``sign c expm1(l log(u / u0)) / (l scale)`` with ``c = u0 ** l``, so the
    standardisation's subtraction cancels nothing. Columns whose mean this branch cannot
    reach (``c <= 0``; inputs then seldom fall in it) use the formula as written."""
    target = sign * mean  # T(u0) = mean  <=>  (u0 ** l - 1) / l = sign * mean
    zero = lambdas == 0
    safe_lambdas = np.where(zero, 1.0, lambdas)
    c = np.where(zero, 1.0, 1.0 + lambdas * target)
    reachable = c > 0
    c = np.where(reachable, c, 1.0)
    log_u0 = np.where(zero, target, np.log(c) / safe_lambdas)
    shifted = _ops.log(_ops.scale(base, factor=np.exp(-log_u0)))
    factors = np.where(zero, 1.0, c / safe_lambdas)
    relative = _ops.power_offsets(shifted, lambdas, sign * factors, 1.0 / scale)
    if reachable.all():
        return relative
    plain = _ops.power_offsets(
        _ops.log(base), lambdas, sign / safe_lambdas * ~zero + sign * zero, np.ones(len(lambdas))
    )
    plain = _ops.scale(plain, offset=mean, divisor=scale)
    return _ops.where(_ops.constant(reachable[None, :], np.bool_), relative, plain)


@checked_by(check_power)
def build_power_transformer(estimator, x, output):
    """Box-Cox or Yeo-Johnson with each column's ``lambdas_``, then the fitted scaler."""
    check_power(estimator, output)
    lambdas = np.asarray(estimator.lambdas_, dtype=np.float64)
    mean = np.asarray(estimator._scaler.mean_, dtype=np.float64)
    scale = np.asarray(estimator._scaler.scale_, dtype=np.float64)
    ones = np.ones(len(lambdas))
    if estimator.method == "box-cox":
        return _branch(lambdas, mean, scale, x, 1.0)
    positive = _branch(lambdas, mean, scale, _ops.add(_ops.maximum(x, 0.0), ones), 1.0)
    negative = _branch(2.0 - lambdas, mean, scale, _ops.add(-1.0 * _ops.minimum(x, 0.0), ones), -1.0)
    return _ops.where(_ops.greater_equal(x, 0.0), positive, negative)


# --------------------------------------------------------------------- quantiles
def check_quantiles(estimator, output: str) -> None:
    check_transformer(estimator, output)
    if estimator.output_distribution != "uniform":
        raise unsupported(
            estimator,
            f"output_distribution={estimator.output_distribution!r}",
            "output_distribution='uniform'",
            "Refit with output_distribution='uniform' (the normal quantile function is not rebuilt).",
        )


@checked_by(check_quantiles)
def build_quantile_transformer(estimator, x, output):
    """QuantileTransformer (uniform): the mean of the two interpolations through
    ``quantiles_``, and exactly 0 or 1 where x equals the first or last quantile."""
    check_quantiles(estimator, output)
    quantiles = np.asarray(estimator.quantiles_, dtype=np.float64).T  # (n_features, n_quantiles)
    references = np.broadcast_to(np.asarray(estimator.references_, dtype=np.float64), quantiles.shape)
    out = _ops.interpolate_both_ways(x, quantiles, references)
    low, high = quantiles[:, 0], quantiles[:, -1]
    out = _ops.where(_ops.equals_exactly(x, high), _ops.ones_like(out), out)
    out = _ops.where(_ops.equals_exactly(x, low), _ops.zeros_like(out), out)
    return _ops.where(_ops.is_nan(x), x, out)  # NaN stays NaN, as in scikit-learn


# --------------------------------------------------------------------- tf-idf
def check_tfidf(estimator, output: str) -> None:
    check_transformer(estimator, output)
    if estimator.sublinear_tf:
        raise unsupported(
            estimator, "sublinear_tf=True", "sublinear_tf=False", "Refit with sublinear_tf=False."
        )


@checked_by(check_tfidf)
def build_tfidf(estimator, x, output):
    check_tfidf(estimator, output)
    if estimator.use_idf:
        x = _ops.scale(x, factor=_floats(estimator.idf_))
    return _ops.row_normalise(x, estimator.norm) if estimator.norm else x


BUILDERS = {
    StandardScaler: build_standard_scaler,
    MinMaxScaler: build_min_max_scaler,
    MaxAbsScaler: build_max_abs_scaler,
    RobustScaler: build_robust_scaler,
    Normalizer: build_normalizer,
    PCA: build_pca,
    PolynomialFeatures: build_polynomial_features,
    SimpleImputer: build_simple_imputer,
    OneHotEncoder: build_one_hot_encoder,
    OrdinalEncoder: build_one_hot_encoder,
    TargetEncoder: build_one_hot_encoder,
    Binarizer: build_binarizer,
    PowerTransformer: build_power_transformer,
    QuantileTransformer: build_quantile_transformer,
    KBinsDiscretizer: build_bins,
    TfidfTransformer: build_tfidf,
    FunctionTransformer: build_function_transformer,
    ColumnTransformer: build_column_transformer,
}
