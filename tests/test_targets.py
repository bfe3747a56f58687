"""Where a variant runs, with the real TFLite Micro interpreter: runs-on, arena, agreement, budgets, C source."""

import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import workbench
from workbench import Target, TargetError, check_micro
from workbench.targets import as_target, litert_memory_estimate


# ------------------------------------------------------------------------------ TFLite Micro
@pytest.mark.slow
def test_int8_runs_on_tflm_with_litert_labels_and_the_smallest_arena(cnn_variants, digits_images):
    int8 = cnn_variants["int8"]
    X = digits_images.X_test
    check = check_micro(int8, X)
    assert check.runs and check.reason == ""
    assert check.flash_bytes == int8.size_bytes
    litert = int8.run(X)
    assert check.outputs.shape == litert.shape == (len(X), 10)
    np.testing.assert_array_equal(np.argmax(check.outputs, axis=1), np.argmax(litert, axis=1))
    # The figure allocates and invokes; 10% less does not.
    assert check_micro(int8, X[:1], arena_bytes=check.arena_bytes).runs
    smaller = check_micro(int8, X[:1], arena_bytes=int(check.arena_bytes * 0.9))
    assert not smaller.runs and "does not allocate and invoke in an arena of" in smaller.reason
    assert f"({int(check.arena_bytes * 0.9):,} bytes)" in smaller.reason


@pytest.mark.slow
def test_the_converters_dynamic_variant_does_not_run_on_tflm(cnn_variants):
    check = check_micro(cnn_variants["dynamic"])
    assert not check.runs and check.arena_bytes is None
    assert "hybrid" in check.reason and "int8" in check.reason
    assert "Hybrid models are not supported" in check.log


@pytest.mark.slow
def test_the_arena_search_survives_sizes_that_crash_tflite_micro(digits_mlp, digits):
    # For this MLP, TFLite Micro segfaults at some arenas just short of enough (6,079 bytes, here):
    # the search goes on in a fresh process, and the caller sees only the answer.
    samples = digits.representative(200)
    int8, dynamic = (workbench.convert(digits_mlp, mode, samples) for mode in ("int8", "dynamic"))
    check = check_micro(int8, digits.X_test)
    assert check.runs and check.arena_bytes is not None
    assert (check.outputs.argmax(axis=1) == int8.run(digits.X_test).argmax(axis=1)).mean() > 0.99
    assert check_micro(int8, arena_bytes=check.arena_bytes).runs
    assert not check_micro(int8, arena_bytes=check.arena_bytes - 1).runs
    assert not check_micro(int8, arena_bytes=int(check.arena_bytes * 0.9)).runs
    hybrid = check_micro(dynamic)  # refused by FULLY_CONNECTED, in other words than CONV_2D's
    assert not hybrid.runs and "hybrid" in hybrid.reason


@pytest.mark.slow
def test_float16_weights_are_refused_with_their_reason(cnn_variants):
    check = check_micro(cnn_variants["float16"])
    assert not check.runs and "float16" in check.reason


