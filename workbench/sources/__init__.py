"""What the user has, turned into something the TFLite converter takes.

A *source* wraps the user's model without changing it. It knows the shape of one
input sample, how to run the original model (the reference every variant is compared
with), how big the original is, and how to hand the model to
``tf.lite.TFLiteConverter``.
"""

from __future__ import annotations

import os
from collections import OrderedDict

import numpy as np

from ..errors import DataMismatchError, ModelLoadError


class Source:
    """Base of every source: the contract every other module reads a model through.

    Subclasses fill in :meth:`predict`, :meth:`size_bytes` and :meth:`spec`, and set the
    attributes below that differ from these defaults; nothing else is read from a source.
    A kind of source registers in :data:`KINDS` (see :func:`as_source`).
    """

    kind = "model"
    #: Human-readable name for tables and reports.
    name = "model"
    #: Shape of one input sample, without the batch axis.
    input_shape: tuple[int, ...] = ()
    #: Class labels in output order, when the model says (scikit-learn classifiers do).
    classes: np.ndarray | None = None
    #: The built-in example this source was loaded from, if any (it knows its dataset).
    example: str | None = None
    #: What a comparison should tell about how this model was converted (e.g. a fixed batch).
    notes: tuple[str, ...] = ()
    #: What the outputs are: "proba" (class probabilities or softmax), "decision"
    #: (decision values, thresholded at 0 when there is one column) or "values".
    output_kind = "proba"
    #: Names of the converted file's outputs in the order they are stated (None: the
    #: signature's order), and the one a comparison scores (None: the first).
    output_names: tuple[str, ...] | None = None
    primary_output: str | None = None
    #: The outputs a comparison can score, as ``output=`` names them, and the one it scores;
    #: ``()`` for a model with one scored output (a scikit-learn model scores its own).
    output_labels: tuple[str, ...] = ()
    output: str | None = None
    #: Input names in the model's order, for a model with several inputs (None: one input).
    input_names: tuple[str, ...] | None = None
    #: The input's dtype name, or by input name for several inputs.
    input_dtype: str | dict = "float32"
    #: Names of recurrent layers (their loops need one sample per call, and the converter cannot
    #: calibrate them): ``()`` for none.
    recurrent: tuple[str, ...] = ()
    #: A ``.tflite`` from elsewhere: the file is the original row, compared as-is, and only
    #: LiteRT Quantizer's recipes (which take its bytes) make variants of it.
    as_is: bool = False
    #: The runtime the original runs on: ``"litert"``, or ``"tflm"`` for a ``.tflite`` run as
    #: TFLite Micro runs it.
    runtime: str = "litert"
    #: Why the original cannot run here (``""``: it can); its comparison then has no reference.
    unrunnable: str = ""
    #: The user's own object, untouched: a Keras model or a scikit-learn estimator (None otherwise).
    model = None
    estimator = None
    #: The float32 ``.tflite`` made from this model, or the ``ConversionError`` it raised, kept by
    #: ``workbench.convert.float32_hub`` (None until it is asked for).
    float32_file = None

    def select_output(self, output=None) -> None:
        """Score ``output``: a name from :attr:`output_labels`, or its index; ``None``: the
        model's first (or the file's primary) output."""
        labels = self.output_labels
        if not labels:
            if output is None:
                return
            raise DataMismatchError(
                received=f"output={output!r} for a {self.kind} model with one scored output",
                expected="output= only for a Keras model or a .tflite with several outputs.",
                fix="Leave output out.",
            )
        if output is None:
            chosen = self.default_output()
        elif (
            isinstance(output, (int, np.integer))
            and not isinstance(output, bool)
            and 0 <= output < len(labels)
        ):
            chosen = labels[int(output)]
        elif isinstance(output, str) and output in labels:
            chosen = output
        else:
            raise DataMismatchError(
                received=f"output={output!r}",
                expected=f"One of the model's outputs: {', '.join(map(repr, labels))} (or its index).",
                fix=f"Pass e.g. output={labels[0]!r}.",
            )
        self.output = chosen
        self.use_output(chosen)

    def default_output(self) -> str:
        """The output scored when none is chosen: the first of :attr:`output_labels`."""
        return self.output_labels[0]

    def use_output(self, label: str) -> None:
        """Score the output ``label`` from now on (subclasses point their files at it)."""

    def integer_trees(self, mode, samples):
        """A source whose graph holds this model's trees on an integer grid, for ``mode``; None
        when the model has no such form (only scikit-learn tree ensembles do)."""
        return None

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The original model's outputs for ``X``, as float arrays (n, k)."""
        raise NotImplementedError

    def predict_one(self, x: np.ndarray):
        """One call of the original model as a user would make it (latency reference)."""
        return self.predict(x)

    def size_bytes(self) -> int:
        """The size of the original model as saved in its own format."""
        raise NotImplementedError

    def spec(self):
        """A picklable description from which the converter worker builds a converter
        (see :func:`converter_for`)."""
        raise NotImplementedError

    def fingerprint(self) -> str | None:
        """A digest of the model's state, under which its float32 conversion is kept across
        calls; ``None`` keeps it on this source only."""
        return None

    def converter(self, tf, mode=None):
        """A fresh ``tf.lite.TFLiteConverter`` for this model, in this process."""
        return converter_for(self.spec(), tf, mode)

    def describe(self) -> str:
        return f"{self.name} ({self.kind}, input {self.input_shape})"


