"""One layer of one variant, for teaching: its grid, range, clipping and formula.

Every number is read from the files and the data the comparison already has: the
variant's ``.tflite`` gives the stored integers ``q``, their ``scale`` and ``zero_point``
(per channel where the file has them per channel) and, for a variant with integer
activations, the calibrated range of the layer's output; the float32 ``.tflite`` gives
the float weights and, run on the calibration samples and on the test split, the float
activations. The layer's error comes from the same place as :func:`workbench.diagnose`
takes it: LiteRT Quantizer's validation for recipes, the TFLite quantization debugger
for the converter's ``int8``.

Only LiteRT runs here (and LiteRT Quantizer, in the worker, for a recipe's error): no
TensorFlow, in this process or any other, except for the converter's debugger.
"""

from __future__ import annotations

import difflib
import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import _inputs as inputs
from ._flatbuffer import buffer_nbytes
from .errors import InvalidArgumentError, RepresentativeDataError

#: Ops that only move a tensor between types: never a layer of their own.
_CASTS = {"QUANTIZE", "DEQUANTIZE"}
_BITS = {"int2": 2, "int4": 4, "int8": 8, "uint8": 8, "int16": 16}


# ------------------------------------------------------------------ reading files
@dataclass
class _Op:
    """One computing op of a file: its type, output tensor and weight tensor (indices)."""

    position: int  # among the computing ops of the main subgraph
    op: str
    output: int
    output_name: str
    weight: int | None


def _ops(content: bytes) -> tuple[list[_Op], dict[int, str]]:
    """The computing ops (casts apart) in order, and every tensor's stored type by index.

    A weight is the largest constant input of rank 2 or more, followed through a
    ``DEQUANTIZE`` where a weight-only recipe stores it quantized before the op."""
    from ai_edge_litert import schema_py_generated as schema

    from .runtime import builtin_op_names

    names = builtin_op_names()
    types = {v: k.lower() for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    model = schema.Model.GetRootAsModel(content, 0)
    graph = model.Subgraphs(0)
    stored = {t: types.get(graph.Tensors(t).Type(), "?") for t in range(graph.TensorsLength())}

    def constant(index):
        tensor = graph.Tensors(index)
        return buffer_nbytes(model, tensor.Buffer()) > 0

    raw, producer = [], {}
    for o in range(graph.OperatorsLength()):
        op = graph.Operators(o)
        code = model.OperatorCodes(op.OpcodeIndex())
        name = names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "?")
        ins = [int(i) for i in op.InputsAsNumpy()] if op.InputsLength() else []
        outs = [int(i) for i in op.OutputsAsNumpy()] if op.OutputsLength() else []
        raw.append((name, ins, outs))
        for out in outs:
            producer[out] = (name, ins)
    ops = []
    for name, ins, outs in raw:
        if name in _CASTS or not outs:
            continue
        candidates = []
        for index in ins[1:]:
            if index < 0:
                continue
            if not constant(index) and producer.get(index, ("",))[0] == "DEQUANTIZE":
                index = producer[index][1][0]  # the stored weight behind the cast
            tensor = graph.Tensors(index)
            shape = tensor.ShapeAsNumpy() if tensor.ShapeLength() else np.zeros(0)
            if constant(index) and len(shape) >= 2:
                candidates.append((int(np.prod(shape)), index))
        weight = max(candidates)[1] if candidates else None
        output_name = graph.Tensors(outs[0]).Name().decode(errors="replace")
        ops.append(_Op(len(ops), name, outs[0], output_name, weight))
    return ops, stored


