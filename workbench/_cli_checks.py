"""The command line's arguments checked at the door: each one before any model loads (seconds
for a Keras model), with an error that names the option and says what it takes.
"""

from __future__ import annotations

import difflib
import os

from ._csv_header import csv_columns
from .errors import DatasetError, InvalidArgumentError, ModelLoadError, TargetError
from .modes import MODE_NAMES, QUANTIZER_MODES, Mode

#: Every kind of model ``--model`` takes (what ``workbench.sources.as_source`` opens).
MODEL_HELP = (
    "the model: a built-in example (digits_cnn, digits_mlp, ...); a Keras model file (.keras, or a "
    "Keras 2 .h5); a SavedModel directory; a .tflite file; or a fitted scikit-learn estimator saved "
    "with skops (.skops) or, with --trust, with pickle or joblib (.pkl, .pickle, .joblib)"
)
_MODEL_EXTENSIONS = (".keras", ".h5", ".tflite", ".skops", ".pkl", ".pickle", ".joblib")


def check_measurement(args) -> None:
    """``--threads``, ``--latency-budget`` and (where the command has it) ``--representative``."""
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
    check_representative(getattr(args, "representative", 1))


def check_representative(count: int) -> None:
    """``--representative``: a number of calibration samples, 1 or more."""
    if count < 1:
        raise InvalidArgumentError(
            received=f"--representative {count}",
            expected="A number of calibration samples, 1 or more.",
            fix="Use --representative 200.",
        )


def check_model(model: str | None, command: str) -> None:
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


def target_argument(value: str):
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


def dataset_argument(dataset, label):
    """A built-in name, a CSV path (with --label), or None for an example's own dataset."""
    from .datasets import Dataset, load_dataset

    if dataset is None:
        return None
    if dataset.lower().endswith(".csv") or os.path.isfile(dataset):
        check_csv(dataset, label)
        return Dataset.from_csv(dataset, target=label)
    return load_dataset(dataset)


#: Up to this many columns, a missing label lists them all; beyond it, the nearest ones.
_COLUMNS_LISTED = 20


def check_csv(path: str, label: str | None) -> None:
    """The CSV exists and has the label column: read from its header alone."""
    if not os.path.isfile(path):
        raise DatasetError(
            received=f"--dataset {path!r}: no such file",
            expected="A CSV file with a header row, or a built-in dataset name.",
            fix="Check the path (relative paths start from " + os.getcwd() + ").",
        )
    columns = csv_columns(
        path,
        f"--dataset {path!r}",
        "Check that the file is a comma-separated table with column names in its first line.",
    )
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


def tflite_signature(model, args):
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
