"""A search's budget: which candidates meet it, by how much the others miss, per-layer
precision, the device check and the Pareto set (see :func:`workbench.search`)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import _inputs as inputs
from . import _pareto
from ._candidates import Candidate, Group, Runner, bench_io, converted_from
from ._keep_layers import auto_precision, kept_label
from .compare import ORIGINAL, Bench
from .convert import float32_hub
from .errors import BudgetError
from .modes import Mode
from .runtime import Converted

#: Layers whose precision is searched one count at a time; beyond, the counts halve.
DENSE_LADDER = 12


def check_budget(max_metric_drop, max_flash, max_ram, target) -> dict:
    from .targets import as_target, byte_budget, format_bytes

    if (
        isinstance(max_metric_drop, bool)
        or not isinstance(max_metric_drop, (int, float, np.integer, np.floating))
        or not math.isfinite(max_metric_drop)
    ):
        raise BudgetError(
            received=f"max_metric_drop={max_metric_drop!r}",
            expected="How much of the metric a variant may lose, a number such as 0.01 (one point of accuracy).",
            fix="Pass max_metric_drop=0.01.",
        )
    if max_metric_drop < 0:
        raise BudgetError(
            received=f"max_metric_drop={max_metric_drop!r}, which asks every variant to beat the original",
            expected="A drop of 0 or more: quantization cannot be required to gain accuracy.",
            fix="Pass max_metric_drop=0 for no loss at all, or e.g. 0.01.",
        )
    resolved = as_target(target) if target is not None else None
    flash = byte_budget("max_flash", max_flash)
    ram = byte_budget("max_ram", max_ram)
    for name, given, device in (
        ("max_flash", flash, resolved.flash_bytes if resolved else None),
        ("max_ram", ram, resolved.ram_bytes if resolved else None),
    ):
        if given is not None and device is not None and given > device:
            raise BudgetError(
                received=f"{name}={format_bytes(given)} with target {resolved.name!r}, which has {format_bytes(device)}",
                expected=f"A {name.split('_')[1]} budget within the device's ({format_bytes(device)}).",
                fix=f"Leave {name} out to use the device's, or pass at most {format_bytes(device)}.",
            )
    flash = flash if flash is not None else (resolved.flash_bytes if resolved else None)
    ram = ram if ram is not None else (resolved.ram_bytes if resolved else None)
    if resolved is not None or ram is not None:
        from .targets import Target

        runtime = resolved.runtime if resolved else "tflm"
        name = resolved.name if resolved else "custom"
        target = Target(name=name, ram_bytes=ram, flash_bytes=flash, runtime=runtime)
    return {"max_metric_drop": float(max_metric_drop), "flash": flash, "ram": ram, "target": target}


def describe_budget(budget: dict, metric: str) -> str:
    from .targets import format_bytes

    parts = [f"{metric} drop ≤ {budget['max_metric_drop']:g}"]
    if budget["flash"] is not None:
        parts.append(f"flash ≤ {format_bytes(budget['flash'])}")
    if budget["ram"] is not None:
        parts.append(f"RAM ≤ {format_bytes(budget['ram'])}")
    if budget["target"] is not None:
        parts.append(f"on {budget['target'].name} ({budget['target'].runtime})")
    return ", ".join(parts)


def loss(row: dict, budget: dict) -> float:
    """How much worse than the original a candidate scores: a drop in accuracy or R², a rise
    in mean squared error."""
    if row.get("error"):
        return math.inf
    delta = row["metric_delta"]
    return -delta if budget.get("higher_is_better", True) else delta


def meets(row: dict, budget: dict, metric: str) -> tuple[bool, bool]:
    if row.get("error"):
        return False, False
    tolerance = 1e-12
    meets_metric = loss(row, budget) <= budget["max_metric_drop"] + tolerance
    meets_flash = budget["flash"] is None or row["size_bytes"] <= budget["flash"]
    return bool(meets_metric), bool(meets_flash)


def best_first(rows: list[dict], objective: str, metric: str) -> list[dict]:
    key = "size_bytes" if objective == "size" else "latency_ms_p50"
    return sorted(rows, key=lambda r: (r[key], r["_loss"], r["size_bytes"]))


def feasible(row: dict) -> bool:
    return bool(row["meets_metric"] and row["meets_flash"] and (not row["_needs_ram"] or row["meets_ram"]))


def best_row(rows, objective, metric):
    """The best row known to meet the whole budget (RAM included where it is asked for)."""
    ok = [r for r in rows if feasible(r)]
    return best_first(ok, objective, metric)[0] if ok else None


class Refinement:
    """Per-layer precision for one recipe: which layers stay at higher precision.

    Each layer's own error is measured alone: a probe quantizes that layer with the recipe
    and keeps every other layer in float, and its output error on calibration samples (never
    the test split) ranks it. Ranked one at a time like this, a layer that wrecks the model
    cannot hide the layers after it (end-to-end, every layer after a bad one looks bad, and
    an op's own share looks small once its input is already ruined). The recipe is then
    tried with its worst k layers at higher precision for every k, from all of them down:
    the climb from the aggressive end and the descent from the safe end are the same ladder,
    scored in parallel.
    """

    def __init__(self, mode: Mode, ops: pd.DataFrame, ranking):
        self.mode = mode
        self.ops = ops
        self.ranking = ranking
        self.precision = auto_precision(mode)
        self.layers = list(dict.fromkeys(ops["layer"]))

    def probes(self) -> list[Candidate]:
        """One probe per layer: the recipe on that layer alone."""
        from .quantize import keep_scopes

        probes = []
        for layer in self.layers:
            others = [other for other in self.layers if other != layer]
            scopes = keep_scopes(self.ops, others, "float")[0] if others else {}
            probes.append(
                Candidate(
                    f"{self.mode.name} on {layer} alone",
                    self.mode,
                    keep=tuple(scopes.items()),
                    probe=self.ranking,
                )
            )
        return probes

    def ladder(self, errors: dict[str, float]) -> list[Candidate]:
        """The recipe with its worst k layers (by their probes) at higher precision, every k."""
        from .quantize import keep_scopes

        worst_first = sorted(self.layers, key=lambda layer: -errors.get(layer, 0.0))
        candidates = []
        for k in ladder(len(worst_first)):
            scopes, kept = keep_scopes(self.ops, worst_first[:k], self.precision)
            candidates.append(
                Candidate(
                    kept_label(self.mode, self.precision, k),
                    self.mode,
                    keep=tuple(scopes.items()),
                    kept_layers=tuple(kept),
                    precision=self.precision,
                )
            )
        return candidates


def weighted_ops(hub: Converted, layer_of) -> pd.DataFrame:
    """The ops with float weights (the ones a recipe quantizes) by layer: ``layer, op, tensor``."""
    from ._flatbuffer import op_graph

    weighted = weighted_outputs(hub.content)
    rows = [
        {"layer": layer_of(name), "op": op["op"], "tensor": name}
        for op in op_graph(hub.content)
        for name in op["outputs"]
        if name in weighted
    ]
    return pd.DataFrame(rows, columns=["layer", "op", "tensor"])


def refinements_for(
    scored, rows, contents, group: Group, device, objective, metric, runner: Runner
) -> list[Refinement]:
    """The recipes worth refining: those that lose too much and, with some layers at higher
    precision, could still beat the best candidate so far (and run on the device)."""
    from ._layers import layer_mapper

    best = best_row(rows, objective, metric)
    ranking = group.samples
    if ranking is None or isinstance(ranking, dict):
        runner.notes.append(
            "Per-layer precision was not searched: it ranks layers on one input's calibration samples."
        )
        return []
    source = group.bench.source
    ops = weighted_ops(float32_hub(source), layer_mapper(source, 600.0))
    if ops["layer"].nunique() < 2:
        return []  # one layer: keeping it is the float model or another recipe
    chosen = []
    for (candidate, _), row in zip(scored, rows, strict=True):
        mode = candidate.mode
        if not mode.from_float_file or row.get("error") or row["meets_metric"] or runner.stop_requested():
            continue  # keeping layers at higher precision buys back accuracy, nothing else
        if best is not None and objective == "size" and row["size_bytes"] >= best["size_bytes"]:
            continue  # keeping layers only adds bytes: it cannot beat the best
        if not device.could_run(row, contents):
            runner.notes.append(
                f"{mode.name}: layers not searched, since it does not run on {device.target.name} "
                f"({row['tflm_reason']})."
            )
            continue
        chosen.append(Refinement(mode, ops, inputs.take(ranking, slice(0, 100))))
    return chosen


def weighted_outputs(content: bytes) -> set[str]:
    """Output tensors of the ops with float weights: the ones a recipe quantizes."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    from ._flatbuffer import op_graph

    details = Interpreter(model_content=content).get_tensor_details()
    floats = {d["name"] for d in details if d["dtype"] == np.float32}
    return {
        name for op in op_graph(content) if any(w in floats for w in op["weights"]) for name in op["outputs"]
    }


def ladder(count: int) -> list[int]:
    """Layer counts to try, from all layers kept down: every count for small models, and beyond
    ``DENSE_LADDER`` layers, halving."""
    if count <= DENSE_LADDER:
        return list(range(count, 0, -1))
    ladder, k = [], count
    while k > DENSE_LADDER:
        ladder.append(k)
        k //= 2
    return ladder + list(range(k, 0, -1))


def with_candidate_columns(candidate: Candidate, row: dict) -> dict:
    return {
        **row,
        "recipe": candidate.mode.name,
        "kept_layers": ", ".join(candidate.kept_layers),
        "keep_precision": candidate.precision,
    }


def judge_row(row: dict, budget: dict, metric: str) -> None:
    row["_loss"] = loss(row, budget)
    row["meets_metric"], row["meets_flash"] = meets(row, budget, metric)
    row["meets_ram"] = None
    row["_needs_ram"] = budget["ram"] is not None or (
        budget["target"] is not None and budget["target"].runtime == "tflm"
    )
    target = budget["target"]
    if (
        target is not None
        and target.runtime == "litert"
        and budget["ram"] is not None
        and not row.get("error")
    ):
        row["meets_ram"] = bool(row["litert_memory_bytes"] <= budget["ram"])


class Devices:
    """TFLite Micro checks for a search, each variant at most once."""

    def __init__(self, bench: Bench, target, runner: Runner):
        self.bench = bench
        self.target = target
        self.runner = runner

    @property
    def active(self) -> bool:
        return self.target is not None and self.target.runtime == "tflm"

    def check(self, row: dict, contents: dict) -> None:
        from ._deployment import deployment

        if "tflm" in row or row["variant"] not in contents:
            return
        self.runner.report(self.runner.done, self.runner.total, f"{row['variant']}: running on TFLite Micro")
        converted = converted_from(contents[row["variant"]], bench_io(self.bench))
        outputs = contents[row["variant"]]["outputs"]  # from its task: not run here again
        bench = self.bench
        row.update(
            deployment(
                converted,
                outputs,
                bench.X,
                target=self.target,
                dataset=bench.data,
                output_kind=bench.output_kind,
            )
        )
        row["meets_ram"] = bool(row["fits"])

    def could_run(self, row: dict, contents: dict) -> bool:
        """Whether a recipe runs on the device at all (checked on its own variant)."""
        if not self.active:
            return True
        self.check(row, contents)
        return bool(row.get("tflm", True))

    def walk(self, rows, contents, objective, metric, better_than=None) -> None:
        """Check the rows that meet metric and flash, best first, until one fits."""
        if not self.active:
            return
        hopeful = best_first([r for r in rows if r["meets_metric"] and r["meets_flash"]], objective, metric)
        for row in hopeful:
            if (
                better_than is not None
                and best_first([row, better_than], objective, metric)[0] is better_than
            ):
                break
            if self.runner.stop_requested():
                break
            self.check(row, contents)
            if row["meets_ram"]:
                break


def mark(table: pd.DataFrame, budget: dict, metric: str) -> None:
    """``feasible`` and ``miss`` for every candidate (the original's are empty)."""
    is_original = table["variant"] == ORIGINAL
    for column in ("meets_metric", "meets_flash", "meets_ram", "_needs_ram"):
        if column not in table:
            table[column] = None
        table[column] = table[column].astype(object)
        table.loc[is_original, column] = None
    ok = table["meets_metric"].eq(True) & table["meets_flash"].eq(True)
    ok &= ~table["_needs_ram"].eq(True) | table["meets_ram"].eq(True)
    table["feasible"] = ok & ~is_original
    table["miss"] = [
        "" if original or feasible else miss(row, budget, metric)
        for original, feasible, row in zip(
            is_original, table["feasible"], table.to_dict("records"), strict=True
        )
    ]
    # The caller's frame is changed in place; ``del`` does that without drop(inplace=True),
    # which pandas deprecates.
    for column in ("_needs_ram", "_loss"):
        if column in table:
            del table[column]


def miss(row: dict, budget: dict, metric: str) -> str:
    from .targets import format_bytes

    if row.get("error"):
        return "failed: " + str(row["error"]).splitlines()[0][:120]
    parts = []
    if not row["meets_metric"]:
        lost = loss(row, budget)
        worse = "drop" if budget.get("higher_is_better", True) else "rise"
        parts.append(
            f"{metric} {worse} {lost:.4g} > {budget['max_metric_drop']:g} by {lost - budget['max_metric_drop']:.4g}"
        )
    if not row["meets_flash"]:
        over = row["size_bytes"] - budget["flash"]
        parts.append(
            f"flash {format_bytes(row['size_bytes'])} > {format_bytes(budget['flash'])} by {format_bytes(over)} ({over / budget['flash']:.0%})"
        )
    if row.get("_needs_ram"):
        if row.get("meets_ram") is None:
            parts.append(
                "not run on the device: it missed the other budgets first"
                if parts
                else "not run on the device: a candidate better on the objective fits"
            )
        elif not row["meets_ram"]:
            parts.append(str(row.get("fits_detail") or "does not fit the RAM budget"))
    return "; ".join(parts)


def pareto_front(table: pd.DataFrame, metric: str, higher_is_better: bool = True) -> list[str]:
    """The candidates no other beats on the metric, size and latency together (failed ones and
    the original apart): the package's one :func:`workbench._pareto.pareto_front`, given the
    search's objectives."""
    ok = table[(table["error"] == "") & (table["variant"] != ORIGINAL)]
    way = "max" if higher_is_better else "min"
    return _pareto.pareto_front(ok, {metric: way, "size_bytes": "min", "latency_ms_p50": "min"})


def recommend(table: pd.DataFrame, objective: str, metric: str, budget: dict) -> str | None:
    feasible = table[table["feasible"]]
    if feasible.empty:
        return None
    rows = feasible.to_dict("records")
    for row in rows:
        row["_loss"] = loss(row, budget)
    return best_first(rows, objective, metric)[0]["variant"]


def closest_to_budget(table: pd.DataFrame, budget: dict, count: int = 3) -> list[str]:
    """The candidates nearest the budget: fewest budgets missed, then the smallest shortfall,
    each shortfall relative to its budget."""
    rows = table[(table["variant"] != ORIGINAL) & (table["error"] == "")]

    def distance(row):
        shortfall = 0.0
        if row["meets_metric"] is False:
            shortfall += loss(row, budget) / max(budget["max_metric_drop"], 0.01)
        if row["meets_flash"] is False:
            shortfall += row["size_bytes"] / budget["flash"] - 1
        if row["meets_ram"] is False and budget["ram"]:
            used = row.get("tflm_arena_bytes")
            shortfall += (used / budget["ram"] - 1) if used == used and used else 1.0
        missed = [row["meets_metric"] is False, row["meets_flash"] is False, row["meets_ram"] is False]
        return (sum(missed), shortfall, row["size_bytes"])

    ranked = sorted(rows.to_dict("records"), key=distance)
    return [r["variant"] for r in ranked[:count]]


def retime(table: pd.DataFrame, labels: list[str], contents: dict, bench: Bench) -> list[str]:
    """Each candidate's latency measured again alone, in the worker process; returns the
    labels whose timing crashed it (their latencies stay as the parallel run measured)."""
    from ._candidates import time_alone

    io, judge, crashed = bench_io(bench), bench.judge, []
    for label in dict.fromkeys(labels):
        if label not in contents:
            continue
        answer = contents[label]
        latency = time_alone(answer["content"], io, judge, Mode(answer["row"]["mode"]))
        if latency is None:
            crashed.append(label)
            continue
        where = table["variant"] == label
        table.loc[where, "latency_ms_p50"] = latency.p50_ms
        table.loc[where, "latency_ms_p90"] = latency.p90_ms
        table.loc[where, "batch_latency_ms"] = latency.batch_ms
        table.loc[where, "speedup"] = judge.original_latency.p50_ms / latency.p50_ms
    return crashed


def code_for(candidate: Candidate, calibration=None) -> str:
    return candidate.mode.snippet(
        keep=dict(candidate.keep) if candidate.keep else None, calibration=calibration
    )
