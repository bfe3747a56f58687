"""What a deployment target is: a :class:`Target` (a board's or a phone's RAM and flash, and the
runtime it runs), the presets, and whether a measured variant fits one (:func:`fits`).

Below the table's deployment columns (``_deployment``) and the public face (``targets``)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np

from ._bytes import GIB, KIB, MIB, byte_budget, format_bytes
from ._runtimes import RUNTIMES
from .errors import TargetError


# ------------------------------------------------------------------------------------- targets
@dataclass(frozen=True)
class Target:
    """Where a variant should run and the memory it may use there.

    Parameters
    ----------
    name : str, default="custom"
    ram_bytes : int or None
        RAM for the model's working memory: the TFLite Micro tensor arena on a
        microcontroller, the interpreter's memory beyond the file with LiteRT. ``None``:
        no limit.
    flash_bytes : int or None
        Storage for the model itself (flash on a microcontroller). ``None``: no limit.
    runtime : {"tflm", "litert"}, default="tflm"
        The runtime the device runs ``.tflite`` files with.
    description : str, default=""
    """

    name: str = "custom"
    ram_bytes: int | None = None
    flash_bytes: int | None = None
    runtime: str = "tflm"
    description: str = ""

    def __post_init__(self):
        for field in ("ram_bytes", "flash_bytes"):
            object.__setattr__(self, field, byte_budget(field, getattr(self, field)))
        if self.runtime not in RUNTIMES:
            raise TargetError(
                received=f"runtime={self.runtime!r}",
                expected=f"One of {', '.join(map(repr, RUNTIMES))}.",
                fix="Use 'tflm' for a microcontroller, 'litert' for a phone or a PC.",
            )

    def describe(self) -> str:
        ram = "any" if self.ram_bytes is None else format_bytes(self.ram_bytes)
        flash = "any" if self.flash_bytes is None else format_bytes(self.flash_bytes)
        return f"{self.name}: {ram} RAM, {flash} flash, {RUNTIMES[self.runtime].name}"


def as_target(target) -> Target:
    """A :class:`Target` from a preset name, a budget string, a dict, or a Target.

    Parameters
    ----------
    target : str, dict or Target
        ``"cortex-m4"`` (see :data:`PRESETS`); ``"ram=256KB,flash=1MB"``; a dict such as
        ``{"ram": "256KB", "flash": "1MB"}`` or ``{"ram_bytes": 262144}``. KB, MB and GB are
        the binary units datasheets mean (1 KB = 1024 bytes); plain numbers are bytes.
    """
    if isinstance(target, Target):
        return target
    if isinstance(target, dict):
        return _target_from_dict(target)
    if isinstance(target, str):
        name = target.strip().lower()
        if name in PRESETS:
            return PRESETS[name]
        if "=" in name:
            pairs = [part.split("=", 1) for part in name.split(",") if part.strip()]
            if all(len(pair) == 2 for pair in pairs):
                return _target_from_dict({k.strip(): v.strip() for k, v in pairs})
        near = difflib.get_close_matches(name, list(PRESETS), n=1, cutoff=0.4)
        hint = f" Did you mean {near[0]!r}?" if near else ""
        raise TargetError(
            received=f"target={target!r}",
            expected=f"A preset ({', '.join(PRESETS)}) or a budget such as 'ram=256KB,flash=1MB'.",
            fix=f"Presets: {presets_help()}.{hint}",
        )
    raise TargetError(
        received=f"target of type {type(target).__name__}",
        expected="A preset name, a dict of budgets or a workbench.Target.",
        fix="Pass e.g. target='cortex-m4' or target={'ram': '256KB', 'flash': '1MB'}.",
    )


_KEYS = {"ram": "ram_bytes", "ram_bytes": "ram_bytes", "flash": "flash_bytes", "flash_bytes": "flash_bytes"}


def _target_from_dict(budget: dict) -> Target:
    unknown = [k for k in budget if k not in (*_KEYS, "name", "runtime", "description")]
    if unknown:
        raise TargetError(
            received=f"budget keys {', '.join(map(repr, unknown))}",
            expected="Keys among ram, flash (or ram_bytes, flash_bytes), name, runtime, description.",
            fix="Write e.g. {'ram': '256KB', 'flash': '1MB'}.",
        )
    fields = {_KEYS.get(k, k): v for k, v in budget.items()}
    return Target(**fields)


#: The presets: published RAM/flash of common boards. A board is a row here, nothing else.
PRESETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target(
            "cortex-m4", 256 * KIB, 1 * MIB, "tflm", "Arduino Nano 33 BLE Sense class (nRF52840, Cortex-M4F)"
        ),
        Target("cortex-m7", 320 * KIB, 1 * MIB, "tflm", "STM32F746 Discovery class (Cortex-M7)"),
        Target("rp2040", 264 * KIB, 2 * MIB, "tflm", "Raspberry Pi Pico (RP2040, Cortex-M0+)"),
        Target("esp32-s3", 512 * KIB, 8 * MIB, "tflm", "ESP32-S3 with 512 KB SRAM and 8 MB flash, no PSRAM"),
        Target(
            "phone",
            1 * GIB,
            4 * GIB,
            "litert",
            "a phone app with LiteRT on the CPU (1 GiB RAM, 4 GiB storage for the model: an assumption)",
        ),
    )
}


def presets_help() -> str:
    """One line per preset, for ``--help`` and error messages."""
    return "; ".join(f"{t.describe()} ({t.description})" for t in PRESETS.values())


def fits(columns: dict, target) -> tuple[bool, str]:
    """Whether a variant with these deployment columns fits ``target``, and why (not)."""
    target = as_target(target)
    runtime = RUNTIMES[target.runtime]
    if runtime.runs_column is not None and not columns[runtime.runs_column]:
        return False, f"does not run on {runtime.name}"
    ram, ram_label = columns[runtime.ram_column], runtime.ram_label
    flash = columns["flash_bytes"]
    parts, ok = [], True
    for label, used, budget in ((ram_label, ram, target.ram_bytes), ("flash", flash, target.flash_bytes)):
        if budget is None or used is None or (isinstance(used, float) and np.isnan(used)):
            continue
        share = used / budget
        ok &= used <= budget
        parts.append(
            f"{label} {format_bytes(used)} {'≤' if used <= budget else '>'} {format_bytes(budget)} ({share:.0%})"
        )
    detail = ", ".join(parts)
    if runtime.runs_column is not None and columns.get(f"{runtime.runs_column}_reason"):
        detail += "; but " + columns[f"{runtime.runs_column}_reason"]
    return bool(ok), detail
