"""`prefetch` against the local OpenML server: downloads, skips what is cached, reports failures."""

from __future__ import annotations

import pytest

from icr_evaluation_pipeline.cli.prefetch import main, parse_task_ids
from icr_evaluation_pipeline.datasets.cc18 import CC18_EXCLUDED, CC18_TASK_IDS
from icr_evaluation_pipeline.datasets.openml_tasks import is_cached, load_task
from icr_evaluation_pipeline_tests.openml_server import running_server


@pytest.fixture
def openml_server(tmp_path, monkeypatch):
    with running_server(tmp_path, monkeypatch) as server:
        yield server


def test_default_is_cc18_without_the_exclusions():
    ids = parse_task_ids(None)
    assert set(ids) == set(CC18_TASK_IDS) - set(CC18_EXCLUDED)
    assert {2079, 146800, 125920, 14954, 7592, 3021, 29} == set(CC18_EXCLUDED)
    assert all(reason for reason in CC18_EXCLUDED.values())
    assert parse_task_ids(["3,31", "37"]) == [3, 31, 37]
    with pytest.raises(ValueError, match="iris"):
        parse_task_ids(["iris"])


def test_prefetch_downloads_then_skips_and_the_tasks_load_offline(openml_server, capsys):
    assert main(["--datasets", "59,31"]) == 0
    assert is_cached(59) and is_cached(31)
    assert "2 downloaded, 0 already cached, 0 failed" in capsys.readouterr().out

    before = openml_server.count()
    assert main(["--datasets", "59", "31"]) == 0
    assert openml_server.count() == before
    assert "0 downloaded, 2 already cached, 0 failed" in capsys.readouterr().out

    openml_server.stop()
    assert load_task(31).name == "penguins"


def test_prefetch_reports_failures_and_exits_non_zero(openml_server, capsys):
    assert main(["--datasets", "59,424242,2280"]) == 1
    out = capsys.readouterr().out
    assert "1 downloaded, 0 already cached, 2 failed" in out
    assert "FAILED 424242: OpenML task 424242 does not exist" in out
    assert "FAILED 2280: OpenML task 2280 is a 'Supervised Regression' task" in out
