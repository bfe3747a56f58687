"""k-nearest neighbours: distances to every training point, top-k, then a vote or an average.

Supported: KNeighborsClassifier and KNeighborsRegressor with the Minkowski family of
metrics (``metric="minkowski"`` with any ``p > 0``; ``"euclidean"``/``"l2"``,
``"manhattan"``/``"cityblock"``/``"l1"``, ``"chebyshev"``/``"infinity"``), ``weights``
``"uniform"`` or ``"distance"``, and one target or several (``y`` of shape (n, k):
``predict_proba`` is then a list with one array per target, as in scikit-learn). Not
supported: other metrics (cosine, haversine, ...), ``metric="precomputed"`` (it needs
the distances to the training set at run time), weighted Minkowski, callable weights.

Neighbours are ranked by reduced distances (squared euclidean, the sum or the largest
of the absolute differences) summed in double-float arithmetic (about 44 bits), so
points whose float64 distances differ only beyond float32's 7 digits are ordered as
scikit-learn orders them; another Minkowski ``p`` ranks by ``sum |x - s| ** p`` in
float32, exact where the powers are (small integer differences).

Exactly tied points: the file replays scikit-learn's search (:func:`_ops.heap_nearest`),
every training point pushed into its bounded heap in the order the search visits them:
index order for brute force (``algorithm="brute"``, what ``"auto"`` picks above 15
features) over at most ``_ops.BRUTE_CHUNK`` points, the depth-first order of the
``KDTree`` (what ``"auto"`` picks up to 15 features; :func:`_ops.kd_tree_order`), for at
most ``_ops.REPLAY_LIMIT`` training values. Otherwise (``ball_tree``, brute force over
more points, where scikit-learn's threads split the chunks) ties go to the lower
training index, so a sample whose k-th neighbour is exactly tied with a point of another
class can get a different vote there. The whole training
set is stored in the .tflite.
"""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor, LocalOutlierFactor, NearestCentroid

from . import _ops
from ._checks import check_outlier_detector, checked_by, require_choice, require_output, unsupported
from ._registry import builds_labels, label_table, target_classes

#: scikit-learn's names of the metrics rebuilt, by family (see ``metric_family``).
METRICS = {
    "euclidean": "euclidean",
    "l2": "euclidean",
    "manhattan": "manhattan",
    "cityblock": "manhattan",
    "l1": "manhattan",
    "chebyshev": "chebyshev",
    "infinity": "chebyshev",
    "minkowski": "minkowski",
}
WEIGHTS = ("uniform", "distance")
SUPPORTED_METRICS = (
    "the Minkowski family: metric='minkowski' with any p > 0 (p=1 manhattan, p=2 euclidean, "
    "p=inf chebyshev), or 'euclidean'/'l2', 'manhattan'/'cityblock'/'l1', 'chebyshev'/'infinity', "
    "without metric_params weights"
)


def metric_family(estimator) -> tuple[str, float]:
    """``(family, p)``: "euclidean", "manhattan", "chebyshev" or "minkowski" (with its
    ``p``), from what the fitted estimator really uses (``effective_metric_``)."""
    metric = getattr(estimator, "effective_metric_", estimator.metric)
    params = dict(getattr(estimator, "effective_metric_params_", None) or {})
    p = params.pop("p", 2.0)
    if params.get("w") is None:
        params.pop("w", None)
    if metric == "precomputed":
        raise unsupported(
            estimator,
            "metric='precomputed'",
            SUPPORTED_METRICS,
            "A precomputed metric needs the distances to the training samples at prediction time, "
            "which a .tflite cannot compute from the features; refit on the features with one of "
            "those metrics.",
        )
    if callable(metric) or metric not in METRICS or params:
        shown = "a callable metric" if callable(metric) else f"metric={estimator.metric!r}"
        if params:
            shown += f" with metric_params {sorted(params)}"
        raise unsupported(estimator, shown, SUPPORTED_METRICS, "Refit with one of those metrics.")
    family = METRICS[metric]
    if family == "minkowski":
        p = float(p)
        if p == 1:
            family = "manhattan"
        elif p == 2:
            family = "euclidean"
        elif np.isinf(p):
            family = "chebyshev"
    return family, float(p)


