"""The workbench's state and actions, with no ipywidgets import: what the widget tests drive.

The controller keeps one :class:`~workbench.compare.Bench` per (model, dataset, threads)
and caches every measured variant by (model, dataset, mode, calibration, threads), so
returning to a variant is instant and changing the calibration re-measures only the modes
that calibrate. Work runs in a background thread; listeners hear about every change.
Its pieces: the settings and progress it holds (``_state``), what can be picked
(``_choices``) and the Lens tab (``_lens_tab``).
"""

from __future__ import annotations

import os
import tempfile
import threading
import traceback
from collections.abc import Callable

from ..calibration import Calibration
from ..compare import Bench
from ..datasets import DATASET_NAMES, STRATEGIES, Dataset, load_dataset
from ..errors import DatasetError, InvalidArgumentError, ModelLoadError, WorkbenchError
from ..examples import EXAMPLES
from ..modes import ALL_MODES, Mode
from ..targets import PRESETS, as_target, refit
from ._choices import MODEL_UPLOADS, as_dataset, models_in, pending_csv, save_upload
from ._lens_tab import LensTab
from ._state import FindState, Progress, RunState, Settings

__all__ = [
    "DEVICES",
    "MODEL_UPLOADS",
    "STRATEGIES",
    "Controller",
    "FindState",
    "Progress",
    "RunState",
    "Settings",
]

DEVICES = (None, *PRESETS)  # None: no deployment target


