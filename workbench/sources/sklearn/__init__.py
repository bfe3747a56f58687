"""Fitted scikit-learn estimators and pipelines, rebuilt exactly from TFLite builtin ops."""

from __future__ import annotations

import os
import pickle

import numpy as np

from ..._native import captured_output
from ...errors import DataMismatchError, ModelLoadError, NotFittedError, describe_array
from .. import Source
from ._checks import check_supported
from ._registry import build, builder_for


class SklearnSource(Source):
    """A fitted estimator or pipeline (never modified); its own outputs are the reference."""

    kind = "sklearn"

    def __init__(self, estimator, *, name: str | None = None, path: str | None = None):
        _check_fitted(estimator)
        builder_for(_final_step(estimator))  # unsupported estimators fail here, before any work
        self.output_kind = output_kind(estimator)
        # Settings a builder cannot rebuild (e.g. kernel="precomputed") fail here, not in the converter.
        check_supported(estimator, self.output_kind)
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
            getattr(estimator, "classes_", None) if self.output_kind in ("proba", "decision") else None
        )
        if _one_vs_one(estimator, self.classes):
            self.classes = None  # one column per pair of classes: an argmax would not be a label

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
        }[self.output_kind]
        out = getattr(self.estimator, method)(X)
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
        X = np.asarray(X)
        if X.dtype.kind not in "biuf":
            raise DataMismatchError(
                received=f"X as {describe_array(X)}",
                expected="Numeric features: the .tflite takes float32 input.",
                fix="Encode string features as numbers before the estimator (e.g. OrdinalEncoder in your own preprocessing).",
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
    def graph(self, tf):
        """The estimator as a ``tf.function`` of float32 (batch, n_features) input."""
        estimator, kind = self.estimator, self.output_kind

        # autograph=False: builders are plain graph construction; autograph would also rewrite
        # the scikit-learn code some builders call (slow, and not meant for it).
        @tf.function(
            input_signature=[tf.TensorSpec([None, self.input_shape[0]], tf.float32, name="x")],
            autograph=False,
        )
        def model(x):
            out = build(estimator, x, kind)
            return tf.identity(out, name="output")

        return model

    def spec(self):
        return ("sklearn", self.estimator)

    def converter(self, tf):
        module = tf.Module()
        module.model = self.graph(tf)
        concrete = module.model.get_concrete_function()
        return tf.lite.TFLiteConverter.from_concrete_functions([concrete], module)


def output_kind(estimator) -> str:
    """What the converted graph outputs for this estimator (see ``_registry``)."""
    final = _final_step(estimator)
    estimator_type = getattr(final, "_estimator_type", None)
    if estimator_type is None:
        tags = getattr(final, "__sklearn_tags__", None)
        estimator_type = getattr(tags(), "estimator_type", None) if tags else None
    if estimator_type == "classifier":
        return "proba" if _has(estimator, "predict_proba") else "decision"
    if estimator_type == "regressor":
        return "values"
    if estimator_type == "outlier_detector":
        return "decision"
    if _has(estimator, "transform") and not _has(estimator, "predict"):
        return "transform"
    return "values"


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

    if not os.path.isfile(path):
        raise ModelLoadError(
            received=f"path {path!r}, which does not exist",
            expected="A .skops file.",
            fix="Check the path.",
        )
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
