"""A class on one server: memory per student (kernel and workers, idle and converting),
seats per 24 GB, and how fast the lens redraws.

Each student is simulated by a fresh Python process (the kernel) that does what a student
does in the teaching lab on ``digits_cnn``; the parent reads the memory of that process and
of its worker from ``/proc`` (psutil: RSS, and USS, the memory no other process shares) at
each step, and samples the peak while converting. Steps:

1. **kernel, model loaded**: ``import workbench``, the example model and dataset (Keras, so
   TensorFlow is in the kernel);
2. **converting**: ``compare`` with float32, int8 and static_wi8_ai8 (the converter and
   LiteRT Quantizer in the worker), peak sampled every 20 ms;
3. **idle, worker kept**: the student reads; the worker waits;
4. **idle, worker released**: after the idle timeout (``set_worker_idle_timeout``, default
   300 s; here its instant is passed to ``release_if_idle``), only the kernel is left.

A second student works without TensorFlow anywhere: a float32 ``.tflite`` made before,
LiteRT Quantizer's ``static_wi8_ai8`` and the lens.

Seats per 24 GB for a class where a third of the students convert at once and the others
read: ``24 GiB / (kernel + worker converting / 3 + worker idle × 2/3)``, the idle workers
counted as kept or released. RSS counts the shared libraries in every process (so it
overstates a class: many students share TensorFlow's library pages); USS counts only what
each process holds alone (so it understates by one copy of the libraries). The truth for a
class lies between; the seats below are from RSS, the cautious figure, with USS beside.

The lens: on a comparison measured already, ``layer_errors`` once per variant (LiteRT
Quantizer's validation in the worker), then ``lens(...)`` and its PNG for every layer
(first draw), and again (what the widget's cache returns).

Run: ``python benchmarks/classroom.py`` (rewrites its section of ``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from _results import write_section  # noqa: E402

GIB = 1024**3
SERVER = 24 * GIB

STUDENT = """
import json, sys, time
def step(name, **extra):
    print(json.dumps({"step": name, **extra}), flush=True)
    sys.stdin.readline()

import numpy as np
import workbench
from workbench._worker import shared_worker
if MODE == "keras":
    model = workbench.load_example("digits_cnn")
    data = workbench.load_dataset("digits_images")
    step("kernel")
    step("converting-start")
    result = workbench.compare(model, data, modes=["float32", "int8", "static_wi8_ai8"], latency_budget=0.05, progress=False)
else:
    data = workbench.load_dataset("digits_images")
    step("kernel")
    step("converting-start")
    result = workbench.compare(PATH, data, modes=["static_wi8_ai8"], latency_budget=0.05, progress=False)
workbench.lens(result, "static_wi8_ai8").png()
step("idle-kept", worker=shared_worker().pid, tensorflow="tensorflow" in sys.modules)
worker = shared_worker()
assert worker.release_if_idle(now=worker.last_used + worker.idle_timeout)
step("idle-released")
"""


def memory(pid: int | None) -> tuple[int, int]:
    if pid is None:
        return 0, 0
    try:
        info = psutil.Process(pid).memory_full_info()
    except psutil.NoSuchProcess:
        return 0, 0
    return info.rss, info.uss


def worker_of(kernel: psutil.Process) -> int | None:
    children = [c for c in kernel.children() if "workbench._tasks" in " ".join(c.cmdline())]
    return children[0].pid if children else None


def student(mode: str, path: str = "") -> dict:
    code = f"MODE = {mode!r}\nPATH = {path!r}\n" + textwrap.dedent(STUDENT)
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(HERE.parent)},
    )
    kernel = psutil.Process(process.pid)
    found: dict = {}
    while True:
        line = process.stdout.readline()
        if not line:
            break
        if not line.startswith("{"):
            continue
        message = json.loads(line)
        step = message["step"]
        if step == "converting-start":
            peak = {"kernel": (0, 0), "worker": (0, 0)}
            stop = threading.Event()

            def sample(peak=peak, stop=stop):
                while not stop.is_set():
                    k, w = memory(kernel.pid), memory(worker_of(kernel))
                    peak["kernel"] = tuple(map(max, peak["kernel"], k))
                    peak["worker"] = tuple(map(max, peak["worker"], w))
                    time.sleep(0.02)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            process.stdin.write("\n")
            process.stdin.flush()
            continue
        if step == "idle-kept":
            stop.set()
            sampler.join()
            found["converting"] = peak
            found["tensorflow_in_kernel"] = message["tensorflow"]
        found[step] = {"kernel": memory(kernel.pid), "worker": memory(worker_of(kernel))}
        process.stdin.write("\n")
        process.stdin.flush()
    process.wait(60)
    return found


def lens_timings() -> dict:
    """Through the widget's controller: what the Lens tab calls when a layer is picked."""
    from workbench.ui.controller import Controller

    controller = Controller()
    controller.update(modes=("float32", "static_wi8_ai8"), latency_budget=0.05)
    controller.run(wait=True)
    started = time.perf_counter()
    layers = controller.lens_layers("static_wi8_ai8")
    errors_s = time.perf_counter() - started
    first, again = [], []
    for layer in layers:
        started = time.perf_counter()
        controller.lens("static_wi8_ai8", layer).png()  # drawn: lens, figure and PNG
        first.append(time.perf_counter() - started)
    for layer in layers:
        started = time.perf_counter()
        controller.lens("static_wi8_ai8", layer).png()  # drawn before, or by warm_lens in the background
        again.append(time.perf_counter() - started)
    return {"layers": len(layers), "errors_s": errors_s, "first": first, "again": again}


