"""Shared fixtures: example models and comparisons are made once per test session.

Example models are cached between runs in ``.pytest_cache/workbench-examples`` so the
suite trains them once per machine; everything else is real and made fresh.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("WORKBENCH_CACHE_DIR", str(ROOT / ".pytest_cache" / "workbench-examples"))
# Worker processes can unpickle the test helpers in this folder (see gates.py), and every
# subprocess (the CLI, joblib and Dask workers) imports this checkout's workbench, whatever
# checkout an editable install points at.
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(Path(__file__).parent), str(ROOT), os.environ.get("PYTHONPATH", "")) if p
)

import workbench  # noqa: E402  (after the cache directory is set)

# Examples train on first use; parallel first uses would train twice.
_training = threading.Lock()


@pytest.fixture(scope="session")
def output_dir() -> Path:
    """Where tests leave files a person may want to look at (screenshots, reports)."""
    path = ROOT / "test-output"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def digits():
    return workbench.load_dataset("digits")


@pytest.fixture(scope="session")
def digits_images():
    return workbench.load_dataset("digits_images")


@pytest.fixture(scope="session")
def diabetes():
    return workbench.load_dataset("diabetes")


@pytest.fixture(scope="session")
def digits_mlp():
    with _training:
        return workbench.load_example("digits_mlp")


@pytest.fixture(scope="session")
def digits_cnn():
    with _training:
        return workbench.load_example("digits_cnn")


@pytest.fixture(scope="session")
def diabetes_mlp():
    with _training:
        return workbench.load_example("diabetes_mlp")


@pytest.fixture(scope="session")
def cnn_variants(digits_cnn, digits_images):
    """digits_cnn converted in every mode, calibrated on 200 training samples."""
    samples = digits_images.representative(200)
    return {mode: workbench.convert(digits_cnn, mode, samples) for mode in workbench.MODE_NAMES}


@pytest.fixture(scope="session")
def mlp_variants(digits_mlp, digits):
    samples = digits.representative(200)
    return {mode: workbench.convert(digits_mlp, mode, samples) for mode in workbench.MODE_NAMES}


@pytest.fixture(scope="session")
def cnn_comparison(digits_cnn, digits_images):
    return workbench.compare(
        digits_cnn, digits_images, modes=workbench.MODE_NAMES, latency_budget=0.2, progress=False
    )
