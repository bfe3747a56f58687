"""What each ``workbench`` subcommand does once its arguments are parsed: ``demo``,
``compare``, ``convert``, ``search``, ``inspect`` and ``app``. Each takes the parsed
arguments, checks them before any work (``_cli_checks``), and returns the exit status.
"""

from __future__ import annotations

import os
import sys
import time

from ._cli_checks import (
    check_measurement,
    check_model,
    check_representative,
    dataset_argument,
    split_modes,
    target_argument,
    tflite_signature,
)
from .calibration import Calibration
from .errors import InvalidArgumentError, ModelLoadError
from .modes import Mode

#: What the demo compares: the converter's int8 beside LiteRT Quantizer's static_wi8_ai8, and more.
DEMO_MODES = (
    "float32",
    "float16",
    "dynamic",
    "int8",
    "int16x8",
    "dynamic_wi8_afp32",
    "weight_only_wi4_afp32",
    "static_wi8_ai8",
    "static_wi8_ai16",
)


def demo_command(args) -> int:
    print(
        "workbench demo: the digits_cnn example on the digits images; the converter's quantization "
        "(deprecated) beside LiteRT Quantizer's recipes (recommended).",
        file=sys.stderr,
    )
    return run_comparison("digits_cnn", None, None, list(DEMO_MODES), 200, "random", args)


def compare_command(args) -> int:
    check_model(args.model, "compare")
    return run_comparison(
        args.model,
        args.dataset,
        args.label,
        split_modes(args.modes),
        args.representative,
        args.strategy,
        args,
    )


def run_comparison(model, dataset, label, modes, representative, strategy, args) -> int:
    from ._paths import prepare_directory
    from .compare import compare
    from .sources import as_source

    started = time.perf_counter()
    # Every argument is checked before the model loads (seconds for a Keras model): a typo
    # must not cost that wait.
    target = target_argument(args.target) if getattr(args, "target", None) else None
    calibration = Calibration.of(getattr(args, "calibration", None))
    check_measurement(args)
    prepare_directory(args.out)  # before the work: a bad path must not cost the run
    data = dataset_argument(dataset, label)
    source = as_source(tflite_signature(model, args), trust=getattr(args, "trust", False))
    result = compare(
        source,
        data,
        modes=modes,
        representative=representative,
        strategy=strategy,
        threads=args.threads,
        latency_budget=args.latency_budget,
        target=target,
        calibration=calibration,
    )
    print(result)
    for note in result.notes:
        print(f"note: {note}")
    if target is not None:
        print("\n" + result.fit_summary())
    path = result.save(args.out)
    print(f"\nReport: {os.path.abspath(path)} ({time.perf_counter() - started:.0f} s)")
    return 0


def convert_command(args) -> int:
    from ._paths import prepare_directory, prepare_file
    from .compare import resolve_dataset
    from .convert import check_calibration, convert
    from .sources import as_source

    check_model(args.model, "convert")
    names = split_modes([args.mode], option="--mode")
    if len(names) > 1:
        raise InvalidArgumentError(
            received=f"--mode {args.mode}",
            expected="One mode: convert writes one file.",
            fix=f"Run workbench convert once per mode, or compare them: workbench compare --modes {' '.join(names)}.",
        )
    mode = Mode.of(names[0])
    calibration = check_calibration(mode, args.calibration)
    # Before the work: a bad path must not cost the conversion. C source may go to a directory.
    if args.format == "c" and not args.out.endswith((".cc", ".c", ".cpp", ".h")):
        prepare_directory(args.out)
    else:
        prepare_file(args.out, ".cc" if args.format == "c" else ".tflite")
    check_representative(args.representative)
    data = dataset_argument(args.dataset, args.label) if mode.calibrated else None
    source = as_source(args.model, trust=args.trust)
    representative = None
    if mode.calibrated:
        data = resolve_dataset(data, source)
        if data.feature_shape != source.input_shape:
            data = data.reshaped(source.input_shape)
        representative = data.representative(args.representative)
    print(f"Converting {source.name} to {mode.label}…", file=sys.stderr)
    converted = convert(source, mode, representative, calibration=calibration)
    paths = converted.save_c(args.out) if args.format == "c" else (converted.save(args.out),)
    print(converted)
    print(f"Wrote {' and '.join(paths)} ({converted.size_bytes:,} bytes, {converted.convert_seconds:.1f} s)")
    return 0