def _with_custom_softmax(content: bytes, custom_code: str) -> bytes:
    """The same flatbuffer with its SOFTMAX turned into a custom op named ``custom_code``."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(content, 0))
    for code in model.operatorCodes:
        if code.builtinCode == schema.BuiltinOperator.SOFTMAX:
            code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
            code.customCode = custom_code
    builder = flatbuffers.Builder(0)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


@pytest.mark.slow
@pytest.mark.parametrize(
    "custom_code, reason",
    [
        ("MySoftmax", "custom op MySoftmax has no kernel"),
        ("FlexSoftmax", "needs Select TF ops (Flex: FlexSoftmax)"),
    ],
)
def test_custom_and_flex_ops_are_named(cnn_variants, custom_code, reason):
    check = check_micro(_with_custom_softmax(cnn_variants["int8"].content, custom_code))
    assert not check.runs and reason in check.reason


@pytest.mark.slow
def test_float32_and_int16x8_run_and_need_more_arena_than_int8(cnn_variants):
    arenas = {mode: check_micro(cnn_variants[mode]).arena_bytes for mode in ("float32", "int16x8", "int8")}
    assert arenas["int8"] < arenas["int16x8"] < arenas["float32"]


@pytest.mark.slow
def test_a_model_larger_than_every_arena_tried_says_so(cnn_variants):
    check = check_micro(cnn_variants["float32"], max_arena_bytes=4096)
    assert not check.runs and "4 KB" in check.reason and "largest arena tried" in check.reason


@pytest.mark.slow
def test_litert_memory_estimate_counts_activations_not_weights(cnn_variants):
    float32, int8 = cnn_variants["float32"], cnn_variants["int8"]
    estimate = litert_memory_estimate(float32.content)
    assert 8 * 8 * 4 + 10 * 4 <= estimate < float32.size_bytes
    assert litert_memory_estimate(int8.content) * 4 == estimate  # same graph, 1-byte activations


@pytest.mark.parametrize("recorded", [None, 700, 5000, 5003, 5004, 6000, 99_999])
@pytest.mark.parametrize("needed", [1024, 1500, 5004, 77_777])
def test_the_arena_bisection_finds_the_threshold_from_any_hint(needed, recorded):
    from workbench.targets import smallest_arena

    tried = []

    def probe(size):
        tried.append(size)
        return size >= needed

    arena, probes = smallest_arena(probe, 1 << 20, recorded)
    assert arena == needed and probes == len(tried) and min(tried) >= 1024
    assert probe(arena) and (arena == 1024 or not probe(arena - 1))


# ---------------------------------------------------------------------------------- C source
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("c++") is None, reason="needs a C++ compiler")
def test_the_c_source_compiles_and_holds_the_exact_bytes(cnn_variants, tmp_path):
    int8 = cnn_variants["int8"]
    cc, header = int8.save_c(tmp_path, name="g_model")
    assert os.path.basename(cc) == "g_model_data.cc" and os.path.basename(header) == "g_model_data.h"
    text = open(cc).read()
    assert "alignas(16) const unsigned char g_model[]" in text
    assert bytes(int(h, 16) for h in re.findall(r"0x([0-9a-f]{2})", text)) == int8.content
    subprocess.run(["c++", "-c", cc, "-o", str(tmp_path / "model.o")], check=True, timeout=120)
    main = tmp_path / "main.cc"
    main.write_text(
        '#include <cstdio>\n#include <cstdint>\n#include "g_model_data.h"\n'
        'int main() { std::printf("%u %d %.4s\\n", g_model_len, '
        "(int)(reinterpret_cast<std::uintptr_t>(g_model) % 16), g_model + 4); }\n"
    )
    subprocess.run(
        ["c++", "-I", str(tmp_path), str(main), str(tmp_path / "model.o"), "-o", str(tmp_path / "main")],
        check=True,
        timeout=120,
    )
    out = subprocess.run([str(tmp_path / "main")], capture_output=True, text=True, check=True).stdout
    assert out.split() == [str(int8.size_bytes), "0", "TFL3"]


def test_c_names_must_be_identifiers(tmp_path):
    from workbench.targets import save_c

    with pytest.raises(TargetError, match="C identifier"):
        save_c(b"\0" * 8, tmp_path, name="2model")
    cc, header = save_c(b"\1\2", tmp_path / "kws-model.cc")
    assert cc.endswith("kws-model.cc") and header.endswith("kws-model.h")
    assert '#include "kws-model.h"' in open(cc).read() and "kws_model_len = 2" in open(cc).read()


# ------------------------------------------------------------------------------------ budgets
@pytest.mark.slow
def test_a_target_makes_the_table_mark_what_fits(digits_cnn, digits_images):
    target = Target("tiny", ram_bytes="12KB", flash_bytes="64KB")
    result = workbench.compare(
        digits_cnn, digits_images, modes=["float32", "dynamic", "int8"], latency_budget=0.05,
        progress=False, target=target,
    )  # fmt: skip
    table = result.table.set_index("variant")
    assert list(table["tflm"]) == [None, True, False, True]
    assert list(table["fits"]) == [None, False, False, True]
    assert result.fitting() == ["int8"] and result.target is target
    assert "> 12 KB" in table.loc["float32", "fits_detail"]  # float32 needs more arena (and flash)
    assert table.loc["int8", "tflm_agreement"] == 1.0
    assert table.loc["int8", "flash_bytes"] == table.loc["int8", "size_bytes"]
    assert "hybrid" in table.loc["dynamic", "tflm_reason"]
    html = result._repr_html_()
    assert "tflm_arena_bytes" in html and "fits" in html
    roomy = result.with_target("cortex-m4")  # judged again, not measured again
    assert roomy.fitting() == ["float32", "int8"] and roomy.target.name == "cortex-m4"
    assert roomy.table["tflm_arena_bytes"].equals(result.table["tflm_arena_bytes"])
    assert "Fits cortex-m4 (256 KB RAM, 1 MB flash, TFLite Micro): float32, int8" in roomy.fit_summary()
    assert result.with_target("phone").fitting() == ["float32", "dynamic", "int8"]  # LiteRT runs hybrid ops


def test_presets_are_rows_with_published_budgets():
    m4 = as_target("cortex-m4")
    assert (m4.ram_bytes, m4.flash_bytes, m4.runtime) == (256 * 1024, 1024 * 1024, "tflm")
    assert as_target("ESP32-S3").ram_bytes == 512 * 1024
    assert as_target("phone").runtime == "litert"
    assert as_target("ram=256KB,flash=1MB") == Target(ram_bytes=262144, flash_bytes=1048576)
    assert as_target({"ram": "1.5 MB"}).ram_bytes == 1536 * 1024


@pytest.mark.parametrize(
    "target, message",
    [
        ("esp32s3", "Did you mean 'esp32-s3'"),
        ("arduino", "cortex-m4: 256 KB RAM"),
        ({"ram": -5}, "positive whole number"),
        ({"ram": 256}, "If you meant kilobytes, write '256KB'"),
        ({"ram": "256 kg"}, "unit among B, KB, MB, GB"),
        ({"sram": "256KB"}, "budget keys 'sram'"),
        (3.5, "target of type float"),
        (Target, "target of type type"),
    ],
    ids=["near-name", "unknown-name", "negative", "bytes-not-kb", "unit", "key", "type", "class"],
)
def test_bad_targets_say_what_to_do(target, message):
    with pytest.raises(TargetError) as info:
        as_target(target)
    assert message in str(info.value)
    assert isinstance(info.value, workbench.WorkbenchError)


def test_a_bad_target_fails_before_any_conversion():
    with pytest.raises(TargetError, match="cortex-m4"):
        workbench.compare("digits_mlp", target="cortex-m99", progress=False)


# -------------------------------------------------------------------------------------- CLI
@pytest.mark.slow
def test_cli_compare_with_a_target_prints_what_fits(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "workbench.cli", "compare", "--model", "digits_cnn", "--modes", "dynamic", "int8",
         "--target", "cortex-m4", "--out", str(tmp_path / "out"), "--latency-budget", "0.05"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert re.search(r"^Fits cortex-m4 .*: int8$", result.stdout, re.M), result.stdout
    assert re.search(r"^  dynamic: no: hybrid dynamic-range ops", result.stdout, re.M), result.stdout
    assert (tmp_path / "out" / "digits_cnn-int8.cc").exists()
    assert "digits_cnn-int8.cc" in (tmp_path / "out" / "report.html").read_text()


def test_cli_help_lists_the_presets_and_a_bad_target_is_one_line():
    helped = subprocess.run(
        [sys.executable, "-m", "workbench.cli", "compare", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "cortex-m4" in helped.stdout and "esp32-s3" in helped.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "workbench.cli", "compare", "--model", "digits_mlp", "--target", "m4"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2
    assert [line for line in bad.stderr.splitlines() if line.startswith("workbench: error:")]
    assert "Traceback" not in bad.stderr


@pytest.mark.slow
def test_cli_convert_writes_c_source(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "workbench.cli", "convert", "--model", "digits_mlp", "--mode", "float32",
         "--format", "c", "--out", str(tmp_path / "model.cc")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "const unsigned int model_len" in (tmp_path / "model.cc").read_text()
    assert (tmp_path / "model.h").exists()


# ----------------------------------------------------------------------------------- widget
@pytest.mark.slow
def test_the_widget_takes_a_device_and_offers_the_c_source():
    import base64

    from workbench.ui.widgets import Workbench

    wb = Workbench(scan_notebook=False)
    wb.controller.settings.latency_budget = 0.05
    for name, button in wb.mode_buttons.items():
        button.value = name in ("float32", "dynamic", "int8")
    wb.device.value = "cortex-m4"
    wb.run_button.click()
    assert wb.controller.wait(300) and wb.controller.state.error is None
    table = wb.controller.table().set_index("variant")
    assert list(table["fits"]) == [None, True, False, True]
    assert "<th>fits</th>" in wb.table.value and "<th>tflm_arena_bytes</th>" in wb.table.value
    wb.variant.value = "int8"
    details = wb.details.value
    assert "TFLite Micro:</b> runs, arena" in details and "cortex-m4:</b> fits" in details
    links = dict(re.findall(r'download="([^"]+)" href="data:[^;]+;base64,([A-Za-z0-9+/=]+)"', details))
    source = base64.b64decode(links["digits_cnn-int8.cc"]).decode()
    assert (
        '#include "digits_cnn-int8.h"' in source
        and f"g_model_len = {table.loc['int8', 'size_bytes']}" in source
    )
    # Another device re-decides `fits` from the cached measurements, without measuring again.
    hits = wb.controller.state.cached_hits
    wb.device.value = None
    wb.device.value = "esp32-s3"
    wb.run_button.click()
    assert wb.controller.wait(300)
    assert wb.controller.state.cached_hits == hits + 3
    assert wb.controller.state.comparison.target.name == "esp32-s3"
    with pytest.raises(TargetError):
        wb.controller.update(device="cortex-m99")


# ------------------------------------------------------------------ LiteRT Quantizer recipes
@pytest.mark.slow
def test_quantizer_recipes_on_tflite_micro(digits_cnn, digits_images):
    samples = digits_images.representative(200)
    X = digits_images.X_test
    static = workbench.convert(digits_cnn, "static_wi8_ai8", samples)
    check = check_micro(static, X)
    assert check.runs and check.arena_bytes > 0
    np.testing.assert_array_equal(check.outputs.argmax(axis=1), static.run(X).argmax(axis=1))
    wi4 = check_micro(workbench.convert(digits_cnn, "weight_only_wi4_afp32"))
    assert not wi4.runs and "4-bit weights" in wi4.reason
    result = workbench.compare(
        digits_cnn, digits_images, modes=["weight_only_wi8_afp32"], latency_budget=0.05, progress=False,
        target="cortex-m4",
    )  # fmt: skip
    row = result.table.set_index("variant").loc["weight_only_wi8_afp32"]
    # It runs, but TFLite Micro's answers are not LiteRT's for this file: the table says so.
    assert row["tflm"] and row["tflm_agreement"] < 0.99
    assert (
        "answers otherwise than LiteRT" in row["tflm_reason"]
        and "but answers otherwise" in row["fits_detail"]
    )
