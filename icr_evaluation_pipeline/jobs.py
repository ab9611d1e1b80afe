"""The partitioned evaluation job and the combine_results job."""

import dagster as dg

from icr_evaluation_pipeline.partitions import dataset_partitions
from icr_evaluation_pipeline.resources.custom_mlflow_resource import mlflow_failure_hook

EVALUATION_JOB = "evaluation"
COMBINE_JOB = "combine_results"
# The partitioned assets of one data set's evaluation, upstream first.
EVALUATION_ASSETS = (
    "full_dataset",
    "preprocessed_dataset",
    "rarity_scores",
    "k_folds",
    "rf_results",
    "icr_rf_results",
)

# One process per run, steps in sequence: the multiprocess executor would pay ~5 s of imports
# per step for six steps that are mostly sub-second. Parallelism comes from running several
# partitions at once (the run queue in config/dagster.yaml, or `evaluate --parallel N`).
evaluation_job = dg.define_asset_job(
    EVALUATION_JOB,
    selection=dg.AssetSelection.assets(*EVALUATION_ASSETS),
    partitions_def=dataset_partitions,
    executor_def=dg.in_process_executor,
    hooks={mlflow_failure_hook},
    description="Evaluate rf and icr-rf on one data set (a partition).",
)

combine_results_job = dg.define_asset_job(
    COMBINE_JOB,
    selection=dg.AssetSelection.assets("combined_results"),
    executor_def=dg.in_process_executor,
    hooks={mlflow_failure_hook},
    description="Combine the partition results of one evaluation or backfill.",
)
