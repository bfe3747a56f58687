"""What a microcontroller gets from each LiteRT Quantizer recipe: before and after inlining.

Run: python benchmarks/micro_recipes.py  (rewrites its own section of benchmarks/RESULTS.md)

LiteRT Quantizer keeps constant buffers after the flatbuffer (``Buffer.offset``) once a
model's weights reach 256 KiB. TFLite Micro reads only inline data (``Buffer.data``), so
on such a "raw" file it takes the weights for activations: they land in its arena (RAM),
uninitialised. For every example model and an autoencoder, every recipe (and the
converter's modes, for reference) is measured side by side in one run, as the library
writes it ("raw") and as the workbench hands it on ("inline", offset buffers written
inline by ``workbench._flatbuffer.inline_buffers``):

- ``offsets``: buffers stored after the flatbuffer;
- ``flash``: the file's bytes (what the firmware keeps in flash);
- ``arena``: TFLite Micro's own total (RecordingMicroAllocator, ``print_allocations``) after
  one invoke at a generous arena; the same method for both files;
- ``TFLM = LiteRT``: on 50 test samples, TFLite Micro's outputs against LiteRT's for the same
  bytes: labels equal (classifiers) or the largest difference as a share of the output range.

TFLite Micro runs in this process, on arenas far above need (where it does not crash).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from _results import write_section  # noqa: E402

import workbench  # noqa: E402
from workbench import Mode  # noqa: E402
from workbench._flatbuffer import inline_buffers  # noqa: E402
from workbench.modes import QUANTIZER_MODES  # noqa: E402

EXAMPLES = (("digits_mlp", "digits"), ("digits_cnn", "digits_images"), ("diabetes_mlp", "diabetes"))
CONVERTER_MODES = ("float32", "int8", "int16x8")
ARENA = 16_000_000
SAMPLES = 50


# ------------------------------------------------------------------------- models
def autoencoder():
    """640-128-128-128-128-8-128-128-128-128-640 on sums of sines, trained briefly."""
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, 640, dtype=np.float32)
    freqs, phases = rng.uniform(1, 8, (2400, 3, 1)), rng.uniform(0, 2 * np.pi, (2400, 3, 1))
    X = np.sin(2 * np.pi * freqs * t + phases).sum(1).astype(np.float32) / 3
    X += rng.normal(0, 0.05, X.shape).astype(np.float32)
    inputs = keras.Input((640,))
    x = inputs
    for width in [128, 128, 128, 128, 8, 128, 128, 128, 128]:
        x = keras.layers.Dense(width, activation="relu")(x)
    model = keras.Model(inputs, keras.layers.Dense(640)(x), name="autoencoder")
    model.compile("adam", "mse")
    model.fit(X[:2000], X[:2000], epochs=5, batch_size=64, verbose=0)
    return model, X[:200], X[2000:], False


def models():
    for name, dataset in EXAMPLES:
        data = workbench.load_dataset(dataset)
        yield (
            name,
            workbench.load_example(name),
            data.representative(200),
            data.X_test,
            data.task == "classification",
        )
    yield ("autoencoder", *autoencoder())


# ------------------------------------------------------------------------- files
def signature_input(content: bytes) -> tuple[str, str]:
    from ai_edge_litert.interpreter import Interpreter

    signatures = Interpreter(model_content=content).get_signature_list()
    key = next(iter(signatures))
    return key, signatures[key]["inputs"][0]


def library_file(float_bytes: bytes, mode: str, samples: np.ndarray) -> bytes:
    """The recipe applied by LiteRT Quantizer itself: the bytes as the library writes them."""
    quantizer = Mode.of(mode).quantizer(float_bytes)
    calibration = None
    if quantizer.need_calibration:
        key, name = signature_input(float_bytes)
        data = [{name: x[None].astype(np.float32)} for x in samples]
        with contextlib.redirect_stderr(open(os.devnull, "w")):  # its progress bar
            calibration = quantizer.calibrate({key: data}, num_threads=1)
    return bytes(quantizer.quantize(calibration, enable_progress_report=False).quantized_model)


def offset_buffers(content: bytes) -> int:
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(content, 0)
    return sum(model.Buffers(b).Offset() > 1 for b in range(model.BuffersLength()))


# ------------------------------------------------------------------------- runtimes
@contextlib.contextmanager
def c_output():
    """TFLite Micro's C-level stdout and stderr, captured."""
    libc = ctypes.CDLL(None)
    captured = []
    with tempfile.TemporaryFile(mode="w+") as sink:
        libc.fflush(None)
        saved = {fd: os.dup(fd) for fd in (1, 2)}
        try:
            for fd in (1, 2):
                os.dup2(sink.fileno(), fd)
            yield captured
        finally:
            libc.fflush(None)
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)
            sink.seek(0)
            captured.append(sink.read())


