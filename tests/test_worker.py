"""The converter runs in its own process: a crash or a hang there never reaches the caller."""

import os
import signal
import threading
import time

import numpy as np
import pytest

import workbench
from workbench import ConversionError
from workbench._worker import shared_worker

pytestmark = pytest.mark.slow


def long_calibration(data, n=6000):
    """Enough int8 calibration samples that converting takes several seconds."""
    return np.repeat(data.X_train, n // len(data.X_train) + 1, axis=0)[:n]


def test_a_worker_killed_mid_conversion_is_a_clear_error_and_is_replaced(digits_cnn, digits_images):
    worker = shared_worker()
    workbench.convert(digits_cnn, "float32")  # a warm worker
    started = worker.started
    outcome = {}

    def convert():
        try:
            workbench.convert(digits_cnn, "int8", long_calibration(digits_images))
        except ConversionError as err:
            outcome["error"] = err

    thread = threading.Thread(target=convert)
    thread.start()
    time.sleep(1.5)
    pid = worker.pid
    assert pid is not None and thread.is_alive(), "the conversion ended before it could be interrupted"
    os.kill(pid, signal.SIGKILL)
    thread.join(60)
    error = outcome["error"]
    assert "killed by signal 9" in str(error) and "Nothing you had is lost" in str(error)
    # The caller is fine, and the next conversion gets a fresh worker.
    converted = workbench.convert(digits_cnn, "dynamic")
    assert converted.predict(digits_images.X_test[:3]).shape == (3, 10)
    assert worker.started == started + 1


def test_a_conversion_past_its_time_limit_is_stopped(digits_cnn, digits_images):
    with pytest.raises(ConversionError, match="time limit of 1 s") as info:
        workbench.convert(digits_cnn, "int8", long_calibration(digits_images), timeout=1)
    assert info.value.received.startswith("a conversion during which")
    assert workbench.convert(digits_cnn, "float32").size_bytes > 0


def test_converter_errors_still_come_back_as_the_converters_own(digits_mlp):
    import keras
    import tensorflow as tf

    model = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(tf.math.bessel_i0e)])
    with pytest.raises(workbench.UnsupportedOpsError) as info:
        workbench.convert(model)
    assert info.value.ops == ["BesselI0e"]
    assert shared_worker().pid is not None  # a converter error does not cost the worker
