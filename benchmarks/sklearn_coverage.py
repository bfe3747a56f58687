"""Which scikit-learn estimators convert exactly: the workbench and skl2onnx + onnxruntime,
side by side, over ``sklearn.utils.all_estimators()``.

Run: python benchmarks/sklearn_coverage.py [--only NAME ...] [--no-onnx]
(writes benchmarks/SKLEARN_COVERAGE.md, then its "corners" section with ``sklearn_corners.py``;
progress goes to stderr)

Every classifier, regressor, transformer, clusterer (with the density estimators) and
outlier detector scikit-learn lists is built with its default parameters (meta-estimators get the sub-estimators in
:data:`REQUIRED`), fitted on small float32 data (:func:`data`) and converted by both
tools. Each tool's answer is one of:

- **exact**: every output the tool's file gives agrees with scikit-learn's method of the
  same meaning on 200 held-out rows: labels on every row, probabilities within 1e-5,
  other values within ``1e-5 * |value| + 1e-5 * scale`` (``scale`` the column's largest
  ``|value|``). The file must carry ``predict`` (and ``predict_proba`` where the
  estimator has it) or ``transform``;
- **inexact**: it converts, but some output is off (the largest deviation is shown);
- **refused**: the tool does not convert it (the first words of its error are shown).

The workbench's file carries every method it rebuilds (decision_function, score_samples
and transform too), and all of them are checked; skl2onnx's outputs are its label and
probabilities, or its single output.
"""

from __future__ import annotations

import argparse
import inspect
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

OUT = Path(__file__).with_name("SKLEARN_COVERAGE.md")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # measure this checkout's workbench

KINDS = ("classifier", "regressor", "transformer", "cluster", "outlier")
METHODS = ("predict", "predict_proba", "decision_function", "score_samples", "transform")
RTOL = 1e-5
PROBA_ATOL = 1e-5


# ------------------------------------------------------------------ what to sweep
def candidates(only=None) -> list[tuple[str, str, type]]:
    """``(kind, name, class)`` of every estimator scikit-learn lists, by kind then name."""
    from sklearn.utils import all_estimators

    found = {}
    for kind in ("classifier", "regressor", "transformer", "cluster"):
        for name, klass in all_estimators(type_filter=kind):
            found.setdefault(name, (kind, klass))
    for name, klass in all_estimators():
        if name not in found and _estimator_type(klass) == "outlier_detector":
            found[name] = ("outlier", klass)
        elif name not in found and _estimator_type(klass) == "density_estimator":
            found[name] = ("cluster", klass)  # mixtures: predict assigns a component
    rows = [(kind, name, klass) for name, (kind, klass) in found.items() if not only or name in only]
    return sorted(rows, key=lambda r: (KINDS.index(r[0]), r[1]))


def _estimator_type(klass) -> str | None:
    try:
        return getattr(klass().__sklearn_tags__(), "estimator_type", None)
    except TypeError:
        return None


