"""The ipywidgets face of the workbench: observers and display only; the logic is in the
controller, the widgets and their arrangement in ``_layout``, the HTML in ``_details``."""

from __future__ import annotations

import html
from contextlib import contextmanager

from IPython.display import display

from ..errors import WorkbenchError
from ..plots import figure_png
from ..report import STYLE, comparison_html, table_html
from ._details import details_html, error_html, lens_html
from ._layout import Layout
from .controller import Controller

_OWN_DATASET = "(the model's own)"


class Workbench(Layout):
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
        self._connect()
        self.controller.listeners.append(self._on_event)
        self._refresh_choices()
        self._show_settings()

    # ------------------------------------------------------------- observers
    def _connect(self):
        """Hand every control's changes to the controller (through the observers below)."""
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
        self.lens_variant.observe(lambda _: self._show_lens_layers(), names="value")
        self.lens_layer.observe(lambda _: self._show_lens(), names="value")

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
        self._choose(self.output, outputs, self.controller.settings.output)
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
            self.diagnosis.value = error_html(str(result))
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
            self.find_result.value = error_html(str(err))
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
            self.find_result.value = error_html(state.error)
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
        with self._quietly():
            self.dataset.options = [_OWN_DATASET, *c.datasets]
            self.model.options = list(c.models)
            if c.settings.model in c.models:
                self.model.value = c.settings.model
        self._show_settings()

    def _show_settings(self):
        """Make the dataset list and calibration slider follow the controller's settings."""
        c = self.controller
        own = c.default_dataset(c.settings.model)
        if c.settings.dataset is None and own is None:
            c.settings.dataset = next(iter(c.datasets))  # a model with no dataset of its own
        with self._quietly():
            self.dataset.value = _OWN_DATASET if c.settings.dataset is None else c.settings.dataset
        name = c.settings.dataset or own
        data = c.datasets.get(name, name)
        try:
            from ..datasets import load_dataset

            n_train = len((data if not isinstance(data, str) else load_dataset(data)).X_train)
        except WorkbenchError:  # the slider keeps its range; a run reports the problem
            return
        with self._quietly():
            self.representative.max = n_train
            self.representative.value = min(self.representative.value, n_train)
        if self.representative.value != c.settings.representative:
            self._update(representative=self.representative.value)

    def _show_error(self, message, details=""):
        self.error.value = error_html(message, details)

    @contextmanager
    def _quietly(self):
        """Set widget values from code without their observers acting on them."""
        self._syncing = True
        try:
            yield
        finally:
            self._syncing = False

    def _choose(self, dropdown, options, current) -> None:
        """Offer ``options``, keeping ``current`` picked if it is one of them, else the first."""
        with self._quietly():
            dropdown.options = options
            dropdown.value = current if current in options else (options[0] if options else None)

    def _show_results(self, comparison):
        # The table first: its numbers are what the user waits for, and drawing the figure
        # takes as long as measuring a quick recipe (benchmarks/live_loop.py). The figure
        # follows at once; a page that needs both waits for the figure's image to change.
        self.table.value = STYLE + table_html(comparison.table)
        self.variant.options = list(comparison.variants)
        self._show_details()
        self.figure.value = comparison.figure_png()
        self.figure.layout.display = "block"
        self._update_static(comparison)

    def _show_details(self):
        comparison = self.controller.state.comparison
        if comparison is None or self.variant.value not in comparison.variants:
            self.details.value = ""
            return
        self.details.value = details_html(comparison, self.variant.value)

    def _show_lens_variants(self):
        self._choose(self.lens_variant, self.controller.lens_variants(), self.lens_variant.value)
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
                self.lens_table.value = error_html(str(err), titled=False)
        self._choose(self.lens_layer, layers, current)
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
            self.lens_table.value = error_html(str(err), titled=False)
            return
        self.lens_figure.value = found.png()
        self.lens_figure.layout.display = "block"
        self.controller.warm_lens(self.lens_variant.value)  # the other layers, ready when picked
        self.lens_table.value = lens_html(found)

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


def _notebook_namespace():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return None if shell is None else shell.user_ns
