"""Arguments checked at the door: every public function calls these before any work starts."""

from __future__ import annotations

import math

import numpy as np

from .errors import InvalidArgumentError


def whole_number(name: str, value, *, minimum: int = 1, fix: str) -> int:
    """``value`` as an int of at least ``minimum`` (bools are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InvalidArgumentError(
            received=f"{name}={value!r}",
            expected=f"A whole number, {minimum} or more.",
            fix=fix,
        )
    return int(value)


def positive_seconds(name: str, value, *, fix: str) -> float:
    """``value`` as a finite number of seconds greater than 0."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise InvalidArgumentError(
            received=f"{name}={value!r}",
            expected="A finite number of seconds, more than 0.",
            fix=fix,
        )
    return float(value)


def one_of(name: str, value, choices, *, fix: str):
    """``value`` if it is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise InvalidArgumentError(
            received=f"{name}={value!r}",
            expected=f"One of {', '.join(map(repr, choices))}.",
            fix=fix,
        )
    return value


def progress_callback(progress):
    if not (isinstance(progress, bool) or callable(progress)):
        raise InvalidArgumentError(
            received=f"progress={progress!r}",
            expected="True (lines on stderr), False (quiet) or a function (done, total, message).",
            fix="Pass progress=False to keep quiet.",
        )
    return progress


def cancel_event(cancel):
    if cancel is not None and not callable(getattr(cancel, "is_set", None)):
        raise InvalidArgumentError(
            received=f"cancel={cancel!r}",
            expected="An object with is_set(), such as threading.Event(), or None.",
            fix="Pass cancel=threading.Event() and call .set() on it to stop.",
        )
    return cancel
