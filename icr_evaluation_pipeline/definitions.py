"""The one `Definitions` of the project: assets, jobs, the backfill sensor and resources."""

import dagster as dg

from icr_evaluation_pipeline.assets.combined_assets import combined_results
from icr_evaluation_pipeline.assets.data_assets import full_dataset, preprocessed_dataset
from icr_evaluation_pipeline.assets.model_assets import icr_rf_results, rf_results
from icr_evaluation_pipeline.assets.rarity_assets import k_folds, rarity_scores
from icr_evaluation_pipeline.jobs import combine_results_job, evaluation_job
from icr_evaluation_pipeline.resources.custom_mlflow_resource import MlflowTracking
from icr_evaluation_pipeline.resources.openml_resource import OpenMLResource
from icr_evaluation_pipeline.sensors.backfill_sensor import combine_after_backfill

defs = dg.Definitions(
    assets=[
        full_dataset,
        preprocessed_dataset,
        rarity_scores,
        k_folds,
        rf_results,
        icr_rf_results,
        combined_results,
    ],
    jobs=[evaluation_job, combine_results_job],
    sensors=[combine_after_backfill],
    # Also the executor of the implicit asset job that runs UI (asset) backfills: one process
    # per run, as for the evaluation job (jobs.py), not ~5 s of imports per step.
    executor=dg.in_process_executor,
    resources={
        "mlflow": MlflowTracking(),
        "openml": OpenMLResource(),
        "io_manager": dg.FilesystemIOManager(),
    },
)
