"""The ``workbench`` command: ``demo``, ``compare``, ``convert``, ``search``, ``inspect``, ``app``.

Bad input ends with one clear line on stderr and exit status 2, never a traceback. This
module holds the options of each subcommand; what each does is in ``_cli_commands`` and
how its arguments are checked in ``_cli_checks``.
"""

from __future__ import annotations

import argparse
import sys

from ._cli_checks import MODEL_HELP, split_modes
from ._cli_commands import (
    DEMO_MODES,
    app_command,
    compare_command,
    convert_command,
    demo_command,
    inspect_command,
    search_command,
)
from .errors import WorkbenchError
from .modes import DEFAULT_MODES, MODE_NAMES, QUANTIZER_MODES

__all__ = ["DEMO_MODES", "EXIT_USAGE", "MODEL_HELP", "main", "split_modes"]

EXIT_USAGE = 2


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
    demo.set_defaults(run=demo_command)

    compare = commands.add_parser("compare", help="compare a model in several modes with the original")
    _model_options(compare)
    _dataset_options(compare)
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
    compare.set_defaults(run=compare_command)

    convert = commands.add_parser("convert", help="convert a model in one mode and write the .tflite")
    _model_options(convert)
    convert.add_argument(
        "--mode",
        default="float32",
        help="one of: " + ", ".join((*MODE_NAMES, *QUANTIZER_MODES)) + " (default: %(default)s)",
    )
    _dataset_options(convert, "dataset for calibration (int8, int16x8, static_*)")
    convert.add_argument("--representative", type=int, default=200, metavar="N")
    _calibration_option(convert)
    convert.add_argument(
        "--format",
        choices=("tflite", "c"),
        default="tflite",
        help="tflite: the flatbuffer; c: a .cc/.h pair holding it as an aligned array for TFLite Micro",
    )
    convert.add_argument("--out", required=True, help="output file (.tflite, or .cc with --format c)")
    convert.set_defaults(run=convert_command)

    search = commands.add_parser(
        "search", help="find the smallest (or fastest) variant that keeps the metric and fits a device"
    )
    _model_options(search)
    _dataset_options(search)
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
    search.set_defaults(run=search_command)
    inspect = commands.add_parser(
        "inspect", help="what a .tflite really is: I/O, ops and their types, sizes, where it runs"
    )
    inspect.add_argument("file", help="a .tflite file (read, never modified)")
    inspect.add_argument(
        "--no-run", action="store_true", help="read the flatbuffer only; do not try LiteRT and TFLite Micro"
    )
    inspect.add_argument("--signature", metavar="NAME", help=_SIGNATURE_HELP)
    inspect.set_defaults(run=inspect_command)

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
    app.set_defaults(run=app_command)
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


def _dataset_options(
    parser, dataset_help: str = "built-in dataset name or CSV path (default: the example's own)"
):
    parser.add_argument("--dataset", help=dataset_help)
    parser.add_argument("--label", help="the column to predict, for a CSV dataset")


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


if __name__ == "__main__":
    sys.exit(main())
