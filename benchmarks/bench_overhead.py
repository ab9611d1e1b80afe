"""What orchestration and tracking cost on top of the model fits (issue #6, part 1).

The same evaluation of the offline data sets runs two ways, alternating in one process so that
load from other work on the machine hits both sides alike:

* bare: a plain loop over our Dagster-free functions (load, preprocess, rarity, folds, both
  models cross-validated, metrics) with no Dagster and no MLflow;
* pipeline: one `execute_in_process` run of the evaluation job per data set, exactly as
  `evaluate --parallel 1` does it, tracked in an embedded SQLite MLflow store in a temp folder.

Both sides must compute the same numbers: every metric the pipeline logged to MLflow is compared
with the bare loop's, and the script exits non-zero on any difference. The last line printed is
`overhead_ratio=<median pipeline total / median bare total>`.

Run: `uv run python benchmarks/bench_overhead.py [--repeats 3] [--datasets iris,wine]`.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field

from _workspace import machine_line, temporary_workspace

DEFAULT_DATASETS = "iris,wine,breast_cancer,digits,penguins"
BARE_STAGES = ("full_dataset", "preprocessed_dataset", "rarity_scores", "k_folds", "rf", "icr-rf")
PIPELINE_STEPS = {
    "full_dataset": "full_dataset",
    "preprocessed_dataset": "preprocessed_dataset",
    "rarity_scores": "rarity_scores",
    "k_folds": "k_folds",
    "rf": "rf_results",
    "icr-rf": "icr_rf_results",
}
NOT_COMPARED = ("fit_time", "score_time")  # wall-clock measurements, not results


@dataclass
class Timing:
    seconds: float
    stages: dict[str, float] = field(default_factory=dict)


def bare_evaluation(key: str, n_jobs: int) -> tuple[Timing, dict[str, float]]:
    """The evaluation of one data set without orchestration; metrics named like MLflow's."""
    from icr_evaluation_pipeline.cross_validation import cross_validate
    from icr_evaluation_pipeline.datasets.offline import OFFLINE_LOADERS
    from icr_evaluation_pipeline.folds import make_folds
    from icr_evaluation_pipeline.models import MODEL_NAMES, ModelSettings
    from icr_evaluation_pipeline.preprocessing import PreprocessingSettings, preprocess
    from icr_evaluation_pipeline.rarity import RaritySettings, rarity_scores

    stages: dict[str, float] = {}
    metrics: dict[str, float] = {}
    started = mark = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        stages[stage], mark = now - mark, now

    raw = OFFLINE_LOADERS[key]()
    lap("full_dataset")
    data = preprocess(raw, PreprocessingSettings())
    lap("preprocessed_dataset")
    rarity_settings = RaritySettings()
    scores, _ = rarity_scores(data.name, data.X, data.y, rarity_settings)
    lap("rarity_scores")
    folds, _ = make_folds(data.name, data.y, scores)
    lap("k_folds")
    for model in MODEL_NAMES:
        result = cross_validate(
            data.name, model, data.X, data.y, scores, folds, ModelSettings(n_jobs=n_jobs),
            rarity_settings,
        )  # fmt: skip
        metrics.update({f"{k}_{model}": v for k, v in result["summary"].items()})
        lap(model)
    return Timing(time.perf_counter() - started, stages), metrics


def pipeline_evaluation(key: str, evaluation_id: str, n_jobs: int) -> tuple[Timing, str]:
    """One run of the evaluation job, the way `evaluate --parallel 1` starts it."""
    from icr_evaluation_pipeline.cli.evaluate import run_partition

    started = time.perf_counter()
    outcome = run_partition(key, evaluation_id, n_jobs)
    seconds = time.perf_counter() - started
    if not outcome.success:
        sys.exit(f"pipeline run of {key} failed: {outcome.error}")
    return Timing(seconds, _step_durations(outcome.dagster_run_id)), outcome.dagster_run_id


def _step_durations(run_id: str) -> dict[str, float]:
    """Seconds per step as Dagster measured them (compute plus the step's own IO and events)."""
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        records = instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)
    by_step = {r.dagster_event.step_key: r.dagster_event.event_specific_data for r in records}
    return {
        stage: by_step[step].duration_ms / 1000
        for stage, step in PIPELINE_STEPS.items()
        if step in by_step
    }


