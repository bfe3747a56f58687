"""The command line end to end, as a user runs it (real subprocesses)."""

import os
import subprocess
import sys

import pandas as pd
import pytest

from workbench import MODE_NAMES, load_tflite
from workbench.cli import DEMO_MODES

pytestmark = pytest.mark.slow


def workbench_cli(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "workbench.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        env={**os.environ},
    )


def test_demo_prints_the_table_and_writes_a_report(tmp_path):
    result = workbench_cli("demo", "--out", str(tmp_path / "report"), "--latency-budget", "0.1")
    assert result.returncode == 0, result.stderr
    rows = [line.split()[0] for line in result.stdout.splitlines()[2 : 3 + len(DEMO_MODES)]]
    assert rows == ["original", *DEMO_MODES], result.stdout
    # The converter's int8 and LiteRT Quantizer's static_wi8_ai8 side by side.
    assert {"int8", "static_wi8_ai8"} <= set(DEMO_MODES) and set(MODE_NAMES) <= set(DEMO_MODES)
    assert f"[{len(DEMO_MODES) + 1}/{len(DEMO_MODES) + 1}] done" in result.stderr
    csv = pd.read_csv(tmp_path / "report" / "results.csv")
    assert list(csv["variant"]) == ["original", *DEMO_MODES]
    assert csv["error"].isna().all()  # no mode failed
    assert (tmp_path / "report" / "report.html").read_text().count("data:image/png;base64,") == 1
    assert "Traceback" not in result.stderr


def test_compare_a_saved_model_on_a_csv(tmp_path, digits_mlp, digits):
    model_path = tmp_path / "mlp.keras"
    digits_mlp.save(model_path)
    frame = pd.DataFrame(digits.X_test, columns=digits.feature_names)
    frame["digit"] = digits.y_test
    frame.to_csv(tmp_path / "digits.csv", index=False)
    result = workbench_cli(
        "compare", "--model", str(model_path), "--dataset", str(tmp_path / "digits.csv"), "--label", "digit",
        "--modes", "float32", "int8", "--representative", "50", "--out", str(tmp_path / "out"), "--latency-budget", "0.05",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    csv = pd.read_csv(tmp_path / "out" / "results.csv")
    assert list(csv["variant"]) == ["original", "float32", "int8"]
    assert csv.loc[1, "agreement"] == 1.0
    assert (tmp_path / "out" / "mlp-int8.tflite").exists()


def test_convert_writes_a_tflite(tmp_path):
    out = tmp_path / "cnn.tflite"
    result = workbench_cli("convert", "--model", "digits_cnn", "--mode", "int8", "--out", str(out))
    assert result.returncode == 0, result.stderr
    converted = load_tflite(out)
    assert converted.inputs[0].dtype == "int8" and converted.inputs[0].shape == (-1, 8, 8, 1)
    assert f"{converted.size_bytes:,} bytes" in result.stdout


def test_search_prints_the_winner_and_writes_it_with_its_code(tmp_path):
    out = tmp_path / "best"
    result = workbench_cli(
        "search", "--model", "digits_mlp", "--max-drop", "0.01", "--target", "cortex-m4", "--no-layers",
        "--modes", "dynamic_wi4_afp32", "weight_only_wi8_afp32", "static_wi8_ai8", "--latency-budget", "0.02",
        "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out / "search.csv")
    winner = table[table["variant"] == result.stdout.split("recommended: ", 1)[1].split(" ")[0]]
    assert winner["feasible"].item() and winner["fits"].item()
    best = load_tflite(next(out.glob("*-best.tflite")))
    assert best.size_bytes == winner["size_bytes"].item()
    assert "litert_quantizer" in (out / "make_best.py").read_text()
    assert (out / "search.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    "args, message",
    [
        (["convert", "--model", "digits_cnn", "--mode", "int4", "--out", "x.tflite"], "mode='int4'"),
        (
            ["compare", "--model", "missing.keras", "--dataset", "digits"],
            "--model 'missing.keras': no such file",
        ),
        (["compare", "--model", "digits_mlp", "--dataset", "no_such_set"], "name='no_such_set'"),
        (["compare", "--model", "digits_mlp", "--dataset", "data.csv"], "without --label"),
        (["compare", "--model", "digits_mlp", "--dataset", "iris", "--modes", "float32"], "reshaped"),
        (["search", "--model", "digits_mlp", "--max-drop", "-1"], "beat the original"),
        (
            ["search", "--model", "digits_mlp", "--target", "cortex-m4", "--max-ram", "1GB"],
            "which has 256 KB",
        ),
    ],
    ids=["mode", "model", "dataset", "csv-target", "shape", "search-drop", "search-ram"],
)
def test_bad_input_exits_with_one_clear_line(tmp_path, args, message):
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    result = workbench_cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("workbench: error:")]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert "Traceback" not in result.stderr


def test_app_refuses_a_worker_idle_time_that_is_not_a_positive_number():
    result = workbench_cli("app", "--worker-idle", "0", "--no-browser")
    assert result.returncode == 2
    assert "workbench: error:" in result.stderr and "idle timeout 0.0" in result.stderr
    assert "Serving" not in result.stderr  # refused before any server starts
