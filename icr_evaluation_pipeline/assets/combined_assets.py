"""All data sets of one evaluation rolled up: a table per model and a head-to-head comparison."""

import json
from typing import Any

import dagster as dg
from dagster._core.storage.dagster_run import DagsterRunStatus

from icr_evaluation_pipeline import plots, settings
from icr_evaluation_pipeline.backfills import backfill_partitions
from icr_evaluation_pipeline.combine import collect_records, head_to_head, model_table, status_table
from icr_evaluation_pipeline.models import MODEL_NAMES
from icr_evaluation_pipeline.resources.custom_mlflow_resource import (
    BACKFILL_TAG,
    EVALUATION_ID_TAG,
    MlflowTracking,
    TrackedRun,
    evaluation_id_for,
)

DEAD_RUN_STATUSES = (DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)
PLOTTED_METRICS = ["accuracy", "f1_macro", "accuracy_most_rare", "f1_most_rare_macro"]


class CombineConfig(dg.Config):
    """Which evaluation to combine; empty means the one this run is tagged with, else the newest."""

    evaluation_id: str = ""
    partitions: list[str] = []


def _evaluation_id(context: dg.AssetExecutionContext, config: CombineConfig, tracking) -> str:
    """Configured, else the run's evaluation / backfill tag, else the newest evaluation."""
    tags = context.run.tags
    if config.evaluation_id:
        return config.evaluation_id
    if EVALUATION_ID_TAG in tags or BACKFILL_TAG in tags:
        return evaluation_id_for(tags, "")
    return _newest_evaluation(tracking)


def _expected_partitions(context: dg.AssetExecutionContext, evaluation_id: str) -> list[str]:
    """The partitions of the backfill the evaluation is named after (none for other evaluations)."""
    backfill = context.instance.get_backfill(evaluation_id)
    if backfill is None:
        return []
    # Not `context.repository_def`: execute_in_process (the evaluate command) sets none.
    from icr_evaluation_pipeline.definitions import defs

    return backfill_partitions(backfill, defs.resolve_asset_graph())


def _newest_evaluation(tracking: MlflowTracking) -> str:
    client = tracking.client()
    for experiment in client.search_experiments(order_by=["creation_time DESC"], max_results=50):
        if EVALUATION_ID_TAG in experiment.tags:
            return experiment.name
    raise dg.Failure("no evaluation found in MLflow: run the evaluation job first")


def _fail_dead_runs(
    context: dg.AssetExecutionContext, tracking: MlflowTracking, experiment_id: str
) -> list[str]:
    """MLflow runs not FAILED whose Dagster run failed or was cancelled (process killed, run
    monitoring, errors outside a step) end FAILED; returns their partition keys."""
    client = tracking.client()
    fixed = []
    for run in client.search_runs(
        [experiment_id], filter_string="attributes.status != 'FAILED'", max_results=50000
    ):
        key = run.data.tags.get("partition_key")
        dagster_run_id = run.data.tags.get("dagster_run_id")
        if not key or not dagster_run_id:
            continue
        dagster_run = context.instance.get_run_by_id(dagster_run_id)
        if dagster_run is None or dagster_run.status not in DEAD_RUN_STATUSES:
            continue
        tracked = TrackedRun(tracking, client, run.info.run_id, run.info.run_name)
        tracking.fail(tracked, f"Dagster run {dagster_run.status.value}")
        fixed.append(key)
    return fixed


CONFIG_PREFIXES = ("preprocessing.", "rarity.", "folds.", "rf.", "icr-rf.")


def _configuration(records: dict) -> dict[str, Any]:
    """The evaluation's configuration parameters; a value that differs between data sets is
    listed per data set instead of being taken from one of them."""
    values: dict[str, dict[str, str]] = {}
    for key, record in records.items():
        for name, value in record.params.items():
            if name.startswith(CONFIG_PREFIXES):
                values.setdefault(name, {})[key] = value
    return {
        name: next(iter(by_key.values())) if len(set(by_key.values())) == 1 else by_key
        for name, by_key in sorted(values.items())
    }


@dg.asset(group_name="summary", kinds={"pandas", "mlflow"})
def combined_results(
    context: dg.AssetExecutionContext, config: CombineConfig, mlflow: MlflowTracking
) -> dg.MaterializeResult:
    """One table per model (a row per data set) and icr-rf vs rf head-to-head, per evaluation."""
    evaluation_id = _evaluation_id(context, config, mlflow)
    expected = config.partitions or _expected_partitions(context, evaluation_id)
    experiment_id = mlflow.ensure_experiment(evaluation_id)
    fixed = _fail_dead_runs(context, mlflow, experiment_id)
    if fixed:
        context.log.warning(f"marked FAILED (their Dagster runs died): {', '.join(fixed)}")
    records = collect_records(mlflow.client(), experiment_id)

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
        "parameters": _configuration(records),
    }
    (out_dir / "configuration.json").write_text(json.dumps(configuration, indent=2))

    counts = statuses["status"].value_counts().to_dict()
    not_combined = statuses[statuses["status"] != "combined"]
    listing = ", ".join(f"{r.dataset} ({r.status})" for r in not_combined.itertuples())
    with mlflow.start_step(context, evaluation_id=evaluation_id) as run:
        run.log_params({"n_datasets_expected": len(expected)})
        run.set_tags({"not_combined": listing or "none"})
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
    if listing:
        context.log.warning(f"not combined: {listing}")
    return dg.MaterializeResult(metadata=metadata)
