"""LiteRT Quantizer: a recipe applied to the float32 ``.tflite``, the path Google now recommends.

The float32 bytes are the hub (``workbench.convert.float32_hub``); a recipe takes them to a
variant in tens of milliseconds, without TensorFlow and without the converter. The library
is native code in part, so the recipe is applied in the worker process, like conversion.
This module knows only bytes: it never imports the converter side.
"""

from __future__ import annotations

import os

import numpy as np

from ._worker import DEFAULT_TIMEOUT
from ._worker import run as run_in_worker
from .errors import ConversionError, RepresentativeDataError
from .modes import Mode
from .runtime import Converted, stored_tensor_types

#: Error metrics asked of the quantizer's validation, in the library's names.
VALIDATION_METRICS = ("mse", "snr", "cosine_similarity")


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
) -> Converted:
    """Apply ``mode``'s LiteRT Quantizer recipe to a float32 ``.tflite``.

    Parameters
    ----------
    float32 : Converted
        The float32 model (never modified).
    mode : Mode
        A quantizer mode (``mode.backend == "quantizer"``).
    samples : ndarray, default=None
        Validated calibration samples; required by the ``static_*`` recipes.
    keep : dict of str to {"float", "int8"}, default=None
        Op scopes (regular expressions over the ops' output tensor names) to keep at
        higher precision: mixed precision.
    threads, timeout
        Interpreter threads of the result; seconds the quantizer may take.

    Returns
    -------
    Converted
        ``unchanged`` is True when the recipe quantized no tensor of this model.
    """
    answer = _apply(float32, mode, samples, keep=keep, validate=None, timeout=timeout)
    content = answer["result"]["content"]
    converted = Converted(
        content,
        mode,
        convert_seconds=answer["seconds"],
        threads=threads,
        source=float32.source,
        log=answer["log"],
        classes=float32.classes,
        output_kind=float32.output_kind,
    )
    converted.unchanged = stored_tensor_types(content) == stored_tensor_types(float32.content)
    return converted


def validation(
    float32: Converted,
    mode: Mode,
    samples: np.ndarray | None,
    test_samples: np.ndarray,
    *,
    keep: dict[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[dict]:
    """The quantizer's own per-tensor validation of ``mode`` against the float32 model.

    Every tensor of the quantized model is compared with the float32 one on
    ``test_samples`` (MSE, SNR in dB, cosine similarity, as the library computes them).

    Returns
    -------
    list of dict
        One row per tensor: ``tensor, kind ("output", "intermediate", "constant",
        "input"), mse, snr, cosine_similarity``.
    """
    answer = _apply(float32, mode, samples, keep=keep, validate=test_samples, timeout=timeout)
    return answer["result"]["validation"]


def _apply(float32, mode, samples, *, keep, validate, timeout):
    if mode.backend != "quantizer":
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
        "content": float32.content,
        "mode": mode,
        "samples": samples if mode.calibrated else None,
        "keep": keep,
        "validate": validate,
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


# ------------------------------------------------------------ in the worker process
def apply_recipe(content: bytes, mode: Mode, samples, keep=None, validate=None) -> dict:
    """Quantize ``content`` with ``mode``'s recipe (runs in the worker; see ``_tasks``)."""
    quantizer = mode.quantizer(content, keep)
    signature, input_name = _signature_input(content)
    calibration = None
    if quantizer.need_calibration:
        calibration = quantizer.calibrate(
            {signature: _signature_samples(input_name, samples)}, num_threads=_threads()
        )
    result = quantizer.quantize(calibration, enable_progress_report=False)
    answer = {"content": bytes(result.quantized_model)}
    if validate is not None:
        answer["validation"] = _validate(quantizer, signature, input_name, validate)
    return answer


def _validate(quantizer, signature, input_name, test_samples) -> list[dict]:
    from litert_quantizer.utils import validation_utils

    metrics = [validation_utils.ValidationErrorMetric(m) for m in VALIDATION_METRICS]
    compared = quantizer.validate(
        test_data={signature: _signature_samples(input_name, test_samples)},
        error_metrics=metrics,
        num_threads=_threads(),
    )
    result = compared.get_signature_comparison_result(signature)
    rows = []
    for kind in ("output", "intermediate", "constant", "input"):
        for tensor, values in getattr(result, f"{kind}_tensors").items():
            rows.append(
                {
                    "tensor": tensor,
                    "kind": kind,
                    **{m: float(values.get(m, np.nan)) for m in VALIDATION_METRICS},
                }
            )
    return rows


def _signature_input(content: bytes) -> tuple[str, str]:
    from ai_edge_litert.interpreter import Interpreter

    signatures = Interpreter(model_content=content).get_signature_list()
    if not signatures:
        raise ValueError("the float32 model has no signature; LiteRT Quantizer calibrates through one")
    signature = next(iter(signatures))
    return signature, signatures[signature]["inputs"][0]


def _signature_samples(input_name: str, samples) -> list[dict]:
    return [{input_name: np.asarray(sample, dtype=np.float32)[None, ...]} for sample in samples]


def _threads() -> int:
    return max(1, min(2, os.cpu_count() or 1))
