"""Cross-validated results of each model on the shared folds: one asset per model."""

from typing import Any, Literal

import dagster as dg
import numpy as np

from icr_evaluation_pipeline.cross_validation import cross_validate
from icr_evaluation_pipeline.models import ModelSettings
from icr_evaluation_pipeline.partitions import dataset_partitions
from icr_evaluation_pipeline.preprocessing import PreprocessedDataset
from icr_evaluation_pipeline.rarity import RarityResult
from icr_evaluation_pipeline.resources.custom_mlflow_resource import MlflowTracking

KEY_METRICS = ("accuracy", "f1_macro", "accuracy_most_rare", "f1_most_rare_macro")


class ModelConfig(dg.Config):
    """Forest size, seed and threads; the rarity adjustment only affects icr-rf."""

    n_estimators: int = 100
    seed: int = 42
    n_jobs: int = 1
    rarity_adjustment_method: Literal["bootstrap_sampling", "sample_weights"] = "bootstrap_sampling"


def _results_asset(model: str, asset_name: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=asset_name,
        partitions_def=dataset_partitions,
        group_name="models",
        kinds={"sklearn"},
        description=f"Cross-validated metrics of `{model}` overall and on the rarest 10 % of "
        "each test fold.",
    )
    def results(
        context: dg.AssetExecutionContext,
        config: ModelConfig,
        mlflow: MlflowTracking,
        preprocessed_dataset: PreprocessedDataset,
        rarity_scores: RarityResult,
        k_folds: list[tuple[np.ndarray, np.ndarray]],
    ) -> dg.Output[dict[str, Any]]:
        data = preprocessed_dataset
        params = config.model_dump()
        if model != "icr-rf":
            params.pop("rarity_adjustment_method")
        with mlflow.start_step(context) as run:
            run.log_params({f"{model}.{k}": v for k, v in params.items()})
            result = cross_validate(
                data.name,
                model,
                data.X,
                data.y,
                rarity_scores.scores,
                k_folds,
                ModelSettings(**config.model_dump()),
                rarity_scores.settings,
            )
            run.log_metrics({f"{k}_{model}": v for k, v in result["summary"].items()})
            run.log_dict(result["folds"], f"results/{model}_folds.json")
        summary = result["summary"]
        metadata: dict[str, Any] = {
            f"mean_{m}": round(summary[f"mean_{m}"], 4) for m in KEY_METRICS
        }
        metadata["mean_fit_time"] = round(summary["mean_fit_time"], 4)
        if model == "icr-rf":
            # Folds where no training sample was rare: the ICR forest trained like a plain one.
            zero = [f["fold"] for f in result["folds"] if f.get("all_rarity_zero")]
            metadata["folds_with_all_zero_rarity"] = dg.MetadataValue.json(zero)
        metadata["summary"] = dg.MetadataValue.json(summary)
        return dg.Output(result, metadata=metadata)

    return results


rf_results = _results_asset("rf", "rf_results")
icr_rf_results = _results_asset("icr-rf", "icr_rf_results")