def gib(value: float) -> str:
    return f"{value / GIB:.2f}"


def main() -> None:
    import workbench

    hub = workbench.convert(workbench.load_example("digits_cnn"), "float32")
    path = str(Path(os.environ.get("TMPDIR", "/tmp")) / "classroom-digits_cnn.tflite")
    hub.save(path)
    keras = student("keras")
    lite = student("tflite", path)
    timings = lens_timings()

    lines = [
        "## A class on one server (`benchmarks/classroom.py`)",
        "",
        "Memory per student on `digits_cnn`, in GiB: RSS (shared libraries counted in each process) / "
        "USS (only what the process holds alone).",
        "",
        "| student | step | kernel | worker | together |",
        "|---|---|---|---|---|",
    ]
    for name, run in (
        ("Keras model (TensorFlow in the kernel)", keras),
        ("a .tflite + recipes, no TensorFlow", lite),
    ):
        for step, label in (
            ("kernel", "model loaded, nothing converted"),
            ("converting", "converting (peak)"),
            ("idle-kept", "reading, worker kept"),
            ("idle-released", "reading, worker released after the idle timeout"),
        ):
            k, w = run[step]["kernel"], run[step]["worker"]
            lines.append(
                f"| {name} | {label} | {gib(k[0])} / {gib(k[1])} | {gib(w[0])} / {gib(w[1])} | "
                f"{gib(k[0] + w[0])} / {gib(k[1] + w[1])} |"
            )
    lines.append("")
    lines.append(f"TensorFlow in the no-TensorFlow student's kernel: {lite['tensorflow_in_kernel']}.")
    lines += ["", "Seats per 24 GB, a third of the class converting at once:", ""]
    lines += [
        "| student | idle workers | per student, RSS (USS) GiB | seats by RSS (by USS) |",
        "|---|---|---|---|",
    ]
    for name, run in (("Keras model", keras), ("a .tflite + recipes", lite)):
        for kept, label in ((True, "kept (no idle timeout)"), (False, "released (default 300 s)")):
            per = []
            for i in (0, 1):
                kernel = run["idle-kept"]["kernel"][i]
                converting = run["converting"]["worker"][i]
                idle = run["idle-kept"]["worker"][i] if kept else 0
                per.append(kernel + converting / 3 + idle * 2 / 3)
            lines.append(
                f"| {name} | {label} | {gib(per[0])} ({gib(per[1])}) | "
                f"{int(SERVER // per[0])} ({int(SERVER // per[1])}) |"
            )
    first, again = timings["first"], timings["again"]
    lines += [
        "",
        f"The Lens tab on `static_wi8_ai8` ({timings['layers']} layers with weights), through the "
        f"widget's controller: the layer ranking (LiteRT Quantizer's validation) "
        f"{timings['errors_s']:.2f} s once per variant; a layer drawn for the first time (lens, figure "
        f"and PNG) median {statistics.median(first):.3f} s, max {max(first):.3f} s (the first layer also "
        f"opens the files), {'within' if statistics.median(first) <= 0.3 else 'over'} the 0.3 s target; "
        "the tab also draws the variant's other layers in the background "
        "(`Controller.warm_lens`) as soon as one is shown, and a layer picked after that is "
        f"answered from the cache in {statistics.median(again) * 1000:.2f} ms (median).",
        "",
        f"Machine: {os.cpu_count()} CPU cores shared with other work (load average "
        f"{os.getloadavg()[0]:.1f} at the end of the run), Python {sys.version.split()[0]}, TensorFlow and "
        "LiteRT as installed. Memory does not depend on the load; the timings do.",
    ]
    text = "\n".join(lines)
    print(text)
    write_section("classroom", text)


if __name__ == "__main__":
    main()
