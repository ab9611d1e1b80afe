"""Classification metrics on a test fold and on its rarest samples.

Metrics are computed from one set of predictions per fold (rather than scikit-learn scorers,
which would predict again for every metric and every subset). Macro averages run over the labels
present in the true or predicted labels of the scored samples; a label with no predicted (or no
true) sample scores 0 there (`zero_division=0`) instead of warning. Specificity is
imbalanced-learn's, where an undefined ratio also counts as 0.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
from imblearn.metrics import specificity_score
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

MOST_RARE_SHARE = 0.10


def _averaged(metric: Callable, average: str) -> Callable:
    def score(y_true, y_pred) -> float:
        return float(metric(y_true, y_pred, average=average, zero_division=0.0))

    return score


def _specificity(average: str) -> Callable:
    def score(y_true, y_pred) -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            return float(specificity_score(y_true, y_pred, average=average))

    return score


METRICS: dict[str, tuple[str, Callable]] = {"accuracy": ("accuracy", accuracy_score)}
for _average in ("macro", "micro"):
    METRICS[f"f1_{_average}"] = ("f1", _averaged(f1_score, _average))
    METRICS[f"precision_{_average}"] = ("precision", _averaged(precision_score, _average))
    METRICS[f"recall_{_average}"] = ("recall", _averaged(recall_score, _average))
    METRICS[f"specificity_{_average}"] = ("specificity", _specificity(_average))


def most_rare_name(metric: str) -> str:
    """`accuracy` -> `accuracy_most_rare`; `f1_macro` -> `f1_most_rare_macro`."""
    base, _, average = metric.partition("_")
    return f"{base}_most_rare_{average}" if average else f"{base}_most_rare"


METRIC_NAMES: tuple[str, ...] = tuple(METRICS)
MOST_RARE_METRIC_NAMES: tuple[str, ...] = tuple(most_rare_name(m) for m in METRICS)


def most_rare_mask(scores: np.ndarray, share: float = MOST_RARE_SHARE) -> np.ndarray:
    """The `share` of samples with the highest rarity score, rounded up (at least one); ties by
    position. Rounding guards the ceiling against float error (0.07 * 100 = 7.000000000000001).
    """
    n = len(scores)
    k = max(1, math.ceil(round(share * n, 9))) if n else 0
    order = np.argsort(-np.asarray(scores), kind="stable")
    mask = np.zeros(n, dtype=bool)
    mask[order[:k]] = True
    return mask


def fold_metrics(y_true, y_pred, rarity: np.ndarray, share: float = MOST_RARE_SHARE) -> dict:
    """All metrics on the whole test fold and on its rarest `share` of samples."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    rare = most_rare_mask(rarity, share)
    results = {name: fn(y_true, y_pred) for name, (_, fn) in METRICS.items()}
    for name, (_, fn) in METRICS.items():
        results[most_rare_name(name)] = fn(y_true[rare], y_pred[rare])
    results["n_test"] = int(len(y_true))
    results["n_most_rare"] = int(rare.sum())
    return results
