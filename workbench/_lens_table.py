"""The numbers of one quantized layer, as a lens shows them: its weights on their integer grid
(per tensor, per channel or per block), each channel's rounding error, and its activations'
calibrated range and clipping, as rows of ``(quantity, value, meaning)``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import _inputs as inputs
from ._layers import final_estimator
from ._lens_file import samples_key
from .errors import InvalidArgumentError

#: Bits of each stored integer type: the types that have a quantization grid.
BITS = {"int2": 2, "int4": 4, "int8": 8, "uint8": 8, "int16": 16}


def limits(kind: str) -> tuple[int, int]:
    """The smallest and largest integer of stored type ``kind``."""
    bits = BITS[kind]
    if kind.startswith("u"):
        return 0, 2**bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def snr(reference: np.ndarray, approximation: np.ndarray) -> float:
    """Signal-to-noise ratio in dB: ``10·log10(Σw² / Σ(w − ŵ)²)``."""
    noise = float(np.sum((reference - approximation) ** 2))
    signal = float(np.sum(reference**2))
    return float("inf") if noise == 0 else float(10 * np.log10(signal / noise)) if signal else float("nan")


@dataclass
class Grid:
    """A weight tensor's stored integers and what they stand for: ``scale × (q − zero_point)``,
    with the scale each weight uses (``groups``) and how the scales are laid out."""

    stored: np.ndarray
    dequantized: np.ndarray
    scales: np.ndarray
    zero_points: np.ndarray
    groups: np.ndarray
    granularity: str


def dequantized(file, index: int, layer: str) -> Grid:
    """The grid of weight tensor ``index`` of ``file`` (a :class:`~workbench._lens_file.LensFile`)."""
    stored = file.constant(index).astype(np.int64)
    scales, zero_points, axis = file.quantization(index)
    if len(zero_points) == 0:
        zero_points = np.zeros(len(scales), dtype=np.int64)
    shape = stored.shape
    if len(scales) == 1:
        groups, granularity = np.zeros(shape, dtype=np.int64), "per tensor"
    elif len(scales) == shape[axis]:
        groups = np.indices(shape)[axis]
        granularity = f"per channel ({len(scales)} scales, axis {axis})"
    elif stored.ndim == 2 and len(scales) % shape[0] == 0 and shape[1] % (len(scales) // shape[0]) == 0:
        per_row = len(scales) // shape[0]
        block = shape[1] // per_row
        rows, columns = np.indices(shape)
        groups = rows * per_row + columns // block
        granularity = f"blockwise ({len(scales)} scales, one per block of {block} weights)"
    else:
        raise InvalidArgumentError(
            received=f"layer {layer!r}, whose weights of shape {shape} have {len(scales)} scales",
            expected="Weights with one scale, one per output channel, or one per block of each channel.",
            fix="Look at another variant of this layer; this layout of scales is not one the lens reads.",
        )
    values = scales[groups] * (stored - zero_points[groups])
    return Grid(stored, values, scales, zero_points, groups, granularity)


def channels(weights: np.ndarray, grid: Grid) -> pd.DataFrame:
    """Per scale (a channel, or a block): its weights' range, rounding error and SNR, worst first."""
    order = np.argsort(grid.groups.ravel(), kind="stable")
    w = weights.ravel()[order].reshape(len(grid.scales), -1)
    d = grid.dequantized.ravel()[order].reshape(len(grid.scales), -1)
    error = w - d
    table = pd.DataFrame(
        {
            "channel": np.arange(len(w)),
            "scale": grid.scales,
            "zero_point": grid.zero_points,
            "w_min": w.min(axis=1),
            "w_max": w.max(axis=1),
            "rounding_rmse": np.sqrt(np.mean(error**2, axis=1)),
            "max_rounding_error": np.abs(error).max(axis=1),
            "snr_db": [snr(a, b) for a, b in zip(w, d, strict=True)],
        }
    )
    return table.sort_values("snr_db", kind="stable").reset_index(drop=True)


