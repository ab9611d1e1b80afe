"""Start combine_results once when a backfill of the evaluation ends, failed partitions or not.

The run key is the backfill id, so Dagster launches at most one combine run per backfill however
often the sensor ticks; the backfill id becomes the run's `evaluation_id` tag, so the combined run
lands in the backfill's MLflow experiment. A backfill still running, cancelled or failed by the
daemon itself (status FAILED) gets no combine run.
"""

import os

import dagster as dg
from dagster._core.execution.backfill import BulkActionsFilter, BulkActionStatus

from icr_evaluation_pipeline.backfills import is_evaluation_backfill
from icr_evaluation_pipeline.jobs import combine_results_job
from icr_evaluation_pipeline.resources.custom_mlflow_resource import EVALUATION_ID_TAG

INTERVAL_ENV = "ICR_COMBINE_SENSOR_INTERVAL_SECONDS"
COMPLETED = [
    BulkActionStatus.COMPLETED,
    BulkActionStatus.COMPLETED_SUCCESS,
    BulkActionStatus.COMPLETED_FAILED,
]
RECENT_BACKFILLS = 50


def _interval_seconds() -> int:
    """Read when the definitions load, so a test can tick faster than the 30 s default."""
    return int(os.environ.get(INTERVAL_ENV, "30"))


@dg.sensor(
    job=combine_results_job,
    minimum_interval_seconds=_interval_seconds(),
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def combine_after_backfill(context: dg.SensorEvaluationContext):
    """Request combine_results for each completed evaluation backfill (run key = backfill id)."""
    asset_graph = context.repository_def.asset_graph
    backfills = context.instance.get_backfills(
        filters=BulkActionsFilter(statuses=COMPLETED), limit=RECENT_BACKFILLS
    )
    for backfill in backfills:
        if not is_evaluation_backfill(backfill, asset_graph):
            continue
        yield dg.RunRequest(
            run_key=backfill.backfill_id,
            tags={EVALUATION_ID_TAG: backfill.backfill_id},
        )
