"""Each metric against values worked out by hand on tiny inputs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from icr_evaluation_pipeline.cross_validation import summarise
from icr_evaluation_pipeline.metrics import (
    METRIC_NAMES,
    METRICS,
    MOST_RARE_METRIC_NAMES,
    fold_metrics,
    most_rare_mask,
    most_rare_name,
)

# y_true a a b c / y_pred a b b b, per class (tp, fp, fn, tn):
#   a (1, 0, 1, 2): precision 1,   recall 1/2, f1 2/3, specificity 2/2
#   b (1, 2, 0, 1): precision 1/3, recall 1,   f1 1/2, specificity 1/3
#   c (0, 0, 1, 3): precision 0/0 -> 0 (zero_division), recall 0, f1 0, specificity 3/3
Y_TRUE = np.array(["a", "a", "b", "c"])
Y_PRED = np.array(["a", "b", "b", "b"])
BY_HAND = {
    "accuracy": 2 / 4,
    "precision_macro": (1 + 1 / 3 + 0) / 3,
    "recall_macro": (1 / 2 + 1 + 0) / 3,
    "f1_macro": (2 / 3 + 1 / 2 + 0) / 3,
    "specificity_macro": (1 + 1 / 3 + 1) / 3,
    # micro: pooled counts; tp 2, fp 2, fn 2 -> 1/2 each; tn 6, fp 2 -> 6/8
    "precision_micro": 2 / 4,
    "recall_micro": 2 / 4,
    "f1_micro": 2 / 4,
    "specificity_micro": 6 / 8,
}


@pytest.mark.parametrize("name", sorted(BY_HAND))
def test_metric_matches_hand_computation(name):
    _, score = METRICS[name]
    assert score(Y_TRUE, Y_PRED) == pytest.approx(BY_HAND[name])


def test_every_metric_has_a_hand_computed_value():
    assert set(BY_HAND) == set(METRIC_NAMES)


def test_label_absent_from_fold_gives_zero_silently():
    """'c' is only predicted, 'b' only true: macro runs over a, b, c; no warning escapes."""
    y_true, y_pred = np.array(["a", "a", "b"]), np.array(["a", "c", "a"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = {name: fn(y_true, y_pred) for name, (_, fn) in METRICS.items()}
    # a: tp 1 fp 1 fn 1 -> p 1/2 r 1/2 f1 1/2; b: tp 0 fn 1 -> 0; c: tp 0 fp 1 -> 0
    assert scores["precision_macro"] == pytest.approx((1 / 2) / 3)
    assert scores["recall_macro"] == pytest.approx((1 / 2) / 3)
    assert scores["f1_macro"] == pytest.approx((1 / 2) / 3)
    # specificity a: tn 0 fp 1 -> 0; b: tn 2 fp 0 -> 1; c: tn 2 fp 1 -> 2/3
    assert scores["specificity_macro"] == pytest.approx((0 + 1 + 2 / 3) / 3)


def test_specificity_undefined_counts_as_zero_like_imbalanced_learn():
    """One label, predicted right: no negatives, so tn / (tn + fp) is 0/0 -> 0."""
    y = np.array(["a", "a"])
    _, macro = METRICS["specificity_macro"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert macro(y, y) == 0.0
    assert macro(np.array(["a", "b"]), np.array(["a", "a"])) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("n", "share", "expected"),
    [
        (0, 0.1, 0),
        (1, 0.1, 1),
        (9, 0.1, 1),
        (10, 0.1, 1),
        (11, 0.1, 2),
        (25, 0.1, 3),
        (100, 0.07, 7),
        (5, 0.4, 2),
    ],
)
def test_most_rare_takes_ceil_of_share_and_at_least_one(n, share, expected):
    assert most_rare_mask(np.linspace(0, 1, n), share).sum() == expected


def test_most_rare_picks_highest_scores_and_breaks_ties_by_position():
    scores = np.array([0.1, 0.9, 0.5, 0.9, 0.0])
    assert most_rare_mask(scores, 0.1).tolist() == [False, True, False, False, False]
    assert most_rare_mask(scores, 0.4).tolist() == [False, True, False, True, False]
    assert most_rare_mask(np.zeros(4), 0.1).tolist() == [True, False, False, False]


def test_fold_metrics_score_the_rarest_samples_separately():
    y_true = np.array(["a"] * 9 + ["b"])
    y_pred = np.array(["a"] * 9 + ["a"])  # only the rare 'b' is wrong
    rarity = np.array([0.0] * 9 + [0.8])
    result = fold_metrics(y_true, y_pred, rarity)
    assert result["accuracy"] == pytest.approx(0.9)
    assert result["accuracy_most_rare"] == 0.0
    assert result["n_test"] == 10 and result["n_most_rare"] == 1
    # on the rarest sample: labels {a, b}, both with tp 0 -> recall 0
    assert result["recall_most_rare_macro"] == 0.0
    assert set(result) >= set(METRIC_NAMES) | set(MOST_RARE_METRIC_NAMES)


def test_most_rare_names():
    assert most_rare_name("accuracy") == "accuracy_most_rare"
    assert most_rare_name("f1_macro") == "f1_most_rare_macro"
    assert most_rare_name("specificity_micro") == "specificity_most_rare_micro"


def test_summary_is_mean_and_population_std_over_folds():
    folds = [
        {"fold": 0, "n_test": 4, "n_most_rare": 1, "accuracy": 0.5, "fit_time": 1.0},
        {"fold": 1, "n_test": 4, "n_most_rare": 1, "accuracy": 1.0, "fit_time": 3.0},
    ]
    summary = summarise(folds)
    assert summary == {
        "mean_accuracy": 0.75,
        "std_accuracy": 0.25,
        "mean_fit_time": 2.0,
        "std_fit_time": 1.0,
    }
