"""Seeded k folds that keep both the class balance and the spread of rarity in every fold.

Each sample's stratum is its class combined with its rarity quantile bin inside that class, and
scikit-learn's `StratifiedKFold` (shuffled with `seed`) splits on those strata. A class gets as
many rarity bins as it can fill with at least `n_splits` samples each (at most `n_rarity_bins`):
bins too small for the folds are merged, down to plain class stratification for a small class.
A class with fewer samples than folds cannot appear in every test fold: its samples go to as
many different test folds as it has samples (so it is always in some training folds unless it
has one sample), and the class is listed in the report. When every class is smaller than
`n_splits` the data set is refused with a `DatasetError` naming the classes.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from icr_evaluation_pipeline.datasets.base import DatasetError


def rarity_strata(
    y: pd.Series, scores: np.ndarray, n_splits: int, n_rarity_bins: int
) -> np.ndarray:
    """Stratum label per sample: `<class index>:<rarity bin>`."""
    labels = y.to_numpy()
    strata = np.empty(len(labels), dtype=object)
    for class_index, label in enumerate(pd.unique(labels)):
        members = np.flatnonzero(labels == label)
        n_bins = max(1, min(n_rarity_bins, len(members) // n_splits))
        ranks = pd.Series(scores[members]).rank(method="first").to_numpy() - 1
        bins = (ranks * n_bins // len(members)).astype(int)
        strata[members] = [f"{class_index}:{b}" for b in bins]
    return strata


def make_folds(
    name: str,
    y: pd.Series,
    scores: np.ndarray,
    n_splits: int = 5,
    n_rarity_bins: int = 4,
    seed: int = 42,
) -> tuple[list[tuple[np.ndarray, np.ndarray]], dict]:
    """Return (train, test) index pairs and a report of how the strata were formed."""
    if n_splits < 2:
        raise DatasetError(name, f"n_splits must be at least 2, got {n_splits}")
    if len(y) < n_splits:
        raise DatasetError(name, f"{len(y)} rows cannot fill {n_splits} folds")
    counts = y.value_counts()
    small = {str(k): int(v) for k, v in counts.items() if v < n_splits}
    if len(small) == len(counts):
        raise DatasetError(
            name,
            f"every class has fewer samples than n_splits={n_splits} ({small}); "
            "lower n_splits or add data",
        )
    strata = rarity_strata(y, scores, n_splits, n_rarity_bins)
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # Small strata are expected and reported below instead of warned about.
        warnings.filterwarnings("ignore", message="The least populated class")
        folds = [
            (train.astype("int64"), test.astype("int64"))
            for train, test in splitter.split(np.zeros(len(y)), strata)
        ]
    report = {
        "n_splits": n_splits,
        "seed": seed,
        "n_strata": int(len(set(strata))),
        "test_fold_sizes": [int(len(test)) for _, test in folds],
    }
    if small:
        report["classes_smaller_than_n_splits"] = small
    return folds, report