class _File:
    """A ``.tflite`` opened once, without delegates and keeping every tensor, so that
    intermediate activations can be read after a call."""

    def __init__(self, content: bytes):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        from ._native import captured_output

        with captured_output():
            self.interpreter = Interpreter(
                model_content=content,
                experimental_preserve_all_tensors=True,
                experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
            )
            self.interpreter.allocate_tensors()
        self.details = {d["index"]: d for d in self.interpreter.get_tensor_details()}
        self.ops, self.stored = _ops(content)
        self.input = self.interpreter.get_input_details()
        self._batch = None
        self._activations: OrderedDict = OrderedDict()

    def quantization(self, index: int) -> tuple[np.ndarray, np.ndarray, int]:
        params = self.details[index]["quantization_parameters"]
        return (
            np.asarray(params["scales"], dtype=np.float64),
            np.asarray(params["zero_points"], dtype=np.int64),
            int(params["quantized_dimension"]),
        )

    def constant(self, index: int) -> np.ndarray:
        return np.array(self.interpreter.get_tensor(index))

    def activations(self, index: int, samples, key) -> np.ndarray:
        """The values of tensor ``index`` for every sample (kept for the last few sample sets)."""
        cached = self._activations.get((index, key))
        if cached is not None:
            return cached
        (detail,) = self.input
        dtype = detail["dtype"]
        fixed = None if detail["shape_signature"][0] == -1 else int(detail["shape"][0])
        # Every tensor is kept for each call: small batches bound the memory for a big model.
        step = fixed or 32
        parts = []
        count = inputs.count(samples)
        for start in range(0, count, step):
            chunk = np.asarray(samples[start : start + step])
            n = len(chunk)
            if fixed and n < fixed:
                chunk = np.concatenate([chunk, np.repeat(chunk[-1:], fixed - n, axis=0)])
            if self._batch != len(chunk):
                self.interpreter.resize_tensor_input(detail["index"], [len(chunk), *chunk.shape[1:]])
                self.interpreter.allocate_tensors()
                self._batch = len(chunk)
            self.interpreter.set_tensor(detail["index"], chunk.astype(dtype, copy=False))
            self.interpreter.invoke()
            parts.append(np.array(self.interpreter.get_tensor(index))[:n])
        values = np.concatenate(parts).astype(np.float64)
        self._activations[(index, key)] = values
        while len(self._activations) > 8:
            self._activations.popitem(last=False)
        return values


_FILES: OrderedDict[str, _File] = OrderedDict()


def _open(content: bytes) -> _File:
    key = hashlib.sha1(content).hexdigest()
    if key not in _FILES:
        _FILES[key] = _File(content)
        while len(_FILES) > 12:
            _FILES.popitem(last=False)
    _FILES.move_to_end(key)
    return _FILES[key]


def samples_key(samples) -> str:
    array = np.ascontiguousarray(samples)
    return f"{array.shape}:{hashlib.sha1(array.tobytes()).hexdigest()}"


# ------------------------------------------------------------------ layer names
def layer_names(source, ops: list[_Op]) -> list[str]:
    """The user's name for each computing op: a Keras layer's name, a scikit-learn MLP's
    ``coefs_[i]`` or a linear model's ``coef_``; otherwise the scope in the file's tensor
    names, or the op and its position."""
    from .diagnose import LayerMapper

    model = getattr(source, "model", None)
    layers = [(layer.name, layer.name) for layer in getattr(model, "layers", [])]
    # Without the Keras model (a .tflite from elsewhere), the file's own scopes name the layers.
    mapper = LayerMapper([(op.op, op.output_name) for op in ops], layers)
    names = [mapper(op.output_name) for op in ops]
    names = [
        f"{op.op.lower()}_{op.position}" if n == "(model)" else n for n, op in zip(names, ops, strict=True)
    ]
    estimator = _final_estimator(getattr(source, "estimator", None))
    weighted = [i for i, op in enumerate(ops) if op.weight is not None and op.op == "FULLY_CONNECTED"]
    if estimator is not None and hasattr(estimator, "coefs_") and len(weighted) == len(estimator.coefs_):
        for k, i in enumerate(weighted):
            names[i] = f"coefs_[{k}]"
    elif estimator is not None and hasattr(estimator, "coef_") and len(weighted) == 1:
        names[weighted[0]] = "coef_"
    # Two ops of one layer (a conv and its activation kept apart) stay told apart.
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return unique


def _final_estimator(estimator):
    while estimator is not None and hasattr(estimator, "steps"):
        estimator = estimator.steps[-1][1]
    return estimator


def _nearest_first(name: str, names: list[str]) -> list[str]:
    return sorted(names, key=lambda n: -difflib.SequenceMatcher(None, name, n).ratio())


# ------------------------------------------------------------------ the lens
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


