"""The evaluation job on a CC18 partition served by the local OpenML server, end to end."""

from __future__ import annotations

import json

import pytest

from icr_evaluation_pipeline.cli.evaluate import _failure_message
from icr_evaluation_pipeline.definitions import defs
from icr_evaluation_pipeline.resources.custom_mlflow_resource import EVALUATION_ID_TAG
from icr_evaluation_pipeline_tests.openml_server import closed_port_url, running_server

EVALUATION = "openml-evaluation"


@pytest.fixture
def openml_server(tmp_path, monkeypatch):
    with running_server(tmp_path, monkeypatch) as server:
        yield server


def evaluate(instance, key: str):
    return defs.resolve_job_def("evaluation").execute_in_process(
        partition_key=key,
        instance=instance,
        tags={EVALUATION_ID_TAG: EVALUATION},
        raise_on_error=False,
    )


@pytest.mark.slow
def test_evaluation_job_runs_an_openml_task(workspace, instance, openml_server):
    result = evaluate(instance, "31")  # a CC18 task id, served as penguins
    assert result.success, _failure_message(result)
    raw = result.output_for_node("full_dataset")
    assert raw.name == "penguins" and raw.categorical == ["island", "sex"]
    for asset in ("rf_results", "icr_rf_results"):
        assert result.output_for_node(asset)["summary"]["mean_accuracy"] > 0.9

    client = workspace.client()
    (run,) = client.search_runs([client.get_experiment_by_name(EVALUATION).experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.tags["dataset_name"] == "penguins"
    assert run.data.tags["partition_key"] == "31"
    local = client.download_artifacts(run.info.run_id, "dataset/summary.json")
    with open(local) as fh:
        summary = json.load(fh)
    assert summary["openml_dataset_id"] == 42585
    assert summary["class_distribution"] == {"Adelie": 152, "Gentoo": 124, "Chinstrap": 68}


def test_offline_partition_fails_with_the_prefetch_hint(workspace, instance, monkeypatch):
    monkeypatch.setenv("OPENML_SERVER", closed_port_url())
    monkeypatch.setenv("OPENML_CACHE_DIR", str(workspace.root / "empty_cache"))
    monkeypatch.setenv("OPENML_N_RETRIES", "2")
    result = evaluate(instance, "31")
    assert not result.success
    message = _failure_message(result)
    assert message.startswith("full_dataset: ")
    assert "data set '31': OpenML task 31 is not in the cache" in message
    assert "uv run task prefetch --datasets 31" in message
