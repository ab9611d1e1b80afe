"""Where the pipeline keeps its state, read from the environment and `.env` at call time.

Nothing here runs at import: every value is read when asked for, so tests and the CLI can point
the pipeline at temporary stores by setting environment variables first.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from dotenv import load_dotenv

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DAGSTER_YAML = PROJECT_ROOT / "config" / "dagster.yaml"


def load_env_file() -> None:
    """Read `.env` in the project root; variables already in the environment win."""
    load_dotenv(PROJECT_ROOT / ".env", override=False)


def _path_setting(name: str, default: Path) -> Path:
    value = os.environ.get(name, "").strip()
    path = Path(value).expanduser() if value else default
    return path if path.is_absolute() else (PROJECT_ROOT / path)


def dagster_home() -> Path:
    return _path_setting("DAGSTER_HOME", PROJECT_ROOT / ".dagster_home")


def datasets_dir() -> Path:
    return _path_setting("ICR_DATASETS_DIR", PROJECT_ROOT / "datasets")


def results_dir() -> Path:
    return _path_setting("ICR_RESULTS_DIR", PROJECT_ROOT / "results")


def openml_cache_dir() -> Path:
    """openml-python's cache root: `OPENML_CACHE_DIR`, else `.openml_cache` in the project."""
    return _path_setting("OPENML_CACHE_DIR", PROJECT_ROOT / ".openml_cache")


def mlflow_tracking_uri() -> str:
    """`MLFLOW_TRACKING_URI`, else the embedded SQLite store `mlflow.db` in the project root."""
    uri = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    if not uri:
        return f"sqlite:///{PROJECT_ROOT / 'mlflow.db'}"
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        # A relative SQLite path means the project root, like the other path settings.
        return f"sqlite:///{PROJECT_ROOT / uri.removeprefix('sqlite:///')}"
    return uri


def mlflow_artifact_root(tracking_uri: str) -> str | None:
    """Artifacts of a SQLite store live beside it in `mlartifacts/`; a server chooses its own."""
    value = os.environ.get("ICR_MLFLOW_ARTIFACTS_DIR", "").strip()
    if value:
        return Path(value).resolve().as_uri()
    if tracking_uri.startswith("sqlite:///"):
        return (Path(tracking_uri.removeprefix("sqlite:///")).parent / "mlartifacts").as_uri()
    return None


def prepare_environment() -> None:
    """Load `.env` and export the defaults that child processes (Dagster runs) must agree on.

    The project's `config/dagster.yaml` is copied into DAGSTER_HOME when that has none, and
    always into the default `.dagster_home`, which the project manages.
    """
    load_env_file()
    home = dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    instance_yaml = home / "dagster.yaml"
    managed = home == PROJECT_ROOT / ".dagster_home"
    if managed or not instance_yaml.exists():
        shutil.copyfile(DAGSTER_YAML, instance_yaml)
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ.setdefault("MLFLOW_TRACKING_URI", mlflow_tracking_uri())
