"""The table of quantization modes: one row per mode, saying what it is and what it can do.

Each row is a plain dict. Every row carries the same capability columns, which
:class:`workbench.Mode` reads and nothing else tests by name:

``backend``
    ``"converter"`` (the TFLite converter re-runs with the row's settings) or ``"quantizer"``
    (a LiteRT Quantizer recipe applied to the float32 ``.tflite``).
``path``
    Which path makes the variant, as tables and the widget say it.
``calibrated``
    Whether the mode needs a representative dataset.
``io_types``
    The input/output types it takes, its default first.
``from_float_file``
    Made from the float32 ``.tflite`` (so it applies to ``.tflite`` files from elsewhere too).
``keeps_layers``
    Named layers can be kept in float (mixed precision).
``layer_error``
    Where its per-layer error comes from: ``"validation"`` (LiteRT Quantizer's per-tensor
    validation), ``"debugger"`` (TFLite's quantization debugger) or ``None``.
``statistic_choice``
    The calibration statistic (:class:`workbench.Calibration`) can be chosen.
``recipe_function``
    A recipe that ``litert_quantizer.recipe`` makes by name (the printed code loads it so).

Converter rows also carry the converter's settings (``optimizations``, ``supported_types``,
``supported_ops``: names inside ``tf.lite`` / ``tf``, so this module never imports
TensorFlow) and ``bits``; recipe rows carry ``config``, what the recipe asks of the
quantizer. Adding a mode is adding one row here.
"""

from __future__ import annotations


def _converter(**row) -> dict:
    """A converter row: the TFLite converter's post-training quantization, re-run on the model.
    What the converter's modes can do unless a row says otherwise."""
    return {
        "backend": "converter",
        "path": "converter PTQ (deprecated)",
        "from_float_file": False,
        "keeps_layers": False,
        "layer_error": None,
        "statistic_choice": False,  # the converter calibrates with its own min/max
        "recipe_function": False,
        **row,
    }


# Values are names inside ``tf.lite`` / ``tf`` so this module never imports TensorFlow.
CONVERTER_ROWS: dict[str, dict] = {
    "float32": _converter(
        path="converter",
        bits=32,
        title="float32 (no quantization)",
        description="Weights and activations stay 32-bit float; the reference conversion.",
        optimizations=(),
        supported_types=(),
        supported_ops=("TFLITE_BUILTINS",),
        calibrated=False,
        io_types=("float32",),
    ),
    "float16": _converter(
        bits=16,
        title="float16 weights",
        description="Weights stored as 16-bit float (half the size); computed in float32 on CPU.",
        optimizations=("DEFAULT",),
        supported_types=("float16",),
        supported_ops=("TFLITE_BUILTINS",),
        calibrated=False,
        io_types=("float32",),
    ),
    "dynamic": _converter(
        bits=8,
        title="dynamic range (int8 weights)",
        description=(
            "Weights stored as int8; activations quantized on the fly where kernels allow. "
            "No calibration data needed."
        ),
        optimizations=("DEFAULT",),
        supported_types=(),
        supported_ops=("TFLITE_BUILTINS",),
        calibrated=False,
        io_types=("float32",),
    ),
    "int8": _converter(
        bits=8,
        title="full integer (int8)",
        description=(
            "Weights and activations int8, calibrated on a representative dataset; "
            "runs on integer-only hardware (microcontrollers, NPUs, Edge TPU)."
        ),
        optimizations=("DEFAULT",),
        supported_types=(),
        supported_ops=("TFLITE_BUILTINS_INT8",),
        calibrated=True,
        io_types=("int8", "uint8", "float32"),
        # Layers kept in float through the quantization debugger's deny-list.
        keeps_layers=True,
        layer_error="debugger",
    ),
    "int16x8": _converter(
        bits=8,
        title="16-bit activations, 8-bit weights",
        description=(
            "int8 weights with int16 activations, calibrated; more accurate than int8 "
            "where activations have a wide range, with fewer kernels available."
        ),
        optimizations=("DEFAULT",),
        supported_types=(),
        supported_ops=("EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8",),
        calibrated=True,
        io_types=("float32", "int16"),
    ),
}


