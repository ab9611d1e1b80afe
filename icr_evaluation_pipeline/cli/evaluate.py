"""`uv run task evaluate`: evaluate both models on several data sets, then combine the results.

Each data set is one run of the partitioned evaluation job, recorded in the Dagster instance at
DAGSTER_HOME (so it shows in the UI), and one MLflow run in the evaluation's experiment. Runs go
`--parallel` at a time in worker processes; the forests get the remaining cores as threads.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from icr_evaluation_pipeline import settings
from icr_evaluation_pipeline.datasets.offline import OFFLINE_KEYS

KEY_METRICS = ("accuracy", "f1_macro", "accuracy_most_rare", "f1_most_rare_macro")
# Failures are reported on one line each by this command; the full logs are in the Dagster UI.
QUIET_LOGGING = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass
class PartitionOutcome:
    key: str
    success: bool
    seconds: float
    dagster_run_id: str = ""
    error: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    tracking: dict[str, float] = field(default_factory=dict)


def new_evaluation_id() -> str:
    return f"eval-{datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


def forest_threads(parallel: int) -> int:
    """Cores per concurrent run, so runs x threads never exceeds the machine's cores."""
    return max(1, (os.cpu_count() or 1) // parallel)


def evaluation_run_config(n_jobs: int) -> dict:
    model = {"config": {"n_jobs": n_jobs}}
    return {"ops": {"rf_results": model, "icr_rf_results": model}, **QUIET_LOGGING}


def _failure_message(result) -> str:
    """The innermost user-facing error of the first failed step (our DatasetError text)."""
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            # Our DatasetError names the data set and the cause: stop there; otherwise the
            # innermost cause is the most specific message.
            while (
                error is not None and error.cause is not None and error.cls_name != "DatasetError"
            ):
                error = error.cause
            if error is not None:
                text = error.message.strip()
                prefix, sep, rest = text.partition(": ")
                if sep and error.cls_name and prefix.endswith(error.cls_name):
                    text = rest  # "package.module.DatasetError: data set 'x': ..." -> the message
                return f"{event.step_key}: {text}"
    return "run failed (see the Dagster UI for its logs)"


_INSTANCES: dict[str, Any] = {}


def _instance() -> Any:
    """The Dagster instance at DAGSTER_HOME, opened once per process (~0.1 s per open)."""
    import dagster as dg

    home = os.environ.get("DAGSTER_HOME", "")
    if home not in _INSTANCES:
        _INSTANCES[home] = dg.DagsterInstance.get()
    return _INSTANCES[home]


def run_partition(key: str, evaluation_id: str, n_jobs: int) -> PartitionOutcome:
    """Materialize one partition through the evaluation job in this process."""
    from icr_evaluation_pipeline.definitions import defs
    from icr_evaluation_pipeline.resources.custom_mlflow_resource import (
        EVALUATION_ID_TAG,
        WRITE_STATS,
    )

    before = asdict(WRITE_STATS)
    started = time.perf_counter()
    job = defs.resolve_job_def("evaluation")
    try:
        result = job.execute_in_process(
            partition_key=key,
            instance=_instance(),
            run_config=evaluation_run_config(n_jobs),
            tags={EVALUATION_ID_TAG: evaluation_id},
            raise_on_error=False,
        )
    except Exception as exc:  # noqa: BLE001 - e.g. an unknown partition key
        return PartitionOutcome(key, False, time.perf_counter() - started, error=str(exc))
    seconds = time.perf_counter() - started
    tracking = {k: v - before[k] for k, v in asdict(WRITE_STATS).items()}
    tracking["max_lock_wait_seconds"] = WRITE_STATS.max_lock_wait_seconds
    if not result.success:
        message = _failure_message(result)
        return PartitionOutcome(key, False, seconds, result.run_id, message, tracking=tracking)
    metrics = {}
    for asset, model in (("rf_results", "rf"), ("icr_rf_results", "icr-rf")):
        summary = result.output_for_node(asset)["summary"]
        metrics.update({f"{m}_{model}": summary[f"mean_{m}"] for m in KEY_METRICS})
    return PartitionOutcome(key, True, seconds, result.run_id, metrics=metrics, tracking=tracking)


def _worker_init() -> None:
    settings.prepare_environment()


NATIVE_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def limit_native_threads(n_threads: int) -> None:
    """Cap OpenMP/BLAS pools (kNN rarity, NumPy) of spawned workers at their share of the cores.

    The variables are read when those libraries load, which in a worker happens while it unpickles
    its initializer, so they are set here, before the pool spawns, and are inherited. Values the
    user exported win.
    """
    for name in NATIVE_THREAD_VARIABLES:
        os.environ.setdefault(name, str(n_threads))


def _progress_line(done: int, total: int, outcome: PartitionOutcome) -> str:
    head = f"[{done}/{total}] {outcome.key:<16} {outcome.seconds:6.1f} s  "
    if not outcome.success:
        return head + f"FAILED  {outcome.error}"
    m = outcome.metrics
    return head + (
        f"ok  accuracy rf {m['accuracy_rf']:.3f} icr-rf {m['accuracy_icr-rf']:.3f}  |  "
        f"rarest 10% rf {m['accuracy_most_rare_rf']:.3f} "
        f"icr-rf {m['accuracy_most_rare_icr-rf']:.3f}"
    )


def create_dagster_storage() -> None:
    """Create the instance's SQLite tables once, before parallel workers open it: workers
    creating a fresh DAGSTER_HOME at once fail with "table ... already exists"."""
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        instance.get_runs(limit=1)


def run_all(keys: list[str], evaluation_id: str, parallel: int) -> list[PartitionOutcome]:
    n_jobs = forest_threads(parallel)
    outcomes: list[PartitionOutcome] = []
    print(
        f"evaluating {len(keys)} data set(s), {parallel} at a time, {n_jobs} thread(s) per forest"
    )
    if parallel == 1:
        for key in keys:
            print(f"  running {key} ...", flush=True)
            outcomes.append(run_partition(key, evaluation_id, n_jobs))
            print(_progress_line(len(outcomes), len(keys), outcomes[-1]), flush=True)
        return outcomes
    import multiprocessing

    limit_native_threads(n_jobs)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(parallel, mp_context=context, initializer=_worker_init) as pool:
        futures = {pool.submit(run_partition, k, evaluation_id, n_jobs): k for k in keys}
        for future in as_completed(futures):
            try:
                outcome = future.result()
            except Exception as exc:  # noqa: BLE001 - a worker died: report, keep going
                outcome = PartitionOutcome(futures[future], False, 0.0, error=repr(exc))
            outcomes.append(outcome)
            print(_progress_line(len(outcomes), len(keys), outcome), flush=True)
    return outcomes


def combine(evaluation_id: str, keys: list[str]) -> bool:
    import dagster as dg

    from icr_evaluation_pipeline.definitions import defs
    from icr_evaluation_pipeline.resources.custom_mlflow_resource import EVALUATION_ID_TAG

    job = defs.resolve_job_def("combine_results")
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance,
            run_config={
                "ops": {
                    "combined_results": {
                        "config": {"evaluation_id": evaluation_id, "partitions": keys}
                    }
                },
                **QUIET_LOGGING,
            },
            tags={EVALUATION_ID_TAG: evaluation_id},
            raise_on_error=False,
        )
    if not result.success:
        print(f"combine_results FAILED: {_failure_message(result)}")
    return result.success


