"""workbench: turn trained models into TensorFlow Lite and see what each quantization mode costs.

>>> import workbench
>>> result = workbench.compare("digits_cnn", "digits_images")   # doctest: +SKIP
>>> result.table                                                  # doctest: +SKIP

Importing the package does not import TensorFlow; it loads on the first conversion.
"""

from __future__ import annotations

from ._native import import_tensorflow
from ._worker import set_worker_idle_timeout
from .calibration import Calibration
from .compare import Comparison, compare
from .convert import convert
from .datasets import DATASET_NAMES, Dataset, load_dataset
from .diagnose import Diagnosis, diagnose, keep_float
from .errors import (
    BudgetError,
    CancelledError,
    ConversionError,
    DataMismatchError,
    DatasetError,
    InvalidArgumentError,
    InvocationError,
    ModelLoadError,
    NotFittedError,
    OutputPathError,
    RepresentativeDataError,
    TargetError,
    UnknownModeError,
    UnsupportedEstimatorError,
    UnsupportedOpsError,
    WorkbenchError,
)
from .examples import EXAMPLES, load_example
from .lens import CalibrationStudy, Lens, calibration_lens, layer_errors, lens
from .modes import ALL_MODES, DEFAULT_MODES, MODE_NAMES, QUANTIZER_MODES, Mode
from .runtime import Converted, TensorInfo, load_tflite
from .search import Search, Sweep, search, sweep
from .targets import PRESETS as TARGETS
from .targets import MicroCheck, Target, check_micro

__version__ = "0.1.0"


def supported_estimators() -> list[str]:
    """The scikit-learn estimator classes the workbench rebuilds exactly, by name.

    scikit-learn's own subclasses that keep their base's fitted attributes and predict
    methods (the CV variants such as ``LogisticRegressionCV``) are rebuilt as their base
    and listed too. Importing scikit-learn happens here, not on ``import workbench``.

    Returns
    -------
    list of str
        Sorted class names.
    """
    from .sources.sklearn._registry import supported_names

    return supported_names()


def __getattr__(name):
    # The widget needs ipywidgets (the "ui" extra); load it only when asked for.
    if name == "Workbench":
        from .ui.widgets import Workbench

        return Workbench
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")


__all__ = [
    "Calibration",
    "CalibrationStudy",
    "BudgetError",
    "CancelledError",
    "Comparison",
    "ConversionError",
    "Converted",
    "DATASET_NAMES",
    "DataMismatchError",
    "Dataset",
    "DatasetError",
    "DEFAULT_MODES",
    "ALL_MODES",
    "InvalidArgumentError",
    "InvocationError",
    "Lens",
    "Diagnosis",
    "EXAMPLES",
    "MODE_NAMES",
    "MicroCheck",
    "Mode",
    "ModelLoadError",
    "NotFittedError",
    "OutputPathError",
    "QUANTIZER_MODES",
    "RepresentativeDataError",
    "TARGETS",
    "Target",
    "TargetError",
    "TensorInfo",
    "UnknownModeError",
    "UnsupportedEstimatorError",
    "UnsupportedOpsError",
    "Workbench",
    "WorkbenchError",
    "calibration_lens",
    "check_micro",
    "compare",
    "convert",
    "diagnose",
    "keep_float",
    "layer_errors",
    "lens",
    "load_dataset",
    "load_example",
    "load_tflite",
    "import_tensorflow",
    "set_worker_idle_timeout",
    "search",
    "Search",
    "supported_estimators",
    "sweep",
    "Sweep",
]
