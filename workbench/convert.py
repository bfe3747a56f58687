"""``convert()``: the float32 ``.tflite`` (the hub every variant derives from) and each mode.

A converter mode runs the real TFLite converter with its row's settings. A LiteRT Quantizer
mode takes the float32 ``.tflite``, converted once per source and cached on it, and applies
its recipe to those bytes (``workbench.quantize``): the converter does not run again.
"""

from __future__ import annotations

import re
import sys
import time
from collections import Counter, OrderedDict

import numpy as np

from ._args import whole_number
from ._native import last_lines
from ._worker import DEFAULT_TIMEOUT, check_timeout
from ._worker import run as run_in_worker
from .calibration import CONVERTER_CALIBRATION, Calibration
from .datasets import Dataset, validate_representative
from .errors import (
    ConversionError,
    InvalidArgumentError,
    RepresentativeDataError,
    UnsupportedOpsError,
    WorkerCrashedError,
)
from .modes import Mode
from .quantize import quantize_bytes
from .runtime import Converted, io_of
from .sources import Source, as_source

#: How many times the TFLite converter ran in this process, by mode label (float32 included).
converter_runs: Counter[str] = Counter()

_OP_PATTERNS = (
    # "'tf.Erf' op is neither a custom op nor a flex op"
    re.compile(r"'tf\.(\w+)' op is neither a custom op nor a flex op"),
    # "Some ops are not supported ... Tf ops: Erf, Foo"
    re.compile(r"TF Select ops: ([\w, ]+)"),
    re.compile(r"Flex ops: ([\w, ]+)"),
    re.compile(r"failed to legalize operation 'tf\.(\w+)'"),
)


def convert(
    model,
    mode: str | Mode = "float32",
    representative=None,
    *,
    threads: int = 1,
    verbose: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    calibration=None,
) -> Converted:
    """Convert ``model`` to TFLite in one quantization mode.

    Parameters
    ----------
    model : keras.Model, tf_keras model, scikit-learn estimator, str or Path
        The model, a ``.keras`` file, a SavedModel directory, or a built-in example name.
        It is never modified.
    mode : str or Mode, default="float32"
        A converter mode (``float32``, ``float16``, ``dynamic``, ``int8``, ``int16x8``;
        ``"int8:float32"`` is int8 with float input/output) or a LiteRT Quantizer recipe
        (``dynamic_wi8_afp32``, ``weight_only_wi4_afp32``, ``static_wi8_ai8``, ... see
        ``workbench.QUANTIZER_MODES``), applied to the float32 ``.tflite``.
    representative : array-like or Dataset, default=None
        Calibration samples shaped like the model's input; required by ``int8``,
        ``int16x8`` and the ``static_*`` recipes. A :class:`Dataset` gives 200 random
        training samples.
    threads : int, default=1
        Interpreter threads for :meth:`Converted.predict`.
    verbose : bool, default=False
        Show the converter's own log instead of keeping it for error messages.
    timeout : float, default=300
        Seconds the converter may take; past that its process is stopped and a
        ``ConversionError`` raised. The converter runs in its own process, so a crash
        there cannot take down the caller.
    calibration : {"minmax", "percentile", "ema"}, tuple or Calibration, default="minmax"
        How a static recipe's activation ranges are computed from ``representative``:
        min/max over every sample (what the converter's ``int8`` does), a percentile of the
        values (``("percentile", 99.9)``), or LiteRT Quantizer's own moving average
        (``"ema"``, which narrows ranges and collapses one-value tensors). The converter's
        modes always calibrate with their own min/max. See ``workbench.Calibration``.

    Returns
    -------
    Converted
    """
    mode = Mode.of(mode)
    timeout = check_timeout(timeout)
    threads = whole_number("threads", threads, fix="Use threads=1 for comparable single-core latency.")
    calibration = check_calibration(mode, calibration)
    source = as_source(model)
    samples = calibration_samples(source, mode, representative)
    return convert_source(
        source, mode, samples, threads=threads, verbose=verbose, timeout=timeout, calibration=calibration
    )


