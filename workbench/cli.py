"""The ``workbench`` command: ``demo``, ``compare``, ``convert``, ``search``, ``inspect``, ``app``.

Bad input ends with one clear line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
import time

from .calibration import Calibration
from .errors import DatasetError, InvalidArgumentError, ModelLoadError, TargetError, WorkbenchError
from .modes import DEFAULT_MODES, MODE_NAMES, QUANTIZER_MODES, Mode

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

EXIT_USAGE = 2

#: Every kind of model ``--model`` takes (what ``workbench.sources.as_source`` opens).
MODEL_HELP = (
    "the model: a built-in example (digits_cnn, digits_mlp, ...); a Keras model file (.keras, or a "
    "Keras 2 .h5); a SavedModel directory; a .tflite file; or a fitted scikit-learn estimator saved "
    "with skops (.skops) or, with --trust, with pickle or joblib (.pkl, .pickle, .joblib)"
)
_MODEL_EXTENSIONS = (".keras", ".h5", ".tflite", ".skops", ".pkl", ".pickle", ".joblib")


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.run(args)
    except WorkbenchError as err:
        print(f"workbench: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("workbench: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="Convert models to TensorFlow Lite and compare every quantization mode with the original.",
    )
    commands = parser.add_subparsers(dest="command")

    demo = commands.add_parser(
        "demo", help="the digits_cnn example on digits: the converter's modes beside LiteRT Quantizer's"
    )
    demo.add_argument("--out", default="workbench-report", help="report directory (default: %(default)s)")
    _measurement_options(demo)
    demo.set_defaults(run=_demo)

    compare = commands.add_parser("compare", help="compare a model in several modes with the original")
    _model_options(compare)
    compare.add_argument("--dataset", help="built-in dataset name or CSV path (default: the example's own)")
    compare.add_argument("--label", help="the column to predict, for a CSV dataset")
    compare.add_argument("--target", metavar="DEVICE", help=_target_help())
    compare.add_argument(
        "--modes",
        nargs="+",
        default=list(DEFAULT_MODES),
        metavar="MODE",
        help=(
            "modes to compare: the converter's " + ", ".join(MODE_NAMES) + " (int8:float32 keeps float "
            "I/O) or LiteRT Quantizer recipes "
            + ", ".join(QUANTIZER_MODES)
            + "; separated by spaces or commas (default: "
            + " ".join(DEFAULT_MODES)
            + ")"
        ),
    )
    compare.add_argument(
        "--representative",
        type=int,
        default=200,
        metavar="N",
        help="calibration samples for int8, int16x8 and static_* recipes (default: %(default)s)",
    )
    compare.add_argument(
        "--strategy",
        default="random",
        choices=("random", "stratified", "first"),
        help="how calibration samples are picked",
    )
    _calibration_option(compare)
    compare.add_argument("--out", default="workbench-report", help="report directory (default: %(default)s)")
    compare.add_argument("--signature", metavar="NAME", help=_SIGNATURE_HELP)
    _measurement_options(compare)
    compare.set_defaults(run=_compare)

    convert = commands.add_parser("convert", help="convert a model in one mode and write the .tflite")
    _model_options(convert)
    convert.add_argument(
        "--mode",
        default="float32",
        help="one of: " + ", ".join((*MODE_NAMES, *QUANTIZER_MODES)) + " (default: %(default)s)",
    )
    convert.add_argument("--dataset", help="dataset for calibration (int8, int16x8, static_*)")
    convert.add_argument("--label", help="the column to predict, for a CSV dataset")
    convert.add_argument("--representative", type=int, default=200, metavar="N")
    _calibration_option(convert)
    convert.add_argument(
        "--format",
        choices=("tflite", "c"),
        default="tflite",
        help="tflite: the flatbuffer; c: a .cc/.h pair holding it as an aligned array for TFLite Micro",
    )
    convert.add_argument("--out", required=True, help="output file (.tflite, or .cc with --format c)")
    convert.set_defaults(run=_convert)

    search = commands.add_parser(
        "search", help="find the smallest (or fastest) variant that keeps the metric and fits a device"
    )
    _model_options(search)
    search.add_argument("--dataset", help="built-in dataset name or CSV path (default: the example's own)")
    search.add_argument("--label", help="the column to predict, for a CSV dataset")
    search.add_argument(
        "--max-drop",
        type=float,
        default=0.01,
        metavar="X",
        help="how much accuracy (or R²) a variant may lose, e.g. 0.01 for one point (default: %(default)s)",
    )
    search.add_argument("--max-flash", metavar="SIZE", help="budget for the model's bytes, e.g. 256KB")
    search.add_argument("--max-ram", metavar="SIZE", help="budget for the working memory, e.g. 64KB")
    search.add_argument("--target", metavar="DEVICE", help=_target_help())
    search.add_argument("--objective", choices=("size", "latency"), default="size")
    search.add_argument(
        "--modes",
        nargs="+",
        default=list(QUANTIZER_MODES),
        metavar="MODE",
        help="the recipes to start from (default: every LiteRT Quantizer recipe)",
    )
    search.add_argument(
        "--no-layers", action="store_true", help="score the recipes only, without per-layer precision"
    )
    search.add_argument("--representative", type=int, default=200, metavar="N")
    _calibration_option(search)
    search.add_argument(
        "--n-jobs", type=int, default=-1, help="processes for the candidates; -1 is every core (default)"
    )
    search.add_argument(
        "--max-seconds", type=float, metavar="SECONDS", help="stop and report the best so far"
    )
    search.add_argument(
        "--latency-budget", type=float, default=0.2, metavar="SECONDS", help="timed seconds per candidate"
    )
    search.add_argument(
        "--out", help="directory for the recommended .tflite, its code, the table (CSV) and the figure"
    )
    search.set_defaults(run=_search)
    inspect = commands.add_parser(
        "inspect", help="what a .tflite really is: I/O, ops and their types, sizes, where it runs"
    )
    inspect.add_argument("file", help="a .tflite file (read, never modified)")
    inspect.add_argument(
        "--no-run", action="store_true", help="read the flatbuffer only; do not try LiteRT and TFLite Micro"
    )
    inspect.add_argument("--signature", metavar="NAME", help=_SIGNATURE_HELP)
    inspect.set_defaults(run=_inspect)

    app = commands.add_parser("app", help="serve the workbench alone as a web page, with no code (Voilà)")
    app.add_argument("--port", type=int, default=8866, help="port (default: %(default)s)")
    app.add_argument(
        "--ip",
        default="127.0.0.1",
        help="address to listen on; 0.0.0.0 for a classroom network (default: %(default)s)",
    )
    app.add_argument("--no-browser", action="store_true", help="do not open a browser")
    app.add_argument(
        "--worker-idle",
        type=float,
        default=None,
        metavar="SECONDS",
        help=(
            "end each student's converter worker after this many idle seconds, to free its memory "
            "(default: $WORKBENCH_WORKER_IDLE_TIMEOUT, else 300)"
        ),
    )
    app.set_defaults(run=_app)
    return parser


_SIGNATURE_HELP = (
    "for a .tflite with several signatures, the one to run (default: serving_default, or the only one)"
)


def _target_help() -> str:
    from .targets import PRESETS

    names = ", ".join(f"{t.name} ({t.describe().split(': ', 1)[1]})" for t in PRESETS.values())
    return (
        "a device to deploy to: also run every variant on its runtime and say which fit. "
        f"Presets: {names}; or a budget such as ram=256KB,flash=1MB"
    )


def _model_options(parser):
    parser.add_argument("--model", help=MODEL_HELP)
    parser.add_argument(
        "--trust",
        action="store_true",
        help="allow pickle/joblib files and untrusted .skops types (they can run code)",
    )


def _measurement_options(parser):
    parser.add_argument(
        "--threads", type=int, default=1, help="interpreter threads for latency (default: %(default)s)"
    )
    parser.add_argument(
        "--latency-budget",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="timed seconds per model (default: %(default)s)",
    )


def _demo(args) -> int:
    print(
        "workbench demo: the digits_cnn example on the digits images; the converter's quantization "
        "(deprecated) beside LiteRT Quantizer's recipes (recommended).",
        file=sys.stderr,
    )
    return _run_comparison("digits_cnn", None, None, list(DEMO_MODES), 200, "random", args)


def _calibration_option(parser) -> None:
    parser.add_argument(
        "--calibration",
        default="minmax",
        metavar="STATISTIC",
        help=(
            "how static recipes turn calibration samples into activation ranges: minmax (default; "
            "what the converter's int8 does), percentile (99.99; percentile:99.9 sets it), or ema "
            "(LiteRT Quantizer's own moving average)"
        ),
    )


def _compare(args) -> int:
    _check_model(args.model, "compare")
    return _run_comparison(
        args.model,
        args.dataset,
        args.label,
        split_modes(args.modes),
        args.representative,
        args.strategy,
        args,
    )


def _run_comparison(model, dataset, label, modes, representative, strategy, args) -> int:
    from ._paths import prepare_directory
    from .compare import compare
    from .sources import as_source

    started = time.perf_counter()
    # Every argument is checked before the model loads (seconds for a Keras model): a typo
    # must not cost that wait.
    target = _target(args.target) if getattr(args, "target", None) else None
    calibration = Calibration.of(getattr(args, "calibration", None))
    _check_measurement(args)
    prepare_directory(args.out)  # before the work: a bad path must not cost the run
    data = _dataset(dataset, label)
    source = as_source(_tflite_signature(model, args), trust=getattr(args, "trust", False))
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


def _convert(args) -> int:
    from ._paths import prepare_directory, prepare_file
    from .compare import resolve_dataset
    from .convert import check_calibration, convert
    from .sources import as_source

    _check_model(args.model, "convert")
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
    if args.representative < 1:
        raise InvalidArgumentError(
            received=f"--representative {args.representative}",
            expected="A number of calibration samples, 1 or more.",
            fix="Use --representative 200.",
        )
    data = _dataset(args.dataset, args.label) if mode.calibrated else None
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


def _search(args) -> int:
    from ._paths import prepare_directory
    from .search import search
    from .sources import as_source

    started = time.perf_counter()
    calibration = Calibration.of(args.calibration)
    _check_model(args.model, "search")
    modes = split_modes(args.modes)
    if args.target:
        _target(args.target)
    if args.out:
        prepare_directory(args.out)  # before the work: a bad path must not cost the search
    data = _dataset(args.dataset, args.label)
    source = as_source(args.model, trust=args.trust)
    result = search(
        source,
        data,
        args.max_drop,
        max_flash=args.max_flash,
        max_ram=args.max_ram,
        target=args.target,
        objective=args.objective,
        modes=modes,
        layers=not args.no_layers,
        representative=args.representative,
        calibration=calibration,
        n_jobs=args.n_jobs,
        latency_budget=args.latency_budget,
        max_seconds=args.max_seconds,
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


def _app(args) -> int:
    """Serve a one-cell notebook holding the workbench with Voilà, which shows no code."""
    import json
    import shutil
    import signal
    import subprocess
    import tempfile

    from ._worker import check_idle_timeout
    from .errors import ModelLoadError

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


def _check_measurement(args) -> None:
    if args.threads < 1:
        raise InvalidArgumentError(
            received=f"--threads {args.threads}",
            expected="A number of interpreter threads, 1 or more.",
            fix="Use --threads 1 for comparable single-core latency.",
        )
    if not args.latency_budget > 0:
        raise InvalidArgumentError(
            received=f"--latency-budget {args.latency_budget}",
            expected="Seconds of timed calls per model, more than 0.",
            fix="Use e.g. --latency-budget 1.",
        )
    if getattr(args, "representative", 1) < 1:
        raise InvalidArgumentError(
            received=f"--representative {args.representative}",
            expected="A number of calibration samples, 1 or more.",
            fix="Use --representative 200.",
        )


def _dataset(dataset, label):
    """A built-in name, a CSV path (with --label), or None for an example's own dataset."""
    from .datasets import Dataset, load_dataset

    if dataset is None:
        return None
    if dataset.lower().endswith(".csv") or os.path.isfile(dataset):
        _check_csv(dataset, label)
        return Dataset.from_csv(dataset, target=label)
    return load_dataset(dataset)


