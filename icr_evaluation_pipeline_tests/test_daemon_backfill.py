"""A UI backfill through the real webserver and daemon ends in one combined run in MLflow.

`dagster dev` runs on 127.0.0.1 over a temporary DAGSTER_HOME (with the project's dagster.yaml)
and MLflow store; the backfill is launched with the GraphQL mutation the UI sends for the
evaluation's assets, and the backfill sensor (ticking every few seconds here) must launch
combine_results once the backfill completes.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from icr_evaluation_pipeline import settings
from icr_evaluation_pipeline.jobs import EVALUATION_ASSETS
from icr_evaluation_pipeline.resources.custom_mlflow_resource import MlflowTracking
from icr_evaluation_pipeline.sensors.backfill_sensor import INTERVAL_ENV

PARTITIONS = ["iris", "wine"]
STARTUP_TIMEOUT = 240
BACKFILL_TIMEOUT = 360
SENSOR_INTERVAL = 5

LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on Error { message }
  }
}"""
BACKFILL = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { status } }
}"""
RUNS = """
query Runs($filter: RunsFilter!) {
  runsOrError(filter: $filter) {
    ... on Runs { results { runId status tags { key value } } }
  }
}"""
LOCATION = """
{ workspaceOrError { ... on Workspace { locationEntries {
    locationOrLoadError { __typename } } } } }"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`dagster dev` in its own process group, stopped by that group's id."""

    def __init__(self, home: Path, log_path: Path):
        self.port = free_port()
        self.log_path = log_path
        dagster = Path(sys.executable).parent / "dagster"
        self.log = log_path.open("w")
        self.process = subprocess.Popen(
            [str(dagster), "dev", "-h", "127.0.0.1", "-p", str(self.port)]
            + ["-m", "icr_evaluation_pipeline.definitions"],
            cwd=settings.PROJECT_ROOT,
            env={**os.environ, "DAGSTER_HOME": str(home), INTERVAL_ENV: str(SENSOR_INTERVAL)},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/graphql",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            payload = json.load(response)
        assert "errors" not in payload, payload
        return payload["data"]

    def wait_until_loaded(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.tail()
            try:
                entries = self.graphql(LOCATION)["workspaceOrError"]["locationEntries"]
                kinds = [e["locationOrLoadError"]["__typename"] for e in entries if e]
                if kinds == ["RepositoryLocation"]:
                    return
                assert "PythonError" not in kinds, self.tail()
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(2)
        pytest.fail(f"dagster dev did not load the code location in time\n{self.tail()}")

    def tail(self, lines: int = 60) -> str:
        self.log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            # `dagster dev` shuts its services down on Ctrl+C (SIGINT); SIGTERM can go unheeded.
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self.log.close()


@pytest.fixture
def server(workspace):
    shutil.copyfile(settings.DAGSTER_YAML, workspace.dagster_home / "dagster.yaml")
    MlflowTracking().ensure_store()  # create the store before parallel runs touch it
    started = Server(workspace.dagster_home, workspace.root / "dagster_dev.log")
    try:
        started.wait_until_loaded()
        yield started
    finally:
        started.stop()


def combine_runs(server: Server, backfill_id: str) -> list[dict]:
    runs_filter = {"pipelineName": "combine_results"}
    results = server.graphql(RUNS, {"filter": runs_filter})["runsOrError"]["results"]
    return [r for r in results if {"key": "evaluation_id", "value": backfill_id} in r["tags"]]


@pytest.mark.slow
def test_a_ui_backfill_ends_in_one_combined_run_in_its_experiment(workspace, server):
    params = {
        "assetSelection": [{"path": [name]} for name in EVALUATION_ASSETS],
        "partitionNames": PARTITIONS,
        "fromFailure": False,
        "tags": [],
    }
    launched = server.graphql(LAUNCH, {"params": params})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]

    started = time.monotonic()
    deadline = started + BACKFILL_TIMEOUT
    finished: list[dict] = []
    while time.monotonic() < deadline and not finished:
        time.sleep(5)
        runs = combine_runs(server, backfill_id)
        assert not [r for r in runs if r["status"] in ("FAILURE", "CANCELED")], server.tail()
        finished = [r for r in runs if r["status"] == "SUCCESS"]
    status = server.graphql(BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]
    assert finished, (
        f"no combined run after {BACKFILL_TIMEOUT} s; backfill {status}\n{server.tail()}"
    )
    print(f"backfill {backfill_id} combined after {time.monotonic() - started:.0f} s")
    assert status == {"status": "COMPLETED_SUCCESS"}

    time.sleep(2 * SENSOR_INTERVAL)  # further sensor ticks must not launch a second one
    assert len(combine_runs(server, backfill_id)) == 1

    client = workspace.client()
    experiment = client.get_experiment_by_name(backfill_id)
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    partitions = {
        r.data.tags.get("partition_key"): r for r in runs if "partition_key" in r.data.tags
    }
    assert sorted(partitions) == PARTITIONS
    for key, run in partitions.items():
        assert run.info.status == "FINISHED", key
        assert run.info.run_name == f"{key}_{run.data.tags['dagster_run_id']}"
        assert run.data.tags["dagster_backfill_id"] == backfill_id
        assert "mean_accuracy_icr-rf" in run.data.metrics
    (combined,) = [r for r in runs if r.data.tags.get("run_kind") == "combined_results"]
    assert combined.info.status == "FINISHED"
    assert combined.data.tags["dagster_run_id"] == finished[0]["runId"]
    assert combined.data.tags["not_combined"] == "none"
    assert (workspace.results_dir / backfill_id / "head_to_head.csv").exists()
