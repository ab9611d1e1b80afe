"""MLflow tracking for Dagster runs: one experiment per evaluation, one MLflow run per Dagster run.

* The experiment is named after the evaluation: the run's `evaluation_id` tag (set by the
  `evaluate` command and by the backfill sensor), else its backfill id, else its own run id.
* All steps of a Dagster run share one MLflow run, found by its `dagster_run_id` tag, so the
  multiprocess executor (a process per step) logs into the same run.
* Each step records itself in a `dagster_step.<step>` tag (running / finished / failed). The run is
  RUNNING while any step is in flight, FINISHED when the last one ends well, and FAILED (with the
  error as a tag) as soon as one fails; a FAILED run is never turned back to FINISHED. A failure
  hook also fails the run for errors raised outside `start_step` (IO manager, metadata).
* Writes to a SQLite store are serialized across processes with a file lock beside the store and
  retried with backoff, so parallel partitions never lose a write to "database is locked".

An explicit `MlflowClient` with an explicit tracking URI is used throughout: no global fluent
state, and nothing contacts the store until a step asks for its run.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg
import pandas as pd
from filelock import FileLock
from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.tracking import MlflowClient

from icr_evaluation_pipeline import settings

T = TypeVar("T")

EVALUATION_ID_TAG = "evaluation_id"
BACKFILL_TAG = "dagster/backfill"
MAX_PARAM_LENGTH = 500
MAX_TAG_LENGTH = 5000
BATCH_SIZE = 500
STEP_TAG_PREFIX = "dagster_step."
ERROR_TAG = "error"
FAILED = RunStatus.to_string(RunStatus.FAILED)
FINISHED = RunStatus.to_string(RunStatus.FINISHED)
RUNNING = RunStatus.to_string(RunStatus.RUNNING)


@dataclass
class WriteStats:
    """Per-process counters of store writes, to measure what the lock and the retries cost."""

    writes: int = 0
    retries: int = 0
    lock_wait_seconds: float = 0.0
    max_lock_wait_seconds: float = 0.0


WRITE_STATS = WriteStats()

# Opening a SQLite store creates or migrates its schema: two processes doing that at once leave
# it broken ("duplicate column name"). MLflow caches the opened store per process, so opening it
# once under the lock makes every later client in this process safe.
_STORES_OPENED: set[str] = set()
_LOCKS: dict[Path, FileLock] = {}
# (store, evaluation, Dagster run) -> MLflow run id, found once per process: the steps of a run
# in one process then skip the experiment lookup and the run search.
_RUN_IDS: dict[tuple[str, str, str], str] = {}
LOCK_TIMEOUT_SECONDS = 300


def evaluation_id_for(run_tags: Mapping[str, str], run_id: str) -> str:
    """The evaluation a Dagster run belongs to: explicit tag, else backfill, else the run."""
    return run_tags.get(EVALUATION_ID_TAG) or run_tags.get(BACKFILL_TAG) or run_id


def _is_transient(exc: Exception) -> bool:
    text = str(exc).lower()
    return "database is locked" in text or "database table is locked" in text or "busy" in text


def _sqlite_path(tracking_uri: str) -> Path | None:
    if tracking_uri.startswith("sqlite:///"):
        return Path(tracking_uri.removeprefix("sqlite:///"))
    return None


class TrackedRun:
    """The MLflow run of one Dagster run, with the few logging calls the assets need."""

    def __init__(self, tracking: MlflowTracking, client: MlflowClient, run_id: str, name: str):
        self._tracking = tracking
        self.client = client
        self.run_id = run_id
        self.name = name

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> None:
        now = int(time.time() * 1000)
        items = [Metric(k, float(v), now, step) for k, v in metrics.items()]
        for start in range(0, len(items), BATCH_SIZE):
            chunk = items[start : start + BATCH_SIZE]
            self._tracking.write(lambda c=chunk: self.client.log_batch(self.run_id, metrics=c))

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Short values only: anything longer than 500 characters must be an artifact."""
        items = []
        for key, value in params.items():
            text = str(value)
            if len(text) > MAX_PARAM_LENGTH:
                raise ValueError(f"parameter {key} is {len(text)} characters: log an artifact")
            items.append(Param(key, text))
        for start in range(0, len(items), 100):
            chunk = items[start : start + 100]
            self._tracking.write(lambda c=chunk: self.client.log_batch(self.run_id, params=c))

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        items = [RunTag(k, str(v)[:MAX_TAG_LENGTH]) for k, v in tags.items()]
        self._tracking.write(lambda: self.client.log_batch(self.run_id, tags=items))

    def log_dict(self, data: Any, artifact_file: str) -> None:
        text = json.dumps(data, indent=2, default=str, sort_keys=False)
        self.client.log_text(self.run_id, text, artifact_file)

    def log_frame(self, frame: pd.DataFrame, artifact_file: str, index: bool = False) -> None:
        self.client.log_text(self.run_id, frame.to_csv(index=index), artifact_file)

    def log_figure(self, figure: Any, artifact_file: str) -> None:
        self.client.log_figure(self.run_id, figure, artifact_file)

    def log_artifact(self, local_path: Path, artifact_path: str | None = None) -> None:
        self.client.log_artifact(self.run_id, str(local_path), artifact_path)


