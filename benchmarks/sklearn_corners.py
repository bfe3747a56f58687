"""scikit-learn in the corners (issue 17): the workbench and skl2onnx + onnxruntime on
fitted models that sit where conversions usually go wrong, in the same run.

Run: python benchmarks/sklearn_corners.py [--no-onnx]
(rewrites the "corners" section of benchmarks/SKLEARN_COVERAGE.md; ``sklearn_coverage.py``
runs it too after its sweep)

Each corner is a model fitted with non-default parameters on data made for it (saturated
scores, one class, a 2-D ``y``, outliers, integer grids whose neighbours tie, ...) and
checked on held-out rows with the rules of ``sklearn_coverage.py``: labels on every row,
probabilities within 1e-5, other values within ``1e-5 * |value| + 1e-5 * scale``. Every
method scikit-learn offers is checked for the workbench; for skl2onnx, its label and
probabilities (or its single output). A multi-output ``predict_proba`` (a list in
scikit-learn) must match target by target.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # measure this checkout's workbench
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_section  # noqa: E402

OUT = Path(__file__).with_name("SKLEARN_COVERAGE.md")
METHODS = ("predict", "predict_proba", "decision_function", "score_samples", "transform")


# ------------------------------------------------------------------ the data
def _float32(X):
    return np.asarray(X, dtype=np.float32).astype(np.float64)


def _blobs(seed=0, n=300, k=3, f=4):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, size=n)
    X = rng.normal(size=(n, f)) + np.eye(k, f)[y] * 2.5
    return X, y, _float32(rng.normal(size=(300, f)) * 1.5)


def saturated():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(400, 4)) * 50, rng.integers(0, 5, size=400)
    X_test = _float32(rng.normal(size=(400, 4)) * np.repeat([1.0, 30.0, 100.0, 300.0], 100)[:, None])
    return X, y, X_test


def far_out():
    X, y, _ = _blobs(4)
    rng = np.random.default_rng(4)
    return X, y, _float32(rng.normal(size=(300, 4)) * np.repeat([1.0, 30.0, 1000.0], 100)[:, None])


def outliers():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 3))
    return X, None, _float32(np.concatenate([rng.normal(size=(150, 3)), rng.uniform(-8, 8, size=(150, 3))]))


def one_class():
    rng = np.random.default_rng(6)
    return rng.normal(size=(60, 3)), np.full(60, 4), _float32(rng.normal(size=(100, 3)) * 3)


def multi_output():
    rng = np.random.default_rng(7)

    def targets(A):
        return np.column_stack(
            [
                (A[:, 0] > 0).astype(int),
                np.clip(np.round(A[:, 1] * 1.5), -2, 2).astype(int),
                np.digitize(A[:, 2] + A[:, 3], [-0.5, 0.5]),
            ]
        )

    X = rng.normal(size=(300, 4))
    return X, targets(X), _float32(rng.normal(size=(200, 4)))


def multilabel():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(300, 5))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0.5, X[:, 3] * X[:, 4] > 0]).astype(int)
    return X, Y, _float32(rng.normal(size=(200, 5)))


def grid():
    """Integer features, duplicated rows: neighbours at exactly equal distances."""
    rng = np.random.default_rng(11)
    X = rng.integers(0, 12, size=(150, 3)).astype(float)
    X = np.concatenate([X, X[:30]])
    y = rng.integers(0, 3, size=len(X))
    return X, y, np.concatenate([X[:40], rng.integers(0, 12, size=(160, 3)).astype(float)])


def cancelling():
    """30 features of very different scales whose terms cancel in the decision value."""
    rng = np.random.default_rng(14)
    scales = rng.uniform(1, 100, size=30)
    X = rng.normal(size=(400, 30)) * scales
    y = (X @ rng.normal(size=30) > 0).astype(int)
    return X, y, _float32(rng.normal(size=(400, 30)) * scales)


def regression():
    rng = np.random.default_rng(16)
    X = rng.normal(size=(300, 5)) * [1, 10, 100, 0.1, 1000]
    return (
        X,
        X @ [1.0, -0.2, 0.03, 5.0, 0.001] + 40.0,
        _float32(rng.normal(size=(200, 5)) * [1, 10, 100, 0.1, 1000]),
    )


def corners() -> list[tuple[str, str, object, object]]:
    """``(corner, configuration, factory, data)`` of every row."""
    from sklearn.ensemble import AdaBoostClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.multioutput import MultiOutputClassifier
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
    from sklearn.neural_network import MLPClassifier
    from sklearn.svm import SVC, LinearSVR, NuSVC, OneClassSVM
    from sklearn.tree import DecisionTreeClassifier

    return [
        (
            "saturated scores",
            "SGDClassifier(loss='log_loss'), 5 classes, scores to -2600",
            lambda: SGDClassifier(loss="log_loss", random_state=0),
            saturated,
        ),
        (
            "saturated scores",
            "LogisticRegression(C=1e4), rows 1000x out",
            lambda: LogisticRegression(C=1e4, max_iter=5000),
            far_out,
        ),
        (
            "saturated scores",
            "SVC(gamma=2, probability=True), rows 1000x out",
            lambda: SVC(gamma=2.0, probability=True, random_state=0),
            far_out,
        ),
        ("saturated scores", "GaussianNB, rows 1000x out", GaussianNB, far_out),
        (
            "outlier labels",
            "OneClassSVM(nu=0.05, gamma=0.3)",
            lambda: OneClassSVM(nu=0.05, gamma=0.3),
            outliers,
        ),
        ("one class", "DecisionTreeClassifier on one class", DecisionTreeClassifier, one_class),
        (
            "one class",
            "RandomForestClassifier(5) on one class",
            lambda: RandomForestClassifier(5, random_state=0),
            one_class,
        ),
        ("one class", "KNeighborsClassifier(3) on one class", lambda: KNeighborsClassifier(3), one_class),
        (
            "multi-output y",
            "DecisionTreeClassifier, 3 targets",
            lambda: DecisionTreeClassifier(random_state=0),
            multi_output,
        ),
        (
            "multi-output y",
            "RandomForestClassifier(10), 3 targets",
            lambda: RandomForestClassifier(10, random_state=0),
            multi_output,
        ),
        (
            "multi-output y",
            "KNeighborsClassifier(6), 3 targets",
            lambda: KNeighborsClassifier(6),
            multi_output,
        ),
        (
            "multi-output y",
            "MultiOutputClassifier(LogisticRegression)",
            lambda: MultiOutputClassifier(LogisticRegression(max_iter=2000)),
            multi_output,
        ),
        (
            "multilabel y",
            "RandomForestClassifier(10), 3 labels",
            lambda: RandomForestClassifier(10, random_state=0),
            multilabel,
        ),
        (
            "multilabel y",
            "MLPClassifier(16), 3 labels",
            lambda: MLPClassifier((16,), max_iter=1500, random_state=0),
            multilabel,
        ),
        ("multilabel y", "KNeighborsClassifier(5), 3 labels", lambda: KNeighborsClassifier(5), multilabel),
        (
            "metrics",
            "KNeighborsClassifier(7, metric='manhattan')",
            lambda: KNeighborsClassifier(7, metric="manhattan"),
            _blobs,
        ),
        (
            "metrics",
            "KNeighborsClassifier(7, metric='chebyshev', weights='distance')",
            lambda: KNeighborsClassifier(7, metric="chebyshev", weights="distance"),
            _blobs,
        ),
        ("metrics", "KNeighborsClassifier(7, p=3)", lambda: KNeighborsClassifier(7, p=3), _blobs),
        (
            "metrics",
            "KNeighborsRegressor(4, p=1.5, weights='distance')",
            lambda: KNeighborsRegressor(4, p=1.5, weights="distance"),
            regression,
        ),
        (
            "ties",
            "KNeighborsClassifier(4, 'distance', manhattan, brute), integer grid",
            lambda: KNeighborsClassifier(4, weights="distance", metric="manhattan", algorithm="brute"),
            grid,
        ),
        (
            "ties",
            "KNeighborsClassifier(5, brute), integer grid",
            lambda: KNeighborsClassifier(5, algorithm="brute"),
            grid,
        ),
        (
            "ties",
            "KNeighborsClassifier(5, manhattan), integer grid (kd_tree, the default)",
            lambda: KNeighborsClassifier(5, metric="manhattan"),
            grid,
        ),
        (
            "meta",
            "AdaBoostClassifier(LogisticRegression, 15)",
            lambda: AdaBoostClassifier(LogisticRegression(max_iter=2000), n_estimators=15, random_state=0),
            _blobs,
        ),
        (
            "meta",
            "AdaBoostClassifier(GaussianNB, 10)",
            lambda: AdaBoostClassifier(GaussianNB(), n_estimators=10, random_state=0),
            _blobs,
        ),
        (
            "precision",
            "SGDClassifier(loss='hinge'), 30 cancelling features",
            lambda: SGDClassifier(loss="hinge", random_state=0),
            cancelling,
        ),
        (
            "precision",
            "SVC(probability=True), 3 classes",
            lambda: SVC(probability=True, random_state=0),
            _blobs,
        ),
        (
            "precision",
            "NuSVC(nu=0.2, probability=True), 3 classes",
            lambda: NuSVC(nu=0.2, probability=True, random_state=0),
            _blobs,
        ),
        (
            "precision",
            "LinearSVR(C=10), features of scales 0.1 to 1000",
            lambda: LinearSVR(C=10.0, max_iter=20000, random_state=0),
            regression,
        ),
    ]


# ------------------------------------------------------------------ the checks
def agreement(method, got, expected) -> tuple[bool, str]:
    from sklearn_coverage import agreement as check

    return check(method, got, expected)


def _sklearn(estimator, method, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(estimator, method)(X)


def _has(estimator, method) -> bool:
    try:
        return hasattr(estimator, method)
    except (AttributeError, ValueError):
        return False


def workbench_result(estimator, X_test) -> tuple[str, str]:
    import workbench

    try:
        converted = workbench.convert(estimator, "float32", timeout=120)
    except workbench.WorkbenchError as err:
        return "refused", _short(err)
    checks = []
    for method in METHODS:
        if _has(estimator, method):
            checks.append(
                agreement(method, getattr(converted, method)(X_test), _sklearn(estimator, method, X_test))
            )
    bad = [note for ok, note in checks if not ok]
    return (
        ("inexact", "; ".join(bad))
        if bad
        else ("exact", "; ".join(note for _, note in checks if "diff" in note))
    )


def onnx_result(estimator, X_train, X_test) -> tuple[str, str]:
    import onnxruntime as ort
    from skl2onnx import to_onnx

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            options = {"zipmap": False} if _has(estimator, "predict_proba") else None
            try:
                model = to_onnx(estimator, X_train[:1].astype(np.float32), options=options)
            except (NameError, RuntimeError, ValueError):
                model = to_onnx(estimator, X_train[:1].astype(np.float32))
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        outputs = session.run(None, {session.get_inputs()[0].name: X_test.astype(np.float32)})
    except Exception as err:  # noqa: BLE001 -- any converter or runtime failure counts as refused
        return "refused", _short(err)
    checks = [agreement("predict", outputs[0], _sklearn(estimator, "predict", X_test))]
    if _has(estimator, "predict_proba"):
        expected = _sklearn(estimator, "predict_proba", X_test)
        if len(outputs) < 2:
            return "inexact", "no predict_proba"
        got = outputs[1:] if isinstance(expected, list) and len(outputs) > 2 else outputs[1]
        if isinstance(expected, list):
            got = [_unpadded(g, e) for g, e in zip(list(got), expected, strict=False)]
        checks.append(agreement("predict_proba", got, expected))
    elif len(outputs) > 1 and _has(estimator, "decision_function"):
        checks.append(
            agreement("decision_function", outputs[1], _sklearn(estimator, "decision_function", X_test))
        )
    bad = [note for ok, note in checks if not ok]
    return (
        ("inexact", "; ".join(bad))
        if bad
        else ("exact", "; ".join(note for _, note in checks if "diff" in note))
    )


def _unpadded(got, expected):
    """skl2onnx stacks multi-output probabilities as (targets, n, most classes), padded with
    zeros: a target's own columns, when the padding is all zero."""
    got = np.asarray(got)
    extra = got[:, expected.shape[1] :] if got.ndim == 2 else None
    return got[:, : expected.shape[1]] if extra is not None and not np.any(extra) else got


