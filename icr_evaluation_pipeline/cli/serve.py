"""`uv run task dagster` / `uv run task mlflow`: the two UIs over the pipeline's own stores.

Both load `.env` first, so the UIs, the `evaluate` command and the Dagster runs agree on
DAGSTER_HOME and the MLflow store. Extra arguments are passed on to `dagster dev` / `mlflow server`.
"""

from __future__ import annotations

import os
import shutil
import sys

from icr_evaluation_pipeline import settings


def _exec(argv: list[str]) -> None:
    executable = shutil.which(argv[0])
    if executable is None:
        sys.exit(f"{argv[0]} is not installed in this environment (run `uv sync`)")
    print("+ " + " ".join(argv), flush=True)
    os.execv(executable, argv)


def dagster(extra: list[str]) -> None:
    from icr_evaluation_pipeline.resources.custom_mlflow_resource import MlflowTracking

    # Create the MLflow store once, before a backfill's runs start touching it in parallel.
    MlflowTracking().ensure_store()
    _exec(
        [
            "dagster",
            "dev",
            "-h",
            "127.0.0.1",
            "-p",
            "3000",
            "-m",
            "icr_evaluation_pipeline.definitions",
            *extra,
        ]
    )


def mlflow(extra: list[str]) -> None:
    uri = settings.mlflow_tracking_uri()
    if not uri.startswith("sqlite:"):
        sys.exit(f"MLFLOW_TRACKING_URI is {uri}: open that tracking server's UI directly")
    from icr_evaluation_pipeline.resources.custom_mlflow_resource import MlflowTracking

    MlflowTracking().ensure_store()
    argv = ["mlflow", "server", "--backend-store-uri", uri, "--host", "127.0.0.1", "--port", "5000"]
    root = settings.mlflow_artifact_root(uri)
    if root:
        argv += ["--default-artifact-root", root]
    _exec([*argv, *extra])


def main() -> None:
    settings.prepare_environment()
    if len(sys.argv) < 2 or sys.argv[1] not in ("dagster", "mlflow"):
        sys.exit("usage: python -m icr_evaluation_pipeline.cli.serve {dagster|mlflow} [args...]")
    {"dagster": dagster, "mlflow": mlflow}[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
