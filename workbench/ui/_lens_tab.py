"""The workbench's Lens tab without widgets: which variants and layers it offers, and each
lens drawn once, cached, and drawn ahead in the background for the layers not picked yet.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable

from .._lru import LRU
from ..compare import Comparison
from ..errors import InvalidArgumentError, WorkbenchError

#: How many drawn lenses are kept (a model's layers for a few variants and calibrations).
LENSES_KEPT = 64
#: Variants whose weights the lens can draw: those stored as integers.
_INTEGER_TYPES = {"int8", "int4", "int2", "uint8", "int16"}


class LensTab:
    """Lenses on the comparison the controller holds now.

    Parameters
    ----------
    comparison : callable
        Returns the comparison now shown (``None`` before any run).
    """

    def __init__(self, comparison: Callable[[], Comparison | None]):
        self._comparison = comparison
        #: Drawn lenses by (variant bytes, variant, calibration samples, layer).
        self.drawn: LRU = LRU(LENSES_KEPT)
        self._errors: dict[tuple, object] = {}
        # One lens at a time: the files' interpreters are shared, and drawing is not thread-safe.
        self._lock = threading.RLock()
        self._warming: tuple | None = None

    def variants(self) -> list[str]:
        """The measured variants with integer weights: those the lens can draw."""
        from ..runtime import stored_tensor_types

        comparison = self._comparison()
        if comparison is None:
            return []
        return [
            label
            for label, converted in comparison.variants.items()
            if _INTEGER_TYPES & set(stored_tensor_types(converted.content))
        ]

    def layers(self, variant: str) -> list[str]:
        """``variant``'s layers with weights, largest quantization error first."""
        from ..lens import layer_errors

        comparison = self._measured()
        key = (_digest(comparison.variants[variant].content), variant)
        if key not in self._errors:
            self._errors[key] = layer_errors(comparison, variant)
        comparison.layer_errors[variant] = self._errors[key]
        return list(self._errors[key]["layer"])

    def lens(self, variant: str, layer: str | None = None, *, shown: bool = True):
        """The lens on one layer of a measured variant, cached by the variant's bytes, the
        calibration samples and the layer. A lens ``shown`` goes into the comparison's report."""
        from ..lens import build_lens, remember, samples_key

        with self._lock:
            comparison = self._measured()
            layers = self.layers(variant)
            layer = layer or (layers[0] if layers else None)
            calibration = None if comparison.calibration is None else samples_key(comparison.calibration)
            key = (_digest(comparison.variants[variant].content), variant, calibration, layer)

            def draw():
                found = build_lens(comparison, variant, layer, 4)
                found.png()  # rendered now, in the background when warming: picking it is instant
                return found

            found = self.drawn.get_or_make(key, draw)
            return remember(comparison, found) if shown else found

    def warm(self, variant: str) -> threading.Thread:
        """Draw every layer of ``variant`` in the background; returns the thread."""
        comparison = self._comparison()
        warming = self._warming
        if warming is not None and warming[0] == (id(comparison), variant) and warming[1].is_alive():
            return warming[1]

        def draw():
            for layer in self.layers(variant):
                if self._comparison() is not comparison:
                    return  # a new run: its own layers will be drawn
                try:
                    self.lens(variant, layer, shown=False)
                except WorkbenchError:
                    continue  # the tab says why when that layer is picked

        thread = threading.Thread(target=draw, daemon=True, name="workbench-lens")
        self._warming = ((id(comparison), variant), thread)
        thread.start()
        return thread

    def _measured(self) -> Comparison:
        comparison = self._comparison()
        if comparison is None:
            raise InvalidArgumentError(
                received="a lens before any run",
                expected="A measured comparison to look into.",
                fix="Press Run first, with at least one quantized mode picked.",
            )
        return comparison


def _digest(content: bytes) -> str:
    return hashlib.sha1(content).hexdigest()
