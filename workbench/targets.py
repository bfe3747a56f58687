"""Where a variant should run: a :class:`Target` (a board's or a phone's budget, and its runtime),
the presets, whether a measured variant fits one, and :func:`check_micro` for any file.

The runtimes themselves are rows in ``_runtimes`` (LiteRT, TFLite Micro, each with its check);
TFLite Micro's check is ``_micro_check``; the model as C source is ``csource``. The names that
lived here before the redesign are still importable from here. Nothing here imports TensorFlow.
"""

from __future__ import annotations

from ._bytes import GIB, KIB, MIB, byte_budget, format_bytes  # noqa: F401  (importable from here)
from ._deployment import AGREEMENT_SAMPLES, AGREEMENT_WARNING, blank_deployment, deployment  # noqa: F401
from ._litert import (  # noqa: F401  (importable from here, as before the redesign)
    PROBE_TIMEOUT,
    LoadProbe,
    litert_memory_estimate,
    probe_litert,
    refuse_crashing_file,
)
from ._micro import smallest_arena
from ._micro_check import (  # noqa: F401
    ARENA_NOTE,
    FIRST_ARENA_BYTES,
    MAX_ARENA_BYTES,
    MICRO_TIMEOUT,
    MicroCheck,
    micro_check,
)
from ._runtimes import RUNTIMES, where_it_runs  # noqa: F401
from ._target import PRESETS, Target, as_target, fits, presets_help  # noqa: F401
from .csource import c_source, save_c
from .runtime import Converted


def refit(row: dict, target) -> dict:
    """A measured row with its ``fits`` columns for ``target`` (the other columns do not depend on it)."""
    if target is None or row.get("tflm") is None or row.get("error"):
        return row
    fit, detail = fits(row, target)
    return {**row, "fits": fit, "fits_detail": detail}


def fit_summary(comparison) -> str:
    """Which variants fit the comparison's target, then one line per variant saying why (not)."""
    target = comparison.target
    table = comparison.table
    if target is None or "fits" not in table:
        return "No deployment target: pass compare(..., target='cortex-m4') or a budget to see what fits."
    rows = table[(table["variant"] != "original") & table["fits"].notna()]
    fitting = ", ".join(comparison.fitting()) or "none"
    lines = [f"Fits {target.name} ({target.describe().split(': ', 1)[1]}): {fitting}"]
    for _, row in rows.iterrows():
        why = row["fits_detail"] if row["tflm"] or target.runtime != "tflm" else row["tflm_reason"]
        lines.append(f"  {row['variant']}: {'yes' if row['fits'] else 'no'}: {why}")
    if target.runtime == "tflm":
        lines.append(f"({ARENA_NOTE}.)")
    return "\n".join(lines)


def check_micro(
    model,
    X=None,
    *,
    arena_bytes: int | None = None,
    max_arena_bytes: int = MAX_ARENA_BYTES,
    timeout: float = MICRO_TIMEOUT,
) -> MicroCheck:
    """Load, allocate and invoke a ``.tflite`` on TFLite Micro; find the smallest arena.

    Parameters
    ----------
    model : Converted or bytes
    X : array-like of shape (n_samples, *input_shape), default=None
        Samples to run (quantized with the file's own scale and zero point when its input is
        integer); their outputs are returned, dequantized. ``None`` invokes once on zeros.
    arena_bytes : int, default=None
        Try this arena only, with no search: does the model allocate and invoke in it?
    max_arena_bytes : int, default=256 MB
        The largest arena tried; a model that needs more is reported as not fitting any.
    timeout : float, default=300

    Returns
    -------
    MicroCheck
    """
    converted = model if isinstance(model, Converted) else Converted(bytes(model))
    return micro_check(
        converted, X, arena_bytes=arena_bytes, max_arena_bytes=max_arena_bytes, timeout=timeout
    )


__all__ = ["PRESETS", "Target", "as_target", "c_source", "check_micro", "save_c", "smallest_arena"]