def lens(comparison, variant: str, layer: str | None = None, *, channels: int = 4) -> Lens:
    """One layer of one variant of a comparison, drawn from the files and the data.

    Parameters
    ----------
    comparison : Comparison
        From :func:`workbench.compare`; it holds the variant's ``.tflite``, the model and the
        calibration samples.
    variant : str
        A variant label of the comparison (``"int8"``, ``"static_wi8_ai8"``, ...).
    layer : str, default=None
        The user's layer name (a Keras layer; ``coefs_[0]`` for a scikit-learn MLP,
        ``coef_`` for a linear model). ``None`` takes the layer with the largest
        quantization error (see :func:`layer_errors`).
    channels : int, default=4
        How many of the worst channels (1 to 4) are drawn as small multiples when the
        file's scales are per channel or per block.

    Returns
    -------
    Lens
        ``.plot()`` the figure, ``.table`` its numbers.
    """
    return remember(comparison, build_lens(comparison, variant, layer, channels))


def build_lens(comparison, variant: str, layer: str | None, channels: int) -> Lens:
    """The lens, without keeping it on the comparison (the widget draws layers ahead)."""
    if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)) or not 1 <= channels <= 4:
        raise InvalidArgumentError(
            received=f"channels={channels!r}",
            expected="How many of the worst channels to draw: a whole number from 1 to 4.",
            fix="Leave channels out for 4; lens.channels lists every channel.",
        )
    context = _context(comparison, variant)
    names, errors = context["names"], layer_errors(comparison, variant)
    weighted = [n for n, op in zip(names, context["file"].ops, strict=True) if op.weight is not None]
    if layer is None:
        ranked = [n for n in errors["layer"] if n in weighted]
        if not ranked:
            _no_quantized_weights(variant, "any layer", context)
        layer = ranked[0]
    if not isinstance(layer, str) or layer not in names:
        raise InvalidArgumentError(
            received=f"layer={layer!r}",
            expected=f"A layer of {comparison.model_name} with weights, nearest first: "
            f"{', '.join(_nearest_first(str(layer), weighted))}.",
            fix="Pass one of these names, or layer=None for the layer with the largest error.",
        )
    position = names.index(layer)
    return _build(comparison, context, variant, layer, position, errors, channels)


def remember(comparison, found: Lens) -> Lens:
    """Keep ``found`` on the comparison: its report shows every lens drawn on it."""
    comparison.lenses[(found.variant, found.layer)] = found
    return found


def _context(comparison, variant: str) -> dict:
    variants = getattr(comparison, "variants", None)
    if variants is None:
        raise InvalidArgumentError(
            received=f"{type(comparison).__name__}",
            expected="A Comparison from workbench.compare().",
            fix="Run result = workbench.compare(model, data, modes=[...]) and pass result.",
        )
    if variant not in variants:
        raise InvalidArgumentError(
            received=f"variant={variant!r}",
            expected=f"One of this comparison's variants: {', '.join(variants) or '(none converted)'}.",
            fix="Add the mode to compare(..., modes=[...]) or pass one of these labels.",
        )
    converted = variants[variant]
    hub = _float32(comparison)
    file, reference = _open(converted.content), _open(hub.content)
    types = [op.op for op in file.ops]
    if types != [op.op for op in reference.ops]:
        raise InvalidArgumentError(
            received=f"variant {variant!r}, whose ops ({', '.join(types)}) are not those of the float32 file",
            expected="A variant with the same ops as the float32 model (casts apart), so that its weights line up with the float ones.",
            fix=(
                "A recipe that adds ops (the Hadamard rotation of dynamic_wi4c_hr_afp32) stores rotated "
                "weights that no longer match the float32 ones: look at another variant."
            ),
        )
    return {
        "converted": converted,
        "file": file,
        "reference": reference,
        "names": layer_names(comparison.source, reference.ops),
    }


def _float32(comparison):
    if "float32" in comparison.variants:
        return comparison.variants["float32"]
    if comparison.source is None:
        raise InvalidArgumentError(
            received="a comparison without its model and without a float32 variant",
            expected="A comparison that has the float32 file the variants derive from.",
            fix="Compare again with 'float32' among the modes.",
        )
    from .convert import float32_hub

    return float32_hub(comparison.source)


def _no_quantized_weights(variant, layer, context, kind=None):
    file = context["file"]
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


