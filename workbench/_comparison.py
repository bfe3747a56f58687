"""The result of a comparison: :class:`Comparison`, its table, variants and what was drawn on it.

Built by ``compare`` (and the widget's ``Bench``); read by the report, the figure, the lens and
the command line. Its fields are declared here: nothing else adds to it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pandas as pd

from .datasets import Dataset
from .errors import TargetError
from .runtime import Converted

ORIGINAL = "original"


@dataclass
class Comparison:
    """The result of :func:`compare`: a table, the converted variants, a plot, a report.

    Attributes
    ----------
    table : pandas.DataFrame
        One row for the original and one per variant; see :func:`compare` for the columns.
    variants : dict of str to Converted
        The converted models by label (``float32``, ``int8``, ...), ready to save or run.
    """

    table: pd.DataFrame
    variants: dict[str, Converted]
    model_name: str
    model_kind: str
    dataset: Dataset
    batch_size: int
    threads: int
    representative: str
    notes: list[str] = field(default_factory=list)
    cancelled: bool = False
    #: The deployment target the table's ``fits`` column is for (a ``workbench.Target``), if any.
    target: object = None
    #: The wrapped model (a ``workbench.sources.Source``): what :func:`workbench.lens` reads
    #: layer names from and re-calibrates; ``None`` for a comparison loaded from elsewhere.
    source: object = field(default=None, repr=False)
    #: The calibration samples the calibrated variants were made with (``None``: none calibrated).
    calibration: object = field(default=None, repr=False)
    #: Every lens drawn on this comparison (``workbench.lens``, the widget's Lens tab), by
    #: ``(variant, layer)``: the report shows each one.
    lenses: dict = field(default_factory=dict, repr=False)
    #: Per-layer errors already measured (``workbench.layer_errors``), by variant label.
    layer_errors: dict = field(default_factory=dict, repr=False)

    @property
    def metric(self) -> str:
        return self.dataset.metric

    @property
    def errors(self) -> dict[str, str]:
        """Modes that failed to convert, with the reason."""
        rows = self.table[self.table["error"] != ""]
        return dict(zip(rows["variant"], rows["error"], strict=True))

    def pareto(self) -> list[str]:
        """Variants that no other variant beats: none is at least as good on metric, size and
        latency together and strictly better on one of them."""
        from ._pareto import pareto_front

        ok = self.table[(self.table["error"] == "") & (self.table["variant"] != ORIGINAL)]
        way = "max" if self.dataset.higher_is_better else "min"
        return pareto_front(ok, {self.metric: way, "size_bytes": "min", "latency_ms_p50": "min"})

    def plot(self):
        """The trade-off figure: metric vs size and metric vs latency (a matplotlib Figure)."""
        from .plots import tradeoff_figure

        return tradeoff_figure(self)

    def figure_png(self) -> bytes:
        """The trade-off figure as PNG bytes, drawn once for the same results.

        The widget shows it and embeds it in the notebook's static copy; returning to a set
        of variants already shown finds it drawn (see ``plots.cached_png``).
        """
        from .plots import cached_png, tradeoff_figure

        key = (
            self.model_name,
            self.dataset.name,
            self.threads,
            self.metric,
            self.table.to_json(orient="split", double_precision=15),
        )
        # Drawn into a kept figure: it becomes PNG bytes at once and is never handed out.
        return cached_png(key, lambda: tradeoff_figure(self, reuse=True))

    def save(self, directory="workbench-report") -> str:
        """Write ``report.html``, ``results.csv``, ``tradeoff.png`` and every ``.tflite``; every
        lens drawn on this comparison (:func:`workbench.lens`, the widget's Lens tab) too.

        Returns the path of ``report.html``. A path that cannot be written raises an
        ``OutputPathError`` and leaves this comparison as it was: save it elsewhere.
        """
        from ._paths import prepare_directory, write_failed
        from .report import write_report

        directory = prepare_directory(directory)
        try:
            return write_report(self, directory)
        except OSError as err:
            raise write_failed(directory, err) from None

    def fitting(self) -> list[str]:
        """The variants that run on the target within its budget (empty without a target)."""
        if "fits" not in self.table:
            return []
        return [v for v, f in zip(self.table["variant"], self.table["fits"], strict=True) if f is True]

    def with_target(self, target) -> Comparison:
        """The same measurements judged against another target's budget, without measuring again."""
        from .targets import as_target, refit

        if "tflm" not in self.table:
            raise TargetError(
                received="a comparison made without target=",
                expected="A comparison whose variants were run on TFLite Micro.",
                fix="Run compare(..., target=...) once; with_target() then re-judges it for any budget.",
            )
        target = as_target(target)
        rows = [refit(row, target) for row in self.table.to_dict("records")]
        table = pd.DataFrame(rows, columns=list(self.table.columns))
        return dataclasses.replace(self, table=table, target=target)

    def fit_summary(self) -> str:
        """Which variants fit the target, and one line per variant saying why (not)."""
        from .targets import fit_summary

        return fit_summary(self)

    def summary(self) -> str:
        """The table as aligned text, for terminals and logs."""
        from .report import format_table

        return format_table(self.table).to_string(index=False)

    def __repr__(self) -> str:
        head = (
            f"Comparison of {self.model_name} on {self.dataset.name} ({self.metric}, threads={self.threads})"
        )
        return head + "\n" + self.summary()

    def _repr_html_(self) -> str:
        from .report import comparison_html

        return comparison_html(self, figure=True)