def search_command(args) -> int:
    from ._paths import prepare_directory
    from .search import search
    from .sources import as_source

    started = time.perf_counter()
    calibration = Calibration.of(args.calibration)
    check_model(args.model, "search")
    modes = split_modes(args.modes)
    if args.target:
        target_argument(args.target)
    if args.out:
        prepare_directory(args.out)  # before the work: a bad path must not cost the search
    data = dataset_argument(args.dataset, args.label)
    source = as_source(args.model, trust=args.trust)
    # These options are named as search()'s parameters: each is passed on as it came.
    passed = ("max_flash", "max_ram", "target", "objective", "representative", "n_jobs")
    passed += ("latency_budget", "max_seconds")
    options = {name: getattr(args, name) for name in passed}
    result = search(
        source,
        data,
        args.max_drop,
        modes=modes,
        layers=not args.no_layers,
        calibration=calibration,
        **options,
    )
    print(result.summary())
    if result.code:
        print("\nThe code that makes it:\n\n" + result.code)
    if args.out:
        table = os.path.join(args.out, "search.csv")
        result.table.to_csv(table, index=False)
        result.plot().savefig(os.path.join(args.out, "search.png"), dpi=110)
        written = [table, os.path.join(args.out, "search.png")]
        if result.best is not None:
            written.append(result.best.save(os.path.join(args.out, f"{result.best.mode.key}-best.tflite")))
            code = os.path.join(args.out, "make_best.py")
            with open(code, "w", encoding="utf-8") as handle:
                handle.write(result.code)
            written.append(code)
        print("Wrote " + ", ".join(written))
    print(f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return 0 if result.recommended else 1


_APP_NOTEBOOK = {
    "cells": [
        {
            "cell_type": "markdown",
            "metadata": {},
            "source": [
                "# TFLite workbench\n",
                "Pick a model, a dataset and quantization modes, then press **Run**.",
            ],
        },
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": None,
            "outputs": [],
            "source": ["import workbench\n", "\n", "workbench.Workbench()"],
        },
    ],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def app_command(args) -> int:
    """Serve a one-cell notebook holding the workbench with Voilà, which shows no code."""
    import json
    import shutil
    import signal
    import subprocess
    import tempfile

    from ._worker import check_idle_timeout

    environment = dict(os.environ)
    if args.worker_idle is not None:
        # The kernels Voilà starts inherit it: every student's worker ends when idle that long.
        environment["WORKBENCH_WORKER_IDLE_TIMEOUT"] = repr(check_idle_timeout(args.worker_idle))
    if not 1 <= args.port <= 65535:
        raise InvalidArgumentError(
            received=f"--port {args.port}",
            expected="A TCP port number from 1 to 65535 (above 1024 needs no special rights).",
            fix="Use e.g. --port 8866.",
        )
    if (
        shutil.which("voila") is None
        and subprocess.run([sys.executable, "-c", "import voila"], capture_output=True).returncode
    ):
        raise ModelLoadError(
            received="no Voilà installation",
            expected="Voilà, to serve the workbench as a page.",
            fix='Install the ui extra: pip install "tflite-workbench[ui]"',
        )
    directory = tempfile.mkdtemp(prefix="workbench-app-")
    path = os.path.join(directory, "workbench.ipynb")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(_APP_NOTEBOOK, handle)
    command = [
        sys.executable,
        "-m",
        "voila",
        path,
        f"--port={args.port}",
        f"--Voila.ip={args.ip}",
        "--show_tracebacks=False",
    ]
    if args.no_browser:
        command.append("--no-browser")
    print(f"Serving the workbench on http://{args.ip}:{args.port}/ (Ctrl+C stops it)", file=sys.stderr)
    server = subprocess.Popen(command, env=environment)

    def stop(signum, _frame):
        raise SystemExit(128 + signum)

    # Stopped by a signal, the server goes too: it must not be left serving (and holding its
    # kernels) without anyone to stop it.
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        return server.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(directory, ignore_errors=True)


def inspect_command(args) -> int:
    from .inspection import check_flatbuffer, inspect_bytes
    from .runtime import load_tflite
    from .targets import probe_litert

    if not os.path.isfile(args.file):
        load_tflite(args.file)  # the error that says what the path is instead
    with open(args.file, "rb") as handle:
        content = handle.read()
    check_flatbuffer(content, repr(args.file))
    probe = probe_litert(content)
    if not probe.safe:
        # What the flatbuffer says is read without LiteRT, which must not open this file here.
        print(inspect_bytes(content, repr(args.file)).report())
        print(f"runs on LiteRT: no (it ended the worker process that opened it: {probe.crashed})")
        print("runs on TFLite Micro: not checked (a file LiteRT crashes on is not handed to a runtime here)")
        return 0
    print(load_tflite(args.file, signature=args.signature).summary(runtimes=not args.no_run))
    return 0
