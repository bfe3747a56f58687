"""Fitted scikit-learn estimators and pipelines, rebuilt exactly from TFLite builtin ops."""

from __future__ import annotations

import contextlib
import copy
import os
import pickle

import numpy as np

from ..._native import captured_output
from ..._paths import existing_file
from ..._tensors import numeric
from ...errors import (
    ConversionError,
    DataMismatchError,
    ModelLoadError,
    NotFittedError,
    UnsupportedEstimatorError,
    describe_array,
)
from .. import Source
from ._build_context import integer_index_tables, integer_trees
from ._checks import OUTPUT_METHODS, check_supported
from ._registry import build, builder_for, graph_cache, target_classes

#: The int16x8 op set has no int16 ARG_MAX or comparisons: files for it carry the primary
#: output only, and :meth:`Converted.predict` applies the label rule to it in Python.
NO_LABEL_OPS = ("EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8",)

#: The static recipes that give a tree ensemble integer trees, and their grid's bits: each
#: feature's thresholds on an 8- or 16-bit grid, the input put on it as the file's first
#: ops, node rows as int8 bytes and 8-bit leaves (see ``_tree_integer.plan_integer_forest``).
#: A recipe applied to the exact float32 file would find nothing to quantize in it.
INTEGER_TREE_MODES = {"static_wi8_ai8": 8, "static_wi8_ai16": 16}
#: The ``path`` of an integer-tree variant: the workbench's own graph, not a quantizer recipe.
INTEGER_TREES_PATH = "integer trees (workbench)"

#: scikit-learn's prediction methods, in the order a converted file states its outputs.
METHODS = ("predict", "predict_proba", "decision_function", "score_samples", "transform")