def _required(kind: str):
    """Sub-estimators for the parameters a meta-estimator cannot do without."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    classify = kind == "classifier" or kind == "transformer"
    base = LogisticRegression(max_iter=1000) if classify else Ridge()
    other = (
        DecisionTreeClassifier(max_depth=3, random_state=0)
        if classify
        else DecisionTreeRegressor(max_depth=3)
    )
    return {
        "estimator": base,
        "base_estimator": base,
        "estimators": [("linear", base), ("tree", other)],
        "transformer_list": [("pca", PCA(n_components=2)), ("scale", StandardScaler())],
        "transformers": [
            ("scale", StandardScaler(), [0, 1, 2]),
            ("pca", PCA(n_components=2), [3, 4, 5, 6, 7]),
        ],
        "steps": [("scale", StandardScaler()), ("model", base)],
    }


#: Defaults that cannot fit this data: the smallest change that can.
OVERRIDES = {
    "GaussianRandomProjection": {"n_components": 4},
    "SparseRandomProjection": {"n_components": 4},
    "CCA": {"n_components": 1},
    "PLSCanonical": {"n_components": 1},
    "PLSSVD": {"n_components": 1},
    "LocalOutlierFactor": {"novelty": True},  # without it, no predict for new data (either tool)
}


def build(kind: str, klass: type):
    """``klass`` with default parameters (but :data:`OVERRIDES`), random_state=0 where it has one."""
    required = _required(kind)
    arguments = {}
    for name, parameter in inspect.signature(klass).parameters.items():
        if parameter.default is inspect.Parameter.empty and parameter.kind == parameter.POSITIONAL_OR_KEYWORD:
            if name not in required:
                raise TypeError(f"needs {name}=")
            arguments[name] = required[name]
    estimator = klass(**arguments, **OVERRIDES.get(klass.__name__, {}))
    if "random_state" in estimator.get_params():
        estimator.set_params(random_state=0)
    return estimator


def data(kind: str, name: str):
    """Small float32 data: 3 classes (or a regression target) on 8 non-negative features."""
    from sklearn.datasets import make_classification, make_regression

    rng = np.random.default_rng(0)
    if kind == "regressor":
        X, y = make_regression(n_samples=400, n_features=8, n_informative=5, noise=1.0, random_state=0)
        X = X - X.min(axis=0)
        if name in ("PoissonRegressor", "GammaRegressor", "TweedieRegressor"):
            y = np.exp((y - y.mean()) / y.std())
    else:
        X, y = make_classification(
            n_samples=400,
            n_features=8,
            n_informative=6,
            n_redundant=0,
            n_classes=3,
            random_state=0,
            n_clusters_per_class=1,
        )
        X = X - X.min(axis=0)
    if name == "CategoricalNB":
        X = np.floor(X)
    if name in (
        "MultiOutputRegressor",
        "RegressorChain",
        "MultiTaskLasso",
        "MultiTaskElasticNet",
    ) or name in (
        "MultiTaskLassoCV",
        "MultiTaskElasticNetCV",
    ):
        y = np.column_stack([y, y * 0.5 + rng.normal(size=len(y))])
    if name in ("MultiOutputClassifier", "ClassifierChain"):
        y = np.column_stack([y, (y + 1) % 3])
    X = X.astype(np.float32).astype(np.float64)
    if name in ENCODERS:  # every training value is a category: test on seen ones
        return X[:200], y[:200], X[:200], y[:200]
    return X[:200], y[:200], X[200:], y[200:]


#: Encoders of categories, tested on training rows (new rows would be unknown categories).
ENCODERS = ("OneHotEncoder", "OrdinalEncoder", "TargetEncoder")


# ------------------------------------------------------------------ the check
def agreement(method: str, got, expected) -> tuple[bool, str]:
    """Whether ``got`` reproduces scikit-learn's ``expected`` for ``method``, and a note; a
    list (a multi-output ``predict_proba``) target by target."""
    if isinstance(expected, list):
        if not isinstance(got, list | tuple) or len(got) != len(expected):
            return False, f"{method}: {len(expected)} targets, got {type(got).__name__}"
        results = [agreement(method, g, e) for g, e in zip(got, expected, strict=True)]
        bad = [note for ok, note in results if not ok]
        return not bad, "; ".join(bad) if bad else max(note for _, note in results)
    expected = np.asarray(expected.toarray() if hasattr(expected, "toarray") else expected)
    got = np.asarray(got)
    if got.size != expected.size:
        return False, f"{method}: shape {got.shape} vs {expected.shape}"
    got, expected = got.reshape(expected.shape), expected
    if expected.dtype.kind not in "fc":  # labels
        same = (
            np.mean(got.astype(expected.dtype) == expected)
            if expected.dtype.kind != "O"
            else np.mean(got.astype(str) == expected.astype(str))
        )
        return bool(same == 1.0), f"{method}: {same:.1%} labels"
    got64, expected64 = (
        got.astype(np.float64).reshape(len(got), -1),
        expected.astype(np.float64).reshape(len(got), -1),
    )
    scale = np.max(np.abs(expected64), axis=0)
    scale[scale == 0] = 1.0
    deviation = np.abs(got64 - expected64)
    deviation[np.isnan(got64) & np.isnan(expected64)] = 0.0
    allowed = PROBA_ATOL if method == "predict_proba" else RTOL * np.abs(expected64) + RTOL * scale
    ok = bool(np.all(deviation <= allowed))
    return ok, f"{method}: max |diff| {np.nanmax(deviation):.2g}"


def _sklearn(estimator, method, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(estimator, method)(X)


def _has(estimator, method) -> bool:
    try:
        return hasattr(estimator, method)
    except (AttributeError, ValueError):
        return False


def required_methods(estimator) -> list[str]:
    if _has(estimator, "predict"):
        return ["predict"] + (["predict_proba"] if _has(estimator, "predict_proba") else [])
    return ["transform"] if _has(estimator, "transform") else []


def verdict(checks: list[tuple[bool, str]], missing: list[str]) -> tuple[str, str]:
    if missing:
        return "inexact", "no " + ", ".join(missing)
    bad = [note for ok, note in checks if not ok]
    return ("inexact", "; ".join(bad)) if bad else ("exact", "")


def workbench_result(estimator, X_test) -> tuple[str, str]:
    import workbench

    try:
        converted = workbench.convert(estimator, "float32", timeout=120)
    except workbench.WorkbenchError as err:
        return "refused", _short(err)
    required = required_methods(estimator)
    names = converted.output_names
    # a multi-output predict_proba is one output per target: predict_proba_0, predict_proba_1, ...
    missing = [m for m in required if m not in names and f"{m}_0" not in names]
    checks = []
    for method in METHODS:
        if (method in names or f"{method}_0" in names) and _has(estimator, method):
            try:
                expected = _sklearn(estimator, method, X_test)
            except Exception:  # noqa: BLE001 -- scikit-learn itself refuses these rows (unknown categories)
                continue
            checks.append(agreement(method, getattr(converted, method)(X_test), expected))
    return verdict(checks, missing)


def onnx_result(kind: str, estimator, X_train, X_test) -> tuple[str, str]:
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
    names = [o.name for o in session.get_outputs()]
    checks, required = [], required_methods(estimator)
    if required and required[0] == "predict":
        checks.append(agreement("predict", outputs[0], _sklearn(estimator, "predict", X_test)))
        if "predict_proba" in required:
            if len(outputs) < 2:
                return "inexact", "no predict_proba"
            checks.append(
                agreement("predict_proba", outputs[1], _sklearn(estimator, "predict_proba", X_test))
            )
        elif len(outputs) > 1 and kind == "outlier" and _has(estimator, "decision_function"):
            checks.append(
                agreement("decision_function", outputs[1], _sklearn(estimator, "decision_function", X_test))
            )
        elif len(outputs) > 1 and kind == "cluster" and _has(estimator, "transform"):
            checks.append(agreement("transform", outputs[1], _sklearn(estimator, "transform", X_test)))
    elif required:
        checks.append(agreement("transform", outputs[0], _sklearn(estimator, "transform", X_test)))
    del names
    return verdict(checks, [])


def _guarded(check, *args) -> tuple[str, str]:
    try:
        return check(*args)
    except Exception as err:  # noqa: BLE001 -- scikit-learn refusing the test rows must not stop the sweep
        return "inexact", "check failed: " + _short(err)


def _short(err: Exception) -> str:
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text[:90]}"


# ------------------------------------------------------------------ the sweep
def sweep(only=None, onnx=True) -> list[dict]:
    rows = []
    for kind, name, klass in candidates(only):
        started = time.perf_counter()
        row = {"kind": kind, "name": name}
        try:
            estimator = build(kind, klass)
            X_train, y_train, X_test, _ = data(kind, name)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                estimator.fit(X_train, y_train)
        except Exception as err:  # noqa: BLE001 -- estimators that cannot be fitted this way are listed as such
            row.update(workbench=("not fitted", _short(err)), onnx=("not fitted", ""))
            rows.append(row)
            print(f"{name}: not fitted ({_short(err)})", file=sys.stderr)
            continue
        row["workbench"] = _guarded(workbench_result, estimator, X_test)
        row["onnx"] = _guarded(onnx_result, kind, estimator, X_train, X_test) if onnx else ("not run", "")
        rows.append(row)
        print(
            f"{name}: workbench {row['workbench'][0]}, skl2onnx {row['onnx'][0]} "
            f"({time.perf_counter() - started:.1f} s)",
            file=sys.stderr,
        )
    return rows


def counts(rows, tool: str, kinds=KINDS) -> dict[str, int]:
    result = {"exact": 0, "inexact": 0, "refused": 0, "not fitted": 0}
    for row in rows:
        if row["kind"] in kinds:
            status = row[tool][0]
            result[status] = result.get(status, 0) + 1
    return result


def write(rows, path: Path = OUT) -> None:
    import onnxruntime
    import skl2onnx
    import sklearn

    import workbench

    issue_kinds = ("classifier", "regressor", "transformer")
    lines = [
        "# scikit-learn coverage: the workbench and skl2onnx + onnxruntime",
        "",
        "Written by `python benchmarks/sklearn_coverage.py` (see its docstring for the rules: default",
        "parameters, float32 data, exact = labels on every row and values within 1e-5).",
        f"scikit-learn {sklearn.__version__}, skl2onnx {skl2onnx.__version__}, onnxruntime "
        f"{onnxruntime.__version__}, workbench {workbench.__version__}, Python {platform.python_version()}.",
        "",
        "| scope | classes | workbench exact | skl2onnx exact |",
        "|---|---|---|---|",
    ]
    for label, kinds in (("classifiers, regressors, transformers", issue_kinds), ("all five kinds", KINDS)):
        total = sum(1 for r in rows if r["kind"] in kinds)
        wb, ox = counts(rows, "workbench", kinds), counts(rows, "onnx", kinds)
        lines.append(f"| {label} | {total} | **{wb['exact']}** | **{ox['exact']}** |")
    lines += ["", "| kind | estimator | workbench | note | skl2onnx | note |", "|---|---|---|---|---|---|"]
    for row in rows:
        wb, ox = row["workbench"], row["onnx"]
        lines.append(
            f"| {row['kind']} | {row['name']} | {wb[0]} | {_cell(wb[1])} | {ox[0]} | {_cell(ox[1])} |"
        )
    path.write_text("\n".join(lines) + "\n")


def _cell(text: str) -> str:
    return text.replace("|", "/")


def read(path: Path = OUT) -> list[dict]:
    """The rows of a written table: ``{"kind", "name", "workbench", "onnx"}`` (statuses)."""
    rows = []
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 6 and cells[0] in KINDS:
            rows.append({"kind": cells[0], "name": cells[1], "workbench": cells[2], "onnx": cells[4]})
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="estimator class names to sweep (default: all)")
    parser.add_argument("--no-onnx", action="store_true", help="skip skl2onnx")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    rows = sweep(args.only, onnx=not args.no_onnx)
    write(rows, args.out)
    for label, tool in (("workbench", "workbench"), ("skl2onnx", "onnx")):
        print(f"{label}: {counts(rows, tool)}", file=sys.stderr)
    if not args.only:  # the corners of issue 17, in the same run, as a section of the same file
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import sklearn_corners

        sklearn_corners.write(sklearn_corners.run(onnx=not args.no_onnx), args.out)


if __name__ == "__main__":
    main()
