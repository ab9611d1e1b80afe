"""Fresh processes: definitions load without OpenML; our settings beat a user config file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from icr_evaluation_pipeline.settings import PROJECT_ROOT
from icr_evaluation_pipeline_tests.openml_server import closed_port_url, running_server


@pytest.fixture
def openml_server(tmp_path, monkeypatch):
    with running_server(tmp_path, monkeypatch) as server:
        yield server


def run_python(code: str, env: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow  # a fresh interpreter imports the whole stack: 20-40 s on a 2-core machine
def test_loading_the_definitions_never_calls_openml(openml_server):
    found = run_python(
        """
        import json, sys, time
        started = time.perf_counter()
        from icr_evaluation_pipeline.definitions import defs
        job = defs.resolve_job_def("evaluation")
        keys = job.partitions_def.get_partition_keys()
        print(json.dumps({
            "seconds": time.perf_counter() - started,
            "openml_imported": "openml" in sys.modules,
            "keys": keys,
        }))
        """,
        {"OPENML_SERVER": openml_server.url},
    )
    assert openml_server.count() == 0
    assert not found["openml_imported"]
    assert {"3", "31", "2079", "167141"} <= set(found["keys"])


def test_our_settings_win_over_a_user_config_file(openml_server, tmp_path):
    user_cache = tmp_path / "user_cache"
    config_home = tmp_path / "xdg_config"
    (config_home / "openml").mkdir(parents=True)
    (config_home / "openml" / "config").write_text(
        f"server = {closed_port_url()}\n"
        "apikey = key-from-the-user-config\n"
        f"cachedir = {user_cache}\n"
        "retry_policy = robot\n"
        "connection_n_retries = 50\n"
    )
    found = run_python(
        """
        import json
        import openml
        before = {"server": openml.config.server, "policy": openml.config.retry_policy}
        from icr_evaluation_pipeline.datasets.openml_tasks import load_task
        raw = load_task(59)
        print(json.dumps({"before": before, "name": raw.name}))
        """,
        {"XDG_CONFIG_HOME": str(config_home)},
    )
    assert found["before"]["policy"] == "robot"  # the file was read at import ...
    assert found["name"] == "iris"  # ... and ignored: the load used OPENML_SERVER
    assert not any("api_key" in line for line in openml_server.requests)
    assert not user_cache.exists() or not any(user_cache.rglob("task.xml"))
    assert any(Path(os.environ["OPENML_CACHE_DIR"]).rglob("task.xml"))
