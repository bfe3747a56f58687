"""The comparison table's columns, defined once: name, type, meaning, and which way is better.

Every table row is built by :func:`row` (a measured variant, the original) or :func:`failed_row`
(a variant that did not convert or run), so a row never has a column this list does not name;
``compare``'s docstring, the report's "best" marks and the default view read the same list.
Columns per output head (``agreement[<name>]``) and per metric (``accuracy``, ``r2``, ``mse``)
are written with :func:`is_column`'s patterns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Column:
    """One column of a comparison table.

    Attributes
    ----------
    name : str
    kind : {"str", "int", "float", "bool"}
    meaning : str
        One sentence, as the documentation and the report's tooltips say it.
    better : {"max", "min", None}
        Which way is better, for the report's "best" marks (None: not ranked).
    shown : bool
        In the default view of the report and the widget (the rest are one click away).
    """

    name: str
    kind: str
    meaning: str
    better: str | None = None
    shown: bool = False


#: The metric columns: one of them per table, by the dataset's task.
METRICS = {
    "accuracy": Column("accuracy", "float", "Share of test labels predicted right.", "max", True),
    "r2": Column("r2", "float", "Coefficient of determination on the test targets.", "max", True),
    "mse": Column(
        "mse", "float", "Mean squared error per value (an autoencoder's reconstruction).", "min", True
    ),
}

COLUMNS: tuple[Column, ...] = (
    Column("variant", "str", "The row: `original`, a mode, or a mode with layers kept.", None, True),
    Column(
        "mode", "str", "The quantization mode (for a .tflite compared as-is: what the file is).", None, True
    ),
    Column(
        "path",
        "str",
        (
            "What made it: the converter, LiteRT Quantizer, the workbench's integer trees (a tree "
            "ensemble's static recipes), or the file as-is."
        ),
        None,
        True,
    ),
    Column(
        "size_bytes",
        "int",
        "The exact size of the .tflite (the original's own format for the original).",
        "min",
        True,
    ),
    Column("size_ratio", "float", "size_bytes over the original's.", "min"),
    Column("metric_delta", "float", "The metric minus the original's.", None, True),
    Column(
        "agreement",
        "float",
        "Share of test samples whose label (or value, within tolerance) equals the original's.",
        "max",
        True,
    ),
    Column("max_abs_diff", "float", "Largest absolute difference from the original's outputs.", "min", True),
    Column(
        "error_rank_corr", "float", "Spearman correlation of per-sample errors with the original's.", "max"
    ),
    Column(
        "roc_auc",
        "float",
        "Anomaly detection from the reconstruction error (with anomaly labels).",
        "max",
        True,
    ),
    Column("latency_ms_p50", "float", "Median single-sample latency, LiteRT, one thread.", "min", True),
    Column("latency_ms_p90", "float", "90th-percentile single-sample latency.", "min"),
    Column("batch_latency_ms", "float", "Latency of one batch call.", "min"),
    Column("speedup", "float", "The float32 .tflite's median latency over this row's.", "max", True),
    Column("convert_s", "float", "Seconds the conversion or recipe took.", None),
    Column("speedup_vs_original", "float", "The original's own call over this row's latency.", None),
    Column(
        "calibration",
        "str",
        "The statistic its activation ranges were computed with (calibrated rows).",
        None,
    ),
    Column("error", "str", "Why the variant has no numbers (empty when it has).", None),
    Column(
        "note", "str", "Why an 8-bit-or-wider variant lost far more than it should, read from its file.", None
    ),
    # With a target (the deployment columns, see _deployment):
    Column("tflm", "bool", "It loads, allocates and invokes on TFLite Micro.", None, True),
    Column("tflm_reason", "str", "Why it does not run on TFLite Micro, or answers otherwise.", None),
    Column("tflm_arena_bytes", "float", "The smallest TFLite Micro arena it runs in, measured.", "min", True),
    Column("flash_bytes", "float", "The model's bytes, which a board keeps in flash.", "min"),
    Column("tflm_agreement", "float", "TFLite Micro's labels against LiteRT's for the same file.", "max"),
    Column(
        "tflm_max_abs_diff", "float", "TFLite Micro's outputs against LiteRT's, largest difference.", None
    ),
    Column(
        "litert_memory_bytes",
        "float",
        "LiteRT's memory beyond the file: peak live tensor bytes (estimate).",
        "min",
    ),
    Column("fits", "bool", "It fits the target's RAM and flash.", None, True),
    Column("fits_detail", "str", "What the budget allows and what it needs.", None),
)

BY_NAME: dict[str, Column] = {c.name: c for c in (*COLUMNS, *METRICS.values())}
_PER_HEAD = re.compile(r"(agreement|max_abs_diff)\[.+\]")


def is_column(name: str) -> bool:
    """Whether ``name`` is a column of the table (per-head columns included)."""
    return name in BY_NAME or bool(_PER_HEAD.fullmatch(name))


def row(**values) -> dict:
    """A table row from its columns' values, in the table's order; a name no column has is a bug
    of the caller's (``ValueError``)."""
    unknown = [name for name in values if not is_column(name)]
    if unknown:
        raise ValueError(f"not columns of the comparison table: {unknown}")
    return values


def failed_row(variant: str, mode: str, path: str, error: str) -> dict:
    """The row of a variant that has no numbers: its names, and why."""
    return row(variant=variant, mode=mode, path=path, error=error)


def blank(metric: str, *names: str) -> dict:
    """``names`` (and the metric) as missing numbers, for a row measured in part."""
    return {name: np.nan for name in (metric, *names)}
