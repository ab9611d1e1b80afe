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

COUNT_COLUMNS = ("fold", "n_test", "n_most_rare", "all_rarity_zero")


def _fit_predict(estimator, X_train, y_train, X_test) -> tuple[np.ndarray, float, float]:
    """Predictions (from one `predict_proba`, checked for NaN), fit and score seconds."""
    with warnings.catch_warnings():
        # Small classes: PyNomaly shrinks the neighbourhood and says so for every class.
        warnings.filterwarnings("ignore", message="n_neighbors must be less than")
        started = time.perf_counter()
        estimator.fit(X_train, y_train)
        fitted = time.perf_counter()
        probabilities = estimator.predict_proba(X_test)
        scored = time.perf_counter()
    if np.isnan(probabilities).any():
        raise ValueError("the fitted forest gives NaN class probabilities (zero sample weights)")
    predicted = estimator.classes_.take(np.argmax(probabilities, axis=1))
    return predicted, fitted - started, scored - fitted


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
    """Fit and score `model` on every fold; a failing fold fails the whole data set.

    Every fold gets a fresh estimator seeded with `model_settings.seed`, so a result depends only
    on the data, the folds and the settings (not on what ran before in the process).
    """
    features = X.to_numpy(dtype="float64")
    labels = y.to_numpy()
    per_fold: list[dict[str, Any]] = []
    for fold_index, (train, test) in enumerate(folds):
        estimator = build_model(model, model_settings, rarity_settings)
        try:
            predicted, fit_time, score_time = _fit_predict(
                estimator, features[train], labels[train], features[test]
            )
        except Exception as exc:
            raise DatasetError(name, f"{model} failed on fold {fold_index}: {exc}") from exc
        metrics = fold_metrics(labels[test], predicted, rarity[test])
        metrics.update(fold=fold_index, fit_time=fit_time, score_time=score_time)
        if hasattr(estimator, "all_rarity_zero_"):
            metrics["all_rarity_zero"] = estimator.all_rarity_zero_
        per_fold.append(metrics)
    return {"model": model, "folds": per_fold, "summary": summarise(per_fold)}


def summarise(per_fold: list[dict[str, Any]]) -> dict[str, float]:
    """`mean_<metric>` and `std_<metric>` (population std) over folds for every numeric metric."""
    frame = pd.DataFrame(per_fold)
    frame = frame.drop(columns=[c for c in COUNT_COLUMNS if c in frame.columns])
    summary: dict[str, float] = {}
    for column in frame.columns:
        summary[f"mean_{column}"] = float(frame[column].mean())
        summary[f"std_{column}"] = float(frame[column].std(ddof=0))
    return summary