def weight_rows(variant, layer, op: str, kind: str, weights, grid: Grid, table: pd.DataFrame) -> list:
    """The weights' numbers: type, grid, the worst channel's scale, rounding error, SNR, and
    one weight worked through the formula."""
    qmin, qmax = limits(kind)
    per_channel = len(grid.scales) > 1
    worst = int(table["channel"].iloc[0])
    rounding = weights - grid.dequantized
    rows = [
        ("variant", variant, "the comparison's label"),
        ("layer", layer, "the user's layer name"),
        ("op", op, "the TFLite op that computes it"),
        ("weight type", f"{kind} ({BITS[kind]} bits)", "as stored in the .tflite"),
        ("levels", qmax - qmin + 1, f"integers q from {qmin} to {qmax}"),
        ("granularity", grid.granularity, "how many weights share one scale"),
        (
            "weight scale",
            float(grid.scales[worst]),
            "of the worst channel" if per_channel else "the tensor's",
        ),
        ("weight zero point", int(grid.zero_points[worst]), "symmetric weights keep 0"),
        (
            "weight rounding RMSE",
            float(np.sqrt(np.mean(rounding**2))),
            "float weight − scale × (q − zero_point)",
        ),
        ("weight max rounding error", float(np.max(np.abs(rounding))), "at most half a step, unless clipped"),
        ("weight SNR (dB)", snr(weights, grid.dequantized), "10·log10(Σw² / Σ(w − ŵ)²)"),
    ]
    if per_channel:
        rows.append(
            (
                "weight SNR with one scale (dB)",
                snr(weights, _per_tensor(weights, qmin, qmax)),
                "what a single per-tensor scale would give",
            )
        )
    # The worked weight: the one of the shown channel that rounding moves the most.
    moved = np.where(grid.groups == worst, np.abs(rounding), -1.0)
    flat = int(moved.ravel().argmax())
    w, q = float(weights.ravel()[flat]), int(grid.stored.ravel()[flat])
    s, z = float(grid.scales[worst]), int(grid.zero_points[worst])
    rows.append(
        (
            "worked weight",
            f"w = {w:.6g}; q = round(w / {s:.6g}) + {z} = {q}; real = {s:.6g} × ({q} − {z}) = {s * (q - z):.6g}",
            f"the weight of {'channel ' + str(worst) if per_channel else 'the tensor'} that rounding moves "
            f"most; rounding error {w - s * (q - z):.3g}",
        )
    )
    return rows


def _per_tensor(weights, qmin, qmax):
    scale = np.max(np.abs(weights)) / qmax if np.any(weights) else 1.0
    return scale * np.clip(np.round(weights / scale), qmin, qmax)


@dataclass
class Activations:
    """A layer's float outputs on the ``"calibration"`` and ``"test"`` samples (those it has),
    the calibrated range and quantization of the variant's output, its rows and its notes."""

    values: dict
    range: tuple[float, float] | None
    quant: tuple[float, int, str] | None
    rows: list
    notes: list


