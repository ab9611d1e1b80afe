"""OpenML classification tasks as raw data sets: cache-first, bounded in time, clear errors.

Nothing here talks to OpenML at import (openml-python itself is imported on first use, because
`import openml` reads a user config file). Every load applies our settings to `openml.config`
first, so the environment / `.env` wins over `~/.config/openml/config`, and runs inside
`bounded_transport`, so no request can hang. Any failure becomes a `DatasetError` that names the
task and the cause; a corrupt cache entry is removed and downloaded again once.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
import xml.parsers.expat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from filelock import FileLock
from filelock import Timeout as LockTimeout

from icr_evaluation_pipeline import settings as project_settings
from icr_evaluation_pipeline.datasets.base import DatasetError, RawDataset

DEFAULT_SERVER = "https://www.openml.org/api/v1/xml"
DEFAULT_N_RETRIES = 3
DEFAULT_TIMEOUT = 30.0
RETRY_POLICIES = ("human", "robot")
SUPERVISED_CLASSIFICATION = 1
UNKNOWN_TASK_CODES = (151,)
DATABASE_ERROR_CODE = 107
LOCK_TIMEOUT = 900.0
RECORDED_QUALITIES = (
    "NumberOfInstances",
    "NumberOfFeatures",
    "NumberOfClasses",
    "NumberOfMissingValues",
    "NumberOfInstancesWithMissingValues",
    "MajorityClassSize",
    "MinorityClassSize",
)


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


@dataclass(frozen=True)
class OpenMLSettings:
    """Where and how to reach OpenML. `from_env` reads the environment at call time."""

    server: str = DEFAULT_SERVER
    apikey: str = ""
    cache_dir: Path = field(default_factory=project_settings.openml_cache_dir)
    n_retries: int = DEFAULT_N_RETRIES
    retry_policy: str = "human"
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        if self.retry_policy not in RETRY_POLICIES:
            raise ValueError(
                f"OPENML_RETRY_POLICY must be one of {RETRY_POLICIES}, got {self.retry_policy!r}"
            )
        if self.n_retries < 1:
            raise ValueError(f"OPENML_N_RETRIES must be at least 1, got {self.n_retries}")
        if self.timeout <= 0:
            raise ValueError(f"OPENML_TIMEOUT must be positive, got {self.timeout}")

    @classmethod
    def from_env(
        cls,
        server: str = "",
        apikey: str = "",
        cache_dir: str = "",
        n_retries: int = 0,
        retry_policy: str = "",
        timeout: float = 0,
    ) -> OpenMLSettings:
        """Explicit (non-empty) arguments win, then the OPENML_* variables, then the defaults."""
        try:
            retries = n_retries or int(_env("OPENML_N_RETRIES") or DEFAULT_N_RETRIES)
            seconds = timeout or float(_env("OPENML_TIMEOUT") or DEFAULT_TIMEOUT)
        except ValueError as exc:
            raise ValueError(f"OPENML_N_RETRIES / OPENML_TIMEOUT must be numbers: {exc}") from exc
        root = Path(cache_dir).expanduser() if cache_dir else project_settings.openml_cache_dir()
        return cls(
            server=(server or _env("OPENML_SERVER") or DEFAULT_SERVER).rstrip("/"),
            apikey=apikey or _env("OPENML_APIKEY"),
            cache_dir=root if root.is_absolute() else project_settings.PROJECT_ROOT / root,
            n_retries=retries,
            retry_policy=(retry_policy or _env("OPENML_RETRY_POLICY") or "human").lower(),
            timeout=seconds,
        )

    @property
    def connect_timeout(self) -> float:
        return min(10.0, self.timeout)


@contextmanager
def configured(settings: OpenMLSettings) -> Iterator[Any]:
    """`openml` with our settings on `openml.config` and bounded HTTP; restored afterwards."""
    import openml

    from icr_evaluation_pipeline.datasets.openml_transport import bounded_transport

    config = openml.config
    with bounded_transport(settings.connect_timeout, settings.timeout, settings.n_retries):
        saved = config.get_config_as_dict()
        config.server = settings.server
        config.apikey = settings.apikey
        config.set_root_cache_directory(settings.cache_dir)
        config.set_retry_policy(settings.retry_policy, settings.n_retries)
        try:
            yield openml
        finally:
            config.server, config.apikey = saved["server"], saved["apikey"]
            config.set_root_cache_directory(saved["cachedir"])
            config.set_retry_policy(saved["retry_policy"], saved["connection_n_retries"])


def server_cache_dir(settings: OpenMLSettings) -> Path:
    """openml-python's cache for this server (it keeps one per host and port under the root)."""
    with configured(settings) as openml:
        return Path(openml.config.get_cache_directory())


