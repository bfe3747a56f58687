"""Keras 3 and tf_keras models, ``.keras`` files and SavedModel directories."""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import zipfile
from collections import Counter, OrderedDict

import numpy as np

from .. import _inputs
from .._native import captured_output, import_tensorflow
from ..errors import DataMismatchError, ModelLoadError, refused_by
from . import Source, module_root

_BATCH = 256


class KerasSource(Source):
    """A Keras model (never modified), or a SavedModel loaded for reference outputs."""

    kind = "keras"

    def __init__(self, model, *, name: str | None = None, path: str | None = None, output=None):
        self.model = model
        self.flavour = module_root(model)  # "keras" (Keras 3) or "tf_keras"
        self.name = name or getattr(model, "name", None) or "keras_model"
        self.path = path
        self._saved_model_dir: str | None = None
        self._fingerprint: str | None = None
        inputs = _model_inputs(model)
        self.input_names = [getattr(t, "name", None) or f"input_{i}" for i, t in enumerate(inputs)]
        shapes = [tuple(int(d) if d is not None else -1 for d in t.shape[1:]) for t in inputs]
        # Keras 3 states dtypes as strings, tf_keras as tf.DType (whose str() numpy cannot read).
        dtypes = [
            str(getattr(getattr(t, "dtype", "float32"), "name", getattr(t, "dtype", "float32")))
            for t in inputs
        ]
        if len(inputs) == 1:
            self.input_shape, self.input_dtype = shapes[0], dtypes[0]
        else:
            # Several inputs: samples are dicts of arrays by input name (see workbench._inputs).
            self.input_shape = dict(zip(self.input_names, shapes, strict=True))
            self.input_dtype = dict(zip(self.input_names, dtypes, strict=True))
        self.fixed_batch = inputs[0].shape[0]
        self._outputs_by_label = _output_signature_names(model)
        self.output_labels = tuple(self._outputs_by_label)
        self.output_names = tuple(self._outputs_by_label.values())
        self.select_output(output)
        self.recurrent = _recurrent_layers(model)
        self.notes = []
        if self.recurrent and len(inputs) > 1:
            raise ModelLoadError(
                received=f"a model with recurrent layers ({', '.join(self.recurrent)}) and {len(inputs)} inputs",
                expected="A recurrent model with one input: those are exported with a fixed batch to convert to builtins.",
                fix="Convert the recurrent part as a model of its own, or merge the inputs into one tensor.",
            )
        if self.recurrent:
            if -1 in self.input_shape:
                raise ModelLoadError(
                    received=(
                        f"a model with recurrent layers ({', '.join(self.recurrent)}) and input shape "
                        f"{('batch', *self.input_shape)}".replace("-1", "None")
                    ),
                    expected="A fixed sequence length: TFLite builtins run recurrent layers on static shapes.",
                    fix="Give the Input a fixed length, e.g. keras.Input((20, 8)), and pad or cut sequences to it.",
                )
            # Exported with a dynamic batch, recurrent layers need TensorList ops (Flex, which
            # LiteRT's Python interpreter cannot run); with a batch of 1 they become a WHILE loop
            # of builtins.
            self.fixed_batch = 1
            self.notes.append(
                f"Recurrent layers ({', '.join(self.recurrent)}) are exported with a fixed batch of 1 so "
                "that they convert to TFLite builtins (a WHILE loop); the .tflite takes one sample per "
                "call, and its batched latency is a loop over samples."
            )

    def use_output(self, label: str) -> None:
        """Score ``label``, one of the model's outputs as Keras orders them."""
        self.primary_output = self._outputs_by_label[label]

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_file(cls, path: str) -> KerasSource:
        tf = import_tensorflow()  # noqa: F841 -- Keras needs its backend loaded first
        import keras

        if path.lower().endswith(".keras") and not zipfile.is_zipfile(path):
            size = os.path.getsize(path)
            raise ModelLoadError(
                received=(
                    f"{path!r}, which exists but is not a complete .keras file "
                    f"({'empty' if size == 0 else f'{size:,} bytes that are not a zip archive'})"
                ),
                expected="A .keras file as model.save('model.keras') writes it: a zip archive.",
                fix="The file was cut short or is something else: save or copy the model again.",
            )
        h5 = path.lower().endswith(".h5")
        if h5:
            _check_h5_has_model(path)
        try:
            with captured_output():
                model = keras.saving.load_model(path, compile=False)
        except (ValueError, OSError, KeyError, TypeError, EOFError) as err:
            keras3 = f"{type(err).__name__}: {_first_line(err)}"
            if not h5:
                raise ModelLoadError(
                    received=f"{path!r}, which Keras cannot load ({keras3})",
                    expected="A model saved with model.save('model.keras').",
                    fix=(
                        "Check that the file is complete and was saved by Keras; a model with custom "
                        "layers must have them registered with @keras.saving.register_keras_serializable."
                    ),
                ) from None
            # Keras 2 files (TF 2.x Keras, Teachable Machine) often hold configs Keras 3 rejects,
            # e.g. DepthwiseConv2D's 'groups' (keras-team/keras#19151): tf_keras reads them as written.
            model = _load_with_tf_keras(path, keras3)
        name = os.path.splitext(os.path.basename(path))[0]
        source = cls(model, name=name, path=path)
        if source.flavour == "tf_keras":
            source.notes.append(
                f"{os.path.basename(path)} is a Keras 2 file that Keras 3 cannot deserialize; it was loaded "
                "with tf_keras (Keras 2) and converted the same way."
            )
        return source

    @classmethod
    def from_saved_model(cls, path: str) -> SavedModelSource:
        return SavedModelSource(path)

    # --------------------------------------------------------------- reference
    def predict(self, X: np.ndarray) -> np.ndarray:
        n = _inputs.count(X)
        outputs = [self._call(_inputs.take(X, slice(i, i + _BATCH))) for i in range(0, n, _BATCH)]
        return np.concatenate(outputs) if outputs else np.zeros((0, 1), np.float32)

    def predict_one(self, x):
        return self.model(x, training=False)

    def _call(self, x) -> np.ndarray:
        return self._outputs(x)[self.output]

    def predict_outputs(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Every output of the original model for ``X``, by name, in Keras's order."""
        parts = [
            self._outputs(_inputs.take(X, slice(i, i + _BATCH))) for i in range(0, _inputs.count(X), _BATCH)
        ]
        return {label: np.concatenate([p[label] for p in parts]) for label in self.output_labels}

    def _outputs(self, x) -> dict[str, np.ndarray]:
        out = self.model(x, training=False)
        if isinstance(out, dict):
            values = [out[key] for key in sorted(out)]
        elif isinstance(out, (list, tuple)):
            values = list(out)
        else:
            values = [out]
        return {
            label: np.asarray(value, dtype=np.float32)
            for label, value in zip(self.output_labels, values, strict=True)
        }

    def size_bytes(self) -> int:
        if self.path and os.path.isfile(self.path):
            return os.path.getsize(self.path)
        with tempfile.TemporaryDirectory() as tmp:
            target = os.path.join(tmp, "model.keras")
            with captured_output():
                self.model.save(target)
            return os.path.getsize(target)

    # -------------------------------------------------------------- conversion
    def spec(self):
        # Keras 3 goes through an exported SavedModel, the route Keras's own LiteRT export
        # takes; tf_keras models export the same way. Every mode converts the same export.
        return ("saved_model", self.saved_model_dir())

    def fingerprint(self) -> str:
        """A digest of the model's architecture and weights: the same model state, the same
        fingerprint, so its export and float32 conversion are reused; trained further, new ones.
        Taken once per source (a source lives for one call, or one widget bench)."""
        if self._fingerprint is None:
            self._fingerprint = self._digest()
        return self._fingerprint

    def _digest(self) -> str:
        digest = hashlib.blake2b(digest_size=16)
        digest.update(
            f"{self.flavour}:{type(self.model).__module__}.{type(self.model).__qualname__}".encode()
        )
        try:
            digest.update(self.model.to_json().encode())
        except (TypeError, ValueError, NotImplementedError, AttributeError):
            # A subclassed model without get_config: its layers and variables still tell its state.
            digest.update(
                repr([(layer.name, type(layer).__qualname__) for layer in self.model.layers]).encode()
            )
            digest.update(str(id(self.model)).encode())
        for variable in self.model.weights:
            value = np.asarray(variable.numpy() if hasattr(variable, "numpy") else variable)
            digest.update(
                f"{variable.path if hasattr(variable, 'path') else variable.name}{value.shape}{value.dtype}".encode()
            )
            digest.update(np.ascontiguousarray(value).tobytes())
        return digest.hexdigest()

    def saved_model_dir(self) -> str:
        """Export once per model state: the export is kept by fingerprint (the last few models)
        and removed when the process ends."""
        if self._saved_model_dir is None:
            fingerprint = self.fingerprint()
            if fingerprint in _EXPORTS:
                _EXPORTS.move_to_end(fingerprint)
                self._saved_model_dir = _EXPORTS[fingerprint]
                return self._saved_model_dir
            import_tensorflow()  # quiets TensorFlow's Python loggers, which export writes to
            directory = tempfile.mkdtemp(prefix="workbench-export-")
            export_runs[self.flavour] += 1
            try:
                with captured_output():
                    if self.recurrent:
                        self._export_fixed_batch(directory)
                    elif self.flavour == "tf_keras":
                        self.model.export(directory)
                    else:
                        self.model.export(directory, format="tf_saved_model", verbose=False)
            except (ValueError, TypeError, AttributeError, NotImplementedError, RuntimeError) as err:
                shutil.rmtree(directory, ignore_errors=True)
                raise self._export_error(err) from err
            _remember_export(fingerprint, directory)
            self._saved_model_dir = directory
        return self._saved_model_dir

    def _export_fixed_batch(self, directory: str) -> None:
        """Export one serving endpoint whose input has a batch of exactly 1."""
        import importlib

        tf = import_tensorflow()
        keras = importlib.import_module(self.flavour)
        archive = keras.export.ExportArchive()
        archive.track(self.model)
        model = self.model
        spec = tf.TensorSpec([1, *self.input_shape], tf.as_dtype(self.input_dtype), name="inputs")
        archive.add_endpoint(name="serve", fn=lambda x: model(x, training=False), input_signature=[spec])
        archive.write_out(directory, verbose=False) if self.flavour == "keras" else archive.write_out(
            directory
        )

    def _export_error(self, err: Exception) -> ModelLoadError:
        custom = [
            f"{layer.name} ({type(layer).__name__})"
            for layer in getattr(self.model, "layers", [])
            if not type(layer).__module__.startswith(("keras.", "tf_keras."))
        ]
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        where = f"; custom layers in it: {', '.join(custom)}" if custom else ""
        return ModelLoadError(
            received=f"a model Keras could not trace for export ({type(err).__name__}: {first[:300]}){where}",
            expected="A model whose call() can be traced into a TensorFlow graph.",
            fix=(
                "Make each custom layer's call() use only keras.ops or TensorFlow operations on its "
                "tensors: no NumPy, no .numpy(), no Python if/for on tensor values (use keras.ops.where "
                "or keras.ops.cond)."
            ),
        )


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return (text.splitlines()[0] if text else type(err).__name__)[:300]


def _check_h5_has_model(path: str) -> None:
    """An ``.h5`` of weights only (``save_weights``) cannot be loaded as a model: say what is needed."""
    try:
        import h5py
    except ImportError:  # pragma: no cover -- Keras installs h5py
        return
    try:
        with h5py.File(path, "r") as handle:
            has_config = "model_config" in handle.attrs
            weights_only = not has_config and ("layer_names" in handle.attrs or "layers" in handle)
    except OSError as err:
        fix = "The file was cut short or is something else: save or copy the model again."
        expected = "A Keras .h5 file, as model.save('model.h5') writes it."
        raise refused_by("the HDF5 reader", repr(path), err, expected=expected, fix=fix) from None
    if weights_only:
        raise ModelLoadError(
            received=f"{path!r}, which holds only weights (written by save_weights): no architecture",
            expected="A whole model: its architecture as well as its weights.",
            fix=(
                "Build the model in code as it was defined, call model.load_weights(path), and pass the "
                "model itself (or save it with model.save('model.keras'))."
            ),
        )


def _load_with_tf_keras(path: str, keras3: str):
    try:
        import tf_keras
    except ImportError:
        raise ModelLoadError(
            received=f"{path!r}, which Keras 3 cannot load ({keras3}) and tf_keras is not installed",
            expected="A Keras 2 .h5 file is read with tf_keras.",
            fix="Install it with: pip install tf-keras",
        ) from None
    try:
        with captured_output():
            return tf_keras.models.load_model(path, compile=False)
    except (ValueError, OSError, KeyError, TypeError, EOFError, AttributeError) as err:
        raise ModelLoadError(
            received=(
                f"{path!r}, which neither Keras can load: Keras 3: {keras3}; "
                f"tf_keras (Keras 2): {type(err).__name__}: {_first_line(err)}"
            ),
            expected="A model saved with model.save() by Keras 3 (.keras) or Keras 2 (.h5).",
            fix=(
                "Check that the file is complete; a model with custom layers needs them defined: load it "
                "yourself with custom_objects=... and pass the model."
            ),
        ) from None


#: How many times a Keras model was exported in this process, by flavour.
export_runs: Counter[str] = Counter()

# Exports by model fingerprint, most recent last; evicted and leftover ones are deleted.
_EXPORTS: OrderedDict[str, str] = OrderedDict()
_EXPORTS_KEPT = 8


def _remember_export(fingerprint: str, directory: str) -> None:
    _EXPORTS[fingerprint] = directory
    while len(_EXPORTS) > _EXPORTS_KEPT:
        _, old = _EXPORTS.popitem(last=False)
        shutil.rmtree(old, ignore_errors=True)


@atexit.register
def _remove_exports() -> None:
    for directory in _EXPORTS.values():
        shutil.rmtree(directory, ignore_errors=True)


class SavedModelSource(Source):
    """A SavedModel directory: converted directly, its serving signature is the reference."""

    kind = "saved_model"

    def __init__(self, path: str):
        tf = import_tensorflow()
        self.path = path
        self.name = os.path.basename(os.path.normpath(path))
        try:
            with captured_output():
                loaded = tf.saved_model.load(path)
        except (OSError, ValueError, RuntimeError) as err:
            raise ModelLoadError(
                received=f"{path!r}, which is not a loadable SavedModel ({type(err).__name__})",
                expected="A directory written by tf.saved_model.save or model.export.",
                fix="Check that the directory holds saved_model.pb and variables/.",
            ) from None
        signatures = getattr(loaded, "signatures", {})
        if "serving_default" not in signatures:
            raise ModelLoadError(
                received=f"a SavedModel at {path!r} with signatures {list(signatures)}",
                expected="A 'serving_default' signature.",
                fix="Export with model.export(path) or tf.saved_model.save(..., signatures=...).",
            )
        self._loaded = loaded  # keeps the variables alive
        self._fn = signatures["serving_default"]
        specs = self._fn.structured_input_signature[1]
        if len(specs) != 1:
            raise ModelLoadError(
                received=f"a SavedModel with {len(specs)} inputs",
                expected="A single-input model.",
                fix="Export a signature with one input tensor.",
            )
        ((self._input_name, spec),) = specs.items()
        self.input_shape = tuple(-1 if d is None else int(d) for d in spec.shape[1:])
        self.fixed_batch = spec.shape[0]

    def predict(self, X):
        outputs = [self.predict_one(X[i : i + _BATCH]) for i in range(0, len(X), _BATCH)]
        return np.concatenate([np.asarray(o, np.float32) for o in outputs])

    def predict_one(self, x):
        result = self._fn(**{self._input_name: x})
        if len(result) != 1:
            raise DataMismatchError(
                received=f"a SavedModel with outputs {sorted(result)}",
                expected="A single output to compare against a dataset.",
                fix="Export a signature with one output.",
            )
        return next(iter(result.values()))

    def size_bytes(self) -> int:
        return sum(
            os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(self.path) for f in files
        )

    def spec(self):
        return ("saved_model", self.path)


def _output_signature_names(model) -> dict[str, str]:
    """The model's outputs in Keras's order: the name a user knows each by (the dict key, or
    the output layer's name), and the name the exported signature gives it."""
    structure = getattr(model, "output", None)
    if isinstance(structure, dict):
        return {key: key for key in sorted(structure)}
    names = list(getattr(model, "output_names", None) or [])
    count = len(structure) if isinstance(structure, (list, tuple)) else 1
    if len(names) != count or len(set(names)) != count:
        names = [f"output_{i}" for i in range(count)]
    return {name: f"output_{i}" for i, name in enumerate(names)}


_RECURRENT = ("LSTM", "GRU", "SimpleRNN", "RNN", "Bidirectional", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")


def _recurrent_layers(model) -> list[str]:
    """Names of the recurrent layers in a model, nested models included."""
    found = []
    for layer in getattr(model, "layers", []):
        if type(layer).__name__ in _RECURRENT or any(k.__name__ in _RECURRENT for k in type(layer).__mro__):
            found.append(f"{layer.name} ({type(layer).__name__})")
        elif hasattr(layer, "layers"):
            found += _recurrent_layers(layer)
    return found


def _model_inputs(model):
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if not inputs:
        raise ModelLoadError(
            received=f"a Keras {type(model).__name__} that has not been built",
            expected="A model with known inputs (built with keras.Input, or called once on data).",
            fix="Call the model on a batch of data once, or give it an Input layer.",
        )
    return inputs
