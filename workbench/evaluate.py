"""Metrics, fidelity to the original model, and latency measured properly."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from . import _columns as columns
from .datasets import Dataset
from .errors import DataMismatchError
from .runtime import labels_from_scores

#: Regression outputs count as agreeing when within this distance of the original: relative
#: to the value, with a floor of the same fraction of the output's range over the test set, so
#: that outputs near zero are not judged by a tolerance that shrinks to nothing there.
REGRESSION_AGREEMENT_RTOL = 1e-3


def close_to_reference(outputs: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Per sample (rows of 2-D arrays): whether every output is within
    ``REGRESSION_AGREEMENT_RTOL`` of the original's, relative to the value or to the range of
    the original's outputs over all samples, whichever is larger (float rounding always agrees)."""
    finite = reference[np.isfinite(reference)]
    floor = REGRESSION_AGREEMENT_RTOL * float(np.ptp(finite)) if finite.size else 0.0
    return np.isclose(outputs, reference, rtol=REGRESSION_AGREEMENT_RTOL, atol=floor).all(axis=1)


def check_outputs(outputs: np.ndarray, dataset: Dataset, model_name: str) -> None:
    """Raise if the model's outputs cannot be read as the dataset's labels or targets."""
    width = 1 if outputs.ndim == 1 else int(np.prod(outputs.shape[1:]))
    if dataset.task == "regression":
        expected = int(np.prod(dataset.target_shape))
        if expected > 1 and width != expected:
            raise DataMismatchError(
                received=f"model {model_name!r} with {width} outputs per sample",
                expected=f"{expected} outputs per sample, as the targets of {dataset.name!r} have (shape {dataset.target_shape}).",
                fix="Pick the dataset the model was trained on (an autoencoder: Dataset.from_arrays(X, X)).",
            )
        if expected == 1 and width != 1:
            raise DataMismatchError(
                received=f"model {model_name!r} with {width} outputs per sample",
                expected=f"One output per sample for the regression dataset {dataset.name!r}.",
                fix="Use a regression model, or a classification dataset for a classifier.",
            )
        return
    k = dataset.n_classes
    if width != k and not (width == 1 and k == 2) and not covers_some_classes(dataset, width):
        raise DataMismatchError(
            received=f"model {model_name!r} with {width} outputs per sample",
            expected=(
                f"{k} outputs, one per class of {dataset.name!r} ({', '.join(dataset.class_names[:12])}); "
                f"or, for a model with more classes than the labels hold, labels that are class "
                f"indices from 0 to {width - 1}."
            ),
            fix="Pick the dataset the model was trained on, or a model with one output per class.",
        )


def covers_some_classes(dataset: Dataset, width: int) -> bool:
    """Whether the labels are integer class indices into a wider output: a 1,001-class model
    tried on a few labelled samples of some of its classes."""
    classes = np.asarray(dataset.classes)
    return (
        dataset.task == "classification"
        and width > len(classes)
        and width > 1
        and classes.dtype.kind in "iu"
        and int(classes.min()) >= 0
        and int(classes.max()) < width
    )


def output_classes(dataset: Dataset, width: int) -> np.ndarray:
    """The class each output column stands for: the dataset's classes, or, where its labels are
    indices into a wider output (see covers_some_classes), the column indices themselves."""
    return np.arange(width) if covers_some_classes(dataset, width) else dataset.classes


def _width(outputs: np.ndarray) -> int:
    outputs = np.asarray(outputs)
    return 1 if outputs.ndim == 1 else int(np.prod(outputs.shape[1:]))


def score(dataset: Dataset, outputs: np.ndarray, output_kind: str = "proba") -> float:
    """Accuracy (classification) or R² (regression) on the test split; a sample with NaN or
    inf outputs counts as wrong (R² is NaN then)."""
    finite = np.isfinite(np.asarray(outputs).reshape(len(outputs), -1)).all(axis=1)
    if dataset.task == "classification":
        predicted = labels_from_scores(outputs, output_classes(dataset, _width(outputs)), output_kind)
        return float(np.mean((predicted == dataset.y_test) & finite))
    if not finite.all():
        return float("nan")
    if dataset.multi_value:
        return float(np.mean(sample_errors(dataset, outputs)))
    from sklearn.metrics import r2_score

    return float(r2_score(dataset.y_test, outputs.reshape(len(outputs))))