def check_calibration(mode: Mode, calibration) -> Calibration:
    """``calibration`` as a Calibration; a statistic other than min/max asked of a converter mode
    that calibrates is refused (the converter takes no other)."""
    chosen = Calibration.of(calibration)
    if mode.calibrated and not mode.statistic_choice and chosen != Calibration():
        raise InvalidArgumentError(
            received=f"calibration={chosen.label!r} for the converter's {mode.label}",
            expected="calibration='minmax' (or none) with a converter mode: TensorFlow's converter "
            "calibrates with its own running min/max and takes no other statistic.",
            fix=f"Use a LiteRT Quantizer recipe (static_wi8_ai8, static_wi8_ai16) for {chosen.label}, "
            "or leave calibration out.",
        )
    return chosen


def calibration_samples(source: Source, mode: Mode, representative) -> np.ndarray | None:
    """Validated calibration samples for ``mode``, or None when the mode does not calibrate."""
    if not mode.calibrated:
        return None
    return representative_samples(source, representative)


def representative_samples(source: Source, representative) -> np.ndarray:
    """``representative`` (samples, a generator or a Dataset) as validated float32 samples."""
    if representative is None:
        validate_representative(None, source.input_shape)
    if isinstance(representative, Dataset):
        dataset = representative
        if isinstance(source.input_shape, dict):
            dataset = dataset.bind_inputs(list(source.input_shape), source.input_shape)
        elif dataset.feature_shape != source.input_shape:
            dataset = dataset.reshaped(source.input_shape)
        representative = dataset.representative(200)
    samples = validate_representative(representative, source.input_shape)
    dtypes = source.input_dtype
    if isinstance(samples, dict):
        return {name: _as_input_type(a, dtypes[name]) for name, a in samples.items()}
    return _as_input_type(samples, dtypes)


def _as_input_type(samples: np.ndarray, dtype) -> np.ndarray:
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        # Integer inputs (token ids for an embedding): calibrate with the ids themselves.
        if not np.array_equal(samples, np.round(samples)):
            raise RepresentativeDataError(
                received="calibration samples with fractional values for a model whose input is "
                f"{dtype.name} (e.g. token ids for an embedding)",
                expected=f"Whole numbers, as the model takes ({dtype.name}).",
                fix="Pass the same integer ids the model is fed, e.g. rows of the tokenized training set.",
            )
        samples = samples.astype(dtype)
    return samples


def convert_source(
    source: Source,
    mode: Mode,
    samples: np.ndarray | None,
    *,
    threads: int = 1,
    verbose: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    calibration=None,
) -> Converted:
    """Convert an already wrapped source with validated calibration samples.

    The converter and the quantizer run in a separate worker process (see
    ``workbench._worker``): a crash, abort or time-out there becomes a ``ConversionError``
    and never reaches the caller.
    """
    variant = source.integer_trees(mode, samples)  # a scikit-learn tree ensemble's static modes
    if variant is not None:
        return _run_converter(variant, mode, None, threads=threads, verbose=verbose, timeout=timeout)
    if mode.from_float_file:
        hub = float32_hub(source, verbose=verbose, timeout=timeout)
        return quantize_bytes(hub, mode, samples, threads=threads, timeout=timeout, calibration=calibration)
    if mode == Mode("float32"):
        return float32_hub(source, verbose=verbose, timeout=timeout).with_threads(threads)
    return _run_converter(source, mode, samples, threads=threads, verbose=verbose, timeout=timeout)


