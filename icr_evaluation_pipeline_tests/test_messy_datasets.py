"""Messy local data-set files: each one evaluates with sensible metrics or fails with a clear
error naming the data set and the cause, and the other data sets of an evaluation go on.

The first tests run the pipeline's functions in the order the assets call them. The slow ones
run the real `evaluate` command (the partitioned Dagster job, MLflow, combine_results) in fresh
processes, because partition keys are read from the datasets folder when the definitions are
imported: twice, in two fresh stores, to show that the numbers reproduce.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from icr_evaluation_pipeline.combine import METRIC_COLUMNS
from icr_evaluation_pipeline.cross_validation import cross_validate
from icr_evaluation_pipeline.datasets.base import DatasetError
from icr_evaluation_pipeline.datasets.local_files import load_local_file
from icr_evaluation_pipeline.folds import make_folds
from icr_evaluation_pipeline.models import MODEL_NAMES, ModelSettings
from icr_evaluation_pipeline.preprocessing import PreprocessingSettings, preprocess
from icr_evaluation_pipeline.rarity import RaritySettings, rarity_scores
from icr_evaluation_pipeline.settings import PROJECT_ROOT
from icr_evaluation_pipeline_tests import messy_data as md

# stem -> (builder, file format, None for "evaluates", else a part of the expected error)
CASES = {
    "one_row_class": (md.one_row_class, "csv", None),
    "three_row_class": (md.three_row_class, "arff", None),
    "constant_column": (md.constant_column, "csv", None),
    "many_categories": (md.many_categories, "parquet", None),
    "boolean_column": (md.boolean_column, "parquet", None),
    "string_labels": (md.string_labels, "csv", None),
    "every_row_duplicated": (md.every_row_duplicated, "parquet", None),
    "missing_3pct": (lambda: md.with_missing_rows(0.03), "csv", None),
    "kitchen_sink": (md.kitchen_sink, "csv", None),
    "missing_40pct": (
        lambda: md.with_missing_rows(0.4),
        "csv",
        "40.0% of rows have missing values",
    ),
    "single_class": (md.single_class, "csv", "needs at least two classes, found only 'only'"),
    "no_usable_feature": (md.no_usable_feature, "arff", "no usable feature left"),
    "tiny_classes": (
        lambda: md.blobs({"a": 3, "b": 4, "c": 2}),
        "csv",
        "every class has fewer samples than n_splits=5",
    ),
}


def evaluate_file(path: Path) -> dict[str, dict]:
    """The asset chain on one file, with small forests; fold results per model."""
    data = preprocess(load_local_file(path), PreprocessingSettings())
    settings = RaritySettings()
    scores, _ = rarity_scores(data.name, data.X, data.y, settings)
    folds, _ = make_folds(data.name, data.y, scores)
    model_settings = ModelSettings(n_estimators=20, n_jobs=1)
    return {
        model: cross_validate(
            data.name, model, data.X, data.y, scores, folds, model_settings, settings
        )
        for model in MODEL_NAMES
    }


@pytest.mark.parametrize("stem", sorted(CASES))
def test_messy_file_evaluates_or_fails_with_a_named_cause(tmp_path, stem):
    build, fmt, expected_error = CASES[stem]
    path = md.write(build(), tmp_path, stem, fmt)
    if expected_error is not None:
        with pytest.raises(DatasetError) as error:
            evaluate_file(path)
        assert str(error.value).startswith(f"data set '{stem}': ")
        assert expected_error in str(error.value)
        return
    results = evaluate_file(path)
    for model, result in results.items():
        summary = result["summary"]
        assert summary["mean_accuracy"] >= 0.9, (model, summary["mean_accuracy"])
        for name, value in summary.items():
            if not name.endswith("_time"):
                assert 0.0 <= value <= 1.0, (model, name, value)
        assert len(result["folds"]) == 5


def test_string_labels_stay_strings_in_fold_results(tmp_path):
    path = md.write(md.string_labels(), tmp_path, "animals")
    data = preprocess(load_local_file(path), PreprocessingSettings())
    assert sorted(data.classes) == ["cat", "dog", "horse"]


def test_duplicated_rows_train_the_icr_forest_like_a_plain_one(tmp_path):
    path = md.write(md.every_row_duplicated(), tmp_path, "dups", "parquet")
    folds = evaluate_file(path)["icr-rf"]["folds"]
    assert all(fold["all_rarity_zero"] for fold in folds)


# --- the real evaluate command, in fresh processes -------------------------------------------

GOOD = ("kitchen_sink", "duplicated")
BAD = {
    "single_class": "needs at least two classes",
    "missing_40pct": "40.0% of rows have missing values",
    "empty": "cannot read empty.csv",
}
EVALUATION = "messy-evaluation"


def _env(root: Path, datasets: Path, hash_seed: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ICR_", "MLFLOW_"))}
    env.update(
        MLFLOW_TRACKING_URI=f"sqlite:///{root / 'mlflow.db'}",
        ICR_MLFLOW_ARTIFACTS_DIR=str(root / "mlartifacts"),
        ICR_RESULTS_DIR=str(root / "results"),
        ICR_DATASETS_DIR=str(datasets),
        DAGSTER_HOME=str(root / "dagster_home"),
        PYTHONHASHSEED=hash_seed,
        MPLBACKEND="Agg",
    )
    return env


@pytest.fixture(scope="module")
def evaluations(tmp_path_factory) -> dict[str, dict]:
    """`evaluate` over good and bad files in store A, and over one good file in store B; both
    commands run at once, each in its own process with its own hash seed."""
    datasets = tmp_path_factory.mktemp("datasets")
    md.write(md.kitchen_sink(), datasets, "kitchen_sink")
    md.write(md.conflicting_duplicates(), datasets, "duplicated", "parquet")
    md.write(md.single_class(), datasets, "single_class")
    md.write(md.with_missing_rows(0.4), datasets, "missing_40pct")
    (datasets / "empty.csv").write_text("")
    runs = {"a": ",".join([*GOOD, *BAD]), "b": "duplicated"}
    processes = {}
    for name, keys in runs.items():
        root = tmp_path_factory.mktemp(f"store_{name}")
        command = [sys.executable, "-m", "icr_evaluation_pipeline.cli.evaluate"]
        command += ["--datasets", keys, "--evaluation-id", EVALUATION]
        log = (root / "evaluate.log").open("w")
        processes[name] = (
            root,
            log,
            subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                env=_env(root, datasets, hash_seed=str(len(processes) + 1)),
                stdout=log,
                stderr=subprocess.STDOUT,
            ),
        )
    out = {}
    for name, (root, log, process) in processes.items():
        code = process.wait(timeout=900)
        log.close()
        out[name] = {
            "root": root,
            "code": code,
            "output": (root / "evaluate.log").read_text(),
            "results": root / "results" / EVALUATION,
        }
    return out


@pytest.mark.slow
def test_bad_files_fail_by_name_while_good_ones_are_combined(evaluations):
    run = evaluations["a"]
    assert run["code"] == 1, run["output"][-3000:]
    status = pd.read_csv(run["results"] / "status.csv").fillna("").set_index("dataset")
    for key in GOOD:
        assert status.loc[key, "status"] == "combined", status
    for key, cause in BAD.items():
        assert status.loc[key, "status"] == "failed", status
        assert f"data set '{key}': {cause}" in status.loc[key, "error"]
        (line,) = [x for x in run["output"].splitlines() if x.strip().startswith(f"FAILED {key}:")]
        assert f"data set '{key}': {cause}" in line
    for model in MODEL_NAMES:
        table = pd.read_csv(run["results"] / f"{model}.csv").set_index("dataset")
        assert sorted(table.index) == sorted(GOOD)
        assert table.loc["kitchen_sink", "mean_accuracy"] >= 0.95
        assert table.loc["kitchen_sink", "n_features"] == 6
        assert table.loc["kitchen_sink", "n_rows"] == 161


@pytest.mark.slow
def test_same_partition_and_config_in_two_fresh_stores_give_identical_metrics(evaluations):
    assert evaluations["b"]["code"] == 0, evaluations["b"]["output"][-3000:]
    compared = [c for c in METRIC_COLUMNS if not c.endswith("_time")]
    for model in MODEL_NAMES:
        first, second = (
            pd.read_csv(evaluations[r]["results"] / f"{model}.csv").set_index("dataset")
            for r in ("a", "b")
        )
        pd.testing.assert_series_equal(
            first.loc["duplicated", compared], second.loc["duplicated", compared]
        )
    # the data set really is the hard case: folds where icr-rf saw no rare training sample
    client = MlflowClient(f"sqlite:///{evaluations['b']['root'] / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(EVALUATION)
    (run,) = client.search_runs(
        [experiment.experiment_id], filter_string="tags.partition_key = 'duplicated'"
    )
    local = client.download_artifacts(run.info.run_id, "results/icr-rf_folds.json")
    assert all(fold["all_rarity_zero"] for fold in json.loads(Path(local).read_text()))


@pytest.mark.slow
def test_configuration_and_decisions_arrive_in_mlflow(evaluations):
    client = MlflowClient(f"sqlite:///{evaluations['a']['root'] / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(EVALUATION)
    runs = {
        r.data.tags["partition_key"]: r
        for r in client.search_runs([experiment.experiment_id], "tags.partition_key != ''")
    }
    params = runs["kitchen_sink"].data.params
    expected = {
        "rarity.measure": "cb_loop",
        "rarity.n_neighbors": "None",
        "rarity.cb_loop_extent": "3",
        "rarity.l2class_psi": "1.0",
        "rarity.min_score": "0.0",
        "icr-rf.rarity_adjustment_method": "bootstrap_sampling",
        "folds.n_splits": "5",
        "folds.seed": "42",
        "rf.n_estimators": "100",
        "icr-rf.n_estimators": "100",
        "rf.seed": "42",
        "icr-rf.seed": "42",
        "preprocessing.max_missing_row_share": "0.05",
    }
    assert {k: params.get(k) for k in expected} == expected
    assert all(len(v) <= 250 for v in params.values())
    run_id = runs["kitchen_sink"].info.run_id
    local = client.download_artifacts(run_id, "preprocessing/decisions.json")
    decisions = json.loads(Path(local).read_text())
    assert decisions["columns_dropped"]["sample_id"].startswith("identifier-like")
    assert decisions["encoded_columns"] == {"region": ["region=north", "region=south"]}
    failed = runs["missing_40pct"]
    assert failed.info.status == "FAILED"
    assert "data set 'missing_40pct': 40.0% of rows" in failed.data.tags["error"]
