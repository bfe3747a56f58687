"""A real JupyterLab and a real Voilà page in headless Chromium (Debian's package), driven by Playwright.

Screenshots land in test-output/ so a person can look at what the test saw.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import workbench

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
WAIT_MS = 240_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {seconds} s")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), "Debian's chromium must be installed (.ci/run installs it)"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def serve(command: list[str], url: str, log: Path):
    handle = open(log, "w")
    process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ})
    try:
        wait_for_http(url, process)
    except Exception:
        process.terminate()
        process.wait(30)
        handle.close()
        raise AssertionError(log.read_text()[-3000:]) from None
    return process, handle


def stop(process, handle) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
    handle.close()


def figure_source(image) -> str:
    """The figure's image source once the browser has decoded it (a broken image fails here)."""
    image.wait_for(timeout=WAIT_MS)
    image.page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle(), timeout=WAIT_MS
    )
    return image.get_attribute("src")


def table_rows(page) -> list[str]:
    # The compact table (the full one sits folded behind a toggle after it).
    cells = page.locator(".jupyter-widgets .workbench-table").first.locator("tbody tr td:first-child")
    return [text.strip() for text in cells.all_inner_texts()]


def test_quickstart_in_jupyterlab_switch_a_mode_and_run(browser, tmp_path, output_dir):
    notebook = json.loads((ROOT / "notebooks" / "01-quickstart.ipynb").read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    (tmp_path / "01-quickstart.ipynb").write_text(json.dumps(notebook))
    port = free_port()
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--ServerApp.token=", "--ServerApp.password=", "--allow-root", f"--notebook-dir={tmp_path}",
        "--LabApp.news_url=", "--LabApp.collaborative=False",
        # A workspace of its own: a layout saved by an earlier run must not be restored here.
        f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
    ]  # fmt: skip
    process, handle = serve(command, f"http://127.0.0.1:{port}/lab", tmp_path / "lab.log")
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    try:
        page.goto(f"http://127.0.0.1:{port}/lab/tree/01-quickstart.ipynb", timeout=WAIT_MS)
        page.locator("text=Idle").first.wait_for(state="attached", timeout=WAIT_MS)
        run_button = page.locator(".jupyter-widgets button.widget-button:has-text('Run')").first
        run_all_cells_until(page, run_button)
        page.locator(".jupyter-widgets .workbench-table td:text-is('static_wi8_ai8')").first.wait_for(
            timeout=WAIT_MS
        )
        # float32 and LiteRT Quantizer's recommended recipes, the defaults.
        assert table_rows(page) == ["original", *workbench.DEFAULT_MODES]
        figure = page.locator(".jupyter-widgets img.widget-image").first
        before = figure_source(figure)
        page.screenshot(path=str(output_dir / "jupyterlab-quickstart-before.png"), full_page=True)

        # The converter's int8, from the row of the converter's (deprecated) modes.
        page.locator(".jupyter-widgets button.widget-toggle-button:text-is('int8')").first.click()
        run_button.click()
        page.locator(".jupyter-widgets .workbench-table td:text-is('int8')").first.wait_for(timeout=WAIT_MS)
        assert table_rows(page)[:3] == ["original", "float32", "int8"]
        # The widget shows the table first and the figure right after it.
        page.wait_for_function(
            "([img, old]) => img.getAttribute('src') !== old", arg=[figure.element_handle(), before],
            timeout=WAIT_MS,
        )  # fmt: skip
        assert figure_source(figure) != before
        page.screenshot(path=str(output_dir / "jupyterlab-quickstart-after-mode-switch.png"), full_page=True)
    except Exception:
        page.screenshot(path=str(output_dir / "jupyterlab-quickstart-failed.png"), full_page=True)
        raise
    finally:
        page.close()
        stop(process, handle)


def run_all_cells_until(page, target, seconds: float = WAIT_MS / 1000) -> None:
    """Run every cell from the main menu, as a person would, until ``target`` shows.

    On a loaded machine the menu's "Run All Cells" sometimes runs nothing (no prompt turns
    to ``[*]``), and JupyterLab sometimes asks "Select Kernel" although the notebook names
    its kernel and one is idle, swallowing the run (each seen once in a few runs): then the
    dialog's default is accepted and the cells are run again, until one run starts.
    """
    import re

    dialog = page.locator(".jp-Dialog:has-text('Select Kernel') button:has-text('Select')")
    started = page.locator(".jp-InputArea-prompt").filter(has_text=re.compile(r"\[(\*|\d+)\]"))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        page.locator(".jp-Notebook .jp-Cell").first.click()
        page.keyboard.press("Escape")
        page.locator("li[role='menuitem']:has-text('Run')").first.click()  # the main menu's Run
        page.locator("text=Run All Cells").first.click()
        retry = time.monotonic() + 30
        while time.monotonic() < min(retry, deadline):
            if target.is_visible():
                return
            if dialog.count() and dialog.first.is_visible():
                dialog.first.click()
                break  # and run the cells again
            if started.count():
                target.wait_for(timeout=max(1.0, deadline - time.monotonic()) * 1000)
                return
            page.wait_for_timeout(500)
    target.wait_for(timeout=1)  # raises Playwright's own timeout, with its call log


