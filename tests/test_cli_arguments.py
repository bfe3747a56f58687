"""The command line checks its arguments before it loads anything: every mistake below is
answered with its fix, and no model was loaded (TensorFlow never imported) to answer it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

# Runs the CLI's main() on each argv in one fresh process, then says which heavy modules
# that process imported: a model loaded to answer would have brought TensorFlow in.
_RUNNER = textwrap.dedent(
    """
    import contextlib, io, json, sys
    import workbench.cli

    answers = []
    for argv in json.loads(sys.argv[1]):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = workbench.cli.main(argv)
            except SystemExit as exit:
                code = exit.code
        answers.append({"code": code, "stderr": err.getvalue()})
    loaded = [m for m in ("tensorflow", "keras", "tf_keras") if m in sys.modules]
    print(json.dumps({"answers": answers, "loaded": loaded}))
    """
)


def run_cli(cases: list[list[str]], cwd) -> tuple[list[dict], list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER, json.dumps(cases)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return found["answers"], found["loaded"]


def error_line(answer: dict) -> str:
    lines = [line for line in answer["stderr"].splitlines() if line.startswith("workbench: error:")]
    assert answer["code"] == 2 and len(lines) == 1, answer
    return lines[0]


@pytest.fixture(scope="module")
def csv_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("csv")
    wide = ",".join([f"pixel_{i}" for i in range(64)] + ["digit_label"])
    (folder / "wide.csv").write_text(wide + "\n" + ",".join(["0"] * 65) + "\n")
    (folder / "narrow.csv").write_text("sepal,petal,width,species\n1,2,3,0\n")
    return folder


def test_every_mistake_is_answered_with_its_fix_before_a_model_loads(csv_files):
    wide, narrow = str(csv_files / "wide.csv"), str(csv_files / "narrow.csv")
    cases = {
        "no-model": ["compare"],
        "modes-comma-typo": ["compare", "--model", "digits_cnn", "--modes", "int8,float61"],
        "target": ["compare", "--model", "digits_cnn", "--target", "esp32"],
        "csv-missing": ["compare", "--model", "digits_cnn", "--dataset", "absent.csv", "--label", "y"],
        "label-wide": ["compare", "--model", "digits_cnn", "--dataset", wide, "--label", "digit"],
        "label-narrow": ["compare", "--model", "digits_cnn", "--dataset", narrow, "--label", "label"],
        "csv-no-label": ["compare", "--model", "digits_cnn", "--dataset", narrow],
        "model-typo": ["compare", "--model", "digits_cnnn"],
        "search-target": ["search", "--model", "digits_mlp", "--target", "cortex-m3"],
        "convert-two": ["convert", "--model", "digits_cnn", "--mode", "int8,float16", "--out", "x.tflite"],
        "convert-no-model": ["convert", "--out", "x.tflite"],
    }
    answers, loaded = run_cli(list(cases.values()), cwd=csv_files)
    said = {name: error_line(answer) for name, answer in zip(cases, answers, strict=True)}

    assert "workbench demo" in said["no-model"] and "--model digits_cnn" in said["no-model"]
    # The commas split the modes: only the misspelt one is refused, with the right name offered.
    assert "mode='float61'" in said["modes-comma-typo"] and "float16" in said["modes-comma-typo"]
    assert "Did you mean --target esp32-s3?" in said["target"]
    assert "'absent.csv': no such file" in said["csv-missing"]
    # 65 columns: the nearest are named, the real one among them.
    assert "digit_label" in said["label-wide"] and "65 columns" in said["label-wide"]
    assert "pixel_63" not in said["label-wide"]
    # A few columns: all of them; the flag is --label, and --target is not the column.
    assert "sepal, petal, width, species" in said["label-narrow"]
    assert "--label" in said["label-narrow"] and "pass one of those as target" not in said["label-narrow"]
    assert "without --label" in said["csv-no-label"] and "species" in said["csv-no-label"]
    assert "Did you mean --model digits_cnn?" in said["model-typo"]
    assert "--target cortex-m" in said["search-target"]
    assert "One mode" in said["convert-two"]
    assert "workbench demo" in said["convert-no-model"]
    assert loaded == [], f"a model was loaded to answer: {loaded} imported"


def test_modes_separated_by_commas_or_spaces_are_the_same_modes():
    from workbench.cli import split_modes

    assert split_modes(["float32,int8", "static_wi8_ai8"]) == ["float32", "int8", "static_wi8_ai8"]
    assert split_modes(["float32, int8,"]) == ["float32", "int8"]


def test_model_help_names_every_kind_of_model_file():
    from workbench.cli import MODEL_HELP

    for kind in (".keras", ".h5", "SavedModel", ".tflite", ".skops", ".pkl", ".joblib"):
        assert kind in MODEL_HELP