def _tflite_signature(model, args):
    """The model, or for ``--signature`` the .tflite loaded through that signature."""
    signature = getattr(args, "signature", None)
    if signature is None:
        return model
    if not str(model).lower().endswith(".tflite"):
        raise InvalidArgumentError(
            received=f"--signature {signature} with --model {model}",
            expected="--signature only for a .tflite file, whose signatures are the ones it can run.",
            fix="Leave --signature out for this model.",
        )
    from .runtime import load_tflite

    return load_tflite(model, signature=signature)


def _check_model(model: str | None, command: str) -> None:
    """A model that exists (a path or an example name), checked before anything loads it."""
    from .examples import EXAMPLES

    if not model:
        raise InvalidArgumentError(
            received=f"workbench {command} without --model",
            expected=f"--model naming the model: an example or a model file (workbench {command} --help lists the kinds).",
            fix=(
                "New here? Run `workbench demo` (the digits_cnn example, a couple of minutes), or e.g. "
                f"`workbench {command} --model digits_cnn"
                + (" --modes float32 int8 static_wi8_ai8`." if command == "compare" else "`.")
            ),
        )
    if model in EXAMPLES or os.path.exists(model):
        return
    near = difflib.get_close_matches(model, list(EXAMPLES), n=1, cutoff=0.6)
    hint = f"Did you mean --model {near[0]}? " if near else ""
    kind = "file" if model.lower().endswith(_MODEL_EXTENSIONS) else "file, directory or example name"
    raise ModelLoadError(
        received=f"--model {model!r}: no such {kind}",
        expected=MODEL_HELP[0].upper() + MODEL_HELP[1:] + f". Examples: {', '.join(EXAMPLES)}.",
        fix=hint + "Check the path (relative paths start from " + os.getcwd() + ").",
    )


