"""The two models under comparison, built from one settings object so both share seed and size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from icrlearn import ICRRandomForestClassifier
from sklearn.base import ClassifierMixin
from sklearn.ensemble import RandomForestClassifier

from icr_evaluation_pipeline.rarity import RaritySettings

ModelName = Literal["rf", "icr-rf"]
MODEL_NAMES: tuple[str, ...] = ("rf", "icr-rf")
RarityAdjustment = Literal["bootstrap_sampling", "sample_weights"]


@dataclass(frozen=True)
class ModelSettings:
    n_estimators: int = 100
    seed: int = 42
    n_jobs: int = 1
    rarity_adjustment_method: RarityAdjustment = "bootstrap_sampling"


class SeededICRRandomForestClassifier(ICRRandomForestClassifier):
    """icrlearn's ICR forest, reproducible when no training sample is rare.

    When every rarity score of the training data is 0, icrlearn 0.0.1 draws the bootstrap from
    the unseeded global NumPy RNG, from several threads at once when `n_jobs > 1` (so results
    change from run to run), and with `sample_weights` it trains on all-zero weights (NaN
    probabilities). Equal scores mean no sample is rarer than another, so they are replaced by
    ones: a uniform bootstrap drawn from each tree's own seeded RNG, or equal weights.
    `all_rarity_zero_` tells whether that happened in the last `fit`.
    """

    def calculate_rarity_scores(self, X, y):
        scores = np.asarray(super().calculate_rarity_scores(X, y), dtype="float64")
        self.all_rarity_zero_ = bool(not np.any(scores))
        return np.ones_like(scores) if self.all_rarity_zero_ else scores


def build_model(model: str, settings: ModelSettings, rarity: RaritySettings) -> ClassifierMixin:
    """A fresh, seeded, unfitted classifier; the ICR forest scores rarity like `rarity_scores`."""
    common = dict(
        n_estimators=settings.n_estimators, random_state=settings.seed, n_jobs=settings.n_jobs
    )
    if model == "rf":
        return RandomForestClassifier(**common)
    if model == "icr-rf":
        return SeededICRRandomForestClassifier(
            **common,
            rarity_measure=rarity.measure,
            rarity_adjustment_method=settings.rarity_adjustment_method,
            n_neighbors=rarity.n_neighbors,
            min_rarity_score=rarity.min_score,
            cb_loop_extent=rarity.cb_loop_extent,
            l2class_psi=rarity.l2class_psi,
        )
    raise ValueError(f"unknown model {model!r}; expected one of {MODEL_NAMES}")
