"""Every mistake a user can make ends in a WorkbenchError that says what was received, what was
expected and how to fix it, before any conversion starts; mutated files never crash the process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench import Dataset, Mode, WorkbenchError
from workbench.cli import main as cli
from workbench.convert import converter_runs
from workbench.ui.controller import Controller

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad-input")
    (root / "folder.tflite").mkdir()
    (root / "folder.csv").mkdir()
    (root / "empty.keras").write_bytes(b"")
    (root / "model.xyz").write_bytes(b"not a model")
    (root / "header-only.csv").write_text("a,b,label\n")
    (root / "holes.csv").write_text("a,b,label\n1,2,0\n3,,1\n5,6,0\n7,8,1\n9,10,0\n11,12,1\n")
    (root / "a-file").write_text("in the way")
    return root


@pytest.fixture(scope="module")
def converted(digits_mlp):
    return workbench.convert(digits_mlp, "float32")


@pytest.fixture(scope="module")
def c(files, digits, converted):
    """What the rows below need: files, data with holes, a converted model."""
    X, y = digits.X_train[:40], digits.y_train[:40]
    nan_X = X.copy()
    nan_X[3, 5] = np.nan
    inf_X = X.copy()
    inf_X[7, 1] = np.inf
    huge_X = X.astype(np.float64)
    huge_X[2, 2] = 1e39
    labels = np.array(["a", "b"] * 20, dtype=object)
    labels[4] = None
    return SimpleNamespace(
        m="digits_mlp", files=files, digits=digits, converted=converted, X=X, y=y,
        nan_X=nan_X, inf_X=inf_X, huge_X=huge_X, labels=labels,
    )  # fmt: skip


# One row per mistake: what the user calls, given the fixture ``c`` above.
MISTAKES = {
    # convert()
    "unknown mode": lambda c: workbench.convert(c.m, "int4"),
    "mode not a string": lambda c: workbench.convert(c.m, 8),
    "io the mode lacks": lambda c: workbench.convert(c.m, "int8:int16"),
    "timeout None": lambda c: workbench.convert(c.m, timeout=None),
    "timeout text": lambda c: workbench.convert(c.m, timeout="abc"),
    "timeout zero": lambda c: workbench.convert(c.m, timeout=0),
    "timeout negative": lambda c: workbench.convert(c.m, timeout=-5),
    "threads zero": lambda c: workbench.convert(c.m, threads=0),
    "threads text": lambda c: workbench.convert(c.m, threads="2"),
    "int8 without data": lambda c: workbench.convert(c.m, "int8"),
    "static recipe without data": lambda c: workbench.convert(c.m, "static_wi8_ai8"),
    "calibration of the wrong shape": lambda c: workbench.convert(c.m, "int8", np.zeros((5, 3))),
    "calibration with NaN": lambda c: workbench.convert(c.m, "int8", c.nan_X),
    "calibration of strings": lambda c: workbench.convert(c.m, "int8", np.array([["a"] * 64])),
    "no such example": lambda c: workbench.convert("no_such_model"),
    "not a model": lambda c: workbench.convert(42),
    "a directory named .tflite": lambda c: workbench.convert(c.files / "folder.tflite"),
    "an empty .keras file": lambda c: workbench.convert(c.files / "empty.keras"),
    "an unknown extension": lambda c: workbench.convert(c.files / "model.xyz"),
    # compare()
    "modes None": lambda c: workbench.compare(c.m, "c.digits", modes=None),
    "modes empty": lambda c: workbench.compare(c.m, "c.digits", modes=[]),
    "one bad mode among good": lambda c: workbench.compare(c.m, "c.digits", modes=["float32", "bogus"]),
    "representative a fraction": lambda c: workbench.compare(c.m, "c.digits", representative=2.5),
    "representative zero": lambda c: workbench.compare(c.m, "c.digits", representative=0),
    "representative True": lambda c: workbench.compare(c.m, "c.digits", representative=True),
    "representative text": lambda c: workbench.compare(c.m, "c.digits", representative="200"),
    "misspelt strategy": lambda c: workbench.compare(c.m, "c.digits", strategy="randm"),
    "misspelt strategy, float modes only": lambda c: workbench.compare(
        c.m, "c.digits", modes=["float32"], strategy="randm"
    ),
    "seed text": lambda c: workbench.compare(c.m, "c.digits", seed="x"),
    "seed negative": lambda c: workbench.compare(c.m, "c.digits", seed=-1),
    "compare threads zero": lambda c: workbench.compare(c.m, "c.digits", threads=0),
    "latency budget zero": lambda c: workbench.compare(c.m, "c.digits", latency_budget=0),
    "latency budget text": lambda c: workbench.compare(c.m, "c.digits", latency_budget="fast"),
    "keep_float text": lambda c: workbench.compare(c.m, "c.digits", keep_float="2"),
    "keep_float negative": lambda c: workbench.compare(c.m, "c.digits", keep_float=-1),
    "keep_float mixed": lambda c: workbench.compare(c.m, "c.digits", keep_float=(1, "2")),
    "keep_precision unknown": lambda c: workbench.compare(c.m, "c.digits", keep_precision="int4"),
    "progress text": lambda c: workbench.compare(c.m, "c.digits", progress="yes"),
    "cancel without is_set": lambda c: workbench.compare(c.m, "c.digits", cancel=object()),
    "dataset a number": lambda c: workbench.compare(c.m, 123),
    "no such dataset": lambda c: workbench.compare(c.m, "no_such_dataset"),
    "model and dataset mismatch": lambda c: workbench.compare(c.m, "iris"),
    # Dataset
    "features with NaN": lambda c: Dataset.from_arrays(c.nan_X, c.y),
    "features with inf": lambda c: Dataset.from_arrays(c.inf_X, c.y),
    "features beyond float32": lambda c: Dataset.from_arrays(c.huge_X, c.y),
    "a missing label": lambda c: Dataset.from_arrays(c.X, c.labels),
    "test_size zero": lambda c: Dataset.from_arrays(c.X, c.y, test_size=0),
    "test_size above one": lambda c: Dataset.from_arrays(c.X, c.y, test_size=1.5),
    "split seed text": lambda c: Dataset.from_arrays(c.X, c.y, seed="x"),
    "unknown task": lambda c: Dataset.from_arrays(c.X, c.y, task="clustering"),
    "string features": lambda c: Dataset.from_arrays(np.array([["a", "b"]] * 10), np.arange(10) % 2),
    "CSV path a directory": lambda c: Dataset.from_csv(c.files / "folder.csv", target="label"),
    "CSV with only a header": lambda c: Dataset.from_csv(c.files / "header-only.csv", target="label"),
    "CSV that does not exist": lambda c: Dataset.from_csv(c.files / "none.csv", target="label"),
    "CSV target not a column": lambda c: Dataset.from_csv(c.files / "holes.csv", target="y"),
    "CSV with empty cells": lambda c: Dataset.from_csv(c.files / "holes.csv", target="label"),
    "unknown dataset name": lambda c: workbench.load_dataset("nope"),
    "dataset name a list": lambda c: workbench.load_dataset(["c.digits"]),
    "representative(0)": lambda c: c.digits.representative(0),
    "representative strategy": lambda c: c.digits.representative(10, strategy="x"),
    "representative seed": lambda c: c.digits.representative(10, seed=-1),
    # modes
    "Mode io": lambda c: Mode("int8", io="float16"),
    "Mode near miss": lambda c: Mode("static_wi8_a8"),
    # diagnose() and keep_float()
    "diagnose int8 without data": lambda c: workbench.diagnose(c.m, "int8"),
    "diagnose debug_samples zero": lambda c: workbench.diagnose(c.m, debug_samples=0),
    "keep_float zero layers": lambda c: workbench.keep_float(c.m, "int8", c.digits, layers=0),
    "keep_float layers text": lambda c: workbench.keep_float(c.m, "int8", c.digits, layers="2"),
    "keep_float of float16": lambda c: workbench.keep_float(c.m, "float16", layers=1),
    "keep_float precision": lambda c: workbench.keep_float(c.m, "dynamic_wi4_afp32", precision="int4"),
    # saving and running
    "Converted.save to a directory": lambda c: c.converted.save(c.files),
    "Converted.save to nothing": lambda c: c.converted.save(""),
    "predict wrong shape": lambda c: c.converted.predict(np.zeros((3, 5))),
    "predict strings": lambda c: c.converted.predict(np.array([["x"] * 64])),
    "load_tflite missing": lambda c: workbench.load_tflite(c.files / "none.tflite"),
    "load_tflite directory": lambda c: workbench.load_tflite(c.files / "folder.tflite"),
    # the widget's controller
    "controller unknown setting": lambda c: Controller().update(bogus=1),
    "controller unknown mode": lambda c: Controller().update(modes=("float32", "nope")),
    # a custom layer that runs eagerly but cannot be traced for export
    "untraceable custom layer": lambda c: workbench.convert(_untraceable_model()),
}


def _untraceable_model():
    import keras

    class SumScale(keras.layers.Layer):
        def call(self, x):
            return x * float(np.asarray(x).sum())  # NumPy on a tensor: fine eagerly, not in a graph

        def compute_output_shape(self, shape):
            return shape

    return keras.Sequential([keras.Input((4,)), SumScale(name="sum_scale"), keras.layers.Dense(2)])


def test_an_untraceable_layer_is_named_with_the_way_out():
    with pytest.raises(workbench.ModelLoadError) as info:
        workbench.convert(_untraceable_model())
    assert "sum_scale (SumScale)" in info.value.received and "keras.ops" in info.value.fix


def test_the_table_of_mistakes_is_long():
    assert len(MISTAKES) >= 60


@pytest.mark.parametrize("case", list(MISTAKES))
def test_every_mistake_is_a_clear_error_before_any_conversion(case, c):
    runs = sum(converter_runs.values())
    with pytest.raises(WorkbenchError) as info:
        MISTAKES[case](c)
    error = info.value
    assert error.received.strip() and error.expected.strip() and error.fix.strip(), str(error)
    assert sum(converter_runs.values()) == runs, "the converter ran before the mistake was caught"


def test_a_failed_save_keeps_the_comparison(files, digits_mlp, digits):
    result = workbench.compare(digits_mlp, digits, modes=["float32"], latency_budget=0.05, progress=False)
    table = result.table.copy()
    with pytest.raises(workbench.OutputPathError, match="which is a file"):
        result.save(files / "a-file")
    pd.testing.assert_frame_equal(result.table, table)
    assert (files / "saved" / "report.html").exists() is False
    assert result.save(files / "saved").endswith("report.html")


@pytest.mark.parametrize(
    "arguments, expected",
    [
        (["convert", "--model", "digits_mlp", "--out", "{dir}"], "which is a directory"),
        (["compare", "--model", "digits_mlp", "--out", "{file}"], "which is a file"),
        (["compare", "--model", "digits_mlp", "--threads", "0", "--out", "{dir}/r"], "--threads 0"),
        (["compare", "--model", "digits_mlp", "--latency-budget", "0", "--out", "{dir}/r"], "--latency-budget"),
        (["convert", "--model", "digits_mlp", "--mode", "int8", "--representative", "0", "--out", "{dir}/m.tflite"], "--representative 0"),
        (["app", "--port", "-1", "--no-browser"], "--port -1"),
        (["convert", "--model", "digits_mlp", "--mode", "int4", "--out", "{dir}/m.tflite"], "mode='int4'"),
    ],
)  # fmt: skip
def test_the_command_line_refuses_mistakes_before_the_work(arguments, expected, files, capsys):
    runs = sum(converter_runs.values())
    arguments = [a.format(dir=files, file=files / "a-file") for a in arguments]
    assert cli(arguments) == 2
    err = capsys.readouterr().err
    assert err.count("workbench: error:") == 1 and expected in err and "Received:" in err
    assert "Traceback" not in err
    assert sum(converter_runs.values()) == runs


def test_nan_features_are_accepted_when_asked_for_and_reported_in_the_rows(digits):
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(0)
    X = digits.X_train.astype(np.float64).copy()
    X[rng.random(X.shape) < 0.05] = np.nan
    with pytest.raises(workbench.DatasetError, match="allow_missing=True"):
        Dataset.from_arrays(X, digits.y_train)
    data = Dataset.from_arrays(X, digits.y_train, allow_missing=True, name="digits with holes")
    model = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(data.X_train, data.y_train)
    table = workbench.compare(model, data, modes=["float32"], latency_budget=0.05, progress=False).table
    row = table.set_index("variant").loc["float32"]
    assert row["error"] == "" and row["agreement"] == 1.0 and np.isfinite(row["max_abs_diff"])


def test_nan_outputs_are_never_reported_as_agreement(digits_mlp, digits):
    """A model that answers NaN for some inputs: the row says so."""
    import keras

    inputs = keras.Input((64,))
    # NaN wherever the first pixel is 0 (log of a negative number), a real value elsewhere.
    poisoned = keras.layers.Lambda(lambda x: keras.ops.log(x[:, :1] - 0.5) * 0 + x)(inputs)
    model = keras.Model(inputs, digits_mlp(poisoned))
    table = workbench.compare(model, digits, modes=["float32"], latency_budget=0.05, progress=False).table
    original, float32 = table.iloc[0], table.iloc[1]
    assert "NaN or inf" in original["error"] and "NaN or inf" in float32["error"]
    assert float32["agreement"] < 1.0


def test_mutated_tflite_files_load_and_run_or_raise_a_clear_error(tmp_path, converted):
    """Run in a child process, so that a crash would fail this test instead of ending the suite."""
    source = tmp_path / "float32.tflite"
    converted.save(source)
    code = f"""
        import numpy as np
        import workbench
        from workbench import WorkbenchError

        base = bytearray(open({str(source)!r}, "rb").read())
        rng = np.random.default_rng(0)
        outcomes = {{"ran": 0, "refused": 0}}
        for i in range(300):
            data = bytearray(base)
            if i % 3 == 0:
                for _ in range(rng.integers(1, 8)):
                    data[rng.integers(0, len(data))] = rng.integers(0, 256)
            elif i % 3 == 1:
                data = data[: rng.integers(0, len(data))]
            else:
                at = rng.integers(0, 64)
                data[at : at + 4] = rng.integers(0, 256, 4, dtype=np.uint8).tobytes()
            path = {str(tmp_path)!r} + f"/mutated-{{i}}.tflite"
            open(path, "wb").write(bytes(data))
            try:
                workbench.load_tflite(path).predict(np.zeros((2, 64), np.float32))
                outcomes["ran"] += 1
            except WorkbenchError as err:
                assert err.received and err.fix
                outcomes["refused"] += 1
        print(outcomes["ran"], outcomes["refused"])
    """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-2000:]
    ran, refused = map(int, result.stdout.split()[-2:])
    assert ran + refused == 300 and refused > 100  # most mutations break the file; all are handled
