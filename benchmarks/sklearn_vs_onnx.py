"""scikit-learn models three ways, side by side: the workbench's float32 .tflite on LiteRT,
skl2onnx + onnxruntime, and scikit-learn itself.

Run: python benchmarks/sklearn_vs_onnx.py [--budget SECONDS] [--only NAME ...]
(writes benchmarks/RESULTS.md; progress goes to stderr)

Every model is fitted once on the digits training split (1,347 samples, 64 features,
10 classes) and measured on its test split:

- latency of one sample (median and p90 after warm-up) and of one batch of 256;
  the three runtimes are timed in turns (round-robin), so drift on the machine hits all
  alike, each within ``--budget`` seconds per model; every runtime runs on one thread
  (LiteRT ``threads=1``, onnxruntime intra/inter-op threads 1, scikit-learn with
  ``OMP_NUM_THREADS=1``);
- size: the .tflite, the .onnx and the pickle, in bytes;
- fidelity: the largest |difference| of ``predict_proba`` against scikit-learn's own, on
  the whole test split, for the .tflite (``Converted.run``) and the .onnx.

The .tflite is timed through ``Converted.invoke_raw`` (what ``workbench`` users call);
the column "interpreter" times the bare LiteRT interpreter on the same model
(``set_tensor``/``invoke``/``get_tensor`` with the tensor indices looked up once), to
separate the model from the Python wrapper's per-call cost.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # scikit-learn's OpenMP loops: one thread like the others

import argparse
import contextlib
import pickle
import platform
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

OUT = Path(__file__).with_name("RESULTS.md")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # measure this checkout's workbench
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_section  # noqa: E402

BATCH = 256


# ------------------------------------------------------------------ the models
def _models():
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        GradientBoostingClassifier,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
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
        "SVC(rbf, probability=True)": lambda: SVC(probability=True, random_state=0),
        "LogisticRegression()": lambda: LogisticRegression(max_iter=5000),
        "MLPClassifier(64)": lambda: MLPClassifier(hidden_layer_sizes=(64,), max_iter=500, random_state=0),
        "StandardScaler + SVC(rbf, probability=True)": lambda: make_pipeline(
            StandardScaler(), SVC(probability=True, random_state=0)
        ),
    }


def _twenty_feature_models():
    """The tree rows of issue 10's target: binary problem on 20 features."""
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier

    return {
        "RandomForestClassifier(100 trees, max_depth=10), 20 features": lambda: RandomForestClassifier(
            n_estimators=100, max_depth=10, random_state=0
        ),
        "GradientBoostingClassifier(200 stages, max_depth=3), 20 features": lambda: (
            GradientBoostingClassifier(n_estimators=200, max_depth=3, random_state=0)
        ),
    }


def twenty_features(workbench):
    """3,000 samples of ``make_classification`` (20 features, 10 informative, 2 classes)."""
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=3000, n_features=20, n_informative=10, random_state=0)
    return workbench.Dataset.from_arrays(X.astype(np.float32), y, name="twenty_features", test_size=1 / 3)


#: Why a row can miss the targets, keyed by the start of its name (see RESULTS.md).
TREES = ("RandomForest", "ExtraTrees", "GradientBoosting", "HistGradientBoosting")


# ------------------------------------------------------------------ measuring
@dataclass
class Runtime:
    name: str
    one: object  # callable(sample)
    batch: object  # callable(batch)
    single_s: list = field(default_factory=list)
    batch_s: list = field(default_factory=list)

    def p50_us(self) -> float:
        return float(np.median(self.single_s)) * 1e6

    def p90_us(self) -> float:
        return float(np.percentile(self.single_s, 90)) * 1e6

    def batch_ms(self) -> float:
        return float(np.median(self.batch_s)) * 1e3


def _timed(call, x, seconds: float, at_least: int) -> list[float]:
    times = []
    deadline = time.perf_counter() + seconds
    while len(times) < at_least or time.perf_counter() < deadline:
        start = time.perf_counter()
        call(x)
        times.append(time.perf_counter() - start)
    return times


