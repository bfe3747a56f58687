"""Activation ranges for LiteRT Quantizer's static recipes, computed the workbench's way.

Runs in the worker process (``_tasks._quantize``), beside the quantizer. See
``workbench.calibration`` for why the library's moving average is not the default.
"""

from __future__ import annotations

import numpy as np

from .calibration import Calibration

#: Values kept per tensor for a percentile (a fixed-seed sample of them beyond that), so that a
#: large model's calibration does not hold every activation of every sample.
PERCENTILE_VALUES_KEPT = 2_000_000


def calibrate(quantizer, content: bytes, data: dict[str, list[dict]], calibration: Calibration, threads: int):
    """The calibration result (``{tensor name: {"min": ..., "max": ...}}``) that
    ``quantizer.quantize`` takes, computed over every sample in ``data`` (samples by signature)."""
    if calibration.statistic == "ema":
        return quantizer.calibrate(data, num_threads=threads)
    from litert_quantizer import calibrator, recipe_manager
    from litert_quantizer.utils import qsv_utils

    # The recipe as the quantizer holds it, loaded into a manager of our own: the public way to
    # hand the library's calibrator an update function other than its moving average.
    manager = recipe_manager.RecipeManager()
    manager.load_quantization_recipe(quantizer.get_quantization_recipe())
    calib = calibrator.Calibrator(
        bytearray(content), num_threads=threads, qsv_update_func=qsv_utils.min_max_update
    )
    # Min and max do not depend on how samples are grouped: where every input takes a batch,
    # they go through in batches, which spares the library's per-sample walk over every tensor.
    calib.calibrate(batched(content, data), manager)
    qsvs = calib.get_model_qsvs()
    if calibration.statistic == "percentile":
        qsvs = _percentile_ranges(qsvs, content, data, calibration.percentile, threads)
    return qsvs


#: Calibration samples per invocation when the model takes a batch.
BATCH = 32


def batched(content: bytes, data: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """``data`` (one dict of inputs per sample, each with a batch axis of 1) in batches of
    ``BATCH`` for every signature whose inputs all take a batch of any size."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=bytes(content))
    grouped = {}
    for signature, samples in data.items():
        details = interpreter.get_signature_runner(signature).get_input_details()
        if not samples or not all(int(d["shape_signature"][0]) == -1 for d in details.values()):
            grouped[signature] = samples
            continue
        grouped[signature] = [
            {name: np.concatenate([s[name] for s in samples[i : i + BATCH]]) for name in samples[0]}
            for i in range(0, len(samples), BATCH)
        ]
    return grouped


def _percentile_ranges(qsvs: dict, content: bytes, data, percentile: float, threads: int) -> dict:
    """``qsvs`` with each per-tensor activation range narrowed to the given percentiles of
    every value the tensor took on the calibration samples (never wider than min/max)."""
    from litert_quantizer.utils import tfl_interpreter_utils as interpreter_utils

    interpreter = interpreter_utils.create_tfl_interpreter(bytes(content), num_threads=threads)
    wanted = {name for name, qsv in qsvs.items() if np.size(qsv.get("min", ())) == 1}
    seen: dict[str, list[np.ndarray]] = {name: [] for name in wanted}
    data = batched(content, data)
    count = sum(len(samples) for samples in data.values())
    per_sample = max(1, PERCENTILE_VALUES_KEPT // max(1, count))
    rng = np.random.default_rng(0)
    for signature, samples in data.items():
        subgraph = interpreter_utils.get_signature_main_subgraph_index(interpreter, signature)
        for sample in samples:
            interpreter_utils.invoke_interpreter_signature(interpreter, sample, signature)
            contents = interpreter_utils.get_tensor_name_to_content_map(interpreter, subgraph)
            for name in wanted.intersection(contents):
                values = np.asarray(contents[name], dtype=np.float64).ravel()
                if values.size > per_sample:
                    values = rng.choice(values, per_sample, replace=False)
                seen[name].append(values)
    narrowed = dict(qsvs)
    for name, chunks in seen.items():
        if not chunks:
            continue  # a tensor of another subgraph (a loop body): its min/max stays
        values = np.concatenate(chunks)
        low, high = np.percentile(values, [100 - percentile, percentile])
        qsv = qsvs[name]
        low = max(low, float(np.min(qsv["min"])))
        high = min(high, float(np.max(qsv["max"])))
        narrowed[name] = {
            **qsv,
            "min": np.full_like(np.asarray(qsv["min"]), low),
            "max": np.full_like(np.asarray(qsv["max"]), high),
        }
    return narrowed