def _task_dir(settings: OpenMLSettings, task_id: int) -> Path:
    return server_cache_dir(settings) / "tasks" / str(task_id)


def _dataset_dir(settings: OpenMLSettings, dataset_id: int) -> Path:
    return server_cache_dir(settings) / "datasets" / str(dataset_id)


def _cached_dataset_id_in(cache: Path, task_id: int) -> int | None:
    """The data set id named in the cached task description, if it is there and readable."""
    try:
        text = (cache / "tasks" / str(task_id) / "task.xml").read_text(encoding="utf8")
    except OSError:
        return None
    found = re.search(r"<oml:data_set_id>\s*(\d+)\s*</oml:data_set_id>", text)
    return int(found.group(1)) if found else None


def _cached_dataset_id(settings: OpenMLSettings, task_id: int) -> int | None:
    return _cached_dataset_id_in(server_cache_dir(settings), task_id)


def is_cached(task_id: int, settings: OpenMLSettings | None = None) -> bool:
    """Whether the task, its data set's metadata and a data file are all in the cache."""
    settings = settings or OpenMLSettings.from_env()
    dataset_id = _cached_dataset_id(settings, task_id)
    if dataset_id is None:
        return False
    folder = _dataset_dir(settings, dataset_id)
    metadata = all((folder / name).is_file() for name in ("description.xml", "features.xml"))
    data = (folder / f"dataset_{dataset_id}.pq").is_file() or (folder / "dataset.arff").is_file()
    return metadata and data


def _remove_with_derived(path: Path) -> None:
    """Remove a cache file and what openml-python derived from it (pickles, feather)."""
    for derived in (
        path.with_name(path.name + ".pkl"),
        *(path.with_suffix(s) for s in (".pkl.py3", ".feather", ".feather.attributes.pkl.py3")),
    ):
        derived.unlink(missing_ok=True)
    path.unlink(missing_ok=True)


def _is_well_formed_xml(path: Path) -> bool:
    parser = xml.parsers.expat.ParserCreate()
    try:
        with path.open("rb") as fh:
            parser.ParseFile(fh)
    except xml.parsers.expat.ExpatError:
        return False
    return True


def _arff_matches_checksum(arff_file: Path, description: Path) -> bool:
    """openml-python checks the MD5 of the downloaded text, so hash the text the same way."""
    found = re.search(
        r"<oml:md5_checksum>\s*([0-9a-f]{32})\s*</oml:md5_checksum>",
        description.read_text(encoding="utf8", errors="replace"),
    )
    if not found:
        return True
    text = arff_file.read_text(encoding="utf8", errors="replace").encode("utf-8")
    return hashlib.md5(text).hexdigest() == found.group(1)  # noqa: S324


def _parquet_is_complete(path: Path) -> bool:
    import pyarrow.parquet as pq

    try:
        pq.read_metadata(path)
    except Exception:  # noqa: BLE001 - any unreadable footer means a damaged file
        return False
    return True


def _pickle_is_complete(path: Path) -> bool:
    """A pickle ends with the STOP opcode; a half-written one (almost surely) does not."""
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell() == 0:
            return False
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) == b"."


def _drop_damaged_cache_files(folder: Path) -> list[Path]:
    """Remove cache files that a killed process left half-written, so openml fetches them again.

    openml-python uses a cached file as it is: a truncated XML file or data file fails later
    with an obscure error, and a truncated ARFF file can even parse into fewer rows. Checks:
    XML well-formed, ARFF against the description's MD5, parquet footer, pickle STOP opcode.
    """
    if not folder.is_dir():
        return []
    description = folder / "description.xml"
    damaged = [p for p in folder.glob("*.xml") if not _is_well_formed_xml(p)]
    arff_file = folder / "dataset.arff"
    checkable = arff_file.is_file() and description.is_file() and description not in damaged
    if checkable and not _arff_matches_checksum(arff_file, description):
        damaged.append(arff_file)
    damaged += [p for p in folder.glob("*.pq") if not _parquet_is_complete(p)]
    damaged += [p for p in folder.glob("*.pkl*") if not _pickle_is_complete(p)]
    for path in damaged:
        _remove_with_derived(path)
    return damaged


