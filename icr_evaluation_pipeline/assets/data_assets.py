"""Raw and preprocessed data sets, one partition each."""

import dagster as dg

from icr_evaluation_pipeline.datasets.base import RawDataset
from icr_evaluation_pipeline.datasets.registry import load_raw_dataset
from icr_evaluation_pipeline.partitions import dataset_partitions
from icr_evaluation_pipeline.preprocessing import (
    PreprocessedDataset,
    PreprocessingSettings,
    preprocess,
)
from icr_evaluation_pipeline.resources.custom_mlflow_resource import MlflowTracking
from icr_evaluation_pipeline.resources.openml_resource import OpenMLResource

_defaults = PreprocessingSettings()


class PreprocessingConfig(dg.Config):
    """Missing-value and categorical-encoding policy (see `preprocessing.py`)."""

    max_missing_column_share: float = _defaults.max_missing_column_share
    max_missing_row_share: float = _defaults.max_missing_row_share
    category_coverage: float = _defaults.category_coverage
    max_categories: int = _defaults.max_categories
    min_numeric_parse_share: float = _defaults.min_numeric_parse_share
    identifier_unique_share: float = _defaults.identifier_unique_share

    def settings(self) -> PreprocessingSettings:
        return PreprocessingSettings(**self.model_dump())


@dg.asset(partitions_def=dataset_partitions, group_name="data", kinds={"pandas"})
def full_dataset(
    context: dg.AssetExecutionContext, mlflow: MlflowTracking, openml: OpenMLResource
) -> dg.Output[RawDataset]:
    """The data set as its source gives it: features, labels, declared categorical columns."""
    with mlflow.start_step(context) as run:
        raw = load_raw_dataset(context.partition_key, openml)
        summary = raw.summary()
        run.set_tags({"dataset_name": raw.name, "dataset_source": raw.source})
        run.log_params(
            {
                f"dataset.{k}": v
                for k, v in summary.items()
                if k in ("n_rows", "n_features", "n_classes", "source")
            }
        )
        run.log_dict(summary, "dataset/summary.json")
    return dg.Output(
        raw,
        metadata={
            "dataset_name": raw.name,
            "source": raw.source,
            "n_rows": summary["n_rows"],
            "n_features": summary["n_features"],
            "n_classes": summary["n_classes"],
            "class_distribution": dg.MetadataValue.json(summary["class_distribution"]),
        },
    )


@dg.asset(partitions_def=dataset_partitions, group_name="data", kinds={"pandas"})
def preprocessed_dataset(
    context: dg.AssetExecutionContext,
    config: PreprocessingConfig,
    mlflow: MlflowTracking,
    full_dataset: RawDataset,
) -> dg.Output[PreprocessedDataset]:
    """Numeric, complete features after the missing-value, encoding and constant-column policy."""
    with mlflow.start_step(context) as run:
        run.log_params({f"preprocessing.{k}": v for k, v in config.model_dump().items()})
        result = preprocess(full_dataset, config.settings())
        decisions = result.decisions
        run.log_dict(decisions, "preprocessing/decisions.json")
        run.log_params(
            {
                "preprocessed.n_rows": decisions["rows_out"],
                "preprocessed.n_features": decisions["columns_out"],
            }
        )
    return dg.Output(
        result,
        metadata={
            "n_rows": decisions["rows_out"],
            "n_features": decisions["columns_out"],
            "rows_dropped": decisions["rows_in"] - decisions["rows_out"],
            "columns_dropped": dg.MetadataValue.json(decisions["columns_dropped"]),
            "decisions": dg.MetadataValue.json(decisions),
        },
    )
