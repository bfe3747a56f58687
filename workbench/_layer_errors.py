"""Per-layer quantization error, taken where each mode has it: LiteRT Quantizer's own
validation for a recipe (the SNR each layer loses), the TFLite quantization debugger for the
converter's ``int8`` (the RMSE of each layer's output in quantization steps). Both
:func:`workbench.diagnose` and :func:`workbench.layer_errors` (which ranks a variant's layers
for the lens) measure through :func:`measure`.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from . import _inputs as inputs
from ._lens_file import float32_of, lined_up
from ._lens_table import BITS, dequantized, snr
from ._worker import DEFAULT_TIMEOUT
from ._worker import run as run_in_worker
from .errors import ConversionError, RepresentativeDataError
from .modes import Mode

#: The column each source of per-layer error ranks layers on, worst largest.
METRIC = {"validation": "snr_drop_db", "debugger": "rmse_per_step"}
_MEANING = {
    "validation": "LiteRT Quantizer validation: SNR the layer loses (dB)",
    "debugger": "TFLite quantization debugger: RMSE of the layer's output in quantization steps",
}


def measure(
    mode: Mode, source, float32, samples, test, layer_of, timeout=DEFAULT_TIMEOUT
) -> pd.DataFrame | None:
    """The per-tensor error of ``mode`` where :attr:`Mode.layer_error` says it comes from,
    worst first; ``None`` for a mode that has none.

    ``float32`` is called for the float32 variant a recipe is validated against; ``samples``
    calibrate, ``test`` are the inputs the error is measured on.
    """
    if mode.layer_error == "validation":
        from .quantize import tensor_errors

        return tensor_errors(float32(), mode, samples, test, layer_of, timeout=timeout)
    if mode.layer_error == "debugger":
        return debugger_errors(source, mode, samples, test, layer_of, timeout)
    return None


def debugger_errors(
    source, mode: Mode, samples, debug_samples, layer_of=None, timeout=DEFAULT_TIMEOUT
) -> pd.DataFrame:
    """The quantization debugger's per-layer statistics, worst first."""
    if not mode.calibrated:
        raise RepresentativeDataError(
            received=f"mode {mode.label}",
            expected="A calibrated mode (int8) to measure per-layer quantization error.",
            fix="Use mode='int8'.",
        )
    payload = {"spec": source.spec(), "mode": mode, "samples": samples, "debug_samples": debug_samples}
    answer = run_in_worker("layer_errors", payload, timeout, what="quantization debugging")
    if not answer["ok"]:
        raise ConversionError(
            received=f"a quantization debugger error: {answer['error']}",
            expected="A model the TFLite quantization debugger can run.",
            fix="Check that the model converts in this mode first.",
            log=answer["log"],
        )
    stats = pd.read_csv(io.StringIO(answer["result"]))
    layer_of = layer_of or (lambda name: name)
    frame = pd.DataFrame(
        {
            "layer": [layer_of(t) for t in stats["tensor_name"]],
            "op": stats["op_name"],
            "rmse_per_step": np.sqrt(stats["mean_squared_error"]) / stats["scale"],
            "max_abs_error": stats["max_abs_error"],
            "mean_error": stats["mean_error"],
            "scale": stats["scale"],
            "tensor": stats["tensor_name"],
        }
    )
    return frame.sort_values("rmse_per_step", ascending=False).reset_index(drop=True)


def layer_errors(comparison, variant: str) -> pd.DataFrame:
    """The per-layer quantization error of a variant, worst first, in the user's layer names.

    For LiteRT Quantizer recipes: the SNR each layer loses in the library's own validation
    (``snr_drop_db``, what :func:`workbench.diagnose` reports), on up to 100 test samples.
    For the converter's ``int8``: the TFLite quantization debugger's RMSE in quantization
    steps (needs TensorFlow in the worker). Otherwise: the weights' SNR from the files,
    lowest first.

    Parameters
    ----------
    comparison : Comparison
        From :func:`workbench.compare`.
    variant : str
        One of its variant labels.

    Returns
    -------
    pandas.DataFrame
        ``layer, error, metric, source``, one row per layer with weights, worst first.
    """
    cache = comparison.layer_errors
    if variant in cache:
        return cache[variant]
    pair = lined_up(comparison, variant)
    frame = None
    if pair.converted.mode is not None and pair.converted.label_override is None:
        frame = _measured(comparison, pair)
    if frame is None:
        frame = _weight_snr(pair)
    frame = frame.reset_index(drop=True)
    cache[variant] = frame
    return frame


def _measured(comparison, pair) -> pd.DataFrame | None:
    """Each weighted layer's worst tensor error, where the variant's mode measures it."""
    mode, source = pair.converted.mode, comparison.source
    mapped = dict(zip((op.output_name for op in pair.reference.ops), pair.names, strict=True))

    def layer_of(tensor: str) -> str:
        return mapped.get(tensor, tensor)

    if mode.layer_error == "validation":
        samples = comparison.calibration if mode.calibrated else None
        if mode.calibrated and samples is None:
            return None
        test = inputs.cast(comparison.dataset.X_test)
        if source is not None and not isinstance(source.input_shape, dict):
            test = np.asarray(test).reshape((len(test), *source.input_shape))[:100]
    elif mode.layer_error == "debugger" and source is not None and comparison.calibration is not None:
        samples = comparison.calibration
        test = samples[:100]
    else:
        return None
    errors = measure(mode, source, lambda: float32_of(comparison), samples, test, layer_of)
    weighted = [n for n, op in zip(pair.names, pair.reference.ops, strict=True) if op.weight is not None]
    errors = errors[(errors["op"] != "weights") & errors["layer"].isin(weighted)]
    metric = METRIC[mode.layer_error]
    grouped = errors.groupby("layer", sort=False)[metric].max().sort_values(ascending=False)
    return pd.DataFrame(
        {
            "layer": grouped.index,
            "error": grouped.to_numpy(),
            "metric": metric,
            "source": _MEANING[mode.layer_error],
        }
    )


def _weight_snr(pair) -> pd.DataFrame:
    """Each quantized weight's SNR, read from the files, lowest first."""
    rows = []
    for name, op, float_op in zip(pair.names, pair.file.ops, pair.reference.ops, strict=True):
        if op.weight is None or pair.file.stored[op.weight] not in BITS:
            continue
        w = pair.reference.constant(float_op.weight).astype(np.float64)
        grid = dequantized(pair.file, op.weight, name)
        rows.append((name, snr(w, grid.dequantized), "weight SNR (dB)", "from the .tflite files"))
    return pd.DataFrame(rows, columns=["layer", "error", "metric", "source"]).sort_values("error")
