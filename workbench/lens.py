"""One layer of one variant, for teaching: its grid, range, clipping and formula.

Every number is read from the files and the data the comparison already has: the
variant's ``.tflite`` gives the stored integers ``q``, their ``scale`` and ``zero_point``
(per channel where the file has them per channel) and, for a variant with integer
activations, the calibrated range of the layer's output; the float32 ``.tflite`` gives
the float weights and, run on the calibration samples and on the test split, the float
activations. The layer's error comes from the same place as :func:`workbench.diagnose`
takes it: LiteRT Quantizer's validation for recipes, the TFLite quantization debugger
for the converter's ``int8``.

Only LiteRT runs here (and LiteRT Quantizer, in the worker, for a recipe's error): no
TensorFlow, in this process or any other, except for the converter's debugger.

The pieces: :mod:`workbench._lens_file` opens the files and lines them up op for op,
:mod:`workbench._layers` names the layers, :mod:`workbench._lens_table` computes the numbers,
:mod:`workbench._layer_lens` builds the :class:`Lens`, :mod:`workbench._layer_errors` ranks
the layers and :mod:`workbench._calibration_study` compares calibration sets.
"""

from __future__ import annotations

from ._calibration_study import CalibrationStudy, calibration_lens
from ._layer_errors import layer_errors
from ._layer_lens import Lens, build_lens
from ._layers import layer_names
from ._lens_file import samples_key

__all__ = [
    "CalibrationStudy",
    "Lens",
    "build_lens",
    "calibration_lens",
    "layer_errors",
    "layer_names",
    "lens",
    "remember",
    "samples_key",
]


def lens(comparison, variant: str, layer: str | None = None, *, channels: int = 4) -> Lens:
    """One layer of one variant of a comparison, drawn from the files and the data.

    Parameters
    ----------
    comparison : Comparison
        From :func:`workbench.compare`; it holds the variant's ``.tflite``, the model and the
        calibration samples.
    variant : str
        A variant label of the comparison (``"int8"``, ``"static_wi8_ai8"``, ...).
    layer : str, default=None
        The user's layer name (a Keras layer; ``coefs_[0]`` for a scikit-learn MLP,
        ``coef_`` for a linear model). ``None`` takes the layer with the largest
        quantization error (see :func:`layer_errors`).
    channels : int, default=4
        How many of the worst channels (1 to 4) are drawn as small multiples when the
        file's scales are per channel or per block.

    Returns
    -------
    Lens
        ``.plot()`` the figure, ``.table`` its numbers.
    """
    return remember(comparison, build_lens(comparison, variant, layer, channels))


def remember(comparison, found: Lens) -> Lens:
    """Keep ``found`` on the comparison: its report shows every lens drawn on it."""
    comparison.lenses[(found.variant, found.layer)] = found
    return found
