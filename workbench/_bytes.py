"""Sizes in bytes: read from what people write (``"256KB"``, ``2_000_000``) and written back."""

from __future__ import annotations

import re

import numpy as np

from .errors import TargetError

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB


_UNITS = {"": 1, "b": 1}


_UNITS.update(
    {
        prefix + suffix: size
        for prefix, size in (("k", KIB), ("m", MIB), ("g", GIB))
        for suffix in ("", "b", "ib")
    }
)


def byte_budget(field: str, value) -> int | None:
    """Bytes from an int or a string with a unit; clear errors for the mistakes people make."""
    if value is None:
        return None
    text = value
    if isinstance(value, str):
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*", value)
        unit = match.group(2).lower() if match else None
        if match is None or unit not in _UNITS:
            raise TargetError(
                received=f"{field}={value!r}",
                expected="A number of bytes, or a number with a unit among B, KB, MB, GB (1 KB = 1024 B).",
                fix=f"Write e.g. {field.split('_')[0]}='256KB'.",
            )
        value = float(match.group(1)) * _UNITS[unit]
        if value != int(value):
            value = int(round(value))
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TargetError(
            received=f"{field}={text!r} of type {type(text).__name__}",
            expected="A number of bytes or a string such as '256KB'.",
            fix=f"Write e.g. {field}=262144 or {field.split('_')[0]}='256KB'.",
        )
    if value < 0 or value != int(value):
        raise TargetError(
            received=f"{field}={text!r}",
            expected="A positive whole number of bytes.",
            fix="Budgets are sizes: give bytes, or a string such as '256KB'.",
        )
    if value < KIB:
        raise TargetError(
            received=f"{field}={text!r}, i.e. {int(value)} bytes",
            expected="A budget of at least 1 KB; no .tflite model fits in less.",
            fix=f"If you meant kilobytes, write '{text}KB' (or {int(value) * KIB} bytes).",
        )
    return int(value)


def format_bytes(n) -> str:
    """1536 -> '1.5 KB' (binary units, as datasheets mean them)."""
    for unit, size in (("GB", GIB), ("MB", MIB), ("KB", KIB)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} B"
