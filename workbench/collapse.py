"""Why an 8-bit (or wider) variant lost far more than it should: causes computed from the files.

An 8-bit variant of a model that the converter's int8 keeps intact should not lose much. When
one does, a table that only shows the loss invites "int8 is bad for this model". The causes
the workbench can check are read here from the two files, never guessed:

- a *degenerate range*: an activation tensor whose stored range is (nearly) one point, so
  every value becomes the same level (LiteRT Quantizer's moving average does this to tensors
  with one value per sample);
- *clipping*: the share of a tensor's float values on the test samples that fall outside the
  variant's range for it;
- *resolution*: columns of a tensor (the model's input features, most often) that vary by less
  than one step of its grid, so they reach the model as constants. One scale for every
  feature of a raw input (an area in the thousands beside a ratio under 1) does this.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._flatbuffer import is_constant, read_model

#: A metric drop (accuracy or R² points) past which an 8-bit-or-wider variant is explained.
METRIC_DROP = 0.02
#: Agreement with the original under which such a variant is explained.
AGREEMENT = 0.9
#: Test samples the float32 file is run on, keeping every tensor, to measure clipping.
SAMPLES = 128
#: A range narrower than this fraction of the tensor's float spread counts as degenerate (the
#: quantizer widens a min == max range to take in zero and a smallest scale, so it is never a point).
DEGENERATE = 0.05
#: The share of a tensor's varying columns that must fall under one step to be named.
FLATTENED = 0.2
#: Clipped shares below this are not worth a sentence.
CLIPPED = 0.01


@dataclass(frozen=True)
class TensorRange:
    """One activation tensor of a quantized file: its stored range and what the float model does there."""

    name: str
    low: float
    high: float
    float_low: float
    float_high: float
    clipped: float
    #: Columns (last axis) that vary on the test samples, and those that vary by less than a step.
    columns: int = 0
    flattened: int = 0
    step: float = 0.0

    @property
    def degenerate(self) -> bool:
        spread = self.float_high - self.float_low
        return spread > 0 and (self.high - self.low) < DEGENERATE * spread


def needs_explaining(mode, row: dict, metric: str, higher_is_better: bool) -> bool:
    """Whether ``row`` (a variant's) lost enough, for a mode of 8 bits or more, to be explained."""
    if mode is None or mode.bits < 8 or row.get("error"):
        return False
    delta = row.get("metric_delta", np.nan)
    agreement = row.get("agreement", np.nan)
    if higher_is_better:
        lost = np.isfinite(delta) and -delta > METRIC_DROP
    else:  # an error metric: judged relative to the original's
        original = row.get(metric, np.nan) - delta
        lost = np.isfinite(delta) and original > 0 and delta / original > 0.5
    # Agreement means the same label only for classifiers; a regressor's quantized outputs are
    # rarely within rounding of the original's, so there the metric alone decides.
    collapsed = metric == "accuracy" and np.isfinite(agreement) and agreement < AGREEMENT
    return bool(lost or collapsed)


def tensor_ranges(float32_content: bytes, variant_content: bytes, X) -> list[TensorRange]:
    """Every integer activation tensor of the variant that the float32 file also has (by name),
    with the share of the float32 file's values on ``X`` outside the variant's range."""
    stored = _integer_activation_ranges(variant_content)
    if not stored:
        return []
    values = _float_activations(float32_content, X, set(stored))
    found = []
    for name, (low, high, step) in stored.items():
        if name not in values:
            continue
        v = values[name]
        # Beyond the grid by more than a step: a softmax's 1.0 against a top level of 0.996 is not clipping.
        outside = (v < low - step) | (v > high + step)
        spread = np.ptp(v, axis=0) if v.ndim == 2 and v.shape[1] > 1 else np.zeros(0)
        varying = spread > 0
        found.append(
            TensorRange(
                name,
                low,
                high,
                float(v.min()),
                float(v.max()),
                float(outside.mean()),
                int(varying.sum()),
                int((varying & (spread < step)).sum()),
                step,
            )
        )
    return found


def explain(float32_content: bytes, variant, X, *, calibration: str | None = None) -> str:
    """A sentence or two on why ``variant`` (a Converted) lost: degenerate ranges and clipping,
    worst first. Empty when neither is found (then nothing computed points at the ranges)."""
    try:
        ranges = tensor_ranges(float32_content, variant.content, X)
    except (
        ValueError,
        RuntimeError,
        KeyError,
        IndexError,
    ) as err:  # a file LiteRT cannot run tensor by tensor
        return f"could not read its tensors to explain the loss ({err})"
    parts = []
    coarse = sorted(
        (r for r in ranges if r.flattened >= FLATTENED * r.columns > 0),
        key=lambda r: -r.flattened / r.columns,
    )
    if coarse:
        r = coarse[0]
        parts.append(
            f"one step of {r.name!r} is {r.step:.4g} wide, more than {r.flattened} of its {r.columns} columns "
            "vary by on the test samples: they reach the model as constants (put the features on one "
            "scale before the model, or keep its input in float)"
        )
    degenerate = [r for r in ranges if r.degenerate]
    if degenerate:
        named = ", ".join(
            f"{r.name!r} ({r.low:.4g}..{r.high:.4g} against values {r.float_low:.4g}..{r.float_high:.4g}, "
            f"{r.clipped:.0%} clipped)"
            for r in degenerate[:3]
        )
        more = f" and {len(degenerate) - 3} more" if len(degenerate) > 3 else ""
        parts.append(
            f"degenerate range (min == max in calibration) on {named}{more}: nearly every value there "
            "becomes one level"
        )
    clipped = sorted(
        (r for r in ranges if r.clipped >= CLIPPED and not r.degenerate), key=lambda r: -r.clipped
    )
    if clipped:
        named = ", ".join(
            f"{r.clipped:.0%} of {r.name!r} (range {r.low:.4g}..{r.high:.4g}, values {r.float_low:.4g}..{r.float_high:.4g})"
            for r in clipped[:2]
        )
        parts.append(f"clips {named} on the test samples")
    if not parts:
        return ""
    text = "; ".join(parts)
    if calibration:
        text += f" (calibrated with {calibration})"
    return "Why it lost: " + text + "."


def _integer_activation_ranges(content: bytes) -> dict[str, tuple[float, float, float]]:
    """``{name: (low, high, step)}`` of the main subgraph's int8/int16 tensors that hold no
    constant data, from their scale and zero point."""
    from ai_edge_litert import schema_py_generated as schema

    model = read_model(content)
    subgraph = model.Subgraphs(0)
    limits = {schema.TensorType.INT8: (-128, 127), schema.TensorType.INT16: (-32768, 32767)}
    ranges = {}
    for i in range(subgraph.TensorsLength()):
        tensor = subgraph.Tensors(i)
        if tensor.Type() not in limits or is_constant(model, tensor):  # weights
            continue
        q = tensor.Quantization()
        if q is None or q.ScaleLength() != 1:
            continue
        scale, zero = float(q.Scale(0)), int(q.ZeroPoint(0)) if q.ZeroPointLength() else 0
        lo, hi = limits[tensor.Type()]
        name = tensor.Name().decode()
        ranges[name] = (scale * (lo - zero), scale * (hi - zero), scale)
    return ranges


def _float_activations(content: bytes, X, names: set[str]) -> dict[str, np.ndarray]:
    """The float32 file's values of the tensors ``names`` on up to ``SAMPLES`` samples of ``X``
    (one sample per call, every tensor kept)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=content, experimental_preserve_all_tensors=True)
    signatures = interpreter.get_signature_list()
    details = {d["name"]: d["index"] for d in interpreter.get_tensor_details() if d["name"] in names}
    chunks: dict[str, list[np.ndarray]] = {name: [] for name in details}
    if signatures:
        key = next(iter(signatures))
        runner = interpreter.get_signature_runner(key)
        names = signatures[key]["inputs"]
        if isinstance(X, dict):  # several inputs, by name
            count = min(SAMPLES, len(next(iter(X.values()))))
            feeds = [{n: np.asarray(X[n][i : i + 1], dtype=np.float32) for n in names} for i in range(count)]
        else:
            (name,) = names
            feeds = [{name: x[None].astype(np.float32)} for x in np.asarray(X)[:SAMPLES]]
        for feed in feeds:
            runner(**feed)
            for name, index in details.items():
                chunks[name].append(_rows(interpreter.get_tensor(index)))
    else:
        interpreter.allocate_tensors()
        (entry,) = interpreter.get_input_details()
        for x in np.asarray(X)[:SAMPLES]:
            interpreter.set_tensor(entry["index"], x[None].astype(np.float32))
            interpreter.invoke()
            for name, index in details.items():
                chunks[name].append(_rows(interpreter.get_tensor(index)))
    return {name: np.concatenate(c).astype(np.float64) for name, c in chunks.items() if c}


def _rows(value) -> np.ndarray:
    """A tensor's values as rows of its last axis (one row per position before it)."""
    value = np.asarray(value)
    return value.reshape(-1, value.shape[-1]) if value.ndim >= 1 and value.size else value.reshape(-1, 1)
