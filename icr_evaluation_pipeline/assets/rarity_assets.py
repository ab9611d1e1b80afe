"""Rarity scores on the preprocessed data and the folds stratified by class and rarity."""

from collections.abc import Iterator
from dataclasses import asdict
from typing import Literal

import dagster as dg
import numpy as np
import pandas as pd

from icr_evaluation_pipeline import plots
from icr_evaluation_pipeline.folds import make_folds
from icr_evaluation_pipeline.metrics import MOST_RARE_SHARE, most_rare_mask
from icr_evaluation_pipeline.partitions import dataset_partitions
from icr_evaluation_pipeline.preprocessing import PreprocessedDataset
from icr_evaluation_pipeline.rarity import RarityResult, RaritySettings
from icr_evaluation_pipeline.rarity import rarity_scores as score
from icr_evaluation_pipeline.resources.custom_mlflow_resource import MlflowTracking


class RarityConfig(dg.Config):
    """Rarity measure and its parameters; the ICR forest uses the same ones."""

    measure: Literal["cb_loop", "l2class"] = "cb_loop"
    n_neighbors: int | None = None
    cb_loop_extent: int = 3
    l2class_psi: float = 1.0
    min_score: float = 0.0


class FoldsConfig(dg.Config):
    """Cross-validation folds: count, seed, rarity bins per class for stratification."""

    n_splits: int = 5
    seed: int = 42
    n_rarity_bins: int = 4


SCORES_IN_RANGE = dg.AssetCheckSpec(
    "scores_in_0_1", asset="rarity_scores", description="Every score is finite and in [0, 1]."
)


@dg.asset(
    partitions_def=dataset_partitions,
    group_name="rarity",
    kinds={"numpy"},
    check_specs=[SCORES_IN_RANGE],
)
def rarity_scores(
    context: dg.AssetExecutionContext,
    config: RarityConfig,
    mlflow: MlflowTracking,
    preprocessed_dataset: PreprocessedDataset,
) -> Iterator[dg.Output[RarityResult] | dg.AssetCheckResult]:
    """Per-sample intra-class rarity in [0, 1] (CB-LoOP or L2Class), aligned with the rows."""
    data = preprocessed_dataset
    settings = RaritySettings(**config.model_dump())
    with mlflow.start_step(context) as run:
        run.log_params({f"rarity.{k}": v for k, v in asdict(settings).items()})
        scores, report = score(data.name, data.X, data.y, settings)
        table = pd.DataFrame({"row": np.arange(len(scores)), "label": data.y, "rarity": scores})
        rarest = table.loc[most_rare_mask(scores, MOST_RARE_SHARE)].sort_values(
            "rarity", ascending=False
        )
        run.log_frame(table, "rarity/scores.csv")
        run.log_frame(rarest, "rarity/rarest_samples.csv")
        run.log_dict(report, "rarity/report.json")
        with plots.figure() as fig:
            plots.rarity_histogram(fig, data.name, scores, data.y)
            run.log_figure(fig, "rarity/histogram.png")
        run.log_metrics({"rarity_mean": float(scores.mean()), "rarity_max": float(scores.max())})
    per_class = table.groupby("label")["rarity"].mean().round(4)
    yield dg.Output(
        RarityResult(scores=scores, settings=settings, report=report),
        metadata={
            "measure": settings.measure,
            "mean": float(scores.mean()),
            "share_above_0.5": float((scores > 0.5).mean()),
            "mean_by_class": dg.MetadataValue.json(
                {str(k): float(v) for k, v in per_class.items()}
            ),
            "report": dg.MetadataValue.json(report),
        },
    )
    outside = int((~np.isfinite(scores) | (scores < 0) | (scores > 1)).sum())
    yield dg.AssetCheckResult(
        check_name=SCORES_IN_RANGE.name,
        passed=outside == 0,
        metadata={"scores_outside_0_1": outside, "n_scores": int(len(scores))},
    )


@dg.asset(partitions_def=dataset_partitions, group_name="rarity", kinds={"sklearn"})
def k_folds(
    context: dg.AssetExecutionContext,
    config: FoldsConfig,
    mlflow: MlflowTracking,
    preprocessed_dataset: PreprocessedDataset,
    rarity_scores: RarityResult,
) -> dg.Output[list[tuple[np.ndarray, np.ndarray]]]:
    """Seeded stratified folds over class x rarity bin, as (train, test) row indices."""
    data = preprocessed_dataset
    with mlflow.start_step(context) as run:
        run.log_params({f"folds.{k}": v for k, v in config.model_dump().items()})
        folds, report = make_folds(
            data.name,
            data.y,
            rarity_scores.scores,
            config.n_splits,
            config.n_rarity_bins,
            config.seed,
        )
        assignment = np.empty(len(data.y), dtype="int64")
        for index, (_, test) in enumerate(folds):
            assignment[test] = index
        run.log_frame(
            pd.DataFrame({"row": np.arange(len(data.y)), "fold": assignment}),
            "folds/assignment.csv",
        )
        run.log_dict(report, "folds/report.json")
    if "classes_smaller_than_n_splits" in report:
        context.log.warning(
            f"{data.name}: classes with fewer samples than folds "
            f"{report['classes_smaller_than_n_splits']} are missing from some test folds"
        )
    mean_rarity = [float(rarity_scores.scores[test].mean()) for _, test in folds]
    return dg.Output(
        folds,
        metadata={
            "n_splits": config.n_splits,
            "test_fold_sizes": dg.MetadataValue.json(report["test_fold_sizes"]),
            "mean_rarity_per_test_fold": dg.MetadataValue.json([round(m, 4) for m in mean_rarity]),
            "report": dg.MetadataValue.json(report),
        },
    )