class SklearnSource(Source):
    """A fitted estimator or pipeline (never modified); its own outputs are the reference."""

    kind = "sklearn"

    def __init__(
        self, estimator, *, name: str | None = None, path: str | None = None, integer_bits: int | None = None
    ):
        _check_fitted(estimator)
        #: 8 or 16 for the integer-tree variant of a tree ensemble (see :meth:`integer_trees`).
        self.integer_bits = integer_bits
        builder_for(_final_step(estimator))  # unsupported estimators fail here, before any work
        self.output_kind = output_kind(estimator)
        # Settings a builder cannot rebuild (e.g. kernel="precomputed") fail here, not in the converter.
        check_supported(estimator, self.output_kind)
        self.primary_output = OUTPUT_METHODS[self.output_kind]
        #: {method: output kind} of every method in the file, in :data:`METHODS` order.
        self.outputs = output_plan(estimator, self.output_kind)
        #: The classes of each target of a multi-output classifier (None for one target).
        self.targets = target_classes(_final_step(estimator))
        self.output_names = tuple(self._file_names(method) for method in self.outputs)
        self.output_names = tuple(name for names in self.output_names for name in names)
        self.estimator = estimator
        self.name = name or type(estimator).__name__
        self.path = path
        n_features = getattr(estimator, "n_features_in_", None)
        if n_features is None:
            raise ModelLoadError(
                received=f"a {type(estimator).__name__} without n_features_in_",
                expected="An estimator fitted on a 2-D numeric array.",
                fix="Fit it on numeric features (scikit-learn 1.0 or newer records their count).",
            )
        self.input_shape = (int(n_features),)
        self.classes = (
            getattr(estimator, "classes_", None)
            if self.output_kind in ("proba", "decision", "label")
            else None
        )
        if _one_vs_one(estimator, self.classes) or self.targets is not None or _multilabel(estimator):
            # one column per pair of classes, or per target: an argmax would not be a label
            self.classes = None
        self.flat = {method: self._returns_1d(method, kind) for method, kind in self.outputs.items()}

    def _file_names(self, method: str) -> tuple[str, ...]:
        """The file's outputs for ``method``: one, or for the ``predict_proba`` of a
        multi-output classifier (a list of arrays in scikit-learn) one per target,
        ``predict_proba_0``, ``predict_proba_1``, ..."""
        if method == "predict_proba" and self.targets is not None:
            return tuple(f"{method}_{k}" for k in range(len(self.targets)))
        return (method,)

    def _returns_1d(self, method: str, kind: str) -> bool:
        """Whether scikit-learn returns one value per sample (a 1-D array) for ``method``."""
        if kind == "label":
            return self.targets is None and not _multilabel(self.estimator)
        if kind == "score_samples":
            return True
        return kind == "values" and _predicts_1d(self.estimator)

    @classmethod
    def from_file(cls, path: str, trust: bool = False) -> SklearnSource:
        """Load a ``.skops`` file (its untrusted types are listed and must be trusted), or a
        pickle/joblib file with ``trust=True`` only, since loading a pickle runs code."""
        extension = os.path.splitext(path)[1].lower()
        name = os.path.splitext(os.path.basename(path))[0]
        if extension == ".skops":
            return cls(_load_skops(path, trust), name=name, path=path)
        if not trust:
            raise ModelLoadError(
                received=f"a {extension} file {path!r}",
                expected="A .skops file, or trust=True for a pickle you made yourself.",
                fix=(
                    "Loading a pickle runs any code inside it. Save the model with "
                    "skops.io.dump(model, 'model.skops'), or pass trust=True (--trust) if you trust the file."
                ),
            )
        try:
            if extension == ".joblib":
                import joblib

                estimator = joblib.load(path)
            else:
                with open(path, "rb") as handle:
                    estimator = pickle.load(handle)  # noqa: S301 -- only with trust=True
        except (pickle.UnpicklingError, EOFError, OSError, ValueError, AttributeError, ImportError) as err:
            raise ModelLoadError(
                received=f"{path!r}, which cannot be unpickled ({type(err).__name__}: {err})",
                expected="A complete pickle of a fitted scikit-learn estimator.",
                fix="Save it again with the scikit-learn version installed here.",
            ) from None
        return cls(estimator, name=name, path=path)

    # ------------------------------------------------------------------ reference
    def predict(self, X: np.ndarray) -> np.ndarray:
        X = self._check(X)
        method = {
            "proba": "predict_proba",
            "decision": "decision_function",
            "values": "predict",
            "transform": "transform",
            "label": "predict",
        }[self.output_kind]
        out = getattr(self.estimator, method)(X)
        if isinstance(out, list):  # a multi-output predict_proba: one array per target
            out = np.hstack(out)
        out = np.asarray(out.toarray() if hasattr(out, "toarray") else out, dtype=np.float64)
        return out.reshape(len(out), -1)

    def predict_one(self, x):
        return self.predict(x)

    def _check(self, X) -> np.ndarray:
        if hasattr(X, "tocsr"):
            raise DataMismatchError(
                received="a sparse matrix",
                expected="A dense numeric array.",
                fix="Call X.toarray() first; the .tflite takes dense input.",
            )
        X = numeric(
            X,
            "Numeric features: the .tflite takes float32 input.",
            "Encode string features as numbers before the estimator (e.g. OrdinalEncoder in your own preprocessing).",
        )
        if X.ndim != 2 or X.shape[1] != self.input_shape[0]:
            raise DataMismatchError(
                received=f"X as {describe_array(X)}",
                expected=f"{self.input_shape[0]} features per sample (the estimator's n_features_in_).",
                fix="Pass the same columns the estimator was fitted on.",
            )
        return X

    def size_bytes(self) -> int:
        """The pickled size: what ``joblib.dump``/``pickle.dump`` would write."""
        if self.path and os.path.isfile(self.path):
            return os.path.getsize(self.path)
        return len(pickle.dumps(self.estimator, protocol=pickle.HIGHEST_PROTOCOL))

    # ------------------------------------------------------------------ conversion
    def graph(self, tf, mode=None):
        """The estimator as a ``tf.function`` of float32 (batch, n_features) input, returning
        ``{method: tensor}`` for every method in :attr:`outputs` (the primary one only in
        a mode whose op set cannot compute labels, see :data:`NO_LABEL_OPS`)."""
        estimator = self.estimator
        outputs_wanted = self.outputs
        if mode is not None and tuple(mode.settings["supported_ops"]) == NO_LABEL_OPS:
            outputs_wanted = {self.primary_output: self.outputs[self.primary_output]}

        # autograph=False: builders are plain graph construction; autograph would also rewrite
        # the scikit-learn code some builders call (slow, and not meant for it).
        @tf.function(
            input_signature=[tf.TensorSpec([None, self.input_shape[0]], tf.float32, name="x")],
            autograph=False,
        )
        def model(x):
            outputs = {}
            with graph_cache(), _integer_trees(self.integer_bits), _tables_kept_exact(mode):
                for method, output in outputs_wanted.items():
                    out = build(estimator, x, output)
                    if isinstance(out, list):  # one tensor per target (see _file_names)
                        for name, part in zip(self._file_names(method), out, strict=True):
                            outputs[name] = tf.identity(part, name=name)
                        continue
                    if self.flat[method] or (output == "decision" and out.shape[-1] == 1):
                        out = tf.reshape(out, [-1])
                    outputs[method] = tf.identity(out, name=method)
            return outputs

        return model

    def spec(self):
        if self.integer_bits is not None:
            return ("sklearn_integer_trees", (self.estimator, self.integer_bits))
        return ("sklearn", self.estimator)

    def integer_trees(self, mode, samples) -> SklearnSource | None:
        """This source as integer trees for ``mode`` (one of :data:`INTEGER_TREE_MODES`), or
        None where the mode does not make them (another mode, or no tree ensemble).

        Raises
        ------
        ConversionError
            When ``samples`` (calibration samples, or the data it is to run on) hold NaN: an
            integer tree has no route for it.
        """
        bits = INTEGER_TREE_MODES.get(getattr(mode, "name", None))
        if bits is None or not uses_trees(self.estimator):
            return None
        if samples is not None and np.isnan(np.asarray(samples, dtype=np.float64)).any():
            raise ConversionError(
                received=f"samples with NaN (missing values) for {mode.name} of a {type(self.estimator).__name__}",
                expected=(
                    "Samples without NaN: its integer trees put every feature on a grid, where NaN "
                    "has no place, so NaN cannot follow the route scikit-learn gives it."
                ),
                fix="Keep float32 (exact, NaN routed as scikit-learn does) for data with missing values, "
                "or impute them before the model.",
            )
        variant = copy.copy(self)
        variant.integer_bits = bits
        variant.made_by = INTEGER_TREES_PATH
        variant.float32_file = None  # its own graph: not the exact float32 file
        return variant

    def converter(self, tf, mode=None):
        module = tf.Module()
        module.model = self.graph(tf, mode)
        concrete = module.model.get_concrete_function()
        return tf.lite.TFLiteConverter.from_concrete_functions([concrete], module)


