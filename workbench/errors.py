"""Errors a user can cause, each saying what was received, what was expected, and the fix.

Every error raised because of the user's input is a :class:`WorkbenchError`.  The
subclasses also derive from the matching built-in exception (``ValueError``,
``TypeError``, ``FileNotFoundError``) so that generic handlers keep working.
"""

from __future__ import annotations


class WorkbenchError(Exception):
    """Base class of every error the workbench raises because of its input."""

    def __init__(self, received: str, expected: str, fix: str):
        self.received = received
        self.expected = expected
        self.fix = fix
        super().__init__(f"{expected} Received: {received}. {fix}")


class InvalidArgumentError(WorkbenchError, ValueError):
    """An argument of the wrong type or outside its range (a time limit, a count, a path)."""


class OutputPathError(WorkbenchError, ValueError):
    """An output path that cannot be written: a file where a directory is needed, or the reverse."""


class UnknownModeError(WorkbenchError, ValueError):
    """A quantization mode that does not exist."""


class RepresentativeDataError(WorkbenchError, ValueError):
    """Calibration data that is missing, of the wrong shape or type, or not finite."""


class DatasetError(WorkbenchError, ValueError):
    """A dataset that cannot be loaded or used: empty, unknown, missing target column."""


class DataMismatchError(WorkbenchError, ValueError):
    """A dataset that does not fit the model: feature shape, label count, task."""


class ModelLoadError(WorkbenchError, ValueError):
    """A model that cannot be loaded: missing, corrupt, or of a kind the workbench does not take."""


class InvocationError(ModelLoadError, RuntimeError):
    """A converted model that LiteRT refuses at allocation or invocation; the message names the
    op and the node, as LiteRT reports them."""


class ConversionError(WorkbenchError, RuntimeError):
    """The TFLite converter failed; the message carries the converter's own error."""

    def __init__(self, received: str, expected: str, fix: str, log: str = ""):
        self.log = log
        super().__init__(received, expected, fix)


class WorkerCrashedError(ConversionError):
    """The worker process that runs the converter or quantizer crashed, was killed or ran past
    its time limit; the next call starts a fresh one."""


class UnsupportedOpsError(ConversionError):
    """The model needs operations that TFLite builtins cannot express."""

    def __init__(self, ops: list[str], log: str = ""):
        self.ops = list(ops)
        names = ", ".join(self.ops) if self.ops else "(the converter did not name them)"
        super().__init__(
            received=f"a model that needs the TensorFlow ops {names}",
            expected="A model made only of operations that TFLite builtins can express.",
            fix=(
                "Replace the layers that produce these ops with builtin-compatible ones, or "
                "convert with SELECT_TF_OPS (the .tflite then needs the Flex delegate, which "
                "the Python LiteRT interpreter does not have)."
            ),
            log=log,
        )


class UnsupportedEstimatorError(WorkbenchError, TypeError):
    """A scikit-learn estimator the workbench cannot rebuild exactly.

    The message names the estimator first, then why and the way out.
    """

    def __init__(self, received: str, expected: str, fix: str):
        super().__init__(received, expected, fix)
        self.args = (f"Received: {received}. {expected} {fix}",)


class NotFittedError(WorkbenchError, ValueError):
    """A scikit-learn estimator that has not been fitted."""


class TargetError(WorkbenchError, ValueError):
    """A deployment target that does not exist, or a RAM/flash budget that cannot be read."""


class BudgetError(InvalidArgumentError):
    """A budget for :func:`workbench.search` that contradicts itself or the device."""


class CancelledError(WorkbenchError):
    """Work stopped because the user asked for it."""


def describe_array(array) -> str:
    """A short description of an array for error messages: shape and dtype."""
    shape = getattr(array, "shape", None)
    dtype = getattr(array, "dtype", None)
    if shape is None:
        return f"{type(array).__name__}"
    return f"array of shape {tuple(shape)} and dtype {dtype}"


def missing_package(package: str, found: str, purpose: str, install: str | None = None) -> ModelLoadError:
    """The error for a package the workbench needs and cannot import.

    Parameters
    ----------
    package : str
        What people call it (``"TensorFlow"``).
    found : str
        What importing it said.
    purpose : str
        What it is needed for (``"to convert models to TFLite"``).
    install : str, default=None
        The PyPI name, when it differs from ``package.lower()``.
    """
    return ModelLoadError(
        received=f"no importable {package} ({found})",
        expected=f"{package} installed, {purpose}.",
        fix=f"Install it with: pip install {install or package.lower()}",
    )


def refused_by(
    reader: str, what: str, err: Exception, *, expected: str, fix: str, error=None
) -> WorkbenchError:
    """The error for input a library would not read: what it was, which reader refused it and
    the first line of why, what was expected, and the fix (a :class:`ModelLoadError` unless
    ``error`` names another class)."""
    text = str(err).strip()
    why = text.splitlines()[0] if text else type(err).__name__
    return (error or ModelLoadError)(
        received=f"{what}, which {reader} refuses ({why})", expected=expected, fix=fix
    )
