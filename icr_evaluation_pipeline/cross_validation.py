"""Cross-validate one model on precomputed folds and summarise its metrics over the folds."""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from icr_evaluation_pipeline.datasets.base import DatasetError
from icr_evaluation_pipeline.metrics import fold_metrics
from icr_evaluation_pipeline.models import ModelSettings, build_model
from icr_evaluation_pipeline.rarity import RaritySettings


def cross_validate(
    name: str,
    model: str,
    X: pd.DataFrame,
    y: pd.Series,
    rarity: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    model_settings: ModelSettings,
    rarity_settings: RaritySettings,
) -> dict[str, Any]:
    """Fit and score `model` on every fold; a failing fold fails the whole data set."""
    features = X.to_numpy(dtype="float64")
    labels = y.to_numpy()
    per_fold: list[dict[str, Any]] = []
    for fold_index, (train, test) in enumerate(folds):
        estimator = build_model(model, model_settings, rarity_settings)
        # icrlearn falls back to the global NumPy RNG when a fold's rarity scores are all zero;
        # seeding it keeps even that path reproducible.
        np.random.seed(model_settings.seed + fold_index)
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="n_neighbors must be less than")
                started = time.perf_counter()
                estimator.fit(features[train], labels[train])
                fitted = time.perf_counter()
                predicted = estimator.predict(features[test])
                scored = time.perf_counter()
        except Exception as exc:
            raise DatasetError(name, f"{model} failed on fold {fold_index}: {exc}") from exc
        metrics = fold_metrics(labels[test], predicted, rarity[test])
        metrics.update(fold=fold_index, fit_time=fitted - started, score_time=scored - fitted)
        per_fold.append(metrics)
    return {"model": model, "folds": per_fold, "summary": summarise(per_fold)}


def summarise(per_fold: list[dict[str, Any]]) -> dict[str, float]:
    """`mean_<metric>` and `std_<metric>` (population std) over folds for every numeric metric."""
    frame = pd.DataFrame(per_fold).drop(columns=["fold", "n_test", "n_most_rare"])
    summary: dict[str, float] = {}
    for column in frame.columns:
        summary[f"mean_{column}"] = float(frame[column].mean())
        summary[f"std_{column}"] = float(frame[column].std(ddof=0))
    return summary