def uses_trees(estimator) -> bool:
    """Whether ``estimator`` (a pipeline's last step) is rebuilt by the tree traversal."""
    from .ensemble import BUILDERS as ENSEMBLES
    from .tree import BUILDERS as TREES

    return type(_final_step(estimator)) in {**ENSEMBLES, **TREES}


@contextlib.contextmanager
def _integer_trees(bits):
    if bits is None:
        yield
        return
    with integer_trees(bits):
        yield


@contextlib.contextmanager
def _tables_kept_exact(mode):
    """For a converter mode that quantizes or narrows float constants (float16, dynamic, int8,
    int16x8), trees keep their node indices in int32 tables the converter leaves alone."""
    if mode is None or mode.from_float_file or mode.name == "float32":
        yield
        return
    with integer_index_tables():
        yield


def output_kind(estimator) -> str:
    """What the converted graph outputs for this estimator (see ``_registry``)."""
    final = _final_step(estimator)
    estimator_type = _estimator_type(final)
    if estimator_type == "classifier":
        if _has(estimator, "predict_proba"):
            return "proba"
        return "decision" if _has(estimator, "decision_function") else "label"
    if estimator_type == "regressor":
        return "values"
    if estimator_type == "outlier_detector":
        return "decision"
    if estimator_type == "density_estimator" and _has(estimator, "predict_proba"):
        return "proba"
    if estimator_type == "clusterer":
        return "transform" if _has(estimator, "transform") else "label"
    if _has(estimator, "transform") and not _has(estimator, "predict"):
        return "transform"
    return "values"


