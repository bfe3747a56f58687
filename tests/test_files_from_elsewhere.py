"""Files from other people, round two (issue 22): what model zoos and runtimes' test suites
contain. Every fixture is built here (model_files.py: the converter, tf.compat.v1, the
flatbuffer schema); outputs are checked against a bare ai_edge_litert Interpreter."""

from __future__ import annotations

import os
import subprocess
import sys

import model_files
import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

import workbench
from workbench.cli import main
from workbench.inspection import inspect_bytes

RNG = np.random.default_rng(22)


def test_a_file_litert_crashes_on_is_probed_in_the_worker_and_refused_clearly(tmp_path, capsys):
    path = tmp_path / "blockwise.tflite"
    path.write_bytes(model_files.crashing_tflite())
    # The oracle: a bare interpreter in a process of its own dies on this file.
    script = (
        "import sys; from ai_edge_litert.interpreter import Interpreter; "
        "i = Interpreter(model_path=sys.argv[1]); i.allocate_tensors()"
    )
    bare = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, timeout=120)
    assert bare.returncode < 0  # killed by a signal, not an exception
    pid = os.getpid()
    with pytest.raises(workbench.ModelLoadError, match="ended it") as info:
        workbench.load_tflite(path)
    assert "not touched" in str(info.value) and "workbench inspect" in str(info.value)
    data = workbench.Dataset.from_arrays(RNG.normal(size=(20, 64)), np.arange(20) % 4)
    with pytest.raises(workbench.ModelLoadError, match="LiteRT cannot open"):
        workbench.compare(path, data, progress=False)
    assert os.getpid() == pid  # still here
    # inspect still says what the flatbuffer holds, and why LiteRT does not run it.
    assert main(["inspect", str(path)]) == 0
    printed = capsys.readouterr().out
    assert "FULLY_CONNECTED" in printed and "int4[4, 64]" in printed
    assert "runs on LiteRT: no" in printed and "signal" in printed
