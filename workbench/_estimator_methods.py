"""A converted file's scikit-learn face: ``predict``, ``predict_proba``, ``decision_function``,
``transform`` and ``score_samples``, each read from the file's output of that name.

A mixin of :class:`workbench.runtime.Converted`: it needs only the class's ``run``,
``run_output``, ``run_all``, ``output_names``, ``output_kind`` and ``classes``.
"""

from __future__ import annotations

import numpy as np

from ._tensors import labels_from_scores
from .errors import DataMismatchError


class EstimatorMethods:
    """The methods an estimator has, for a file whose outputs are named after them."""

    def predict(self, X, batch_size: int | None = None) -> np.ndarray:
        """What the original's ``predict`` returns: scikit-learn's labels (computed in the
        file, strings included) or values, in its shape; a Keras model's (dequantized)
        outputs, and for a model with several heads all of them, by name, in Keras's order
        (a dict, never one head in place of another).

        Parameters
        ----------
        X : array-like of shape (n_samples, *input_shape)
        batch_size : int, default=None
            Samples per interpreter call; ``None`` uses up to 256.
        """
        if "predict" in self.output_names:
            return self._labels(self.run_output(X, "predict", batch_size))
        if len(self.output_names) > 1 and self.classes is None:
            return self.run_all(X, batch_size)
        outputs = self.run(X, batch_size)
        if self.classes is None:
            return outputs
        return labels_from_scores(outputs, self.classes, self.output_kind)

    def predict_proba(self, X, batch_size: int | None = None) -> np.ndarray | list[np.ndarray]:
        """Class probabilities, as the estimator's ``predict_proba``: for a multi-output
        classifier a list with one array per target (outputs ``predict_proba_0``, ...)."""
        return self._method(X, "predict_proba", "proba", batch_size)

    def decision_function(self, X, batch_size: int | None = None) -> np.ndarray:
        """Decision values, as the estimator's ``decision_function`` (1-D for a binary problem)."""
        outputs = self._method(X, "decision_function", "decision", batch_size)
        return outputs[:, 0] if outputs.ndim == 2 and outputs.shape[1] == 1 else outputs

    def transform(self, X, batch_size: int | None = None) -> np.ndarray:
        """The transformed features, as the estimator's ``transform``."""
        return self._method(X, "transform", "transform", batch_size)

    def score_samples(self, X, batch_size: int | None = None) -> np.ndarray:
        """Per-sample scores, as the estimator's ``score_samples`` (outlier detectors)."""
        return self._method(X, "score_samples", None, batch_size)

    def _method(self, X, method: str, kind: str | None, batch_size):
        if method in self.output_names:
            return self.run_output(X, method, batch_size)
        per_target = [
            name
            for name in self.output_names
            if name.rpartition("_")[0] == method and name.rpartition("_")[2].isdigit()
        ]
        if per_target:  # one output per target of a multi-output estimator, in target order
            outputs = self.run_all(X, batch_size, names=per_target)
            return [outputs[name] for name in per_target]
        if kind is not None and self.output_kind == kind and len(self.output_names) == 1:
            return self.run(X, batch_size)  # a single-output file converted before outputs had names
        raise DataMismatchError(
            received=f"{method}() on a model whose outputs are {', '.join(self.output_names)}",
            expected=f"A model with a {method!r} output.",
            fix=(
                f"The original estimator has no {method} that the workbench rebuilds; "
                f"use run_all() for every output the file has."
            ),
        )

    def _labels(self, labels: np.ndarray) -> np.ndarray:
        if labels.dtype == object:  # TFLite strings come back as bytes
            return np.array([label.decode("utf-8") for label in labels.ravel()], dtype=str).reshape(
                labels.shape
            )
        if self.classes is not None and self.classes.dtype.kind in "biuf":
            return labels.astype(self.classes.dtype)
        return labels
