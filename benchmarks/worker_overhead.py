"""What running the converter in a separate process costs: in-process vs warm worker, side by side.

Run: python benchmarks/worker_overhead.py  (writes benchmarks/worker_overhead.md)
"""

from __future__ import annotations

import platform
import statistics
import sys
import time
from pathlib import Path

import workbench
from workbench._native import captured_output, import_tensorflow
from workbench._worker import ConverterWorker, shared_worker
from workbench.convert import _run_converter
from workbench.modes import Mode
from workbench.sources import as_source, converter_for

REPEATS = 7
OUT = Path(__file__).with_name("worker_overhead.md")


def in_process(spec, mode, samples, tf) -> float:
    started = time.perf_counter()
    with captured_output():
        converter = converter_for(spec, tf)
        mode.configure_converter(converter, samples, tf)
        converter.convert()
    return time.perf_counter() - started


def through_worker(source, mode, samples) -> float:
    # The converter itself, every time: convert() would find float32 already made.
    started = time.perf_counter()
    _run_converter(source, mode, samples)
    return time.perf_counter() - started


def main() -> None:
    tf = import_tensorflow()
    rows = []
    cold = ConverterWorker()
    started = time.perf_counter()
    cold.call("ping", {})
    cold_start = time.perf_counter() - started
    cold.close()
    for example, dataset in (("digits_mlp", "digits"), ("digits_cnn", "digits_images")):
        source = as_source(example)
        samples = workbench.load_dataset(dataset).representative(200)
        spec = source.spec()
        for name in ("float32", "int8"):
            mode = Mode(name)
            calibration = samples if mode.calibrated else None
            through_worker(source, mode, calibration)  # warm both paths once
            in_process(spec, mode, calibration, tf)
            local, remote = [], []
            for _ in range(REPEATS):  # interleaved, so drift on the machine hits both alike
                local.append(in_process(spec, mode, calibration, tf))
                remote.append(through_worker(source, mode, calibration))
            a, b = statistics.median(local), statistics.median(remote)
            rows.append((example, name, a * 1e3, b * 1e3, (b - a) * 1e3, b / a))
            print(
                f"{example:12} {name:8} in-process {a * 1e3:7.1f} ms  worker {b * 1e3:7.1f} ms",
                file=sys.stderr,
            )
    shared_worker().close()
    lines = [
        "# Converter worker overhead",
        "",
        "Median of "
        f"{REPEATS} conversions each, in-process (`tf.lite.TFLiteConverter` called directly) and through the "
        "warm worker process (`workbench.convert`, which adds sending the model description and "
        "calibration samples and receiving the bytes), interleaved in one run.",
        "",
        f"Machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"TensorFlow {tf.__version__}. Starting a cold worker (new interpreter, up to the first answer, "
        f"before TensorFlow is imported there): {cold_start * 1e3:.0f} ms; its first conversion also "
        "imports TensorFlow (several seconds, once per session).",
        "",
        "| model | mode | in-process ms | worker ms | overhead ms | ratio |",
        "|---|---|---:|---:|---:|---:|",
    ]
    lines += [f"| {m} | {mode} | {a:.1f} | {b:.1f} | {d:+.1f} | {r:.2f}× |" for m, mode, a, b, d, r in rows]
    OUT.write_text("\n".join(lines) + "\n")
    print(OUT.read_text())


if __name__ == "__main__":
    main()