def _build(comparison, context, variant, layer, position, errors, n_channels) -> Lens:
    file, reference = context["file"], context["reference"]
    op, float_op = file.ops[position], reference.ops[position]
    if op.weight is None or float_op.weight is None:
        raise InvalidArgumentError(
            received=f"layer={layer!r}, a {op.op} without weights",
            expected="A layer with weights (a convolution or a dense layer).",
            fix="Pick one of the layers the error lists when you pass a wrong name.",
        )
    kind = file.stored[op.weight]
    if kind not in _BITS:
        _no_quantized_weights(variant, layer, context, kind)
    bits = _BITS[kind]
    weights = reference.constant(float_op.weight).astype(np.float64)
    stored, dequantized, scales, zero_points, groups, granularity = _dequantized(file, op.weight, layer)
    per_channel = len(scales) > 1
    axis = file.quantization(op.weight)[2]
    qmin, qmax = _limits(kind)
    channel_table = _channels(weights, dequantized, scales, zero_points, groups)
    worst = int(channel_table["channel"].iloc[0])
    levels = scales[worst] * (np.arange(qmin, qmax + 1) - zero_points[worst])

    rounding = weights - dequantized
    rows = [
        ("variant", variant, "the comparison's label"),
        ("layer", layer, "the user's layer name"),
        ("op", op.op, "the TFLite op that computes it"),
        ("weight type", f"{kind} ({bits} bits)", "as stored in the .tflite"),
        ("levels", qmax - qmin + 1, f"integers q from {qmin} to {qmax}"),
        ("granularity", granularity, "how many weights share one scale"),
        (
            "weight scale",
            float(scales[worst]),
            "of the worst channel" if per_channel else "the tensor's",
        ),
        ("weight zero point", int(zero_points[worst]), "symmetric weights keep 0"),
        (
            "weight rounding RMSE",
            float(np.sqrt(np.mean(rounding**2))),
            "float weight − scale × (q − zero_point)",
        ),
        ("weight max rounding error", float(np.max(np.abs(rounding))), "at most half a step, unless clipped"),
        ("weight SNR (dB)", _snr(weights, dequantized), "10·log10(Σw² / Σ(w − ŵ)²)"),
    ]
    if per_channel:
        rows.append(
            (
                "weight SNR with one scale (dB)",
                _snr(weights, _per_tensor(weights, qmin, qmax)),
                "what a single per-tensor scale would give",
            )
        )
    # The worked weight: the one of the shown channel that rounding moves the most.
    moved = np.where(groups == worst, np.abs(rounding), -1.0)
    flat = int(moved.ravel().argmax())
    w, q = float(weights.ravel()[flat]), int(stored.ravel()[flat])
    c = worst
    s, z = float(scales[c]), int(zero_points[c])
    rows.append(
        (
            "worked weight",
            f"w = {w:.6g}; q = round(w / {s:.6g}) + {z} = {q}; real = {s:.6g} × ({q} − {z}) = {s * (q - z):.6g}",
            f"the weight of {'channel ' + str(c) if per_channel else 'the tensor'} that rounding moves "
            f"most; rounding error {w - s * (q - z):.3g}",
        )
    )

    activations, act_range, act_quant, notes = _activation_rows(
        comparison, file, reference, op, float_op, variant, rows
    )
    notes += _folded_note(comparison.source, layer, weights)
    rows += _error_rows(errors, layer)
    table = pd.DataFrame(rows, columns=["quantity", "value", "meaning"]).set_index("quantity")
    return Lens(
        variant=variant,
        layer=layer,
        op=op.op,
        table=table,
        channels=channel_table,
        levels=levels,
        weights=weights,
        dequantized=dequantized,
        stored=stored,
        channel_axis=axis if per_channel else None,
        groups=groups,
        bits=bits,
        activations=activations,
        activation_range=act_range,
        activation_quant=act_quant,
        notes=notes,
        small_multiples=n_channels,
        q_range=(qmin, qmax + 1),
    )


def _folded_note(source, layer: str, weights: np.ndarray) -> list[str]:
    """For a scikit-learn pipeline: whether the file's weights are the estimator's own, or have
    the steps before it (a scaler) folded in by the converter."""
    estimator = _final_estimator(getattr(source, "estimator", None))
    if estimator is None or not layer.startswith("coef"):
        return []
    own = estimator.coefs_[int(layer[7:-1])] if layer.startswith("coefs_[") else estimator.coef_
    own = np.asarray(own, dtype=np.float64)
    own = own.T if own.T.shape == weights.shape and own.shape != weights.shape else own
    if own.shape == weights.shape and np.allclose(own, weights, rtol=1e-4, atol=1e-6):
        return []
    return [
        f"These are {layer} as the .tflite stores them: the converter folded the steps before the "
        f"estimator (a scaler's division, for one) into them, so they differ from the estimator's own {layer}."
    ]


