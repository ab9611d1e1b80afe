"""A failing step ends its MLflow run FAILED with an `error` tag, and nothing stays RUNNING."""

import dagster as dg

from icr_evaluation_pipeline.definitions import defs
from icr_evaluation_pipeline.partitions import dataset_partitions
from icr_evaluation_pipeline.resources.custom_mlflow_resource import (
    EVALUATION_ID_TAG,
    STEP_TAG_PREFIX,
    MlflowTracking,
    mlflow_failure_hook,
)

EVALUATION = "failing-evaluation"
TOO_MANY_FOLDS = {"ops": {"k_folds": {"config": {"n_splits": 1000}}}}


def runs_of(workspace, evaluation_id: str = EVALUATION):
    client = workspace.client()
    experiment = client.get_experiment_by_name(evaluation_id)
    return client.search_runs([experiment.experiment_id], max_results=100)


def test_a_step_that_raises_fails_the_run(workspace, instance):
    result = defs.resolve_job_def("evaluation").execute_in_process(
        partition_key="iris",
        instance=instance,
        run_config=TOO_MANY_FOLDS,
        tags={EVALUATION_ID_TAG: EVALUATION},
        raise_on_error=False,
    )
    assert not result.success

    (run,) = runs_of(workspace)
    assert run.info.status == "FAILED"
    assert run.info.end_time is not None
    assert run.data.tags["error"].startswith("k_folds: DatasetError")
    assert "1000" in run.data.tags["error"]
    assert run.data.tags[f"{STEP_TAG_PREFIX}k_folds"] == "failed"
    assert run.data.tags[f"{STEP_TAG_PREFIX}rarity_scores"] == "finished"
    assert "mean_accuracy_rf" not in run.data.metrics


@dg.asset(partitions_def=dataset_partitions)
def fails_after_logging(context: dg.AssetExecutionContext, mlflow: MlflowTracking) -> int:
    with mlflow.start_step(context) as run:
        run.log_metrics({"logged_before_failure": 1.0})
    raise RuntimeError("broken after the tracked block")


def test_a_failure_outside_the_tracked_block_fails_the_run_through_the_hook(workspace, instance):
    job = dg.define_asset_job(
        "broken", selection=[fails_after_logging], hooks={mlflow_failure_hook}
    )
    result = (
        dg.Definitions(assets=[fails_after_logging], jobs=[job], resources=defs.resources)
        .resolve_job_def("broken")
        .execute_in_process(
            partition_key="wine",
            instance=instance,
            tags={EVALUATION_ID_TAG: EVALUATION},
            raise_on_error=False,
        )
    )
    assert not result.success

    (run,) = runs_of(workspace)
    assert run.info.status == "FAILED"
    assert "broken after the tracked block" in run.data.tags["error"]
    assert run.data.tags[f"{STEP_TAG_PREFIX}fails_after_logging"] == "failed"
    assert run.data.metrics["logged_before_failure"] == 1.0


def test_a_run_without_evaluation_tag_gets_an_experiment_named_after_it(workspace, instance):
    result = defs.resolve_job_def("evaluation").execute_in_process(
        partition_key="iris", instance=instance, run_config=TOO_MANY_FOLDS, raise_on_error=False
    )
    (run,) = runs_of(workspace, result.run_id)
    assert run.info.status == "FAILED"
    assert run.data.tags[EVALUATION_ID_TAG] == result.run_id
