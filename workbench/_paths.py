"""Paths checked at the door: files to read exist and are files; output paths can be written,
before the work, so that a bad path never costs a finished run."""

from __future__ import annotations

import os

from .errors import OutputPathError


def prepare_directory(path) -> str:
    """Make sure ``path`` is a directory this process can write into (creating it)."""
    path = _as_path(path, "directory")
    if os.path.exists(path) and not os.path.isdir(path):
        raise OutputPathError(
            received=f"{path!r}, which is a file",
            expected="A directory for the report (it is created if missing).",
            fix="Pass a directory name, e.g. 'workbench-report', or remove the file.",
        )
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as err:
        raise write_failed(path, err) from None
    if not os.access(path, os.W_OK):
        raise OutputPathError(
            received=f"{path!r}, which this process may not write into",
            expected="A writable directory.",
            fix="Pick another directory, or change its permissions.",
        )
    return path


def prepare_file(path, suffix: str) -> str:
    """Make sure ``path`` names a file that can be written (creating its directory)."""
    path = _as_path(path, "file")
    if os.path.isdir(path):
        raise OutputPathError(
            received=f"{path!r}, which is a directory",
            expected=f"A file name ending in {suffix}.",
            fix=f"Pass a file inside it, e.g. {os.path.join(path, 'model' + suffix)!r}.",
        )
    directory = os.path.dirname(os.path.abspath(path))
    prepare_directory(directory)
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise OutputPathError(
            received=f"{path!r}, which exists and may not be overwritten",
            expected="A file this process can write.",
            fix="Pick another name, or change the file's permissions.",
        )
    return path


def write_failed(directory: str, err: OSError) -> OutputPathError:
    """The error for a directory that could not be made or written into (nothing else is lost)."""
    where = f"{err.strerror or err}" + (
        f": {err.filename}" if err.filename and err.filename != directory else ""
    )
    return OutputPathError(
        received=f"{directory!r}, where writing failed ({where})",
        expected="A directory this process can create and write into, with room for the files.",
        fix="Pick a directory under your home or working directory; what was computed is unchanged.",
    )


def _as_path(path, what: str) -> str:
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise OutputPathError(
            received=f"{path!r} as the output {what}",
            expected=f"A path (a string or pathlib.Path) naming a {what}.",
            fix="Pass e.g. 'workbench-report' or 'model.tflite'.",
        )
    return os.fspath(path)


def existing_file(path, error: type, kind: str, check: str = "Check the path.") -> str:
    """``path`` as a string, when it names a file that exists; else ``error`` saying which.

    Parameters
    ----------
    path : str or os.PathLike
        What the user passed.
    error : type
        The :class:`~workbench.errors.WorkbenchError` subclass to raise (``ModelLoadError`` for a
        model file, ``DatasetError`` for data).
    kind : str
        What the file should be, as the message says it: ``"A .tflite file"``.
    check : str, default="Check the path."
        The fix when nothing exists there.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise error(
            received=f"path {path!r}, which is a directory",
            expected=f"{kind}.",
            fix=f"Pass the path of the {kind.split(' ', 1)[-1]} inside it.",
        )
    if not os.path.isfile(path):
        raise error(received=f"path {path!r}, which does not exist", expected=f"{kind}.", fix=check)
    return path
