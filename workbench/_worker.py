"""Native code in a separate process, so that it can never take the caller down.

The TFLite converter, LiteRT Quantizer and the micro runtime are native code: they can
abort, segfault or hang their process. They therefore run in a long-lived worker process
(TensorFlow stays imported there, so a warm worker adds only the cost of sending the
model's description and the bytes back). If the worker dies or runs past its time limit,
the caller gets a ``ConversionError`` with the worker's last log lines, the worker is
replaced on the next call, and the caller's kernel, widget and results stay as they were.

The protocol cannot get out of step: every request carries an id, the worker echoes it
first as an acknowledgement and then with the answer, and an answer whose id is not the
one awaited is discarded. A call interrupted between sending and receiving (Ctrl-C in a
notebook, any exception) stops the worker, so no stale answer can ever be read as the
answer to a later request. This module knows only task names: the worker process runs
``python -m workbench._tasks``, whose serve loop answers them.
"""

from __future__ import annotations

import atexit
import itertools
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection

from ._native import last_lines
from .errors import InvalidArgumentError, WorkerCrashedError

DEFAULT_TIMEOUT = 300.0
#: Seconds a worker may sit idle before it ends (it starts again on the next request), so that
#: a student reading a notebook does not hold a converter's memory; see set_worker_idle_timeout.
DEFAULT_IDLE_TIMEOUT = 300.0
#: The module the worker process runs: its serve loop answers tasks by name.
SERVER = "workbench._tasks"


class WorkerCrashed(Exception):
    """Internal: the worker process ended or timed out; carries what it logged."""

    def __init__(self, reason: str, log: str):
        self.reason = reason
        self.log = log
        super().__init__(reason)


class _NotAccepted(Exception):
    """Internal: the worker died before it acknowledged a request, which therefore never ran."""