class MlflowTracking(dg.ConfigurableResource):
    """Maps each Dagster run to an MLflow run inside the experiment of its evaluation."""

    tracking_uri: str | None = None
    """MLflow tracking URI; empty means `MLFLOW_TRACKING_URI` or the embedded `mlflow.db`."""

    write_retries: int = 8
    """Attempts for a write that meets a locked database, with exponential backoff."""

    def resolved_uri(self) -> str:
        return self.tracking_uri or settings.mlflow_tracking_uri()

    def client(self) -> MlflowClient:
        """A client whose store this process has opened under the lock (see `_STORES_OPENED`)."""
        uri = self.resolved_uri()
        if uri not in _STORES_OPENED:
            # Its imports take seconds: not while holding the lock the other processes wait for.
            import mlflow.store.tracking.sqlalchemy_store  # noqa: F401

            with self._lock():
                MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
            _STORES_OPENED.add(uri)
        return MlflowClient(tracking_uri=uri)

    def _lock(self) -> contextlib.AbstractContextManager:
        """The store's cross-process lock; one object per path, so nesting it is re-entrant."""
        path = _sqlite_path(self.resolved_uri())
        if path is None:
            return contextlib.nullcontext()
        if path not in _LOCKS:
            path.parent.mkdir(parents=True, exist_ok=True)
            _LOCKS[path] = FileLock(f"{path}.lock", timeout=LOCK_TIMEOUT_SECONDS)
        return _LOCKS[path]

    def write(self, action: Callable[[], T]) -> T:
        """Run a store write under the store lock, retrying transient lock errors with backoff."""
        for attempt in range(self.write_retries):
            waited = time.perf_counter()
            try:
                with self._lock():
                    wait = time.perf_counter() - waited
                    WRITE_STATS.lock_wait_seconds += wait
                    WRITE_STATS.max_lock_wait_seconds = max(WRITE_STATS.max_lock_wait_seconds, wait)
                    result = action()
                    WRITE_STATS.writes += 1
                    return result
            except Exception as exc:  # MlflowException, or sqlalchemy's OperationalError unwrapped
                if not _is_transient(exc) or attempt == self.write_retries - 1:
                    raise
            WRITE_STATS.retries += 1
            time.sleep(min(5.0, 0.05 * 2**attempt) * (1 + random.random()))
        raise AssertionError("unreachable")

    def ensure_store(self) -> None:
        """Create the store's schema once, under the lock, before any parallel work."""
        self.client()

    def ensure_experiment(self, evaluation_id: str) -> str:
        """Get or create the evaluation's experiment (under the lock); return its id."""
        client = self.client()

        def get_or_create() -> str:
            found = client.get_experiment_by_name(evaluation_id)
            if found is not None:
                if found.lifecycle_stage == "deleted":
                    client.restore_experiment(found.experiment_id)
                return found.experiment_id
            root = settings.mlflow_artifact_root(self.resolved_uri())
            location = f"{root}/{evaluation_id}" if root else None
            return client.create_experiment(
                evaluation_id, artifact_location=location, tags={EVALUATION_ID_TAG: evaluation_id}
            )

        return self.write(get_or_create)

    def _find_or_create_run(
        self, client: MlflowClient, experiment_id: str, name: str, tags: dict[str, str]
    ) -> str:
        """The MLflow run tagged with this Dagster run id, created by the first step to ask."""
        dagster_run_id = tags["dagster_run_id"]

        def runs() -> list:
            found = client.search_runs(
                [experiment_id], filter_string=f"tags.dagster_run_id = '{dagster_run_id}'"
            )
            return sorted(found, key=lambda r: (r.info.start_time or 0, r.info.run_id))

        def find_or_create() -> str:
            existing = runs()
            if existing:
                return existing[0].info.run_id
            return client.create_run(experiment_id, tags=tags, run_name=name).info.run_id

        run_id = self.write(find_or_create)
        # A tracking server has no shared lock: if two steps raced, the oldest run wins.
        winners = runs()
        if winners and winners[0].info.run_id != run_id:
            self.write(lambda: client.delete_run(run_id))
            run_id = winners[0].info.run_id
        return run_id

    def run_name(self, partition_key: str | None, dagster_run_id: str) -> str:
        return f"{partition_key or 'combined_results'}_{dagster_run_id}"

    def run_for(self, dagster_run: dg.DagsterRun, evaluation_id: str | None = None) -> TrackedRun:
        """Find or create the MLflow run of a Dagster run (shared by all of its steps)."""
        partition_key = dagster_run.tags.get("dagster/partition")
        evaluation_id = evaluation_id or evaluation_id_for(dagster_run.tags, dagster_run.run_id)
        tags = {
            "dagster_run_id": dagster_run.run_id,
            EVALUATION_ID_TAG: evaluation_id,
            "dagster_job": dagster_run.job_name,
        }
        if partition_key:
            tags.update(partition_key=partition_key, dataset_name=partition_key)
        else:
            tags["run_kind"] = "combined_results"
        if BACKFILL_TAG in dagster_run.tags:
            tags["dagster_backfill_id"] = dagster_run.tags[BACKFILL_TAG]
        client = self.client()
        name = self.run_name(partition_key, dagster_run.run_id)
        key = (self.resolved_uri(), evaluation_id, dagster_run.run_id)
        if key not in _RUN_IDS:
            experiment_id = self.ensure_experiment(evaluation_id)
            _RUN_IDS[key] = self._find_or_create_run(client, experiment_id, name, tags)
        return TrackedRun(self, client, _RUN_IDS[key], name)

    def _step_started(self, run: TrackedRun, step_key: str) -> None:
        def start() -> None:
            run.client.set_tag(run.run_id, f"{STEP_TAG_PREFIX}{step_key}", "running")
            if run.client.get_run(run.run_id).info.status != FAILED:
                run.client.update_run(run.run_id, status=RUNNING)

        self.write(start)

    def _step_finished(self, run: TrackedRun, step_key: str) -> None:
        """Mark the step finished; the run is FINISHED once no step is still running."""

        def finish() -> None:
            run.client.set_tag(run.run_id, f"{STEP_TAG_PREFIX}{step_key}", "finished")
            current = run.client.get_run(run.run_id)
            in_flight = [
                k
                for k, v in current.data.tags.items()
                if k.startswith(STEP_TAG_PREFIX) and v == "running"
            ]
            if current.info.status != FAILED and not in_flight:
                run.client.set_terminated(run.run_id, status=FINISHED)

        self.write(finish)

    def fail(self, run: TrackedRun, error: str, step_key: str | None = None) -> None:
        """End the run FAILED; the first error recorded is kept as the `error` tag."""

        def fail() -> None:
            tags = run.client.get_run(run.run_id).data.tags
            if ERROR_TAG not in tags:
                run.client.set_tag(run.run_id, ERROR_TAG, error[:MAX_TAG_LENGTH])
            if step_key:
                run.client.set_tag(run.run_id, f"{STEP_TAG_PREFIX}{step_key}", "failed")
            run.client.set_terminated(run.run_id, status=FAILED)

        self.write(fail)

    def fail_dagster_run(self, dagster_run: dg.DagsterRun, error: str, step_key: str | None = None):
        """Fail the MLflow run of a Dagster run, creating it if no step got that far."""
        self.fail(self.run_for(dagster_run), error, step_key)

    @contextmanager
    def start_step(
        self,
        context: dg.AssetExecutionContext | dg.OpExecutionContext,
        evaluation_id: str | None = None,
    ) -> Iterator[TrackedRun]:
        """The MLflow run of this step's Dagster run, RUNNING for the step, then ended."""
        step_key = context.get_step_execution_context().step.key
        known = len(_RUN_IDS)
        tracked = self.run_for(context.run, evaluation_id)
        try:
            self._step_started(tracked, step_key)
            if len(_RUN_IDS) > known:  # once per run and process: each log line is a stored event
                context.log.info(f"MLflow run {tracked.name} ({tracked.run_id})")
            yield tracked
        except BaseException as exc:
            self.fail(tracked, f"{step_key}: {type(exc).__name__}: {exc}", step_key)
            raise
        self._step_finished(tracked, step_key)


@dg.failure_hook(required_resource_keys={"mlflow"})
def mlflow_failure_hook(context: dg.HookContext) -> None:
    """A step that failed outside `start_step` (IO manager, metadata) still fails its MLflow run."""
    dagster_run = context.instance.get_run_by_id(context.run_id)
    if dagster_run is None:
        return
    error = f"{context.step_key}: {context.op_exception!r}"
    context.resources.mlflow.fail_dagster_run(dagster_run, error, context.step_key)
