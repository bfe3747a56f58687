"""The ipywidgets face of the workbench: layout and observers only; the logic is in the controller."""

from __future__ import annotations

import base64
import html
import os

import ipywidgets as w
from IPython.display import display

from ..errors import WorkbenchError
from ..modes import ALL_MODES, MODE_NAMES, QUANTIZER_MODES, Mode
from ..plots import figure_png
from ..report import STYLE, comparison_html, snippet_title, table_html
from ..targets import PRESETS, c_source
from .controller import DEVICES, STRATEGIES, Controller

_OWN_DATASET = "(the model's own)"


class Workbench:
    """The interactive workbench: pick a model, a dataset, modes and calibration; see the trade-off.

    Leave it as the last expression of a cell to show it. After each run the cell also
    keeps a static copy of the table and figure, so an executed notebook shows the
    results where no kernel runs.

    Parameters
    ----------
    models : dict of str to model, default=None
        Keras models, fitted scikit-learn estimators or pipelines, or paths, by name.
        Models found among the notebook's variables are offered too.
    datasets : dict of str to Dataset, DataFrame or (X, y), default=None
    """

    def __init__(self, models=None, datasets=None, *, scan_notebook: bool = True):
        namespace = _notebook_namespace() if scan_notebook else None
        self.controller = Controller(models=models, datasets=datasets, namespace=namespace)
        self._handle = None
        self._syncing = False  # True while the code itself sets widget values
        self._build()
        self.controller.listeners.append(self._on_event)
        self._refresh_choices()
        self._show_settings()

    # ---------------------------------------------------------------- layout
    def _build(self):
        c = self.controller
        s = c.settings
        wide = {"description_width": "110px"}
        self.model = w.Dropdown(description="Model", style=wide, layout=w.Layout(width="320px"))
        self.dataset = w.Dropdown(description="Dataset", style=wide, layout=w.Layout(width="320px"))
        self.target = w.Dropdown(
            description="Target column", style=wide, layout=w.Layout(width="320px", display="none")
        )
        self.output = w.Dropdown(
            description="Scored output", style=wide, layout=w.Layout(width="320px", display="none")
        )
        self.upload = w.FileUpload(accept=".keras,.skops,.tflite,.csv", multiple=False, description="Upload")
        self.mode_buttons = {
            name: w.ToggleButton(
                value=name in s.modes,
                description=name,
                tooltip=f"{Mode(name).title}: {Mode(name).description}",
                layout=w.Layout(width="90px" if name in MODE_NAMES else "auto"),
            )
            for name in ALL_MODES
        }
        self.int8_io = w.Dropdown(
            options=Mode("int8").settings["io_types"],
            value=s.int8_io,
            description="int8 I/O",
            style=wide,
            layout=w.Layout(width="230px"),
        )
        self.representative = w.IntSlider(
            value=s.representative,
            min=10,
            max=1000,
            step=10,
            description="Calibration n",
            style=wide,
            continuous_update=False,
        )
        self.strategy = w.Dropdown(
            options=STRATEGIES,
            value=s.strategy,
            description="Sampling",
            style=wide,
            layout=w.Layout(width="230px"),
        )
        self.calibration = w.Dropdown(
            options=[("min/max", "minmax"), ("percentile 99.99", "percentile"), ("moving average", "ema")],
            value=s.calibration,
            description="Ranges",
            description_allow_html=False,
            tooltip="How static recipes turn calibration samples into activation ranges",
            style=wide,
            layout=w.Layout(width="230px"),
        )
        self.threads = w.IntSlider(
            value=s.threads,
            min=1,
            max=max(os.cpu_count() or 1, 1),
            description="Threads",
            style=wide,
            continuous_update=False,
        )
        self.device = w.Dropdown(
            options=[("(none)", None)]
            + [(f"{n}: {PRESETS[n].describe().split(': ', 1)[1]}", n) for n in DEVICES[1:]],
            value=s.device if s.device in DEVICES else None,
            description="Deploy to",
            style=wide,
            layout=w.Layout(width="420px"),
            tooltip="Also run every variant on the device's runtime (TFLite Micro for boards) and mark what fits",
        )
        self.live = w.Checkbox(value=s.live, description="Live (run on every change)", indent=False)
        self.run_button = w.Button(description="Run", button_style="primary", icon="play")
        self.cancel_button = w.Button(description="Cancel", icon="stop", disabled=True)
        self.progress = w.IntProgress(value=0, min=0, max=1, description="Progress", style=wide)
        self.status = w.HTML()
        self.error = w.HTML()
        self.table = w.HTML()
        self.figure = w.Image(format="png", layout=w.Layout(max_width="100%", display="none"))
        self.variant = w.Dropdown(description="Variant", style=wide)
        self.details = w.HTML()
        self.keep_float = w.IntSlider(
            value=s.keep_float,
            min=0,
            max=4,
            description="Keep worst K",
            style=wide,
            continuous_update=False,
            tooltip=(
                "Mixed precision: int8 and each selected LiteRT Quantizer recipe also with its K worst "
                "layers at higher precision (float, or 8 bits under 4-bit recipes)"
            ),
        )
        self.diagnose_mode = w.Dropdown(
            options=ALL_MODES,
            value="int8",
            description="Diagnose",
            style=wide,
            layout=w.Layout(width="230px"),
        )
        self.diagnose_button = w.Button(description="Diagnose", icon="stethoscope")
        self.diagnosis = w.HTML()
        self.diagnosis_figure = w.Image(format="png", layout=w.Layout(max_width="100%", display="none"))
        self.find_drop = w.BoundedFloatText(
            value=0.01, min=0.0, max=1.0, step=0.005, description="Max drop", style=wide,
            layout=w.Layout(width="200px"), tooltip="How much of the metric a variant may lose, e.g. 0.01",
        )  # fmt: skip
        self.find_flash = w.Text(
            placeholder="e.g. 256KB (or the device's)", description="Max flash", style=wide,
            layout=w.Layout(width="300px"),
        )  # fmt: skip
        self.find_ram = w.Text(
            placeholder="e.g. 64KB (or the device's)", description="Max RAM", style=wide,
            layout=w.Layout(width="300px"),
        )  # fmt: skip
        self.find_objective = w.Dropdown(
            options=("size", "latency"), value="size", description="Smallest", style=wide,
            layout=w.Layout(width="200px"),
        )  # fmt: skip
        self.find_button = w.Button(description="Find best", button_style="success", icon="search")
        self.find_cancel = w.Button(description="Cancel", icon="stop", disabled=True)
        self.find_progress = w.IntProgress(value=0, min=0, max=1, description="Candidates", style=wide)
        self.find_status = w.HTML()
        self.find_result = w.HTML()
        self.find_figure = w.Image(format="png", layout=w.Layout(max_width="100%", display="none"))
        results = w.Tab(
            children=[
                w.VBox([self.table, self.figure]),
                w.VBox([self.variant, self.details]),
                w.VBox(
                    [
                        w.HBox([self.diagnose_mode, self.diagnose_button]),
                        self.diagnosis,
                        self.diagnosis_figure,
                    ]
                ),
                w.VBox(
                    [
                        w.HTML(
                            "<small>The smallest (or fastest) variant that keeps the metric within the drop "
                            "and fits the budget: every LiteRT Quantizer recipe, then per-layer precision. "
                            "The device is <b>Deploy to</b> above.</small>"
                        ),
                        w.HBox([self.find_drop, self.find_objective, self.find_flash, self.find_ram]),
                        w.HBox([self.find_button, self.find_cancel, self.find_progress, self.find_status]),
                        self.find_result,
                        self.find_figure,
                    ]
                ),
                self._build_lens(wide),
            ],
            titles=("Comparison", "Details", "Diagnose", "Find best", "Lens"),
        )
        self.box = w.VBox(
            [
                w.HTML("<b>TFLite workbench</b>: what each quantization mode costs and buys"),
                w.HBox([self.model, self.dataset, self.upload]),
                self.target,
                self.output,
                w.HBox(
                    [
                        w.Label("Converter PTQ", layout=w.Layout(width="110px")),
                        *(self.mode_buttons[n] for n in MODE_NAMES),
                        self.int8_io,
                        w.HTML("<small>(the converter's quantization: deprecated)</small>"),
                    ]
                ),
                w.HBox(
                    [
                        w.Label("LiteRT Quantizer", layout=w.Layout(width="110px")),
                        *(self.mode_buttons[n] for n in QUANTIZER_MODES),
                    ],
                    layout=w.Layout(flex_flow="row wrap"),
                ),
                w.HBox([self.representative, self.strategy, self.calibration, self.keep_float]),
                self.device,
                w.HBox([self.threads, self.live, self.run_button, self.cancel_button]),
                w.HBox([self.progress, self.status]),
                self.error,
                results,
            ]
        )
        self.model.observe(self._on_model, names="value")
        self.dataset.observe(self._on_dataset, names="value")
        self.target.observe(self._on_target, names="value")
        self.output.observe(lambda change: self._update(output=change["new"]), names="value")
        self.upload.observe(self._on_upload, names="value")
        for button in self.mode_buttons.values():
            button.observe(self._on_modes, names="value")
        for control, key in (
            (self.int8_io, "int8_io"),
            (self.representative, "representative"),
            (self.strategy, "strategy"),
            (self.calibration, "calibration"),
            (self.threads, "threads"),
            (self.live, "live"),
            (self.keep_float, "keep_float"),
            (self.device, "device"),
        ):
            control.observe(lambda change, key=key: self._update(**{key: change["new"]}), names="value")
        self.variant.observe(lambda _: self._show_details(), names="value")
        self.run_button.on_click(lambda _: self.controller.run())
        self.cancel_button.on_click(lambda _: self.controller.cancel())
        self.diagnose_button.on_click(self._on_diagnose)
        self.find_button.on_click(self._on_find)
        self.find_cancel.on_click(lambda _: self.controller.cancel_find())

    def _build_lens(self, wide) -> w.VBox:
        """The Lens tab: one layer of one variant, redrawn after every run (a new calibration
        moves the range and the clipping) and cached per variant, calibration and layer."""
        self.lens_variant = w.Dropdown(description="Variant", style=wide, layout=w.Layout(width="320px"))
        self.lens_layer = w.Dropdown(
            description="Layer", style=wide, layout=w.Layout(width="320px"), tooltip="largest error first"
        )
        self.lens_figure = w.Image(format="png", layout=w.Layout(max_width="100%", display="none"))
        self.lens_table = w.HTML()
        self.lens_variant.observe(lambda _: self._show_lens_layers(), names="value")
        self.lens_layer.observe(lambda _: self._show_lens(), names="value")
        return w.VBox([w.HBox([self.lens_variant, self.lens_layer]), self.lens_figure, self.lens_table])

    # ------------------------------------------------------------- observers
    def _update(self, **changes):
        if self._syncing:
            return
        self.error.value = ""
        try:
            self.controller.update(**changes)
        except WorkbenchError as err:
            self._show_error(str(err))

    def _on_model(self, change):
        if self._syncing:
            return
        own = self.controller.default_dataset(change["new"])
        self._update(
            model=change["new"], dataset=None if own else self.controller.settings.dataset, output=None
        )
        self._show_outputs()
        self._show_settings()

    def _show_outputs(self):
        """A model with several heads gets a choice of the one scored (the others are compared too)."""
        outputs = self.controller.outputs()
        self._syncing = True
        try:
            self.output.options = outputs
            self.output.value = self.controller.settings.output or (outputs[0] if outputs else None)
        finally:
            self._syncing = False
        self.output.layout.display = "flex" if len(outputs) > 1 else "none"

    def _on_dataset(self, change):
        if self._syncing:
            return
        self._update(dataset=None if change["new"] == _OWN_DATASET else change["new"])
        self._show_settings()

    def _on_modes(self, _):
        if self._syncing:
            return
        self._update(modes=tuple(n for n, b in self.mode_buttons.items() if b.value))

    def _on_upload(self, change):
        if self._syncing:
            return
        for item in change["new"] or ():
            try:
                name = self.controller.upload(item["name"], item["content"])
            except WorkbenchError as err:
                self._show_error(str(err))
                continue
            if name in self.controller.models:
                self.model.value = name
        if self.controller.pending_csv:
            self.target.options = self.controller.pending_csv["columns"]
            self.target.value = None
            self.target.layout.display = "flex"

    def _on_target(self, change):
        if self._syncing:
            return
        if change["new"] is None or not self.controller.pending_csv:
            return
        try:
            name = self.controller.set_csv_target(change["new"])
        except WorkbenchError as err:
            self._show_error(str(err))
            return
        self.target.layout.display = "none"
        self.dataset.value = name

    def _on_diagnose(self, _):
        self.diagnose_button.disabled = True
        model = html.escape(self.controller.settings.model)
        self.diagnosis.value = f"Diagnosing {model} in {self.diagnose_mode.value}…"
        self.controller.diagnose(self.diagnose_mode.value)

    def _show_diagnosis(self):
        self.diagnose_button.disabled = False
        result = self.controller.state.diagnosis
        if isinstance(result, Exception):
            self.diagnosis.value = f'<div style="color:#a00"><b>Error:</b> {html.escape(str(result))}</div>'
            self.diagnosis_figure.layout.display = "none"
            return
        self.diagnosis_figure.value = figure_png(result.plot())
        self.diagnosis_figure.layout.display = "block"
        self.diagnosis.value = result._repr_html_()

    def _on_find(self, _):
        try:
            self.controller.find_best(
                self.find_drop.value,
                self.find_flash.value.strip() or None,
                self.find_ram.value.strip() or None,
                self.find_objective.value,
            )
        except WorkbenchError as err:
            self.find_result.value = f'<div style="color:#a00"><b>Error:</b> {html.escape(str(err))}</div>'
            return
        self.find_button.disabled = True
        self.find_cancel.disabled = False
        self.find_result.value = ""

    def _show_find(self):
        state = self.controller.find_state
        self.find_progress.max = max(state.total, 1)
        self.find_progress.value = min(state.done, self.find_progress.max)
        self.find_status.value = html.escape(state.status)
        if state.running:
            return
        self.find_button.disabled = False
        self.find_cancel.disabled = True
        if state.error:
            self.find_result.value = f'<div style="color:#a00"><b>Error:</b> {html.escape(state.error)}</div>'
        elif state.result is not None:
            self.find_figure.value = figure_png(state.result.plot())
            self.find_figure.layout.display = "block"
            self.find_result.value = STYLE + state.result._repr_html_()

    def _on_event(self, event):
        if event == "find":
            self._show_find()
            return
        if event == "choices":
            self._refresh_choices()
            return
        if event == "diagnosis":
            self._show_diagnosis()
            return
        state = self.controller.state
        self.progress.max = max(state.total, 1)
        self.progress.value = state.done
        self.run_button.disabled = False
        self.cancel_button.disabled = not state.running
        lines = [html.escape(state.status)]
        lines += [f"{html.escape(k)}: {html.escape(v)}" for k, v in state.variant_status.items()]
        self.status.value = "<br>".join(lines[:1]) + (
            "<br><small>" + " · ".join(lines[1:]) + "</small>" if lines[1:] else ""
        )
        if state.error:
            self._show_error(state.error, state.error_details)
        elif event == "done":
            self.error.value = ""
        if event == "done" and state.comparison is not None:
            self._show_results(state.comparison)
            self._show_lens_variants()

    # --------------------------------------------------------------- display
    def _refresh_choices(self):
        c = self.controller
        self._syncing = True
        try:
            self.dataset.options = [_OWN_DATASET, *c.datasets]
            self.model.options = list(c.models)
            if c.settings.model in c.models:
                self.model.value = c.settings.model
        finally:
            self._syncing = False
        self._show_settings()

    def _show_settings(self):
        """Make the dataset list and calibration slider follow the controller's settings."""
        c = self.controller
        own = c.default_dataset(c.settings.model)
        if c.settings.dataset is None and own is None:
            c.settings.dataset = next(iter(c.datasets))  # a model with no dataset of its own
        self._syncing = True
        try:
            self.dataset.value = _OWN_DATASET if c.settings.dataset is None else c.settings.dataset
        finally:
            self._syncing = False
        name = c.settings.dataset or own
        data = c.datasets.get(name, name)
        try:
            from ..datasets import load_dataset

            n_train = len((data if not isinstance(data, str) else load_dataset(data)).X_train)
        except WorkbenchError:  # the slider keeps its range; a run reports the problem
            return
        self._syncing = True
        try:
            self.representative.max = n_train
            self.representative.value = min(self.representative.value, n_train)
        finally:
            self._syncing = False
        if self.representative.value != c.settings.representative:
            self._update(representative=self.representative.value)

    def _show_error(self, message, details=""):
        folded = (
            f"<details><summary>details</summary><pre>{html.escape(details)}</pre></details>"
            if details
            else ""
        )
        self.error.value = f'<div style="color:#a00"><b>Error:</b> {html.escape(message)}</div>{folded}'

    def _show_results(self, comparison):
        # The figure first: a page that sees the new table can trust the figure is new too.
        self.figure.value = comparison.figure_png()
        self.figure.layout.display = "block"
        self.table.value = STYLE + table_html(comparison.table)
        self.variant.options = list(comparison.variants)
        self._show_details()
        self._update_static(comparison)

    def _show_details(self):
        comparison = self.controller.state.comparison
        if comparison is None or self.variant.value not in comparison.variants:
            self.details.value = ""
            return
        converted = comparison.variants[self.variant.value]
        io = [f"input  {t.describe()}" for t in converted.inputs] + [
            f"output {t.describe()}" for t in converted.outputs
        ]
        ops = ", ".join(f"{op} ×{n}" for op, n in converted.ops.items())
        data = base64.b64encode(converted.content).decode()
        filename = f"{comparison.model_name}-{converted.key}.tflite"
        self.details.value = (
            f"<h4>{html.escape(self.variant.value)}: {converted.size_bytes:,} bytes</h4>"
            f"<pre>{html.escape(chr(10).join(io))}</pre><p><b>ops:</b> {html.escape(ops)}</p>"
            f"{_deployment_html(comparison, self.variant.value)}"
            f"<details><summary>What the file really is</summary>"
            f"<pre>{html.escape(converted.summary(runtimes=False))}</pre></details>"
            f"<p><b>{html.escape(snippet_title(converted))}</b></p>"
            f"<pre>{html.escape(converted.mode.snippet(calibration=converted.calibration))}</pre>"
            f'<a download="{html.escape(filename)}" href="data:application/octet-stream;base64,{data}">'
            f"Download {html.escape(filename)}</a> · {_c_source_links(filename, converted.content)}"
            f"{_recipe_link(filename, converted)}"
        )

    def _show_lens_variants(self):
        variants = self.controller.lens_variants()
        current = self.lens_variant.value
        self._syncing = True
        try:
            self.lens_variant.options = variants
            self.lens_variant.value = current if current in variants else (variants[0] if variants else None)
        finally:
            self._syncing = False
        self._show_lens_layers()

    def _show_lens_layers(self):
        if self._syncing:
            return
        variant = self.lens_variant.value
        current = self.lens_layer.value
        layers = []
        if variant is not None:
            try:
                layers = self.controller.lens_layers(variant)
            except WorkbenchError as err:
                self.lens_table.value = f'<div style="color:#a00">{html.escape(str(err))}</div>'
        self._syncing = True
        try:
            self.lens_layer.options = layers
            self.lens_layer.value = current if current in layers else (layers[0] if layers else None)
        finally:
            self._syncing = False
        self._show_lens()

    def _show_lens(self):
        if self._syncing:
            return
        if self.lens_variant.value is None or self.lens_layer.value is None:
            self.lens_figure.layout.display = "none"
            return
        try:
            found = self.controller.lens(self.lens_variant.value, self.lens_layer.value)
        except WorkbenchError as err:
            self.lens_figure.layout.display = "none"
            self.lens_table.value = f'<div style="color:#a00">{html.escape(str(err))}</div>'
            return
        self.lens_figure.value = found.png()
        self.lens_figure.layout.display = "block"
        self.controller.warm_lens(self.lens_variant.value)  # the other layers, ready when picked
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in found.notes)
        rows = found.table.assign(
            value=[f"{v:.6g}" if isinstance(v, float) else str(v) for v in found.table["value"]]
        )
        self.lens_table.value = (f"<ul>{notes}</ul>" if notes else "") + STYLE + rows.to_html()

    # ---------------------------------------------------- sharing without a kernel
    def _bundle(self) -> dict:
        bundle = self.box._repr_mimebundle_()
        comparison = self.controller.state.comparison
        static = (
            comparison_html(comparison, figure=True)
            if comparison is not None
            else ("<p>TFLite workbench (interactive: run the notebook to use it).</p>")
        )
        bundle["text/html"] = static
        return bundle

    def _update_static(self, comparison):
        if self._handle is not None:
            self._handle.update(self._bundle(), raw=True)

    def _ipython_display_(self):
        self._handle = display(self._bundle(), raw=True, display_id=True)

    # ------------------------------------------------------------ conveniences
    def run(self, wait: bool = True):
        """Run with the current settings; by default wait for the result (for scripts and tests)."""
        self.controller.run(wait=wait)
        return self.controller.state.comparison

    @property
    def comparison(self):
        return self.controller.state.comparison