def check_timeout(timeout) -> float:
    """``timeout`` as a positive number of seconds, or an :class:`InvalidArgumentError`."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise InvalidArgumentError(
            received=f"timeout={timeout!r}",
            expected="A time limit in seconds, a number greater than 0.",
            fix=f"Leave timeout out for the default of {DEFAULT_TIMEOUT:g} s, or pass e.g. timeout=600.",
        )
    if timeout != timeout or timeout == float("inf"):
        raise InvalidArgumentError(
            received=f"timeout={timeout!r}",
            expected="A finite time limit in seconds.",
            fix="Pass a large finite number, e.g. timeout=3600.",
        )
    return float(timeout)


class ConverterWorker:
    """One worker process and the pipes to it, restarted whenever it is lost.

    Parameters
    ----------
    name : str, default="converter"
        What the process is called in error messages and in its temporary log's name.
    idle_timeout : float or None, default=None
        Seconds without a request after which the process ends (the next request starts a
        fresh one); ``None`` takes the process-wide setting (``set_worker_idle_timeout``).
    """

    def __init__(self, name: str = "converter", idle_timeout: float | None = None):
        self.name = name
        self._idle_timeout = None if idle_timeout is None else check_idle_timeout(idle_timeout)
        self._timer: threading.Timer | None = None
        self._calls = 0  # requests finished; an idle timer is for the count it was set at
        #: ``time.monotonic()`` when the last request finished.
        self.last_used = time.monotonic()
        self.released = 0  # how many times the process ended for being idle
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._send: Connection | None = None
        self._receive: Connection | None = None
        self._log_path: str | None = None
        self._ids = itertools.count(1)
        self.started = 0  # how many worker processes were started (1 + restarts)
        self.discarded = 0  # answers read that belonged to no awaited request

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    def call(self, task: str, payload: dict, timeout: float = DEFAULT_TIMEOUT):
        """Run ``task`` in the worker; returns its result or raises ``WorkerCrashed``."""
        timeout = check_timeout(timeout)
        with self._lock:
            try:
                return self._call(task, payload, timeout)
            except _NotAccepted:
                # The worker was already dead (e.g. killed a moment ago): the request never
                # started, so it is sent once more to a fresh worker.
                return self._call(task, payload, timeout, retry=False)
            finally:
                self._calls += 1
                self.last_used = time.monotonic()
                self._schedule_release()

    @property
    def idle_timeout(self) -> float | None:
        """Seconds of idleness after which the process ends; ``None``: it never does."""
        return self._idle_timeout if self._idle_timeout is not None else _idle_setting[0]

    def release_if_idle(self, now: float | None = None, *, after_calls: int | None = None) -> bool:
        """End the process if it has been idle for ``idle_timeout`` seconds at ``now``
        (``time.monotonic()``); a worker busy with a request is never ended. Returns whether
        it ended. The idle timer calls this (with ``after_calls``, the number of requests
        finished when it was set: any request since keeps the process); the next request
        starts a fresh process."""
        limit = self.idle_timeout
        if limit is None or not self._lock.acquire(blocking=False):
            return False
        try:
            now = time.monotonic() if now is None else now
            if after_calls is not None and after_calls != self._calls:
                return False
            # Compared with the deadline, not as ``now - last_used < limit``: the subtraction
            # rounds, so a worker idle for exactly its limit could be kept ((t + 0.2) - t < 0.2).
            if self.pid is None or now < self.last_used + limit:
                return False
            self.released += 1  # counted first: whoever sees the process gone sees it counted
            self._close_locked()
            return True
        finally:
            self._lock.release()

    def _schedule_release(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        limit = self.idle_timeout
        if limit is None or self.pid is None:
            self._timer = None
            return
        calls = self._calls

        def release():
            # Only if no request came in since: then it was idle for the whole time.
            self.release_if_idle(now=max(time.monotonic(), self.last_used + limit), after_calls=calls)

        self._timer = threading.Timer(limit, release)
        self._timer.daemon = True
        self._timer.start()

    def _call(self, task, payload, timeout, retry=True):
        # Pickled here, so that what cannot be sent fails before anything is in the pipe.
        message = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        self._ensure_started()
        request = next(self._ids)
        accepted = False
        try:
            try:
                self._send.send((request, task, message))
            except OSError:
                pass  # the worker is gone; found out below
            deadline = time.monotonic() + timeout
            while True:
                if self._receive.poll(0.05):
                    try:
                        answer_id, kind, value = self._receive.recv()
                    except (EOFError, OSError):
                        pass  # the worker died while answering; found out below
                    else:
                        if answer_id != request:
                            self.discarded += 1
                        elif kind == "accepted":
                            accepted = True
                        else:
                            return value
                code = self._process.poll()
                if code is not None:
                    log = self._log_tail()
                    self._discard()
                    if not accepted and retry:
                        raise _NotAccepted
                    reason = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
                    raise WorkerCrashed(f"the {self.name} process {reason}", log)
                if time.monotonic() > deadline:
                    log = self._log_tail()
                    self._stop()
                    raise WorkerCrashed(f"the {self.name} ran past its time limit of {timeout:g} s", log)
        except (WorkerCrashed, _NotAccepted):
            raise
        except BaseException:
            # Interrupted between sending and receiving: the answer would be left in the pipe
            # for the next caller. Stop the worker instead; the next call starts a fresh one.
            self._stop()
            raise

    def close(self) -> None:
        """End the worker process (politely, then by force) and remove its log."""
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._process is not None and self._process.poll() is None:
            try:
                self._send.send((0, "exit", b""))
                self._process.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self._process.kill()
                self._process.wait(10)
        self._discard()

    def _stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(10)
        self._discard()

    def _ensure_started(self) -> None:
        if self._process is not None and self._process.poll() is None:
            return
        self._discard()
        # A fresh interpreter (not multiprocessing's spawn, which would re-run the caller's
        # script), talking over two pipes; its stdout and stderr go to the log file.
        child_reads, parent_writes = os.pipe()
        parent_reads, child_writes = os.pipe()
        handle, self._log_path = tempfile.mkstemp(prefix=f"workbench-{self.name}-", suffix=".log")
        # The worker must run this very copy of the package, whatever the current directory.
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", SERVER, str(child_reads), str(child_writes)],
                pass_fds=(child_reads, child_writes),
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=handle,
                close_fds=True,
                env={**os.environ, "PYTHONPATH": path},
            )
        finally:
            os.close(handle)
            os.close(child_reads)
            os.close(child_writes)
        self._send = Connection(parent_writes, readable=False)
        self._receive = Connection(parent_reads, writable=False)
        self.started += 1

    def _log_tail(self) -> str:
        try:
            with open(self._log_path, encoding="utf-8", errors="replace") as handle:
                return last_lines(handle.read(), 20)
        except (OSError, TypeError):
            return ""

    def _discard(self) -> None:
        for connection in (self._send, self._receive):
            if connection is not None:
                connection.close()
        if self._log_path and os.path.exists(self._log_path):
            os.unlink(self._log_path)
        self._process, self._send, self._receive, self._log_path = None, None, None, None


def check_idle_timeout(seconds) -> float | None:
    """``seconds`` as a positive finite number, ``None`` (never end), or an InvalidArgumentError."""
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds < float("inf"):
        raise InvalidArgumentError(
            received=f"idle timeout {seconds!r}",
            expected="Seconds a worker may stay idle: a finite number greater than 0, or None to keep it.",
            fix=f"Pass e.g. 120 (the default is {DEFAULT_IDLE_TIMEOUT:g} s), or None on a machine of your own.",
        )
    return float(seconds)


def _idle_from_environment() -> float | None:
    value = os.environ.get("WORKBENCH_WORKER_IDLE_TIMEOUT", "").strip()
    if not value:
        return DEFAULT_IDLE_TIMEOUT
    if value.lower() == "none":
        return None
    try:
        return check_idle_timeout(float(value))
    except ValueError:
        return check_idle_timeout(value)


#: The process-wide idle timeout (a one-item list, so that timers read the current value).
_idle_setting: list[float | None] = [_idle_from_environment()]


def set_worker_idle_timeout(seconds: float | None) -> None:
    """How long the converter and quantizer workers may stay idle before they end.

    An idle worker holds TensorFlow's memory (about 0.8 GB for a small model); ending it
    after a few minutes lets a server hold more students. The next conversion starts a
    fresh worker (a few seconds). The environment variable
    ``WORKBENCH_WORKER_IDLE_TIMEOUT`` sets the same at start-up (``none`` keeps them).

    Parameters
    ----------
    seconds : float or None
        Seconds without a request (default 300); ``None`` keeps workers until the end.
    """
    _idle_setting[0] = check_idle_timeout(seconds)
    with _shared_lock:
        workers = list(_shared.values())
    for worker in workers:
        with worker._lock:
            worker._schedule_release()


_shared: dict[str, ConverterWorker] = {}
_shared_lock = threading.Lock()


def shared_worker(name: str = "converter") -> ConverterWorker:
    """The process-wide worker of that name, started on first use."""
    with _shared_lock:
        if name not in _shared:
            _shared[name] = ConverterWorker(name)
        return _shared[name]


@atexit.register
def _close_all() -> None:
    for worker in list(_shared.values()):
        worker.close()


def run(
    task: str,
    payload: dict,
    timeout: float = DEFAULT_TIMEOUT,
    what: str = "conversion",
    worker: str = "converter",
):
    """Run a task in a shared worker; a crash or time-out becomes a WorkerCrashedError."""
    try:
        return shared_worker(worker).call(task, payload, timeout)
    except WorkerCrashed as crash:
        raise WorkerCrashedError(
            received=f"a {what} during which {crash.reason}",
            expected=f"A {worker} that finishes and answers.",
            fix=(
                f"Nothing you had is lost and the next call starts a fresh {worker} process. If it "
                "happens again for this model and mode, read the last lines of its log (.log) and "
                "try another mode, or raise the time limit with timeout=."
            ),
            log=crash.log,
        ) from None