# LiteRT Quantizer recipes. ``config`` is what the recipe asks of the quantizer: the kind of
# quantization (the ``Quantizer.add_<kind>_config`` it uses), the weight bits, granularity,
# algorithm and, for static recipes, the activation bits. ``recipe_function``: the
# ``litert_quantizer.recipe`` module has a function of the row's name that makes it.
def _recipe(
    title,
    description,
    kind,
    bits,
    granularity="CHANNELWISE",
    algorithm=None,
    activation_bits=None,
    recipe_function=True,
):
    config = {"kind": kind, "num_bits": bits, "granularity": granularity}
    if algorithm:
        config["algorithm"] = algorithm
    if activation_bits:
        config["activation_num_bits"] = activation_bits
    return {
        "backend": "quantizer",
        "path": "LiteRT Quantizer",
        "from_float_file": True,
        "keeps_layers": True,
        "layer_error": "validation",
        "statistic_choice": True,
        "recipe_function": recipe_function,
        "title": title,
        "description": description,
        "config": config,
        "calibrated": kind == "static",
        # Static recipes quantize the model's inputs and outputs too (the library's choice).
        "io_types": (f"int{activation_bits}",) if activation_bits else ("float32",),
    }


QUANTIZER_ROWS: dict[str, dict] = {
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
        recipe_function=False,  # the library has no function for it: printed as its config
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

ROWS: dict[str, dict] = {**CONVERTER_ROWS, **QUANTIZER_ROWS}

#: The columns every row declares: what :class:`workbench.Mode` reads of any mode.
CAPABILITIES = (
    "backend",
    "path",
    "calibrated",
    "io_types",
    "from_float_file",
    "keeps_layers",
    "layer_error",
    "statistic_choice",
    "recipe_function",
)
for _name, _row in ROWS.items():
    _missing = [column for column in CAPABILITIES if column not in _row]
    if _missing:
        raise TypeError(f"mode row {_name!r} lacks the columns {_missing}")

#: The converter's five post-training quantization modes.
MODE_NAMES: tuple[str, ...] = tuple(CONVERTER_ROWS)
#: LiteRT Quantizer recipes, applied to the float32 ``.tflite``.
QUANTIZER_MODES: tuple[str, ...] = tuple(QUANTIZER_ROWS)
#: What ``compare()`` and the widget measure by default: float32 and the recommended recipes.
DEFAULT_MODES: tuple[str, ...] = (
    "float32",
    "dynamic_wi8_afp32",
    "weight_only_wi4_afp32",
    "static_wi8_ai8",
    "static_wi8_ai16",
)
ALL_MODES: tuple[str, ...] = tuple(ROWS)

#: The recipes ``litert_quantizer.recipe`` 0.11 makes by name: printed code loads those by
#: name, as Google's documentation does (a test checks they exist and make the same recipe
#: as the row's config).
RECIPE_FUNCTIONS: frozenset[str] = frozenset(name for name, row in ROWS.items() if row["recipe_function"])

#: How the table's names map onto the library's: ``qtyping.QuantGranularity`` members and
#: the ``Quantizer.add_<kind>_config`` method each kind of recipe uses.
LIBRARY_GRANULARITY = {"CHANNELWISE": "CHANNELWISE", "BLOCKWISE_32": "BLOCKWISE_32"}
ADD_CONFIG = {"dynamic": "add_dynamic_config", "weight_only": "add_weight_only_config"}


def kept_config(config: dict) -> dict:
    """The config of a scope a recipe keeps at 8 bits (mixed precision): the recipe's kind,
    8-bit channelwise weights, the library's default algorithm."""
    config = {**config, "num_bits": 8, "granularity": "CHANNELWISE"}
    config.pop("algorithm", None)
    return config
