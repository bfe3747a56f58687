"""Arguments checked at the door, declared once next to the function that takes them.

Modelled on scikit-learn's ``validate_params``: a public function says what each argument
may be, and one mechanism checks the call before any work starts, raising the same kind of
error everywhere (what was received, what was expected, the fix)::

    @checked(
        test_size=Interval(0, 1, expected="A fraction between 0 and 1.", fix="Use test_size=0.25."),
        seed=WholeNumber(minimum=0, fix="Use seed=0."),
        error=DatasetError,
    )
    def split(X, y, test_size=0.25, seed=0): ...

``checked`` binds each call to the function's signature and checks the named arguments in
the order declared (a method's ``self`` or ``cls`` is simply not named). ``error`` is the
:class:`~workbench.errors.WorkbenchError` subclass raised, ``InvalidArgumentError`` unless
told otherwise. The same constraints check one value anywhere with
``Constraint.check(name, value, error)``, e.g. inside a loop over a list of sizes.

Constraints
-----------
``WholeNumber(minimum=1)``
    An int (numpy ints too, bools never) of at least ``minimum``.
``Interval(low, high)``
    A real number strictly between ``low`` and ``high`` (bools never); ``None`` for an open end.
``Seconds()``
    A finite number of seconds greater than 0.
``Options(choices)``
    One of the strings ``choices``.
``Satisfies(test, expected)``
    Anything ``test(value)`` accepts (callbacks, events, ...).

Each takes ``expected=`` (the message's "expected" sentence; a default describes the
constraint), ``fix=`` (what to do instead) and ``allow_none=True`` for an argument that may
be left as ``None``. The helpers below (:func:`whole_number`, :func:`positive_seconds`,
:func:`one_of`, :func:`progress_callback`, :func:`cancel_event`) are the same constraints
called directly, for code that checks one value and uses what comes back.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable

import numpy as np

from .errors import InvalidArgumentError

_INTEGERS = (int, np.integer)
_NUMBERS = (int, float, np.integer, np.floating)


class Constraint:
    """One thing an argument may be: a test, the words for it and the fix.

    Parameters
    ----------
    expected : str, default=None
        The message's "expected" sentence; ``None`` takes the constraint's own description.
    fix : str, default=""
        What the user should pass instead.
    allow_none : bool, default=False
        Accept ``None`` too (an argument whose default is "not set").
    """

    def __init__(self, *, expected: str | None = None, fix: str = "", allow_none: bool = False):
        self.expected = expected or self.describe()
        self.fix = fix
        self.allow_none = allow_none

    def accepts(self, value) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def check(self, name: str, value, error: type = InvalidArgumentError):
        """``value`` if the constraint accepts it; else ``error`` naming ``name``."""
        if (value is None and self.allow_none) or self.accepts(value):
            return value
        raise error(received=f"{name}={value!r}", expected=self.expected, fix=self.fix)


class WholeNumber(Constraint):
    """An int of at least ``minimum`` (numpy ints too; bools are not numbers here)."""

    def __init__(self, minimum: int = 1, **kwargs):
        self.minimum = minimum
        super().__init__(**kwargs)

    def accepts(self, value) -> bool:
        return not isinstance(value, bool) and isinstance(value, _INTEGERS) and value >= self.minimum

    def describe(self) -> str:
        return f"A whole number, {self.minimum} or more."


class Interval(Constraint):
    """A real number strictly between ``low`` and ``high`` (``None``: no bound on that side)."""

    def __init__(self, low: float | None, high: float | None, **kwargs):
        self.low, self.high = low, high
        super().__init__(**kwargs)

    def accepts(self, value) -> bool:
        if isinstance(value, bool) or not isinstance(value, _NUMBERS):
            return False
        return (self.low is None or value > self.low) and (self.high is None or value < self.high)

    def describe(self) -> str:
        return f"A number between {self.low} and {self.high}."


class Seconds(Constraint):
    """A finite number of seconds, more than 0."""

    def accepts(self, value) -> bool:
        return (
            not isinstance(value, bool) and isinstance(value, _NUMBERS) and math.isfinite(value) and value > 0
        )

    def describe(self) -> str:
        return "A finite number of seconds, more than 0."


class Options(Constraint):
    """One of the strings ``choices``."""

    def __init__(self, choices, **kwargs):
        self.choices = tuple(choices)
        super().__init__(**kwargs)

    def accepts(self, value) -> bool:
        return isinstance(value, str) and value in self.choices

    def describe(self) -> str:
        return f"One of {', '.join(map(repr, self.choices))}."


class Satisfies(Constraint):
    """Whatever ``test`` accepts; ``expected`` says what that is."""

    def __init__(self, test: Callable[[object], bool], *, expected: str, **kwargs):
        self.test = test
        super().__init__(expected=expected, **kwargs)

    def accepts(self, value) -> bool:
        return bool(self.test(value))


#: ``progress=``: a bar (True), quiet (False) or a function of (done, total, message).
PROGRESS = Satisfies(
    lambda value: isinstance(value, bool) or callable(value),
    expected="True (lines on stderr), False (quiet) or a function (done, total, message).",
    fix="Pass progress=False to keep quiet.",
)
#: ``cancel=``: an object with ``is_set()``, such as ``threading.Event()``, or None.
CANCEL = Satisfies(
    lambda value: callable(getattr(value, "is_set", None)),
    expected="An object with is_set(), such as threading.Event(), or None.",
    fix="Pass cancel=threading.Event() and call .set() on it to stop.",
    allow_none=True,
)


def checked(error: type = InvalidArgumentError, **constraints: Constraint):
    """Check the named arguments of every call against ``constraints`` before the body runs.

    Parameters
    ----------
    error : type, default=InvalidArgumentError
        The :class:`~workbench.errors.WorkbenchError` subclass raised for a refused value.
    **constraints : Constraint
        One per argument name, checked in this order; defaults are checked too.
    """

    def decorate(function):
        signature = inspect.signature(function)
        unknown = set(constraints) - set(signature.parameters)
        if unknown:
            raise TypeError(f"{function.__qualname__} has no arguments {sorted(unknown)}")

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            for name, constraint in constraints.items():
                constraint.check(name, bound.arguments[name], error)
            return function(*args, **kwargs)

        return wrapper

    return decorate


def whole_number(name: str, value, *, minimum: int = 1, fix: str) -> int:
    """``value`` as an int of at least ``minimum`` (bools are not numbers here)."""
    return int(WholeNumber(minimum, fix=fix).check(name, value))


def positive_seconds(name: str, value, *, fix: str) -> float:
    """``value`` as a finite number of seconds greater than 0."""
    return float(Seconds(fix=fix).check(name, value))


def one_of(name: str, value, choices, *, fix: str):
    """``value`` if it is one of ``choices``."""
    return Options(choices, fix=fix).check(name, value)


def progress_callback(progress):
    return PROGRESS.check("progress", progress)


def cancel_event(cancel):
    return CANCEL.check("cancel", cancel)
