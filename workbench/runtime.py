"""Running a ``.tflite`` on the LiteRT interpreter: I/O (de)quantization, batching, threads,
named outputs.

Outputs are found by the names of the file's signature (``serving_default``), so a file
with several outputs (a scikit-learn classifier's ``predict``, ``predict_proba`` and
``decision_function``; a Keras model's heads) is read by name, in a stated order: the
order the converter was given (``output_order``), else the signature's. One of them is
the *primary* output, what :meth:`Converted.run` returns and a comparison scores.

Needs only ``ai_edge_litert`` and numpy, never TensorFlow.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import replace

import numpy as np

from . import _inputs
from ._estimator_methods import EstimatorMethods
from ._flatbuffer import (  # noqa: F401  (op_graph and the counts are read from here too)
    buffer_nbytes,
    builtin_op_counts,
    builtin_op_names,
    inline_buffers,
    offset_buffers,
    op_graph,
    stored_tensor_types,
)
from ._litert import (  # noqa: F401  (read from here by other modules and tests)
    PrepareFailed,
    check_threads,
    choose_signature,
    input_names,
    named_outputs,
    new_interpreter,
    probe_litert,
    refuse_crashing_file,
    runtime_failure,
)
from ._native import captured_output
from ._tensors import (  # noqa: F401
    LABELS_FILE,
    TensorInfo,
    check_labels,
    checked_input,
    checked_inputs,
    dequantize_values,
    labels_from_scores,
    pad,
    quantize_values,
    read_labels,
    tensor_info,
)
from .errors import DataMismatchError, ModelLoadError, WorkbenchError
from .inspection import state_kind
from .modes import Mode


class Converted(EstimatorMethods):
    """A converted model: the ``.tflite`` bytes, what they contain, and a way to run them.

    Returned by :func:`workbench.convert`; :func:`load_tflite` makes one from a file.

    Attributes
    ----------
    content : bytes
        The ``.tflite`` flatbuffer, plain: offset buffers (weights LiteRT Quantizer stores
        after the flatbuffer) are written inline, so that TFLite Micro, the C source and
        :meth:`save` all get the one file that runs on a board. Same tensors, same outputs.
    mode : Mode or None
        The quantization mode it was converted with; ``None`` for a ``.tflite`` loaded as-is.
    convert_seconds : float
        Time the converter took (0 for a loaded file).
    threads : int
        Interpreter threads used by :meth:`predict` and latency measurements.
    output_names : tuple of str
        The file's outputs by signature name, in the stated order (for a scikit-learn
        estimator: ``predict``, ``predict_proba``, ``decision_function``,
        ``score_samples``, ``transform``, those it has); :meth:`run_all` returns them all.
    primary_output : str
        The output :meth:`run` returns and a comparison scores.
    declared_shapes : bool
        Some input's axis 0 is not a batch (neither dynamic in the signature nor 1): the file
        runs one sample per call at its declared shapes.
    state : str
        Where the file keeps state between calls (``"variable tensors"``, ``"resource
        variables"``, or ``""``); it is reset before every call.
    path : str
        What made it, as the ``path`` column says: the mode's path (``"converter"``, ``"LiteRT
        Quantizer"``), ``"as-is"`` for a file loaded as it is, or what made it instead of the
        mode's path (``"integer trees (workbench)"`` for a tree ensemble's static recipes).
    """

    def __init__(
        self,
        content: bytes,
        mode: Mode | None = None,
        *,
        convert_seconds: float = 0.0,
        threads: int = 1,
        source: str = "",
        log: str = "",
        classes=None,
        output_kind: str = "values",
        output_order=None,
        primary_output: str | None = None,
        input_order=None,
        signature: str | None = None,
        calibration: str | None = None,
        label: str | None = None,
        float_layers=(),
        unchanged: bool = False,
        recipe: list | None = None,
        path: str | None = None,
    ):
        given = bytes(content)
        #: What made it (see the class docstring); fixed here, as the mode is.
        self.path = path or (mode.path if mode is not None else "as-is")
        self.content = inline_buffers(given)
        #: Said when the bytes given kept weights after the flatbuffer, now written inline.
        self.inlined_note = ""
        if self.content is not given:
            self.inlined_note = (
                f"the file given kept {offset_buffers(given)} buffer(s) after the flatbuffer (offset "
                f"buffers, {len(given):,} bytes), which TFLite Micro cannot read: it would put those "
                f"weights in its arena, uninitialised. They are written inline here ({len(self.content):,} "
                "bytes, same tensors and outputs): deploy the file save() or save_c() writes"
            )
        #: How its activation ranges were computed (``workbench.Calibration.label``, or the
        #: converter's own min/max); ``None`` for a variant that was not calibrated.
        self.calibration = calibration
        self.classes = None if classes is None else np.asarray(classes)
        #: A label other than the mode's, e.g. "int8+float(2 layers)" for a mixed-precision variant.
        self.label_override: str | None = label
        #: Layers kept in float by a mixed-precision conversion.
        self.float_layers: list[str] = list(float_layers)
        self.output_kind = output_kind
        self.mode = mode
        self.convert_seconds = float(convert_seconds)
        self.threads = check_threads(threads)
        self.source = source
        self.log = log
        self._lock = threading.Lock()
        self._interpreter = None
        self._batch = None
        self._interpreter = self._new_interpreter()
        #: The signature run, for a file with several (None: the file's only one, or none).
        self.signature = choose_signature(self._interpreter, signature)
        if self.signature is not None:
            runner = self._interpreter.get_signature_runner(self.signature)
            by_name = runner.get_input_details()
            input_details, names = list(by_name.values()), list(by_name)
        else:
            input_details = self._interpreter.get_input_details()
            names = input_names(self._interpreter, input_details)
        if input_order and len(input_details) > 1:
            # The file's tensor order is not always the model's: state it as the model does.
            rank = {name: i for i, name in enumerate(input_order)}
            paired = sorted(
                zip(names, input_details, strict=True), key=lambda item: rank.get(item[0], len(rank))
            )
            names, input_details = [n for n, _ in paired], [d for _, d in paired]
        self._input_order = input_order
        if self.signature is not None:
            named = list(self._interpreter.get_signature_runner(self.signature).get_output_details().items())
            if output_order:
                rank = {name: i for i, name in enumerate(output_order)}
                named.sort(key=lambda item: rank.get(item[0], len(rank)))
        else:
            named = named_outputs(self._interpreter, self._interpreter.get_output_details(), output_order)
        self.inputs = tuple(tensor_info(d) for d in input_details)
        #: Output tensors in the stated order, each with its signature name.
        self.outputs = tuple(replace(tensor_info(d), name=name) for name, d in named)
        self.output_names = tuple(name for name, _ in named)
        if primary_output is not None and primary_output not in self.output_names:
            primary_output = None
        #: The output :meth:`run` returns (and a comparison scores).
        self.primary_output = primary_output or self.output_names[0]
        self._output_order = output_order
        # Looked up once: get_*_details() builds dicts for every tensor, which costs more
        # per call than a small model takes to run.
        self._input_index = input_details[0]["index"]
        #: Input names in the model's order (the signature's names where the file has one).
        self.input_names = names
        self._input_indices = {
            name: d["index"] for name, d in zip(self.input_names, input_details, strict=True)
        }
        self._input_info = dict(zip(self.input_names, self.inputs, strict=True))
        self._output_index = {name: d["index"] for name, d in named}
        self._output_info = dict(zip(self.output_names, self.outputs, strict=True))
        #: True when some input's axis 0 is not a batch (see TensorInfo.batched): the file runs
        #: one sample per call at its declared shapes.
        self.declared_shapes = not all(info.batched for info in self.inputs)
        #: Where the file keeps state between calls: "variable tensors" (a fused LSTM's state),
        #: "resource variables" (a stateful layer's), or "" for none. Either is reset before
        #: each call (a fresh interpreter for resource variables), so that no sample's output
        #: depends on the samples run before it.
        self.state = state_kind(self.content)
        self.ops = builtin_op_counts(self.content)
        #: True for a quantizer variant whose recipe quantized no tensor of this model.
        self.unchanged = bool(unchanged)
        #: For a LiteRT Quantizer variant: the recipe as the library applied it (a list of dicts).
        self.recipe: list | None = recipe
        #: True when LiteRT could not prepare the model for a batch of several samples, so
        #: it runs one sample per call.
        self.single_sample_only = False

    # -------------------------------------------------------------------- basics
    @property
    def size_bytes(self) -> int:
        """The exact size of the ``.tflite`` file :meth:`save` writes (weights inline).

        For a file loaded with offset buffers, this is the size of its plain form, not of
        the file on disk (they differ by the flatbuffer's padding, a few bytes per buffer).
        """
        return len(self.content)

    @property
    def output_tensor_indices(self) -> dict[str, int]:
        """Each output's tensor index in the file's main subgraph, by output name."""
        return dict(self._output_index)

    @property
    def label(self) -> str:
        if self.label_override:
            return self.label_override
        return self.mode.label if self.mode is not None else "tflite"

    @property
    def input_shape(self) -> tuple[int, ...] | dict[str, tuple[int, ...]]:
        """Shape of one sample without the batch axis; for several inputs, a dict by input name."""
        if len(self.inputs) > 1:
            return {name: info.sample_shape for name, info in self._input_info.items()}
        return self.inputs[0].sample_shape

    def save(self, path) -> str:
        """Write the ``.tflite`` (a plain flatbuffer, weights inline); returns the path written."""
        from ._paths import prepare_file

        path = prepare_file(path, ".tflite")
        with open(path, "wb") as handle:
            handle.write(self.content)
        return path

    def save_c(self, path, name: str | None = None) -> tuple[str, str]:
        """Write the model as C source for TFLite Micro: a 16-byte aligned ``const`` array
        and its length, in ``<stem>.cc`` and ``<stem>.h``.

        Parameters
        ----------
        path : str or Path
            A directory (files ``<name>_data.cc/.h``) or a ``.cc`` path (its stem names both).
        name : str, default=None
            The array's C name (``<name>_len`` holds the length); from the file name by default.

        Returns
        -------
        (str, str)
            The paths of the ``.cc`` and ``.h`` written.
        """
        from .csource import save_c

        return save_c(self.content, path, name)

    def summary(self, runtimes: bool = True) -> str:
        """What this file really is, without any dataset (``workbench inspect`` prints the same).

        Inputs and outputs with dtype, shape, scale and zero point; ops by count with the weight
        and activation types of each (so a file named "int8" that is dynamic-range, or has float
        ops left, says so); the largest tensors; its signatures; and, with ``runtimes``, whether
        it allocates and invokes on LiteRT and on TFLite Micro, with the smallest arena.
        """
        from .inspection import inspect_bytes

        text = inspect_bytes(self.content, self.source or "model").report()
        if self.inlined_note:
            text += "\nnote: " + self.inlined_note
        if not runtimes:
            return text
        from ._runtimes import where_it_runs

        return text + "\n" + "\n".join(where_it_runs(self))

    def __repr__(self) -> str:
        ops = ", ".join(f"{name}×{n}" for name, n in self.ops.items())
        return (
            f"Converted({self.label}, {self.size_bytes:,} bytes, "
            f"inputs=[{'; '.join(t.describe() for t in self.inputs)}], ops=[{ops}])"
        )

    # ------------------------------------------------------------------- running
    def run(self, X, batch_size: int | None = None) -> np.ndarray:
        """Run the model on ``X`` and return its primary output, as floats of shape (n, k).

        Quantized inputs are quantized with the model's own scale and zero point and
        quantized outputs are dequantized, so int8 variants take and return the same
        float data as the float ones.

        Parameters
        ----------
        X : array-like of shape (n_samples, *input_shape)
        batch_size : int, default=None
            Samples per interpreter call; ``None`` uses up to 256 (or the model's fixed
            batch size).
        """
        outputs = self.run_output(X, self.primary_output, batch_size)
        return outputs.reshape(len(outputs), 1) if outputs.ndim == 1 else outputs

    def run_output(self, X, name: str, batch_size: int | None = None) -> np.ndarray:
        """One output by name (see :attr:`output_names`), in the shape the file gives it."""
        return self.run_all(X, batch_size, names=(name,))[name]

    def run_all(self, X, batch_size: int | None = None, *, names=None) -> dict[str, np.ndarray]:
        """Every output (or those in ``names``) by name, in :attr:`output_names` order.

        Parameters
        ----------
        X : array-like of shape (n_samples, *input_shape)
        batch_size : int, default=None
            Samples per interpreter call; ``None`` uses up to 256.
        names : sequence of str, default=None
            The outputs to return; ``None`` returns all of them.
        """
        names = self._check_names(names)
        X = self.check_input(X)
        fixed = self._fixed_batch()
        step = fixed or int(batch_size or min(max(_inputs.count(X), 1), 256))
        if step < 1:
            raise DataMismatchError(
                received=f"batch_size={batch_size!r}",
                expected="A positive batch size.",
                fix="Leave batch_size out.",
            )
        chunks: dict[str, list] = {name: [] for name in names}
        for start in range(0, _inputs.count(X), step):
            chunk = _inputs.take(X, slice(start, start + step))
            n = _inputs.count(chunk)
            if fixed and n < fixed:
                chunk = pad(chunk, fixed - n)
            for name, values in self._invoke(chunk, names).items():
                chunks[name].append(values[:n])
        result = {}
        for name in names:
            if chunks[name]:
                result[name] = np.concatenate(chunks[name])
            else:
                info = self._output_info[name]
                result[name] = np.zeros((0, *info.sample_shape), dtype=np.dtype(info.dtype))
        return result

    def _check_names(self, names) -> tuple[str, ...]:
        if names is None:
            return self.output_names
        names = tuple(names)
        unknown = [n for n in names if n not in self.output_names]
        if unknown:
            raise DataMismatchError(
                received=f"output name(s) {', '.join(map(repr, unknown))}",
                expected=f"One of this model's outputs: {', '.join(self.output_names)}.",
                fix="Use a name from output_names.",
            )
        return names

    def invoke_raw(self, x: np.ndarray) -> np.ndarray:
        """One interpreter call on an already prepared batch (for latency measurement), returning
        the primary output; a model that runs only one sample at a time (or has a fixed batch)
        gets one call per sample, as a user would make."""
        fixed = self._fixed_batch()
        if fixed is not None and _inputs.count(x) != fixed:
            return self.run(x)
        return self._invoke(x, (self.primary_output,))[self.primary_output]

    def _fixed_batch(self) -> int | None:
        """Samples per call when the file fixes them (None: any number)."""
        if self.declared_shapes:
            return 1
        return None if self.inputs[0].dynamic_batch else self.inputs[0].shape[0]

    def check_input(self, X) -> np.ndarray | dict[str, np.ndarray]:
        """``X`` checked against the file's input (shape, count, type) and cast for it; a
        :class:`DataMismatchError` says what differs."""
        if len(self.inputs) > 1:
            return checked_inputs(X, self._input_info)
        return checked_input(X, self.input_shape)

    def _invoke(self, batch: np.ndarray, names) -> dict[str, np.ndarray]:
        with self._lock:
            try:
                if not self.single_sample_only or _inputs.count(batch) == 1:
                    try:
                        return self._invoke_locked(batch, names)
                    except PrepareFailed:
                        if _inputs.count(batch) == 1 or self._fixed_batch() is not None:
                            raise
                        # Some files (Hadamard-rotated recipes, for one) cannot be resized on
                        # XNNPACK: they run one sample per call, on a fresh interpreter.
                        self.single_sample_only = True
                        self._interpreter, self._batch = self._new_interpreter(), None
                parts = [
                    self._invoke_locked(_inputs.take(batch, slice(i, i + 1)), names)
                    for i in range(_inputs.count(batch))
                ]
                return {name: np.concatenate([part[name] for part in parts]) for name in names}
            except WorkbenchError:
                raise
            except PrepareFailed as failure:
                raise runtime_failure(str(failure), "allocation", _inputs.count(batch)) from None
            except (RuntimeError, ValueError) as err:
                raise runtime_failure(str(err), "invocation", _inputs.count(batch)) from None

    def _invoke_locked(self, batch: np.ndarray, names) -> dict[str, np.ndarray]:
        if self.signature is not None:
            # Another signature is another subgraph: its runner resizes, allocates and invokes it.
            self._reset_state()
            runner = self._interpreter.get_signature_runner(self.signature)
            feed = batch if _inputs.is_multi(batch) else {self.input_names[0]: batch}
            with captured_output():
                got = runner(**{k: self._fed(v, self._input_info[k]) for k, v in feed.items()})
            return {name: self._read(got[name], self._output_info[name]) for name in names}
        self._reset_state()
        interpreter = self._interpreter
        n = _inputs.count(batch)
        several = _inputs.is_multi(batch)
        if self._batch != n:
            self._batch = None
            try:
                if self.inputs[0].dynamic_batch and not self.declared_shapes:
                    if several:
                        for name, index in self._input_indices.items():
                            shape = self._input_info[name].shape[1:]
                            interpreter.resize_tensor_input(index, [n, *shape])
                    else:
                        interpreter.resize_tensor_input(self._input_index, [n, *self.input_shape])
                with captured_output():  # XNNPACK announces itself on allocation
                    interpreter.allocate_tensors()
            except RuntimeError as err:
                raise PrepareFailed(str(err).strip()) from None
            self._batch = n
        if self.state == "variable tensors":
            interpreter.reset_all_variables()
        if several:
            for name, index in self._input_indices.items():
                interpreter.set_tensor(index, self._fed(batch[name], self._input_info[name]))
        else:
            interpreter.set_tensor(self._input_index, self._fed(batch, self.inputs[0]))
        interpreter.invoke()
        return {
            name: self._read(interpreter.get_tensor(self._output_index[name]), self._output_info[name])
            for name in names
        }

    def _reset_state(self) -> None:
        if self.state == "resource variables":
            # LiteRT cannot reset resource variables: a fresh interpreter starts from their initial values.
            self._interpreter, self._batch = self._new_interpreter(), None
        elif self.state == "variable tensors" and self.signature is not None:
            self._interpreter.reset_all_variables()

    def _fed(self, x: np.ndarray, info: TensorInfo) -> np.ndarray:
        """One input as the interpreter takes it: quantized, and at its declared shape where its
        axis 0 is not a batch (one sample, whose batch axis is dropped)."""
        return quantize_values(x if info.batched or not self.declared_shapes else x[0], info)

    def _read(self, y: np.ndarray, info: TensorInfo) -> np.ndarray:
        """One output, dequantized, with a batch axis of one sample where the file has none."""
        y = dequantize_values(y, info)
        # An output with no batch axis (shape (40,), or a scalar) holds one sample's values when
        # the file runs one sample per call.
        return y if info.batched or self._fixed_batch() != 1 else y[None, ...]

    @property
    def key(self) -> str:
        """A short string for file names: the mode's key, or the sanitized label."""
        if self.label_override:
            return re.sub(r"[^A-Za-z0-9]+", "-", self.label_override).strip("-")
        return self.mode.key if self.mode is not None else "tflite"

    def with_primary_output(self, name: str) -> Converted:
        """The same model with another output as the one :meth:`run` returns and a comparison scores."""
        self._check_names((name,))
        if name == self.primary_output:
            return self
        copy = self.with_threads(self.threads)
        copy.primary_output = name
        return copy

    def with_threads(self, threads: int) -> Converted:
        """The same model run with another number of interpreter threads."""
        return self.derive(
            self.content,
            self.mode,
            threads=threads,
            convert_seconds=self.convert_seconds,
            log=self.log,
            output_order=self._output_order,
            input_order=self._input_order,
            calibration=self.calibration,
            label=self.label_override,
            float_layers=self.float_layers,
            unchanged=self.unchanged,
            recipe=self.recipe,
            path=self.path,
        )

    def derive(self, content: bytes, mode: Mode | None, **changes) -> Converted:
        """A variant made from this one (its bytes quantized by a recipe, say), whose inputs and
        outputs are read, named and labelled as this one's are.

        Parameters
        ----------
        content : bytes
            The new variant's ``.tflite``.
        mode : Mode or None
        **changes
            Any other argument of :class:`Converted` (``convert_seconds``, ``calibration``,
            ``label``, ``recipe``, ...); what is not given is this variant's own.
        """
        return Converted(content, mode, **{**io_of(self), **changes})

    def _new_interpreter(self):
        return new_interpreter(self.content, self.threads)


def io_of(model) -> dict:
    """How a model's inputs and outputs are read, named and labelled, as :class:`Converted`'s
    arguments: from a source (``workbench.sources.Source``) or another ``Converted``."""
    return {
        "threads": getattr(model, "threads", 1),
        "source": model.source if isinstance(model, Converted) else model.name,
        "classes": model.classes,
        "output_kind": model.output_kind,
        "output_order": model.output_names,
        "input_order": model.input_names,
        "primary_output": model.primary_output,
        "signature": getattr(model, "signature", None),
    }


def load_tflite(path, threads: int = 1, *, signature: str | None = None, labels=None) -> Converted:
    """Load a ``.tflite`` file as-is, to run and measure it like a converted variant.

    Parameters
    ----------
    path : str or Path
    threads : int, default=1
    signature : str, default=None
        For a file with several signatures, the one to run; ``None`` takes
        ``serving_default`` (or the file's only one).
    labels : sequence of str, default=None
        Class names, one per value of the scored output, which :meth:`Converted.predict`
        returns; ``None`` reads them from a ``labels.txt`` beside the file when there is one.
    """
    from ._paths import existing_file

    path = existing_file(path, ModelLoadError, "A .tflite file")
    with open(path, "rb") as handle:
        content = handle.read()
    from .inspection import check_flatbuffer

    check_flatbuffer(content, repr(path))  # says what the bytes are, when they are not a .tflite
    # A file from elsewhere is opened in the worker first: LiteRT may abort on it.
    refuse_crashing_file(probe_litert(content), repr(path))
    converted = Converted(content, None, threads=threads, source=path, signature=signature)
    if labels is None:
        labels = read_labels(os.path.join(os.path.dirname(os.path.abspath(path)), LABELS_FILE))
    if labels is not None:
        converted.classes = check_labels(labels, converted, repr(path))
    return converted
