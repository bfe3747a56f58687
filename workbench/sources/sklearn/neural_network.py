"""Multi-layer perceptrons: dense layers with scikit-learn's activations.

MLPClassifier outputs ``predict_proba``: softmax for several classes, ``[1 - p, p]``
with a logistic output for two (or one: fitted on a single class, scikit-learn still gives
two columns); fitted on a multilabel indicator matrix, one logistic output per label, and
``predict`` the indicator ``p > 0.5``. MLPRegressor outputs its identity last layer.
"""

from __future__ import annotations

import numpy as np
from sklearn.neural_network import MLPClassifier, MLPRegressor

from . import _ops
from ._checks import checked_by, require_choice, require_output, unsupported

ACTIVATIONS = ("identity", "logistic", "tanh", "relu")


def _multilabel(estimator) -> bool:
    binarizer = getattr(estimator, "_label_binarizer", None)
    return getattr(binarizer, "y_type_", None) == "multilabel-indicator"


def check_mlp(estimator, output: str) -> None:
    require_choice(estimator, "activation", ACTIVATIONS, "Refit with one of those activations.")
    if isinstance(estimator, MLPRegressor):
        require_output(estimator, output, ("values",))
        return
    require_output(estimator, output, ("proba",))
    n_classes = len(estimator.classes_)
    logistic = estimator.out_activation_ == "logistic"
    binary = n_classes <= 2 and estimator.n_outputs_ == 1 and logistic  # one class fits too
    multiclass = (
        n_classes > 2 and estimator.n_outputs_ == n_classes and estimator.out_activation_ == "softmax"
    )
    multilabel = estimator.n_outputs_ == n_classes and logistic and _multilabel(estimator)
    if not (binary or multiclass or multilabel):
        raise unsupported(
            estimator,
            f"{estimator.n_outputs_} {estimator.out_activation_} outputs for {n_classes} classes",
            "one target column (binary: one logistic output; multi-class: softmax) or a multilabel "
            "indicator matrix (one logistic output per label)",
            "Refit on one of those kinds of target.",
        )


@checked_by(check_mlp)
def build_mlp(estimator, x, output):
    check_mlp(estimator, output)
    layers = list(zip(estimator.coefs_, estimator.intercepts_, strict=True))
    hidden = x
    for weights, bias in layers[:-1]:
        z = _ops.affine(hidden, np.asarray(weights, np.float64), np.asarray(bias, np.float64))
        hidden = _ops.activation(z, estimator.activation)
    weights, bias = layers[-1]
    z = _ops.affine(hidden, np.asarray(weights, np.float64), np.asarray(bias, np.float64))
    out = _ops.activation(z, estimator.out_activation_)
    if isinstance(estimator, MLPClassifier) and estimator.n_outputs_ == 1:
        return _ops.two_columns(out)
    return out


BUILDERS = {MLPClassifier: build_mlp, MLPRegressor: build_mlp}
