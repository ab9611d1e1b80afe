"""Temporary stores for a benchmark, so timing runs never touch the project's MLflow or Dagster.

The pipeline reads its locations from environment variables when asked (see `settings.py`), so
they are set here before any pipeline module opens a store.
"""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def temporary_workspace(keep: bool = False) -> Iterator[Path]:
    """Point MLflow (embedded SQLite), Dagster, results and data sets at a fresh temp folder."""
    root = Path(tempfile.mkdtemp(prefix="icr-bench-"))
    (root / "datasets").mkdir()
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{root / 'mlflow.db'}"
    os.environ["DAGSTER_HOME"] = str(root / "dagster_home")
    os.environ["ICR_RESULTS_DIR"] = str(root / "results")
    os.environ["ICR_DATASETS_DIR"] = str(root / "datasets")
    os.environ.pop("ICR_MLFLOW_ARTIFACTS_DIR", None)
    from icr_evaluation_pipeline import settings

    settings.prepare_environment()  # copies the project's dagster.yaml, like the CLI does
    try:
        yield root
    finally:
        if keep:
            print(f"workspace kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def machine_line() -> str:
    """Cores, RAM, CPU model and load: the context every figure needs."""
    cpu = platform.processor() or _cpu_model()
    ram = ""
    try:
        import psutil

        ram = f", {psutil.virtual_memory().total / 2**30:.0f} GiB RAM"
    except ImportError:
        pass
    load = ""
    if hasattr(os, "getloadavg"):
        load = ", load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())
    return (
        f"{os.cpu_count()} cores{ram}, {cpu or 'unknown CPU'}, Python "
        f"{platform.python_version()} on {platform.system()}{load}"
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""