def measure(runtimes: list[Runtime], sample, batch, budget: float, rounds: int = 8) -> None:
    """Round-robin: each round gives every runtime the same share of the budget."""
    for r in runtimes:  # warm-up, and the batch-size change of the interpreter, off the clock
        for _ in range(5):
            r.one(sample)
        for _ in range(2):
            r.batch(batch)
            r.one(sample)
    share = budget / rounds / len(runtimes)
    for _ in range(rounds):
        for r in runtimes:
            r.single_s += _timed(r.one, sample, share * 2 / 3, 20)
            r.batch(batch)  # the interpreter reallocates when the batch size changes
            r.batch_s += _timed(r.batch, batch, share / 3, 2)
            r.one(sample)


def bare_interpreter(converted):
    """``converted``'s model on a LiteRT interpreter of its own, indices looked up once."""
    from ai_edge_litert.interpreter import Interpreter

    from workbench._native import captured_output

    with captured_output():
        interpreter = Interpreter(model_content=converted.content, num_threads=1)
    inp = interpreter.get_input_details()[0]["index"]
    out = interpreter.get_output_details()[0]["index"]
    state = {"n": None}

    def call(x):
        if state["n"] != len(x):
            interpreter.resize_tensor_input(inp, list(x.shape))
            with captured_output():
                interpreter.allocate_tensors()
            state["n"] = len(x)
        interpreter.set_tensor(inp, x)
        interpreter.invoke()
        return interpreter.get_tensor(out)

    return call


@contextlib.contextmanager
def numpy_scalars_as_ints():
    """skl2onnx 1.20 passes numpy bools and uint32 inside integer attribute lists for
    HistGradientBoosting, which onnx 1.2x refuses ("Expected an int, got a boolean");
    the values are correct, only their Python type is not."""
    import onnx.helper

    original = onnx.helper.make_attribute

    def make_attribute(key, value, *args, **kwargs):
        if isinstance(value, (list, tuple)):
            value = [int(v) if isinstance(v, (bool, np.bool_, np.integer)) else v for v in value]
        return original(key, value, *args, **kwargs)

    onnx.helper.make_attribute = make_attribute
    try:
        yield
    finally:
        onnx.helper.make_attribute = original


