"""Small messy data sets, as users and CC18 give them, written as local data-set files.

Every builder returns a `DataFrame` with the label in the column `class`; `write` saves it in the
format a test wants (CSV, ARFF or Parquet) under a file stem that becomes the partition key. The
classes are separable Gaussian blobs, so a data set that gets through preprocessing also gives
meaningful (high) accuracy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from icr_evaluation_pipeline.datasets.base import RawDataset


def blobs(sizes: dict[str, int], n_features: int = 3, seed: int = 0) -> pd.DataFrame:
    """Numeric features `f0..` around a different centre per class, shuffled rows."""
    rng = np.random.default_rng(seed)
    parts = []
    for index, (label, size) in enumerate(sizes.items()):
        centre = np.full(n_features, 4.0 * index)
        features = rng.normal(centre, 1.0, size=(size, n_features))
        frame = pd.DataFrame(features, columns=[f"f{i}" for i in range(n_features)])
        frame["class"] = label
        parts.append(frame)
    frame = pd.concat(parts, ignore_index=True)
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def one_row_class() -> pd.DataFrame:
    return blobs({"a": 40, "b": 40, "lonely": 1})


def three_row_class() -> pd.DataFrame:
    return blobs({"a": 40, "b": 40, "few": 3}, seed=1)


def constant_column() -> pd.DataFrame:
    frame = blobs({"a": 30, "b": 30}, seed=2)
    frame.insert(0, "always_7", 7)
    return frame


def many_categories(n_rows: int = 600, n_values: int = 300) -> pd.DataFrame:
    """A text column with `n_values` values, each in `n_rows / n_values` rows, and a useful one."""
    frame = blobs({"a": n_rows // 2, "b": n_rows - n_rows // 2}, seed=3)
    frame["shop"] = [f"shop_{i % n_values:03d}" for i in range(n_rows)]
    frame["colour"] = np.where(frame["class"] == "a", "red", "blue")
    return frame


def boolean_column() -> pd.DataFrame:
    frame = blobs({"a": 30, "b": 30}, seed=4)
    frame["member"] = frame["class"] == "a"
    frame["flag_text"] = np.where(np.arange(len(frame)) % 3 == 0, "TRUE", "false")
    return frame


def string_labels() -> pd.DataFrame:
    return blobs({"cat": 30, "dog": 30, "horse": 30}, seed=5)


def every_row_duplicated(copies: int = 20) -> pd.DataFrame:
    """Each distinct row `copies` times: more copies than CB-LoOP's 10 neighbours even in a
    training fold, so every CB-LoOP score is 0 (icrlearn's unseeded-bootstrap case)."""
    base = blobs({"a": 4, "b": 4}, seed=6)
    return base.loc[base.index.repeat(copies)].reset_index(drop=True)


def conflicting_duplicates(copies: int = 30) -> pd.DataFrame:
    """6 distinct rows, each `copies` times with label a and `copies` times with label b.

    CB-LoOP scores all 0, and the predictions depend on how often the bootstrap drew each copy,
    so any unseeded randomness in training shows up in the metrics."""
    rng = np.random.default_rng(11)
    base = pd.DataFrame(rng.normal(size=(6, 3)), columns=["f0", "f1", "f2"])
    frame = pd.concat([base.assign(**{"class": label}) for label in ("a", "b")], ignore_index=True)
    return frame.loc[frame.index.repeat(copies)].reset_index(drop=True)


def with_missing_rows(share: float, seed: int = 7, n_rows: int = 200) -> pd.DataFrame:
    """`share` of the rows get one gap, spread over the feature columns (each < 50 % missing)."""
    frame = blobs({"a": n_rows // 2, "b": n_rows - n_rows // 2}, seed=seed)
    rng = np.random.default_rng(seed)
    rows = rng.choice(n_rows, size=round(share * n_rows), replace=False)
    for position, row in enumerate(rows):
        frame.loc[row, f"f{position % 3}"] = np.nan
    return frame


def single_class() -> pd.DataFrame:
    return blobs({"only": 50}, seed=8)


def no_usable_feature() -> pd.DataFrame:
    frame = blobs({"a": 30, "b": 30}, seed=9)[["class"]]
    frame.insert(0, "same", 1.5)
    frame.insert(0, "row_id", np.arange(len(frame)))
    return frame


def kitchen_sink() -> pd.DataFrame:
    """Most kinds of mess at once, still a good data set: ids, numbers as text (with a '?'),
    a boolean, a constant, a high-cardinality text column, a category, ~3 % gaps."""
    frame = blobs({"red wine": 60, "white wine": 60, "rosé": 45}, seed=10)
    n_rows = len(frame)
    frame.insert(0, "sample_id", [f"S{i:05d}" for i in range(n_rows)])
    frame["f1"] = frame["f1"].round(3).astype(str)
    frame.loc[5, "f1"] = "?"
    frame["organic"] = np.arange(n_rows) % 2 == 0
    frame["lab"] = "lab-1"
    frame["vineyard"] = [f"v{i % 150}" for i in range(n_rows)]
    frame["region"] = np.where(frame["class"] == "rosé", "south", "north")
    frame.loc[[3, 17], "f0"] = np.nan
    frame.loc[40, "f2"] = np.nan
    return frame


def as_raw(frame: pd.DataFrame, name: str = "messy", categorical=()) -> RawDataset:
    """The frame as a source would hand it over, label column `class` split off."""
    return RawDataset(
        name=name,
        X=frame.drop(columns=["class"]),
        y=frame["class"],
        source="test",
        categorical=list(categorical),
    )


def write(frame: pd.DataFrame, folder: Path, stem: str, fmt: str = "csv") -> Path:
    """Save `frame` as `<folder>/<stem>.<fmt>` (csv, parquet or arff)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "parquet":
        frame.to_parquet(path, index=False)
    elif fmt == "arff":
        path.write_text(_arff_text(frame, stem))
    else:
        raise ValueError(f"unknown format {fmt}")
    return path


def _arff_text(frame: pd.DataFrame, relation: str) -> str:
    """Numeric columns as NUMERIC, everything else as a nominal attribute; NaN as '?'."""
    lines = [f"@RELATION {relation}", ""]
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            lines.append(f"@ATTRIBUTE {column} NUMERIC")
        else:
            levels = ",".join(sorted(_quoted(v) for v in values.dropna().unique()))
            lines.append(f"@ATTRIBUTE {column} {{{levels}}}")
    lines += ["", "@DATA"]
    for row in frame.itertuples(index=False):
        lines.append(",".join("?" if pd.isna(v) else _quoted(v) for v in row))
    return "\n".join(lines) + "\n"


def _quoted(value) -> str:
    text = str(value)
    return f"'{text}'" if isinstance(value, str) else text