def _recipe_link(filename: str, converted) -> str:
    """A download of the LiteRT Quantizer recipe as applied (JSON the library loads back)."""
    if converted.recipe is None:
        return ""
    import json

    name = filename[: -len(".tflite")] + "_recipe.json"
    data = base64.b64encode(json.dumps(converted.recipe, indent=1).encode()).decode()
    return (
        f' · <a download="{html.escape(name)}" href="data:application/json;base64,{data}">'
        f"LiteRT Quantizer recipe {html.escape(name)}</a>"
    )


def _c_source_links(filename: str, content: bytes) -> str:
    """Download links for the model as C source (``.cc`` and ``.h``) for TFLite Micro."""
    stem = filename.rsplit(".", 1)[0]
    source, header = c_source(content, "g_model")
    source = source.replace('#include "g_model_data.h"', f'#include "{stem}.h"')
    links = []
    for name, text in ((stem + ".cc", source), (stem + ".h", header)):
        encoded = base64.b64encode(text.encode()).decode()
        links.append(
            f'<a download="{html.escape(name)}" href="data:text/plain;base64,{encoded}">{html.escape(name)}</a>'
        )
    return "C source for TFLite Micro: " + ", ".join(links)


def _deployment_html(comparison, variant: str) -> str:
    """Where the variant runs, from its table row (empty when the comparison had no target)."""
    table = comparison.table
    if "tflm" not in table:
        return ""
    row = table[table["variant"] == variant].iloc[0]
    if row["tflm"]:
        runs = f"runs, arena {row['tflm_arena_bytes']:,.0f} bytes (64-bit host), agreement with LiteRT {row['tflm_agreement']:.2%}"
    else:
        runs = f"does not run: {row['tflm_reason']}"
    fits = ""
    if "fits" in table and comparison.target is not None:
        verdict = "fits" if row["fits"] else "does not fit"
        fits = f"<br><b>{html.escape(comparison.target.name)}:</b> {verdict} ({html.escape(str(row['fits_detail']))})"
    return f"<p><b>TFLite Micro:</b> {html.escape(runs)}{fits}</p>"


def _notebook_namespace():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return None if shell is None else shell.user_ns