def _quantized(x, details):
    params = details.get("quantization_parameters") or {}
    scales = params.get("scales")
    if np.dtype(details["dtype"]).kind == "f" or scales is None or not len(scales):
        return x.astype(details["dtype"])
    limits = np.iinfo(details["dtype"])
    q = np.round(x / scales[0] + params["zero_points"][0])
    return np.clip(q, limits.min, limits.max).astype(details["dtype"])


def _dequantized(y, details):
    params = details.get("quantization_parameters") or {}
    scales = params.get("scales")
    if np.dtype(details["dtype"]).kind == "f" or scales is None or not len(scales):
        return np.asarray(y, np.float32)
    return (np.asarray(y, np.float32) - params["zero_points"][0]) * scales[0]


def on_micro(content: bytes, X: np.ndarray) -> tuple[int | None, np.ndarray | None, str]:
    """(arena total, dequantized outputs, why not) on TFLite Micro."""
    from tflite_micro.python.tflite_micro import runtime

    with c_output() as log:
        try:
            interpreter = runtime.Interpreter.from_bytes(content, arena_size=ARENA)
        except (RuntimeError, ValueError):
            interpreter = None
    if interpreter is None:
        lines = [line for line in log[0].splitlines() if line.strip()]
        return None, None, (lines[-1] if lines else "does not load")[:90]
    into, out = interpreter.get_input_details(0), interpreter.get_output_details(0)
    outputs = []
    with c_output():
        for x in X:
            interpreter.set_input(_quantized(x[None], into), 0)
            interpreter.invoke()
            outputs.append(_dequantized(interpreter.get_output(0), out))
    with c_output() as report:
        interpreter.print_allocations()
    total = re.search(r"Arena allocation total (\d+) bytes", report[0])
    return (int(total.group(1)) if total else None), np.concatenate(outputs), ""