def _fetch(openml: Any, task_id: int) -> RawDataset:
    """Task -> data set -> features, target, categorical indicator (cache first)."""
    cache = Path(openml.config.get_cache_directory())
    _drop_damaged_cache_files(cache / "tasks" / str(task_id))
    cached_dataset_id = _cached_dataset_id_in(cache, task_id)
    if cached_dataset_id is not None:
        _drop_damaged_cache_files(cache / "datasets" / str(cached_dataset_id))
    try:
        task = openml.tasks.get_task(
            task_id,
            download_splits=False,
            download_data=False,
            download_qualities=False,
            download_features_meta_data=False,
        )
    except NotImplementedError as exc:  # a task type openml-python cannot represent
        raise DatasetError(
            str(task_id),
            f"OpenML task {task_id} is not a supervised classification task ({exc}); "
            "only supervised classification tasks can be evaluated",
        ) from None
    if int(task.task_type_id.value) != SUPERVISED_CLASSIFICATION:
        raise DatasetError(
            str(task_id),
            f"OpenML task {task_id} is a '{task.task_type}' task; only supervised "
            "classification tasks can be evaluated",
        )
    if cached_dataset_id != task.dataset_id:
        _drop_damaged_cache_files(cache / "datasets" / str(task.dataset_id))
    dataset = openml.datasets.get_dataset(
        task.dataset_id,
        download_data=True,
        download_qualities=True,
        download_features_meta_data=True,
    )
    X, y, categorical, names = dataset.get_data(target=task.target_name)
    if isinstance(y.dtype, pd.CategoricalDtype):
        y = y.astype("object")
    qualities = dataset.qualities or {}
    return RawDataset(
        name=dataset.name,
        X=X,
        y=y,
        source="OpenML",
        categorical=[n for n, is_cat in zip(names, categorical, strict=True) if is_cat],
        info={
            "openml_task_id": task_id,
            "openml_dataset_id": int(dataset.dataset_id),
            "openml_dataset_version": int(dataset.version),
            "openml_target": task.target_name,
            "openml_data_file": "parquet" if dataset.parquet_file else "arff",
            "openml_qualities": {k: qualities[k] for k in RECORDED_QUALITIES if k in qualities},
        },
    )


def _reason(exc: BaseException) -> str:
    """A short cause: the OS error of a failed connection, else the exception's first line."""
    text = str(exc)
    found = re.search(r"\[Errno -?\d+\] [^'\")]+", text)
    if found:
        return found.group(0).strip()
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first[:300]


def _network_failure(exc: BaseException) -> str | None:
    """The kind of transport failure `exc` is ('unreachable', 'server', 'checksum', ...)."""
    import openml.exceptions as oe
    import requests
    import urllib3

    from icr_evaluation_pipeline.datasets.openml_transport import NotOpenML, ServerUnavailable

    if isinstance(exc, ServerUnavailable):
        return "server"
    if isinstance(exc, NotOpenML):
        return "not openml"
    if isinstance(exc, oe.OpenMLHashException):
        return "checksum"
    if isinstance(exc, oe.OpenMLServerException):
        return "server" if exc.code == DATABASE_ERROR_CODE else None
    if isinstance(exc, requests.exceptions.ConnectionError | urllib3.exceptions.HTTPError):
        return "unreachable"
    if isinstance(exc, requests.exceptions.RequestException | oe.OpenMLServerError):
        return "server"
    return None


