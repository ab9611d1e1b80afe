"""The preprocessing policy on small messy frames: what is kept, dropped, merged, and why."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from icr_evaluation_pipeline.datasets.base import DatasetError
from icr_evaluation_pipeline.datasets.local_files import load_local_file
from icr_evaluation_pipeline.datasets.offline import OFFLINE_LOADERS
from icr_evaluation_pipeline.preprocessing import PreprocessingSettings, preprocess
from icr_evaluation_pipeline_tests import messy_data as md

DEFAULTS = PreprocessingSettings()


def assert_clean(result) -> None:
    assert (result.X.dtypes == "float64").all()
    assert not result.X.isna().any().any()
    assert np.isfinite(result.X.to_numpy()).all()
    assert len(result.X) == len(result.y)
    json.dumps(result.decisions)  # every decision can go to MLflow as JSON


def test_kitchen_sink_file_is_typed_and_cleaned_with_every_decision_recorded(tmp_path):
    path = md.write(md.kitchen_sink(), tmp_path, "kitchen_sink")
    result = preprocess(load_local_file(path), DEFAULTS)
    assert_clean(result)
    d = result.decisions
    assert d["column_types"]["f1"] == "numeric (parsed from text, 1 unparseable -> missing)"
    assert d["column_types"]["organic"] == "boolean"
    assert d["columns_dropped"] == {
        "sample_id": "identifier-like (a distinct value in nearly every row)",
        "lab": "constant",
        "vineyard": "needs 140 categories to cover 95% of rows (max_categories=20)",
    }
    # rows 3 and 17 (f0), 40 (f2) and 5 (f1 '?') have a gap: 4 of 165 rows, under 5 %
    assert d["rows_dropped_incomplete"] == 4 and d["rows_out"] == 161
    assert d["encoded_columns"] == {"region": ["region=north", "region=south"]}
    assert result.X.columns.tolist() == [
        "f0",
        "f1",
        "f2",
        "organic",
        "region=north",
        "region=south",
    ]
    assert set(result.y) == {"red wine", "white wine", "rosé"}  # labels as given


def test_rare_categories_merge_into_other_until_coverage_is_reached():
    counts = {"A": 50, "B": 30, "C": 10, "D": 5, "E": 3, "F": 2}
    values = [v for v, n in counts.items() for _ in range(n)]
    frame = pd.DataFrame({"cat": values, "x": np.arange(100.0) % 7, "class": ["p", "q"] * 50})
    result = preprocess(md.as_raw(frame), DEFAULTS)
    # cumulative coverage 0.50 0.80 0.90 0.95: four categories reach 95 %, E and F -> other
    report = result.decisions["categorical_columns"]["cat"]
    assert report == {"distinct": 6, "kept": ["A", "B", "C", "D"], "merged_into_other": 2}
    assert result.X["cat=other"].sum() == 5
    assert result.X["cat=A"].sum() == 50
    assert_clean(result)


def test_column_needing_too_many_categories_is_dropped():
    result = preprocess(md.as_raw(md.many_categories()), DEFAULTS)
    assert "shop" in result.decisions["columns_dropped"]
    assert "needs 285 categories" in result.decisions["columns_dropped"]["shop"]
    assert not any(c.startswith("shop") for c in result.X.columns)
    assert {"colour=red", "colour=blue"} <= set(result.X.columns)


def test_boolean_columns_become_zero_one():
    frame = md.boolean_column()
    frame["nullable"] = pd.array([True, None, False] * 20, dtype="boolean")
    frame = frame.drop(index=[1])  # keep the gaps of 'nullable' under the row threshold
    frame.loc[frame["nullable"].isna(), "nullable"] = False
    result = preprocess(md.as_raw(frame), DEFAULTS)
    types = result.decisions["column_types"]
    assert types["member"] == types["flag_text"] == types["nullable"] == "boolean"
    assert result.X["member"].tolist() == (frame["class"] == "a").astype(float).tolist()
    assert set(result.X["flag_text"]) == {0.0, 1.0}


def test_constant_column_is_dropped():
    result = preprocess(md.as_raw(md.constant_column()), DEFAULTS)
    assert result.decisions["columns_dropped"] == {"always_7": "constant"}
    assert result.X.columns.tolist() == ["f0", "f1", "f2"]


def test_integer_row_counter_is_an_identifier():
    frame = md.blobs({"a": 30, "b": 30})
    frame.insert(0, "index", np.arange(100, 160))
    result = preprocess(md.as_raw(frame), DEFAULTS)
    assert "identifier-like" in result.decisions["columns_dropped"]["index"]


def test_sparse_column_is_dropped_before_complete_case_analysis():
    frame = md.blobs({"a": 50, "b": 50})
    frame["mostly_empty"] = np.where(np.arange(100) % 5 == 0, 1.0, np.nan)  # 80 % missing
    result = preprocess(md.as_raw(frame), DEFAULTS)
    assert result.decisions["columns_dropped"] == {"mostly_empty": "80.0% missing values"}
    assert result.decisions["rows_out"] == 100


def test_few_incomplete_rows_are_dropped():
    frame = md.with_missing_rows(0.03)
    result = preprocess(md.as_raw(frame), DEFAULTS)
    assert result.decisions["share_of_rows_with_missing_values"] == 0.03
    assert result.decisions["rows_dropped_incomplete"] == 6
    assert len(result.X) == 194
    assert_clean(result)


def test_many_incomplete_rows_skip_the_data_set_with_the_share():
    with pytest.raises(DatasetError) as error:
        preprocess(md.as_raw(md.with_missing_rows(0.4), name="gappy"), DEFAULTS)
    assert error.value.dataset == "gappy"
    assert str(error.value).startswith("data set 'gappy': 40.0% of rows have missing values")
    assert "max_missing_row_share=5.0%" in str(error.value)


def test_row_threshold_is_configurable():
    lenient = PreprocessingSettings(max_missing_row_share=0.5)
    result = preprocess(md.as_raw(md.with_missing_rows(0.4)), lenient)
    assert result.decisions["rows_dropped_incomplete"] == 80


def test_infinities_count_as_missing():
    frame = md.blobs({"a": 50, "b": 50})
    frame.loc[7, "f0"] = np.inf
    result = preprocess(md.as_raw(frame), DEFAULTS)
    assert result.decisions["rows_dropped_incomplete"] == 1
    assert_clean(result)


def test_single_class_fails_naming_the_class():
    with pytest.raises(DatasetError, match="data set 'solo': needs at least two classes.*'only'"):
        preprocess(md.as_raw(md.single_class(), name="solo"), DEFAULTS)


def test_no_usable_feature_fails_naming_the_dropped_columns():
    with pytest.raises(DatasetError) as error:
        preprocess(md.as_raw(md.no_usable_feature(), name="bare"), DEFAULTS)
    message = str(error.value)
    assert message.startswith("data set 'bare': no usable feature left after preprocessing")
    assert "row_id: identifier-like" in message and "same: constant" in message


def test_no_labelled_row_fails():
    frame = md.blobs({"a": 5, "b": 5})
    frame["class"] = None
    with pytest.raises(DatasetError, match="data set 'messy': no rows left"):
        preprocess(md.as_raw(frame), DEFAULTS)


def test_penguins_complete_case_and_encoding():
    result = preprocess(OFFLINE_LOADERS["penguins"](), DEFAULTS)
    d = result.decisions
    assert d["rows_dropped_incomplete"] == 11 and d["rows_out"] == 333
    assert d["encoded_columns"]["island"] == ["island=Biscoe", "island=Dream", "island=Torgersen"]
    assert_clean(result)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "arff"])
def test_every_file_format_gives_the_same_features(tmp_path, fmt):
    frame = md.boolean_column().drop(columns=["flag_text"])
    frame["colour"] = np.where(np.arange(len(frame)) % 3 == 0, "grün", "blau")
    result = preprocess(load_local_file(md.write(frame, tmp_path, "formats", fmt)), DEFAULTS)
    assert result.X.columns.tolist() == ["f0", "f1", "f2", "member", "colour=blau", "colour=grün"]
    assert result.y.tolist() == frame["class"].tolist()
    np.testing.assert_allclose(result.X["f0"], frame["f0"])
