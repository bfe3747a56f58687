"""The user's names for the layers: a graph node, a tensor or an op of a ``.tflite``, named as
the user knows it (a Keras layer, a scikit-learn ``coefs_[i]``/``coef_``, or the scope the
file's tensor names carry)."""

from __future__ import annotations

import difflib

from ._worker import run as run_in_worker


class LayerMapper:
    """Maps graph node and tensor names to the user's layer names (or estimator steps)."""

    def __init__(self, graph_ops: list[tuple[str, str]], layers: list[tuple[str, str]]):
        self.graph_ops = graph_ops
        self._layers = layers  # (name, description) in model order
        self._by_segment: dict[str, str] = {}
        unused = list(layers)
        for _, name in graph_ops:
            segment = scope(name)
            if segment is None or segment in self._by_segment:
                continue
            # Exports scope layer names with suffixes (conv2d -> conv2d_1); take layers in order.
            for i, (layer, description) in enumerate(unused):
                if segment == layer or segment.startswith(layer + "_"):
                    self._by_segment[segment] = description
                    del unused[: i + 1]
                    break

    def __call__(self, name: str) -> str:
        segment = scope(name.split(";")[0])
        if segment is None:
            return "(model)"
        return self._by_segment.get(segment, segment)


def scope(name: str) -> str | None:
    """The layer scope of a graph node or tensor name (``model/dense_1/MatMul`` → ``dense_1``)."""
    parts = name.split("/")
    return parts[1] if len(parts) > 2 else None


def layer_mapper(source, timeout: float) -> LayerMapper:
    """A :class:`LayerMapper` for ``source``: its graph's ops (read in the worker) and its
    Keras layers, custom ones marked."""
    answer = run_in_worker("graph_ops", {"spec": source.spec()}, timeout, what="graph inspection")
    graph_ops = answer["result"] if answer["ok"] else []
    layers = []
    model = getattr(source, "model", None)
    for layer in getattr(model, "layers", []):
        klass = type(layer)
        custom = not klass.__module__.startswith(("keras.", "tf_keras."))
        description = f"{layer.name} (custom {klass.__name__})" if custom else layer.name
        layers.append((layer.name, description))
    return LayerMapper(graph_ops, layers)


def layer_names(source, ops) -> list[str]:
    """The user's name for each computing op of a ``.tflite`` (each with ``op``, ``position``,
    ``output_name`` and ``weight``): a Keras layer's name, a scikit-learn MLP's ``coefs_[i]``
    or a linear model's ``coef_``; otherwise the scope in the file's tensor names, or the op
    and its position."""
    model = getattr(source, "model", None)
    layers = [(layer.name, layer.name) for layer in getattr(model, "layers", [])]
    # Without the Keras model (a .tflite from elsewhere), the file's own scopes name the layers.
    mapper = LayerMapper([(op.op, op.output_name) for op in ops], layers)
    names = [mapper(op.output_name) for op in ops]
    names = [
        f"{op.op.lower()}_{op.position}" if n == "(model)" else n for n, op in zip(names, ops, strict=True)
    ]
    estimator = final_estimator(getattr(source, "estimator", None))
    weighted = [i for i, op in enumerate(ops) if op.weight is not None and op.op == "FULLY_CONNECTED"]
    if estimator is not None and hasattr(estimator, "coefs_") and len(weighted) == len(estimator.coefs_):
        for k, i in enumerate(weighted):
            names[i] = f"coefs_[{k}]"
    elif estimator is not None and hasattr(estimator, "coef_") and len(weighted) == 1:
        names[weighted[0]] = "coef_"
    # Two ops of one layer (a conv and its activation kept apart) stay told apart.
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return unique


def final_estimator(estimator):
    """The last step of a scikit-learn pipeline (nested ones too), or ``estimator`` itself."""
    while estimator is not None and hasattr(estimator, "steps"):
        estimator = estimator.steps[-1][1]
    return estimator


def nearest_first(name: str, names: list[str]) -> list[str]:
    """``names`` ordered by likeness to ``name``, for an error that suggests the right one."""
    return sorted(names, key=lambda n: -difflib.SequenceMatcher(None, name, n).ratio())
