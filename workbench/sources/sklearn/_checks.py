"""What the family modules share on the scikit-learn side: checks that run before any
TensorFlow, and the errors they raise.

A builder may carry ``builder.check(estimator, output)``: it validates what the builder
will read (kernel, metric, output kind...) without TensorFlow. :func:`check_supported`
runs it when the estimator is wrapped, so an unsupported setting fails with an
:class:`UnsupportedEstimatorError` before conversion starts, not inside the converter.
"""

from __future__ import annotations

from ...errors import UnsupportedEstimatorError
from ._registry import builder_for, label_source

OUTPUT_METHODS = {
    "proba": "predict_proba",
    "decision": "decision_function",
    "values": "predict",
    "transform": "transform",
    "score_samples": "score_samples",
    "label": "predict",
}


#: What every outlier detector offers: ``predict`` (+1 inlier, -1 outlier), ``decision_function``
#: and ``score_samples``.
OUTLIER_OUTPUTS = ("label", "decision", "score_samples")


def checked_by(check):
    """Decorator attaching ``check(estimator, output)`` to a builder as ``builder.check``."""

    def attach(build):
        build.check = check
        return build

    return attach


def check_supported(estimator, output: str) -> None:
    """Raise if ``estimator`` (or a step inside it) cannot be rebuilt for ``output``."""
    builder = builder_for(estimator)
    if output == "label" and not getattr(builder, "builds_labels", False):
        output = label_source(estimator)
    check = getattr(builder, "check", None)
    if check is not None:
        check(estimator, output)


def check_outlier_detector(estimator, output: str) -> None:
    """Raise unless ``output`` is one an outlier detector offers (:data:`OUTLIER_OUTPUTS`)."""
    require_output(estimator, output, OUTLIER_OUTPUTS)


def unsupported(estimator, setting: str, supported: str, fix: str) -> UnsupportedEstimatorError:
    """The error for a supported class used with a setting the rebuild cannot take."""
    name = type(estimator).__name__
    return UnsupportedEstimatorError(
        received=f"a {name} with {setting}",
        expected=f"{name} is rebuilt exactly with {supported}.",
        fix=fix,
    )


def require_choice(estimator, setting: str, allowed: tuple[str, ...], fix: str, why: str = "") -> None:
    """Raise unless the estimator's ``setting`` (an attribute) is one of the names ``allowed``;
    a callable never is. ``why`` follows the list of names in the message."""
    value = getattr(estimator, setting)
    if callable(value) or value not in allowed:
        shown = f"a callable {setting}" if callable(value) else f"{setting}={value!r}"
        names = ", ".join(repr(name) for name in allowed[:-1]) + f" or {allowed[-1]!r}"
        raise unsupported(estimator, shown, f"{setting} {names}{why}", fix)


def require_output(estimator, output: str, allowed: tuple[str, ...]) -> None:
    """Raise unless the builder can produce ``output`` for this estimator."""
    if output not in allowed:
        methods = ", ".join(OUTPUT_METHODS[o] for o in allowed)
        raise unsupported(
            estimator,
            f"output {output!r} ({OUTPUT_METHODS.get(output, output)})",
            f"the outputs of {methods}",
            "Use it where scikit-learn itself offers that method (e.g. as the last step of a pipeline).",
        )
