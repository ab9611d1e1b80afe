"""All data sets of one evaluation rolled up: a table per model and a head-to-head comparison."""

import json
from typing import Any

import dagster as dg
from dagster._core.storage.dagster_run import DagsterRunStatus

from icr_evaluation_pipeline import plots, settings
from icr_evaluation_pipeline.combine import collect_records, head_to_head, model_table, status_table
from icr_evaluation_pipeline.models import MODEL_NAMES
from icr_evaluation_pipeline.resources.custom_mlflow_resource import (
    EVALUATION_ID_TAG,
    MlflowTracking,
    evaluation_id_for,
)

FAILED_RUN_STATUSES = (DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)
PLOTTED_METRICS = ["accuracy", "f1_macro", "accuracy_most_rare", "f1_most_rare_macro"]


class CombineConfig(dg.Config):
    """Which evaluation to combine; empty means the one this run is tagged with, else the newest."""

    evaluation_id: str = ""
    partitions: list[str] = []


def _expected_partitions(instance: dg.DagsterInstance, evaluation_id: str) -> list[str]:
    backfill = instance.get_backfill(evaluation_id)
    if backfill is None:
        return []
    if backfill.is_asset_backfill:
        subset = backfill.get_target_root_partitions_subset(instance)
        return list(subset.get_partition_keys()) if subset is not None else []
    return list(backfill.get_partition_names(instance) or [])


def _newest_evaluation(tracking: MlflowTracking) -> str:
    client = tracking.client()
    for experiment in client.search_experiments(order_by=["creation_time DESC"], max_results=50):
        if EVALUATION_ID_TAG in experiment.tags:
            return experiment.name
    raise dg.Failure("no evaluation found in MLflow: run the evaluation job first")


def _mark_dead_runs_failed(
    context: dg.AssetExecutionContext, tracking: MlflowTracking, records: dict
) -> None:
    """A partition run left RUNNING by a Dagster run that failed or was cancelled ends FAILED."""
    client = tracking.client()
    for record in records.values():
        if record.status != "RUNNING":
            continue
        dagster_run_id = client.get_run(record.mlflow_run_id).data.tags.get("dagster_run_id")
        dagster_run = context.instance.get_run_by_id(dagster_run_id) if dagster_run_id else None
        if dagster_run is not None and dagster_run.status in FAILED_RUN_STATUSES:
            record.status, record.error = "FAILED", f"Dagster run {dagster_run.status.value}"
            tracking.write(lambda r=record: client.set_tag(r.mlflow_run_id, "error", r.error))
            tracking.write(lambda r=record: client.set_terminated(r.mlflow_run_id, "FAILED"))


@dg.asset(group_name="summary", kinds={"pandas", "mlflow"})
def combined_results(
    context: dg.AssetExecutionContext, config: CombineConfig, mlflow: MlflowTracking
) -> dg.MaterializeResult:
    """One table per model (a row per data set) and icr-rf vs rf head-to-head, per evaluation."""
    tags = context.run.tags
    evaluation_id = (
        config.evaluation_id
        or (
            evaluation_id_for(tags, "")
            if (EVALUATION_ID_TAG in tags or "dagster/backfill" in tags)
            else ""
        )
        or _newest_evaluation(mlflow)
    )
    expected = config.partitions or _expected_partitions(context.instance, evaluation_id)
    experiment_id = mlflow.ensure_experiment(evaluation_id)
    records = collect_records(mlflow.client(), experiment_id)
    _mark_dead_runs_failed(context, mlflow, records)

    statuses = status_table(records, expected)
    tables = {model: model_table(records, model) for model in MODEL_NAMES}
    differences, summary = head_to_head(tables)
    out_dir = settings.results_dir() / evaluation_id
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {model: out_dir / f"{model}.csv" for model in MODEL_NAMES}
    for model, table in tables.items():
        table.to_csv(paths[model], index=False)
    statuses.to_csv(out_dir / "status.csv", index=False)
    differences.to_csv(out_dir / "head_to_head.csv", index=False)
    summary.to_csv(out_dir / "head_to_head_summary.csv", index=False)
    configuration = {
        "evaluation_id": evaluation_id,
        "expected_partitions": expected,
        "partition_runs": {k: r.mlflow_run_id for k, r in records.items()},
        "parameters": next((r.params for r in records.values() if r.status == "FINISHED"), {}),
    }
    (out_dir / "configuration.json").write_text(json.dumps(configuration, indent=2))

    counts = statuses["status"].value_counts().to_dict()
    with mlflow.start_step(context, evaluation_id=evaluation_id) as run:
        run.log_params({"n_datasets_expected": len(expected)})
        run.log_metrics({f"n_{k.replace(' ', '_')}": v for k, v in counts.items()})
        for path in out_dir.glob("*"):
            if path.suffix in (".csv", ".json"):
                run.log_artifact(path, "combined")
        if not differences.empty:
            shown = [m for m in PLOTTED_METRICS if m in differences.columns]
            with plots.figure(8, max(3.0, 0.4 * len(differences) + 1.5)) as fig:
                plots.head_to_head(fig, differences.set_index("dataset"), shown)
                fig.savefig(out_dir / "head_to_head.png", dpi=110)
                run.log_figure(fig, "combined/head_to_head.png")

    not_combined = statuses[statuses["status"] != "combined"]
    metadata: dict[str, Any] = {
        "evaluation_id": evaluation_id,
        "n_combined": int(counts.get("combined", 0)),
        "n_not_combined": int(len(not_combined)),
        "results_dir": dg.MetadataValue.path(str(out_dir)),
        "status": dg.MetadataValue.md(statuses.to_markdown(index=False)),
    }
    if not summary.empty:
        metadata["head_to_head"] = dg.MetadataValue.md(
            summary.to_markdown(index=False, floatfmt=".4f")
        )
    if not not_combined.empty:
        context.log.warning(
            "not combined: "
            + ", ".join(f"{r.dataset} ({r.status})" for r in not_combined.itertuples())
        )
    return dg.MaterializeResult(metadata=metadata)
