"""Sweeps and budget searches: real conversions, real LiteRT Quantizer, real joblib and Dask."""

from __future__ import annotations

import os
import threading

import joblib
import numpy as np
import pandas as pd
import pytest

import workbench
from workbench import QUANTIZER_MODES, BudgetError, InvalidArgumentError
from workbench.runtime import stored_tensor_types

SWEEP = dict(
    modes=["float32", "int8", "static_wi8_ai8", "weight_only_wi4_afp32"],
    representative=[10, 50, 200],
    seeds=[0],
    latency_budget=0.02,
    progress=False,
)
#: Columns that measure time: they differ run to run; every other column must not.
TIMED = ["latency_ms_p50", "latency_ms_p90", "batch_latency_ms", "speedup", "convert_s"]


def _measured(table: pd.DataFrame) -> pd.DataFrame:
    keys = ["model", "dataset", "variant", "representative", "strategy", "seed"]
    return table.drop(columns=TIMED).sort_values(keys, na_position="first").reset_index(drop=True)


@pytest.fixture(scope="module")
def local_sweep(digits_cnn, digits_mlp):
    return workbench.sweep(["digits_cnn", "digits_mlp"], n_jobs=2, **SWEEP)


@pytest.fixture(scope="module")
def cnn_search(digits_cnn):
    return workbench.search(
        digits_cnn, "digits_images", max_metric_drop=0.0, n_jobs=2, latency_budget=0.02, progress=False
    )


@pytest.fixture(scope="module")
def every_recipe(digits_cnn):
    """The exhaustive run the search must not lose to: every recipe, once, through compare()."""
    return workbench.compare(
        digits_cnn, "digits_images", modes=QUANTIZER_MODES, latency_budget=0.02, progress=False
    )


def test_a_sweep_of_two_models_and_three_calibration_sizes_fills_the_whole_grid(local_sweep):
    table = local_sweep.table
    for model in ("digits_cnn", "digits_mlp"):
        rows = table[table["model"] == model]
        # The original, float32 and the weight-only recipe once; int8 and static once per size.
        assert sorted(rows["variant"]) == sorted(
            ["original", "float32", "weight_only_wi4_afp32"] + ["int8", "static_wi8_ai8"] * 3
        )
        calibrated = rows[rows["variant"].isin(["int8", "static_wi8_ai8"])]
        assert sorted(calibrated["representative"]) == [10, 10, 50, 50, 200, 200]
        assert (rows["error"] == "").all()
    assert {"accuracy", "size_bytes", "agreement", "latency_ms_p50", "path"} <= set(table.columns)
    # The candidates ran in other processes, none of which loaded TensorFlow.
    assert not local_sweep.tensorflow_in_tasks
    assert os.getpid() not in local_sweep.task_pids


def test_a_sweep_row_is_the_variant_compare_makes_for_the_same_calibration(local_sweep, digits_mlp):
    alone = workbench.compare(
        digits_mlp, "digits", modes=["static_wi8_ai8"], representative=50, latency_budget=0.02, progress=False
    ).table.set_index("variant")
    rows = local_sweep.table
    row = rows[
        (rows["model"] == "digits_mlp")
        & (rows["variant"] == "static_wi8_ai8")
        & (rows["representative"] == 50)
    ]
    assert row["accuracy"].item() == alone.loc["static_wi8_ai8", "accuracy"]
    assert row["size_bytes"].item() == alone.loc["static_wi8_ai8", "size_bytes"]
    assert row["max_abs_diff"].item() == alone.loc["static_wi8_ai8", "max_abs_diff"]


def test_the_same_sweep_on_a_dask_cluster_gives_the_same_table(local_sweep, digits_cnn, digits_mlp):
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client, joblib.parallel_config(backend="dask"):
            on_dask = workbench.sweep(["digits_cnn", "digits_mlp"], **SWEEP)
            dask_pids = set(client.run(os.getpid).values())
    assert not on_dask.notes or "failed" not in " ".join(on_dask.notes)
    assert on_dask.task_pids <= dask_pids  # every candidate ran on a Dask worker
    pd.testing.assert_frame_equal(_measured(on_dask.table), _measured(local_sweep.table))


