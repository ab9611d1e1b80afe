"""Roll the partition runs of one evaluation up into per-model tables and a head-to-head.

Reads what the partition runs logged to MLflow, so it works on whatever finished: a partition
that failed, is still running, or never ran is listed with its status instead of breaking the
combination.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient

from icr_evaluation_pipeline.metrics import METRIC_NAMES, MOST_RARE_METRIC_NAMES
from icr_evaluation_pipeline.models import MODEL_NAMES

TIE_TOLERANCE = 1e-9
INFO_COLUMNS = ("dataset", "dataset_name", "n_rows", "n_features", "n_classes")
ORDERED_METRICS = (*METRIC_NAMES, *MOST_RARE_METRIC_NAMES, "fit_time", "score_time")
METRIC_COLUMNS = tuple(f"{s}_{m}" for m in ORDERED_METRICS for s in ("mean", "std"))


@dataclass
class PartitionRecord:
    partition_key: str
    status: str
    dataset_name: str = ""
    error: str = ""
    mlflow_run_id: str = ""
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)

    def has_results(self) -> bool:
        return all(f"mean_accuracy_{m}" in self.metrics for m in MODEL_NAMES)


def collect_records(client: MlflowClient, experiment_id: str) -> dict[str, PartitionRecord]:
    """The newest MLflow run of each partition in the experiment."""
    runs = client.search_runs(
        [experiment_id],
        filter_string="tags.partition_key != ''",
        max_results=50000,
        order_by=["attributes.start_time DESC"],
    )
    records: dict[str, PartitionRecord] = {}
    for run in runs:
        key = run.data.tags.get("partition_key")
        if not key or key in records:
            continue
        records[key] = PartitionRecord(
            partition_key=key,
            status=run.info.status,
            dataset_name=run.data.tags.get("dataset_name", key),
            error=run.data.tags.get("error", ""),
            mlflow_run_id=run.info.run_id,
            params=dict(run.data.params),
            metrics=dict(run.data.metrics),
        )
    return records


def status_table(records: dict[str, PartitionRecord], expected: list[str]) -> pd.DataFrame:
    """One row per partition: `combined`, `failed`, `running`, `incomplete` or `never ran`."""
    rows = []
    for key in dict.fromkeys([*expected, *records]):
        record = records.get(key)
        if record is None:
            rows.append({"dataset": key, "status": "never ran", "error": ""})
            continue
        if record.status == "FINISHED" and record.has_results():
            status = "combined"
        elif record.status == "FAILED":
            status = "failed"
        elif record.status in ("RUNNING", "SCHEDULED"):
            status = "running"
        else:
            status = "incomplete"
        rows.append({"dataset": key, "status": status, "error": record.error})
    return pd.DataFrame(rows, columns=["dataset", "status", "error"])


def model_table(records: dict[str, PartitionRecord], model: str) -> pd.DataFrame:
    """One row per combined data set: name, size, classes, mean and std of every metric."""
    suffix = f"_{model}"
    rows = []
    for key, record in records.items():
        if record.status != "FINISHED" or not record.has_results():
            continue
        row: dict[str, object] = {
            "dataset": key,
            "dataset_name": record.dataset_name,
            "n_rows": _int(record.params.get("preprocessed.n_rows")),
            "n_features": _int(record.params.get("preprocessed.n_features")),
            "n_classes": _int(record.params.get("dataset.n_classes")),
        }
        for column in METRIC_COLUMNS:
            row[column] = record.metrics.get(f"{column}{suffix}")
        rows.append(row)
    frame = pd.DataFrame(rows, columns=[*INFO_COLUMNS, *METRIC_COLUMNS])
    return frame.sort_values("dataset").reset_index(drop=True)


def _int(value: str | None) -> int | None:
    return int(value) if value not in (None, "") else None


SUMMARY_COLUMNS = ("metric", "wins", "ties", "losses", "mean_difference", "median_difference")


def head_to_head(
    tables: dict[str, pd.DataFrame], challenger: str = "icr-rf", baseline: str = "rf"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per data set `challenger - baseline` of each mean metric, and wins/ties/losses per metric.

    A win is a higher value for every metric except the times, where lower is better.
    """
    a, b = tables.get(challenger), tables.get(baseline)
    if a is None or b is None or a.empty or b.empty:
        # Headers only, so the CSV files stay readable when no data set was combined.
        return pd.DataFrame(columns=["dataset"]), pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    metrics = [c for c in a.columns if c.startswith("mean_") and c in b.columns]
    a, b = a.set_index("dataset"), b.set_index("dataset")
    common = a.index.intersection(b.index)
    differences = a.loc[common, metrics] - b.loc[common, metrics]
    summary_rows = []
    for metric in metrics:
        diff = differences[metric].to_numpy(dtype=float)
        better = -diff if metric.endswith("_time") else diff
        summary_rows.append(
            {
                "metric": metric.removeprefix("mean_"),
                "wins": int((better > TIE_TOLERANCE).sum()),
                "ties": int((np.abs(better) <= TIE_TOLERANCE).sum()),
                "losses": int((better < -TIE_TOLERANCE).sum()),
                "mean_difference": float(diff.mean()),
                "median_difference": float(np.median(diff)),
            }
        )
    differences.columns = [c.removeprefix("mean_") for c in differences.columns]
    return differences.reset_index(), pd.DataFrame(summary_rows, columns=list(SUMMARY_COLUMNS))
