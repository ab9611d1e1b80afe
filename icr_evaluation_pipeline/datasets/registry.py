"""Which source serves a partition key: offline data, a local file, or an OpenML task."""

from __future__ import annotations

import re

from icr_evaluation_pipeline import settings
from icr_evaluation_pipeline.datasets.base import DatasetError, RawDataset
from icr_evaluation_pipeline.datasets.cc18 import CC18_KEYS
from icr_evaluation_pipeline.datasets.local_files import list_local_files, load_local_file
from icr_evaluation_pipeline.datasets.offline import OFFLINE_KEYS, OFFLINE_LOADERS
from icr_evaluation_pipeline.resources.openml_resource import OpenMLResource

_VALID_KEY = re.compile(r"^[A-Za-z0-9_.\-]+$")


def local_file_keys() -> list[str]:
    """Stems of the files in the datasets folder that can be partition keys."""
    return [
        key
        for key in list_local_files(settings.datasets_dir())
        if _VALID_KEY.match(key) and key not in OFFLINE_KEYS and not key.isdigit()
    ]


def all_partition_keys() -> list[str]:
    """Offline keys, then local files, then the OpenML-CC18 task ids."""
    return [*OFFLINE_KEYS, *local_file_keys(), *CC18_KEYS]


def load_raw_dataset(key: str, openml: OpenMLResource) -> RawDataset:
    if key in OFFLINE_LOADERS:
        return OFFLINE_LOADERS[key]()
    local = list_local_files(settings.datasets_dir())
    if key in local:
        return load_local_file(local[key])
    if key.isdigit():
        return openml.load_task(int(key))
    raise DatasetError(
        key,
        f"unknown data set: not an offline key {OFFLINE_KEYS}, not a file in "
        f"{settings.datasets_dir()}, and not an OpenML task id",
    )
