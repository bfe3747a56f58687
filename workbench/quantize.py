"""LiteRT Quantizer: a recipe applied to the float32 ``.tflite``, the path Google now recommends.

The float32 bytes are the hub (``workbench.convert.float32_hub``); a recipe takes them to a
variant in tens of milliseconds, without TensorFlow and without the converter. The library
is native code in part, so the recipe is applied in the worker process, like conversion.
This module knows only bytes: it never imports the converter side. What runs in the
worker is ``workbench._tasks._quantize``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ._worker import DEFAULT_TIMEOUT
from ._worker import run as run_in_worker
from .calibration import Calibration
from .errors import ConversionError, RepresentativeDataError
from .modes import Mode
from .runtime import Converted, op_graph, stored_tensor_types


class QuantizerError(ConversionError):
    """LiteRT Quantizer could not apply a recipe to this model."""


def quantize_bytes(
    float32: Converted,
    mode: Mode,
    samples: np.ndarray | None = None,
    *,
    keep: dict[str, str] | None = None,
    threads: int = 1,
    timeout: float = DEFAULT_TIMEOUT,
    calibration=None,
) -> Converted:
    """Apply ``mode``'s LiteRT Quantizer recipe to a float32 ``.tflite``.

    Parameters
    ----------
    float32 : Converted
        The float32 model (never modified).
    mode : Mode
        A LiteRT Quantizer recipe (``mode.from_float_file``).
    samples : ndarray, default=None
        Validated calibration samples; required by the ``static_*`` recipes.
    keep : dict of str to {"float", "int8"}, default=None
        Op scopes (regular expressions over the ops' output tensor names) to keep at
        higher precision: mixed precision.
    threads, timeout
        Interpreter threads of the result; seconds the quantizer may take.
    calibration : str, tuple or Calibration, default=None
        How a static recipe's activation ranges are computed from ``samples``
        (``workbench.Calibration``); ``None``: min/max over every sample.

    Returns
    -------
    Converted
        ``unchanged`` is True when the recipe quantized no tensor of this model; ``recipe``
        is the recipe as the library applied it (JSON-ready; ``litert_quantizer`` loads it
        with ``Quantizer.load_quantization_recipe``).
    """
    calibration = Calibration.of(calibration)
    answer = _apply(
        float32.content, mode, samples, keep=keep, validate=None, timeout=timeout,
        signature=getattr(float32, "signature", None), calibration=calibration,
    )  # fmt: skip
    content = answer["result"]["content"]
    _check_outputs_match(content, float32, mode)
    return float32.derive(
        content,
        mode,
        convert_seconds=answer["seconds"],
        threads=threads,
        log=answer["log"],
        calibration=calibration.label if mode.calibrated else None,
        unchanged=stored_tensor_types(content) == stored_tensor_types(float32.content),
        recipe=answer["result"]["recipe"],
    )


def validation(
    float32: Converted,
    mode: Mode,
    samples: np.ndarray | None,
    test_samples: np.ndarray,
    *,
    keep: dict[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    calibration=None,
) -> list[dict]:
    """The quantizer's own per-tensor validation of ``mode`` against the float32 model.

    Every tensor of the quantized model is compared with the float32 one on
    ``test_samples`` (MSE, SNR in dB, cosine similarity, as the library computes them; the
    metrics are ``workbench._tasks.VALIDATION_METRICS``).

    Returns
    -------
    list of dict
        One row per tensor: ``tensor, kind ("output", "intermediate", "constant",
        "input"), mse, snr, cosine_similarity``.
    """
    answer = _apply(
        float32.content, mode, samples, keep=keep, validate=test_samples, timeout=timeout,
        signature=getattr(float32, "signature", None), calibration=Calibration.of(calibration),
    )  # fmt: skip
    return answer["result"]["validation"]


def _check_outputs_match(content: bytes, float32: Converted, mode: Mode) -> None:
    """Raise unless every output of the float32 file is an output of the variant, by name."""
    from ._output_names import unmatched_signature_outputs

    unmatched = [name for _, name in unmatched_signature_outputs(content)]
    if unmatched:
        raise QuantizerError(
            received=(
                f"a {mode.name} file whose outputs {', '.join(unmatched)} name no tensor the file returns "
                "(LiteRT Quantizer renamed them, and no DEQUANTIZE/QUANTIZE leads back to them)"
            ),
            expected=f"The float32 model's outputs ({', '.join(float32.output_names)}), found by name.",
            fix="Compare this model with another recipe, or the converter's int8; its numbers would be "
            "read from the wrong outputs.",
        )


def _apply(content, mode, samples, *, keep, validate, timeout, signature=None, calibration=None):
    if not mode.from_float_file:
        raise QuantizerError(
            received=f"mode {mode.label!r}, a converter mode",
            expected="A LiteRT Quantizer recipe, e.g. static_wi8_ai8 or weight_only_wi4_afp32.",
            fix="Convert converter modes with workbench.convert(model, mode).",
        )
    if mode.calibrated and samples is None:
        raise RepresentativeDataError(
            received=f"no representative data for the static recipe {mode.name}",
            expected="Calibration samples: static recipes quantize activations with ranges seen on them.",
            fix="Pass representative=200 (training samples) or an array of a few hundred samples.",
        )
    payload = {
        "content": content,
        "mode": mode,
        "samples": samples if mode.calibrated else None,
        "keep": keep,
        "validate": validate,
        "signature": signature,
        "calibration": calibration,
    }
    answer = run_in_worker("quantize", payload, timeout, what="quantization")
    if not answer["ok"]:
        first = answer["error"].strip().splitlines()[0] if answer["error"].strip() else "no message"
        raise QuantizerError(
            received=f"LiteRT Quantizer's error applying {mode.name}: {first}",
            expected=f"A float32 model whose ops the recipe {mode.name} can quantize.",
            fix=(
                "Read the library's message: it names the op or tensor it could not handle. Try "
                "another recipe (weight_only_* recipes touch only weights), keep that layer at higher "
                "precision, or use a converter mode."
            ),
            log=answer["log"],
        )
    return answer


def tensor_errors(
    float32: Converted,
    mode: Mode,
    samples: np.ndarray | None,
    test_samples: np.ndarray,
    layer_of=None,
    *,
    keep: dict[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    calibration=None,
) -> pd.DataFrame:
    """Per-layer error of a quantizer variant from LiteRT Quantizer's own validation, worst first.

    The library compares every tensor of the quantized model with the float32 one, end to
    end, so error that one layer makes shows in every layer after it. Each op's *own* share
    is the SNR it loses: the SNR of its output below the worst SNR of its inputs
    (``snr_drop_db``). Layers are ranked by that, so the blame falls where the damage is
    done, not where it shows.

    Returns
    -------
    pandas.DataFrame
        ``layer, op, snr_drop_db, snr_db, mse, cosine_similarity, tensor`` for every op
        output, worst first, and the weights' own error (``op="weights"``) after them.
    """
    rows = validation(
        float32, mode, samples, test_samples, keep=keep, timeout=timeout, calibration=calibration
    )
    layer_of = layer_of or (lambda name: name)
    by_tensor = {row["tensor"]: {**row, "snr": _decibels(row["snr"])} for row in rows}
    table = []
    for op in op_graph(float32.content):
        for output in op["outputs"]:
            measured = by_tensor.get(output)
            if measured is None:
                continue
            before = [min(by_tensor[name]["snr"], _SNR_CAP) for name in op["inputs"] if name in by_tensor]
            snr = measured["snr"]
            drop = max(min(before, default=_SNR_CAP) - min(snr, _SNR_CAP), 0.0)
            table.append(
                {
                    "layer": layer_of(output),
                    "op": op["op"],
                    "snr_drop_db": float(drop),
                    "snr_db": snr,
                    "mse": measured["mse"],
                    "cosine_similarity": measured["cosine_similarity"],
                    "tensor": output,
                }
            )
    ops = pd.DataFrame(table, columns=_ERROR_COLUMNS).sort_values("snr_drop_db", ascending=False)
    weights = pd.DataFrame(
        [
            {
                "layer": layer_of(row["tensor"]),
                "op": "weights",
                "snr_drop_db": np.nan,
                "snr_db": row["snr"],
                "mse": row["mse"],
                "cosine_similarity": row["cosine_similarity"],
                "tensor": row["tensor"],
            }
            for row in by_tensor.values()
            if row["kind"] == "constant"
        ],
        columns=_ERROR_COLUMNS,
    ).sort_values("snr_db")
    return pd.concat([ops, weights], ignore_index=True)


# An exact match has (near) infinite SNR; counted as this many dB so drops stay finite.
_SNR_CAP = 120.0


def _decibels(ratio: float) -> float:
    """The library's SNR is a power ratio; tables show it in dB, capped at ``_SNR_CAP``."""
    if not np.isfinite(ratio) or ratio <= 0:
        return _SNR_CAP if ratio == np.inf else float("nan")
    return float(min(10 * np.log10(ratio), _SNR_CAP))


_ERROR_COLUMNS = ["layer", "op", "snr_drop_db", "snr_db", "mse", "cosine_similarity", "tensor"]


def keep_scopes(errors: pd.DataFrame, layers, precision: str) -> tuple[dict[str, str], list[str]]:
    """The op scopes to keep at ``precision`` for the ``layers`` worst layers (a count or names),
    as LiteRT Quantizer matches them (a regular expression over an op's output tensor names)."""
    ranked = errors[errors["op"] != "weights"]
    chosen = ranked.head(layers) if isinstance(layers, int) else ranked[ranked["layer"].isin(list(layers))]
    scopes = {re.escape(tensor): precision for tensor in chosen["tensor"]}
    return scopes, list(dict.fromkeys(chosen["layer"]))
