"""The workbench's widgets and how they are arranged: every control, output and tab, made
and laid out with the user's current settings, and nothing more (no observers, no logic).
"""

from __future__ import annotations

import os

import ipywidgets as w

from ..modes import ALL_MODES, MODE_NAMES, QUANTIZER_MODES, Mode
from ..targets import PRESETS
from .controller import DEVICES, STRATEGIES

#: Every control's label takes this width, so that the controls line up.
_WIDE = {"description_width": "110px"}


class Layout:
    """The widgets of a :class:`~workbench.ui.widgets.Workbench`, as its attributes, and
    ``box``, the whole of them; made by :meth:`_build` from ``self.controller``'s settings."""

    def _build(self):
        s = self.controller.settings
        self.model = w.Dropdown(description="Model", style=_WIDE, layout=w.Layout(width="320px"))
        self.dataset = w.Dropdown(description="Dataset", style=_WIDE, layout=w.Layout(width="320px"))
        self.target = w.Dropdown(
            description="Target column", style=_WIDE, layout=w.Layout(width="320px", display="none")
        )
        self.output = w.Dropdown(
            description="Scored output", style=_WIDE, layout=w.Layout(width="320px", display="none")
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
        self.int8_io = _dropdown("int8 I/O", Mode("int8").settings["io_types"], s.int8_io)
        self.representative = _slider("Calibration n", s.representative, 10, 1000, step=10)
        self.strategy = _dropdown("Sampling", STRATEGIES, s.strategy)
        self.calibration = _dropdown(
            "Ranges",
            [("min/max", "minmax"), ("percentile 99.99", "percentile"), ("moving average", "ema")],
            s.calibration,
            description_allow_html=False,
            tooltip="How static recipes turn calibration samples into activation ranges",
        )
        self.threads = _slider("Threads", s.threads, 1, max(os.cpu_count() or 1, 1))
        self.device = w.Dropdown(
            options=[("(none)", None)]
            + [(f"{n}: {PRESETS[n].describe().split(': ', 1)[1]}", n) for n in DEVICES[1:]],
            value=s.device if s.device in DEVICES else None,
            description="Deploy to",
            style=_WIDE,
            layout=w.Layout(width="420px"),
            tooltip="Also run every variant on the device's runtime (TFLite Micro for boards) and mark what fits",
        )
        self.live = w.Checkbox(value=s.live, description="Live (run on every change)", indent=False)
        self.run_button = w.Button(description="Run", button_style="primary", icon="play")
        self.cancel_button = w.Button(description="Cancel", icon="stop", disabled=True)
        self.progress = w.IntProgress(value=0, min=0, max=1, description="Progress", style=_WIDE)
        self.status = w.HTML()
        self.error = w.HTML()
        self.table = w.HTML()
        self.figure = w.Image(format="png", layout=w.Layout(max_width="100%", display="none"))
        self.variant = w.Dropdown(description="Variant", style=_WIDE)
        self.details = w.HTML()
        self.keep_float = _slider(
            "Keep worst K",
            s.keep_float,
            0,
            4,
            tooltip=(
                "Mixed precision: int8 and each selected LiteRT Quantizer recipe also with its K worst "
                "layers at higher precision (float, or 8 bits under 4-bit recipes)"
            ),
        )
        self.diagnose_mode = _dropdown("Diagnose", ALL_MODES, "int8")
        self.diagnose_button = w.Button(description="Diagnose", icon="stethoscope")
        self.diagnosis = w.HTML()
        self.diagnosis_figure = w.Image(format="png", layout=w.Layout(max_width="100%", display="none"))
        self.find_drop = w.BoundedFloatText(
            value=0.01, min=0.0, max=1.0, step=0.005, description="Max drop", style=_WIDE,
            layout=w.Layout(width="200px"), tooltip="How much of the metric a variant may lose, e.g. 0.01",
        )  # fmt: skip
        self.find_flash = w.Text(
            placeholder="e.g. 256KB (or the device's)", description="Max flash", style=_WIDE,
            layout=w.Layout(width="300px"),
        )  # fmt: skip
        self.find_ram = w.Text(
            placeholder="e.g. 64KB (or the device's)", description="Max RAM", style=_WIDE,
            layout=w.Layout(width="300px"),
        )  # fmt: skip
        self.find_objective = _dropdown("Smallest", ("size", "latency"), "size", width="200px")
        self.find_button = w.Button(description="Find best", button_style="success", icon="search")
        self.find_cancel = w.Button(description="Cancel", icon="stop", disabled=True)
        self.find_progress = w.IntProgress(value=0, min=0, max=1, description="Candidates", style=_WIDE)
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
                self._build_lens(),
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

    def _build_lens(self) -> w.VBox:
        """The Lens tab: one layer of one variant, redrawn after every run (a new calibration
        moves the range and the clipping) and cached per variant, calibration and layer."""
        self.lens_variant = w.Dropdown(description="Variant", style=_WIDE, layout=w.Layout(width="320px"))
        self.lens_layer = w.Dropdown(
            description="Layer", style=_WIDE, layout=w.Layout(width="320px"), tooltip="largest error first"
        )
        self.lens_figure = w.Image(format="png", layout=w.Layout(max_width="100%", display="none"))
        self.lens_table = w.HTML()
        return w.VBox([w.HBox([self.lens_variant, self.lens_layer]), self.lens_figure, self.lens_table])


def _dropdown(description: str, options, value, *, width: str = "230px", **more) -> w.Dropdown:
    """A setting picked from a list, labelled like every other control of the workbench."""
    return w.Dropdown(
        options=options,
        value=value,
        description=description,
        style=_WIDE,
        layout=w.Layout(width=width),
        **more,
    )


def _slider(description: str, value: int, low: int, high: int, **more) -> w.IntSlider:
    """A whole-number setting; it reports when let go, not at every step (each may start a run)."""
    return w.IntSlider(
        value=value, min=low, max=high, description=description, style=_WIDE, continuous_update=False, **more
    )