def converter_for(spec, tf, mode=None):
    """A fresh TFLiteConverter from a picklable description of the model (``Source.spec()``),
    for ``mode`` (a scikit-learn graph keeps only its primary output where a mode lacks the
    kernels for the others).

    A SavedModel is loaded once per process (and again when its files change) and converted
    from its serving function: the same ops as ``from_saved_model``, without re-reading the
    directory for every mode (measured a quarter to a third faster per conversion).
    """
    kind, value = spec
    if kind == "saved_model":
        loaded = _loaded_saved_model(value, tf)
        return tf.lite.TFLiteConverter.from_concrete_functions([loaded.signatures["serving_default"]], loaded)
    if kind == "sklearn":
        from .sklearn import SklearnSource

        return SklearnSource(value).converter(tf, mode)
    if kind == "sklearn_integer_trees":  # a tree ensemble's integer trees, see SklearnSource.integer_trees
        from .sklearn import SklearnSource

        estimator, bits = value
        return SklearnSource(estimator, integer_bits=bits).converter(tf)
    raise ValueError(f"unknown model description {kind!r}")


_LOADED: OrderedDict = OrderedDict()
_LOADED_KEPT = 4


def _loaded_saved_model(path: str, tf):
    stamp = os.stat(os.path.join(path, "saved_model.pb")).st_mtime_ns if os.path.isdir(path) else 0
    key = (os.path.abspath(path), stamp)
    if key not in _LOADED:
        _LOADED[key] = tf.saved_model.load(path)
        while len(_LOADED) > _LOADED_KEPT:
            _LOADED.popitem(last=False)
    _LOADED.move_to_end(key)
    return _LOADED[key]


def graph_def_for(spec, tf):
    """The TensorFlow GraphDef the converter sees for a model description."""
    kind, value = spec
    if kind == "saved_model":
        return _loaded_saved_model(value, tf).signatures["serving_default"].graph.as_graph_def()
    from .sklearn import SklearnSource

    return SklearnSource(value).graph(tf).get_concrete_function().graph.as_graph_def()


def module_root(obj) -> str | None:
    for klass in type(obj).__mro__:
        root = klass.__module__.split(".")[0]
        if root in ("keras", "tf_keras", "sklearn"):
            return root
    return None


def as_source(model, *, trust: bool = False) -> Source:
    """Wrap a model, a path to one, or a built-in example name as a :class:`Source`.

    ``trust=True`` allows pickle/joblib files and ``.skops`` files with types skops
    does not trust by default; loading those can run code.
    """
    if isinstance(model, Source):
        return model
    from ..runtime import Converted

    if isinstance(model, Converted):
        from .tflite import TFLiteSource

        return TFLiteSource(model, name=model.source or "tflite")
    if isinstance(model, (str, os.PathLike)):
        return _source_from_path(os.fspath(model), trust)
    root = module_root(model)
    if root in ("keras", "tf_keras"):
        from .keras import KerasSource

        return KerasSource(model)
    if root == "sklearn":
        from .sklearn import SklearnSource

        return SklearnSource(model)
    raise ModelLoadError(
        received=f"a {type(model).__module__}.{type(model).__name__}",
        expected=(
            "A Keras model (Keras 3 or tf_keras), a fitted scikit-learn estimator or "
            "pipeline, a workbench.Converted, a path to a .keras, .h5 or .tflite file or a SavedModel "
            "directory, or a built-in example name."
        ),
        fix="Pass one of those.",
    )


def _source_from_path(path: str, trust: bool) -> Source:
    from ..examples import EXAMPLES, load_example

    if path in EXAMPLES and not os.path.exists(path):
        from .keras import KerasSource

        source = KerasSource(load_example(path), name=path)
        source.example = path
        return source
    if not os.path.exists(path):
        known = ", ".join(EXAMPLES)
        raise ModelLoadError(
            received=f"{path!r}, which is neither a file, a directory, nor an example name",
            expected=(
                f"A .keras, .h5, .tflite or .skops file, a SavedModel directory, or one of the examples: {known}."
            ),
            fix="Check the path.",
        )
    from .keras import KerasSource

    if path.lower().endswith((".tflite", ".csv")) and os.path.isdir(path):
        raise ModelLoadError(
            received=f"path {path!r}, which is a directory",
            expected="A .tflite file." if path.lower().endswith(".tflite") else "A model file.",
            fix="Pass the path of the file itself.",
        )
    if path.lower().endswith(".tflite"):
        from .tflite import TFLiteSource

        return TFLiteSource.from_file(path)
    if os.path.isdir(path):
        return KerasSource.from_saved_model(path)
    extension = os.path.splitext(path)[1].lower()
    if extension in (".keras", ".h5"):
        return KerasSource.from_file(path)
    if extension in (".skops", ".pkl", ".pickle", ".joblib"):
        from .sklearn import SklearnSource

        return SklearnSource.from_file(path, trust=trust)
    raise ModelLoadError(
        received=f"a file {path!r} with extension {extension or '(none)'}",
        expected="A .keras or .h5 file, a SavedModel directory, a .skops or .tflite file, or a pickle/joblib file.",
        fix="Save the model in one of those formats.",
    )
