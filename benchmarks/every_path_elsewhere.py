"""The cross-product test's claims tried on models and data the tests never use.

``tests/test_every_path.py`` holds 14 kinds of model on digits, diabetes and made-up data.
Here the same oracle (a bare interpreter reading outputs by name, scikit-learn's metrics) is
run on other data and other seeds: a binary task (breast cancer), wine, iris, another seed of
the outlier data, a Keras MLP trained on wine. For each model: how many rows were measured,
how many equal the oracle, which rows failed (and why, in short), and how many 8-bit-or-wider
rows lost more than 3 points beyond the converter's int8 without a note.

Run: ``python benchmarks/every_path_elsewhere.py`` (rewrites its section of RESULTS.md).
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE), str(HERE.parent / "tests")]

import numpy as np  # noqa: E402
from _results import write_section  # noqa: E402
from test_every_path import LEEWAY, Case, _outlier_data, oracle_metric  # noqa: E402

import workbench  # noqa: E402
from workbench import ALL_MODES  # noqa: E402


def cases():
    import keras
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        GradientBoostingClassifier,
        HistGradientBoostingClassifier,
        IsolationForest,
        RandomForestClassifier,
    )
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler, StandardScaler
    from sklearn.svm import SVC

    cancer = workbench.load_dataset("breast_cancer")
    wine = workbench.load_dataset("wine")
    iris = workbench.load_dataset("iris")
    diabetes = workbench.load_dataset("diabetes")

    def fit(model, data):
        return model.fit(data.X_train, data.y_train)

    yield (
        "LogisticRegression (scaled), breast cancer",
        Case(fit(make_pipeline(StandardScaler(), LogisticRegression()), cancer), cancer, "predict_proba"),
    )
    yield (
        "RandomForest(50), breast cancer",
        Case(fit(RandomForestClassifier(50, random_state=1), cancer), cancer, "predict_proba"),
    )
    yield (
        "ExtraTrees(30), wine",
        Case(fit(ExtraTreesClassifier(30, random_state=1), wine), wine, "predict_proba"),
    )
    yield (
        "GradientBoosting(30), iris",
        Case(fit(GradientBoostingClassifier(n_estimators=30, random_state=1), iris), iris, "predict_proba"),
    )
    yield (
        "HistGradientBoosting, breast cancer",
        Case(
            fit(HistGradientBoostingClassifier(max_iter=40, random_state=1), cancer), cancer, "predict_proba"
        ),
    )
    yield (
        "MLPClassifier (min-max scaled), wine",
        Case(
            fit(make_pipeline(MinMaxScaler(), MLPClassifier((24,), max_iter=3000, random_state=1)), wine),
            wine,
            "predict_proba",
        ),
    )
    yield (
        "SVC(rbf, probability), iris",
        Case(
            fit(make_pipeline(StandardScaler(), SVC(probability=True, random_state=1)), iris),
            iris,
            "predict_proba",
        ),
    )
    yield (
        "Ridge (scaled), diabetes",
        Case(fit(make_pipeline(StandardScaler(), Ridge()), diabetes), diabetes, "predict"),
    )
    outliers = _outlier_data(seed=3)
    yield (
        "IsolationForest, outliers seed 3",
        Case(
            IsolationForest(n_estimators=30, random_state=3).fit(outliers.X_train),
            outliers,
            "predict",
            classes=np.array([-1, 1]),
        ),
    )
    keras.utils.set_random_seed(1)
    mlp = keras.Sequential(
        [
            keras.Input((13,)),
            keras.layers.Normalization(),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    mlp.layers[0].adapt(wine.X_train)
    mlp.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    mlp.fit(wine.X_train, wine.y_train, epochs=60, verbose=0)
    yield "Keras MLP with Normalization, wine (seed 1)", Case(mlp, wine, "output_0")


def main() -> None:
    lines = [
        "## Every path, on data the tests never use (`benchmarks/every_path_elsewhere.py`)",
        "",
        "Every mode in `ALL_MODES` on models and data outside `tests/test_every_path.py`; each "
        "measured row checked against the same independent oracle (a bare `ai_edge_litert` "
        "signature runner reading the scored output by name, one sample at a time, scikit-learn's "
        "metrics). *unexplained* counts 8-bit-or-wider rows that lost more than "
        f"{LEEWAY:.0%} beyond the converter's int8 with no `note`.",
        "",
        "| model | rows measured | equal to the oracle | failed rows (reason) | unexplained losses | seconds |",
        "|---|---|---|---|---|---|",
    ]
    totals = Counter()
    for name, case in cases():
        started = time.perf_counter()
        result = workbench.compare(
            case.model, case.data, modes=ALL_MODES, progress=False, latency_budget=0.02
        )
        table = result.table.set_index("variant")
        metric = result.metric
        original = table.loc["original", metric]
        int8_loss = original - table.loc["int8", metric] if not table.loc["int8", "error"] else 0.0
        measured = equal = unexplained = 0
        failures = Counter()
        for mode in ALL_MODES:
            row = table.loc[mode]
            if row["error"]:
                failures[_reason(row["error"])] += 1
                continue
            measured += 1
            oracle = oracle_metric(case, result.variants[mode].content)
            equal += abs(oracle - row[metric]) <= 1e-6
            lost = original - row[metric] > max(int8_loss, 0.0) + LEEWAY
            if workbench.Mode(mode).bits >= 8 and mode != "int8" and lost and not row["note"]:
                unexplained += 1
        totals.update(measured=measured, equal=equal, unexplained=unexplained)
        failed = "; ".join(f"{n}× {reason}" for reason, n in failures.most_common()) or "none"
        lines.append(
            f"| {name} | {measured} | {equal} | {failed} | {unexplained} | {time.perf_counter() - started:.0f} |"
        )
        print(lines[-1], flush=True)
    lines += [
        "",
        f"In all: {totals['equal']} of {totals['measured']} measured rows equal the oracle; "
        f"{totals['unexplained']} unexplained losses.",
    ]
    write_section("every-path-elsewhere", "\n".join(lines))


def _reason(error: str) -> str:
    for key, short in (
        ("unchanged", "unchanged (nothing to quantize)"),
        ("block size 32", "blockwise: a dimension not a multiple of 32"),
        ("not yet supported for op", "converter: no 16x8 kernel for an op"),
        ("killed by signal", "converter crashed (worker survived)"),
        ("Tensor data is null", "quantizer's calibrator: a tensor never filled"),
        ("LiteRT Quantizer", "quantizer's own error"),
    ):
        if key in error:
            return short
    return error[:60]


if __name__ == "__main__":
    main()
