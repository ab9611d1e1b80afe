"""User data sets: every CSV / ARFF / Parquet file in the datasets folder is one partition."""

from __future__ import annotations

from pathlib import Path

import arff
import pandas as pd

from icr_evaluation_pipeline.datasets.base import DatasetError, RawDataset

SUFFIXES = (".csv", ".arff", ".parquet")
TARGET_NAMES = ("class", "target")


def list_local_files(folder: Path) -> dict[str, Path]:
    """Partition key (file stem) -> file, for the supported files directly in `folder`."""
    if not folder.is_dir():
        return {}
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
    return {p.stem: p for p in files}


def _read_arff(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """Read with liac-arff (openml's reader): UTF-8 text, STRING attributes, quoted values.

    scipy's reader stores nominal values as ASCII bytes and fails on any other character.
    """
    with path.open(encoding="utf-8") as handle:
        data = arff.load(handle)
    names = [name for name, _ in data["attributes"]]
    frame = pd.DataFrame(data["data"], columns=names)
    nominal = [name for name, kind in data["attributes"] if isinstance(kind, list)]
    for name, kind in data["attributes"]:
        if isinstance(kind, str) and kind.upper() in ("NUMERIC", "REAL", "INTEGER"):
            frame[name] = pd.to_numeric(frame[name]).astype("float64")
    return frame, nominal


def _target_column(frame: pd.DataFrame) -> str:
    by_lower = {str(c).lower(): c for c in frame.columns}
    for name in TARGET_NAMES:
        if name in by_lower:
            return by_lower[name]
    return frame.columns[-1]


def load_local_file(path: Path) -> RawDataset:
    """Read one file; the target is the column `class` or `target` (any case), else the last."""
    name = path.stem
    try:
        match path.suffix.lower():
            case ".csv":
                frame, nominal = pd.read_csv(path), []
            case ".parquet":
                frame, nominal = pd.read_parquet(path), []
            case ".arff":
                frame, nominal = _read_arff(path)
            case other:
                raise DatasetError(name, f"unsupported file type {other}")
    except DatasetError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser error becomes a named data set error
        raise DatasetError(name, f"cannot read {path.name}: {exc}") from exc
    if frame.shape[1] < 2:
        raise DatasetError(name, f"{path.name} needs a target column and at least one feature")
    target = _target_column(frame)
    return RawDataset(
        name=name,
        X=frame.drop(columns=[target]),
        y=frame[target],
        source="local file",
        categorical=[c for c in nominal if c != target],
        info={"file": path.name, "target_column": str(target)},
    )
