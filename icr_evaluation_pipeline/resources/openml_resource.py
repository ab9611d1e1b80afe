"""OpenML as a Dagster resource: cache-first loading of classification tasks."""

from __future__ import annotations

import dagster as dg

from icr_evaluation_pipeline.datasets.base import RawDataset
from icr_evaluation_pipeline.datasets.openml_tasks import OpenMLSettings, load_task


class OpenMLResource(dg.ConfigurableResource):
    """Loads OpenML tasks through openml-python's cache; empty fields fall back to the env.

    The environment (`OPENML_SERVER`, `OPENML_APIKEY`, `OPENML_CACHE_DIR`, `OPENML_N_RETRIES`,
    `OPENML_RETRY_POLICY`, `OPENML_TIMEOUT`) is read when a task is loaded, never at import,
    and wins over openml-python's user config file.
    """

    server: str = ""
    apikey: str = ""
    cache_dir: str = ""
    n_retries: int = 0
    retry_policy: str = ""
    timeout: float = 0

    def settings(self) -> OpenMLSettings:
        return OpenMLSettings.from_env(
            server=self.server,
            apikey=self.apikey,
            cache_dir=self.cache_dir,
            n_retries=self.n_retries,
            retry_policy=self.retry_policy,
            timeout=self.timeout,
        )

    def load_task(self, task_id: int) -> RawDataset:
        """The task's data set (features, target, categorical columns); raises `DatasetError`."""
        return load_task(task_id, self.settings())