def _limits(kind: str) -> tuple[int, int]:
    bits = _BITS[kind]
    if kind.startswith("u"):
        return 0, 2**bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _snr(reference: np.ndarray, approximation: np.ndarray) -> float:
    noise = float(np.sum((reference - approximation) ** 2))
    signal = float(np.sum(reference**2))
    return float("inf") if noise == 0 else float(10 * np.log10(signal / noise)) if signal else float("nan")


def _per_tensor(weights, qmin, qmax):
    scale = np.max(np.abs(weights)) / qmax if np.any(weights) else 1.0
    return scale * np.clip(np.round(weights / scale), qmin, qmax)


def _dequantized(file, index: int, layer: str):
    """The stored integers of a weight tensor, ``scale × (q − zero_point)`` for each, the
    scales and zero points, which scale each weight uses, and how they are laid out."""
    stored = file.constant(index).astype(np.int64)
    scales, zero_points, axis = file.quantization(index)
    if len(zero_points) == 0:
        zero_points = np.zeros(len(scales), dtype=np.int64)
    shape = stored.shape
    if len(scales) == 1:
        groups, granularity = np.zeros(shape, dtype=np.int64), "per tensor"
    elif len(scales) == shape[axis]:
        groups = np.indices(shape)[axis]
        granularity = f"per channel ({len(scales)} scales, axis {axis})"
    elif stored.ndim == 2 and len(scales) % shape[0] == 0 and shape[1] % (len(scales) // shape[0]) == 0:
        per_row = len(scales) // shape[0]
        block = shape[1] // per_row
        rows, columns = np.indices(shape)
        groups = rows * per_row + columns // block
        granularity = f"blockwise ({len(scales)} scales, one per block of {block} weights)"
    else:
        raise InvalidArgumentError(
            received=f"layer {layer!r}, whose weights of shape {shape} have {len(scales)} scales",
            expected="Weights with one scale, one per output channel, or one per block of each channel.",
            fix="Look at another variant of this layer; this layout of scales is not one the lens reads.",
        )
    dequantized = scales[groups] * (stored - zero_points[groups])
    return stored, dequantized, scales, zero_points, groups, granularity


def _channels(weights, dequantized, scales, zero_points, groups) -> pd.DataFrame:
    """Per scale (a channel, or a block): its weights' range, rounding error and SNR, worst first."""
    order = np.argsort(groups.ravel(), kind="stable")
    w = weights.ravel()[order].reshape(len(scales), -1)
    d = dequantized.ravel()[order].reshape(len(scales), -1)
    error = w - d
    table = pd.DataFrame(
        {
            "channel": np.arange(len(w)),
            "scale": scales,
            "zero_point": zero_points,
            "w_min": w.min(axis=1),
            "w_max": w.max(axis=1),
            "rounding_rmse": np.sqrt(np.mean(error**2, axis=1)),
            "max_rounding_error": np.abs(error).max(axis=1),
            "snr_db": [_snr(a, b) for a, b in zip(w, d, strict=True)],
        }
    )
    return table.sort_values("snr_db", kind="stable").reset_index(drop=True)


def _activation_rows(comparison, file, reference, op, float_op, variant, rows):
    """The layer's float outputs on calibration and test samples, its calibrated range and clipping."""
    notes = []
    activations = {}
    data = comparison.dataset
    test = inputs.cast(data.X_test)
    if inputs.is_multi(test):
        notes.append("Activations are drawn for one-input models only; this model has several inputs.")
        return activations, None, None, notes
    if comparison.source is not None and data.feature_shape != comparison.source.input_shape:
        test = test.reshape((len(test), *comparison.source.input_shape))
    activations["test"] = reference.activations(float_op.output, test, samples_key(test))
    calibration = comparison.calibration
    if calibration is not None and not inputs.is_multi(calibration):
        calibration = np.asarray(calibration, dtype=np.float32)
        activations["calibration"] = reference.activations(
            float_op.output, calibration, samples_key(calibration)
        )
    kind = file.stored[op.output]
    if kind not in _BITS:
        notes.append(
            f"{variant} keeps this layer's activations in {kind}: they have no calibrated range, so "
            "nothing is clipped; only the weights are quantized."
        )
        rows.append(("activation type", kind, "the layer's output as the variant computes it"))
        return activations, None, None, notes
    if "calibration" not in activations:
        notes.append(
            "This comparison kept no calibration samples, so the calibration histogram is missing; "
            "the calibrated range is read from the file."
        )
    scales, zero_points, _ = file.quantization(op.output)
    s, z = float(scales[0]), int(zero_points[0])
    qmin, qmax = _limits(kind)
    low, high = s * (qmin - z), s * (qmax - z)
    values = activations["test"]
    clipped = float(np.mean((values < low) | (values > high)))
    a = float(np.quantile(values, 0.99))
    q = int(np.clip(np.round(a / s) + z, qmin, qmax))
    statistic = comparison.variants[variant].calibration if variant in comparison.variants else None
    rows += [
        ("activation type", f"{kind} ({_BITS[kind]} bits)", "the layer's output as the variant computes it"),
        ("range statistic", statistic or "unknown", "how the calibration samples became this range"),
        ("activation scale", s, f"from calibration ({statistic or 'statistic unknown'})"),
        ("activation zero point", z, "where real 0 sits on the integer grid"),
        ("calibrated range min", low, f"scale × ({qmin} − zero_point)"),
        ("calibrated range max", high, f"scale × ({qmax} − zero_point)"),
    ]
    if "calibration" in activations:
        seen = activations["calibration"]
        rows += [
            ("calibration min", float(seen.min()), f"over {len(seen)} calibration samples"),
            ("calibration max", float(seen.max()), "the range calibration saw"),
        ]
    rows += [
        ("test min", float(values.min()), f"over {len(values)} test samples"),
        ("test max", float(values.max()), "what the deployed model meets"),
        ("test clip fraction", clipped, "share of test activations outside the calibrated range"),
        (
            "worked activation",
            f"a = {a:.6g}; q = round(a / {s:.6g}) + {z} = {q}; real = {s:.6g} × ({q} − {z}) = {s * (q - z):.6g}",
            "the 99th percentile of the test activations",
        ),
    ]
    return activations, (low, high), (s, z, kind), notes


def _error_rows(errors: pd.DataFrame, layer: str) -> list:
    mine = errors[errors["layer"] == layer]
    if not len(mine):
        return [("layer error", "not measured", "the diagnosis has no row for this layer")]
    row = mine.iloc[0]
    return [(f"layer error: {row['metric']}", float(row["error"]), row["source"])]


# ------------------------------------------------------------------ layer errors
def layer_errors(comparison, variant: str) -> pd.DataFrame:
    """The per-layer quantization error of a variant, worst first, in the user's layer names.

    For LiteRT Quantizer recipes: the SNR each layer loses in the library's own validation
    (``snr_drop_db``, what :func:`workbench.diagnose` reports), on up to 100 test samples.
    For the converter's ``int8``: the TFLite quantization debugger's RMSE in quantization
    steps (needs TensorFlow in the worker). Otherwise: the weights' SNR from the files,
    lowest first.

    Returns
    -------
    pandas.DataFrame
        ``layer, error, metric, source``, one row per layer with weights, worst first.
    """
    cache = comparison.layer_errors
    if variant in cache:
        return cache[variant]
    context = _context(comparison, variant)
    converted, file, reference, names = (context[k] for k in ("converted", "file", "reference", "names"))
    mode = converted.mode
    frame = None
    weighted = [n for n, op in zip(names, reference.ops, strict=True) if op.weight is not None]
    if mode is not None and converted.label_override is None:
        frame = _diagnosis_errors(comparison, mode, names, weighted, reference)
    if frame is None:
        rows = []
        for name, op, float_op in zip(names, file.ops, reference.ops, strict=True):
            if op.weight is None or file.stored[op.weight] not in _BITS:
                continue
            w = reference.constant(float_op.weight).astype(np.float64)
            dequantized = _dequantized(file, op.weight, name)[1]
            rows.append((name, _snr(w, dequantized), "weight SNR (dB)", "from the .tflite files"))
        frame = pd.DataFrame(rows, columns=["layer", "error", "metric", "source"]).sort_values("error")
    frame = frame.reset_index(drop=True)
    cache[variant] = frame
    return frame


def _diagnosis_errors(comparison, mode, names, weighted, reference) -> pd.DataFrame | None:
    mapped = dict(zip((op.output_name for op in reference.ops), names, strict=True))

    def layer_of(tensor: str) -> str:
        return mapped.get(tensor, tensor)

    test = inputs.cast(comparison.dataset.X_test)
    source = comparison.source
    if source is not None and not isinstance(source.input_shape, dict):
        test = np.asarray(test).reshape((len(test), *source.input_shape))[:100]
    if mode.backend == "quantizer":
        from .quantize import tensor_errors

        samples = comparison.calibration if mode.calibrated else None
        if mode.calibrated and samples is None:
            return None
        errors = tensor_errors(_float32(comparison), mode, samples, test, layer_of)
        errors = errors[(errors["op"] != "weights") & errors["layer"].isin(weighted)]
        grouped = errors.groupby("layer", sort=False)["snr_drop_db"].max().sort_values(ascending=False)
        return pd.DataFrame(
            {
                "layer": grouped.index,
                "error": grouped.to_numpy(),
                "metric": "snr_drop_db",
                "source": "LiteRT Quantizer validation: SNR the layer loses (dB)",
            }
        )
    if mode.name == "int8" and source is not None and comparison.calibration is not None:
        from .diagnose import layer_errors as debugger_errors

        samples = comparison.calibration
        errors = debugger_errors(source, mode, samples, samples[:100], layer_of)
        errors = errors[errors["layer"].isin(weighted)]
        grouped = errors.groupby("layer", sort=False)["rmse_per_step"].max().sort_values(ascending=False)
        return pd.DataFrame(
            {
                "layer": grouped.index,
                "error": grouped.to_numpy(),
                "metric": "rmse_per_step",
                "source": "TFLite quantization debugger: RMSE of the layer's output in quantization steps",
            }
        )
    return None


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
        As for :func:`lens`; the variant must calibrate (``int8``, ``int16x8``, ``static_*``).
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
    context = _context(comparison, variant)
    mode = context["converted"].mode
    if mode is None or not mode.calibrated or comparison.source is None:
        raise InvalidArgumentError(
            received=f"variant={variant!r}, which {'is not calibrated' if mode is None or not mode.calibrated else 'has no model to quantize again'}",
            expected="A calibrated variant (int8, int16x8, static_wi8_ai8, static_wi8_ai16) of a comparison with its model.",
            fix="Compare with one of these modes, then study its calibration.",
        )
    if mode.backend == "quantizer":
        chosen = [Calibration.of(s) for s in (statistics or [context["converted"].calibration])]
    elif statistics and any(Calibration.of(s) != Calibration() for s in statistics):
        raise InvalidArgumentError(
            received=f"statistics={list(statistics)!r} for the converter's {mode.label}",
            expected="Statistics for LiteRT Quantizer's static recipes only: the converter calibrates with its own min/max.",
            fix="Study a static recipe (static_wi8_ai8) to compare statistics, or leave statistics out.",
        )
    else:
        chosen = [None]
    found = build_lens(comparison, variant, layer, 4)
    position = context["names"].index(found.layer)
    float_op = context["reference"].ops[position]
    test = found.activations["test"]
    data = comparison.dataset
    total = inputs.count(data.X_train)
    rows = []
    for statistic, strategy, size in [(c, t, z) for c in chosen for t in strategies for z in sizes]:
        n = total if size is None else min(int(size), total)
        picked = data.representative(n, strategy=strategy, seed=seed)
        samples = calibration_samples(comparison.source, mode, picked)
        converted = convert_source(comparison.source, mode, samples, calibration=statistic)
        file = _open(converted.content)
        scales, zero_points, _ = file.quantization(file.ops[position].output)
        kind = file.stored[file.ops[position].output]
        qmin, qmax = _limits(kind) if kind in _BITS else (0, 0)
        s, z = float(scales[0]), int(zero_points[0])
        low, high = s * (qmin - z), s * (qmax - z)
        seen = context["reference"].activations(float_op.output, samples, samples_key(samples))
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
