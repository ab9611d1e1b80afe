"""Shared fixtures: every test gets its own MLflow store, Dagster home, results and data folders."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
from mlflow.tracking import MlflowClient


@dataclass
class Workspace:
    root: Path
    tracking_uri: str
    results_dir: Path
    datasets_dir: Path
    dagster_home: Path

    def client(self) -> MlflowClient:
        return MlflowClient(tracking_uri=self.tracking_uri)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """Point the pipeline's stores at a temporary folder through its environment variables."""
    ws = Workspace(
        root=tmp_path,
        tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        results_dir=tmp_path / "results",
        datasets_dir=tmp_path / "datasets",
        dagster_home=tmp_path / "dagster_home",
    )
    ws.datasets_dir.mkdir()
    ws.dagster_home.mkdir()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", ws.tracking_uri)
    monkeypatch.setenv("ICR_RESULTS_DIR", str(ws.results_dir))
    monkeypatch.setenv("ICR_DATASETS_DIR", str(ws.datasets_dir))
    monkeypatch.setenv("DAGSTER_HOME", str(ws.dagster_home))
    monkeypatch.delenv("ICR_MLFLOW_ARTIFACTS_DIR", raising=False)
    yield ws


@pytest.fixture
def instance(workspace: Workspace) -> Iterator[dg.DagsterInstance]:
    """A persistent Dagster instance in the workspace (so the filesystem IO manager persists)."""
    with dg.instance_for_test(temp_dir=str(workspace.dagster_home)) as inst:
        yield inst


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("MPLBACKEND", "Agg")
