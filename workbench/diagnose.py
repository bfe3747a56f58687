"""Why a conversion fails or loses accuracy: op coverage, per-layer quantization error,
size breakdown and the input/output contract, in the user's own terms."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._args import whole_number
from ._flatbuffer import buffer_nbytes, read_model
from ._keep_layers import keep_float
from ._layer_errors import METRIC, measure
from ._layer_errors import debugger_errors as layer_errors
from ._layers import LayerMapper, layer_mapper, scope
from ._lens_file import tensor_type_names
from ._worker import DEFAULT_TIMEOUT, check_timeout
from ._worker import run as run_in_worker
from .convert import calibration_samples, convert_source, float32_hub
from .errors import ConversionError, UnsupportedOpsError
from .modes import Mode
from .runtime import Converted
from .sources import Source, as_source

__all__ = [
    "Diagnosis",
    "LayerMapper",
    "diagnose",
    "io_contract",
    "keep_float",
    "layer_errors",
    "layer_mapper",
    "size_by_layer",
    "tensor_sizes",
]

# Graph plumbing that every model has and that says nothing about coverage.
_PLUMBING = {
    "Placeholder", "Const", "Identity", "IdentityN", "NoOp", "ReadVariableOp", "VarHandleOp",
    "StatefulPartitionedCall", "PartitionedCall", "AssignVariableOp", "StopGradient",
}  # fmt: skip


@dataclass
class Diagnosis:
    """What :func:`diagnose` found. ``str(diagnosis)`` reads as a short summary.

    Attributes
    ----------
    ops : pandas.DataFrame
        Every TensorFlow op the model runs: ``op, count, layers, builtin, advice``.
    layers : pandas.DataFrame or None
        The per-layer quantization error, worst first. For the converter's int8 (the TFLite
        quantization debugger): ``layer, op, rmse_per_step, max_abs_error, mean_error, scale,
        tensor``, where ``rmse_per_step`` is the RMSE of the layer's quantized output against
        float in units of its quantization step. For LiteRT Quantizer recipes (the library's
        validation): ``layer, op, snr_drop_db, snr_db, mse, cosine_similarity, tensor``, where
        ``snr_drop_db`` is the SNR the layer itself loses; the weights' own error follows
        with ``op == "weights"``. ``layer_metric`` names the column ranked on.
    size : pandas.DataFrame
        Bytes per layer of the converted model, by tensor type, with the float32 bytes beside.
    io : pandas.DataFrame
        Input and output tensors side by side with the original model's, with warnings.
    """

    model_name: str
    mode: Mode
    ops: pd.DataFrame
    layers: pd.DataFrame | None
    size: pd.DataFrame
    io: pd.DataFrame
    converted: Converted | None = None
    error: ConversionError | None = None
    select_tf_ops_size: int | None = None
    notes: list[str] = field(default_factory=list)
    layer_metric: str = "rmse_per_step"

    @property
    def unsupported(self) -> list[str]:
        return list(self.ops.loc[~self.ops["builtin"], "op"]) if len(self.ops) else []

    def worst_layers(self, k: int = 3) -> list[str]:
        if self.layers is None:
            return []
        return list(self.layers.loc[self.layers["op"] != "weights", "layer"].head(k))

    def __str__(self) -> str:
        lines = [f"Diagnosis of {self.model_name} in mode {self.mode.label}:"]
        if self.error is not None:
            if self.unsupported:
                bad = self.ops[~self.ops["builtin"]]
                for _, row in bad.iterrows():
                    lines.append(
                        f"- tf.{row['op']} (from {row['layers']}) is not a TFLite builtin. {row['advice']}"
                    )
                if not self.select_tf_ops_size:
                    lines.append(
                        "- SELECT_TF_OPS cannot supply them either (they would need a custom op): "
                        "rewriting the layer is the way out."
                    )
                else:
                    lines.append(
                        f"- With SELECT_TF_OPS it converts to {self.select_tf_ops_size:,} bytes, but that .tflite "
                        "needs the Flex delegate: the Python LiteRT interpreter cannot run it, so the "
                        "workbench can report its size, not its accuracy or latency."
                    )
            else:
                lines.append(f"- Conversion failed: {self.error}")
        else:
            ops = ", ".join(f"{op}×{n}" for op, n in self.converted.ops.items())
            lines.append(
                f"- Converts with TFLite builtins only ({ops}); {self.converted.size_bytes:,} bytes."
            )
            custom = sorted(
                {layer for layers in self.ops["layers"] for layer in layers.split(", ") if "custom" in layer}
            )
            if custom:
                lines.append(
                    f"- Custom layers made of supported ops convert as they are: {', '.join(custom)}."
                )
        if self.layers is not None and len(self.layers):
            worst = self.layers.iloc[0]
            if self.layer_metric == "rmse_per_step":
                lines.append(
                    f"- Quantization error is largest in {worst['layer']} ({worst['op']}): RMSE "
                    f"{worst['rmse_per_step']:.2f} of a quantization step, max |error| "
                    f"{worst['max_abs_error']:.3g}. Keep it in float with keep_float(..., layers=1) "
                    "or compare(..., keep_float=1)."
                )
            else:
                lines.append(
                    f"- LiteRT Quantizer's validation: {worst['layer']} ({worst['op']}) loses the most, "
                    f"{worst['snr_drop_db']:.1f} dB of SNR (its output is at {worst['snr_db']:.1f} dB). "
                    "Keep it at higher precision with keep_float(..., layers=1) or compare(..., keep_float=1)."
                )
        warnings = [w for w in self.io["warning"] if w] if len(self.io) else []
        lines += [f"- I/O: {w}" for w in warnings]
        lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html

        parts = [f"<pre>{html.escape(str(self))}</pre>", "<b>Ops</b>", self.ops.to_html(index=False)]
        if self.layers is not None:
            parts += [
                "<b>Per-layer quantization error (worst first)</b>",
                self.layers.drop(columns=["tensor"]).to_html(index=False),
            ]
        parts += [
            "<b>Size by layer</b>",
            self.size.to_html(index=False),
            "<b>Inputs and outputs</b>",
            self.io.to_html(index=False),
        ]
        return "\n".join(parts)

    def plot(self):
        """Per-layer quantization error (when measured) and bytes per layer."""
        from .plots import new_figure

        panels = 2 if self.layers is not None and len(self.layers) else 1
        figure = new_figure((6 * panels, 4))
        axes = figure.subplots(1, panels, squeeze=False)[0]
        size = self.size.sort_values("bytes")
        axes[-1].barh(size["layer"], size["bytes"] / 1024, color="#1f77b4", label=self.mode.label)
        if "float32_bytes" in size:
            axes[-1].barh(
                size["layer"], size["float32_bytes"] / 1024, color="none", edgecolor="#444", label="float32"
            )
        axes[-1].set_xlabel("KiB")
        axes[-1].set_title(f"bytes per layer ({self.mode.label})")
        axes[-1].legend(loc="lower right")
        if panels == 2:
            errors = self.layers[self.layers["op"] != "weights"].iloc[::-1]
            axes[0].barh(
                errors["layer"] + " (" + errors["op"] + ")", errors[self.layer_metric], color="#d62728"
            )
            axes[0].set_xlabel(
                "RMSE of the quantized output, in quantization steps"
                if self.layer_metric == "rmse_per_step"
                else "SNR the layer loses (dB), LiteRT Quantizer validation"
            )
            axes[0].set_title("where quantization loses accuracy")
        return figure


def diagnose(
    model,
    mode=None,
    representative=None,
    *,
    dataset=None,
    debug_samples: int = 100,
    timeout: float = DEFAULT_TIMEOUT,
) -> Diagnosis:
    """Explain a conversion: which ops the model needs, where quantization loses accuracy,
    where the bytes go, and what the converted model expects as input and output.

    Parameters
    ----------
    model : keras.Model, scikit-learn estimator, str or Path
    mode : str or Mode, default=None
        ``None`` checks float32 conversion only.
    representative : array-like, default=None
        Calibration samples for int8/int16x8; with ``dataset`` given, 200 of its training samples.
    dataset : Dataset, default=None
        Used for calibration samples when ``representative`` is None.
    debug_samples : int, default=100
        Samples the per-layer error is measured on.
    timeout : float, default=DEFAULT_TIMEOUT
        Seconds each conversion and measurement in the worker may take.
    """
    timeout = check_timeout(timeout)
    debug_samples = whole_number("debug_samples", debug_samples, fix="Use debug_samples=100.")
    source = as_source(model)
    mode = Mode.of(mode or "float32")
    if representative is None and dataset is not None and mode.calibrated:
        representative = dataset
    samples = calibration_samples(source, mode, representative)
    layer_of = layer_mapper(source, timeout)
    converted, error, select_size = None, None, None
    try:
        converted = convert_source(source, mode, samples, timeout=timeout)
    except ConversionError as err:
        error = err
        if isinstance(err, UnsupportedOpsError):
            select_size = _select_tf_ops_size(source, mode, samples, timeout)
    ops = _ops_table(layer_of, error)
    layers = None
    notes: list[str] = []
    layer_metric = "rmse_per_step"
    if converted is not None and mode.layer_error is not None:
        layer_metric = METRIC[mode.layer_error]
        test = (
            _validation_inputs(source, dataset, samples, debug_samples, notes)
            if mode.layer_error == "validation"
            else samples
        )
        layers = measure(
            mode,
            source,
            lambda: float32_hub(source, timeout=timeout),
            samples,
            test[:debug_samples],
            layer_of,
            timeout,
        )
    elif converted is not None and mode.calibrated:
        notes.append(
            "The TFLite quantization debugger measures per-layer error for int8 only; for 16-bit "
            "activations use the LiteRT Quantizer recipe static_wi8_ai16, whose validation does."
        )
    reference = None
    if converted is not None and mode.name != "float32":
        reference = convert_source(source, Mode("float32"), None, timeout=timeout)
    size = (
        size_by_layer(converted, layer_of, reference)
        if converted is not None
        else pd.DataFrame(columns=["layer", "bytes", "dtypes"])
    )
    io_table = io_contract(source, converted) if converted is not None else pd.DataFrame(columns=["warning"])
    return Diagnosis(
        model_name=source.name,
        mode=mode,
        ops=ops,
        layers=layers,
        size=size,
        io=io_table,
        converted=converted,
        error=error,
        select_tf_ops_size=select_size,
        notes=notes,
        layer_metric=layer_metric,
    )


def _validation_inputs(source, dataset, samples, debug_samples, notes) -> np.ndarray:
    """What a recipe's validation runs on: the test split, else the calibration samples, else
    seeded normal inputs (what the library itself validates with)."""
    if dataset is not None:
        test = (
            dataset.reshaped(source.input_shape).X_test
            if dataset.feature_shape != source.input_shape
            else dataset.X_test
        )
    elif samples is not None:
        test = samples
    else:
        test = np.random.default_rng(0).standard_normal((debug_samples, *source.input_shape))
        notes.append(
            "Per-tensor error measured on seeded random inputs: pass dataset= for the error on your data."
        )
    return np.asarray(test, dtype=np.float32)


# ----------------------------------------------------------------- op coverage
def _ops_table(layer_of: LayerMapper, error) -> pd.DataFrame:
    unsupported = set(getattr(error, "ops", []) or [])
    rows: dict[str, dict] = {}
    for op, name in layer_of.graph_ops:
        if op in _PLUMBING:
            continue
        row = rows.setdefault(op, {"op": op, "count": 0, "layers": []})
        row["count"] += 1
        layer = layer_of(name)
        if layer not in row["layers"]:
            row["layers"].append(layer)
    table = []
    for op, row in rows.items():
        builtin = op not in unsupported
        table.append(
            {
                "op": op,
                "count": row["count"],
                "layers": ", ".join(row["layers"]),
                "builtin": builtin,
                "advice": "" if builtin else _advice(op),
            }
        )
    for op in sorted(unsupported - set(rows)):
        table.append({"op": op, "count": 1, "layers": "(model)", "builtin": False, "advice": _advice(op)})
    frame = pd.DataFrame(table, columns=["op", "count", "layers", "builtin", "advice"])
    return frame.sort_values(["builtin", "count"], ascending=[True, False]).reset_index(drop=True)


def _advice(op: str) -> str:
    return (
        f"Rewrite that layer with builtin-friendly ops (elementwise math, matmul, conv, "
        f"reshape; e.g. a polynomial or lookup approximation of {op}), or convert with SELECT_TF_OPS: "
        "the .tflite then needs the Flex delegate, which the Python LiteRT interpreter lacks."
    )


def _select_tf_ops_size(source, mode, samples, timeout) -> int | None:
    payload = {"spec": source.spec(), "mode": mode, "samples": samples, "select_tf_ops": True}
    answer = run_in_worker("convert", payload, timeout)
    return len(answer["result"]) if answer["ok"] else None


# ----------------------------------------------------------------- size and I/O
def tensor_sizes(converted: Converted) -> pd.DataFrame:
    """Every tensor with stored data in the ``.tflite``: name, type and bytes."""
    types = tensor_type_names()
    model = read_model(converted.content)
    rows = []
    for s in range(model.SubgraphsLength()):
        graph = model.Subgraphs(s)
        for t in range(graph.TensorsLength()):
            tensor = graph.Tensors(t)
            size = buffer_nbytes(model, tensor.Buffer())
            if size:
                name = tensor.Name().decode(errors="replace")
                rows.append({"tensor": name, "dtype": types.get(tensor.Type(), "?"), "bytes": size})
    return pd.DataFrame(rows, columns=["tensor", "dtype", "bytes"])


def size_by_layer(converted: Converted, layer_of=None, reference: Converted | None = None) -> pd.DataFrame:
    """Bytes per layer with the types stored there; with a float32 ``reference``, its bytes too."""
    layer_of = layer_of or (lambda name: scope(name) or name)

    def grouped(model):
        tensors = tensor_sizes(model)
        tensors["layer"] = [layer_of(n) for n in tensors["tensor"]]
        return tensors.groupby("layer", sort=False).agg(
            bytes=("bytes", "sum"), dtypes=("dtype", lambda d: "+".join(sorted(set(d))))
        )

    table = grouped(converted)
    if reference is not None:
        base = grouped(reference)
        table = table.join(
            base.rename(columns={"bytes": "float32_bytes", "dtypes": "float32_dtypes"}), how="outer"
        )
        table["changed_type"] = table["dtypes"] != table["float32_dtypes"]
    table = table.reset_index().sort_values("bytes", ascending=False, na_position="last")
    table["share"] = table["bytes"] / table["bytes"].sum()
    return table.reset_index(drop=True)


def io_contract(source: Source, converted: Converted) -> pd.DataFrame:
    """The converted model's inputs and outputs beside the original's, with warnings."""
    rows = []
    shapes = source.input_shape if isinstance(source.input_shape, dict) else {None: source.input_shape}
    for side, tensors in (("input", converted.inputs), ("output", converted.outputs)):
        for t in tensors:
            warning = ""
            if side == "input" and t.quantized:
                warning = (
                    f"input {t.name} is {t.dtype}: your float32 data must be quantized as "
                    f"round(x / {t.scale:.6g}{t.zero_point:+d}) (Converted.predict does it; device code must too)."
                )
            elif side == "output" and t.quantized:
                warning = (
                    f"output {t.name} is {t.dtype}: dequantize as (q{-t.zero_point:+d}) * {t.scale:.6g}."
                )
            if side == "input" and not t.dynamic_batch:
                warning += f" Fixed batch of {t.shape[0]}: feed exactly {t.shape[0]} sample(s) per call."
            original_in = (
                "batch",
                *shapes.get(t.name.split("serving_default_")[-1].split(":")[0], next(iter(shapes.values()))),
            )
            if side == "input" and len(shapes) == 1 and tuple(t.shape[1:]) != tuple(original_in[1:]):
                warning += f" Shape {t.shape} differs from the original's {original_in}."
            rows.append(
                {
                    "side": side,
                    "name": t.name,
                    "shape": "(" + ", ".join("batch" if d == -1 else str(d) for d in t.shape) + ")",
                    "dtype": t.dtype,
                    "scale": t.scale,
                    "zero_point": t.zero_point,
                    "original": f"float32{original_in}".replace("'", "") if side == "input" else "float32",
                    "warning": warning.strip(),
                }
            )
    return pd.DataFrame(rows)