def print_summary(evaluation_id: str) -> None:
    import pandas as pd

    def read(path):
        """The CSV as a frame; empty when combine_results failed before writing it."""
        return pd.read_csv(path) if path.exists() else pd.DataFrame()

    out_dir = settings.results_dir() / evaluation_id
    rows = []
    for model in ("rf", "icr-rf"):
        table = read(out_dir / f"{model}.csv")
        for record in table.to_dict("records"):
            row = {"dataset": record["dataset"], "model": model}
            for metric in KEY_METRICS:
                row[metric] = f"{record[f'mean_{metric}']:.3f} ± {record[f'std_{metric}']:.3f}"
            rows.append(row)
    if rows:
        frame = pd.DataFrame(rows).sort_values(["dataset", "model"], ascending=[True, False])
        print("\nmean ± std over folds (most_rare: the rarest 10 % of each test fold)")
        print(frame.to_markdown(index=False))
    table = read(out_dir / "head_to_head_summary.csv")
    if not table.empty:
        shown = table[table["metric"].isin(KEY_METRICS)]
        print("\nicr-rf vs rf (wins / ties / losses over data sets)")
        print(shown.to_markdown(index=False, floatfmt=".4f"))
    print(f"\nresults: {out_dir}")
    for path in sorted(out_dir.glob("*.*")):
        print(f"  {path.name}")


