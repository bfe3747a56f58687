"""What :func:`workbench.search` returns: every candidate, the Pareto set and the recommendation.

A :class:`Search` holds the table of candidates, the variants worth keeping (the Pareto set,
the recommended one, the closest misses) as :class:`workbench.runtime.Converted`, the code
that reproduces the recommendation, and what is needed to rebuild any other scored candidate
on demand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ._budget import code_for, describe_budget
from ._candidates import converted_from
from .errors import InvalidArgumentError
from .runtime import Converted


@dataclass
class Search:
    """The result of :func:`search`: every candidate, the Pareto set and the recommendation.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per candidate (and the original's first), with the columns of
        :func:`workbench.compare` and ``recipe``, ``kept_layers``, ``keep_precision``,
        ``meets_metric``, ``meets_flash``, ``meets_ram`` (``None``: not checked), ``feasible``,
        ``pareto`` and ``miss`` (what a candidate misses the budget by).
    recommended : str or None
        The candidate that meets the budget with the best objective; ``None`` if none does.
    closest : list of str
        When none meets it: the candidates that come closest, each with ``miss`` in the table.
    code : str
        Plain ``litert_quantizer`` (or converter) code that reproduces the recommended variant.
    """

    table: pd.DataFrame
    variants: dict[str, Converted]
    recommended: str | None
    pareto: list[str]
    closest: list[str]
    code: str
    budget: dict
    objective: str
    metric: str
    notes: list[str]
    cancelled: bool = False
    timed_out: bool = False
    seconds: float = 0.0
    hub_seconds: float = 0.0
    #: Whether any task's process had TensorFlow loaded (it should not: tasks stay small).
    tensorflow_in_tasks: bool = False
    #: The process ids that scored candidates.
    task_pids: frozenset = frozenset()
    _candidates: dict = field(default_factory=dict, repr=False)
    _contents: dict = field(default_factory=dict, repr=False)
    _io: dict = field(default_factory=dict, repr=False)
    #: The statistic its static candidates were calibrated with (a ``workbench.Calibration``).
    _statistic: object = field(default=None, repr=False)

    def code_for(self, label: str) -> str:
        """Plain code that reproduces the candidate ``label`` (see :meth:`Mode.snippet`)."""
        if label not in self._candidates:
            raise InvalidArgumentError(
                received=f"label={label!r}",
                expected=f"One of the candidates: {', '.join(list(self._candidates)[:12])}, ...",
                fix="Pick a label from the table's variant column.",
            )
        return code_for(self._candidates[label], self._statistic)

    def variant(self, label: str) -> Converted:
        """Any scored candidate as a Converted, ready to save or run."""
        if label not in self._contents:
            raise InvalidArgumentError(
                received=f"label={label!r}",
                expected="A candidate that was scored (its row has no error).",
                fix="Pick a label from the table's variant column whose error is empty.",
            )
        return self.variants.get(label) or converted_from(self._contents[label], self._io)

    @property
    def best(self) -> Converted | None:
        """The recommended variant, ready to save or run (``None`` if no candidate meets the budget)."""
        return self.variants.get(self.recommended) if self.recommended else None

    def plot(self):
        """Every candidate (metric vs size and vs latency), the frontier and the budget lines."""
        from .plots import search_figure

        return search_figure(self)

    def summary(self) -> str:
        lines = [
            f"{len(self.table) - 1} candidates in {self.seconds:.1f} s; budget: {describe_budget(self.budget, self.metric)}"
        ]
        if self.recommended:
            row = self.table.set_index("variant").loc[self.recommended]
            lines.append(
                f"recommended: {self.recommended} — {row['size_bytes']:,} bytes, {self.metric} "
                f"{row[self.metric]:.4f} ({row['metric_delta']:+.4f}), {row['latency_ms_p50']:.3f} ms"
            )
        else:
            lines.append("no candidate meets the budget; closest:")
            misses = self.table.set_index("variant")["miss"]
            lines += [f"  {label}: {misses[label]}" for label in self.closest]
        lines.append(f"Pareto set: {', '.join(self.pareto)}")
        lines += self.notes
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        import base64
        import html

        from .plots import figure_png
        from .report import table_html

        png = base64.b64encode(figure_png(self.plot())).decode()
        columns = [
            c
            for c in (
                "variant",
                "size_bytes",
                self.metric,
                "metric_delta",
                "latency_ms_p50",
                "tflm_arena_bytes",
                "feasible",
                "pareto",
                "miss",
            )
            if c in self.table
        ]
        shown = self.table[self.table["pareto"] | (self.table["variant"] == self.recommended)]
        return (
            f"<pre>{html.escape(self.summary())}</pre>"
            + table_html(shown[columns])
            + f'<img alt="search" src="data:image/png;base64,{png}">'
            + f"<pre>{html.escape(self.code)}</pre>"
        )
