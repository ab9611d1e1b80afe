"""Cross-validation gives the same numbers whatever ran before and however many threads fit.

The hard case is a data set where CB-LoOP scores every training sample 0 (every row repeated
more often than the neighbourhood is large): icrlearn 0.0.1 then draws its bootstrap from the
global NumPy RNG. The evaluation job end to end, twice in fresh stores, is in
`test_messy_datasets.py`.
"""

from __future__ import annotations

import numpy as np
from icrlearn import ICRRandomForestClassifier

from icr_evaluation_pipeline.cross_validation import cross_validate
from icr_evaluation_pipeline.folds import make_folds
from icr_evaluation_pipeline.models import ModelSettings
from icr_evaluation_pipeline.preprocessing import PreprocessingSettings, preprocess
from icr_evaluation_pipeline.rarity import RaritySettings, rarity_scores
from icr_evaluation_pipeline_tests import messy_data as md

TIMES = ("fit_time", "score_time")


def evaluate(model: str, n_jobs: int, global_seed: int) -> list[dict]:
    data = preprocess(md.as_raw(md.conflicting_duplicates(), name="dups"), PreprocessingSettings())
    settings = RaritySettings()
    scores, _ = rarity_scores(data.name, data.X, data.y, settings)
    folds, _ = make_folds(data.name, data.y, scores, n_splits=3)
    np.random.seed(global_seed)  # whatever ran before in this process
    result = cross_validate(
        data.name,
        model,
        data.X,
        data.y,
        scores,
        folds,
        ModelSettings(n_estimators=15, n_jobs=n_jobs),
        settings,
    )
    return [{k: v for k, v in fold.items() if k not in TIMES} for fold in result["folds"]]


def test_icr_forest_ignores_global_rng_and_thread_count_when_rarity_is_all_zero():
    first = evaluate("icr-rf", n_jobs=2, global_seed=1)
    assert all(fold["all_rarity_zero"] for fold in first)
    assert evaluate("icr-rf", n_jobs=2, global_seed=2) == first
    assert evaluate("icr-rf", n_jobs=1, global_seed=3) == first


def test_plain_forest_is_reproducible_too():
    assert evaluate("rf", n_jobs=2, global_seed=1) == evaluate("rf", n_jobs=1, global_seed=2)


def test_upstream_icr_forest_depends_on_the_global_rng_in_that_case():
    """Why `SeededICRRandomForestClassifier` exists: the same seed, other global RNG state,
    other trees. If icrlearn fixes this, this test fails and the subclass can go."""
    frame = md.conflicting_duplicates()
    X, y = frame[["f0", "f1", "f2"]].to_numpy(), frame["class"].to_numpy()
    probabilities = []
    for global_seed in (1, 2):
        np.random.seed(global_seed)
        forest = ICRRandomForestClassifier(n_estimators=15, random_state=0, n_jobs=1).fit(X, y)
        probabilities.append(forest.predict_proba(X))
    assert not np.array_equal(*probabilities)
