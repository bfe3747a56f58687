"""Loading TensorFlow lazily and keeping its native log noise away from the user."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import threading

# Re-entrant: a captured block may call code that captures again (nested redirections restore in order).
_fd_lock = threading.RLock()


def import_tensorflow():
    """Import TensorFlow on first use, quietly, with an install hint if it is missing."""
    if "tensorflow" not in sys.modules:
        # Must be set before TensorFlow's C++ runtime starts; the user's own setting wins.
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    try:
        with captured_output():
            import tensorflow as tf
    except ImportError as err:
        from .errors import missing_package

        raise missing_package("TensorFlow", str(err), "to convert models to TFLite") from None
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)
    tf.get_logger().setLevel("ERROR")
    return tf


@contextlib.contextmanager
def captured_output(enabled: bool = True):
    """Capture what Python and native code print, at the file-descriptor level.

    Yields a list that receives the captured text when the block ends, so a caller can
    put the converter's last log lines into an error message. With ``enabled=False``
    everything passes through (``verbose=True``).
    """
    captured: list[str] = []
    if not enabled:
        yield captured
        return
    with _fd_lock, tempfile.TemporaryFile(mode="w+b") as sink:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(AttributeError, ValueError, io.UnsupportedOperation):
                stream.flush()
        saved = {fd: os.dup(fd) for fd in (1, 2)}
        py_sink = io.StringIO()
        try:
            for fd in (1, 2):
                os.dup2(sink.fileno(), fd)
            with contextlib.redirect_stdout(py_sink), contextlib.redirect_stderr(py_sink):
                yield captured
        finally:
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)
            sink.seek(0)
            native = sink.read().decode("utf-8", errors="replace")
            captured.append(py_sink.getvalue() + native)


def last_lines(text: str, n: int = 15) -> str:
    """The last ``n`` non-empty lines of a log."""
    lines = [line for line in text.splitlines() if line.strip()]
    return "\n".join(lines[-n:])
