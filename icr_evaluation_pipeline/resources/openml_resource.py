"""OpenML as a Dagster resource: cache-first loading of classification tasks."""

from __future__ import annotations

import dagster as dg

from icr_evaluation_pipeline.datasets.base import DatasetError, RawDataset


class OpenMLResource(dg.ConfigurableResource):
    """Loads OpenML tasks through openml-python's cache; empty fields fall back to the env."""

    server: str = ""
    apikey: str = ""
    cache_dir: str = ""
    n_retries: int = 0
    retry_policy: str = ""

    def load_task(self, task_id: int) -> RawDataset:
        raise DatasetError(str(task_id), "OpenML loading is not available yet")