def to_onnx(estimator, X):
    from skl2onnx import to_onnx as convert

    with numpy_scalars_as_ints(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = convert(estimator, X[:1], options={"zipmap": False}, target_opset={"": 17, "ai.onnx.ml": 3})
    return model.SerializeToString()


def onnx_session(content: bytes):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(content, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    outputs = [o.name for o in session.get_outputs()]
    proba = next((o for o in outputs if "prob" in o.lower()), outputs[-1])
    return lambda x: session.run([proba], {name: x})[0]


# ------------------------------------------------------------------ one row
def run_row(name: str, factory, data, budget: float, log) -> dict:
    import workbench

    X_train, y_train = data.X_train, data.y_train
    X = data.X_test.astype(np.float32)
    X64 = X.astype(np.float64)  # what the .tflite sees, given to the others too
    row = {"model": name}
    log(f"[{name}] fitting")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator = factory().fit(X_train, y_train)
    reference = estimator.predict_proba(X64)
    row["pickle_bytes"] = len(pickle.dumps(estimator, protocol=pickle.HIGHEST_PROTOCOL))

    log(f"[{name}] converting to .tflite")
    started = time.perf_counter()
    try:
        converted = workbench.convert(estimator, "float32", threads=1)
    except workbench.WorkbenchError as err:
        row["error"] = f"{type(err).__name__}: {err}"
        log(f"[{name}] no .tflite: {row['error'][:200]}")
        return row
    row["convert_s"] = time.perf_counter() - started
    row["tflite_bytes"] = converted.size_bytes
    row["tflite_ops"] = sum(converted.ops.values())
    got = converted.run(X)
    row["tflite_max_abs"] = float(np.max(np.abs(got - reference)))
    row["tflite_labels"] = float(np.mean(converted.predict(X) == estimator.predict(X64)))

    log(f"[{name}] converting to .onnx")
    try:
        onnx_bytes = to_onnx(estimator, X)
        onnx_run = onnx_session(onnx_bytes)
        row["onnx_bytes"] = len(onnx_bytes)
        row["onnx_max_abs"] = float(np.max(np.abs(onnx_run(X) - reference)))
    except Exception as err:  # skl2onnx and onnxruntime raise many types; the row says which
        row["onnx_error"] = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
        onnx_run = None
        log(f"[{name}] no .onnx: {row['onnx_error']}")

    sample, batch = np.ascontiguousarray(X[:1]), np.ascontiguousarray(X[:BATCH])
    runtimes = [
        Runtime("tflite", converted.invoke_raw, converted.invoke_raw),
        Runtime("interpreter", *(2 * [bare_interpreter(converted)])),
        Runtime("sklearn", estimator.predict_proba, estimator.predict_proba),
    ]
    if onnx_run is not None:
        runtimes.append(Runtime("onnx", onnx_run, onnx_run))
    log(f"[{name}] timing {', '.join(r.name for r in runtimes)} for {budget:.0f} s")
    measure(runtimes, sample, batch, budget)
    for r in runtimes:
        row[f"{r.name}_p50_us"] = r.p50_us()
        row[f"{r.name}_p90_us"] = r.p90_us()
        row[f"{r.name}_batch_ms"] = r.batch_ms()
    log(
        f"[{name}] tflite {row['tflite_p50_us']:.1f} us / {row['tflite_batch_ms']:.2f} ms, "
        + (f"onnx {row['onnx_p50_us']:.1f} us / {row['onnx_batch_ms']:.2f} ms" if onnx_run else "no onnx")
    )
    return row


# ------------------------------------------------------------------ the report
def machine() -> list[str]:
    import importlib.metadata as md

    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = []
    for package in (
        "numpy",
        "scikit-learn",
        "tensorflow",
        "ai-edge-litert",
        "onnxruntime",
        "skl2onnx",
        "onnx",
    ):
        with contextlib.suppress(md.PackageNotFoundError):
            versions.append(f"{package} {md.version(package)}")
    return [
        f"- CPU: {cpu}, {os.cpu_count()} logical cores visible (every runtime ran on one thread)",
        f"- {platform.system()} {platform.release()}, Python {platform.python_version()}",
        f"- load average at the end of the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
        "(other work shares the machine; above 2 the ratios are noisy)",
        "- " + ", ".join(versions),
    ]


def _ratio(a, b) -> str:
    return f"{a / b:.2f}" if a is not None and b else "–"


def _num(value, fmt: str) -> str:
    return format(value, fmt) if value is not None else "–"


def table(rows: list[dict]) -> list[str]:
    head = (
        "| model | 1 sample tflite / onnx (µs) | **ratio** | batch 256 tflite / onnx (ms) | **ratio** "
        "| size tflite / onnx (KB) | **ratio** | pickle (KB) | max abs diff tflite / onnx |"
    )
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['model']} | not converted: {r['error'][:120]} |" + " |" * 7)
            continue
        t, o = r.get("tflite_p50_us"), r.get("onnx_p50_us")
        tb, ob = r.get("tflite_batch_ms"), r.get("onnx_batch_ms")
        ts, os_ = r["tflite_bytes"], r.get("onnx_bytes")
        lines.append(
            f"| {r['model']} | {_num(t, '.1f')} / {_num(o, '.1f')} | **{_ratio(t, o)}** "
            f"| {_num(tb, '.2f')} / {_num(ob, '.2f')} | **{_ratio(tb, ob)}** "
            f"| {ts / 1e3:,.1f} / {_num(os_ and os_ / 1e3, ',.1f')} | **{_ratio(ts, os_)}** "
            f"| {r['pickle_bytes'] / 1e3:,.1f} | {r['tflite_max_abs']:.1e} / {_num(r.get('onnx_max_abs'), '.1e')} |"
        )
    return lines


def details(rows: list[dict]) -> list[str]:
    head = (
        "| model | tflite p50 / p90 (µs) | interpreter p50 (µs) / batch (ms) | onnx p50 / p90 (µs) "
        "| scikit-learn p50 (µs) / batch (ms) | tflite ops | label agreement | convert (s) |"
    )
    lines = [head, "|" + "---|" * 8]
    for r in rows:
        if "error" in r:
            continue
        lines.append(
            f"| {r['model']} | {r['tflite_p50_us']:.1f} / {r['tflite_p90_us']:.1f} "
            f"| {r['interpreter_p50_us']:.1f} / {r['interpreter_batch_ms']:.2f} "
            f"| {_num(r.get('onnx_p50_us'), '.1f')} / {_num(r.get('onnx_p90_us'), '.1f')} "
            f"| {r['sklearn_p50_us']:.1f} / {r['sklearn_batch_ms']:.2f} | {r['tflite_ops']} "
            f"| {r['tflite_labels']:.1%} | {r['convert_s']:.1f} |"
        )
    return lines


def misses(rows: list[dict]) -> list[str]:
    """Each target a row misses, with the measured numbers and where the reason is."""
    lines = []
    for r in rows:
        if "error" in r or "onnx_p50_us" not in r:
            continue
        found = []
        if r["tflite_p50_us"] > r["onnx_p50_us"]:
            bare = r["interpreter_p50_us"]
            where = "at most" if bare <= r["onnx_p50_us"] else "also above"
            found.append(
                f"one sample {r['tflite_p50_us']:.0f} µs vs {r['onnx_p50_us']:.0f} µs; the bare "
                f"interpreter takes {bare:.0f} µs, {where} onnxruntime's"
            )
        if r["tflite_batch_ms"] > r["onnx_batch_ms"]:
            found.append(
                f"batch {r['tflite_batch_ms']:.2f} ms vs {r['onnx_batch_ms']:.2f} ms "
                f"(bare interpreter {r['interpreter_batch_ms']:.2f} ms)"
            )
        if r["tflite_bytes"] > r["onnx_bytes"]:
            found.append(f"size {r['tflite_bytes']:,} vs {r['onnx_bytes']:,} bytes")
        if found:
            lines.append(f"- **{r['model']}**: " + "; ".join(found) + f". {_reason(r['model'])}")
    return lines or ["- None: every row is at most as slow as onnxruntime and no larger than the .onnx."]


def wrapper_note(rows: list[dict]) -> str:
    """What ``Converted.invoke_raw`` adds to the bare interpreter for one sample, measured."""
    extra = [r["tflite_p50_us"] - r["interpreter_p50_us"] for r in rows if "interpreter_p50_us" in r]
    if not extra:
        return ""
    return (
        "**One sample.** `Converted.invoke_raw` (lock, input cast, output copy) adds a median "
        f'{np.median(extra):.0f} µs to the bare interpreter here (the "interpreter" column); '
        "where the bare interpreter is within onnxruntime and the wrapper is not, that "
        "Python-side cost is the miss."
    )


def _reason(name: str) -> str:
    if name.startswith(TREES):
        return "See *Trees and ensembles* below."
    if "SVC" in name:
        return "See *Kernel SVMs* below."
    return "See *One sample* and *Size* below."  # linear models, MLPs


ANALYSIS = """
## Why rows miss, and what would close the gap

The machine is a 2-core VM that other work shares: single runs vary by up to a third, so
the runtimes are timed in turns and only ratios within one run are compared.

{wrapper}

**Trees and ensembles** are rebuilt from TFLite builtins only. All trees advance together
one level per step (grouped by depth). A step gathers, for every sample and tree, one
packed node row (column and threshold, or test index, and in the compact layout the
child), split by one TRANSPOSE and UNPACK, and then the sample's value or test result:
two gathers per level (three or four before issue 24). LiteRT's `GATHER` copies each
element with its own `memcpy`, about 5-9 ns per element here, while an elementwise op
costs under 1 ns per element, and each op adds a fixed cost that matters for one sample
(a level is 8-10 ops); onnxruntime's `TreeEnsembleClassifier` walks each tree in one
compiled loop and stops at the leaf. So a rebuilt ensemble costs about trees x levels x
2 gathers x 6 ns per sample, plus levels x 10 ops:

- 1,000 boosted trees of depth 3 (100 stages x 10 classes): few distinct tests,
  evaluated once per sample into an int8 table; the perfect layout needs no child column;
- 100 trees of depth 10 (forest, extra trees): too many distinct thresholds to
  precompute, so each step gathers a (column, threshold, child) row and the value;
- HistGradientBoosting grows 1,000 uneven trees (31 leaves, depths 1 to 14): grouping
  trees by depth keeps shallow ones short, but in each group every tree walks the group's
  depth (onnxruntime walks each sample's actual path, about half as long).

Node rows are float32 where they hold a threshold (indices exact below 2^24), otherwise
int16 where every entry fits (GATHER takes int16 positions as they are; packed int16 rows
are cast to int32 before their TRANSPOSE, one op per level), else int32.
Leaf rows are deduplicated and forests use "sinks": rows for inner nodes only, each leaf
a pointer to one absorbing row per distinct leaf row (a forest's 13,700 leaves hold about
600 distinct class-fraction rows), so no leaf rows and no final lookup. The trees' values
are added by a SUM over trees instead of a 0/1 matrix where their columns allow it. Each
group of trees takes the smallest layout. This exact file is for LiteRT; for TFLite Micro
the static recipes make integer trees (see *Tree ensembles (and kernel SVMs) on a board*).

Measured against the file before issue 24 (same digits models): RandomForest 1,877 KB ->
291 KB, ExtraTrees about 2,200 KB -> 534 KB, GradientBoosting 117 KB -> 62 KB (0.53x: its
perfect layout had no leaf rows to share; half of what is left is 8,000 float32 leaf
values, which exactness keeps), HistGradientBoosting 933 KB -> 408 KB (0.44x; int16 test
and child tables; measured no slower than the int32 ones in alternating runs, HGB one
sample 114-120 µs before and 70-109 after, batch 19-22 ms and 18-21). Batch latency
is where it was (RandomForest 1.62x before; 1.15x to 1.66x in three runs since, its file
unchanged, as onnxruntime's own batch time moved between 2.0 and 3.3 ms: this machine's
noise; ExtraTrees 0.74-1.32x); one sample did not (each level is still 6-9 ops, and a level
costs its op count for one sample). The single-sample goal of 1.0x is not met for any
tree family, nor the batch goal except by ExtraTrees in some runs.

What would close the rest: a tight loop in TFLite's `GATHER` for one-element rows instead
of a `memcpy` per element (`reference_ops::Gather`) would cut every tree row by about
half; walking each sample's actual path needs a tree-ensemble kernel, i.e. a custom op,
which the builtins-only rule excludes. Not done: the GEMM formulation (hummingbird's
choice at depth <= 3) for the boosted trees: a (trees, 7, 8) path tensor and a leaf
matrix per class come to about 550 KB for 1,000 trees of depth 3 against 68 KB of tables
here, and the size is what a board pays for.

**Kernel SVMs** (`svm.py`, `_svm_plan.py`, `_pairs.py`): the decision values are one
(support vectors x pairs) coefficient matrix applied to the kernel (one
FULLY_CONNECTED), and RBF distances are expanded as `|x-c|^2 + |s-c|^2 - 2 (x-c).(s-c)`
around the support vectors' centre (one more), where float32 allows: when the graph is
built, both are emulated in float32 on up to 128 support vectors (where an RBF kernel
reaches 1 and the cancellation is worst), and taken only if the error stays within 0.3
of the 1e-5 tolerance (probabilities through Platt's slope) or within that of the
gathered sums; otherwise each pair's kernel values are gathered and summed in an order
alternating signs, as before (large dual coefficients on unequal classes, or more
than about 16 classes, where the matrix would outgrow the gathered tables). The matrix
rows take the classes in turn, so every pair's running sums alternate signs too. Digits
takes the fast form. `probability=True` still runs libsvm's pairwise coupling as a
`WHILE` loop with libsvm's own iteration and stopping rule (2-4 sweeps of 10 steps per
sample on digits), now 10 small ops per step on one `[p, Qp]` row (libsvm's per-step
normalisation deferred to the end of each sweep) instead of about 25, the stopping test
after each sweep (so the converged iteration runs none), and `r` and `Q` built as whole
tensors instead of one op per entry. Against the file before this change (digits, bare
interpreter, same run, load about 1): one sample 129 -> 36 µs, batch of 256 9.4 -> 0.95
ms. What is left for one sample is that loop (about 2.7 sweeps of 110 ops, each op
paying its dispatch: 29 of the 36 µs; without probabilities the file takes 7 µs), which
onnxruntime runs inside one C++ kernel; a custom op is excluded by the builtins-only
rule. The size: the matrix stores a zero for each pair a support vector is not in (618 x
45 floats on digits, 111 KB, where the `.onnx` stores 618 x 9 coefficients); a
per-class product would store only those, but sums each class apart and cancels the two
at the end, which float32 cannot afford on these cases (emulated on breast_cancer:
2.5e-5 of the scale).

**Size.** A tree node costs the `.tflite` 4-12 bytes (a test index, or column and
threshold, and in the compact layout a child), a leaf an index into its distinct values;
the `.onnx` stores
about eight attributes per node plus a weight per leaf and class, so tree models come out
smaller. For the smallest models (LogisticRegression 4 KB, MLP 20 KB) the flatbuffer's
fixed part (tensor names, signature, metadata: a few hundred bytes) makes the `.tflite`
about 2% larger than the `.onnx`.
"""


def report(rows: list[dict], budget: float) -> str:
    lines = [
        "# scikit-learn models: workbench .tflite (LiteRT) vs skl2onnx + onnxruntime vs scikit-learn",
        "",
        "Generated by `python benchmarks/sklearn_vs_onnx.py`; do not edit by hand.",
        "",
        "Digits (1,347 training samples, 64 features, 10 classes), and for the rows marked "
        "'20 features' 2,000 samples of a binary `make_classification` problem with 20 features; "
        "latency on the test split, "
        f"one thread everywhere, the runtimes timed in turns within {budget:.0f} s per model. "
        "Ratios are tflite / onnx: **at most 1.00** is the target for both latencies and the size.",
        "",
        *table(rows),
        "",
        "`max abs diff`: the largest |difference| of `predict_proba` against scikit-learn's own "
        "on the test split (float32 input for all).",
        "",
        "## Details",
        "",
        *details(rows),
        "",
        "`interpreter`: the same `.tflite` on a bare LiteRT interpreter, tensor indices looked up once.",
        "",
        "## Targets missed",
        "",
        *misses(rows),
        ANALYSIS.rstrip().format(wrapper=wrapper_note(rows)),
        "",
        "## Machine",
        "",
        *machine(),
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=8.0, help="seconds of timing per model (default 8)")
    parser.add_argument("--only", nargs="*", help="substrings of the model names to run")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    import workbench

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    digits = workbench.load_dataset("digits")
    twenty = twenty_features(workbench)
    rows = []
    models = [(name, f, digits) for name, f in _models().items()]
    models += [(name, f, twenty) for name, f in _twenty_feature_models().items()]
    for name, factory, data in models:
        if args.only and not any(part.lower() in name.lower() for part in args.only):
            continue
        rows.append(run_row(name, factory, data, args.budget, log))
    if args.out == OUT:
        # RESULTS.md holds other benchmarks' sections too: rewrite only this one.
        write_section("sklearn-vs-onnx", report(rows, args.budget), OUT)
    else:
        args.out.write_text(report(rows, args.budget), encoding="utf-8")
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
