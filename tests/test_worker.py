"""The converter runs in its own process: a crash, a hang or an interrupt there never reaches
the caller, and never hands back the answer to another request.

Conversions are held busy with gated calibration samples (``gates.py``), never by making
them long: nothing here depends on how fast the machine is.
"""

import _thread
import glob
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
from gates import GatedSamples

import workbench
from workbench import ConversionError, InvalidArgumentError
from workbench._worker import ConverterWorker, shared_worker
from workbench.convert import convert_source
from workbench.modes import Mode
from workbench.runtime import stored_tensor_types
from workbench.sources import as_source

pytestmark = pytest.mark.slow


@pytest.fixture
def gate(digits_images, tmp_path):
    gate = GatedSamples(digits_images.X_train[:50], tmp_path)
    yield gate
    gate.open()  # whatever happened, no worker waits on it any more


def test_a_worker_killed_mid_conversion_is_a_clear_error_and_is_replaced(digits_cnn, digits_images, gate):
    worker = shared_worker()
    source = as_source(digits_cnn)
    workbench.convert(digits_cnn, "float32")  # a warm worker
    started = worker.started
    outcome = {}

    def convert():
        try:
            convert_source(source, Mode("int8"), gate)
        except ConversionError as err:
            outcome["error"] = err

    thread = threading.Thread(target=convert)
    thread.start()
    gate.wait_until_started()  # the worker is calibrating, and will until the gate opens
    os.kill(worker.pid, signal.SIGKILL)
    thread.join(60)
    error = outcome["error"]
    assert "killed by signal 9" in str(error) and "Nothing you had is lost" in str(error)
    # The caller is fine, and the next conversion gets a fresh worker.
    converted = workbench.convert(digits_cnn, "dynamic")
    assert converted.predict(digits_images.X_test[:3]).shape == (3, 10)
    assert worker.started == started + 1


def test_a_conversion_past_its_time_limit_is_stopped(digits_cnn, gate):
    source = as_source(digits_cnn)
    # The gate never opens: the conversion can only end by its time limit.
    with pytest.raises(ConversionError, match="time limit of 1 s") as info:
        convert_source(source, Mode("int8"), gate, timeout=1)
    assert info.value.received.startswith("a conversion during which")
    assert workbench.convert(digits_cnn, "float16").size_bytes > 0


def test_an_interrupted_conversion_never_hands_its_answer_to_the_next_call(digits_cnn, digits_images, gate):
    """Ctrl-C in a notebook between sending a request and reading its answer."""
    worker = shared_worker()
    source = as_source(digits_cnn)
    started = worker.started

    def interrupt_when_calibrating():
        gate.wait_until_started()
        _thread.interrupt_main()  # what Ctrl-C does to the kernel's main thread

    threading.Thread(target=interrupt_when_calibrating, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        convert_source(source, Mode("int8"), gate)
    gate.open()  # had the int8 conversion survived, its answer would now be in the pipe
    assert worker.started == started  # replaced lazily, on the next call

    float16 = workbench.convert(digits_cnn, "float16")
    dynamic = workbench.convert(digits_cnn, "dynamic")
    int8 = workbench.convert(digits_cnn, "int8", digits_images.representative(100))
    assert "float16" in stored_tensor_types(float16.content)
    assert "int8" not in stored_tensor_types(float16.content)
    assert "int8" in stored_tensor_types(dynamic.content) and "float16" not in stored_tensor_types(
        dynamic.content
    )
    assert [t.dtype for t in dynamic.inputs] == ["float32"]
    assert [t.dtype for t in int8.inputs] == ["int8"]
    # The bytes are those each mode makes on its own: conversion is deterministic.
    assert workbench.convert(digits_cnn, "float16").content == float16.content
    assert worker.started == started + 1


def test_an_answer_to_another_request_is_discarded():
    worker = shared_worker()
    worker.call("ping", {})
    discarded = worker.discarded
    # An answer nobody waits for, as a request sent earlier and then abandoned would leave.
    worker._send.send((10**9, "ping", pickle.dumps({})))
    assert worker.call("ping", {})["result"] == "pong"
    assert worker.discarded == discarded + 2  # its acknowledgement and its answer


@pytest.mark.parametrize("timeout", [None, "abc", 0, -5, float("nan"), float("inf"), True])
def test_a_bad_time_limit_is_refused_before_anything_is_sent(digits_cnn, timeout):
    worker = shared_worker()
    worker.call("ping", {})
    pid = worker.pid
    with pytest.raises(InvalidArgumentError, match="timeout=") as info:
        workbench.convert(digits_cnn, "float16", timeout=timeout)
    assert info.value.fix
    assert worker.pid == pid  # the worker was not touched


def test_a_call_right_after_the_worker_was_killed_starts_a_fresh_one(digits_cnn):
    worker = shared_worker()
    worker.call("ping", {})
    os.kill(worker.pid, signal.SIGKILL)
    # No waiting: the worker may not even be reaped yet.
    assert workbench.convert(digits_cnn, "float16").size_bytes > 0


def test_the_workers_log_is_removed_when_the_process_ends(tmp_path):
    code = """
        import workbench
        from workbench._worker import shared_worker
        print(shared_worker().call("ping", {})["result"])
    """
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pong"
    assert glob.glob(str(tmp_path / "workbench-*.log")) == []


def test_converter_errors_still_come_back_as_the_converters_own(digits_mlp):
    import keras
    import tensorflow as tf

    model = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(tf.math.bessel_i0e)])
    with pytest.raises(workbench.UnsupportedOpsError) as info:
        workbench.convert(model)
    assert info.value.ops == ["BesselI0e"]
    assert shared_worker().pid is not None  # a converter error does not cost the worker