def _explain(exc: BaseException, task_id: int, settings: OpenMLSettings, seconds: float) -> str:
    """The cause of a failed load, with what to do about it."""
    import openml.exceptions as oe

    kind = _network_failure(exc)
    attempts = (
        f"{settings.n_retries} attempt(s) per request (OPENML_N_RETRIES={settings.n_retries}, "
        f"OPENML_RETRY_POLICY={settings.retry_policy}), gave up after {seconds:.0f} s"
    )
    if kind == "unreachable":
        return (
            f"OpenML task {task_id} is not in the cache {settings.cache_dir} and the server "
            f"{settings.server} cannot be reached ({_reason(exc)}; {attempts}). While online, "
            f"download it ahead of time with `uv run task prefetch --datasets {task_id}`"
        )
    if kind == "server":
        return (
            f"the OpenML server {settings.server} kept failing for task {task_id} "
            f"({_reason(exc)}; {attempts}). Try again later, raise OPENML_N_RETRIES, or "
            f"prefetch when it is back: `uv run task prefetch --datasets {task_id}`"
        )
    if kind == "not openml":
        return (
            f"{settings.server} does not answer like an OpenML API ({_reason(exc)}); "
            "check OPENML_SERVER"
        )
    if kind == "checksum":
        return (
            f"the data file of OpenML task {task_id} downloaded from {settings.server} does not "
            f"match its MD5 checksum (truncated or corrupt download; {attempts}): {_reason(exc)}"
        )
    if isinstance(exc, oe.OpenMLServerException) and (
        exc.code in UNKNOWN_TASK_CODES or "unknown task" in str(exc).lower()
    ):
        message = exc.message.removesuffix(" - None")
        return f"OpenML task {task_id} does not exist on {settings.server} ({message})"
    if isinstance(exc, oe.OpenMLServerException):
        return f"the OpenML server {settings.server} refused task {task_id}: {exc}"
    return f"OpenML task {task_id} could not be loaded: {type(exc).__name__}: {_reason(exc)}"


def _remove_cache_entry(settings: OpenMLSettings, task_id: int) -> list[str]:
    """Delete the cached task and its data set; return the folders removed."""
    dataset_id = _cached_dataset_id(settings, task_id)
    folders = [_task_dir(settings, task_id)]
    if dataset_id is not None:
        folders.append(_dataset_dir(settings, dataset_id))
    removed = [str(f) for f in folders if f.exists()]
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    return removed


def _attempt(openml: Any, task_id: int) -> tuple[RawDataset | None, Exception | None]:
    """One load; a `DatasetError` (e.g. not classification) passes, other errors are returned."""
    try:
        return _fetch(openml, task_id), None
    except DatasetError:
        raise
    except Exception as exc:  # noqa: BLE001 - sorted into a clear DatasetError by the caller
        return None, exc


def _load_locked(task_id: int, settings: OpenMLSettings, started: float) -> RawDataset:
    """Load under the task's lock. Errors are raised `from None`: the `DatasetError` text (with
    the short cause) is what the `evaluate` command and the Dagster UI show first."""
    import openml.exceptions as oe

    def fail(exc: Exception, note: str = "") -> DatasetError:
        seconds = time.monotonic() - started
        return DatasetError(str(task_id), _explain(exc, task_id, settings, seconds) + note)

    with configured(settings) as openml:
        raw, error = _attempt(openml, task_id)
        if error is None:
            return raw
        if _network_failure(error) or isinstance(error, oe.OpenMLServerException):
            raise fail(error) from None
        # Not a transport failure: most likely a damaged cache entry. Start it afresh once.
        removed = _remove_cache_entry(settings, task_id)
        raw, retry_error = _attempt(openml, task_id)
        if retry_error is None:
            return raw
        note = (
            f" (the cache entry {', '.join(removed)} could not be read: "
            f"{type(error).__name__}: {_reason(error)}; it was removed)"
            if removed
            else ""
        )
        raise fail(retry_error, note) from None


def load_task(task_id: int, settings: OpenMLSettings | None = None) -> RawDataset:
    """Load an OpenML supervised classification task as a `RawDataset`.

    Served from the cache when there; otherwise downloaded (and cached). A cache entry that
    cannot be read is removed and downloaded once more. Raises `DatasetError` for every failure.
    One process at a time works on a task's cache entry (a file lock in the cache root).
    """
    settings = settings or OpenMLSettings.from_env()
    started = time.monotonic()
    lock_dir = settings.cache_dir / "locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(lock_dir / f"task-{task_id}.lock", timeout=LOCK_TIMEOUT)
    try:
        with lock:
            return _load_locked(task_id, settings, started)
    except LockTimeout as exc:
        raise DatasetError(
            str(task_id),
            f"another process has held the cache lock {lock.lock_file} for {LOCK_TIMEOUT:.0f} s",
        ) from exc