def activation_rows(comparison, pair, position: int, variant: str) -> Activations:
    """The layer's float outputs on calibration and test samples, its calibrated range and clipping."""
    file, reference = pair.file, pair.reference
    op, float_op = file.ops[position], reference.ops[position]
    found = Activations({}, None, None, [], [])
    data = comparison.dataset
    test = inputs.cast(data.X_test)
    if inputs.is_multi(test):
        found.notes.append("Activations are drawn for one-input models only; this model has several inputs.")
        return found
    if comparison.source is not None and data.feature_shape != comparison.source.input_shape:
        test = test.reshape((len(test), *comparison.source.input_shape))
    activations = found.values
    activations["test"] = reference.activations(float_op.output, test, samples_key(test))
    calibration = comparison.calibration
    if calibration is not None and not inputs.is_multi(calibration):
        calibration = np.asarray(calibration, dtype=np.float32)
        activations["calibration"] = reference.activations(
            float_op.output, calibration, samples_key(calibration)
        )
    kind = file.stored[op.output]
    if kind not in BITS:
        found.notes.append(
            f"{variant} keeps this layer's activations in {kind}: they have no calibrated range, so "
            "nothing is clipped; only the weights are quantized."
        )
        found.rows.append(("activation type", kind, "the layer's output as the variant computes it"))
        return found
    if "calibration" not in activations:
        found.notes.append(
            "This comparison kept no calibration samples, so the calibration histogram is missing; "
            "the calibrated range is read from the file."
        )
    scales, zero_points, _ = file.quantization(op.output)
    s, z = float(scales[0]), int(zero_points[0])
    qmin, qmax = limits(kind)
    low, high = s * (qmin - z), s * (qmax - z)
    values = activations["test"]
    clipped = float(np.mean((values < low) | (values > high)))
    a = float(np.quantile(values, 0.99))
    q = int(np.clip(np.round(a / s) + z, qmin, qmax))
    statistic = comparison.variants[variant].calibration if variant in comparison.variants else None
    found.rows += [
        ("activation type", f"{kind} ({BITS[kind]} bits)", "the layer's output as the variant computes it"),
        ("range statistic", statistic or "unknown", "how the calibration samples became this range"),
        ("activation scale", s, f"from calibration ({statistic or 'statistic unknown'})"),
        ("activation zero point", z, "where real 0 sits on the integer grid"),
        ("calibrated range min", low, f"scale × ({qmin} − zero_point)"),
        ("calibrated range max", high, f"scale × ({qmax} − zero_point)"),
    ]
    if "calibration" in activations:
        seen = activations["calibration"]
        found.rows += [
            ("calibration min", float(seen.min()), f"over {len(seen)} calibration samples"),
            ("calibration max", float(seen.max()), "the range calibration saw"),
        ]
    found.rows += [
        ("test min", float(values.min()), f"over {len(values)} test samples"),
        ("test max", float(values.max()), "what the deployed model meets"),
        ("test clip fraction", clipped, "share of test activations outside the calibrated range"),
        (
            "worked activation",
            f"a = {a:.6g}; q = round(a / {s:.6g}) + {z} = {q}; real = {s:.6g} × ({q} − {z}) = {s * (q - z):.6g}",
            "the 99th percentile of the test activations",
        ),
    ]
    found.range, found.quant = (low, high), (s, z, kind)
    return found


def error_rows(errors: pd.DataFrame, layer: str) -> list:
    """The layer's row of its variant's per-layer error (see :func:`workbench.layer_errors`)."""
    mine = errors[errors["layer"] == layer]
    if not len(mine):
        return [("layer error", "not measured", "the diagnosis has no row for this layer")]
    row = mine.iloc[0]
    return [(f"layer error: {row['metric']}", float(row["error"]), row["source"])]


def folded_note(source, layer: str, weights: np.ndarray) -> list[str]:
    """For a scikit-learn pipeline: whether the file's weights are the estimator's own, or have
    the steps before it (a scaler) folded in by the converter."""
    estimator = final_estimator(getattr(source, "estimator", None))
    if estimator is None or not layer.startswith("coef"):
        return []
    own = estimator.coefs_[int(layer[7:-1])] if layer.startswith("coefs_[") else estimator.coef_
    own = np.asarray(own, dtype=np.float64)
    own = own.T if own.T.shape == weights.shape and own.shape != weights.shape else own
    if own.shape == weights.shape and np.allclose(own, weights, rtol=1e-4, atol=1e-6):
        return []
    return [
        f"These are {layer} as the .tflite stores them: the converter folded the steps before the "
        f"estimator (a scaler's division, for one) into them, so they differ from the estimator's own {layer}."
    ]