def split_modes(values: list[str], option: str = "--modes") -> list[str]:
    """Mode names from the command line: separated by spaces or commas, each checked now."""
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    if not names:
        raise InvalidArgumentError(
            received=f"{option} with no mode",
            expected="One or more of: " + ", ".join((*MODE_NAMES, *QUANTIZER_MODES)) + ".",
            fix=f"Write e.g. {option} float32 int8 static_wi8_ai8.",
        )
    for name in names:
        Mode.of(name)  # an unknown name raises UnknownModeError, with the nearest names
    return names


def _target(value: str):
    """The target, with the nearest preset named first when it is not one."""
    from .targets import PRESETS, as_target, presets_help

    try:
        return as_target(value)
    except TargetError:
        name = value.strip().lower()
        near = [p for p in PRESETS if p.startswith(name) or name.startswith(p)]
        near = near or difflib.get_close_matches(name, list(PRESETS), n=2, cutoff=0.5)
        hint = f"Did you mean --target {' or --target '.join(near)}? " if near else ""
        raise TargetError(
            received=f"--target {value!r}",
            expected=f"A preset ({', '.join(PRESETS)}) or a budget such as ram=256KB,flash=1MB.",
            fix=f"{hint}Presets: {presets_help()}.",
        ) from None


#: Up to this many columns, a missing label lists them all; beyond it, the nearest ones.
_COLUMNS_LISTED = 20