class Controller:
    """State and actions of the workbench.

    Parameters
    ----------
    models : dict of str to model, default=None
        Keras models, fitted scikit-learn estimators or paths, by the name to show.
    datasets : dict of str to Dataset, DataFrame or (X, y), default=None
    namespace : dict, default=None
        A notebook's variables; Keras models and fitted estimators in it are offered too.
    """

    def __init__(self, models=None, datasets=None, namespace=None):
        self.models: dict[str, object] = {name: name for name in EXAMPLES}
        self.datasets: dict[str, object] = {name: name for name in DATASET_NAMES}
        for name, model in (models or {}).items():
            self.models[name] = model
        for name, data in (datasets or {}).items():
            self.add_dataset(name, data)
        if namespace is not None:
            self.scan(namespace)
        self.settings = Settings()
        self.state = RunState()
        self.listeners: list[Callable[[str], None]] = []
        self._benches: dict[tuple, Bench] = {}
        self._variants: dict[tuple, tuple[dict, object]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._rerun = False
        self.find_state = FindState()
        self._find_thread: threading.Thread | None = None
        self._find_cancel = threading.Event()
        self._uploads = tempfile.mkdtemp(prefix="workbench-uploads-")
        self._lens_tab = LensTab(lambda: self.state.comparison)
        self._lenses = self._lens_tab.drawn  # the drawn lenses, kept by the tab
        self.pending_csv: dict[str, object] = {}

    # ------------------------------------------------------------------ choices
    def scan(self, namespace: dict) -> list[str]:
        """Offer the Keras models and fitted estimators among a notebook's variables."""
        found = models_in(namespace)
        self.models.update(found)
        return list(found)

    def add_dataset(self, name: str, data) -> str:
        """Add a Dataset, a DataFrame (its last column is the target) or an (X, y) pair."""
        self.datasets[name] = as_dataset(name, data)
        return name

    def upload(self, filename: str, content: bytes) -> str:
        """Take an uploaded file: a model (.keras, .skops, .tflite) or a CSV dataset.

        A CSV waits in ``pending_csv`` until :meth:`set_csv_target` names its target column.
        Returns the name under which the file was added.
        """
        path = save_upload(self._uploads, filename, content)
        if path.lower().endswith(".csv"):
            self.pending_csv = pending_csv(path)
            self._notify("choices")
            return self.pending_csv["name"]
        name = os.path.basename(path)
        self.models[name] = path
        self._notify("choices")
        return name

    def set_csv_target(self, column: str) -> str:
        """Finish a CSV upload by naming its target column; the dataset becomes selectable."""
        if not self.pending_csv:
            raise DatasetError(
                received="a target column with no CSV uploaded",
                expected="A CSV upload first.",
                fix="Upload a .csv file, then pick its target column.",
            )
        name = self.pending_csv["name"]
        self.datasets[name] = Dataset.from_csv(self.pending_csv["path"], target=column, name=name)
        self.pending_csv = {}
        self._notify("choices")
        return name

    def default_dataset(self, model_name: str) -> str | None:
        model = self.models.get(model_name)
        if isinstance(model, str) and model in EXAMPLES:
            return EXAMPLES[model].dataset
        return None

    # ------------------------------------------------------------------ actions
    def update(self, **changes) -> None:
        """Change settings; with ``live`` on, a change starts a run."""
        if changes.get("device"):
            as_target(changes["device"])  # a wrong target is reported now, not at the next run
        for key, value in changes.items():
            if not hasattr(self.settings, key):
                raise InvalidArgumentError(
                    received=f"a setting named {key!r}",
                    expected=f"One of the settings {', '.join(vars(self.settings))}.",
                    fix="Check the name of the setting.",
                )
            if key == "calibration":
                Calibration.of(value)  # an unknown statistic is reported now, not at the next run
            if key == "modes":
                value = tuple(value)
                for name in value:
                    Mode.of(name)  # an unknown mode is an error here, never silently dropped
            setattr(self.settings, key, value)
        self._notify("settings")
        turned_on = changes.get("live") is True
        if turned_on or (self.settings.live and changes.keys() - {"live"}):
            self.run()

    def run(self, wait: bool = False) -> threading.Thread:
        """Measure the current settings in the background (or wait with ``wait=True``)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                # Finish the variant at hand, then start again with the new settings.
                self._rerun = True
                self._cancel.set()
                thread = self._thread
            else:
                thread = self._start()
        if wait:
            self.wait()
        return thread

    def cancel(self) -> None:
        """Stop between variants; what was measured stays."""
        with self._lock:
            self._rerun = False
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the background work (including reruns) ends; True if it did."""
        while True:
            thread = self._thread
            if thread is None:
                return True
            thread.join(timeout)
            if thread.is_alive():
                return False
            if self._thread is thread:
                return True

    def diagnose(self, mode: str, wait: bool = False) -> threading.Thread:
        """Diagnose the current model in ``mode`` in the background (``state.diagnosis``)."""
        settings = Settings(**vars(self.settings))
        self.state.diagnosing = True
        self.state.diagnosis = None
        thread = threading.Thread(
            target=self._diagnose, args=(settings, mode), daemon=True, name="workbench-diagnose"
        )
        thread.start()
        if wait:
            thread.join()
        return thread

    def _diagnose(self, settings: Settings, mode: str) -> None:
        from ..diagnose import diagnose

        try:
            dataset_key = settings.dataset or self.default_dataset(settings.model)
            bench = self._bench(settings.model, dataset_key, settings)
            chosen = settings.mode(mode)
            samples = None
            if chosen.calibrated:
                samples, _ = bench.calibration(*settings.sampling(), [chosen])
            self.state.diagnosis = diagnose(bench.source, chosen, samples, dataset=bench.data)
        except WorkbenchError as err:
            self.state.diagnosis = err
        except Exception as err:  # shown in the widget with its traceback; the kernel stays up
            self.state.diagnosis = RuntimeError(
                f"Unexpected error: {type(err).__name__}: {err}\n{traceback.format_exc()}"
            )
        finally:
            self._notify("diagnosis")
            self.state.diagnosing = False

    def table(self):
        return None if self.state.comparison is None else self.state.comparison.table

    # ------------------------------------------------------------------ lens
    def lens_variants(self) -> list[str]:
        """The measured variants with integer weights: those the lens can draw."""
        return self._lens_tab.variants()

    def lens_layers(self, variant: str) -> list[str]:
        """``variant``'s layers with weights, largest quantization error first."""
        return self._lens_tab.layers(variant)

    def lens(self, variant: str, layer: str | None = None, *, shown: bool = True):
        """The lens on one layer of a measured variant (``workbench.lens``), cached by the
        variant's bytes, the calibration samples and the layer: returning to it is instant.
        A lens ``shown`` goes into the comparison's report; one drawn ahead does not."""
        return self._lens_tab.lens(variant, layer, shown=shown)

    def warm_lens(self, variant: str) -> threading.Thread:
        """Draw the lens for every layer of ``variant`` in the background, so that picking
        another layer is answered from the cache; returns the thread."""
        return self._lens_tab.warm(variant)

    # ------------------------------------------------------------------ find best
    def find_best(
        self, max_metric_drop=0.01, max_flash=None, max_ram=None, objective="size", *, wait: bool = False
    ) -> threading.Thread:
        """Search the current model for the best variant within a budget, in the background.

        The model, dataset, calibration and "Deploy to" device are the current settings;
        the result (a :class:`workbench.Search`) lands in ``find_state.result``. Arguments are
        checked here, before any work.
        """
        from .._budget import check_budget

        if self._find_thread is not None and self._find_thread.is_alive():
            raise InvalidArgumentError(
                received="Find best while a search is running",
                expected="One search at a time.",
                fix="Wait for it, or press Cancel first.",
            )
        settings = Settings(**vars(self.settings))
        check_budget(max_metric_drop, max_flash or None, max_ram or None, settings.device)
        self._find_cancel.clear()
        self.find_state = FindState(running=True, status="Starting the search…")
        budget = {
            "max_metric_drop": max_metric_drop,
            "max_flash": max_flash or None,
            "max_ram": max_ram or None,
            "objective": objective,
        }
        self._find_thread = threading.Thread(
            target=self._find, args=(settings, budget), daemon=True, name="workbench-find"
        )
        self._find_thread.start()
        if wait:
            self._find_thread.join()
        return self._find_thread

    def cancel_find(self) -> None:
        """Stop the search; the candidates scored so far are kept and judged."""
        self._find_cancel.set()

    def _find(self, settings: Settings, budget: dict) -> None:
        from ..search import search

        state = self.find_state

        def progress(done, total, message):
            state.done, state.total, state.status = done, total, message
            self._notify("find")

        try:
            dataset_key = settings.dataset or self.default_dataset(settings.model)
            bench = self._bench(settings.model, dataset_key, settings)
            state.result = search(
                bench.source,
                bench.data,
                **budget,
                **settings.search_options(),
                progress=progress,
                cancel=self._find_cancel,
            )
            best = state.result.recommended
            state.status = (
                f"Recommended: {best}" if best else "No candidate meets the budget; the closest are shown."
            )
        except WorkbenchError as err:
            state.error = str(err)
            state.status = "Stopped: " + err.received
        except Exception as err:  # shown in the widget; the kernel stays up
            state.error = f"Unexpected error: {type(err).__name__}: {err}\n{traceback.format_exc()}"
            state.status = "Stopped by an unexpected error."
        finally:
            state.running = False
            self._notify("find")

    # ------------------------------------------------------------------ work
    def _start(self) -> threading.Thread:
        self._cancel.clear()
        settings = Settings(**vars(self.settings))
        self.state.running = True
        self.state.error = None
        self.state.error_details = ""
        self._thread = threading.Thread(
            target=self._work, args=(settings,), daemon=True, name="workbench-run"
        )
        self._thread.start()
        return self._thread

    def _work(self, settings: Settings) -> None:
        try:
            self._measure(settings)
        except WorkbenchError as err:
            self.state.error = str(err)
            self.state.status = "Stopped: " + err.received
        except Exception as err:  # shown in the widget with its traceback; the kernel stays up
            self.state.error = f"Unexpected error: {type(err).__name__}: {err}"
            self.state.error_details = traceback.format_exc()
            self.state.status = "Stopped by an unexpected error."
        finally:
            with self._lock:
                rerun, self._rerun = self._rerun, False
                if rerun:
                    self._start()
                else:
                    self.state.running = False
            self._notify("done" if not rerun else "progress")

    def _measure(self, settings: Settings) -> None:
        state = self.state
        modes = self._modes(settings)
        # Rows scored on another head are other rows: the head is part of every cache key.
        model_key = settings.model if settings.output is None else f"{settings.model}[{settings.output}]"
        dataset_key = settings.dataset or self.default_dataset(settings.model)
        if dataset_key is None:
            raise DatasetError(
                received=f"no dataset for model {settings.model!r}",
                expected="A dataset to evaluate on.",
                fix="Pick a dataset in the Dataset list.",
            )
        state.total = len(modes) + 1
        state.done = 0
        state.variant_status = {}
        self._progress(f"Preparing {model_key} on {dataset_key}…")
        bench = self._bench(model_key, dataset_key, settings)
        device = as_target(settings.device) if settings.device else None
        bench.target = device  # TFLite Micro columns are cached per variant; only `fits` follows the device
        if bench.source.kind == "tflite":
            # A .tflite is compared as-is; a float32 one is also the hub the chosen recipes apply to.
            hub = bench.source.inspection.is_float32 and bench.source.runtime == "litert"
            modes = [m for m in modes if m.from_float_file] if hub else []
            state.total = len(modes) + 1
        state.variant_status["original"] = "measuring"
        self._progress(f"Measuring the original {model_key}…")
        original = bench.original()
        state.variant_status["original"] = "done"
        state.done = 1
        samples, described = (None, "not used")
        calibration = None
        if any(m.calibrated for m in modes):
            calibration = settings.sampling()
            samples, described = bench.calibration(*calibration, modes=modes, per_row=True)
        rows, variants = [original], {}

        def measured(mode: Mode, label: str, doing: str, measure) -> None:
            key = (
                model_key,
                dataset_key,
                label,
                _calibration_key(calibration, mode, settings),
                settings.threads,
                device is not None,
            )
            row, converted = self._cached(key, label, doing, measure)
            rows.append(refit(row, device))
            if converted is not None:
                variants[converted.label] = converted

        cancelled = False
        for mode in modes:
            if self._cancel.is_set():
                cancelled = True
                break
            measured(
                mode,
                mode.label,
                "converting and measuring",
                lambda m=mode: bench.variant(m, samples, settings.calibration),
            )
            state.done += 1
            self._progress(f"{mode.label}: {state.variant_status[mode.label]}")
        for mode in [m for m in modes if m.keeps_layers] if settings.keep_float else []:
            if cancelled or self._cancel.is_set():
                cancelled = True
                break
            measured(
                mode,
                f"{mode.label}+keep({settings.keep_float})",
                "finding the worst layers and quantizing",
                lambda m=mode: bench.mixed_variant(
                    m, samples, settings.keep_float, calibration=settings.calibration
                ),
            )
        state.comparison = bench.comparison(
            rows, variants, described, cancelled=cancelled, calibration=samples
        )
        state.status = ("Cancelled: " if cancelled else "Done: ") + ", ".join(
            f"{label} {status}" for label, status in state.variant_status.items()
        )

    def _cached(self, key: tuple, label: str, doing: str, measure) -> tuple[dict, object]:
        """A variant's (row, converted) from the cache, or measured now and cached."""
        status = self.state.variant_status
        if key in self._variants:
            self.state.cached_hits += 1
            status[label] = "cached"
        else:
            status[label] = "converting"
            self._progress(f"{label}: {doing}…")
            self._variants[key] = measure()
            status[label] = "failed" if self._variants[key][0]["error"] else "done"
        return self._variants[key]

    def _bench(self, model_key: str, dataset_key: str, settings: Settings) -> Bench:
        key = (model_key, dataset_key, settings.threads, settings.latency_budget, settings.output)
        if key not in self._benches:
            model = self.models.get(settings.model)
            if model is None:
                raise ModelLoadError(
                    received=f"model {settings.model!r}",
                    expected=f"One of: {', '.join(self.models)}.",
                    fix="Pick a model from the list.",
                )
            data = self.datasets.get(dataset_key, dataset_key)
            dataset = data if isinstance(data, Dataset) else load_dataset(data)
            self._benches[key] = Bench(
                model,
                dataset,
                threads=settings.threads,
                latency_budget=settings.latency_budget,
                output=settings.output,
            )
        return self._benches[key]

    def outputs(self, model_key: str | None = None) -> tuple[str, ...]:
        """The outputs of a model by name, in Keras's order (one for most models)."""
        from ..sources import as_source

        model = self.models.get(model_key or self.settings.model)
        if model is None:
            return ()
        try:
            return tuple(getattr(as_source(model), "output_labels", ()) or ())
        except WorkbenchError:
            return ()

    def _modes(self, settings: Settings) -> list[Mode]:
        for name in settings.modes:
            Mode.of(name)  # an unknown mode stops the run with its error
        return [settings.mode(name) for name in ALL_MODES if name in settings.modes]

    def _progress(self, message: str) -> None:
        self.state.status = message
        self._notify("progress")

    def _notify(self, event: str) -> None:
        for listener in list(self.listeners):
            listener(event)


def _calibration_key(calibration, mode: Mode, settings: Settings):
    """What a variant's cached measurement depends on of the calibration: the samples for a
    mode that calibrates, and the statistic for a mode that lets it be chosen."""
    if not mode.calibrated:
        return None
    return (*calibration, settings.calibration if mode.statistic_choice else None)