def check_neighbors(estimator, output: str) -> None:
    metric_family(estimator)
    require_choice(estimator, "weights", WEIGHTS, "Refit with one of those weightings.")
    if isinstance(estimator, KNeighborsClassifier):
        require_output(estimator, output, ("proba",))
        targets = target_classes(estimator)
        if targets is not None:
            label_table(estimator, targets)
    else:
        require_output(estimator, output, ("values",))
    if estimator.n_neighbors > estimator.n_samples_fit_:
        raise unsupported(
            estimator,
            f"n_neighbors={estimator.n_neighbors} and only {estimator.n_samples_fit_} training samples",
            "n_neighbors at most the number of training samples",
            "Lower n_neighbors.",
        )


def _fit_points(estimator) -> np.ndarray:
    points = estimator._fit_X
    return np.asarray(points.toarray() if hasattr(points, "toarray") else points, dtype=np.float64)


def small_integers(points: np.ndarray) -> bool:
    """Whether squared distances between integer inputs and ``points`` are exact in float32."""
    if not np.all(points == np.round(points)):
        return False
    largest = float(np.abs(points).max()) if points.size else 0.0
    return (2 * largest) ** 2 * points.shape[1] < 2**24


def replayed_search(estimator) -> str | None:
    """Which of scikit-learn's searches the file replays, ties included: "brute" (over at
    most one chunk of training points: beyond that, how its threads split the chunks
    decides among tied points) or "kd_tree"; None where ties go to the lower index."""
    n, n_features = int(estimator.n_samples_fit_), int(estimator.n_features_in_)
    if n * n_features > _ops.REPLAY_LIMIT:
        return None
    if estimator._fit_method == "brute" and n <= _ops.BRUTE_CHUNK:
        return "brute"
    if estimator._fit_method == "kd_tree":
        return "kd_tree"
    return None


def kd_tree_plan(tree) -> dict:
    """A fitted ``KDTree`` as the tables :func:`_ops.kd_tree_order` takes.

    A leaf's place in the visiting order is the sum, over its ancestors, of the size of the
    sibling subtree wherever its own branch is visited second, which is linear in the 0/1
    "right child first" decisions: ``offset_base + flip @ flip_matrix``.
    """
    _, idx_array, node_data, bounds = tree.get_arrays()
    is_leaf, start, end = node_data["is_leaf"], node_data["idx_start"], node_data["idx_end"]
    inner, leaves, paths, stack = [], [], [], [(0, [])]
    while stack:
        node, path = stack.pop()
        if is_leaf[node]:
            leaves.append(node)
            paths.append(path)
            continue
        inner.append(node)
        stack += [(2 * node + 2, [*path, (len(inner) - 1, 1)]), (2 * node + 1, [*path, (len(inner) - 1, 0)])]
    flip_matrix = np.zeros((max(1, len(inner)), len(leaves)))
    offset_base = np.zeros(len(leaves))
    for column, path in enumerate(paths):
        for row, branch in path:
            sibling = 2 * inner[row] + (2 if branch == 0 else 1)
            size = float(end[sibling] - start[sibling])
            # visited second when its branch differs from the decision: branch + flip - 2 branch flip
            offset_base[column] += size * branch
            flip_matrix[row, column] += size * (1 - 2 * branch)
    leaf_of_point = np.zeros(len(idx_array), dtype=np.int64)
    within_leaf = np.zeros(len(idx_array))
    for column, node in enumerate(leaves):
        members = np.asarray(idx_array[start[node] : end[node]])
        leaf_of_point[members] = column
        within_leaf[members] = np.arange(len(members))
    pairs = [(2 * node + 1, 2 * node + 2) for node in inner] or [(0, 0)]
    return {
        "lower": np.asarray(bounds[0], dtype=np.float64),
        "upper": np.asarray(bounds[1], dtype=np.float64),
        "pairs": pairs,
        "flip_matrix": flip_matrix,
        "offset_base": offset_base,
        "leaf_of_point": leaf_of_point,
        "within_leaf": within_leaf,
    }


