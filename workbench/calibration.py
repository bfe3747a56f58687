"""Which statistic turns calibration samples into the activation ranges of a static variant.

LiteRT Quantizer's own default keeps a moving average (factor 0.95) of each sample's min and
max. On a tensor with one value per sample (a single regression output, a one-feature input,
a sigmoid) that average ends with min == max, and on wider tensors it stays inside the values
seen, so activations clip. The workbench therefore computes the ranges itself and hands them
to the quantizer:

- ``"minmax"`` (the default): the smallest and largest value over every calibration sample,
  what TensorFlow's converter does for its ``int8`` and ``int16x8``;
- ``"percentile"``: the ``percentile``-th and ``(100 - percentile)``-th percentiles of every
  value seen (outliers clipped on purpose; 99.99 by default);
- ``"ema"``: the library's moving average, by name, to see what its default does.

The converter's modes always calibrate with their own min/max; the statistic applies to
LiteRT Quantizer's static recipes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import InvalidArgumentError

#: The statistics a calibration can use, in the order they are offered.
STATISTICS = ("minmax", "percentile", "ema")
#: The percentile a ``"percentile"`` calibration uses unless told otherwise.
DEFAULT_PERCENTILE = 99.99
#: The moving-average factor of LiteRT Quantizer's default (``qsv_utils.moving_average_update``).
EMA_FACTOR = 0.95


@dataclass(frozen=True)
class Calibration:
    """How a static variant's activation ranges are computed from the calibration samples.

    Parameters
    ----------
    statistic : {"minmax", "percentile", "ema"}, default="minmax"
        See the module's description.
    percentile : float, default=99.99
        For ``"percentile"``: the upper percentile of the values kept, in (50, 100].
    """

    statistic: str = "minmax"
    percentile: float = DEFAULT_PERCENTILE

    def __post_init__(self):
        if self.statistic not in STATISTICS:
            raise InvalidArgumentError(
                received=f"calibration={self.statistic!r}",
                expected=f"One of {', '.join(map(repr, STATISTICS))} (or ('percentile', p) with 50 < p <= 100).",
                fix="Leave calibration out for min/max over all samples, as TensorFlow's converter does.",
            )
        p = self.percentile
        if (
            isinstance(p, bool)
            or not isinstance(p, (int, float, np.integer, np.floating))
            or not math.isfinite(p)
            or not 50 < p <= 100
        ):
            raise InvalidArgumentError(
                received=f"percentile {p!r}",
                expected="A percentile in (50, 100]: the share of values kept inside the range, e.g. 99.99.",
                fix="Pass calibration=('percentile', 99.99), or calibration='minmax' to clip nothing seen.",
            )
        object.__setattr__(self, "percentile", float(p))

    @classmethod
    def of(cls, value) -> Calibration:
        """``value`` (a name, ``(name, percentile)``, ``"percentile:99.9"`` or a Calibration) as a
        Calibration; ``None`` is the default, min/max."""
        if value is None:
            return cls()
        if isinstance(value, Calibration):
            return value
        if isinstance(value, str):
            # Also its own labels ("percentile 99.99", "ema 0.95 (...)"), as tables and variants keep them.
            text = value.split(" (", 1)[0].strip()
            if text.startswith("ema"):
                return cls("ema")
            name, _, p = text.replace(" ", ":", 1).partition(":")
            if p:
                try:
                    return cls(name.strip(), float(p))
                except ValueError:
                    pass  # not a number: refused below, naming what was given
                raise InvalidArgumentError(
                    received=f"calibration={value!r}",
                    expected="A percentile after the colon, e.g. 'percentile:99.9'.",
                    fix="Pass calibration='percentile:99.9' or calibration=('percentile', 99.9).",
                )
            return cls(name.strip())
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
            return cls(value[0], value[1])
        raise InvalidArgumentError(
            received=f"calibration={value!r} ({type(value).__name__})",
            expected=f"One of {', '.join(map(repr, STATISTICS))}, ('percentile', p) or a workbench.Calibration.",
            fix="Leave calibration out for min/max over all samples.",
        )

    @property
    def label(self) -> str:
        """How the table and the lens name it: ``minmax``, ``percentile 99.99``, ``ema 0.95``."""
        if self.statistic == "percentile":
            return f"percentile {self.percentile:g}"
        if self.statistic == "ema":
            return f"ema {EMA_FACTOR:g} (LiteRT Quantizer's default)"
        return "minmax"

    def __str__(self) -> str:
        return self.label


#: What the converter's calibrated modes use (TensorFlow's calibrator keeps running min/max).
CONVERTER_CALIBRATION = "minmax (the converter's own)"
