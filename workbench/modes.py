"""The quantization modes: one table, read by conversion and teaching alike.

Each row names its backend. ``converter`` rows are the TFLite converter's post-training
quantization (``float32``, ``float16``, ``dynamic``, ``int8``, ``int16x8``: the converter
re-runs with the row's settings). ``quantizer`` rows are LiteRT Quantizer recipes, named
exactly as the library's recipe functions (``static_wi8_ai8``, ``weight_only_wi4_afp32``,
...): they are applied to the float32 ``.tflite`` and never re-run the converter. Google's
LiteRT documentation now recommends the quantizer path; the converter's quantization is
deprecated.

Nothing else in the package branches on a mode's name: :meth:`Mode.configure_converter`
applies a converter row, :meth:`Mode.quantizer` builds a configured
``litert_quantizer.Quantizer`` for a quantizer row, and :meth:`Mode.snippet` prints either
as plain code.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from .errors import UnknownModeError

# Values are names inside ``tf.lite`` / ``tf`` so this module never imports TensorFlow.
_CONVERTER_TABLE: dict[str, dict] = {
    "float32": {
        "backend": "converter",
        "bits": 32,
        "title": "float32 (no quantization)",
        "description": "Weights and activations stay 32-bit float; the reference conversion.",
        "optimizations": (),
        "supported_types": (),
        "supported_ops": ("TFLITE_BUILTINS",),
        "calibrated": False,
        "io_types": ("float32",),
    },
    "float16": {
        "backend": "converter",
        "bits": 16,
        "title": "float16 weights",
        "description": "Weights stored as 16-bit float (half the size); computed in float32 on CPU.",
        "optimizations": ("DEFAULT",),
        "supported_types": ("float16",),
        "supported_ops": ("TFLITE_BUILTINS",),
        "calibrated": False,
        "io_types": ("float32",),
    },
    "dynamic": {
        "backend": "converter",
        "bits": 8,
        "title": "dynamic range (int8 weights)",
        "description": (
            "Weights stored as int8; activations quantized on the fly where kernels allow. "
            "No calibration data needed."
        ),
        "optimizations": ("DEFAULT",),
        "supported_types": (),
        "supported_ops": ("TFLITE_BUILTINS",),
        "calibrated": False,
        "io_types": ("float32",),
    },
    "int8": {
        "backend": "converter",
        "bits": 8,
        "title": "full integer (int8)",
        "description": (
            "Weights and activations int8, calibrated on a representative dataset; "
            "runs on integer-only hardware (microcontrollers, NPUs, Edge TPU)."
        ),
        "optimizations": ("DEFAULT",),
        "supported_types": (),
        "supported_ops": ("TFLITE_BUILTINS_INT8",),
        "calibrated": True,
        "io_types": ("int8", "uint8", "float32"),
    },
    "int16x8": {
        "backend": "converter",
        "bits": 8,
        "title": "16-bit activations, 8-bit weights",
        "description": (
            "int8 weights with int16 activations, calibrated; more accurate than int8 "
            "where activations have a wide range, with fewer kernels available."
        ),
        "optimizations": ("DEFAULT",),
        "supported_types": (),
        "supported_ops": ("EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8",),
        "calibrated": True,
        "io_types": ("float32", "int16"),
    },
}


# LiteRT Quantizer recipes. ``config`` is what the recipe asks of the quantizer: the kind of
# quantization (the ``Quantizer.add_<kind>_config`` it uses), the weight bits, granularity,
# algorithm and, for static recipes, the activation bits. ``function`` is the name of the
# ``litert_quantizer.recipe`` function that makes it, when the library has one.
def _recipe(title, description, kind, bits, granularity="CHANNELWISE", algorithm=None, activation_bits=None):
    config = {"kind": kind, "num_bits": bits, "granularity": granularity}
    if algorithm:
        config["algorithm"] = algorithm
    if activation_bits:
        config["activation_num_bits"] = activation_bits
    return {
        "backend": "quantizer",
        "title": title,
        "description": description,
        "config": config,
        "calibrated": kind == "static",
        # Static recipes quantize the model's inputs and outputs too (the library's choice).
        "io_types": (f"int{activation_bits}",) if activation_bits else ("float32",),
    }


_QUANTIZER_TABLE: dict[str, dict] = {
    "dynamic_wi8_afp32": _recipe(
        "LiteRT Quantizer: dynamic, int8 weights",
        "int8 channelwise weights; activations stay float32 and are quantized on the fly by the "
        "kernels. No calibration. The quantizer's counterpart of the converter's 'dynamic'.",
        "dynamic",
        8,
    ),
    "dynamic_wi4_afp32": _recipe(
        "LiteRT Quantizer: dynamic, int4 weights",
        "4-bit channelwise weights (a quarter of float32's size), activations quantized on the fly.",
        "dynamic",
        4,
    ),
    "dynamic_wi4b32_afp32": _recipe(
        "LiteRT Quantizer: dynamic, int4 weights in blocks of 32",
        "4-bit weights with one float16 scale per block of 32 values instead of one per channel: "
        "more scales, less error where a channel's values spread widely. The library quantizes "
        "fully connected layers blockwise; other layers stay float32.",
        "dynamic",
        4,
        granularity="BLOCKWISE_32",
    ),
    "dynamic_wi4c_hr_afp32": _recipe(
        "LiteRT Quantizer: dynamic, int4 weights, Hadamard-rotated",
        "4-bit channelwise weights quantized after a Hadamard rotation, which spreads outliers "
        "across the channel; the rotation is stored as extra ops and float matrices.",
        "dynamic",
        4,
        algorithm="DECOMPOSED_HADAMARD_ROTATION",
    ),
    "dynamic_wi2c_afp32": _recipe(
        "LiteRT Quantizer: dynamic, int2 weights",
        "2-bit channelwise weights: four levels per channel. Shows where bits run out.",
        "dynamic",
        2,
    ),
    "weight_only_wi8_afp32": _recipe(
        "LiteRT Quantizer: weight-only, int8",
        "int8 weights stored, dequantized to float32 before each op: float compute, float accuracy "
        "of activations, a quarter of the weight bytes.",
        "weight_only",
        8,
    ),
    "weight_only_wi4_afp32": _recipe(
        "LiteRT Quantizer: weight-only, int4",
        "4-bit weights stored, dequantized to float32 before each op.",
        "weight_only",
        4,
    ),
    "weight_only_wf16_afp32": _recipe(
        "LiteRT Quantizer: weight-only, float16",
        "Weights cast to float16 and dequantized before each op (the library's FLOAT_CASTING "
        "algorithm); the quantizer's counterpart of the converter's 'float16'.",
        "weight_only",
        16,
        algorithm="FLOAT_CASTING",
    ),
    "static_wi8_ai8": _recipe(
        "LiteRT Quantizer: static, int8 weights and activations",
        "Full integer compute with int8 weights and activations, calibrated on a representative "
        "dataset; inputs and outputs become int8 too. The quantizer's counterpart of 'int8'. "
        "scikit-learn tree ensembles get integer trees instead: thresholds on each feature's "
        "8-bit grid, int8 node rows, 8-bit leaves, float input and outputs.",
        "static",
        8,
        activation_bits=8,
    ),
    "static_wi8_ai16": _recipe(
        "LiteRT Quantizer: static, int8 weights, int16 activations",
        "int8 weights with int16 activations (and int16 inputs and outputs), calibrated; the "
        "quantizer's counterpart of 'int16x8'. scikit-learn tree ensembles get integer trees "
        "instead: thresholds on each feature's 16-bit grid, int8 node rows, 8-bit leaves.",
        "static",
        8,
        activation_bits=16,
    ),
}

_TABLE: dict[str, dict] = {**_CONVERTER_TABLE, **_QUANTIZER_TABLE}

#: The converter's five post-training quantization modes.
MODE_NAMES: tuple[str, ...] = tuple(_CONVERTER_TABLE)
#: LiteRT Quantizer recipes, applied to the float32 ``.tflite``.
QUANTIZER_MODES: tuple[str, ...] = tuple(_QUANTIZER_TABLE)
#: What ``compare()`` and the widget measure by default: float32 and the recommended recipes.
DEFAULT_MODES: tuple[str, ...] = (
    "float32",
    "dynamic_wi8_afp32",
    "weight_only_wi4_afp32",
    "static_wi8_ai8",
    "static_wi8_ai16",
)
ALL_MODES: tuple[str, ...] = tuple(_TABLE)

_LIBRARY_GRANULARITY = {"CHANNELWISE": "CHANNELWISE", "BLOCKWISE_32": "BLOCKWISE_32"}
_ADD_CONFIG = {"dynamic": "add_dynamic_config", "weight_only": "add_weight_only_config"}


@dataclass(frozen=True)
class Mode:
    """A quantization mode: converter settings or a LiteRT Quantizer recipe.

    Parameters
    ----------
    name : str
        A converter mode (``float32``, ``float16``, ``dynamic``, ``int8``, ``int16x8``) or a
        LiteRT Quantizer recipe named as the library's recipe functions
        (``dynamic_wi8_afp32``, ``weight_only_wi4_afp32``, ``static_wi8_ai8``, ... see
        :data:`QUANTIZER_MODES`).
    io : str, default=None
        The type of the model's input and output tensors. ``None`` takes the mode's
        default: ``int8`` for the converter's full-integer mode (deployable on
        integer-only hardware), ``float32`` otherwise. ``int8`` also takes ``uint8`` and
        ``float32``; ``int16x8`` takes ``int16``.

    Examples
    --------
    >>> Mode("int8", io="float32").label
    'int8 (float32 io)'
    >>> Mode("static_wi8_ai8").backend
    'quantizer'
    """

    name: str
    io: str | None = None
    settings: dict = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self):
        if isinstance(self.name, Mode):
            raise UnknownModeError(
                "a Mode object as the name", "A mode name as a string.", "Pass Mode(...) directly."
            )
        if self.name not in _TABLE:
            raise UnknownModeError(
                received=f"mode={self.name!r}",
                expected=(
                    f"Expected one of the converter's modes {', '.join(MODE_NAMES)} or a LiteRT "
                    f"Quantizer recipe {', '.join(QUANTIZER_MODES)}."
                ),
                fix=_nearest_hint(self.name),
            )
        row = _TABLE[self.name]
        io = row["io_types"][0] if self.io is None else self.io
        if io not in row["io_types"]:
            raise UnknownModeError(
                received=f"io={self.io!r} for mode {self.name!r}",
                expected=f"Mode {self.name!r} takes io in {', '.join(row['io_types'])}.",
                fix=f"Use io={row['io_types'][0]!r} or leave it out.",
            )
        object.__setattr__(self, "io", io)
        object.__setattr__(self, "settings", row)

    @classmethod
    def of(cls, mode: str | Mode) -> Mode:
        """Return ``mode`` as a :class:`Mode`, accepting a name or a ``Mode``."""
        if isinstance(mode, Mode):
            return mode
        if not isinstance(mode, str):
            raise UnknownModeError(
                received=f"mode={mode!r} ({type(mode).__name__})",
                expected=f"Expected a mode name, one of {', '.join(ALL_MODES)}, or a Mode.",
                fix="Pass a string such as 'int8' or 'static_wi8_ai8'.",
            )
        name, _, io = mode.partition(":")
        return cls(name, io or None)

    @property
    def backend(self) -> str:
        """``"converter"`` (the TFLite converter re-runs) or ``"quantizer"`` (LiteRT Quantizer
        applied to the float32 ``.tflite``)."""
        return self.settings["backend"]

    @property
    def calibrated(self) -> bool:
        """Whether the mode needs a representative dataset."""
        return self.settings["calibrated"]

    # ------------------------------------------------------------------ capabilities
    # What a mode can do, asked of the mode rather than tested by its name anywhere else.
    @property
    def from_float_file(self) -> bool:
        """Whether the variant is made from the float32 ``.tflite`` (a LiteRT Quantizer recipe),
        so it applies to ``.tflite`` files from elsewhere too; else the converter re-runs on the
        model."""
        return self.backend == "quantizer"

    @property
    def keeps_layers(self) -> bool:
        """Whether named layers can be kept in float (mixed precision): every LiteRT Quantizer
        recipe, and the converter's int8 through its quantization debugger's deny-list."""
        return self.backend == "quantizer" or self.name == "int8"

    @property
    def layer_error(self) -> str | None:
        """Where this mode's per-layer error comes from: ``"validation"`` (LiteRT Quantizer's
        per-tensor validation), ``"debugger"`` (TFLite's quantization debugger, int8 only) or
        ``None``."""
        if self.backend == "quantizer":
            return "validation"
        return "debugger" if self.name == "int8" else None

    @property
    def statistic_choice(self) -> bool:
        """Whether the calibration statistic (min/max, percentile, moving average) can be chosen:
        LiteRT Quantizer recipes take :class:`workbench.Calibration`; the converter uses its own
        min/max."""
        return self.backend == "quantizer"

    @property
    def bits(self) -> int:
        """The fewest bits any stored weight or activation gets (32 for float32, 16 for float16,
        4 for a 4-bit recipe): what "8-bit or wider" is judged on."""
        if "bits" in self.settings:
            return self.settings["bits"]
        config = self.settings["config"]
        return min(config["num_bits"], config.get("activation_num_bits", 32))

    @property
    def default_io(self) -> bool:
        return self.io == self.settings["io_types"][0]

    @property
    def label(self) -> str:
        """The name shown in tables and plots: the mode, and its I/O type when not the default."""
        return self.name if self.default_io else f"{self.name} ({self.io} io)"

    @property
    def key(self) -> str:
        """A short unique string for file names and caches, e.g. ``int8`` or ``int8-float32io``."""
        return self.name if self.default_io else f"{self.name}-{self.io}io"

    @property
    def title(self) -> str:
        return self.settings["title"]

    @property
    def description(self) -> str:
        return self.settings["description"]

    @property
    def path(self) -> str:
        """Which path makes this variant, as tables and the widget say it."""
        if self.backend == "quantizer":
            return "LiteRT Quantizer"
        return "converter PTQ (deprecated)" if self.name != "float32" else "converter"

    def with_float_io(self) -> Mode:
        """The same mode with float32 input and output, where the mode allows it."""
        return Mode(self.name, io="float32") if "float32" in self.settings["io_types"] else self

    # ------------------------------------------------------------------ converter
    def configure_converter(self, converter, samples, tf) -> None:
        """Apply a converter row of the table to a ``tf.lite.TFLiteConverter``.

        A quantizer mode configures the plain float32 conversion: its recipe is applied to
        the converter's output afterwards.
        """
        row = self.settings if self.backend == "converter" else _CONVERTER_TABLE["float32"]
        converter.optimizations = [getattr(tf.lite.Optimize, o) for o in row["optimizations"]]
        if row["supported_types"]:
            converter.target_spec.supported_types = [getattr(tf, t) for t in row["supported_types"]]
        converter.target_spec.supported_ops = [getattr(tf.lite.OpsSet, o) for o in row["supported_ops"]]
        if row["calibrated"]:
            converter.representative_dataset = _representative_dataset(samples)
        if self.backend == "converter" and self.io != "float32":
            converter.inference_input_type = getattr(tf, self.io)
            converter.inference_output_type = getattr(tf, self.io)

    def converter_lines(self) -> list[str]:
        """The settings as statements on a variable ``converter`` (no imports, no source)."""
        row = self.settings
        if self.backend != "converter":
            return []
        lines = []
        if row["optimizations"]:
            opts = ", ".join(f"tf.lite.Optimize.{o}" for o in row["optimizations"])
            lines.append(f"converter.optimizations = [{opts}]")
        if row["supported_types"]:
            types = ", ".join(f"tf.{t}" for t in row["supported_types"])
            lines.append(f"converter.target_spec.supported_types = [{types}]")
        if row["calibrated"]:
            lines.append("converter.representative_dataset = representative_dataset")
        if row["supported_ops"] != ("TFLITE_BUILTINS",):
            ops = ", ".join(f"tf.lite.OpsSet.{o}" for o in row["supported_ops"])
            lines.append(f"converter.target_spec.supported_ops = [{ops}]")
        if self.io != "float32":
            lines.append(f"converter.inference_input_type = tf.{self.io}")
            lines.append(f"converter.inference_output_type = tf.{self.io}")
        return lines

    # ------------------------------------------------------------------ quantizer
    def quantizer(self, float_model: bytes, keep: dict[str, str] | None = None):
        """A ``litert_quantizer.Quantizer`` on the float32 bytes, loaded with this recipe.

        Parameters
        ----------
        float_model : bytes
            The float32 ``.tflite``.
        keep : dict of str to {"float", "int8"}, default=None
            Mixed precision: op scopes (regular expressions over the ops' output tensor
            names, as the library matches them) to keep in float or at 8 bits.
        """
        if self.backend != "quantizer":
            raise UnknownModeError(
                received=f"mode {self.name!r} for LiteRT Quantizer",
                expected=f"A quantizer recipe, one of {', '.join(QUANTIZER_MODES)}.",
                fix="Convert converter modes with workbench.convert(model, mode).",
            )
        from litert_quantizer import quantizer as quantizer_module

        quantizer = quantizer_module.Quantizer(bytearray(float_model))
        self._add_config(quantizer, ".*", self.settings["config"])
        for scope, precision in (keep or {}).items():
            if precision == "float":
                quantizer.update_quantization_recipe(scope, "*", algorithm_key="no_quantize")
            else:
                config = {**self.settings["config"], "num_bits": 8, "granularity": "CHANNELWISE"}
                config.pop("algorithm", None)
                self._add_config(quantizer, scope, config)
        return quantizer

    @staticmethod
    def _add_config(quantizer, regex: str, config: dict) -> None:
        from litert_quantizer import algorithm_manager, qtyping

        granularity = qtyping.QuantGranularity[_LIBRARY_GRANULARITY[config["granularity"]]]
        algorithm = algorithm_manager.AlgorithmName[config.get("algorithm", "MIN_MAX_UNIFORM_QUANT")]
        if config["kind"] == "static":
            quantizer.add_static_config(
                regex, "*", config["activation_num_bits"], config["num_bits"], granularity, algorithm
            )
        else:
            getattr(quantizer, _ADD_CONFIG[config["kind"]])(
                regex, "*", config["num_bits"], granularity, algorithm
            )

    def quantizer_lines(self) -> list[str]:
        """The recipe as statements on a variable ``qt`` (a ``litert_quantizer.Quantizer``)."""
        config = self.settings.get("config")
        if config is None:
            return []
        if self.name in _RECIPE_FUNCTIONS:
            return [f"qt.load_quantization_recipe(recipe.{self.name}())"]
        return [_config_line(".*", config)]

    # ------------------------------------------------------------------ teaching
    def snippet(
        self,
        keep: dict[str, str] | None = None,
        *,
        saved_model_dir: str = "saved_model",
        calibration_samples: str = "calibration_samples.npy",
        calibration=None,
    ) -> str:
        """Plain code that reproduces this variant, for teaching and for scripts.

        Converter modes print ``tf.lite.TFLiteConverter`` code; quantizer recipes print the
        float32 conversion and the ``litert_quantizer`` code applied to its bytes. The code
        runs as pasted: its first lines define what it starts from, with the paths given here.

        Parameters
        ----------
        keep : dict of str to {"float", "int8"}, default=None
            For a recipe: op scopes kept at higher precision (mixed precision), as
            :meth:`quantizer` takes them.
        saved_model_dir : str, default="saved_model"
            The model exported as a SavedModel directory (Keras 3: ``model.export(path)``).
        calibration_samples : str, default="calibration_samples.npy"
            For a calibrated mode: an ``.npy`` file of a few hundred training inputs, float32,
            without a batch axis (``np.save(path, samples)``).
        calibration : str, tuple or Calibration, default="minmax"
            For a static recipe: how its activation ranges are computed (``workbench.Calibration``).
        """
        from .calibration import Calibration

        calibration = Calibration.of(calibration)
        lines = ["import numpy as np", "import tensorflow as tf", ""]
        lines.append(
            "# What this code starts from: the model exported as a SavedModel (Keras 3: model.export(path))"
        )
        if self.calibrated:
            lines[-1] += ","
            lines.append("# and a few hundred training inputs saved with np.save (float32, no batch axis).")
        lines.append(f"saved_model_dir = {saved_model_dir!r}")
        if self.calibrated:
            lines.append(f"calibration_samples = np.load({calibration_samples!r})")
        lines.append("")
        if self.calibrated and self.backend == "converter":
            lines += [
                "def representative_dataset():",
                "    # A few hundred training samples, one at a time, as float32 with a batch axis.",
                "    for x in calibration_samples:",
                "        yield [x[None, ...].astype('float32')]",
                "",
            ]
        lines.append("converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir)")
        lines += self.converter_lines()
        if self.backend == "converter":
            lines += [
                "tflite_model = converter.convert()",
                f"open('model-{self.key}.tflite', 'wb').write(tflite_model)",
            ]
            return "\n".join(lines) + "\n"
        library = self.name in _RECIPE_FUNCTIONS
        configures = not library or bool(keep)
        lines += [
            "float_model = converter.convert()  # the float32 .tflite: LiteRT Quantizer's input",
            "",
            "from litert_quantizer import quantizer, recipe" + (", qtyping" if configures else ""),
        ]
        if configures:
            lines.append("from litert_quantizer.algorithm_manager import AlgorithmName")
        lines.append("qt = quantizer.Quantizer(bytearray(float_model))")
        lines += self.quantizer_lines()
        if keep:
            lines.append("# The layers with the largest error, kept at higher precision:")
        for scope, precision in (keep or {}).items():
            if precision == "float":
                lines.append(f"qt.update_quantization_recipe({scope!r}, '*', algorithm_key='no_quantize')")
            else:
                config = {**self.settings["config"], "num_bits": 8, "granularity": "CHANNELWISE"}
                config.pop("algorithm", None)
                lines.append(_config_line(scope, config))
        if self.calibrated:
            lines += [
                "# Calibration samples by signature, each a dict of its inputs with a batch axis.",
                "from ai_edge_litert.interpreter import Interpreter",
                "signature = Interpreter(model_content=float_model).get_signature_list()['serving_default']",
                "samples = [{signature['inputs'][0]: x[None, ...].astype('float32')} for x in calibration_samples]",
                *_calibration_lines(calibration),
                "result = qt.quantize(calibration)",
            ]
        else:
            lines.append("result = qt.quantize()")
        lines.append(f"result.export_model('model-{self.key}.tflite')")
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.label


def _calibration_lines(calibration) -> list[str]:
    """The code that computes the activation ranges as ``workbench._calibrate`` does."""
    if calibration.statistic == "ema":
        return [
            "# Ranges: LiteRT Quantizer's own moving average of each sample's min and max.",
            "calibration = qt.calibrate({'serving_default': samples})",
        ]
    lines = [
        "# Ranges: min and max over every sample (the library's default, a moving average, narrows them).",
        "from litert_quantizer import calibrator, recipe_manager",
        "from litert_quantizer.utils import qsv_utils",
        "manager = recipe_manager.RecipeManager()",
        "manager.load_quantization_recipe(qt.get_quantization_recipe())",
        "calib = calibrator.Calibrator(bytearray(float_model), qsv_update_func=qsv_utils.min_max_update)",
        "calib.calibrate({'serving_default': samples}, manager)",
        "calibration = calib.get_model_qsvs()",
    ]
    if calibration.statistic == "percentile":
        p = calibration.percentile
        lines += [
            f"# Each one-range tensor narrowed to the {100 - p:g}th..{p:g}th percentiles of its values.",
            "import numpy as np",
            "from litert_quantizer.utils import tfl_interpreter_utils as tiu",
            "run = tiu.create_tfl_interpreter(bytes(float_model))",
            "seen = {name: [] for name, qsv in calibration.items() if np.size(qsv['min']) == 1}",
            "for sample in samples:",
            "    tiu.invoke_interpreter_signature(run, sample, 'serving_default')",
            "    values = tiu.get_tensor_name_to_content_map(run, 0)",
            "    for name in seen.keys() & values.keys():",
            "        seen[name].append(np.asarray(values[name], dtype=np.float64).ravel())",
            "for name, chunks in seen.items():",
            "    if chunks:",
            f"        low, high = np.percentile(np.concatenate(chunks), [{100 - p!r}, {p!r}])",
            "        qsv = calibration[name]",
            "        low, high = max(low, float(np.min(qsv['min']))), min(high, float(np.max(qsv['max'])))",
            "        calibration[name] = {**qsv, 'min': np.full_like(qsv['min'], low), 'max': np.full_like(qsv['max'], high)}",
        ]
    return lines


def _config_line(regex: str, config: dict) -> str:
    """The ``litert_quantizer`` call that :meth:`Mode._add_config` makes, as code."""
    granularity = f"qtyping.QuantGranularity.{_LIBRARY_GRANULARITY[config['granularity']]}"
    algorithm = f"AlgorithmName.{config.get('algorithm', 'MIN_MAX_UNIFORM_QUANT')}"
    if config["kind"] == "static":
        args = f"{config['activation_num_bits']}, {config['num_bits']}"
    else:
        args = f"{config['num_bits']}"
    call = _ADD_CONFIG.get(config["kind"], "add_static_config")
    return f"qt.{call}({regex!r}, '*', {args}, {granularity}, {algorithm})"


def _representative_dataset(samples):
    """TFLite's representative_dataset: one sample at a time with a batch axis; for several
    inputs, a dict by input name (the converter matches it to the signature)."""
    if isinstance(samples, dict):
        count = len(next(iter(samples.values())))

        def several():
            for i in range(count):
                yield {name: array[i][None, ...] for name, array in samples.items()}

        return several

    def one():
        for sample in samples:
            yield [sample[None, ...]]

    return one


# The names above that are functions (or aliases) in ``litert_quantizer.recipe`` 0.11: the
# snippet loads those by name, as Google's documentation does (a test checks they exist and
# make the same recipe as the table's config).
_RECIPE_FUNCTIONS = {
    "dynamic_wi8_afp32",
    "dynamic_wi4_afp32",
    "dynamic_wi4b32_afp32",
    "dynamic_wi4c_hr_afp32",
    "dynamic_wi2c_afp32",
    "weight_only_wi8_afp32",
    "weight_only_wi4_afp32",
    "static_wi8_ai8",
    "static_wi8_ai16",
}


def _nearest_hint(name) -> str:
    close = difflib.get_close_matches(str(name), ALL_MODES, n=1, cutoff=0.5)
    if close:
        return f"Did you mean mode={close[0]!r}?"
    return "Pick one of those names, e.g. mode='int8' or mode='static_wi8_ai8'."


def parse_modes(modes) -> list[Mode]:
    """Turn a mode, a name, or a sequence of them into a list of distinct :class:`Mode`."""
    if isinstance(modes, (str, Mode)):
        modes = [modes]
    if modes is None or not hasattr(modes, "__iter__"):
        raise UnknownModeError(
            received=f"modes={modes!r}",
            expected="A mode name, a Mode, or a list of them.",
            fix="Pass e.g. modes=('float32', 'static_wi8_ai8'), or leave modes out for the defaults.",
        )
    result: list[Mode] = []
    for mode in modes:
        parsed = Mode.of(mode)
        if parsed not in result:
            result.append(parsed)
    if not result:
        raise UnknownModeError(
            received="an empty list of modes",
            expected=(
                f"At least one of {', '.join(ALL_MODES)} (only a .tflite file, which is its own "
                "reference, is compared with no modes)."
            ),
            fix="Pass modes=('float32', 'static_wi8_ai8') or leave modes out for the defaults.",
        )
    return result