def tracked_metrics(evaluation_id: str, dagster_run_id: str) -> dict[str, float]:
    """The metrics the pipeline logged to MLflow for one Dagster run."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=os.environ["MLFLOW_TRACKING_URI"])
    experiment = client.get_experiment_by_name(evaluation_id)
    (run,) = client.search_runs(
        [experiment.experiment_id], filter_string=f"tags.dagster_run_id = '{dagster_run_id}'"
    )
    return dict(run.data.metrics)


def compare(key: str, bare: dict[str, float], tracked: dict[str, float]) -> None:
    """Fail loudly unless every model metric the bare loop computed was logged identically."""
    problems = []
    for name, value in bare.items():
        if any(word in name for word in NOT_COMPARED):
            continue
        if name not in tracked:
            problems.append(f"{name}: missing in MLflow")
        elif not math.isclose(value, tracked[name], rel_tol=1e-12, abs_tol=1e-12):
            problems.append(f"{name}: bare {value!r} != pipeline {tracked[name]!r}")
    if problems:
        sys.exit(f"{key}: the two sides disagree:\n  " + "\n  ".join(problems))


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed repetitions (default 3)")
    parser.add_argument("--datasets", default=DEFAULT_DATASETS, help="comma-separated keys")
    parser.add_argument(
        "--n-jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="threads per forest, as `evaluate --parallel 1` gives them (default: all cores)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary stores")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def main() -> None:
    args = parse_args()
    keys = [k.strip() for k in args.datasets.split(",") if k.strip()]
    print(f"machine: {machine_line()}")
    print(f"data sets: {', '.join(keys)}; {args.repeats} repetitions; {args.n_jobs} threads/forest")
    with temporary_workspace(keep=args.keep):
        started = time.perf_counter()
        from icr_evaluation_pipeline.cli.evaluate import new_evaluation_id
        from icr_evaluation_pipeline.definitions import defs  # noqa: F401 - import cost
        from icr_evaluation_pipeline.resources.custom_mlflow_resource import MlflowTracking

        print(f"one-off imports (not timed below): {time.perf_counter() - started:.1f} s")
        evaluation_id = new_evaluation_id()
        MlflowTracking().ensure_experiment(evaluation_id)  # as `evaluate` does before its runs

        # Warm-up: first calls pay lazy imports and caches on both sides.
        bare_evaluation(keys[0], args.n_jobs)
        pipeline_evaluation(keys[0], evaluation_id, args.n_jobs)

        times: dict[str, dict[str, list[float]]] = {
            "bare": defaultdict(list),
            "pipeline": defaultdict(list),
        }
        stages: dict[str, dict[str, list[float]]] = {
            "bare": defaultdict(list),
            "pipeline": defaultdict(list),
        }
        totals: dict[str, list[float]] = {"bare": [], "pipeline": []}
        for repetition in range(args.repeats):
            rep_total = {"bare": 0.0, "pipeline": 0.0}
            rep_stages: dict[str, dict[str, float]] = {
                "bare": defaultdict(float),
                "pipeline": defaultdict(float),
            }
            for index, key in enumerate(keys):
                # Alternate which side goes first, so neither always runs on a warm cache.
                order = (
                    ("bare", "pipeline") if (repetition + index) % 2 == 0 else ("pipeline", "bare")
                )
                for side in order:
                    if side == "bare":
                        timing, bare_metrics = bare_evaluation(key, args.n_jobs)
                    else:
                        timing, run_id = pipeline_evaluation(key, evaluation_id, args.n_jobs)
                    times[side][key].append(timing.seconds)
                    rep_total[side] += timing.seconds
                    for stage, seconds in timing.stages.items():
                        rep_stages[side][stage] += seconds
                compare(key, bare_metrics, tracked_metrics(evaluation_id, run_id))
                print(
                    f"  rep {repetition + 1} {key:<14} bare {times['bare'][key][-1]:6.2f} s   "
                    f"pipeline {times['pipeline'][key][-1]:6.2f} s",
                    flush=True,
                )
            for side in totals:
                totals[side].append(rep_total[side])
                for stage, seconds in rep_stages[side].items():
                    stages[side][stage].append(seconds)
        print("metrics: the pipeline logged the same numbers as the bare loop for every data set")

    print("\nmedian seconds per data set")
    print(f"{'data set':<16}{'bare':>9}{'pipeline':>10}{'ratio':>8}")
    for key in keys:
        bare, pipe = median(times["bare"][key]), median(times["pipeline"][key])
        print(f"{key:<16}{bare:9.2f}{pipe:10.2f}{pipe / bare:8.2f}")
    bare_total, pipe_total = median(totals["bare"]), median(totals["pipeline"])
    print(f"{'total':<16}{bare_total:9.2f}{pipe_total:10.2f}{pipe_total / bare_total:8.2f}")

    print("\nmedian seconds per stage, summed over data sets (pipeline: Dagster's step duration)")
    print(f"{'stage':<22}{'bare':>9}{'pipeline':>10}{'extra':>8}")
    for stage in BARE_STAGES:
        bare, pipe = median(stages["bare"][stage]), median(stages["pipeline"][stage])
        print(f"{stage:<22}{bare:9.2f}{pipe:10.2f}{pipe - bare:8.2f}")
    in_steps = [sum(s) for s in zip(*(stages["pipeline"][st] for st in BARE_STAGES), strict=True)]
    outside = median([t - s for t, s in zip(totals["pipeline"], in_steps, strict=True)])
    print(f"{'run outside steps':<22}{0.0:9.2f}{outside:10.2f}{outside:8.2f}")
    print(f"overhead_ratio={pipe_total / bare_total:.3f}")


if __name__ == "__main__":
    main()
