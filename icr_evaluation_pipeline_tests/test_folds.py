"""Folds: a partition of the rows that keeps class balance and rarity spread, from a seed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from icr_evaluation_pipeline.datasets.base import DatasetError
from icr_evaluation_pipeline.folds import make_folds, rarity_strata


def labelled(sizes: dict[str, int], seed: int = 0) -> tuple[pd.Series, np.ndarray]:
    y = pd.Series([label for label, n in sizes.items() for _ in range(n)])
    y = y.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return y, np.random.default_rng(seed).random(len(y))


def test_test_folds_partition_the_rows():
    y, scores = labelled({"a": 60, "b": 30})
    folds, report = make_folds("d", y, scores, n_splits=5)
    tests = np.concatenate([test for _, test in folds])
    assert sorted(tests.tolist()) == list(range(len(y)))
    for train, test in folds:
        assert not set(train) & set(test)
        assert len(train) + len(test) == len(y)
    assert report["test_fold_sizes"] == [18] * 5


def test_every_fold_gets_its_share_of_each_class_and_rarity_quartile():
    y, scores = labelled({"a": 100, "b": 60, "c": 40})
    folds, _ = make_folds("d", y, scores, n_splits=5, n_rarity_bins=4)
    quartile = {}
    for label in y.unique():
        members = np.flatnonzero(y == label)
        ranks = pd.Series(scores[members]).rank(method="first").to_numpy() - 1
        quartile.update(zip(members, (ranks * 4 // len(members)).astype(int), strict=True))
    for label, n in y.value_counts().items():
        per_fold = [int((y.iloc[test] == label).sum()) for _, test in folds]
        assert per_fold == [n // 5] * 5
        for q in range(4):
            cell = [
                sum(1 for i in test if y.iloc[i] == label and quartile[i] == q) for _, test in folds
            ]
            assert max(cell) - min(cell) <= 1, (label, q, cell)


def test_rarity_bins_shrink_to_what_a_class_can_fill():
    y = pd.Series(["a"] * 40 + ["b"] * 12 + ["c"] * 3)
    strata = rarity_strata(y, np.linspace(0, 1, len(y)), n_splits=5, n_rarity_bins=4)
    per_class = {label: len(set(strata[(y == label).to_numpy()])) for label in "abc"}
    assert per_class == {"a": 4, "b": 2, "c": 1}  # 40 // 5 >= 4, 12 // 5 = 2, 3 < 5


def test_same_seed_same_folds_other_seed_other_folds():
    y, scores = labelled({"a": 50, "b": 50})

    def assignment(seed):
        folds, _ = make_folds("d", y, scores, seed=seed)
        return [test.tolist() for _, test in folds]

    assert assignment(7) == assignment(7)
    assert assignment(7) != assignment(8)


def test_class_of_three_with_five_folds_goes_to_three_test_folds():
    y, scores = labelled({"a": 40, "b": 40, "few": 3})
    folds, report = make_folds("d", y, scores, n_splits=5)
    holding = [int((y.iloc[test] == "few").sum()) for _, test in folds]
    assert sorted(holding) == [0, 0, 1, 1, 1]
    assert all((y.iloc[train] == "few").sum() >= 2 for train, _ in folds)
    assert report["classes_smaller_than_n_splits"] == {"few": 3}


def test_class_of_one_is_in_one_test_fold():
    y, scores = labelled({"a": 40, "b": 40, "lonely": 1})
    folds, report = make_folds("d", y, scores, n_splits=5)
    assert sum(int((y.iloc[test] == "lonely").sum()) for _, test in folds) == 1
    assert report["classes_smaller_than_n_splits"] == {"lonely": 1}


def test_every_class_smaller_than_the_folds_is_a_named_error():
    y, scores = labelled({"a": 3, "b": 4})
    with pytest.raises(DatasetError) as error:
        make_folds("tiny", y, scores, n_splits=5)
    assert str(error.value) == (
        "data set 'tiny': every class has fewer samples than n_splits=5 ({'b': 4, 'a': 3}); "
        "lower n_splits or add data"
    )


def test_fewer_rows_than_folds_is_a_named_error():
    y, scores = labelled({"a": 2, "b": 2})
    with pytest.raises(DatasetError, match="data set 'tiny': 4 rows cannot fill 5 folds"):
        make_folds("tiny", y, scores, n_splits=5)
