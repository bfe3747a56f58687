"""The code the workbench prints for a variant runs as pasted, and makes that variant."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

import workbench

pytestmark = pytest.mark.slow

MODES = ("int8", "static_wi8_ai8", "dynamic_wi8_afp32")


def labels_from_file(path, X) -> np.ndarray:
    """Labels from the plain LiteRT interpreter, through the file's signature, quantizing the
    input and dequantizing the output with the file's own parameters."""
    interpreter = Interpreter(model_path=str(path))
    runner = interpreter.get_signature_runner()
    ((input_name, input_detail),) = runner.get_input_details().items()
    ((output_name, output_detail),) = runner.get_output_details().items()
    labels = []
    for x in X:
        x = x[None, ...].astype(np.float32)
        scale, zero = input_detail["quantization"]
        if input_detail["dtype"] != np.float32:
            x = np.clip(np.round(x / scale + zero), -128, 127).astype(input_detail["dtype"])
        out = runner(**{input_name: x})[output_name].astype(np.float32)
        scale, zero = output_detail["quantization"]
        if output_detail["dtype"] != np.float32:
            out = (out - zero) * scale
        labels.append(int(out.argmax()))
    return np.array(labels)


def test_printed_code_runs_as_pasted_and_makes_the_variant(tmp_path, digits_mlp, digits):
    digits_mlp.export(str(tmp_path / "my_model"))
    np.save(tmp_path / "my_samples.npy", digits.representative(100))
    program = "\n".join(
        workbench.Mode(mode).snippet(saved_model_dir="my_model", calibration_samples="my_samples.npy")
        for mode in MODES
    )
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    expected = np.argmax(digits_mlp.predict(digits.X_test, verbose=0), axis=1)
    for mode in MODES:
        labels = labels_from_file(tmp_path / f"model-{mode}.tflite", digits.X_test)
        assert np.mean(labels == expected) > 0.95, mode


def test_the_default_snippet_defines_what_it_reads():
    code = workbench.Mode("static_wi8_ai8").snippet()
    assert "saved_model_dir = 'saved_model'" in code
    assert "calibration_samples = np.load('calibration_samples.npy')" in code
    assert "calibration_samples" not in workbench.Mode("dynamic_wi8_afp32").snippet()