def _guarded(check, *args) -> tuple[str, str]:
    try:
        return check(*args)
    except Exception as err:  # noqa: BLE001 -- one row failing must not stop the others
        return "inexact", "check failed: " + _short(err)


def _short(err: Exception) -> str:
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text[:90]}"


# ------------------------------------------------------------------ the run
def run(onnx=True) -> list[dict]:
    rows = []
    for corner, configuration, factory, data in corners():
        X, y, X_test = data()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            estimator = factory().fit(X, y) if y is not None else factory().fit(X)
        row = {"corner": corner, "configuration": configuration}
        row["workbench"] = _guarded(workbench_result, estimator, X_test)
        row["onnx"] = _guarded(onnx_result, estimator, X, X_test) if onnx else ("not run", "")
        rows.append(row)
        print(f"{configuration}: workbench {row['workbench'][0]}, skl2onnx {row['onnx'][0]}", file=sys.stderr)
    return rows


def write(rows, path: Path = OUT) -> None:
    exact = {tool: sum(r[tool][0] == "exact" for r in rows) for tool in ("workbench", "onnx")}
    lines = [
        "## Corners (issue 17)",
        "",
        "Written by `python benchmarks/sklearn_corners.py` (also run by `sklearn_coverage.py`): models",
        "fitted with non-default parameters on data made for each corner, both tools in the same run,",
        "the same rules as above (every method scikit-learn offers for the workbench; skl2onnx's label",
        "and probabilities). A multi-output `predict_proba` must match target by target.",
        "",
        f"**{exact['workbench']} of {len(rows)} exact in the workbench, {exact['onnx']} in skl2onnx + onnxruntime.**",
        "",
        "| corner | configuration | workbench | note | skl2onnx | note |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        wb, ox = row["workbench"], row["onnx"]
        lines.append(
            f"| {row['corner']} | {row['configuration']} | {wb[0]} | {_cell(wb[1])} | {ox[0]} | {_cell(ox[1])} |"
        )
    lines += ["", PRECISION]
    write_section("corners", "\n".join(lines), path)


PRECISION = """### float32 precision: what holds where 1e-5 relative cannot

- **Affine decision values** (linear models, `LinearSVC`/`LinearSVR`, hinge `SGDClassifier`):
  the float32 value of `sum_j w_j x_j + b` over n features is within
  `(n + 2) * 2**-24 * (sum_j |w_j x_j| + |b|)` of scikit-learn's float64 value (each weight and
  product rounded once, n - 1 additions, the intercept). Relative to the value itself the error
  is unbounded where the terms cancel (a decision near 0 made of large terms); relative to the
  sum of the absolute terms it is below 2e-6 for 30 features. Tested in
  `tests/test_sklearn_corners.py::test_linear_decision_values_are_within_the_float32_dot_product_bound`.
- **Multi-class `SVC`/`NuSVC` probabilities** (libsvm's pairwise coupling): within 1e-4
  absolute. libsvm stops iterating when `max_t |(Qp)_t - p'Qp| < 0.005 / k`; float32 evaluates
  that test with its own rounding, so a row on the edge stops one iteration earlier or later
  than libsvm, and that iteration moves the probabilities by up to a few 1e-5. Tested in
  `test_multiclass_svc_probabilities_are_within_the_stated_coupling_bound`.
- **Saturated probabilities** (one-vs-rest logistic, softmax, Platt, naive Bayes, kernel
  exponentials) are taken relative to the row's largest score, in log space where float32
  would underflow (below -88), so they stay finite and within 1e-5 of float64 at any score;
  rows that float64 itself underflows (every one-vs-rest score below -709.78) are uniform, as
  scikit-learn makes them.
"""


def _cell(text: str) -> str:
    return text.replace("|", "/")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-onnx", action="store_true", help="skip skl2onnx")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    rows = run(onnx=not args.no_onnx)
    write(rows, args.out)


if __name__ == "__main__":
    main()
