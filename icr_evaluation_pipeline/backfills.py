"""What a Dagster backfill targets: is it an evaluation, and which data sets (partitions)."""

from __future__ import annotations

from dagster._core.definitions.assets.graph.base_asset_graph import BaseAssetGraph
from dagster._core.errors import DagsterDefinitionChangedDeserializationError
from dagster._core.execution.backfill import PartitionBackfill

from icr_evaluation_pipeline.jobs import EVALUATION_JOB

EVALUATED_ASSETS = {"rf_results", "icr_rf_results"}


def is_evaluation_backfill(backfill: PartitionBackfill, asset_graph: BaseAssetGraph) -> bool:
    """A job backfill of the evaluation job, or an asset backfill (UI) that evaluates models."""
    if backfill.is_asset_backfill:
        try:
            data = backfill.get_asset_backfill_data(asset_graph)
        except DagsterDefinitionChangedDeserializationError:
            return False  # an old backfill of assets that no longer exist
        keys = {key.to_user_string() for key in data.target_subset.asset_keys}
        return bool(keys & EVALUATED_ASSETS)
    return backfill.job_name == EVALUATION_JOB


def backfill_partitions(backfill: PartitionBackfill, asset_graph: BaseAssetGraph) -> list[str]:
    """The partition keys the backfill targets, in the partitions definition's order."""
    if not backfill.is_asset_backfill:
        return list(backfill.partition_names or [])
    data = backfill.get_asset_backfill_data(asset_graph)
    keys: dict[str, None] = {}
    for subset in data.target_subset.partitions_subsets_by_asset_key.values():
        keys.update(dict.fromkeys(subset.get_partition_keys()))
    return list(keys)