def test_an_idle_worker_ends_after_its_idle_time_and_the_next_request_starts_a_fresh_one():
    """Judged at given instants (``now=``), so nothing depends on how fast the machine is."""
    worker = ConverterWorker("idle-check", idle_timeout=120)
    try:
        assert worker.call("ping", {})["result"] == "pong"
        pid, started = worker.pid, worker.started
        assert not worker.release_if_idle(now=worker.last_used + 119)
        assert worker.pid == pid
        assert worker.release_if_idle(now=worker.last_used + 120)
        assert worker.pid is None and worker.released == 1
        with pytest.raises(OSError):
            os.kill(pid, 0)  # the process is gone, not only forgotten
        assert worker.call("ping", {})["result"] == "pong"
        assert worker.started == started + 1 and worker.pid not in (None, pid)
        # A request since the timer was set keeps the worker, whatever the clock says.
        assert not worker.release_if_idle(now=worker.last_used + 10**6, after_calls=worker._calls - 1)
        assert worker.pid is not None
    finally:
        worker.close()


def test_a_busy_worker_is_never_ended_for_being_idle(digits_cnn, gate):
    worker = shared_worker()
    source = as_source(digits_cnn)
    workbench.convert(digits_cnn, "float32")
    thread = threading.Thread(target=convert_source, args=(source, Mode("int8"), gate))
    thread.start()
    gate.wait_until_started()  # calibrating until the gate opens
    assert not worker.release_if_idle(now=worker.last_used + 10**6)
    gate.open()
    thread.join(120)
    assert worker.pid is not None


def test_a_worker_idle_for_exactly_its_limit_is_released():
    """The boundary: idle for exactly ``limit`` is idle enough, whatever float rounding does
    to ``(last_used + limit) - last_used`` (``(t + 0.2) - t`` is 0.1999999999998181 for some
    t); a hair less is not."""
    cases = [(0.2, 12345.678901), (0.1, 1e6 + 0.1), (1 / 3, 98765.4321), (300.0, 0.0), (7.7, 4321.0123)]
    for limit, last_used in cases:
        worker = ConverterWorker("idle-boundary", idle_timeout=limit)
        try:
            worker.call("ping", {})
            worker.last_used = last_used
            assert not worker.release_if_idle(now=np.nextafter(last_used + limit, -np.inf)), limit
            assert worker.pid is not None
            assert worker.release_if_idle(now=last_used + limit), (limit, last_used)
            assert worker.pid is None and worker.released == 1
        finally:
            worker.close()


def test_the_idle_timer_ends_the_worker_by_itself():
    worker = ConverterWorker("idle-timer", idle_timeout=0.2)
    try:
        worker.call("ping", {})
        for _ in range(600):  # up to a minute: only a timer that never fires fails this
            if worker.pid is None:
                break
            threading.Event().wait(0.1)
        assert worker.pid is None and worker.released == 1
    finally:
        worker.close()


@pytest.mark.parametrize("seconds", [0, -1, float("inf"), "5", True])
def test_a_bad_idle_timeout_is_refused(seconds):
    with pytest.raises(InvalidArgumentError, match="idle timeout") as info:
        workbench.set_worker_idle_timeout(seconds)
    assert "None" in info.value.fix


def test_the_idle_timeout_is_set_for_every_worker():
    from workbench import _worker

    before = _worker._idle_setting[0]
    assert before == _worker.DEFAULT_IDLE_TIMEOUT or "WORKBENCH_WORKER_IDLE_TIMEOUT" in os.environ
    try:
        workbench.set_worker_idle_timeout(42)
        assert shared_worker().idle_timeout == 42 and ConverterWorker("x").idle_timeout == 42
        workbench.set_worker_idle_timeout(None)
        assert shared_worker().idle_timeout is None
    finally:
        workbench.set_worker_idle_timeout(before)
