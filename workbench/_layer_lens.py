"""The :class:`Lens`: one layer of one variant, built from the variant's file, the float32
file and the comparison's data (the numbers come from :mod:`workbench._lens_table`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._layer_errors import layer_errors
from ._layers import nearest_first
from ._lens_file import lined_up
from ._lens_table import (
    BITS,
    activation_rows,
    channels,
    dequantized,
    error_rows,
    folded_note,
    limits,
    weight_rows,
)
from ._tree_inspection import integer_trees
from .errors import InvalidArgumentError


@dataclass
class Lens:
    """One layer of one variant: what :func:`lens` returns.

    Attributes
    ----------
    table : pandas.DataFrame
        The numbers behind the figure, one per row: ``quantity, value, meaning``
        (indexed by ``quantity``, e.g. ``lens.table.loc["weight scale", "value"]``).
    channels : pandas.DataFrame
        Per scale: one row per output channel (or per block, for blockwise scales; one row
        for a per-tensor scale): ``channel, scale,
        zero_point, w_min, w_max, rounding_rmse, max_rounding_error, snr_db``, worst first.
    levels : ndarray
        Every real value the shown channel's grid can hold, ``scale × (q − zero_point)``
        for each integer ``q`` of the stored type.
    weights, dequantized : ndarray
        The float32 weights and ``scale × (q − zero_point)`` of the stored integers.
    activations : dict of str to ndarray
        The layer's float outputs on ``"calibration"`` and ``"test"`` samples (those it has).
    """

    variant: str
    layer: str
    op: str
    table: pd.DataFrame
    channels: pd.DataFrame
    levels: np.ndarray
    weights: np.ndarray
    dequantized: np.ndarray
    stored: np.ndarray
    channel_axis: int | None
    #: Which scale each weight uses (an index into ``channels``' scales), in the weights' shape.
    groups: np.ndarray
    bits: int
    activations: dict
    activation_range: tuple[float, float] | None
    activation_quant: tuple[float, int, str] | None
    notes: list[str] = field(default_factory=list)
    small_multiples: int = 4
    #: ``(qmin, qmax + 1)``: the stored type's integers.
    q_range: tuple[int, int] = (-128, 128)
    _figure: object = field(default=None, repr=False)
    _png: bytes | None = field(default=None, repr=False)

    @property
    def numbers(self) -> dict:
        return dict(zip(self.table.index, self.table["value"], strict=True))

    def plot(self):
        """The figure (drawn once): weights with their grid, worst channels, rounding error,
        activations with the calibrated range, and the formula with this layer's numbers."""
        if self._figure is None:
            from .plots import lens_figure

            self._figure = lens_figure(self)
        return self._figure

    @property
    def figure(self):
        return self.plot()

    def png(self) -> bytes:
        """The figure as PNG bytes, rendered once (the widget and the static copy show it)."""
        if self._png is None:
            from .plots import figure_png

            self._png = figure_png(self.plot(), dpi=72)
        return self._png

    def __repr__(self) -> str:
        lines = [f"Lens on {self.layer} ({self.op}) of {self.variant}:"]
        lines += [f"  {q}: {_fmt(v)}" for q, v in self.numbers.items()]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import base64
        import html

        image = base64.b64encode(self.png()).decode()
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        table = self.table.assign(value=[_fmt(v) for v in self.table["value"]]).to_html()
        return f'<img src="data:image/png;base64,{image}"/>' + (f"<ul>{notes}</ul>" if notes else "") + table


