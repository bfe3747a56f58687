"""The code a mode prints: plain TensorFlow and ``litert_quantizer`` code that reproduces a variant.

:meth:`workbench.Mode.snippet`, :meth:`~workbench.Mode.converter_lines` and
:meth:`~workbench.Mode.quantizer_lines` are these functions; they read the mode's row of the
table (:mod:`workbench._mode_table`) and print what :meth:`~workbench.Mode.configure_converter`
and :meth:`~workbench.Mode.quantizer` do, for teaching and for scripts.
"""

from __future__ import annotations

from ._mode_table import ADD_CONFIG, LIBRARY_GRANULARITY, RECIPE_FUNCTIONS, kept_config


def converter_lines(mode) -> list[str]:
    """The settings as statements on a variable ``converter`` (no imports, no source)."""
    row = mode.settings
    if mode.backend != "converter":
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
    if mode.io != "float32":
        lines.append(f"converter.inference_input_type = tf.{mode.io}")
        lines.append(f"converter.inference_output_type = tf.{mode.io}")
    return lines


def quantizer_lines(mode) -> list[str]:
    """The recipe as statements on a variable ``qt`` (a ``litert_quantizer.Quantizer``)."""
    config = mode.settings.get("config")
    if config is None:
        return []
    if mode.name in RECIPE_FUNCTIONS:
        return [f"qt.load_quantization_recipe(recipe.{mode.name}())"]
    return [config_line(".*", config)]


def snippet(mode, keep, saved_model_dir: str, calibration_samples: str, calibration) -> str:
    """Plain code that reproduces ``mode`` (see :meth:`workbench.Mode.snippet`)."""
    from .calibration import Calibration

    calibration = Calibration.of(calibration)
    lines = ["import numpy as np", "import tensorflow as tf", ""]
    lines.append(
        "# What this code starts from: the model exported as a SavedModel (Keras 3: model.export(path))"
    )
    if mode.calibrated:
        lines[-1] += ","
        lines.append("# and a few hundred training inputs saved with np.save (float32, no batch axis).")
    lines.append(f"saved_model_dir = {saved_model_dir!r}")
    if mode.calibrated:
        lines.append(f"calibration_samples = np.load({calibration_samples!r})")
    lines.append("")
    if mode.calibrated and mode.backend == "converter":
        lines += [
            "def representative_dataset():",
            "    # A few hundred training samples, one at a time, as float32 with a batch axis.",
            "    for x in calibration_samples:",
            "        yield [x[None, ...].astype('float32')]",
            "",
        ]
    lines.append("converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir)")
    lines += converter_lines(mode)
    if mode.backend == "converter":
        lines += [
            "tflite_model = converter.convert()",
            f"open('model-{mode.key}.tflite', 'wb').write(tflite_model)",
        ]
        return "\n".join(lines) + "\n"
    return "\n".join(lines + _quantizer_part(mode, keep, calibration)) + "\n"


def _quantizer_part(mode, keep, calibration) -> list[str]:
    """After the float32 conversion: the recipe applied to its bytes, and the export."""
    configures = mode.name not in RECIPE_FUNCTIONS or bool(keep)
    lines = [
        "float_model = converter.convert()  # the float32 .tflite: LiteRT Quantizer's input",
        "",
        "from litert_quantizer import quantizer, recipe" + (", qtyping" if configures else ""),
    ]
    if configures:
        lines.append("from litert_quantizer.algorithm_manager import AlgorithmName")
    lines.append("qt = quantizer.Quantizer(bytearray(float_model))")
    lines += quantizer_lines(mode)
    if keep:
        lines.append("# The layers with the largest error, kept at higher precision:")
    for scope, precision in (keep or {}).items():
        if precision == "float":
            lines.append(f"qt.update_quantization_recipe({scope!r}, '*', algorithm_key='no_quantize')")
        else:
            lines.append(config_line(scope, kept_config(mode.settings["config"])))
    if mode.calibrated:
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
    lines.append(f"result.export_model('model-{mode.key}.tflite')")
    return lines


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


def config_line(regex: str, config: dict) -> str:
    """The ``litert_quantizer`` call that :meth:`workbench.Mode.quantizer` makes, as code."""
    granularity = f"qtyping.QuantGranularity.{LIBRARY_GRANULARITY[config['granularity']]}"
    algorithm = f"AlgorithmName.{config.get('algorithm', 'MIN_MAX_UNIFORM_QUANT')}"
    if config["kind"] == "static":
        args = f"{config['activation_num_bits']}, {config['num_bits']}"
    else:
        args = f"{config['num_bits']}"
    call = ADD_CONFIG.get(config["kind"], "add_static_config")
    return f"qt.{call}({regex!r}, '*', {args}, {granularity}, {algorithm})"


def workbench_snippet(mode, made_by: str, calibration_samples: str = "calibration_samples.npy") -> str:
    """Code that reproduces a variant the workbench builds itself (``made_by``, e.g. a tree
    ensemble's integer trees): neither TensorFlow's converter settings nor a LiteRT Quantizer
    recipe make it, ``workbench.convert`` does. It runs as pasted: the estimator is the
    function's argument."""
    lines = ["import numpy as np", "import workbench", ""]
    lines.append(f"def {mode.key.replace('-', '_')}_variant(estimator):")
    lines.append(f'    """{made_by} of the fitted scikit-learn ``estimator`` this report compared."""')
    if mode.calibrated:
        lines.append(f"    calibration_samples = np.load({calibration_samples!r})")
        lines.append(
            f"    return workbench.convert(estimator, {mode.name!r}, representative=calibration_samples)"
        )
    else:
        lines.append(f"    return workbench.convert(estimator, {mode.name!r})")
    return "\n".join(lines) + "\n"
