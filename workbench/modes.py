"""The quantization modes: :class:`Mode`, one row of one table, read by conversion and teaching alike.

The table itself, with the columns every row declares (what a mode can do), lives in
:mod:`workbench._mode_table`; the code a mode prints in :mod:`workbench._mode_code`. Each
row names its backend. ``converter`` rows are the TFLite converter's post-training
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

from . import _mode_code
from ._mode_table import (
    ADD_CONFIG,
    ALL_MODES,
    CONVERTER_ROWS,
    DEFAULT_MODES,
    LIBRARY_GRANULARITY,
    MODE_NAMES,
    QUANTIZER_MODES,
    QUANTIZER_ROWS,
    RECIPE_FUNCTIONS,
    ROWS,
    kept_config,
)
from .errors import UnknownModeError

# The table lives in its own module; its names stay importable from here.
_TABLE = ROWS
_CONVERTER_TABLE = CONVERTER_ROWS
_QUANTIZER_TABLE = QUANTIZER_ROWS
_RECIPE_FUNCTIONS = RECIPE_FUNCTIONS

__all__ = ["ALL_MODES", "DEFAULT_MODES", "MODE_NAMES", "QUANTIZER_MODES", "Mode", "parse_modes"]


def _column(name: str, doc: str) -> property:
    """A :class:`Mode` property that reads one column of the mode's row."""
    return property(lambda mode: mode.settings[name], doc=doc)


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
        if self.name not in ROWS:
            raise UnknownModeError(
                received=f"mode={self.name!r}",
                expected=(
                    f"Expected one of the converter's modes {', '.join(MODE_NAMES)} or a LiteRT "
                    f"Quantizer recipe {', '.join(QUANTIZER_MODES)}."
                ),
                fix=_nearest_hint(self.name),
            )
        row = ROWS[self.name]
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

    # What a mode is and can do: columns of its row (see :mod:`workbench._mode_table`), asked
    # of the mode rather than tested by its name anywhere else.
    backend = _column(
        "backend",
        """``"converter"`` (the TFLite converter re-runs) or ``"quantizer"`` (LiteRT Quantizer
        applied to the float32 ``.tflite``).""",
    )
    calibrated = _column("calibrated", """Whether the mode needs a representative dataset.""")
    from_float_file = _column(
        "from_float_file",
        """Whether the variant is made from the float32 ``.tflite`` (a LiteRT Quantizer recipe),
        so it applies to ``.tflite`` files from elsewhere too; else the converter re-runs on the
        model.""",
    )
    keeps_layers = _column(
        "keeps_layers",
        """Whether named layers can be kept in float (mixed precision): every LiteRT Quantizer
        recipe, and the converter's int8 through its quantization debugger's deny-list.""",
    )
    layer_error = _column(
        "layer_error",
        """Where this mode's per-layer error comes from: ``"validation"`` (LiteRT Quantizer's
        per-tensor validation), ``"debugger"`` (TFLite's quantization debugger, int8 only) or
        ``None``.""",
    )
    statistic_choice = _column(
        "statistic_choice",
        """Whether the calibration statistic (min/max, percentile, moving average) can be chosen:
        LiteRT Quantizer recipes take :class:`workbench.Calibration`; the converter uses its own
        min/max.""",
    )
    path = _column("path", """Which path makes this variant, as tables and the widget say it.""")
    title = _column("title", """The mode's name in words, for tables and the widget.""")
    description = _column("description", """What the mode does, in a sentence or two.""")

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

    def with_float_io(self) -> Mode:
        """The same mode with float32 input and output, where the mode allows it."""
        return Mode(self.name, io="float32") if "float32" in self.settings["io_types"] else self

    # ------------------------------------------------------------------ converter
    def configure_converter(self, converter, samples, tf) -> None:
        """Apply a converter row of the table to a ``tf.lite.TFLiteConverter``.

        A quantizer mode configures the plain float32 conversion: its recipe is applied to
        the converter's output afterwards.
        """
        row = self.settings if self.backend == "converter" else CONVERTER_ROWS["float32"]
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
        return _mode_code.converter_lines(self)

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
                self._add_config(quantizer, scope, kept_config(self.settings["config"]))
        return quantizer

    @staticmethod
    def _add_config(quantizer, regex: str, config: dict) -> None:
        from litert_quantizer import algorithm_manager, qtyping

        granularity = qtyping.QuantGranularity[LIBRARY_GRANULARITY[config["granularity"]]]
        algorithm = algorithm_manager.AlgorithmName[config.get("algorithm", "MIN_MAX_UNIFORM_QUANT")]
        if config["kind"] == "static":
            quantizer.add_static_config(
                regex, "*", config["activation_num_bits"], config["num_bits"], granularity, algorithm
            )
        else:
            getattr(quantizer, ADD_CONFIG[config["kind"]])(
                regex, "*", config["num_bits"], granularity, algorithm
            )

    def quantizer_lines(self) -> list[str]:
        """The recipe as statements on a variable ``qt`` (a ``litert_quantizer.Quantizer``)."""
        return _mode_code.quantizer_lines(self)

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
        return _mode_code.snippet(self, keep, saved_model_dir, calibration_samples, calibration)

    def __str__(self) -> str:
        return self.label


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
