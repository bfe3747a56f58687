"""The calibration study: one layer's calibrated range, clipping and the variant's score, for
several calibration sets (sizes, ways of picking, range statistics), the variant made again
with each (see :func:`workbench.calibration_lens`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import _inputs as inputs
from ._layer_lens import build_lens
from ._lens_file import lined_up, open_file, samples_key
from ._lens_table import BITS, limits
from .errors import InvalidArgumentError, RepresentativeDataError


@dataclass
class CalibrationStudy:
    """What :func:`calibration_lens` returns: one layer's calibrated range for several
    calibration sets. ``table`` has ``statistic, strategy, samples, range_min, range_max, scale,
    zero_point, seen_min, seen_max, test_clip_fraction, <metric>``; ``plot()`` the figure."""

    variant: str
    layer: str
    table: pd.DataFrame
    test_activations: np.ndarray
    metric: str
    _figure: object = field(default=None, repr=False)

    def plot(self):
        if self._figure is None:
            from .plots import calibration_figure

            self._figure = calibration_figure(self)
        return self._figure

    def __repr__(self) -> str:
        return f"Calibration of {self.layer} in {self.variant}:\n" + self.table.to_string(index=False)

    def _repr_html_(self) -> str:
        import base64
        import io

        buffer = io.BytesIO()
        self.plot().savefig(buffer, format="png", dpi=80)
        image = base64.b64encode(buffer.getvalue()).decode()
        return f'<img src="data:image/png;base64,{image}"/>' + self.table.to_html(index=False)


def calibration_lens(
    comparison,
    variant: str,
    layer: str | None = None,
    *,
    sizes=(10, 50, 200, None),
    strategies=("random", "stratified"),
    seed: int = 0,
    statistics=None,
) -> CalibrationStudy:
    """One layer's calibrated range, clipping and the variant's score for several calibration sets.

    Each set is picked from the training split (``Dataset.representative``) and the variant
    is made again with it: LiteRT Quantizer for a static recipe (no TensorFlow), the
    converter for ``int8`` and ``int16x8``.

    Parameters
    ----------
    comparison, variant, layer
        As for :func:`workbench.lens`; the variant must calibrate (``int8``, ``int16x8``, ``static_*``).
    sizes : sequence of int or None, default=(10, 50, 200, None)
        Calibration set sizes; ``None`` takes the whole training split.
    strategies : sequence of {"random", "stratified", "first"}, default=("random", "stratified")
    seed : int, default=0
    statistics : sequence of str, default=None
        For a static recipe: the range statistics to compare (``"minmax"``, ``"percentile"``,
        ``"ema"``; see :func:`workbench.convert`); ``None`` takes the variant's own. The
        converter's modes always use their own min/max.
    """
    from .calibration import CONVERTER_CALIBRATION, Calibration
    from .convert import calibration_samples, convert_source
    from .datasets import STRATEGIES
    from .evaluate import score

    sizes = _check_sizes(sizes)
    for strategy in strategies:
        if strategy not in STRATEGIES:
            raise RepresentativeDataError(
                received=f"strategies containing {strategy!r}",
                expected=f"Strategies among {', '.join(STRATEGIES)}.",
                fix="Pass strategies=('random', 'stratified').",
            )
    pair = lined_up(comparison, variant)
    mode = pair.converted.mode
    if mode is None or not mode.calibrated or comparison.source is None:
        raise InvalidArgumentError(
            received=f"variant={variant!r}, which {'is not calibrated' if mode is None or not mode.calibrated else 'has no model to quantize again'}",
            expected="A calibrated variant (int8, int16x8, static_wi8_ai8, static_wi8_ai16) of a comparison with its model.",
            fix="Compare with one of these modes, then study its calibration.",
        )
    if mode.statistic_choice:
        chosen = [Calibration.of(s) for s in (statistics or [pair.converted.calibration])]
    elif statistics and any(Calibration.of(s) != Calibration() for s in statistics):
        raise InvalidArgumentError(
            received=f"statistics={list(statistics)!r} for the converter's {mode.label}",
            expected="Statistics for LiteRT Quantizer's static recipes only: the converter calibrates with its own min/max.",
            fix="Study a static recipe (static_wi8_ai8) to compare statistics, or leave statistics out.",
        )
    else:
        chosen = [None]
    found = build_lens(comparison, variant, layer, 4)
    position = pair.names.index(found.layer)
    float_op = pair.reference.ops[position]
    test = found.activations["test"]
    data = comparison.dataset
    total = inputs.count(data.X_train)
    rows = []
    for statistic, strategy, size in [(c, t, z) for c in chosen for t in strategies for z in sizes]:
        n = total if size is None else min(int(size), total)
        picked = data.representative(n, strategy=strategy, seed=seed)
        samples = calibration_samples(comparison.source, mode, picked)
        converted = convert_source(comparison.source, mode, samples, calibration=statistic)
        file = open_file(converted.content)
        scales, zero_points, _ = file.quantization(file.ops[position].output)
        kind = file.stored[file.ops[position].output]
        qmin, qmax = limits(kind) if kind in BITS else (0, 0)
        s, z = float(scales[0]), int(zero_points[0])
        low, high = s * (qmin - z), s * (qmax - z)
        seen = pair.reference.activations(float_op.output, samples, samples_key(samples))
        outputs = converted.run(inputs.cast(data.X_test))
        rows.append(
            {
                "statistic": statistic.label if statistic is not None else CONVERTER_CALIBRATION,
                "strategy": strategy,
                "samples": n,
                "range_min": low,
                "range_max": high,
                "scale": s,
                "zero_point": z,
                "seen_min": float(seen.min()),
                "seen_max": float(seen.max()),
                "test_clip_fraction": float(np.mean((test < low) | (test > high))),
                data.metric: score(data, outputs, converted.output_kind),
            }
        )
    return CalibrationStudy(variant, found.layer, pd.DataFrame(rows), test, data.metric)


def _check_sizes(sizes) -> list:
    checked = []
    for size in sizes:
        if size is not None and (
            isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1
        ):
            raise RepresentativeDataError(
                received=f"sizes containing {size!r}",
                expected="Numbers of calibration samples (whole numbers, 1 or more) or None for all.",
                fix="Pass sizes=(10, 50, 200, None).",
            )
        checked.append(size)
    return checked
