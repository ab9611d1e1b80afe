"""The OpenML-CC18 benchmark suite (study 99), committed as data so nothing is fetched at import.

The exclusion list is configuration: each entry says why the task is left out by default.
"""

from __future__ import annotations

CC18_TASK_IDS: tuple[int, ...] = (
    3, 6, 11, 12, 14, 15, 16, 18, 22, 23, 28, 29, 31, 32, 37, 43, 45, 49, 53, 219, 2074, 2079,
    3021, 3022, 3481, 3549, 3560, 3573, 3902, 3903, 3904, 3913, 3917, 3918, 7592, 9910, 9946,
    9952, 9957, 9960, 9964, 9971, 9976, 9977, 9978, 9981, 9985, 10093, 10101, 14952, 14954,
    14965, 14969, 14970, 125920, 125922, 146195, 146800, 146817, 146819, 146820, 146821,
    146822, 146824, 146825, 167119, 167120, 167121, 167124, 167125, 167140, 167141,
)  # fmt: skip

CC18_KEYS: tuple[str, ...] = tuple(str(task_id) for task_id in CC18_TASK_IDS)

_MISSING_VALUES = (
    "more than 5 % of rows have missing values: preprocessing skips it with a DatasetError "
    "naming that share (complete-case analysis would discard too much)"
)

CC18_EXCLUDED: dict[int, str] = {
    2079: _MISSING_VALUES,
    146800: _MISSING_VALUES,
    125920: _MISSING_VALUES,
    14954: _MISSING_VALUES,
    7592: _MISSING_VALUES,
    3021: _MISSING_VALUES,
    29: _MISSING_VALUES,
}
"""Tasks left out of the default `prefetch` set, each with its reason. They stay partitions."""


def default_task_ids() -> list[int]:
    """The CC18 tasks that `prefetch` downloads when given no `--datasets`."""
    return [task_id for task_id in CC18_TASK_IDS if task_id not in CC18_EXCLUDED]
