"""The evaluation assets under Dagster's multiprocess executor: a process per step, one MLflow run.

Each step is a fresh Python process that finds the Dagster run's MLflow run by its tag, so the six
steps (two of them at once) must all log into the same run, which ends FINISHED only once.
"""

from __future__ import annotations

import dagster as dg
import pytest

from icr_evaluation_pipeline.definitions import defs
from icr_evaluation_pipeline.jobs import evaluation_job
from icr_evaluation_pipeline.resources.custom_mlflow_resource import (
    EVALUATION_ID_TAG,
    STEP_TAG_PREFIX,
)

EVALUATION = "multiprocess-evaluation"
SMALL_FORESTS = {
    "ops": {
        "rf_results": {"config": {"n_estimators": 10}},
        "icr_rf_results": {"config": {"n_estimators": 10}},
    }
}


def multiprocess_evaluation_job() -> dg.JobDefinition:
    """The evaluation job's assets and resources, but every step in its own process."""
    job = dg.define_asset_job(
        "evaluation_multiprocess",
        selection=evaluation_job.selection,
        partitions_def=evaluation_job.partitions_def,
        executor_def=dg.multiprocess_executor.configured({"max_concurrent": 2}),
    )
    return dg.Definitions(assets=defs.assets, jobs=[job], resources=defs.resources).resolve_job_def(
        job.name
    )


@pytest.mark.slow
def test_all_steps_share_one_finished_mlflow_run(workspace, instance):
    with dg.execute_job(
        dg.reconstructable(multiprocess_evaluation_job),
        instance=instance,
        run_config=SMALL_FORESTS,
        tags={EVALUATION_ID_TAG: EVALUATION, "dagster/partition": "iris"},
    ) as result:
        assert result.success
        run_id = result.run_id
        step_keys = {e.step_key for e in result.all_events if e.is_step_success}
    assert len(step_keys) == 6

    client = workspace.client()
    experiment = client.get_experiment_by_name(EVALUATION)
    runs = client.search_runs([experiment.experiment_id], filter_string="", max_results=100)
    assert [r.data.tags["dagster_run_id"] for r in runs] == [run_id]
    (run,) = runs
    assert run.info.status == "FINISHED"
    assert run.info.run_name == f"iris_{run_id}"
    assert run.data.tags["partition_key"] == "iris"
    for model in ("rf", "icr-rf"):
        assert run.data.metrics[f"mean_accuracy_{model}"] > 0.85
        assert f"std_f1_most_rare_macro_{model}" in run.data.metrics
    steps = {k.removeprefix(STEP_TAG_PREFIX): v for k, v in run.data.tags.items()}
    assert {k: steps.get(k) for k in step_keys} == dict.fromkeys(step_keys, "finished")
