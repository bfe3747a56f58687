"""What probing a .tflite from elsewhere in the worker costs on its first load (issue 22).

`load_tflite` first opens, allocates and invokes a file in the worker process, so that a file
LiteRT aborts on cannot take the caller down. Measured side by side, each in a fresh Python
process so that nothing is warm that a user's first call would not find warm:

- bare: `ai_edge_litert.Interpreter(model_content=...)` + `allocate_tensors()` in the caller;
- first load, cold worker: `workbench.load_tflite(path)` in a session that has no worker yet;
- first load, warm worker: the same, after another file started the worker;
- second load: the same file again (the answer is cached by the file's SHA-256); what is left
  is load_tflite's own reading of the file, which the bare column does not do.

Run: python benchmarks/first_load_probe.py  (prints a markdown section for RESULTS.md)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile

REPEATS = 5

CHILD = r"""
import sys, time
import numpy as np
kind, path, other = sys.argv[1:4]
if kind == "bare":
    started = time.perf_counter()
    from ai_edge_litert.interpreter import Interpreter
    interpreter = Interpreter(model_path=path)
    interpreter.allocate_tensors()
    print(time.perf_counter() - started)
    raise SystemExit
import workbench
if kind == "warm":
    workbench.load_tflite(other)
started = time.perf_counter()
workbench.load_tflite(path)
first = time.perf_counter() - started
started = time.perf_counter()
workbench.load_tflite(path)
second = time.perf_counter() - started
print(first if kind != "second" else second)
"""


def _models(directory: str) -> dict[str, str]:
    import tensorflow as tf

    paths = {}
    for name, width in (("other", 16), ("small MLP (64-32-10)", 32), ("wide MLP (784-1024-1024-10)", 1024)):
        inputs = tf.keras.Input((784,) if width > 32 else (64,))
        x = tf.keras.layers.Dense(width, activation="relu")(inputs)
        if width > 32:
            x = tf.keras.layers.Dense(width, activation="relu")(x)
        model = tf.keras.Model(inputs, tf.keras.layers.Dense(10)(x))
        path = os.path.join(directory, f"{width}.tflite")
        with open(path, "wb") as handle:
            handle.write(tf.lite.TFLiteConverter.from_keras_model(model).convert())
        paths[name] = path
    return paths


def _time(kind: str, path: str, other: str) -> float:
    answer = subprocess.run(
        [sys.executable, "-c", CHILD, kind, path, other], capture_output=True, text=True, check=True
    )
    return float(answer.stdout.strip().splitlines()[-1])


def main() -> None:
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as directory:
        models = _models(directory)
        other = models.pop("other")  # starts the worker for the warm case, a file of its own
        print(
            "## First load of a file from elsewhere, probed in the worker (`benchmarks/first_load_probe.py`)\n"
        )
        print(
            f"Median of {REPEATS} fresh processes each; load average {load:.1f} on {os.cpu_count()} cores "
            "when it started.\n"
        )
        print(
            "| file | size | bare open+allocate (ms) | first load, cold worker (ms) | first load, warm worker (ms) | second load (ms) |"
        )
        print("|---|---|---|---|---|---|")
        for name, path in models.items():
            row = {}
            for kind in ("bare", "cold", "warm", "second"):
                row[kind] = statistics.median(_time(kind, path, other) for _ in range(REPEATS)) * 1000
            size = os.path.getsize(path)
            print(
                f"| {name} | {size / 1024:,.0f} KB | {row['bare']:.1f} | {row['cold']:.0f} | "
                f"{row['warm']:.1f} | {row['second']:.2f} |"
            )


if __name__ == "__main__":
    main()
