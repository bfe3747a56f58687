"""The README's Python code runs as written: every ```python block, in order, as one program."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(text: str) -> list[str]:
    """The bodies of the fenced ```python blocks, in order."""
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_the_readme_has_python_blocks_to_run():
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 5
    assert blocks[0].lstrip().startswith("import workbench")


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_the_readme_python_blocks_run_in_order_as_one_program(tmp_path, output_dir):
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    # Each block is marked, so a failure's traceback names the block it came from.
    program = "\n".join(f"# --- README block {i + 1}\n{block}" for i, block in enumerate(blocks))
    (tmp_path / "readme_blocks.py").write_text(program, encoding="utf-8")
    env = {**os.environ, "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, "readme_blocks.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=3500,
    )
    (output_dir / "readme-blocks.log").write_text(done.stdout + "\n--- stderr\n" + done.stderr)
    assert done.returncode == 0, done.stderr[-4000:]
    # What the blocks leave behind, checked from outside the program.
    assert (tmp_path / "workbench-report" / "report.html").is_file()
    assert (tmp_path / "lab-report" / "report.html").is_file()
    assert (tmp_path / "mlp_int8.tflite").stat().st_size > 0
    assert list((tmp_path / "firmware").glob("*.cc"))
    assert (tmp_path / "model.tflite").stat().st_size > 0
