"""The real openml client against the local OpenML server: loading, cache, faults, clear errors."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from icr_evaluation_pipeline.datasets.base import DatasetError
from icr_evaluation_pipeline.datasets.openml_tasks import (
    OpenMLSettings,
    is_cached,
    load_task,
    server_cache_dir,
)
from icr_evaluation_pipeline_tests.openml_server import (
    FakeDataset,
    FakeOpenMLServer,
    closed_port_url,
    running_server,
)

TASKS = {59: "iris", 31: "penguins"}


@pytest.fixture
def openml_server(tmp_path, monkeypatch):
    with running_server(tmp_path, monkeypatch) as server:
        yield server


def source(server: FakeOpenMLServer, task_id: int) -> FakeDataset:
    return server.datasets[server.tasks[task_id].dataset_id]


def assert_equals_source(raw, dataset: FakeDataset) -> None:
    expected_X = dataset.frame.drop(columns=[dataset.target])
    assert raw.name == dataset.name
    assert list(raw.X.columns) == list(expected_X.columns)
    for column in expected_X.columns:
        got, want = raw.X[column], expected_X[column]
        if isinstance(want.dtype, pd.CategoricalDtype):
            assert (
                got.astype(object).where(got.notna(), None).tolist()
                == want.astype(object).where(want.notna(), None).tolist()
            ), column
        else:
            np.testing.assert_allclose(got.to_numpy(float), want.to_numpy(float), err_msg=column)
    assert raw.y.astype(str).tolist() == dataset.frame[dataset.target].astype(str).tolist()


def load_failure(task_id: int) -> tuple[str, float]:
    started = time.monotonic()
    with pytest.raises(DatasetError) as caught:
        load_task(task_id)
    assert caught.value.dataset == str(task_id)
    return str(caught.value), time.monotonic() - started


@pytest.mark.parametrize("serve_parquet", [True, False], ids=["parquet", "arff"])
@pytest.mark.parametrize("task_id", list(TASKS))
def test_task_loads_with_the_values_of_the_source(openml_server, task_id, serve_parquet):
    openml_server.serve_parquet = serve_parquet
    raw = load_task(task_id)
    dataset = source(openml_server, task_id)
    assert_equals_source(raw, dataset)
    assert raw.source == "OpenML"
    assert raw.categorical == [c for c in dataset.nominal() if c != dataset.target]
    assert raw.info["openml_task_id"] == task_id
    assert raw.info["openml_dataset_id"] == dataset.dataset_id
    assert raw.info["openml_dataset_version"] == 1
    assert raw.info["openml_data_file"] == ("parquet" if serve_parquet else "arff")
    summary = raw.summary()
    assert summary["dataset_name"] == TASKS[task_id]
    assert summary["n_rows"] == len(dataset.frame)
    counts = dataset.frame[dataset.target].value_counts()
    assert summary["class_distribution"] == {str(k): int(v) for k, v in counts.items()}
    data_requests = openml_server.count(".pq") if serve_parquet else openml_server.count(".arff")
    assert data_requests >= 1
    assert openml_server.count(".arff" if serve_parquet else ".pq") == 0
    assert openml_server.count("splits") == 0


def test_second_load_is_served_from_the_cache_without_a_request(openml_server):
    load_task(59)
    before = openml_server.count()
    assert is_cached(59)
    raw = load_task(59)
    assert openml_server.count() == before
    assert_equals_source(raw, source(openml_server, 59))


def test_cache_is_the_configured_folder_per_server(openml_server, tmp_path):
    load_task(59)
    cache = server_cache_dir(OpenMLSettings.from_env())
    assert cache.is_relative_to(tmp_path / "openml_cache")
    assert (cache / "tasks" / "59" / "task.xml").is_file()
    assert (cache / "datasets" / "61" / "dataset_61.pq").is_file()


def test_stopped_server_still_serves_cached_tasks(openml_server):
    load_task(31)
    openml_server.stop()
    raw = load_task(31)
    assert raw.name == "penguins"


def test_injected_server_errors_are_survived_by_retries(openml_server):
    openml_server.faults.error_times = 2
    openml_server.faults.error_match = "/task/"
    raw = load_task(59)
    assert raw.name == "iris"
    assert openml_server.count("/task/59") == 3


def test_permanent_server_failure_ends_in_a_clear_error_in_bounded_time(openml_server):
    openml_server.faults.error_times = -1
    message, seconds = load_failure(59)
    assert "kept failing" in message and "HTTP 500" in message and "task 59" in message
    assert "OPENML_N_RETRIES=3" in message
    assert openml_server.count("/task/59") == 3
    assert seconds < 10  # human policy: 1 s + 2 s between the 3 attempts


def test_a_stalled_server_times_out_instead_of_hanging(openml_server, monkeypatch):
    monkeypatch.setenv("OPENML_TIMEOUT", "0.5")
    monkeypatch.setenv("OPENML_N_RETRIES", "2")
    openml_server.faults.stall_seconds = 60
    message, seconds = load_failure(59)
    assert "no answer within 0.5 s" in message
    assert seconds < 10


def test_offline_and_not_cached_says_how_to_prefetch(openml_server, monkeypatch):
    monkeypatch.setenv("OPENML_SERVER", closed_port_url())
    message, seconds = load_failure(31)
    assert "cannot be reached" in message and "Connection refused" in message
    assert "uv run task prefetch --datasets 31" in message
    assert seconds < 10


def test_unknown_task_is_named(openml_server):
    message, _ = load_failure(424242)
    assert "OpenML task 424242 does not exist" in message
    assert "Unknown task" in message


def test_a_task_that_is_not_classification_is_refused(openml_server):
    message, _ = load_failure(2280)
    assert "task 2280 is a 'Supervised Regression' task" in message
    assert openml_server.count(".pq") == openml_server.count(".arff") == 0


def test_a_truncated_arff_download_is_retried_then_reported(openml_server):
    openml_server.serve_parquet = False
    openml_server.faults.truncate_times = 1
    assert_equals_source(load_task(59), source(openml_server, 59))
    assert openml_server.count(".arff") == 2

    openml_server.faults.truncate_times = -1
    message, seconds = load_failure(31)
    assert "does not match its MD5 checksum" in message
    assert seconds < 10
    assert not is_cached(31)


def test_a_truncated_parquet_download_is_downloaded_again(openml_server):
    openml_server.faults.truncate_times = 1
    assert_equals_source(load_task(59), source(openml_server, 59))
    assert openml_server.count("GET /datasets/") == 2

    openml_server.faults.truncate_times = -1
    message, _ = load_failure(31)
    assert "dataset_42585.pq" in message and "it was removed" in message


CACHE_FILES = {  # file -> (parquet served?, fetched again? else rebuilt from the data file)
    "tasks/59/task.xml": (True, True),
    "datasets/61/description.xml": (True, True),
    "datasets/61/features.xml": (True, True),
    "datasets/61/features.xml.pkl": (True, False),
    "datasets/61/qualities.xml": (True, True),
    "datasets/61/dataset_61.pq": (True, True),
    "datasets/61/dataset_61.pkl.py3": (True, False),
    "datasets/61/dataset.arff": (False, True),
    "datasets/61/dataset.pkl.py3": (False, False),
}


@pytest.mark.parametrize("relative", list(CACHE_FILES))
def test_a_half_written_cache_file_is_repaired(openml_server, relative):
    parquet, fetched_again = CACHE_FILES[relative]
    openml_server.serve_parquet = parquet
    load_task(59)
    path = Path(server_cache_dir(OpenMLSettings.from_env())) / relative
    half = path.read_bytes()[: path.stat().st_size // 2]
    path.write_bytes(half)
    before = openml_server.count()
    assert_equals_source(load_task(59), source(openml_server, 59))
    assert (openml_server.count() > before) == fetched_again
    assert not path.exists() or path.read_bytes() != half
    assert_equals_source(load_task(59), source(openml_server, 59))


def test_settings_are_read_at_call_time_and_validated(monkeypatch):
    monkeypatch.delenv("OPENML_CACHE_DIR", raising=False)
    monkeypatch.setenv("OPENML_RETRY_POLICY", "robot")
    monkeypatch.setenv("OPENML_N_RETRIES", "7")
    found = OpenMLSettings.from_env()
    assert (found.retry_policy, found.n_retries) == ("robot", 7)
    assert found.cache_dir.name == ".openml_cache"
    assert OpenMLSettings.from_env(retry_policy="human").retry_policy == "human"
    monkeypatch.setenv("OPENML_RETRY_POLICY", "patient")
    with pytest.raises(ValueError, match="OPENML_RETRY_POLICY"):
        OpenMLSettings.from_env()


def test_offline_with_metadata_but_no_data_file_gives_the_hint(openml_server):
    load_task(59)
    folder = Path(server_cache_dir(OpenMLSettings.from_env())) / "datasets" / "61"
    for path in folder.glob("dataset_61.*"):
        path.unlink()
    openml_server.stop()
    message, seconds = load_failure(59)
    assert "cannot be reached" in message and "prefetch --datasets 59" in message
    assert seconds < 15
