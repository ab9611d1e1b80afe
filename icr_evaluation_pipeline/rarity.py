"""Per-sample intra-class rarity scores, computed the way icrlearn's ICR forest computes them.

The features are robust-scaled first (as `ICRRandomForestClassifier.calculate_rarity_scores`
does), then scored with CB-LoOP or L2Class. The result is a float64 array aligned with the rows,
finite and within [0, 1]:

- a class of one sample scores 1 under CB-LoOP (icrlearn's rule: alone in its class is rare);
- a class smaller than the neighbourhood is scored with a neighbourhood of (class size - 1)
  (PyNomaly shrinks it; the report counts the classes);
- duplicated rows get equal scores, and a class of identical rows scores 0 everywhere;
- a non-finite score is set to `min_score` and counted; no finite score at all is an error.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from icrlearn.rarity import calculate_cb_loop, calculate_l2class
from sklearn.preprocessing import robust_scale

from icr_evaluation_pipeline.datasets.base import DatasetError

RarityMeasure = Literal["cb_loop", "l2class"]


@dataclass(frozen=True)
class RaritySettings:
    measure: RarityMeasure = "cb_loop"
    n_neighbors: int | None = None  # None: icrlearn's defaults, 10 for CB-LoOP, 5 for L2Class
    cb_loop_extent: int = 3
    l2class_psi: float = 1.0
    min_score: float = 0.0


def rarity_scores(
    name: str, X: pd.DataFrame, y: pd.Series, settings: RaritySettings
) -> tuple[np.ndarray, dict]:
    """Return the scores and a report (non-finite values repaired, neighbourhoods shrunk)."""
    features = robust_scale(X.to_numpy(dtype="float64"))
    labels = y.to_numpy()
    report: dict = {"measure": settings.measure}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if settings.measure == "cb_loop":
            scores = calculate_cb_loop(
                features,
                labels,
                min_score=settings.min_score,
                extent=settings.cb_loop_extent,
                n_neighbors=settings.n_neighbors or 10,
            )
        elif settings.measure == "l2class":
            n_neighbors = min(settings.n_neighbors or 5, len(labels))
            scores = calculate_l2class(
                features,
                labels,
                n_neighbors=n_neighbors,
                psi=settings.l2class_psi,
                beta=settings.min_score,
            )
        else:
            raise DatasetError(name, f"unknown rarity measure {settings.measure!r}")
    shrunk = [str(w.message) for w in caught if "n_neighbors" in str(w.message)]
    if shrunk:
        report["neighbourhoods_shrunk_for_small_classes"] = len(shrunk)
    scores = np.asarray(scores, dtype="float64").reshape(-1)
    if scores.shape[0] != len(labels):
        raise DatasetError(name, f"rarity measure returned {scores.shape[0]} scores")
    not_finite = ~np.isfinite(scores)
    if not_finite.all():
        raise DatasetError(name, f"{settings.measure} gave no finite rarity score")
    if not_finite.any():
        # CB-LoOP is undefined where every neighbour is a duplicate: treat those as common.
        report["non_finite_scores_set_to_min"] = int(not_finite.sum())
        scores[not_finite] = settings.min_score
    outside = (scores < 0.0) | (scores > 1.0)
    if outside.any():
        # L2Class with beta > 0.5 scales into [beta, 2 * beta]: values above 1 are capped.
        report["scores_clipped_to_0_1"] = int(outside.sum())
    return np.clip(scores, 0.0, 1.0), report


@dataclass
class RarityResult:
    """Scores aligned with the preprocessed rows, and the settings that produced them."""

    scores: np.ndarray
    settings: RaritySettings
    report: dict
