"""The backfill sensor against a real instance holding backfills in every state.

UI backfills of the evaluation's assets are asset backfills; backfills of the job's partition set
are job backfills: both count. One RunRequest per completed backfill, keyed by its id.
"""

import time

import dagster as dg
import pytest
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.remote_origin import (
    RegisteredCodeLocationOrigin,
    RemotePartitionSetOrigin,
    RemoteRepositoryOrigin,
)

from icr_evaluation_pipeline.backfills import backfill_partitions
from icr_evaluation_pipeline.definitions import defs
from icr_evaluation_pipeline.jobs import EVALUATION_ASSETS as EVALUATION_ASSET_NAMES
from icr_evaluation_pipeline.resources.custom_mlflow_resource import EVALUATION_ID_TAG
from icr_evaluation_pipeline.sensors.backfill_sensor import combine_after_backfill

EVALUATION_ASSETS = [dg.AssetKey(k) for k in EVALUATION_ASSET_NAMES]


def asset_backfill(instance, backfill_id: str, status: BulkActionStatus, assets=EVALUATION_ASSETS):
    backfill = PartitionBackfill.from_asset_partitions(
        backfill_id=backfill_id,
        asset_graph=defs.resolve_asset_graph(),
        partition_names=["iris", "wine"],
        asset_selection=assets,
        backfill_timestamp=time.time(),
        tags={},
        dynamic_partitions_store=instance,
        all_partitions=False,
        title=None,
        description=None,
        run_config=None,
    ).with_status(status)
    instance.add_backfill(backfill)
    return backfill


def job_backfill(instance, backfill_id: str, status: BulkActionStatus, job: str = "evaluation"):
    origin = RemotePartitionSetOrigin(
        repository_origin=RemoteRepositoryOrigin(
            code_location_origin=RegisteredCodeLocationOrigin("icr_evaluation_pipeline"),
            repository_name="__repository__",
        ),
        partition_set_name=f"{job}_partition_set",
    )
    backfill = PartitionBackfill(
        backfill_id=backfill_id,
        partition_set_origin=origin,
        status=status,
        partition_names=["iris", "digits"],
        from_failure=False,
        reexecution_steps=None,
        tags={},
        backfill_timestamp=time.time(),
    )
    instance.add_backfill(backfill)
    return backfill


def requests(instance) -> list[dg.RunRequest]:
    context = dg.build_sensor_context(instance=instance, definitions=defs)
    return list(combine_after_backfill(context) or [])


@pytest.mark.parametrize(
    "status", [BulkActionStatus.COMPLETED_SUCCESS, BulkActionStatus.COMPLETED_FAILED]
)
@pytest.mark.parametrize("make_backfill", [asset_backfill, job_backfill])
def test_a_completed_evaluation_backfill_requests_one_combine_run(instance, status, make_backfill):
    make_backfill(instance, "bf-done", status)
    (request,) = requests(instance)
    assert request.run_key == "bf-done"
    assert request.tags[EVALUATION_ID_TAG] == "bf-done"
    assert request.job_name in (None, "combine_results")


@pytest.mark.parametrize(
    "status",
    [
        BulkActionStatus.REQUESTED,
        BulkActionStatus.CANCELING,
        BulkActionStatus.CANCELED,
        BulkActionStatus.FAILING,
        BulkActionStatus.FAILED,
    ],
)
@pytest.mark.parametrize("make_backfill", [asset_backfill, job_backfill])
def test_a_running_or_cancelled_backfill_requests_nothing(instance, status, make_backfill):
    make_backfill(instance, "bf-open", status)
    assert requests(instance) == []


def test_other_backfills_request_nothing(instance):
    asset_backfill(
        instance, "bf-combine", BulkActionStatus.COMPLETED_SUCCESS, [dg.AssetKey("full_dataset")]
    )
    job_backfill(instance, "bf-other-job", BulkActionStatus.COMPLETED_SUCCESS, job="other")
    assert requests(instance) == []


def test_several_completed_backfills_each_get_their_own_run_key(instance):
    asset_backfill(instance, "bf-1", BulkActionStatus.COMPLETED_SUCCESS)
    job_backfill(instance, "bf-2", BulkActionStatus.COMPLETED_FAILED)
    asset_backfill(instance, "bf-3", BulkActionStatus.REQUESTED)
    assert sorted(r.run_key for r in requests(instance)) == ["bf-1", "bf-2"]


def test_the_partitions_of_a_backfill_are_read_from_its_target(instance):
    graph = defs.resolve_asset_graph()
    asset = asset_backfill(instance, "bf-a", BulkActionStatus.COMPLETED_SUCCESS)
    job = job_backfill(instance, "bf-j", BulkActionStatus.COMPLETED_SUCCESS)
    assert sorted(backfill_partitions(instance.get_backfill(asset.backfill_id), graph)) == [
        "iris",
        "wine",
    ]
    assert backfill_partitions(instance.get_backfill(job.backfill_id), graph) == ["iris", "digits"]