def fidelity(
    dataset: Dataset, reference: np.ndarray, outputs: np.ndarray, output_kind: str = "proba"
) -> tuple[float, float]:
    """(agreement, max |Δ|) between a variant's outputs and the original's.

    Agreement is top-1 label agreement for classification, and for regression (one or many
    values per sample) the fraction of samples whose every output is within
    ``REGRESSION_AGREEMENT_RTOL`` of the original's, relative to the value or to the range of
    the original's outputs, whichever is larger (``close_to_reference``).
    """
    reference = reference.reshape(len(reference), -1).astype(np.float64)
    outputs = outputs.reshape(len(outputs), -1).astype(np.float64)
    max_abs = float(np.max(np.abs(reference - outputs))) if reference.size else 0.0
    if dataset.task == "classification":
        classes = output_classes(dataset, _width(reference))
        same = labels_from_scores(reference, classes, output_kind) == labels_from_scores(
            outputs, classes, output_kind
        )
    else:
        same = close_to_reference(outputs, reference)
    # A sample whose outputs are NaN or inf agrees with nothing, whatever its argmax says.
    same &= np.isfinite(outputs).all(axis=1) & np.isfinite(reference).all(axis=1)
    return float(np.mean(same)), max_abs


def sample_errors(dataset: Dataset, outputs: np.ndarray) -> np.ndarray:
    """Each test sample's mean squared error against its target (an autoencoder's
    reconstruction error, which an anomaly detector thresholds)."""
    outputs = np.asarray(outputs, dtype=np.float64).reshape(len(outputs), -1)
    targets = np.asarray(dataset.y_test, dtype=np.float64).reshape(len(dataset.y_test), -1)
    return np.mean((outputs - targets) ** 2, axis=1)


def error_ranking(dataset: Dataset, reference: np.ndarray, outputs: np.ndarray) -> dict[str, float]:
    """For several values per sample: how well a variant keeps the original's ranking of the
    samples by error (Spearman's rank correlation; an anomaly detector lives on that ranking),
    and with anomaly labels, the ROC AUC of its per-sample error."""
    from scipy.stats import spearmanr

    errors = sample_errors(dataset, outputs)
    columns = {"error_rank_corr": np.nan}
    if np.isfinite(errors).all() and len(errors) > 1:
        original = sample_errors(dataset, reference)
        if np.ptp(errors) == 0 or np.ptp(original) == 0:
            columns["error_rank_corr"] = 1.0 if np.array_equal(errors, original) else np.nan
        else:
            columns["error_rank_corr"] = float(spearmanr(original, errors).statistic)
    if dataset.anomaly_test is not None:
        from sklearn.metrics import roc_auc_score

        labels = dataset.anomaly_test
        finite = np.isfinite(errors).all() and 0 < labels.sum() < len(labels)
        columns["roc_auc"] = float(roc_auc_score(labels, errors)) if finite else np.nan
    return columns


def head_fidelity(reference: np.ndarray, outputs: np.ndarray) -> tuple[float, float]:
    """(agreement, max |Δ|) of an output that no dataset scores: for several columns the
    share of samples with the same argmax, for one column the share close to the original's
    (``close_to_reference``)."""
    reference = np.asarray(reference, dtype=np.float64).reshape(len(reference), -1)
    outputs = np.asarray(outputs, dtype=np.float64).reshape(len(outputs), -1)
    max_abs = float(np.max(np.abs(reference - outputs))) if reference.size else 0.0
    if reference.shape[1] > 1:
        same = reference.argmax(1) == outputs.argmax(1)
    else:
        same = close_to_reference(outputs, reference)
    same &= np.isfinite(outputs).all(axis=1)
    return float(np.mean(same)), max_abs


def nonfinite_rows(outputs: np.ndarray) -> int:
    """How many samples have a NaN or infinite output."""
    outputs = np.asarray(outputs).reshape(len(outputs), -1)
    return int((~np.isfinite(outputs)).any(axis=1).sum())


@dataclass(frozen=True)
class Latency:
    """Latency of one model: single-sample median and p90, and one batched call."""

    p50_ms: float
    p90_ms: float
    batch_ms: float
    batch_size: int
    repeats: int