def _fmt(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{value:.6g}"
    return str(value)


def _refuse_trees(comparison, variant: str) -> None:
    """A tree ensemble's variant has tables, not layers of weights: say what it holds instead."""
    converted = comparison.variants.get(variant) if isinstance(variant, str) else None
    trees = integer_trees(converted.content) if converted is not None else None
    if trees is None:
        return
    raise InvalidArgumentError(
        received=f"variant {variant!r}, a {trees.lines()[0]}",
        expected="A variant with layers of weights (conv, dense, a linear model's coef_): a lens "
        "draws one layer's quantization grid, and trees have thresholds and leaves, no layers.",
        fix=f"Read comparison.variants[{variant!r}].summary() (or `workbench inspect` on its file): "
        "it gives the trees' integer grid per feature and what their 8-bit leaves hold.",
    )


def build_lens(comparison, variant: str, layer: str | None, channels: int) -> Lens:
    """The lens, without keeping it on the comparison (the widget draws layers ahead)."""
    if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)) or not 1 <= channels <= 4:
        raise InvalidArgumentError(
            received=f"channels={channels!r}",
            expected="How many of the worst channels to draw: a whole number from 1 to 4.",
            fix="Leave channels out for 4; lens.channels lists every channel.",
        )
    _refuse_trees(comparison, variant)
    pair = lined_up(comparison, variant)
    names, errors = pair.names, layer_errors(comparison, variant)
    weighted = pair.weighted()
    if layer is None:
        ranked = [n for n in errors["layer"] if n in weighted]
        if not ranked:
            _no_quantized_weights(variant, "any layer", pair)
        layer = ranked[0]
    if not isinstance(layer, str) or layer not in names:
        raise InvalidArgumentError(
            received=f"layer={layer!r}",
            expected=f"A layer of {comparison.model_name} with weights, nearest first: "
            f"{', '.join(nearest_first(str(layer), weighted))}.",
            fix="Pass one of these names, or layer=None for the layer with the largest error.",
        )
    return _build(comparison, pair, variant, layer, names.index(layer), errors, channels)


def _no_quantized_weights(variant, layer, pair, kind=None):
    file = pair.file
    kinds = [kind] if kind else sorted({file.stored[op.weight] for op in file.ops if op.weight is not None})
    raise InvalidArgumentError(
        received=f"variant {variant!r}, which stores the weights of {layer} as {', '.join(kinds) or 'nothing'}",
        expected="A variant with integer weights for this layer (int8, int4, int2), so that there is a grid to draw.",
        fix=(
            "float16 and float32 have no quantization grid, and a mixed-precision variant keeps its "
            "worst layers in float: pick a quantized variant (int8, static_wi8_ai8, "
            "weight_only_wi4_afp32, ...) or another layer."
        ),
    )


def _build(comparison, pair, variant, layer, position, errors, n_channels) -> Lens:
    """The lens on the op at ``position``: its weights' grid, then its activations, then its error."""
    file, reference = pair.file, pair.reference
    op, float_op = file.ops[position], reference.ops[position]
    if op.weight is None or float_op.weight is None:
        raise InvalidArgumentError(
            received=f"layer={layer!r}, a {op.op} without weights",
            expected="A layer with weights (a convolution or a dense layer).",
            fix="Pick one of the layers the error lists when you pass a wrong name.",
        )
    kind = file.stored[op.weight]
    if kind not in BITS:
        _no_quantized_weights(variant, layer, pair, kind)
    weights = reference.constant(float_op.weight).astype(np.float64)
    grid = dequantized(file, op.weight, layer)
    per_channel = len(grid.scales) > 1
    qmin, qmax = limits(kind)
    channel_table = channels(weights, grid)
    worst = int(channel_table["channel"].iloc[0])
    rows = weight_rows(variant, layer, op.op, kind, weights, grid, channel_table)
    seen = activation_rows(comparison, pair, position, variant)
    rows += seen.rows + error_rows(errors, layer)
    return Lens(
        variant=variant,
        layer=layer,
        op=op.op,
        table=pd.DataFrame(rows, columns=["quantity", "value", "meaning"]).set_index("quantity"),
        channels=channel_table,
        levels=grid.scales[worst] * (np.arange(qmin, qmax + 1) - grid.zero_points[worst]),
        weights=weights,
        dequantized=grid.dequantized,
        stored=grid.stored,
        channel_axis=file.quantization(op.weight)[2] if per_channel else None,
        groups=grid.groups,
        bits=BITS[kind],
        activations=seen.values,
        activation_range=seen.range,
        activation_quant=seen.quant,
        notes=seen.notes + folded_note(comparison.source, layer, weights),
        small_multiples=n_channels,
        q_range=(qmin, qmax + 1),
    )