def float32_hub(source: Source, *, verbose: bool = False, timeout: float = DEFAULT_TIMEOUT) -> Converted:
    """The source's float32 ``.tflite``, converted on first use and kept on the source.

    Every quantizer variant derives from these bytes; a failed conversion raises its
    ``ConversionError`` each time it is asked for, without running the converter again.
    """
    cached = source.float32_file
    key = None
    if cached is None:
        key = source.fingerprint()
        cached = _HUBS.get(key) if key is not None else None
    if isinstance(cached, ConversionError):
        source.float32_file = cached
        raise cached
    if cached is None:
        try:
            cached = _run_converter(source, Mode("float32"), None, verbose=verbose, timeout=timeout)
        except WorkerCrashedError:
            raise  # a crash or time-out may not happen again: try again next time
        except ConversionError as err:
            source.float32_file = err  # the model itself does not convert: say so once
            _remember_hub(key, err)
            raise
        _remember_hub(key, cached)
    if source.primary_output is not None and source.primary_output in cached.output_names:
        # The same file, kept by fingerprint, scored on the output this source asks for.
        cached = cached.with_primary_output(source.primary_output)
    source.float32_file = cached
    return cached


# float32 conversions by model fingerprint (the last few models), so that an unchanged model
# passed again to convert() or compare() is neither exported nor converted again.
_HUBS: OrderedDict[str, Converted | ConversionError] = OrderedDict()
_HUBS_KEPT = 16


def _remember_hub(key, value) -> None:
    if key is None:
        return
    _HUBS[key] = value
    while len(_HUBS) > _HUBS_KEPT:
        _HUBS.popitem(last=False)


def _run_converter(source, mode, samples, *, threads=1, verbose=False, timeout=DEFAULT_TIMEOUT):
    started = time.perf_counter()
    spec = source.spec()
    converter_runs[mode.label] += 1
    try:
        answer = run_in_worker(
            "convert", {"spec": spec, "mode": mode, "samples": samples, "verbose": verbose}, timeout
        )
    except WorkerCrashedError as crash:
        recurrent = source.recurrent
        if not (recurrent and mode.calibrated and "signal" in crash.received):
            raise
        raise WorkerCrashedError(
            received=f"{crash.received}, calibrating the recurrent layers {', '.join(recurrent)} for {mode.label}",
            expected="A converter that can calibrate the model's loops (its WHILE ops).",
            fix=(
                "TensorFlow's converter crashes calibrating recurrent layers for full-integer modes. "
                "Use float16, dynamic, or a LiteRT Quantizer recipe that needs no calibration "
                "(dynamic_wi8_afp32, weight_only_wi8_afp32); nothing you had is lost."
            ),
            log=crash.log,
        ) from None
    if verbose and answer.get("log"):
        print(answer["log"], file=sys.stderr)
    if not answer["ok"]:
        raise _conversion_error(answer["error"], mode, answer["log"])
    return Converted(
        answer["result"],
        mode,
        **{**io_of(source), "threads": threads},
        convert_seconds=time.perf_counter() - started,
        log=answer["log"],
        calibration=CONVERTER_CALIBRATION if mode.calibrated else None,
        path=source.made_by or None,
    )


def unsupported_ops(message: str) -> list[str]:
    """The TensorFlow op names a converter error says TFLite builtins cannot express."""
    found: list[str] = []
    for pattern in _OP_PATTERNS:
        for match in pattern.finditer(message):
            for name in match.group(1).split(","):
                name = name.strip()
                if name and name not in found:
                    found.append(name)
    return found


def _conversion_error(message: str, mode: Mode, log: str) -> ConversionError:
    ops = unsupported_ops(message + "\n" + log)
    if ops:
        return UnsupportedOpsError(ops, log=last_lines(log))
    first = message.strip().splitlines()[0] if message.strip() else "no message"
    return ConversionError(
        received=f"a converter error in mode {mode.label}: {first}",
        expected="A model the TFLite converter can convert in this mode.",
        fix=(
            "Read the converter's message above; try mode='float32' to see whether the "
            "model converts at all, or pass verbose=True for the full log."
        ),
        log=last_lines(message + "\n" + log, 30),
    )