def _check_csv(path: str, label: str | None) -> None:
    """The CSV exists and has the label column: read from its header alone."""
    import pandas as pd

    if not os.path.isfile(path):
        raise DatasetError(
            received=f"--dataset {path!r}: no such file",
            expected="A CSV file with a header row, or a built-in dataset name.",
            fix="Check the path (relative paths start from " + os.getcwd() + ").",
        )
    try:
        columns = [str(c) for c in pd.read_csv(path, nrows=0).columns]
    except (ValueError, OSError, UnicodeDecodeError) as err:
        raise DatasetError(
            received=f"--dataset {path!r}, which pandas cannot read as CSV ({err})",
            expected="A CSV file with a header row.",
            fix="Check that the file is a comma-separated table with column names in its first line.",
        ) from None
    if label and label in columns:
        return
    if len(columns) <= _COLUMNS_LISTED:
        listed = "Its columns: " + ", ".join(columns) + "."
    else:
        by_case = {c.lower(): c for c in columns}
        near = difflib.get_close_matches((label or "").lower(), list(by_case), n=5, cutoff=0.3)
        near = [by_case[c] for c in near] or columns[-5:]
        listed = f"Its {len(columns)} columns include, nearest first: " + ", ".join(near) + "."
    received = f"--label {label!r}, not a column of {path}" if label else f"the CSV {path!r} without --label"
    raise DatasetError(
        received=received,
        expected="--label naming the column to predict. " + listed,
        fix="Pass --label COLUMN with one of those (--target names the device to deploy to, not the column).",
    )


def _inspect(args) -> int:
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


if __name__ == "__main__":
    sys.exit(main())
