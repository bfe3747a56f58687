"""Mixed precision by measurement: a variant that keeps its worst layers at higher precision,
the layers ranked by where the mode measures per-layer error (see :func:`workbench.keep_float`)."""

from __future__ import annotations

import time

import numpy as np

from ._args import whole_number
from ._layer_errors import debugger_errors
from ._layers import layer_mapper
from ._worker import DEFAULT_TIMEOUT, check_timeout
from ._worker import run as run_in_worker
from .convert import (
    calibration_samples,
    check_calibration,
    float32_hub,
    representative_samples,
)
from .errors import ConversionError, InvalidArgumentError, UnknownModeError
from .modes import Mode
from .runtime import Converted, io_of
from .sources import as_source


def keep_float(
    model,
    mode="int8",
    representative=None,
    *,
    layers=1,
    precision: str = "auto",
    dataset=None,
    debug_samples: int = 100,
    timeout=DEFAULT_TIMEOUT,
    calibration=None,
) -> Converted:
    """Quantize ``model`` but keep its worst ``layers`` (a count, or layer names) at higher precision.

    For the converter's ``int8`` the worst layers are those with the largest per-layer
    quantization error from the TFLite quantization debugger, kept in float. For a LiteRT
    Quantizer recipe they are those that lose the most SNR in the library's own validation,
    kept in float or at 8 bits. The result is labelled e.g. ``int8+float(2 layers)`` or
    ``dynamic_wi4_afp32+int8(1 layer)``.

    Parameters
    ----------
    precision : {"auto", "float", "int8"}, default="auto"
        For quantizer recipes: what the kept layers get. ``"auto"`` keeps 8-bit weights for
        recipes of fewer bits and float for 8-bit recipes. The converter's int8 keeps float.
    debug_samples : int, default=100
        Samples the per-layer error is measured on.
    calibration : str, tuple or Calibration, default="minmax"
        How a static recipe computes its activation ranges (see :func:`workbench.convert`).
    """
    timeout = check_timeout(timeout)
    debug_samples = whole_number("debug_samples", debug_samples, fix="Use debug_samples=100.")
    _check_layers(layers)
    source = as_source(model)
    mode = Mode.of(mode)
    calibration = check_calibration(mode, calibration)
    if representative is None and dataset is not None:
        representative = dataset
    samples = calibration_samples(source, mode, representative)
    if precision not in ("auto", "float", "int8"):
        raise InvalidArgumentError(
            received=f"precision={precision!r}",
            expected="One of 'auto', 'float', 'int8'.",
            fix="Leave precision out to keep 8 bits under 4-bit recipes and float otherwise.",
        )
    # A recipe keeps layers through its own config, ranked by its validation; the converter's
    # int8 through the debugger's deny-list.
    if mode.from_float_file:
        # Recipes without calibration still need inputs to measure error on: the samples
        # given, else seeded normal inputs (what the library itself validates with).
        test = samples
        if test is None:
            test = (
                representative_samples(source, representative)
                if representative is not None
                else np.random.default_rng(0).standard_normal((debug_samples, *source.input_shape))
            )
        return _keep_with_recipe(
            source, mode, samples, test, layers, precision, debug_samples, timeout, calibration
        )
    if not mode.calibrated:
        raise UnknownModeError(
            received=f"keep_float with mode {mode.label!r}",
            expected="The converter's int8 mode or a LiteRT Quantizer recipe.",
            fix="Use mode='int8' or a recipe such as 'static_wi8_ai8'.",
        )
    errors = debugger_errors(
        source, mode, samples, samples[:debug_samples], layer_mapper(source, timeout), timeout
    )
    if isinstance(layers, int):
        chosen = errors.head(layers)
    else:
        chosen = errors[errors["layer"].isin(layers)]
    payload = {"spec": source.spec(), "mode": mode, "samples": samples, "nodes": list(chosen["tensor"])}
    answer = run_in_worker("keep_float", payload, timeout, what="mixed-precision conversion")
    if not answer["ok"]:
        raise ConversionError(
            received=f"a mixed-precision conversion error: {answer['error']}",
            expected=f"A model whose layers {list(chosen['layer'])} can stay in float.",
            fix="Keep fewer layers in float.",
            log=answer["log"],
        )
    return Converted(
        answer["result"],
        mode.with_float_io(),
        **io_of(source),
        convert_seconds=answer["seconds"],
        label=kept_label(mode, "float", len(chosen)),
        float_layers=list(chosen["layer"]),
    )


def _keep_with_recipe(
    source, mode, samples, test, layers, precision, debug_samples, timeout, calibration=None
) -> Converted:
    from .quantize import keep_scopes, quantize_bytes, tensor_errors

    started = time.perf_counter()
    if precision == "auto":
        precision = auto_precision(mode)
    hub = float32_hub(source, timeout=timeout)
    test = np.asarray(test, dtype=np.float32)[:debug_samples]
    errors = tensor_errors(
        hub, mode, samples, test, layer_mapper(source, timeout), timeout=timeout, calibration=calibration
    )
    scopes, kept = keep_scopes(errors, layers, precision)
    made = quantize_bytes(hub, mode, samples, keep=scopes, timeout=timeout, calibration=calibration)
    return made.derive(
        made.content,
        made.mode,
        convert_seconds=time.perf_counter() - started,
        calibration=made.calibration,
        recipe=made.recipe,
        label=kept_label(mode, precision, len(kept)),
        float_layers=kept,
    )


def auto_precision(mode: Mode) -> str:
    """What ``precision="auto"`` keeps under a recipe: 8-bit weights under fewer bits, float
    under 8 bits."""
    return "int8" if mode.settings["config"]["num_bits"] < 8 else "float"


def kept_label(mode: Mode, precision: str, count: int) -> str:
    """The label of ``mode`` with ``count`` layers kept at ``precision``: ``int8+float(2 layers)``."""
    return f"{mode.name}+{precision}({count} layer{'s' if count != 1 else ''})"


def _check_layers(layers) -> None:
    if isinstance(layers, bool) or not (
        (isinstance(layers, (int, np.integer)) and layers >= 1)
        or (isinstance(layers, (list, tuple, set)) and layers and all(isinstance(n, str) for n in layers))
    ):
        raise InvalidArgumentError(
            received=f"layers={layers!r}",
            expected="A number of layers (1 or more) or a list of layer names.",
            fix="Pass layers=1, layers=2, or layers=['dense'] (names as in Diagnosis.layers).",
        )
