"""The coverage sweep (``benchmarks/sklearn_coverage.py``) as a guard: its table keeps the
count of exactly rebuilt classes, no supported class is reported inexact, and a slice of
the sweep, re-run here on this checkout, is still exact."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import workbench

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
import sklearn_coverage  # noqa: E402

#: Classes the sweep finds exact (benchmarks/SKLEARN_COVERAGE.md); raise it, never lower it.
MIN_EXACT = 139


@pytest.fixture(scope="module")
def rows():
    return sklearn_coverage.read(BENCHMARKS / "SKLEARN_COVERAGE.md")


def test_the_table_keeps_the_exact_count(rows):
    exact = [r["name"] for r in rows if r["workbench"] == "exact"]
    assert len(exact) >= MIN_EXACT, f"{len(exact)} exact classes in the table, expected at least {MIN_EXACT}"
    assert any(r["onnx"] == "exact" for r in rows), "skl2onnx's side of the same run is missing"


def test_no_supported_estimator_is_reported_inexact(rows):
    supported = set(workbench.supported_estimators())
    inexact = sorted(r["name"] for r in rows if r["workbench"] == "inexact" and r["name"] in supported)
    assert not inexact, f"supported but inexact in the sweep: {', '.join(inexact)}"
    exact = {r["name"] for r in rows if r["workbench"] == "exact"}
    assert exact <= supported, f"exact in the table but not supported: {sorted(exact - supported)}"


def test_a_slice_of_the_sweep_is_still_exact(rows):
    exact = [r["name"] for r in rows if r["workbench"] == "exact"]
    chosen = exact[:: max(1, len(exact) // 12)]
    result = sklearn_coverage.sweep(only=set(chosen), onnx=False)
    verdicts = {r["name"]: r["workbench"] for r in result}
    assert set(verdicts) == set(chosen)
    bad = {name: v for name, v in verdicts.items() if v[0] != "exact"}
    assert not bad, bad


def test_the_readme_lists_every_supported_estimator():
    readme = (BENCHMARKS.parent / "README.md").read_text()
    block = readme.split("<code>workbench.supported_estimators()</code></summary>", 1)[1].split(
        "</details>", 1
    )[0]
    listed = {name.strip().strip("`") for name in block.replace("\n", " ").split(",")}
    assert listed == set(workbench.supported_estimators())