@checked_by(check_neighbors)
def build_neighbors(estimator, x, output):
    check_neighbors(estimator, output)
    points = _fit_points(estimator)
    family, p = metric_family(estimator)
    k = int(estimator.n_neighbors)
    search = replayed_search(estimator)
    if search is not None:
        order = None
        if search == "kd_tree":
            plan = kd_tree_plan(estimator._tree)

            def order(x):
                return _ops.kd_tree_order(x, **plan, metric=family, p=p)

        index, reduced, chosen = _ops.nearest_replaying_ties(
            x, points, k, metric=family, p=p, exact_integers=small_integers(points), order=order
        )
    else:
        index, reduced, chosen = _ops.nearest(
            x, points, k, metric=family, p=p, exact_integers=small_integers(points)
        )
    distance = _ops.reduced_to_distance(reduced, family, p)
    weight = _ops.neighbour_weights(distance, chosen, estimator.weights)
    if not isinstance(estimator, KNeighborsClassifier):
        table = np.asarray(estimator._y, dtype=np.float64).reshape(len(points), -1)
        return _ops.neighbour_average(index, weight, table)
    targets = target_classes(estimator)
    encoded = np.asarray(estimator._y).reshape(len(points), -1)
    widths = [len(c) for c in targets] if targets is not None else [len(estimator.classes_)]
    # one block of one-hot columns per target: every target's vote in one average
    table = np.concatenate([np.eye(n)[encoded[:, k]] for k, n in enumerate(widths)], axis=1)
    proba = _ops.neighbour_average(index, weight, table)
    return proba if targets is None else _ops.split_columns(proba, widths)


def check_lof(estimator, output: str) -> None:
    check_outlier_detector(estimator, output)
    if metric_family(estimator)[0] != "euclidean":
        raise unsupported(
            estimator,
            f"metric={estimator.metric!r}",
            "the euclidean metric",
            "Refit with metric='euclidean'.",
        )
    if not estimator.novelty:
        raise unsupported(
            estimator,
            "novelty=False",
            "novelty=True (without it scikit-learn has no predict for new data)",
            "Refit with LocalOutlierFactor(novelty=True).",
        )


@builds_labels
@checked_by(check_lof)
def build_lof(estimator, x, output):
    """LocalOutlierFactor(novelty=True): ``score_samples`` is minus the mean, over the k
    nearest training points, of their local reachability density over the sample's, whose
    reach distances are ``max(distance, the neighbour's k-distance)``; the decision is that
    minus ``offset_``, ``predict`` -1 where it is below 0."""
    check_lof(estimator, output)
    points = _fit_points(estimator)
    k = int(estimator.n_neighbors_)
    index, d2, chosen = _ops.nearest(x, points, k, exact_integers=small_integers(points))
    k_distance = np.asarray(estimator._distances_fit_X_, dtype=np.float64)[:, k - 1]
    scores = _ops.lof_scores(index, d2, chosen, k_distance, np.asarray(estimator._lrd, dtype=np.float64), k)
    return _ops.outlier_outputs(scores, float(estimator.offset_), output)


def check_centroid(estimator, output: str) -> None:
    require_output(estimator, output, ("label", "proba", "decision"))
    if estimator.metric != "euclidean":
        raise unsupported(
            estimator,
            f"metric={estimator.metric!r}",
            "the euclidean metric",
            "Refit with metric='euclidean'.",
        )


@builds_labels
@checked_by(check_centroid)
def build_centroid(estimator, x, output):
    """NearestCentroid: ``predict`` is the nearest centroid (the first on a tie); the
    scores behind ``predict_proba``/``decision_function`` are ``-|(x - c_k) / s|² + 2 log
    prior_k`` with ``s`` the within-class deviation (1 where it is 0)."""
    check_centroid(estimator, output)
    centroids = np.asarray(estimator.centroids_, dtype=np.float64)
    classes = np.asarray(estimator.classes_)
    if output == "label":
        return _ops.take(classes, _ops.argmax(-_ops.squared_distances(x, centroids)))
    deviation = np.asarray(estimator.within_class_std_dev_, dtype=np.float64)
    deviation = np.where(deviation != 0, deviation, 1.0)
    transforms = np.broadcast_to(np.diag(1.0 / deviation), (len(centroids),) + deviation.shape * 2).copy()
    scores = _ops.add(
        -1.0 * _ops.quadratic_forms(x, centroids, transforms), 2.0 * np.log(estimator.class_prior_)
    )
    if output == "proba":
        return _ops.softmax(scores)
    return scores[:, 1:] - scores[:, :1] if len(classes) == 2 else scores


BUILDERS = {
    KNeighborsClassifier: build_neighbors,
    KNeighborsRegressor: build_neighbors,
    NearestCentroid: build_centroid,
    LocalOutlierFactor: build_lof,
}
