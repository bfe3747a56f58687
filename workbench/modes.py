"""The quantization modes: one table of converter settings, read by conversion and teaching alike.

Nothing else in the package branches on a mode's name: :func:`workbench.convert` applies
``Mode.settings``, and :meth:`Mode.snippet` prints the same settings as plain
``tf.lite.TFLiteConverter`` code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import UnknownModeError

# Values are names inside ``tf.lite`` / ``tf`` so this module never imports TensorFlow.
_TABLE: dict[str, dict] = {
    "float32": {
        "title": "float32 (no quantization)",
        "description": "Weights and activations stay 32-bit float; the reference conversion.",
        "optimizations": (),
        "supported_types": (),
        "supported_ops": ("TFLITE_BUILTINS",),
        "calibrated": False,
        "io_types": ("float32",),
    },
    "float16": {
        "title": "float16 weights",
        "description": "Weights stored as 16-bit float (half the size); computed in float32 on CPU.",
        "optimizations": ("DEFAULT",),
        "supported_types": ("float16",),
        "supported_ops": ("TFLITE_BUILTINS",),
        "calibrated": False,
        "io_types": ("float32",),
    },
    "dynamic": {
        "title": "dynamic range (int8 weights)",
        "description": (
            "Weights stored as int8; activations quantized on the fly where kernels allow. "
            "No calibration data needed."
        ),
        "optimizations": ("DEFAULT",),
        "supported_types": (),
        "supported_ops": ("TFLITE_BUILTINS",),
        "calibrated": False,
        "io_types": ("float32",),
    },
    "int8": {
        "title": "full integer (int8)",
        "description": (
            "Weights and activations int8, calibrated on a representative dataset; "
            "runs on integer-only hardware (microcontrollers, NPUs, Edge TPU)."
        ),
        "optimizations": ("DEFAULT",),
        "supported_types": (),
        "supported_ops": ("TFLITE_BUILTINS_INT8",),
        "calibrated": True,
        "io_types": ("int8", "uint8", "float32"),
    },
    "int16x8": {
        "title": "16-bit activations, 8-bit weights",
        "description": (
            "int8 weights with int16 activations, calibrated; more accurate than int8 "
            "where activations have a wide range, with fewer kernels available."
        ),
        "optimizations": ("DEFAULT",),
        "supported_types": (),
        "supported_ops": ("EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8",),
        "calibrated": True,
        "io_types": ("float32", "int16"),
    },
}

MODE_NAMES: tuple[str, ...] = tuple(_TABLE)


@dataclass(frozen=True)
class Mode:
    """A quantization mode and its converter settings.

    Parameters
    ----------
    name : {"float32", "float16", "dynamic", "int8", "int16x8"}
        The mode.
    io : str, default=None
        The type of the model's input and output tensors. ``None`` takes the mode's
        default: ``int8`` for full-integer (deployable on integer-only hardware),
        ``float32`` otherwise. ``int8`` also takes ``uint8`` and ``float32``;
        ``int16x8`` takes ``int16``.

    Examples
    --------
    >>> Mode("int8", io="float32").label
    'int8 (float32 io)'
    """

    name: str
    io: str | None = None
    settings: dict = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self):
        if isinstance(self.name, Mode):
            raise UnknownModeError(
                "a Mode object as the name", "A mode name as a string.", "Pass Mode(...) directly."
            )
        if self.name not in _TABLE:
            raise UnknownModeError(
                received=f"mode={self.name!r}",
                expected=f"Expected one of {', '.join(MODE_NAMES)}.",
                fix="Pick one of those names, e.g. mode='int8'.",
            )
        row = _TABLE[self.name]
        io = row["io_types"][0] if self.io is None else self.io
        if io not in row["io_types"]:
            raise UnknownModeError(
                received=f"io={self.io!r} for mode {self.name!r}",
                expected=f"Mode {self.name!r} takes io in {', '.join(row['io_types'])}.",
                fix=f"Use io={row['io_types'][0]!r} or leave it out.",
            )
        object.__setattr__(self, "io", io)
        object.__setattr__(self, "settings", row)

    @classmethod
    def of(cls, mode: str | Mode) -> Mode:
        """Return ``mode`` as a :class:`Mode`, accepting a name or a ``Mode``."""
        if isinstance(mode, Mode):
            return mode
        if not isinstance(mode, str):
            raise UnknownModeError(
                received=f"mode={mode!r} ({type(mode).__name__})",
                expected=f"Expected a mode name, one of {', '.join(MODE_NAMES)}, or a Mode.",
                fix="Pass a string such as 'int8'.",
            )
        name, _, io = mode.partition(":")
        return cls(name, io or None)

    @property
    def calibrated(self) -> bool:
        """Whether the mode needs a representative dataset."""
        return self.settings["calibrated"]

    @property
    def default_io(self) -> bool:
        return self.io == self.settings["io_types"][0]

    @property
    def label(self) -> str:
        """The name shown in tables and plots: the mode, and its I/O type when not the default."""
        return self.name if self.default_io else f"{self.name} ({self.io} io)"

    @property
    def key(self) -> str:
        """A short unique string for file names and caches, e.g. ``int8`` or ``int8-float32io``."""
        return self.name if self.default_io else f"{self.name}-{self.io}io"

    @property
    def title(self) -> str:
        return self.settings["title"]

    @property
    def description(self) -> str:
        return self.settings["description"]

    def converter_lines(self) -> list[str]:
        """The settings as statements on a variable ``converter`` (no imports, no source)."""
        row = self.settings
        lines = []
        if row["optimizations"]:
            opts = ", ".join(f"tf.lite.Optimize.{o}" for o in row["optimizations"])
            lines.append(f"converter.optimizations = [{opts}]")
        if row["supported_types"]:
            types = ", ".join(f"tf.{t}" for t in row["supported_types"])
            lines.append(f"converter.target_spec.supported_types = [{types}]")
        if row["calibrated"]:
            lines.append("converter.representative_dataset = representative_dataset")
        if row["supported_ops"] != ("TFLITE_BUILTINS",):
            ops = ", ".join(f"tf.lite.OpsSet.{o}" for o in row["supported_ops"])
            lines.append(f"converter.target_spec.supported_ops = [{ops}]")
        if self.io != "float32":
            lines.append(f"converter.inference_input_type = tf.{self.io}")
            lines.append(f"converter.inference_output_type = tf.{self.io}")
        return lines

    def snippet(self, source: str = "saved_model_dir") -> str:
        """Plain TensorFlow code that reproduces this conversion, for teaching and for scripts.

        Parameters
        ----------
        source : str, default="saved_model_dir"
            The expression naming the exported SavedModel directory.
        """
        lines = ["import tensorflow as tf", ""]
        if self.calibrated:
            lines += [
                "def representative_dataset():",
                "    # A few hundred training samples, one at a time, as float32 with a batch axis.",
                "    for x in calibration_samples:",
                "        yield [x[None, ...].astype('float32')]",
                "",
            ]
        lines.append(f"converter = tf.lite.TFLiteConverter.from_saved_model({source})")
        lines += self.converter_lines()
        lines += [
            "tflite_model = converter.convert()",
            f"open('model-{self.key}.tflite', 'wb').write(tflite_model)",
        ]
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.label


def parse_modes(modes) -> list[Mode]:
    """Turn a mode, a name, or a sequence of them into a list of distinct :class:`Mode`."""
    if isinstance(modes, (str, Mode)):
        modes = [modes]
    result: list[Mode] = []
    for mode in modes:
        parsed = Mode.of(mode)
        if parsed not in result:
            result.append(parsed)
    if not result:
        raise UnknownModeError(
            received="an empty list of modes",
            expected=f"At least one of {', '.join(MODE_NAMES)}.",
            fix="Pass modes=('float32', 'int8') or leave modes out for all five.",
        )
    return result
