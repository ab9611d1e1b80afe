"""combine_results for a backfill: only its partitions, failed and missing ones listed, no crash."""

import dagster as dg
import pandas as pd
from dagster._core.execution.backfill import BulkActionStatus

from icr_evaluation_pipeline.definitions import defs
from icr_evaluation_pipeline.resources.custom_mlflow_resource import (
    BACKFILL_TAG,
    EVALUATION_ID_TAG,
    MlflowTracking,
)
from icr_evaluation_pipeline_tests.test_sensor_backfill import asset_backfill

BACKFILL = "bfcombine"
SMALL_FORESTS = {
    "rf_results": {"config": {"n_estimators": 10}},
    "icr_rf_results": {"config": {"n_estimators": 10}},
}
TOO_MANY_FOLDS = {"k_folds": {"config": {"n_splits": 1000}}}


def evaluate(instance, key: str, tags: dict, ops: dict):
    return defs.resolve_job_def("evaluation").execute_in_process(
        partition_key=key,
        instance=instance,
        run_config={"ops": ops},
        tags=tags,
        raise_on_error=False,
    )


def test_combine_lists_failed_and_missing_partitions_of_its_backfill(workspace, instance):
    asset_backfill(instance, BACKFILL, BulkActionStatus.COMPLETED_FAILED)  # iris, wine
    in_backfill = {BACKFILL_TAG: BACKFILL}
    assert evaluate(instance, "iris", in_backfill, SMALL_FORESTS).success
    assert not evaluate(instance, "wine", in_backfill, TOO_MANY_FOLDS).success
    # Another evaluation's run must not leak into this backfill's tables.
    assert evaluate(instance, "breast_cancer", {EVALUATION_ID_TAG: "other"}, SMALL_FORESTS).success

    # As the sensor launches it: no config, only the backfill id as evaluation_id tag.
    result = defs.resolve_job_def("combine_results").execute_in_process(
        instance=instance, tags={EVALUATION_ID_TAG: BACKFILL}
    )
    assert result.success

    out = workspace.results_dir / BACKFILL
    statuses = pd.read_csv(out / "status.csv").set_index("dataset")["status"].to_dict()
    assert statuses == {"iris": "combined", "wine": "failed"}
    for model in ("rf", "icr-rf"):
        assert pd.read_csv(out / f"{model}.csv")["dataset"].tolist() == ["iris"]
    assert (out / "head_to_head.csv").exists() and (out / "configuration.json").exists()

    (materialization,) = result.asset_materializations_for_node("combined_results")
    metadata = materialization.metadata
    assert metadata["n_combined"].value == 1 and metadata["n_not_combined"].value == 1
    assert "wine" in metadata["status"].value and "| accuracy" in metadata["head_to_head"].value

    client = workspace.client()
    experiment = client.get_experiment_by_name(BACKFILL)
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.info.status for r in runs) == ["FAILED", "FINISHED", "FINISHED"]
    (combined,) = [r for r in runs if r.data.tags.get("run_kind") == "combined_results"]
    assert combined.data.tags["not_combined"] == "wine (failed)"
    files = {a.path for a in client.list_artifacts(combined.info.run_id, "combined")}
    assert {"combined/rf.csv", "combined/icr-rf.csv", "combined/status.csv"} <= files


def test_a_run_whose_dagster_run_died_is_failed_and_listed(workspace, instance):
    """A killed step process leaves its MLflow run RUNNING; combining ends it FAILED."""
    job = defs.resolve_job_def("evaluation")
    tags = {EVALUATION_ID_TAG: "killed", "dagster/partition": "digits"}
    dagster_run = instance.create_run_for_job(
        job_def=job, tags=tags, status=dg.DagsterRunStatus.STARTED
    )
    tracking = MlflowTracking()
    tracking._step_started(tracking.run_for(dagster_run), "full_dataset")
    instance.report_run_failed(dagster_run)

    config = {"evaluation_id": "killed", "partitions": ["digits", "iris"]}
    assert (
        defs.resolve_job_def("combine_results")
        .execute_in_process(
            instance=instance, run_config={"ops": {"combined_results": {"config": config}}}
        )
        .success
    )
    client = workspace.client()
    experiment = client.get_experiment_by_name("killed")
    runs = client.search_runs([experiment.experiment_id])
    assert "RUNNING" not in {r.info.status for r in runs}
    (partition,) = [r for r in runs if r.data.tags.get("partition_key") == "digits"]
    assert partition.info.status == "FAILED"
    assert partition.data.tags["error"] == "Dagster run FAILURE"
    statuses = pd.read_csv(workspace.results_dir / "killed" / "status.csv")
    assert statuses.set_index("dataset")["status"].to_dict() == {
        "digits": "failed",
        "iris": "never ran",
    }
