"""``convert()``: run the real TFLite converter with the settings of one mode."""

from __future__ import annotations

import re
import sys
import time

import numpy as np

from ._native import last_lines
from ._worker import DEFAULT_TIMEOUT
from ._worker import run as run_in_worker
from .datasets import Dataset, validate_representative
from .errors import ConversionError, UnsupportedOpsError
from .modes import Mode
from .runtime import Converted
from .sources import Source, as_source

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
) -> Converted:
    """Convert ``model`` to TFLite in one quantization mode.

    Parameters
    ----------
    model : keras.Model, tf_keras model, scikit-learn estimator, str or Path
        The model, a ``.keras`` file, a SavedModel directory, or a built-in example name.
        It is never modified.
    mode : str or Mode, default="float32"
        ``float32``, ``float16``, ``dynamic``, ``int8`` or ``int16x8``; ``"int8:float32"``
        is int8 with float input/output (or pass ``Mode("int8", io="float32")``).
    representative : array-like or Dataset, default=None
        Calibration samples shaped like the model's input; required by ``int8`` and
        ``int16x8``. A :class:`Dataset` gives 200 random training samples.
    threads : int, default=1
        Interpreter threads for :meth:`Converted.predict`.
    verbose : bool, default=False
        Show the converter's own log instead of keeping it for error messages.
    timeout : float, default=300
        Seconds the converter may take; past that its process is stopped and a
        ``ConversionError`` raised. The converter runs in its own process, so a crash
        there cannot take down the caller.

    Returns
    -------
    Converted
    """
    mode = Mode.of(mode)
    source = as_source(model)
    samples = calibration_samples(source, mode, representative)
    return convert_source(source, mode, samples, threads=threads, verbose=verbose, timeout=timeout)


def calibration_samples(source: Source, mode: Mode, representative) -> np.ndarray | None:
    """Validated calibration samples for ``mode``, or None when the mode does not calibrate."""
    if not mode.calibrated:
        return None
    if representative is None:
        validate_representative(None, source.input_shape)
    if isinstance(representative, Dataset):
        dataset = representative
        if dataset.feature_shape != source.input_shape:
            dataset = dataset.reshaped(source.input_shape)
        representative = dataset.representative(200)
    return validate_representative(representative, source.input_shape)


def convert_source(
    source: Source,
    mode: Mode,
    samples: np.ndarray | None,
    *,
    threads: int = 1,
    verbose: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
) -> Converted:
    """Convert an already wrapped source with validated calibration samples.

    The converter runs in a separate worker process (see ``workbench._worker``): a crash,
    abort or time-out there becomes a ``ConversionError`` and never reaches the caller.
    """
    started = time.perf_counter()
    spec = source.spec()
    answer = run_in_worker(
        "convert", {"spec": spec, "mode": mode, "samples": samples, "verbose": verbose}, timeout
    )
    if verbose and answer.get("log"):
        print(answer["log"], file=sys.stderr)
    if not answer["ok"]:
        raise _conversion_error(answer["error"], mode, answer["log"])
    return Converted(
        answer["result"],
        mode,
        convert_seconds=time.perf_counter() - started,
        threads=threads,
        source=source.name,
        log=answer["log"],
        classes=source.classes,
        output_kind=source.output_kind,
        output_order=source.output_names,
        primary_output=source.primary_output,
    )


def apply_mode(converter, mode: Mode, samples, tf) -> None:
    """Apply the mode's row of the table to a converter."""
    row = mode.settings
    converter.optimizations = [getattr(tf.lite.Optimize, o) for o in row["optimizations"]]
    if row["supported_types"]:
        converter.target_spec.supported_types = [getattr(tf, t) for t in row["supported_types"]]
    converter.target_spec.supported_ops = [getattr(tf.lite.OpsSet, o) for o in row["supported_ops"]]
    if mode.calibrated:

        def representative_dataset():
            for sample in samples:
                yield [sample[None, ...]]

        converter.representative_dataset = representative_dataset
    if mode.io != "float32":
        converter.inference_input_type = getattr(tf, mode.io)
        converter.inference_output_type = getattr(tf, mode.io)


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
