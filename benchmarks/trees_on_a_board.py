"""Tree ensembles on a microcontroller: the exact float32 file and the integer trees of
the static recipes, on LiteRT and TFLite Micro, beside emlearn (issue 24); kernel SVMs
(SVC, with and without probabilities) the same way, their static rows made by LiteRT
Quantizer from the float32 file.

Run: pip install -e .[bench]; python benchmarks/trees_on_a_board.py
(writes the "trees-on-a-board" section of benchmarks/RESULTS.md; progress on stderr)

Each model is fitted on the digits training split (1,347 samples, 64 features, 10
classes) and compared on its test split through ``workbench.compare(..., target=
"cortex-m4")``: size, label agreement with scikit-learn's ``predict``, LiteRT latency of
one sample, and TFLite Micro's answer (its arena, searched, and the flash the file needs).
emlearn (``method="loadable"``, its default for C) is converted from the same fitted
forest: its bytes are its tables as the generated C declares them (nodes of 8 bytes,
tree roots, leaves), its agreement that of its own ``predict`` (int16 inputs, hard votes).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import re  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

OUT = Path(__file__).with_name("RESULTS.md")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # measure this checkout's workbench
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_section  # noqa: E402

MODES = ["float32", "static_wi8_ai8", "static_wi8_ai16"]
#: sizeof(EmlTreesNode) in emlearn's eml_trees.h: int8 feature, int16 value, left, right.
EMLEARN_NODE_BYTES = 8


def _models():
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        GradientBoostingClassifier,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )
    from sklearn.svm import SVC

    return {
        "RandomForestClassifier(100 trees, max_depth=10)": lambda: RandomForestClassifier(
            n_estimators=100, max_depth=10, random_state=0
        ),
        "ExtraTreesClassifier(100 trees, max_depth=10)": lambda: ExtraTreesClassifier(
            n_estimators=100, max_depth=10, random_state=0
        ),
        "GradientBoostingClassifier(100 stages)": lambda: GradientBoostingClassifier(
            n_estimators=100, random_state=0
        ),
        "HistGradientBoostingClassifier()": lambda: HistGradientBoostingClassifier(random_state=0),
        # not a tree: the static recipes apply to its float32 file (LiteRT Quantizer), as for any model
        "SVC(rbf)": lambda: SVC(random_state=0),
        "SVC(rbf, probability=True)": lambda: SVC(probability=True, random_state=0),
    }


def emlearn_row(estimator, X, expected) -> dict | None:
    """emlearn's bytes and label agreement for ``estimator``, or None without emlearn or
    for a model it does not convert."""
    try:
        import emlearn
    except ImportError:
        return None
    try:
        model = emlearn.convert(estimator, method="loadable")
    except Exception as err:  # noqa: BLE001 -- emlearn raises many types for models it lacks
        return {"error": f"{type(err).__name__}: {str(err).splitlines()[0][:120]}"}
    code = model.save(name="forest", format="c")
    counts = {
        kind: int(n)
        for kind, n in re.findall(r"static const \w+ forest_(nodes|tree_roots|leaves)\[(\d+)\]", code)
    }
    leaf_bytes = 1 if "uint8_t forest_leaves" in code else 4
    nbytes = (
        counts.get("nodes", 0) * EMLEARN_NODE_BYTES
        + counts.get("tree_roots", 0) * 4
        + counts.get("leaves", 0) * leaf_bytes
    )
    # emlearn compiles its C into ./tmp to predict: keep that out of the checkout
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)
        try:
            labels = model.predict(X)
        finally:
            os.chdir(here)
    return {
        "bytes": nbytes,
        "nodes": counts.get("nodes", 0),
        "agreement": float(np.mean(labels == expected)),
        "version": emlearn.__version__,
    }


def run_model(name, factory, digits, log) -> dict:
    import workbench
    from workbench.csource import c_source

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator = factory().fit(digits.X_train, digits.y_train)
    X = digits.X_test.astype(np.float32)
    expected = estimator.predict(X.astype(np.float64))
    log(f"[{name}] compare on cortex-m4")
    started = time.perf_counter()
    comparison = workbench.compare(estimator, digits, modes=MODES, target="cortex-m4")
    log(f"[{name}] compared in {time.perf_counter() - started:.0f} s")
    rows = []
    for r in comparison.table.to_dict("records"):
        if r["variant"] == "original":
            continue
        row = {
            key: r.get(key)
            for key in (
                "variant",
                "size_bytes",
                "agreement",
                "accuracy",
                "latency_ms_p50",
                "batch_latency_ms",
                "tflm",
                "tflm_reason",
                "tflm_arena_bytes",
                "flash_bytes",
                "tflm_agreement",
                "error",
            )
        }
        converted = comparison.variants.get(r["variant"])
        if converted is not None:
            source, _header = c_source(converted.content, "g_model")
            row["c_source_bytes"] = len(source.encode())
        rows.append(row)
    return {"model": name, "rows": rows, "emlearn": emlearn_row(estimator, X, expected)}


def _kb(n) -> str:
    return "–" if n is None or (isinstance(n, float) and np.isnan(n)) else f"{n / 1e3:,.1f}"


def _pct(v) -> str:
    return "–" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.2%}"


def report(results: list[dict]) -> str:
    import platform

    lines = [
        "# Tree ensembles (and kernel SVMs) on a board: float32, integer trees, emlearn",
        "",
        "Generated by `python benchmarks/trees_on_a_board.py` (needs `pip install -e .[bench]` for emlearn); "
        "do not edit by hand.",
        "",
        "Digits test split (450 samples). *agreement*: labels equal to scikit-learn's `predict`. "
        "*TFLite Micro*: the file run by TFLite Micro's Python runtime (x86 reference kernels), its "
        "smallest arena found by search and its flash (the file's bytes); *Micro agreement* is with "
        "the same file on LiteRT. The static recipes give tree ensembles *integer trees* (each "
        "feature's thresholds on an 8- or 16-bit grid, int8 node rows, 8-bit leaves); see the README. "
        "The SVC rows are LiteRT Quantizer's recipes applied to the exact float32 file, as for any model.",
        "",
        "| model | variant | size (KB) | agreement | LiteRT 1 sample (ms) | TFLite Micro | arena (KB) "
        "| flash (KB) | Micro agreement |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        for r in result["rows"]:
            if r.get("error"):
                # what was received says why (the expected/fix parts are the same for every row)
                why = str(r["error"]).partition("Received: ")[2] or str(r["error"])
                lines.append(f"| {result['model']} | {r['variant']} | error: {why[:300]} |" + " |" * 6)
                continue
            micro = "runs" if r["tflm"] else f"no: {str(r['tflm_reason'])[:90]}"
            lines.append(
                f"| {result['model']} | {r['variant']} | {_kb(r['size_bytes'])} | {_pct(r['agreement'])} "
                f"| {r['latency_ms_p50']:.3f} | {micro} | {_kb(r['tflm_arena_bytes'] if r['tflm'] else None)} "
                f"| {_kb(r['flash_bytes'])} | {_pct(r['tflm_agreement'] if r['tflm'] else None)} |"
            )
        em = result["emlearn"]
        if em is None:
            continue
        if "error" in em:
            lines.append(f"| {result['model']} | emlearn | not converted: {em['error']} |" + " |" * 6)
            continue
        lines.append(
            f"| {result['model']} | emlearn {em['version']} (loadable, {em['nodes']:,} nodes) "
            f"| {_kb(em['bytes'])} | {_pct(em['agreement'])} | | (C, no TFLite) | | | |"
        )
    lines += ["", "## Against emlearn", ""]
    for result in results:
        em = result["emlearn"]
        int8 = next(
            (r for r in result["rows"] if r["variant"] == "static_wi8_ai8" and not r.get("error")), None
        )
        if em is None or "error" in em or int8 is None:
            continue
        lines.append(
            f"- **{result['model']}**: static_wi8_ai8 on TFLite Micro is {int8['flash_bytes']:,.0f} bytes of flash, "
            f"**{int8['flash_bytes'] / em['bytes']:.2f}x** emlearn's {em['bytes']:,} bytes of tables (target: at most "
            f"1.2x), with {_pct(int8['agreement'])} label agreement against emlearn's {_pct(em['agreement'])}; "
            f"arena {_kb(int8['tflm_arena_bytes'])} KB; its C source (`workbench.csource`, as for any "
            f"variant) is {int8.get('c_source_bytes', 0):,} characters."
        )
    lines += [
        "",
        "emlearn's bytes count its tables only (the C arrays); its inference code is compiled "
        "separately. The `.tflite` counts everything the interpreter reads: tables, the graph "
        "(about 12 ops per tree level) and tensor metadata; TFLite Micro's own code is not counted "
        "on either side.",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}; "
        f"load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    import workbench

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    digits = workbench.load_dataset("digits")
    only = sys.argv[1:]
    results = [
        run_model(name, factory, digits, log)
        for name, factory in _models().items()
        if not only or any(part.lower() in name.lower() for part in only)
    ]
    write_section("trees-on-a-board", report(results), OUT)
    log(f"wrote {OUT}")


if __name__ == "__main__":
    main()
