"""Rarity scores on awkward classes and features: finite, in [0, 1], aligned with their rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from icr_evaluation_pipeline.datasets.base import DatasetError
from icr_evaluation_pipeline.rarity import RaritySettings, rarity_scores
from icr_evaluation_pipeline_tests import messy_data as md

MEASURES = ["cb_loop", "l2class"]


def split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    return frame.drop(columns=["class"]).astype("float64"), frame["class"]


def assert_valid(scores: np.ndarray, n: int) -> None:
    assert scores.shape == (n,) and scores.dtype == np.float64
    assert np.isfinite(scores).all()
    assert ((scores >= 0) & (scores <= 1)).all()


@pytest.mark.parametrize("measure", MEASURES)
def test_one_sample_class(measure):
    X, y = split(md.one_row_class())
    scores, _ = rarity_scores("one", X, y, RaritySettings(measure=measure))
    assert_valid(scores, len(y))
    if measure == "cb_loop":
        assert scores[(y == "lonely").to_numpy()].tolist() == [1.0]  # alone in its class: rare


@pytest.mark.parametrize("measure", MEASURES)
def test_class_smaller_than_the_neighbourhood(measure):
    X, y = split(md.three_row_class())
    scores, report = rarity_scores("few", X, y, RaritySettings(measure=measure, n_neighbors=10))
    assert_valid(scores, len(y))
    if measure == "cb_loop":
        assert report["neighbourhoods_shrunk_for_small_classes"] == 1


@pytest.mark.parametrize("measure", MEASURES)
def test_constant_feature(measure):
    X, y = split(md.constant_column())
    scores, _ = rarity_scores("constant", X, y, RaritySettings(measure=measure))
    assert_valid(scores, len(y))
    if measure == "cb_loop":
        assert scores.max() > 0  # the constant column does not wipe out the other features


def test_duplicated_rows_score_alike_and_mass_duplicates_score_zero():
    X, y = split(md.every_row_duplicated(copies=2))
    scores, _ = rarity_scores("twice", X, y, RaritySettings())
    assert_valid(scores, len(y))
    np.testing.assert_array_equal(scores[0::2], scores[1::2])

    X, y = split(md.every_row_duplicated(copies=12))
    scores, _ = rarity_scores("twelve", X, y, RaritySettings())
    assert_valid(scores, len(y))
    assert not scores.any()  # every neighbourhood is a stack of copies: nothing is rare


@pytest.mark.parametrize("measure", MEASURES)
def test_scores_follow_their_rows_when_rows_are_shuffled(measure):
    X, y = split(md.blobs({"a": 40, "b": 25, "c": 12}, seed=3))
    settings = RaritySettings(measure=measure)
    scores, _ = rarity_scores("ordered", X, y, settings)
    order = np.random.default_rng(0).permutation(len(y))
    shuffled, _ = rarity_scores(
        "shuffled",
        X.iloc[order].reset_index(drop=True),
        y.iloc[order].reset_index(drop=True),
        settings,
    )
    np.testing.assert_allclose(shuffled, scores[order], atol=1e-12)


def test_l2class_counts_other_class_neighbours():
    # two tight pairs of class a, one b point right next to the second pair
    X = pd.DataFrame({"x": [0.0, 0.1, 10.0, 10.1, 10.05]})
    y = pd.Series(["a", "a", "a", "a", "b"])
    scores, _ = rarity_scores("l2", X, y, RaritySettings(measure="l2class", n_neighbors=2))
    # neighbours include the point itself: a@0 [self, a] -> 0; a@10 [self, b] -> 1/2;
    # b [self, a] -> 1/2
    np.testing.assert_allclose(scores, [0.0, 0.0, 0.5, 0.5, 0.5])


def test_l2class_min_score_above_half_is_capped_at_one():
    # 20 points of class a alone, then 20 points alternating a / b: 2 of 5 neighbours differ
    X = pd.DataFrame({"x": np.r_[np.arange(20.0), 100 + np.arange(20.0)]})
    y = pd.Series(["a"] * 20 + ["a", "b"] * 10)
    scores, report = rarity_scores("capped", X, y, RaritySettings(measure="l2class", min_score=0.8))
    # beta (p + 1): 0.8 where p = 0, 0.8 * 1.4 = 1.12 -> 1 where p = 2/5
    np.testing.assert_allclose(scores[:20], 0.8)
    np.testing.assert_allclose(scores[20:], 1.0)
    assert report["scores_clipped_to_0_1"] == 20


def test_unknown_measure_is_a_named_error():
    X, y = split(md.blobs({"a": 5, "b": 5}))
    with pytest.raises(DatasetError, match="data set 'x': unknown rarity measure 'lof'"):
        rarity_scores("x", X, y, RaritySettings(measure="lof"))  # type: ignore[arg-type]