def test_workbench_app_serves_the_widget_alone(browser, tmp_path, output_dir):
    port = free_port()
    command = [sys.executable, "-m", "workbench.cli", "app", f"--port={port}", "--no-browser"]
    process, handle = serve(command, f"http://127.0.0.1:{port}/", tmp_path / "voila.log")
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    try:
        page.goto(f"http://127.0.0.1:{port}/", timeout=WAIT_MS)
        run_button = page.locator("button.widget-button:has-text('Run')").first
        run_button.wait_for(timeout=WAIT_MS)
        assert page.locator("text=import workbench").count() == 0  # no code on the page
        run_button.click()
        page.locator(".workbench-table td:text-is('static_wi8_ai8')").first.wait_for(timeout=WAIT_MS)
        figure_source(page.locator("img.widget-image").first)
        page.screenshot(path=str(output_dir / "voila-app.png"), full_page=True)
    finally:
        page.close()
        stop(process, handle)
    # Stopping `workbench app` stops the Voilà server it started, and that server's kernels.
    deadline = time.monotonic() + 30
    while _serving(port) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _serving(port), "the Voilà server outlived `workbench app`"


def _serving(port: int) -> bool:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    command = handle.read().split(b"\0")
            except OSError:
                continue
            if any(part.endswith(b"voila") for part in command) and f"--port={port}".encode() in command:
                return True
    return False


def test_the_lens_tab_redraws_when_the_calibration_changes(browser, tmp_path, output_dir):
    """In the Voilà app (served as for a class, workers ending when idle): Run, open the Lens tab,
    change the sampling strategy, Run again."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "workbench.cli",
        "app",
        f"--port={port}",
        "--no-browser",
        "--worker-idle=120",
    ]
    process, handle = serve(command, f"http://127.0.0.1:{port}/", tmp_path / "voila.log")
    page = browser.new_page(viewport={"width": 1500, "height": 1400})
    try:
        page.goto(f"http://127.0.0.1:{port}/", timeout=WAIT_MS)
        run_button = page.locator("button.widget-button:has-text('Run')").first
        run_button.wait_for(timeout=WAIT_MS)
        run_button.click()
        page.locator(".workbench-table td:text-is('static_wi8_ai8')").first.wait_for(timeout=WAIT_MS)
        page.locator(".lm-TabBar-tab:has-text('Lens')").first.click()
        layer = page.locator(".widget-dropdown:has(label:text-is('Layer')) select").first
        layer.wait_for(timeout=WAIT_MS)
        # digits_cnn's five layers with weights, the worst first.
        page.wait_for_function("s => s.options.length === 5", arg=layer.element_handle(), timeout=WAIT_MS)
        lens = page.locator(".widget-tab img.widget-image:visible").first
        first = figure_source(lens)
        variant = page.locator(".widget-dropdown:has(label:text-is('Variant')) select:visible").first
        variant.select_option("static_wi8_ai8")
        # A variant with int8 activations: its table has a calibrated range and a clip fraction.
        page.locator(
            ".widget-tab td:text-is('test clip fraction'), .widget-tab th:text-is('test clip fraction')"
        ).first.wait_for(timeout=WAIT_MS)
        page.wait_for_function(
            "([img, src]) => img.complete && img.naturalWidth > 0 && img.src !== src",
            arg=[lens.element_handle(), first],
            timeout=WAIT_MS,
        )
        before = lens.get_attribute("src")
        page.screenshot(path=str(output_dir / "voila-lens-random.png"), full_page=True)
        sampling = page.locator(".widget-dropdown:has(label:text-is('Sampling')) select").first
        sampling.select_option("stratified")
        run_button.click()
        page.wait_for_function(
            "([img, src]) => img.complete && img.naturalWidth > 0 && img.src !== src",
            arg=[lens.element_handle(), before],
            timeout=WAIT_MS,
        )
        page.screenshot(path=str(output_dir / "voila-lens-stratified.png"), full_page=True)
    finally:
        page.close()
        stop(process, handle)


@pytest.mark.parametrize("target", [None, "cortex-m4"], ids=["plain", "target"])
def test_the_report_fits_1400_px_with_its_figure(browser, tmp_path, output_dir, digits_mlp, digits, target):
    modes = [
        "float32",
        "int8",
        "dynamic_wi8_afp32",
        "weight_only_wi4_afp32",
        "static_wi8_ai8",
        "static_wi8_ai16",
    ]
    result = workbench.compare(
        digits_mlp, digits, modes=modes, latency_budget=0.05, target=target, progress=False
    )
    path = result.save(tmp_path / "report")
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        page.goto(Path(path).as_uri())
        sizes = page.evaluate(
            """() => ({table: document.querySelector('table.workbench-table').scrollWidth,
                       page: document.documentElement.scrollWidth,
                       view: document.documentElement.clientWidth})"""
        )
        page.screenshot(path=str(output_dir / f"report-1400-{target or 'plain'}.png"), full_page=True)
        # Every column of the first table in view: nothing behind a scrollbar.
        assert sizes["table"] <= sizes["view"] and sizes["page"] <= sizes["view"], sizes
        # The rest of the columns open from the toggle.
        page.locator("details > summary:has-text('All')").first.click()
        page.screenshot(
            path=str(output_dir / f"report-1400-{target or 'plain'}-all-columns.png"), full_page=True
        )
        assert page.evaluate("() => document.documentElement.scrollWidth") <= sizes["view"]
    finally:
        page.close()