def test_a_dask_cluster_that_is_gone_lets_the_sweep_finish_here_and_say_so(digits_mlp):
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None)
    with Client(cluster), joblib.parallel_config(backend="dask"):
        cluster.close()
        result = workbench.sweep(
            "digits_mlp", modes=["weight_only_wi4_afp32", "static_wi8_ai8"], representative=50,
            latency_budget=0.02, progress=False,
        )  # fmt: skip
    assert (result.table["error"] == "").all() and len(result.table) == 3
    note = " ".join(result.notes)
    assert "parallel backend failed after 0 of 2 candidates" in note and "ran in this process" in note
    # Finished in the workbench's worker process, one at a time: never natively in this one.
    assert len(result.task_pids) == 1 and os.getpid() not in result.task_pids


def test_a_sweep_figure_has_a_panel_per_model(local_sweep):
    figure = local_sweep.plot()
    assert [ax.get_title() for ax in figure.axes] == ["digits_cnn on digits_images", "digits_mlp on digits"]
    # int8 and static_wi8_ai8 are lines over the three calibration sizes.
    lines = [line for line in figure.axes[0].get_lines() if len(line.get_xdata()) == 3]
    assert sorted(line.get_label() for line in lines) == ["int8 (random)", "static_wi8_ai8 (random)"]


def test_a_search_is_at_least_as_small_as_the_best_single_recipe(cnn_search, every_recipe, digits_images):
    table = every_recipe.table
    meets = table[(table["variant"] != "original") & (table["error"] == "") & (table["metric_delta"] >= 0)]
    smallest_recipe = meets["size_bytes"].min()
    assert cnn_search.recommended is not None
    chosen = cnn_search.table.set_index("variant").loc[cnn_search.recommended]
    assert chosen["size_bytes"] <= smallest_recipe
    # Its accuracy, measured again here from the variant itself, keeps the bound.
    best = cnn_search.best
    accuracy = np.mean(best.run(digits_images.X_test).argmax(axis=1) == digits_images.y_test)
    assert accuracy == chosen["accuracy"] >= table.set_index("variant").loc["original", "accuracy"]
    # Every recipe the search scored has the numbers compare() gives it.
    searched = cnn_search.table.set_index("variant")
    for recipe in meets["variant"]:
        assert searched.loc[recipe, "accuracy"] == table.set_index("variant").loc[recipe, "accuracy"]
        assert searched.loc[recipe, "size_bytes"] == table.set_index("variant").loc[recipe, "size_bytes"]


def test_a_search_tries_layers_at_higher_precision_and_its_pareto_set_is_not_dominated(cnn_search):
    table = cnn_search.table
    layered = table[table["kept_layers"] != ""]
    assert len(layered) > 0, "no recipe lost accuracy at drop 0, so nothing was refined"
    for _, row in layered.iterrows():
        base = table.set_index("variant").loc[row["recipe"]]
        assert row["size_bytes"] >= base["size_bytes"]  # keeping layers adds bytes
    ok = table[(table["error"] == "") & (table["variant"] != "original")]
    for label in cnn_search.pareto:
        row = ok.set_index("variant").loc[label]
        dominated = (
            (ok["accuracy"] >= row["accuracy"]) & (ok["size_bytes"] <= row["size_bytes"])
            & (ok["latency_ms_p50"] <= row["latency_ms_p50"])
            & ((ok["accuracy"] > row["accuracy"]) | (ok["size_bytes"] < row["size_bytes"])
               | (ok["latency_ms_p50"] < row["latency_ms_p50"]))
        )  # fmt: skip
        assert not dominated.any(), label
    assert not cnn_search.tensorflow_in_tasks


def test_a_mixed_precision_candidates_code_reproduces_it(
    cnn_search, digits_cnn, digits_images, tmp_path, monkeypatch
):
    from workbench.sources import as_source

    table = cnn_search.table
    label = table[(table["kept_layers"] != "") & (table["error"] == "")]["variant"].iloc[0]
    code = cnn_search.code_for(label)
    assert "qt.add_" in code or "no_quantize" in code
    monkeypatch.chdir(tmp_path)
    source = as_source(digits_cnn)
    samples = digits_images.representative(200, "random", 0)
    # The printed code starts from ./saved_model and ./calibration_samples.npy, as it says.
    (tmp_path / "saved_model").symlink_to(source.spec()[1], target_is_directory=True)
    np.save(tmp_path / "calibration_samples.npy", samples)
    exec(compile(code, f"<code for {label}>", "exec"), {})
    made = workbench.Converted(next(tmp_path.glob("model-*.tflite")).read_bytes())
    ours = cnn_search.variant(label)
    assert stored_tensor_types(made.content) == stored_tensor_types(ours.content)
    np.testing.assert_array_equal(made.run(digits_images.X_test), ours.run(digits_images.X_test))


