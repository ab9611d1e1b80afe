"""How each stage's cost grows with data size (issue #6, part 2).

Synthetic classification data (scikit-learn's `make_classification`, 20 features, seeded) of
growing size goes through preprocessing, both rarity measures (CB-LoOP, L2Class), the folds and
one model's cross-validation, each stage timed on its own. Per stage the script prints wall time,
peak memory and the growth exponent: the least-squares slope of log(time) over log(rows), over all
sizes and over the two largest (small sizes are dominated by fixed costs, so the upper slope is
the one to compare with the algorithm: ~1 linear, ~1.1 n log n, ~2 quadratic).

Peak memory is resource-based: the process's peak resident set size (VmHWM) is reset through
/proc/self/clear_refs before each stage and read after it, and the RSS before the stage is
subtracted. That counts native allocations (scikit-learn's trees, BLAS) that tracemalloc misses,
and costs nothing while timing. Where /proc is not available the column shows "n/a".

CB-LoOP (PyNomaly) compares every pair of samples within a class, so its cost grows with the
square of the class size; `--cb-loop-max-rows` skips it above a size.

Run: `uv run python benchmarks/bench_scaling.py [--sizes 1000,4000,16000,64000] [--classes 2,10]`.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _workspace import machine_line

STAGES = ("preprocess", "rarity cb_loop", "rarity l2class", "folds", "cross-validation")
PROC = Path("/proc/self")


def _status_kib(field: str) -> int | None:
    try:
        for line in (PROC / "status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        (PROC / "clear_refs").write_text("5")
        return True
    except OSError:
        return False


def measure(action: Callable[[], Any]) -> tuple[Any, float, float | None]:
    """Result, wall seconds and peak extra resident memory (MiB) of one call."""
    gc.collect()
    before = _status_kib("VmRSS")
    can_peak = _reset_peak()
    started = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - started
    peak = _status_kib("VmHWM") if can_peak else None
    extra = (peak - before) / 1024 if peak is not None and before is not None else None
    return result, seconds, extra


def synthetic(n_rows: int, n_classes: int, n_features: int, seed: int):
    """A seeded data set with several clusters per class, so rarity has something to find."""
    import pandas as pd
    from sklearn.datasets import make_classification

    from icr_evaluation_pipeline.datasets.base import RawDataset

    X, y = make_classification(
        n_samples=n_rows,
        n_features=n_features,
        n_informative=10,
        n_redundant=5,
        n_classes=n_classes,
        n_clusters_per_class=2,
        weights=None,
        flip_y=0.01,
        random_state=seed,
    )
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(n_features)])
    return RawDataset(f"synthetic_{n_rows}x{n_classes}", frame, pd.Series(y), "synthetic")


def run_size(n_rows: int, n_classes: int, args: argparse.Namespace) -> dict[str, tuple]:
    """Every stage once on one data set: {stage: (seconds, peak MiB)}."""
    from icr_evaluation_pipeline.cross_validation import cross_validate
    from icr_evaluation_pipeline.folds import make_folds
    from icr_evaluation_pipeline.models import ModelSettings
    from icr_evaluation_pipeline.preprocessing import PreprocessingSettings, preprocess
    from icr_evaluation_pipeline.rarity import RaritySettings, rarity_scores

    raw = synthetic(n_rows, n_classes, args.features, args.seed)
    out: dict[str, tuple] = {}
    data, *out["preprocess"] = measure(lambda: preprocess(raw, PreprocessingSettings()))
    if args.cb_loop_max_rows is None or n_rows <= args.cb_loop_max_rows:
        cb = RaritySettings(measure="cb_loop")
        _, *out["rarity cb_loop"] = measure(lambda: rarity_scores(data.name, data.X, data.y, cb))
    l2 = RaritySettings(measure="l2class")
    (scores, _), *out["rarity l2class"] = measure(
        lambda: rarity_scores(data.name, data.X, data.y, l2)
    )
    (folds, _), *out["folds"] = measure(lambda: make_folds(data.name, data.y, scores))
    model = ModelSettings(n_estimators=args.n_estimators, n_jobs=args.n_jobs)
    _, *out["cross-validation"] = measure(
        lambda: cross_validate(data.name, args.model, data.X, data.y, scores, folds, model, l2)
    )
    return out


def slope(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of log(seconds) over log(rows)."""
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(max(s, 1e-6)) for _, s in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else math.nan


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,4000,16000,64000", help="rows, comma-separated")
    parser.add_argument("--classes", default="2,10", help="class counts, comma-separated")
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--model", choices=("rf", "icr-rf"), default="rf")
    parser.add_argument("--n-estimators", type=int, default=100, help="trees (pipeline: 100)")
    parser.add_argument("--n-jobs", type=int, default=os.cpu_count() or 1, help="forest threads")
    parser.add_argument(
        "--cb-loop-max-rows",
        type=int,
        default=None,
        help="skip CB-LoOP above this many rows (quadratic per class); default: no cap",
    )
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    class_counts = [int(c) for c in args.classes.split(",")]
    print(f"machine: {machine_line()}")
    print(
        f"{args.features} features; model {args.model}, {args.n_estimators} trees, "
        f"{args.n_jobs} threads; 5 folds; peak memory = extra peak RSS over the stage (MiB)"
    )
    if args.cb_loop_max_rows is not None:
        print(f"CB-LoOP capped at {args.cb_loop_max_rows} rows (--cb-loop-max-rows)")
    run_size(min(sizes), class_counts[0], args)  # warm-up: lazy imports, caches
    for n_classes in class_counts:
        results = {}
        for n_rows in sizes:
            results[n_rows] = run_size(n_rows, n_classes, args)
            shown = "  ".join(f"{k} {v[0]:.2f}s" for k, v in results[n_rows].items())
            print(f"  {n_classes} classes, {n_rows} rows: {shown}", flush=True)
        print(f"\n{n_classes} classes: seconds (peak MiB) per stage")
        header = "".join(f"{n:>18}" for n in sizes)
        print(f"{'stage':<18}{header}{'slope':>8}{'upper':>8}")
        for stage in STAGES:
            cells, points = [], []
            for n_rows in sizes:
                if stage not in results[n_rows]:
                    cells.append(f"{'skipped':>18}")
                    continue
                seconds, mib = results[n_rows][stage]
                points.append((n_rows, seconds))
                memory = f"{mib:.0f}" if mib is not None else "n/a"
                cells.append(f"{seconds:>10.3f} ({memory:>5})")
            overall = slope(points) if len(points) >= 2 else math.nan
            upper = slope(points[-2:]) if len(points) >= 2 else math.nan
            print(f"{stage:<18}{''.join(cells)}{overall:8.2f}{upper:8.2f}")
        print()


if __name__ == "__main__":
    main()
