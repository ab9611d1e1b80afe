"""`uv run task prefetch [--datasets 3,31 ...]`: download OpenML tasks into the cache ahead of time.

Default: the OpenML-CC18 tasks minus the exclusion list (`datasets/cc18.py`). Tasks already in
the cache are skipped without a request; each other task is downloaded (task, data set
description, features, qualities, data file) and read once, so a later evaluation of it runs
offline. Failures are listed at the end and make the exit status non-zero.
"""

from __future__ import annotations

import argparse
import sys
import time

from tqdm import tqdm

from icr_evaluation_pipeline import settings
from icr_evaluation_pipeline.datasets.base import DatasetError
from icr_evaluation_pipeline.datasets.cc18 import CC18_EXCLUDED, default_task_ids
from icr_evaluation_pipeline.datasets.openml_tasks import OpenMLSettings, is_cached, load_task


def parse_task_ids(values: list[str] | None) -> list[int]:
    """`--datasets 3,31 37` -> [3, 31, 37]; raises ValueError on anything but task ids."""
    if not values:
        return default_task_ids()
    keys = [k.strip() for value in values for k in value.split(",") if k.strip()]
    bad = [k for k in keys if not k.isdigit()]
    if bad:
        raise ValueError(f"not OpenML task ids: {', '.join(bad)}")
    return list(dict.fromkeys(int(k) for k in keys))


def prefetch(task_ids: list[int], openml: OpenMLSettings) -> dict[int, str]:
    """Download what is missing; return the failures, task id -> cause."""
    failed: dict[int, str] = {}
    skipped = 0
    bar = tqdm(task_ids, unit="task", desc="prefetch", dynamic_ncols=True)
    for task_id in bar:
        bar.set_postfix_str(str(task_id))
        if is_cached(task_id, openml):
            skipped += 1
            continue
        try:
            load_task(task_id, openml)
        except DatasetError as exc:
            failed[task_id] = exc.cause
            bar.write(f"FAILED {task_id}: {exc.cause}")
    bar.close()
    downloaded = len(task_ids) - skipped - len(failed)
    print(
        f"{downloaded} downloaded, {skipped} already cached, {len(failed)} failed "
        f"(cache: {openml.cache_dir}, server: {openml.server})"
    )
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="prefetch", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--datasets",
        nargs="+",
        metavar="TASK_ID",
        help="OpenML task ids, comma- or space-separated; default: the CC18 list without "
        f"the {len(CC18_EXCLUDED)} excluded tasks",
    )
    args = parser.parse_args(argv)
    settings.load_env_file()
    try:
        task_ids = parse_task_ids(args.datasets)
        openml = OpenMLSettings.from_env()
    except ValueError as exc:
        parser.error(str(exc))
    started = time.perf_counter()
    failed = prefetch(task_ids, openml)
    print(f"done in {time.perf_counter() - started:.0f} s")
    for task_id, cause in failed.items():
        print(f"  FAILED {task_id}: {cause}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
