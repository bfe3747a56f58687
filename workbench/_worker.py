"""The TFLite converter in a separate process, so that it can never take the caller down.

The converter is native code: it can abort, segfault or hang its process. Conversion
therefore runs in one long-lived worker process (TensorFlow stays imported there, so a
warm worker adds only the cost of sending the model's description and the bytes back).
If the worker dies or runs past its time limit, the caller gets a ``ConversionError``
with the converter's last log lines, the worker is replaced on the next call, and the
caller's kernel, widget and results stay as they were.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection

from ._native import last_lines
from .errors import ConversionError

DEFAULT_TIMEOUT = 300.0


class WorkerCrashed(Exception):
    """Internal: the worker process ended or timed out; carries what it logged."""

    def __init__(self, reason: str, log: str):
        self.reason = reason
        self.log = log
        super().__init__(reason)


class ConverterWorker:
    def __init__(self):
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._send: Connection | None = None
        self._receive: Connection | None = None
        self._log_path: str | None = None
        self.started = 0  # how many worker processes were started (1 + restarts)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    def call(self, task: str, payload: dict, timeout: float = DEFAULT_TIMEOUT):
        """Run ``task`` in the worker; returns its result or raises ``WorkerCrashed``."""
        with self._lock:
            self._ensure_started()
            try:
                self._send.send((task, payload))
            except OSError:
                pass  # the worker is gone; reported below
            deadline = time.monotonic() + timeout
            while True:
                if self._receive.poll(0.05):
                    try:
                        return self._receive.recv()
                    except (EOFError, OSError):
                        pass  # the worker died while answering; reported below
                code = self._process.poll()
                if code is not None:
                    log = self._log_tail()
                    self._discard()
                    reason = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
                    raise WorkerCrashed(f"the converter process {reason}", log)
                if time.monotonic() > deadline:
                    log = self._log_tail()
                    self._process.kill()
                    self._process.wait(10)
                    self._discard()
                    raise WorkerCrashed(f"the converter ran past its time limit of {timeout:g} s", log)

    def close(self) -> None:
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                try:
                    self._send.send(("exit", {}))
                    self._process.wait(5)
                except (OSError, subprocess.TimeoutExpired):
                    self._process.kill()
            self._discard()

    def _ensure_started(self) -> None:
        if self._process is not None and self._process.poll() is None:
            return
        self._discard()
        # A fresh interpreter (not multiprocessing's spawn, which would re-run the caller's
        # script), talking over two pipes; its stdout and stderr go to the log file.
        child_reads, parent_writes = os.pipe()
        parent_reads, child_writes = os.pipe()
        handle, self._log_path = tempfile.mkstemp(prefix="workbench-converter-", suffix=".log")
        # The worker must run this very copy of the package, whatever the current directory.
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "workbench._worker", str(child_reads), str(child_writes)],
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


_shared: ConverterWorker | None = None
_shared_lock = threading.Lock()


def shared_worker() -> ConverterWorker:
    """The process-wide worker, started on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ConverterWorker()
        return _shared


def run(task: str, payload: dict, timeout: float = DEFAULT_TIMEOUT, what: str = "conversion"):
    """Run a task in the shared worker; a crash or time-out becomes a ConversionError."""
    try:
        return shared_worker().call(task, payload, timeout)
    except WorkerCrashed as crash:
        raise ConversionError(
            received=f"a {what} during which {crash.reason}",
            expected="A converter that finishes and answers.",
            fix=(
                "Nothing you had is lost and the next conversion starts a fresh converter. If it "
                "happens again for this model and mode, read the converter's last lines (.log) and "
                "try another mode, or raise the time limit with timeout=."
            ),
            log=crash.log,
        ) from None


# ----------------------------------------------------------------- in the worker
def _serve(receive_fd: int, send_fd: int) -> None:  # pragma: no cover -- runs in the worker
    from . import _tasks

    receive = Connection(receive_fd, writable=False)
    send = Connection(send_fd, readable=False)
    while True:
        try:
            task, payload = receive.recv()
        except (EOFError, OSError):
            return
        if task == "exit":
            return
        send.send(_tasks.dispatch(task, payload))


if __name__ == "__main__":  # pragma: no cover
    _serve(int(sys.argv[1]), int(sys.argv[2]))
