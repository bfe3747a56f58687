"""An executed notebook shared with others still shows its results where no kernel runs."""

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def test_quickstart_exported_to_html_shows_table_and_figure(tmp_path, output_dir):
    notebook = nbformat.read(ROOT / "notebooks" / "01-quickstart.ipynb", as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    notebook.metadata.pop("widgets", None)  # as when widget state is not saved: no kernel, no widgets
    html, _ = HTMLExporter().from_notebook_node(notebook)
    (output_dir / "01-quickstart-exported.html").write_text(html)
    widget_cell = next(c for c in notebook.cells if c.cell_type == "code" and c.source.strip() == "wb")
    bundle = widget_cell.outputs[0]["data"]
    assert "application/vnd.jupyter.widget-view+json" in bundle
    # The static copy in the widget's own output was updated after the run: table and figure.
    assert (
        "<td>static_wi8_ai8</td>" in bundle["text/html"] and "data:image/png;base64," in bundle["text/html"]
    )
    body = html.split("<body", 1)[1]
    assert body.count('class="workbench-table"') >= 1
    assert len(re.findall(r'src="data:image/png;base64,', body)) >= 1
    assert "<td>float32</td>" in body and "<td>static_wi8_ai8</td>" in body


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb")))
def test_every_executed_notebook_shows_a_figure_and_a_table_without_a_kernel(name):
    """As committed (executed with nbconvert): what a reader sees on GitHub or in an HTML export."""
    notebook = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    data = [o.get("data", {}) for o in outputs]
    assert any("image/png" in d or "data:image/png;base64," in d.get("text/html", "") for d in data)
    assert any("<table" in d.get("text/html", "") for d in data)