def measure_latency(
    call_one,
    call_batch,
    sample: np.ndarray,
    batch: np.ndarray,
    *,
    budget_s: float = 1.0,
    warmup: int = 5,
    min_repeats: int = 10,
    max_repeats: int = 2000,
) -> Latency:
    """Time single-sample and batched calls: warm-up first, then repeats within a time budget.

    ``call_one(sample)`` and ``call_batch(batch)`` are called exactly as a user would call
    the model; the result of each call is discarded. Two thirds of the budget go to
    single-sample calls, one third to batched calls; at least ``min_repeats`` of each run
    whatever the budget, unless one call alone takes longer than its share: then, after that
    first (warm-up) call, one more is timed (a slow int16 model's batch in the widget's short
    budget; ``compare()``'s default budget times the usual repeats).
    """
    single = _time_calls(call_one, sample, budget_s * 2 / 3, warmup, min_repeats, max_repeats)
    batched = _time_calls(call_batch, batch, budget_s / 3, 2, max(3, min_repeats // 3), max_repeats)
    return Latency(
        p50_ms=float(np.median(single)) * 1e3,
        p90_ms=float(np.percentile(single, 90)) * 1e3,
        batch_ms=float(np.median(batched)) * 1e3,
        batch_size=len(batch),
        repeats=len(single),
    )


def _time_calls(call, x, budget_s, warmup, min_repeats, max_repeats) -> np.ndarray:
    started = time.perf_counter()
    call(x)  # the first warm-up call, timed to see whether the budget holds a few more
    if time.perf_counter() - started > budget_s:
        warmup, min_repeats = 1, 1
    for _ in range(warmup - 1):
        call(x)
    times = []
    deadline = time.perf_counter() + budget_s
    while len(times) < max_repeats and (len(times) < min_repeats or time.perf_counter() < deadline):
        start = time.perf_counter()
        call(x)
        times.append(time.perf_counter() - start)
    return np.asarray(times)


@dataclass
class Judge:
    """Everything needed to score a variant against the original, and nothing more.

    A :class:`workbench.compare.Bench` builds one once its original is measured; it pickles
    small (the test split, the original's outputs and figures, no training split, no
    model), so a sweep sends it to every worker process, or to a Dask cluster, with the
    variants to score. Scoring needs ``ai_edge_litert`` and numpy only.
    """

    data: Dataset
    X: object
    batch: object
    reference: np.ndarray
    output_kind: str
    original_metric: float
    original_size: int
    original_latency: Latency | None
    latency_budget: float
    #: Heads that are not scored: (label, output name, the original's outputs).
    others: list = None

    def row(self, variant, mode, converted, outputs, latency: Latency, convert_s=np.nan, path="") -> dict:
        """The table row of ``converted`` (whose outputs on ``X`` are ``outputs``)."""
        size = converted.size_bytes if converted is not None else self.original_size
        metric = score(self.data, outputs, self.output_kind)
        agreement, max_abs = fidelity(self.data, self.reference, outputs, self.output_kind)
        broken = nonfinite_rows(outputs)
        original_latency = self.original_latency or latency
        ranking = error_ranking(self.data, self.reference, outputs) if self.data.multi_value else {}
        row = columns.row(**{
            "variant": variant,
            "mode": mode,
            "path": path,
            "size_bytes": int(size),
            "size_ratio": size / (self.original_size or size),
            self.data.metric: metric,
            "metric_delta": metric - self.original_metric,
            "agreement": agreement,
            "max_abs_diff": max_abs,
            **ranking,
            "latency_ms_p50": latency.p50_ms,
            "latency_ms_p90": latency.p90_ms,
            "batch_latency_ms": latency.batch_ms,
            "speedup": original_latency.p50_ms / latency.p50_ms,
            "convert_s": convert_s,
            "calibration": (converted.calibration or "") if converted is not None else "",
            "error": (f"outputs NaN or inf for {broken} of {len(outputs)} test samples" if broken else ""),
            "note": "",
        })  # fmt: skip
        for label, key, reference in self.others or ():
            if converted is None:
                agreement, max_abs = 1.0, 0.0
            else:
                agreement, max_abs = head_fidelity(reference, converted.run_output(self.X, key))
            row[f"agreement[{label}]"] = agreement
            row[f"max_abs_diff[{label}]"] = max_abs
        return row

    def time(self, call) -> Latency:
        """Single-sample and batched latency of ``call``, within this judge's budget."""
        from . import _inputs

        return measure_latency(
            call, call, _inputs.take(self.X, slice(0, 1)), self.batch, budget_s=self.latency_budget
        )

    def measure(self, converted, variant, mode, convert_s=np.nan, path="") -> tuple[dict, np.ndarray]:
        """Run ``converted`` on the test split, time it, and return its row and its outputs."""
        outputs = converted.run(self.X)
        latency = self.time(converted.invoke_raw)
        return self.row(variant, mode, converted, outputs, latency, convert_s, path), outputs