def print_tracking_stats(outcomes: list[PartitionOutcome]) -> None:
    """What serializing the MLflow writes cost: writes, retries, time spent waiting for the lock."""
    stats = [o.tracking for o in outcomes if o.tracking]
    if not stats:
        return
    writes = sum(s["writes"] for s in stats)
    retries = sum(s["retries"] for s in stats)
    waited = sum(s["lock_wait_seconds"] for s in stats)
    longest = max(s["max_lock_wait_seconds"] for s in stats)
    print(
        f"MLflow store: {writes:.0f} writes, {retries:.0f} retried, "
        f"{waited:.1f} s waiting for the lock in total (longest wait {longest:.2f} s)"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="evaluate", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--datasets",
        default=",".join(OFFLINE_KEYS),
        help="comma-separated partition keys (offline keys, local file stems, OpenML task ids); "
        "default: the five offline data sets",
    )
    parser.add_argument("--parallel", type=int, default=1, help="data sets run at once")
    parser.add_argument("--evaluation-id", default="", help="MLflow experiment name to use")
    args = parser.parse_args(argv)
    if args.parallel < 1:
        parser.error("--parallel must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings.prepare_environment()
    keys = list(dict.fromkeys(k.strip() for k in args.datasets.split(",") if k.strip()))
    if not keys:
        print("no data sets given")
        return 2

    from icr_evaluation_pipeline.partitions import dataset_partitions
    from icr_evaluation_pipeline.resources.custom_mlflow_resource import MlflowTracking

    known = set(dataset_partitions.get_partition_keys())
    unknown = [k for k in keys if k not in known]
    if unknown:
        print(
            f"unknown data set key(s): {', '.join(unknown)}. Known: offline keys "
            f"{', '.join(OFFLINE_KEYS)}, files in {settings.datasets_dir()}, OpenML-CC18 task ids."
        )
        return 2

    evaluation_id = args.evaluation_id or new_evaluation_id()
    tracking = MlflowTracking()
    tracking.ensure_experiment(evaluation_id)
    create_dagster_storage()
    print(f"evaluation {evaluation_id}")
    print(f"  MLflow: {tracking.resolved_uri()} (experiment '{evaluation_id}')")
    print(f"  Dagster: {os.environ['DAGSTER_HOME']}")
    started = time.perf_counter()
    outcomes = run_all(keys, evaluation_id, args.parallel)
    combined = combine(evaluation_id, keys)
    print_summary(evaluation_id)
    failed = [o for o in outcomes if not o.success]
    print(
        f"\n{len(outcomes) - len(failed)} of {len(outcomes)} data sets evaluated in "
        f"{time.perf_counter() - started:.0f} s; MLflow experiment '{evaluation_id}'"
    )
    for outcome in failed:
        print(f"  FAILED {outcome.key}: {outcome.error}")
    print_tracking_stats(outcomes)
    return 0 if combined and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