def test_a_budget_no_candidate_meets_returns_the_closest_and_by_how_much(digits_mlp):
    result = workbench.search(
        digits_mlp, "digits", max_metric_drop=0.05, max_flash="20KB", modes=["weight_only_wi4_afp32",
        "dynamic_wi8_afp32", "static_wi8_ai8"], layers=False, latency_budget=0.02, progress=False,
    )  # fmt: skip
    assert result.recommended is None and result.best is None
    assert result.closest and result.closest[0] == "weight_only_wi4_afp32"  # the smallest misses least
    miss = result.table.set_index("variant").loc["weight_only_wi4_afp32", "miss"]
    size = result.table.set_index("variant").loc["weight_only_wi4_afp32", "size_bytes"]
    assert f"by {workbench.targets.format_bytes(size - 20 * 1024)}" in miss
    assert "no candidate meets the budget" in result.summary()


def test_a_search_with_a_target_runs_the_winner_on_tflite_micro(digits_mlp):
    result = workbench.search(
        digits_mlp, "digits", max_metric_drop=0.01, target="cortex-m4", layers=False,
        modes=["dynamic_wi4_afp32", "weight_only_wi8_afp32", "static_wi8_ai8"], latency_budget=0.02, progress=False,
    )  # fmt: skip
    table = result.table.set_index("variant")
    # The 4-bit dynamic recipe is the smallest but has no TFLite Micro kernels: it cannot win.
    assert (
        table.loc["dynamic_wi4_afp32", "meets_ram"] is False
        or table.loc["dynamic_wi4_afp32", "meets_metric"] is False
    )
    assert result.recommended in ("weight_only_wi8_afp32", "static_wi8_ai8")
    winner = table.loc[result.recommended]
    assert winner["tflm"] is True and winner["tflm_arena_bytes"] <= 256 * 1024 and winner["fits"] is True


@pytest.mark.parametrize(
    ("kwargs", "error", "says"),
    [
        ({"max_metric_drop": -0.1}, BudgetError, "beat the original"),
        ({"max_metric_drop": "1%"}, BudgetError, "max_metric_drop='1%'"),
        ({"target": "cortex-m4", "max_flash": "4MB"}, BudgetError, "which has 1 MB"),
        ({"objective": "speed"}, InvalidArgumentError, "objective='speed'"),
        ({"n_jobs": 0}, InvalidArgumentError, "n_jobs=0"),
        ({"max_seconds": -1}, InvalidArgumentError, "max_seconds=-1"),
    ],
)
def test_budgets_that_cannot_be_searched_say_why_before_any_work(digits_mlp, kwargs, error, says):
    with pytest.raises(error, match=None) as info:
        workbench.search(digits_mlp, "digits", **kwargs)
    assert says in str(info.value)


def test_a_cancelled_sweep_returns_what_it_has(digits_mlp):
    stop = threading.Event()
    seen = []

    def progress(done, total, message):
        seen.append((done, total))
        if done >= 2:
            stop.set()

    result = workbench.sweep(
        digits_mlp, "digits", modes=["static_wi8_ai8", "static_wi8_ai16"], representative=[10, 20, 50, 100],
        n_jobs=1, latency_budget=0.02, progress=progress, cancel=stop,
    )  # fmt: skip
    assert result.cancelled
    scored = result.table[result.table["variant"] != "original"]
    assert 2 <= len(scored) < 8 and (scored["error"] == "").all()
    assert any("Cancelled" in note for note in result.notes)
    assert seen[-1][1] == 8


def test_a_search_out_of_time_returns_the_best_so_far(digits_mlp):
    result = workbench.search(digits_mlp, "digits", max_seconds=1e-6, latency_budget=0.02, progress=False)
    assert result.timed_out and result.recommended is None
    assert any("max_seconds" in note for note in result.notes)
