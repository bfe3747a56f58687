"""What the workbench's controller holds: the user's settings and the progress of its work.

Plain dataclasses: the widget writes :class:`Settings`; a run reports through
:class:`RunState` and a budget search through :class:`FindState`, both a :class:`Progress`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..compare import Comparison
from ..modes import DEFAULT_MODES, Mode


@dataclass
class Settings:
    """Everything the user picks. The widget writes these; ``run()`` reads a copy."""

    model: str = "digits_cnn"
    dataset: str | None = None  # None: the example's own dataset
    modes: tuple[str, ...] = DEFAULT_MODES
    int8_io: str = "int8"
    representative: int = 200
    strategy: str = "random"
    seed: int = 0
    #: How static recipes compute activation ranges: "minmax", "percentile" or "ema" (workbench.Calibration).
    calibration: str = "minmax"
    threads: int = 1
    live: bool = False
    latency_budget: float = 0.1  # seconds of timed calls per variant: the live loop stays quick
    keep_float: int = 0  # mixed precision: int8 and each recipe with its worst K layers kept higher
    device: object = None  # a deployment target (preset name, budget dict or Target); None: none
    output: str | None = None  # the head scored, for a Keras model with several; None: the first

    def mode(self, name: str) -> Mode:
        """The mode ``name`` as picked: the "int8 I/O" choice belongs to the converter's int8."""
        return Mode(name, io=self.int8_io) if name == "int8" else Mode(name)

    def sampling(self) -> tuple[int, str, int]:
        """How calibration samples are drawn: (representative, strategy, seed)."""
        return (self.representative, self.strategy, self.seed)

    def search_options(self) -> dict:
        """The :func:`workbench.search` arguments these settings decide (same names)."""
        names = ("representative", "strategy", "seed", "calibration", "threads")
        return {"target": self.device, **{name: getattr(self, name) for name in names}}


@dataclass
class Progress:
    """Background work while and after it runs: how far along, and what it is doing."""

    running: bool = False
    done: int = 0
    total: int = 0
    status: str = ""


@dataclass
class RunState(Progress):
    """What the widget shows while and after working."""

    status: str = "Pick a model, a dataset and modes, then press Run."
    variant_status: dict[str, str] = field(default_factory=dict)
    comparison: Comparison | None = None
    error: str | None = None
    error_details: str = ""
    cached_hits: int = 0
    diagnosis: object = None
    diagnosing: bool = False


@dataclass
class FindState(Progress):
    """A budget search ("Find best") while and after it runs."""

    result: object = None  # a workbench.Search
    error: str | None = None
