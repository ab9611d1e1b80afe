"""The evaluation job end to end on bundled data, in process, with a real temporary MLflow store."""

from __future__ import annotations

import dagster as dg
import pytest

from icr_evaluation_pipeline.definitions import defs
from icr_evaluation_pipeline.metrics import METRIC_NAMES, MOST_RARE_METRIC_NAMES
from icr_evaluation_pipeline.resources.custom_mlflow_resource import EVALUATION_ID_TAG

EVALUATION = "test-evaluation"


def evaluate(instance: dg.DagsterInstance, key: str, evaluation_id: str = EVALUATION):
    job = defs.resolve_job_def("evaluation")
    return job.execute_in_process(
        partition_key=key,
        instance=instance,
        tags={EVALUATION_ID_TAG: evaluation_id},
        raise_on_error=False,
    )


def combine(instance: dg.DagsterInstance, partitions: list[str], evaluation_id: str = EVALUATION):
    job = defs.resolve_job_def("combine_results")
    config = {"evaluation_id": evaluation_id, "partitions": partitions}
    return job.execute_in_process(
        instance=instance,
        run_config={"ops": {"combined_results": {"config": config}}},
        tags={EVALUATION_ID_TAG: evaluation_id},
    )


@pytest.fixture
def iris_run(workspace, instance):
    result = evaluate(instance, "iris")
    assert result.success
    return result


def test_both_models_beat_090_accuracy_on_iris(iris_run):
    for asset in ("rf_results", "icr_rf_results"):
        summary = iris_run.output_for_node(asset)["summary"]
        assert summary["mean_accuracy"] > 0.9, asset
        assert 0 <= summary["mean_accuracy_most_rare"] <= 1
        assert len(iris_run.output_for_node(asset)["folds"]) == 5


def test_mlflow_run_is_named_tagged_and_finished(workspace, iris_run):
    client = workspace.client()
    experiment = client.get_experiment_by_name(EVALUATION)
    assert experiment is not None
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED"
    assert run.info.run_name == f"iris_{iris_run.run_id}"
    tags = run.data.tags
    assert tags["partition_key"] == "iris"
    assert tags["dataset_name"] == "iris"
    assert tags["dagster_run_id"] == iris_run.run_id
    assert tags[EVALUATION_ID_TAG] == EVALUATION


def test_every_metric_is_logged_for_both_models(workspace, iris_run):
    client = workspace.client()
    experiment = client.get_experiment_by_name(EVALUATION)
    (run,) = client.search_runs([experiment.experiment_id])
    metrics = run.data.metrics
    names = [*METRIC_NAMES, *MOST_RARE_METRIC_NAMES, "fit_time", "score_time"]
    for model in ("rf", "icr-rf"):
        for name in names:
            assert f"mean_{name}_{model}" in metrics
            assert f"std_{name}_{model}" in metrics
    assert "f1_most_rare_macro" in MOST_RARE_METRIC_NAMES
    assert metrics["mean_accuracy_rf"] > 0.9
    assert all(len(v) <= 500 for v in run.data.params.values())
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "results")}
    assert artifacts == {"results/rf_folds.json", "results/icr-rf_folds.json"}


def test_combined_results_hold_a_row_per_dataset(workspace, instance, iris_run):
    assert evaluate(instance, "wine").success
    combine(instance, ["iris", "wine"])
    out = workspace.results_dir / EVALUATION
    import pandas as pd

    for model in ("rf", "icr-rf"):
        table = pd.read_csv(out / f"{model}.csv")
        assert table["dataset"].tolist() == ["iris", "wine"]
        assert (table["mean_accuracy"] > 0.9).all()
        assert table.loc[table["dataset"] == "iris", "n_rows"].item() == 150
        assert table.loc[table["dataset"] == "wine", "n_classes"].item() == 3
    summary = pd.read_csv(out / "head_to_head_summary.csv").set_index("metric")
    assert summary.loc["accuracy", ["wins", "ties", "losses"]].sum() == 2

    client = workspace.client()
    experiment = client.get_experiment_by_name(EVALUATION)
    runs = client.search_runs([experiment.experiment_id])
    combined = [r for r in runs if r.data.tags.get("run_kind") == "combined_results"]
    assert len(combined) == 1 and combined[0].info.status == "FINISHED"
    files = {a.path for a in client.list_artifacts(combined[0].info.run_id, "combined")}
    assert {"combined/rf.csv", "combined/icr-rf.csv", "combined/head_to_head.csv"} <= files
    assert len(runs) == 3


def test_relative_sqlite_uri_means_the_project_root(monkeypatch):
    from icr_evaluation_pipeline import settings

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///stores/custom.db")
    assert settings.mlflow_tracking_uri() == f"sqlite:///{settings.PROJECT_ROOT}/stores/custom.db"
    artifacts = settings.mlflow_artifact_root(settings.mlflow_tracking_uri())
    assert artifacts == (settings.PROJECT_ROOT / "stores" / "mlartifacts").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////abs/mlflow.db")
    assert settings.mlflow_tracking_uri() == "sqlite:////abs/mlflow.db"
