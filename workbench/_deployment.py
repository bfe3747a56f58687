"""The comparison table's deployment columns for one variant: does it run on TFLite Micro, in
what arena, with the same answers as LiteRT; its flash; LiteRT's memory beyond the file; and,
with a target, whether it fits (``targets.fits``)."""

from __future__ import annotations

import numpy as np

from ._litert import litert_memory_estimate
from ._micro_check import micro_check
from ._target import as_target, fits

#: Test samples run on TFLite Micro to compare its outputs with LiteRT's.
AGREEMENT_SAMPLES = 1000
#: Below this share of labels agreeing with LiteRT, a variant that runs is flagged: beyond the
#: odd tie that rounding breaks differently, the runtimes compute different things.
AGREEMENT_WARNING = 0.99


def deployment(converted, litert_outputs, X, *, target=None, dataset=None, output_kind="proba") -> dict:
    """The table's deployment columns for one variant (see :func:`workbench.compare`)."""
    from .evaluate import fidelity  # evaluate reads datasets: only compare's rows need it

    target = as_target(target) if target is not None else None
    samples = np.asarray(X)[:AGREEMENT_SAMPLES]
    check = micro_check(converted, samples)
    agreement = max_abs = np.nan
    reason = check.reason
    if check.runs and dataset is not None:
        agreement, max_abs = fidelity(dataset, litert_outputs[: len(samples)], check.outputs, output_kind)
        if dataset.task == "classification" and agreement < AGREEMENT_WARNING:
            reason = (
                f"answers otherwise than LiteRT for the same file ({agreement:.1%} of labels agree, "
                f"max |Δ| {max_abs:.3g}): a TFLite Micro kernel computes it differently; check on the device"
            )
    columns = {
        "tflm": check.runs,
        "tflm_reason": reason,
        "tflm_arena_bytes": check.arena_bytes if check.arena_bytes is not None else np.nan,
        "flash_bytes": check.flash_bytes,
        "tflm_agreement": agreement,
        "tflm_max_abs_diff": max_abs,
        "litert_memory_bytes": litert_memory_estimate(converted.content),
    }
    if target is not None:
        columns["fits"], columns["fits_detail"] = fits(columns, target)
    return columns


def blank_deployment(target=None) -> dict:
    """The deployment columns of a row that has no ``.tflite`` (the original): all empty."""
    columns = {"tflm": None, "tflm_reason": ""}
    for key in (
        "tflm_arena_bytes",
        "flash_bytes",
        "tflm_agreement",
        "tflm_max_abs_diff",
        "litert_memory_bytes",
    ):
        columns[key] = np.nan
    if target is not None:
        columns.update(fits=None, fits_detail="")
    return columns
