"""Where the pipeline's time goes beyond the model work: a sampling profile by category.

A background thread samples the main thread's stack every few milliseconds while the evaluation
job runs the offline data sets (after a warm-up run). Each sample is charged to the innermost
frame that belongs to a category below, so nested work is never counted twice: a Dagster log
event written while an MLflow step starts counts as Dagster event storage, a forest fit inside an
asset counts as model work. "Other Dagster" is what is left of the run: planning, config, hooks.

Run: `uv run python benchmarks/profile_overhead.py [--datasets iris,wine] [--interval-ms 5]`.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import Counter

from _workspace import machine_line, temporary_workspace

# (category, path fragments); the innermost frame matching any fragment decides the sample.
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "model and data work (same as bare)",
        (
            "/sklearn/",
            "/icrlearn/",
            "/PyNomaly/",
            "/imblearn/",
            "/joblib/",
            "/numpy/",
            "icr_evaluation_pipeline/preprocessing.py",
            "icr_evaluation_pipeline/rarity.py",
            "icr_evaluation_pipeline/folds.py",
            "icr_evaluation_pipeline/metrics.py",
            "icr_evaluation_pipeline/cross_validation.py",
            "icr_evaluation_pipeline/datasets/",
            "/palmerpenguins/",
        ),
    ),
    ("plots (matplotlib)", ("icr_evaluation_pipeline/plots.py", "/matplotlib/", "/PIL/")),
    ("MLflow tracking", ("/mlflow/", "custom_mlflow_resource.py", "/filelock/")),
    ("Dagster IO manager (pickling)", ("io_manager", "/pickle", "/cloudpickle/")),
    (
        "Dagster event storage and logs",
        ("dagster/_core/storage/", "dagster/_core/log_manager.py", "dagster/_core/events/"),
    ),
    ("asset bodies (tables, metadata)", ("icr_evaluation_pipeline/assets/", "/pandas/")),
    ("other Dagster", ("/dagster/",)),
)


def classify(frame) -> str:
    while frame is not None:
        path = frame.f_code.co_filename
        for category, fragments in CATEGORIES:
            if any(fragment in path for fragment in fragments):
                return category
        frame = frame.f_back
    return "other"


class Sampler(threading.Thread):
    """Counts which category the main thread is in, every `interval` seconds."""

    def __init__(self, interval: float):
        super().__init__(daemon=True)
        self.interval = interval
        self.counts: Counter[str] = Counter()
        self._main = threading.main_thread().ident
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.interval):
            frame = sys._current_frames().get(self._main)
            self.counts[classify(frame)] += 1

    def stop(self) -> Counter[str]:
        self._done.set()
        self.join()
        return self.counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="iris,wine,breast_cancer,digits,penguins")
    parser.add_argument("--interval-ms", type=float, default=5.0)
    parser.add_argument("--n-jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    keys = [k.strip() for k in args.datasets.split(",") if k.strip()]
    print(f"machine: {machine_line()}")
    with temporary_workspace():
        from icr_evaluation_pipeline.cli.evaluate import new_evaluation_id, run_partition
        from icr_evaluation_pipeline.resources.custom_mlflow_resource import MlflowTracking

        evaluation_id = new_evaluation_id()
        MlflowTracking().ensure_experiment(evaluation_id)
        run_partition(keys[0], evaluation_id, args.n_jobs)  # warm-up
        sampler = Sampler(args.interval_ms / 1000)
        started = time.perf_counter()
        sampler.start()
        for key in keys:
            outcome = run_partition(key, evaluation_id, args.n_jobs)
            if not outcome.success:
                sys.exit(f"{key} failed: {outcome.error}")
        counts = sampler.stop()
        wall = time.perf_counter() - started
    total = sum(counts.values()) or 1
    print(f"\n{len(keys)} pipeline runs, {wall:.1f} s wall, {total} samples")
    print(f"{'category':<38}{'share':>7}{'seconds':>9}")
    for category, n in counts.most_common():
        print(f"{category:<38}{n / total:7.1%}{wall * n / total:9.2f}")


if __name__ == "__main__":
    main()
