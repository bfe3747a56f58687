"""Calibration samples that hold the converter busy until a test lets it go.

The converter iterates a representative dataset in its own process; iterating these
samples there creates ``started`` after the first sample and then waits for ``release`` to
exist. A test therefore knows, without timing anything, that a conversion is under way,
and it decides when (or whether) the conversion may go on. The worker imports this module
by name: ``conftest.py`` puts this folder on the worker's ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import time

import numpy as np

#: Longest a gate waits for its release before letting the conversion go on anyway.
LONGEST_WAIT_S = 600.0


class GatedSamples:
    """Real calibration samples whose iteration pauses after the first one until released."""

    def __init__(self, samples: np.ndarray, directory):
        self.samples = np.asarray(samples, dtype=np.float32)
        self.started = os.path.join(os.fspath(directory), "started")
        self.release = os.path.join(os.fspath(directory), "release")

    def __len__(self) -> int:
        return len(self.samples)

    def __iter__(self):
        for i, sample in enumerate(self.samples):
            yield sample
            if i == 0:
                open(self.started, "w").close()
                deadline = time.monotonic() + LONGEST_WAIT_S
                while not os.path.exists(self.release) and time.monotonic() < deadline:
                    time.sleep(0.01)

    def wait_until_started(self, timeout: float = 300.0) -> None:
        """Block until the worker is inside the calibration (the first sample was taken)."""
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.started):
            if time.monotonic() > deadline:
                raise AssertionError("the conversion never reached its calibration")
            time.sleep(0.01)

    def open(self) -> None:
        open(self.release, "w").close()
