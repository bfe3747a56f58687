"""What the user has, turned into something the TFLite converter takes.

A *source* wraps the user's model without changing it. It knows the shape of one
input sample, how to run the original model (the reference every variant is compared
with), how big the original is, and how to hand the model to
``tf.lite.TFLiteConverter``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .._lru import LRU
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
    #: What makes this source's variants, for the ``path`` column, when it is not the mode's own
    #: path (``""``): a scikit-learn tree ensemble's integer trees are the workbench's graph.
    made_by: str = ""

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


# SavedModels loaded in this process, by path and modification time (the last few).
_LOADED = LRU(4)


def _loaded_saved_model(path: str, tf):
    stamp = os.stat(os.path.join(path, "saved_model.pb")).st_mtime_ns if os.path.isdir(path) else 0
    return _LOADED.get_or_make((os.path.abspath(path), stamp), lambda: tf.saved_model.load(path))


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


# ----------------------------------------------------------------------------- kinds
def _tflite(model=None, path=None, trust=False):
    from .tflite import TFLiteSource

    if path is not None:
        return TFLiteSource.from_file(path)
    return TFLiteSource(model, name=model.source or "tflite")


def _keras(model=None, path=None, trust=False, name=None):
    from .keras import KerasSource

    if path is None:
        return KerasSource(model, name=name)
    return KerasSource.from_saved_model(path) if os.path.isdir(path) else KerasSource.from_file(path)


def _sklearn(model=None, path=None, trust=False):
    from .sklearn import SklearnSource

    return SklearnSource(model) if path is None else SklearnSource.from_file(path, trust=trust)


@dataclass(frozen=True)
class Kind:
    """One kind of model the workbench takes: how it is recognised and wrapped.

    Attributes
    ----------
    name : str
        The source's ``kind``.
    extensions : tuple of str
        File extensions it loads (lower case, with the dot).
    roots : tuple of str
        Top-level packages of the objects it wraps (``type(model).__mro__``'s modules).
    directories : bool
        Whether a directory is one of its files (a SavedModel).
    make : callable
        ``make(model=None, path=None, trust=False) -> Source``: wraps an object, or loads a file.
    """

    name: str
    extensions: tuple[str, ...]
    roots: tuple[str, ...]
    directories: bool
    make: Callable[..., Source]


#: Every kind of model, by name. A new kind is a Source subclass in its own module and a row here.
KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("tflite", (".tflite",), (), False, _tflite),
        Kind("keras", (".keras", ".h5"), ("keras", "tf_keras"), True, _keras),
        Kind("sklearn", (".skops", ".pkl", ".pickle", ".joblib"), ("sklearn",), False, _sklearn),
    )
}


def as_source(model, *, trust: bool = False) -> Source:
    """Wrap a model, a path to one, or a built-in example name as a :class:`Source`.

    ``trust=True`` allows pickle/joblib files and ``.skops`` files with types skops
    does not trust by default; loading those can run code.
    """
    if isinstance(model, Source):
        return model
    from ..runtime import Converted

    if isinstance(model, Converted):
        return KINDS["tflite"].make(model)
    if isinstance(model, (str, os.PathLike)):
        return _source_from_path(os.fspath(model), trust)
    root = module_root(model)
    for kind in KINDS.values():
        if root in kind.roots:
            return kind.make(model)
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
        source = KINDS["keras"].make(load_example(path), name=path)
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
    extension = os.path.splitext(path)[1].lower()
    if os.path.isdir(path):
        if extension in (".tflite", ".csv"):
            raise ModelLoadError(
                received=f"path {path!r}, which is a directory",
                expected="A .tflite file." if extension == ".tflite" else "A model file.",
                fix="Pass the path of the file itself.",
            )
        return next(k for k in KINDS.values() if k.directories).make(path=path, trust=trust)
    for kind in KINDS.values():
        if extension in kind.extensions:
            return kind.make(path=path, trust=trust)
    raise ModelLoadError(
        received=f"a file {path!r} with extension {extension or '(none)'}",
        expected="A .keras or .h5 file, a SavedModel directory, a .skops or .tflite file, or a pickle/joblib file.",
        fix="Save the model in one of those formats.",
    )
