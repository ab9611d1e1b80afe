"""Start combine_results once when a backfill of the evaluation finishes, failed parts or not."""

import dagster as dg
from dagster._core.execution.backfill import BulkActionsFilter, BulkActionStatus

from icr_evaluation_pipeline.jobs import EVALUATION_JOB, combine_results_job
from icr_evaluation_pipeline.resources.custom_mlflow_resource import EVALUATION_ID_TAG

FINISHED = [
    BulkActionStatus.COMPLETED,
    BulkActionStatus.COMPLETED_SUCCESS,
    BulkActionStatus.COMPLETED_FAILED,
]
EVALUATED_ASSETS = {"rf_results", "icr_rf_results"}


def is_evaluation_backfill(backfill) -> bool:
    """A job backfill of the evaluation job, or an asset backfill that evaluates models."""
    if backfill.is_asset_backfill:
        data = backfill.asset_backfill_data
        keys = {key.to_user_string() for key in data.target_subset.asset_keys} if data else set()
        return bool(keys & EVALUATED_ASSETS)
    return backfill.job_name == EVALUATION_JOB


@dg.sensor(
    job=combine_results_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def combine_after_backfill(context: dg.SensorEvaluationContext):
    """Request combine_results for each finished evaluation backfill (run key = backfill id)."""
    backfills = context.instance.get_backfills(
        filters=BulkActionsFilter(statuses=FINISHED), limit=50
    )
    for backfill in backfills:
        if not is_evaluation_backfill(backfill):
            continue
        yield dg.RunRequest(
            run_key=backfill.backfill_id,
            tags={EVALUATION_ID_TAG: backfill.backfill_id},
        )
