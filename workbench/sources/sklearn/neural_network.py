"""Multi-layer perceptrons: dense layers with scikit-learn's activations.

MLPClassifier outputs ``predict_proba``: softmax for several classes, ``[1 - p, p]``
with a logistic output for two. MLPRegressor outputs its identity last layer.
Multi-label MLPClassifier (an indicator matrix as ``y``) is not supported.
"""

from __future__ import annotations

import numpy as np
from sklearn.neural_network import MLPClassifier, MLPRegressor

from . import _ops
from ._checks import checked_by, require_output, unsupported

ACTIVATIONS = ("identity", "logistic", "tanh", "relu")


def check_mlp(estimator, output: str) -> None:
    if estimator.activation not in ACTIVATIONS:
        raise unsupported(
            estimator,
            f"activation={estimator.activation!r}",
            f"activation one of {', '.join(ACTIVATIONS)}",
            "Refit with one of those activations.",
        )
    if isinstance(estimator, MLPRegressor):
        require_output(estimator, output, ("values",))
        return
    require_output(estimator, output, ("proba",))
    n_classes = len(estimator.classes_)
    binary = n_classes == 2 and estimator.n_outputs_ == 1 and estimator.out_activation_ == "logistic"
    multiclass = (
        n_classes > 2 and estimator.n_outputs_ == n_classes and estimator.out_activation_ == "softmax"
    )
    if not (binary or multiclass):
        raise unsupported(
            estimator,
            f"{estimator.n_outputs_} logistic outputs (a multi-label target)",
            "a single target column: binary (logistic output) or multi-class (softmax output)",
            "Fit one MLPClassifier per label, or encode the labels as one multi-class target.",
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