def output_plan(estimator, primary_kind: str) -> dict[str, str]:
    """``{method: output kind}`` of every method scikit-learn offers for ``estimator`` that
    the rebuild supports, in :data:`METHODS` order (the primary one, ``primary_kind``, was
    checked before); a method whose rebuild refuses (PCA's ``score_samples``) is left out."""
    final = _final_step(estimator)
    labels = _estimator_type(final) in ("classifier", "outlier_detector", "clusterer", "density_estimator")
    kinds = {
        "predict": "label" if labels else "values",
        "predict_proba": "proba",
        "decision_function": "decision",
        "score_samples": "score_samples",
        "transform": "transform",
    }
    plan = {}
    for method in METHODS:
        kind = kinds[method]
        if not _has(estimator, method):
            continue
        if kind == "values" and primary_kind == "transform":
            continue  # a transformer with a predict that is not what it is converted for
        try:
            check_supported(estimator, kind)
        except UnsupportedEstimatorError:
            continue
        plan[method] = kind
    return plan


def _predicts_1d(estimator) -> bool:
    """Whether ``predict`` returns a 1-D array: asked of a copy on one row of zeros (some
    estimators cache state on their first predict; the user's is never touched)."""
    n_features = int(getattr(estimator, "n_features_in_", 0) or 0)
    try:
        return np.ndim(copy.deepcopy(estimator).predict(np.zeros((1, n_features)))) == 1
    except Exception:  # noqa: BLE001 -- any estimator may refuse zeros; then assume one column per target
        return False


def _multilabel(estimator) -> bool:
    """Whether ``predict`` returns an indicator matrix (MLPClassifier fitted on one)."""
    binarizer = getattr(_final_step(estimator), "_label_binarizer", None)
    return getattr(binarizer, "y_type_", None) == "multilabel-indicator"


def _estimator_type(final) -> str | None:
    estimator_type = getattr(final, "_estimator_type", None)
    if estimator_type is None:
        tags = getattr(final, "__sklearn_tags__", None)
        estimator_type = getattr(tags(), "estimator_type", None) if tags else None
    return estimator_type


def _one_vs_one(estimator, classes) -> bool:
    final = _final_step(estimator)
    ovo = getattr(final, "decision_function_shape", None) == "ovo"
    return ovo and classes is not None and len(classes) > 2


def _has(estimator, method: str) -> bool:
    # hasattr runs scikit-learn's available_if checks (e.g. SVC without probability=True).
    try:
        return hasattr(estimator, method)
    except (AttributeError, ValueError):
        return False


def _final_step(estimator):
    steps = getattr(estimator, "steps", None)
    if steps:
        last = steps[-1][1]
        return _final_step(last) if last not in (None, "passthrough") else estimator
    return estimator


def _check_fitted(estimator) -> None:
    from sklearn.exceptions import NotFittedError as SklearnNotFitted
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(estimator)
    except SklearnNotFitted:
        raise NotFittedError(
            received=f"an unfitted {type(estimator).__name__}",
            expected="A fitted estimator: conversion reads what fit() learned.",
            fix=f"Call {type(estimator).__name__}.fit(X, y) first.",
        ) from None
    except TypeError:
        pass  # not an estimator at all; the registry lookup names what is supported


def _load_skops(path: str, trust: bool):
    import skops.io as sio

    path = existing_file(path, ModelLoadError, "A .skops file")
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as err:  # skops raises zipfile, json and its own errors for a bad file
        raise ModelLoadError(
            received=f"{path!r}, which skops cannot read ({type(err).__name__}: {err})",
            expected="A file written by skops.io.dump.",
            fix="Save the model again with skops.io.dump(model, path).",
        ) from None
    if untrusted and not trust:
        raise ModelLoadError(
            received=f"{path!r}, which contains types skops does not trust by default: {', '.join(untrusted)}",
            expected="A .skops file whose types you have checked.",
            fix="If you trust these types, pass trust=True (on the command line: --trust).",
        )
    with captured_output():
        return sio.load(path, trusted=untrusted)