def on_litert(content: bytes, X: np.ndarray) -> np.ndarray:
    """Dequantized output 0 on LiteRT, by tensor index as TFLite Micro reads it."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=content)
    interpreter.allocate_tensors()
    into, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]

    def quant(details):
        scale, zero_point = details["quantization"]
        return {"quantization_parameters": {"scales": [scale] if scale else [], "zero_points": [zero_point]}}

    outputs = []
    for x in X:
        interpreter.set_tensor(into["index"], _quantized(x[None], {**into, **quant(into)}))
        interpreter.invoke()
        outputs.append(_dequantized(interpreter.get_tensor(out["index"]), {**out, **quant(out)}))
    return np.concatenate(outputs)


def agreement(micro: np.ndarray | None, litert: np.ndarray, classifier: bool) -> str:
    if micro is None:
        return ""
    if classifier:
        return f"{np.mean(micro.argmax(-1) == litert.argmax(-1)):.0%} labels"
    spread = float(np.ptp(litert)) or 1.0
    return f"max Δ {np.max(np.abs(micro - litert)) / spread:.1%} of range"


# ------------------------------------------------------------------------- run
def measure() -> list[dict]:
    rows = []
    for name, model, samples, X_test, classifier in models():
        X = np.asarray(X_test[:SAMPLES], np.float32)
        float_bytes = workbench.convert(model, "float32").content
        for mode in (*CONVERTER_MODES, *QUANTIZER_MODES):
            started = time.perf_counter()
            row = {"model": name, "mode": mode, "error": ""}
            try:
                if Mode.of(mode).backend == "quantizer":
                    raw = library_file(float_bytes, mode, samples)
                else:
                    raw = workbench.convert(model, mode, samples).content
            except (ValueError, RuntimeError, workbench.WorkbenchError) as err:
                row["error"] = str(err).splitlines()[0][:120]
                rows.append(row)
                print(name, mode, row["error"], flush=True)
                continue
            plain = inline_buffers(raw)
            for label, content in (("raw", raw), ("inline", plain)):
                arena, micro, why = on_micro(content, X)
                row[label] = {
                    "offsets": offset_buffers(content),
                    "flash": len(content),
                    "arena": arena,
                    "why": why,
                    "agree": agreement(micro, on_litert(content, X), classifier),
                }
            row["seconds"] = time.perf_counter() - started
            rows.append(row)
            print(name, mode, row["raw"], row["inline"], flush=True)
    return rows


def section(rows: list[dict], load: str) -> str:
    def cell(side):
        arena = f"{side['arena']:,}" if side["arena"] else f"no: {side['why']}"
        return f"{side['offsets']} | {side['flash']:,} | {arena} | {side['agree']}"

    converter_int8 = {row["model"]: row["inline"]["arena"] for row in rows if row["mode"] == "int8"}
    lines = [
        "# Microcontroller: recipe variants as LiteRT Quantizer writes them and inlined",
        "",
        "Generated by `python benchmarks/micro_recipes.py`. Each variant twice, side by side in "
        "one run: `raw`, the bytes as the library (or the converter) writes them; `inline`, the "
        "same variant with offset buffers written inline, which is what the workbench now keeps, "
        "saves, runs on TFLite Micro and exports as C. `offsets`: buffers stored after the "
        "flatbuffer. `flash`: the file's bytes. `arena`: TFLite Micro's own allocation total "
        "after one invoke (64-bit host, same method for both columns). `TFLM = LiteRT`: TFLite "
        f"Micro's outputs on {SAMPLES} test samples against LiteRT's for the same bytes (labels "
        "equal, or the largest difference as a share of the output range). `× int8`: the inline "
        "arena over the converter's int8 arena for the same model.",
        "",
        "| model | mode | raw offsets | raw flash (B) | raw arena (B) | raw TFLM = LiteRT "
        "| inline offsets | inline flash (B) | inline arena (B) | inline TFLM = LiteRT | × int8 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        if row["error"]:
            lines.append(f"| {row['model']} | {row['mode']} | the recipe fails: {row['error']} |||||||||")
            continue
        base, arena = converter_int8.get(row["model"]), row["inline"]["arena"]
        ratio = f"{arena / base:.2f}" if base and arena else ""
        lines.append(
            f"| {row['model']} | {row['mode']} | {cell(row['raw'])} | {cell(row['inline'])} | {ratio} |"
        )
    with_offsets = [
        f"{row['model']} {row['mode']}" for row in rows if not row["error"] and row["raw"]["offsets"]
    ]
    lines += [
        "",
        "LiteRT Quantizer stores buffers after the flatbuffer only when the model's constant data "
        "reaches 256 KiB (`litert_quantizer/model_modifier.py`); here that is "
        f"{', '.join(with_offsets) or 'no variant'}. On those raw files TFLite Micro takes the "
        "weights for activations: they land in its arena and it computes with uninitialised "
        "weights. Rows without offsets are the same file in both columns.",
        "",
        "Not about offsets: TFLite Micro has no hybrid (dynamic-range) kernels and no 4-bit or "
        "float16 DEQUANTIZE, so those recipes do not run there; `weight_only_wi8_afp32` runs, but "
        "its DEQUANTIZE outputs (float weights) sit in the arena and its outputs disagree with "
        "LiteRT's on the same bytes.",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, {platform.system()}, "
        f"{os.cpu_count()} cores; load average before the run {load}.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    rows = measure()
    text = section(rows, load)
    write_section("micro-recipes", text)
    print(text)


if __name__ == "__main__":
    main()
