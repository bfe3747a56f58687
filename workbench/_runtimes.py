"""The runtimes a variant can run on, as rows: LiteRT (a phone, a PC) and TFLite Micro (a board).

A runtime is one :class:`Runtime` row: its name, the table column holding the RAM it needs and
how that is called, the column saying whether a variant runs on it, and its check, which says in
one line whether a loaded file runs there. :func:`where_it_runs` asks every row; a
:class:`workbench.Target` names one row (``runtime="tflm"``) and the budget columns follow from
it. Adding a runtime is adding a row here (and its check module).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._bytes import format_bytes
from ._litert import probe_litert, runtime_failure
from ._micro_check import micro_check, refused_types


@dataclass(frozen=True)
class Runtime:
    """One runtime a ``.tflite`` can run on.

    Attributes
    ----------
    key : str
        How targets and the command line name it (``"tflm"``).
    name : str
        How people name it (``"TFLite Micro"``).
    ram_column : str
        The table column with the RAM a variant needs there.
    ram_label : str
        What that RAM is called in a fit's explanation (``"arena"``).
    runs_column : str or None
        The table column saying whether a variant runs there; ``None`` when every variant the
        table has measured ran on it (LiteRT: a variant it refuses is an error row).
    where : callable
        ``where(converted) -> str``: whether this loaded file runs there, in one line.
    """

    key: str
    name: str
    ram_column: str
    ram_label: str
    runs_column: str | None
    where: Callable[[object], str]


def _on_litert(converted) -> str:
    # LiteRT's answer is the worker's, at the file's declared shapes: it holds for any input
    # (a scalar, text) and never risks the caller.
    probe = probe_litert(converted.content)
    if not probe.safe:
        return f"runs on LiteRT: no (it ended the worker process that opened it: {probe.crashed})"
    if probe.stage == "invoked":
        return "runs on LiteRT: yes"
    stage = "allocation" if probe.stage in ("load", "allocation") else "invocation"
    return f"runs on LiteRT: no ({runtime_failure(probe.error, stage, 1).received})"


def _on_micro(converted) -> str:
    if any(np.dtype(info.dtype).kind in "OSU" for info in converted.inputs):
        return f"runs on TFLite Micro: no ({refused_types({'STRING'})})"
    if len(converted.inputs) > 1:
        return "runs on TFLite Micro: not checked (several inputs)"
    check = micro_check(converted)
    if check.runs:
        return (
            f"runs on TFLite Micro: yes, arena {check.arena_bytes:,} bytes ({format_bytes(check.arena_bytes)}, "
            f"64-bit host; a 32-bit build needs somewhat less)"
        )
    return f"runs on TFLite Micro: no ({check.reason})"


RUNTIMES: dict[str, Runtime] = {
    r.key: r
    for r in (
        Runtime("tflm", "TFLite Micro", "tflm_arena_bytes", "arena", "tflm", _on_micro),
        Runtime("litert", "LiteRT", "litert_memory_bytes", "memory (est.)", None, _on_litert),
    )
}


def where_it_runs(converted) -> list[str]:
    """Lines saying whether a file allocates and invokes on each runtime (LiteRT first)."""
    return [RUNTIMES[key].where(converted) for key in ("litert", "tflm")]
