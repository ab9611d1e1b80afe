"""Non-default launchpad configuration reaches the computation and MLflow's parameters."""

from __future__ import annotations

import json
from pathlib import Path

from icr_evaluation_pipeline.definitions import defs
from icr_evaluation_pipeline.resources.custom_mlflow_resource import EVALUATION_ID_TAG

EVALUATION = "configured"
MODEL = {"n_estimators": 10, "seed": 7, "n_jobs": 1, "rarity_adjustment_method": "sample_weights"}
RUN_CONFIG = {
    "ops": {
        "rarity_scores": {"config": {"measure": "l2class", "n_neighbors": 7, "min_score": 0.1}},
        "k_folds": {"config": {"n_splits": 3, "seed": 7, "n_rarity_bins": 2}},
        "rf_results": {"config": MODEL},
        "icr_rf_results": {"config": MODEL},
    }
}


def test_configured_penguins_run_logs_its_configuration(workspace, instance):
    result = defs.resolve_job_def("evaluation").execute_in_process(
        partition_key="penguins",
        instance=instance,
        run_config=RUN_CONFIG,
        tags={EVALUATION_ID_TAG: EVALUATION},
    )
    assert result.success
    rarity = result.output_for_node("rarity_scores")
    assert rarity.settings.measure == "l2class" and rarity.settings.n_neighbors == 7
    assert rarity.scores.min() >= 0.1  # L2Class's beta is the configured min_score
    for asset in ("rf_results", "icr_rf_results"):
        assert len(result.output_for_node(asset)["folds"]) == 3
        assert result.output_for_node(asset)["summary"]["mean_accuracy"] > 0.9

    client = workspace.client()
    experiment = client.get_experiment_by_name(EVALUATION)
    (run,) = client.search_runs([experiment.experiment_id])
    expected = {
        "rarity.measure": "l2class",
        "rarity.n_neighbors": "7",
        "rarity.min_score": "0.1",
        "folds.n_splits": "3",
        "folds.seed": "7",
        "folds.n_rarity_bins": "2",
        "rf.n_estimators": "10",
        "rf.seed": "7",
        "icr-rf.n_estimators": "10",
        "icr-rf.seed": "7",
        "icr-rf.rarity_adjustment_method": "sample_weights",
        "preprocessed.n_rows": "333",
    }
    params = run.data.params
    assert {k: params.get(k) for k in expected} == expected
    assert "rf.rarity_adjustment_method" not in params

    local = client.download_artifacts(run.info.run_id, "preprocessing/decisions.json")
    decisions = json.loads(Path(local).read_text())
    assert decisions["rows_dropped_incomplete"] == 11
    assert decisions["encoded_columns"]["sex"] == ["sex=female", "sex=male"]
    metadata = result.asset_materializations_for_node("preprocessed_dataset")[0].metadata
    assert metadata["decisions"].value["rows_dropped_incomplete"] == 11
