"""Start-up stays light: TensorFlow loads on the first conversion, never on import."""

import subprocess
import sys
import textwrap

import pytest


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300
    )


def test_import_workbench_leaves_tensorflow_out():
    result = run_python(
        """
        import sys, workbench
        workbench.Mode("int8").snippet(); workbench.load_dataset("iris")
        print(sorted(m for m in ("tensorflow", "keras", "tf_keras") if m in sys.modules))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.slow
def test_running_a_tflite_needs_no_tensorflow(cnn_variants, digits_images, tmp_path):
    path = cnn_variants["int8"].save(tmp_path / "cnn-int8.tflite")
    expected = cnn_variants["int8"].predict(digits_images.X_test[:5])
    result = run_python(
        f"""
        import sys, numpy as np, workbench
        model = workbench.load_tflite({str(path)!r})
        data = workbench.load_dataset("digits_images")
        np.save({str(tmp_path / "out.npy")!r}, model.predict(data.X_test[:5]))
        assert "tensorflow" not in sys.modules
        """
    )
    assert result.returncode == 0, result.stderr
    import numpy as np

    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)
