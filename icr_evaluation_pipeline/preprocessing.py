"""Turn a raw data set into an all-numeric, complete feature matrix, recording every decision.

The policy (thresholds in `PreprocessingSettings`):

1. rows without a label are dropped;
2. columns typed: booleans (also the text "true"/"false") -> 0/1, numbers stored as strings ->
   numbers (a value that does not parse, and +-inf, counts as missing), other strings and
   categories -> categorical;
3. identifier-like columns (a distinct value in nearly every row) are dropped;
4. columns with more missing values than `max_missing_column_share` are dropped;
5. if at most `max_missing_row_share` of the rows still have a gap, those rows are dropped
   (complete-case analysis); otherwise the data set is skipped with a `DatasetError`;
6. constant columns (one value in the remaining rows) are dropped;
7. categorical columns keep the most frequent categories that together cover
   `category_coverage` of the rows, the rest become "other", then one-hot encoding; a column
   that would need more than `max_categories` categories is dropped.

Labels are kept as given (strings stay strings); rows without a label are dropped. Duplicated
rows are kept (they are data) and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from icr_evaluation_pipeline.datasets.base import DatasetError, RawDataset

OTHER = "other"


@dataclass(frozen=True)
class PreprocessingSettings:
    max_missing_column_share: float = 0.5
    max_missing_row_share: float = 0.05
    category_coverage: float = 0.95
    max_categories: int = 20
    min_numeric_parse_share: float = 0.95
    identifier_unique_share: float = 0.95


@dataclass
class PreprocessedDataset:
    """Numeric features (float64, no NaN), labels as given, and the decisions that made them."""

    name: str
    X: pd.DataFrame
    y: pd.Series
    decisions: dict[str, Any] = field(default_factory=dict)

    @property
    def classes(self) -> list:
        return sorted(self.y.unique().tolist(), key=str)


BOOLEAN_TEXT = {"true": 1.0, "false": 0.0}


def _as_boolean(column: pd.Series) -> pd.Series | None:
    """0/1 floats (NaN kept) for a bool column or one holding only True/False; else None."""
    if ptypes.is_bool_dtype(column):
        return column.astype("float64")
    if ptypes.is_numeric_dtype(column):
        return None
    present = column.dropna()
    if present.empty:
        return None
    if set(present.unique().tolist()) <= {True, False}:
        return column.map({True: 1.0, False: 0.0}).astype("float64")
    text = present.astype(str).str.strip().str.lower()
    if set(text.unique().tolist()) <= set(BOOLEAN_TEXT):
        return column.astype(str).str.strip().str.lower().map(BOOLEAN_TEXT).astype("float64")
    return None


def _type_columns(
    X: pd.DataFrame, declared_categorical: set[str], settings: PreprocessingSettings
) -> tuple[pd.DataFrame, list[str], dict[str, str]]:
    """Return features with numeric columns as float64, the categorical column names, and types."""
    typed: dict[str, pd.Series] = {}
    categorical: list[str] = []
    kinds: dict[str, str] = {}
    for name in X.columns:
        column = X[name]
        as_boolean = _as_boolean(column)
        if as_boolean is not None:
            typed[name] = as_boolean
            kinds[name] = "boolean"
        elif name in declared_categorical or isinstance(column.dtype, pd.CategoricalDtype):
            typed[name] = column.astype("object")
            categorical.append(name)
            kinds[name] = "categorical"
        elif ptypes.is_numeric_dtype(column):
            typed[name] = column.astype("float64").replace([np.inf, -np.inf], np.nan)
            kinds[name] = "numeric"
        else:
            present = column.dropna()
            as_numbers = pd.to_numeric(present.astype(str).str.strip(), errors="coerce")
            parsed = as_numbers.notna().mean() if len(present) else 0.0
            if len(present) and parsed >= settings.min_numeric_parse_share:
                parsed_column = pd.to_numeric(column.astype(str).str.strip(), errors="coerce")
                typed[name] = parsed_column.astype("float64").replace([np.inf, -np.inf], np.nan)
                unparsed = int((~as_numbers.notna()).sum())
                kinds[name] = f"numeric (parsed from text, {unparsed} unparseable -> missing)"
            else:
                typed[name] = column.astype("object")
                categorical.append(name)
                kinds[name] = "categorical"
    return pd.DataFrame(typed, index=X.index), categorical, kinds


def _identifier_columns(
    X: pd.DataFrame, categorical: list[str], settings: PreprocessingSettings
) -> list[str]:
    """Columns whose values are (nearly) unique per row: text ids, or integer row counters."""
    n_rows = len(X)
    if n_rows < 20:
        return []
    found = []
    for name in X.columns:
        column = X[name].dropna()
        if column.empty:
            continue
        unique_share = column.nunique() / n_rows
        if name in categorical and unique_share >= settings.identifier_unique_share:
            found.append(name)
        elif name not in categorical and unique_share >= 0.999:
            values = column.to_numpy()
            is_integer = np.all(np.mod(values, 1) == 0)
            steps = np.diff(np.sort(values))
            if is_integer and steps.size and np.all(steps == 1):
                found.append(name)
    return found


def _merge_rare_categories(
    column: pd.Series, settings: PreprocessingSettings
) -> tuple[pd.Series | None, dict[str, Any]]:
    """Keep the categories covering `category_coverage` of rows; None if too many are needed."""
    counts = column.astype(str).value_counts()
    coverage = counts.cumsum() / counts.sum()
    n_needed = int(np.searchsorted(coverage.to_numpy(), settings.category_coverage) + 1)
    n_needed = min(n_needed, len(counts))
    if n_needed > settings.max_categories:
        return None, {"distinct": int(len(counts)), "needed_for_coverage": n_needed}
    kept = counts.index[:n_needed].tolist()
    merged = column.astype(str).where(column.astype(str).isin(kept), OTHER)
    return merged, {
        "distinct": int(len(counts)),
        "kept": [str(k) for k in kept],
        "merged_into_other": int(len(counts) - n_needed),
    }


def preprocess(raw: RawDataset, settings: PreprocessingSettings) -> PreprocessedDataset:
    """Apply the module's policy to `raw`; raise `DatasetError` when the data set is unusable."""
    name = raw.name
    decisions: dict[str, Any] = {"rows_in": int(len(raw.X)), "columns_in": int(raw.X.shape[1])}
    X = raw.X.copy()
    X.columns = [str(c) for c in X.columns]
    y = raw.y.copy()

    label_missing = y.isna().to_numpy()
    if label_missing.any():
        X, y = X.loc[~label_missing], y.loc[~label_missing]
        decisions["rows_dropped_without_label"] = int(label_missing.sum())

    X, categorical, kinds = _type_columns(X, {str(c) for c in raw.categorical}, settings)
    decisions["column_types"] = kinds

    dropped: dict[str, str] = {}
    for column in _identifier_columns(X, categorical, settings):
        dropped[column] = "identifier-like (a distinct value in nearly every row)"

    missing_share = X.isna().mean()
    for column, share in missing_share.items():
        if share > settings.max_missing_column_share and column not in dropped:
            dropped[column] = f"{share:.1%} missing values"
    X = X.drop(columns=list(dropped))
    categorical = [c for c in categorical if c not in dropped]

    incomplete = X.isna().any(axis=1).to_numpy()
    incomplete_share = float(incomplete.mean()) if len(X) else 0.0
    decisions["share_of_rows_with_missing_values"] = round(incomplete_share, 4)
    if incomplete_share > settings.max_missing_row_share:
        gaps = X.isna().mean().sort_values(ascending=False)
        worst = ", ".join(f"{c} {v:.1%}" for c, v in gaps[gaps > 0].head(3).items())
        raise DatasetError(
            name,
            f"{incomplete_share:.1%} of rows have missing values after dropping sparse columns "
            f"(more than max_missing_row_share={settings.max_missing_row_share:.1%}; most "
            f"missing: {worst}); skipped",
        )
    if incomplete.any():
        X, y = X.loc[~incomplete], y.loc[~incomplete]
    decisions["rows_dropped_incomplete"] = int(incomplete.sum())

    for column in [c for c in X.columns if X[c].nunique(dropna=False) <= 1]:
        dropped[column] = "constant"
    X = X.drop(columns=[c for c in X.columns if c in dropped])
    categorical = [c for c in categorical if c not in dropped]

    categories: dict[str, Any] = {}
    encoded: dict[str, list[str]] = {}
    encoded_parts = [X.drop(columns=categorical)]
    for column in categorical:
        merged, report = _merge_rare_categories(X[column], settings)
        categories[column] = report
        if merged is None:
            dropped[column] = (
                f"needs {report['needed_for_coverage']} categories to cover "
                f"{settings.category_coverage:.0%} of rows (max_categories="
                f"{settings.max_categories})"
            )
            continue
        dummies = pd.get_dummies(merged, prefix=column, prefix_sep="=", dtype=float)
        encoded[column] = dummies.columns.tolist()
        encoded_parts.append(dummies)
    X = pd.concat(encoded_parts, axis=1)
    decisions["categorical_columns"] = categories
    decisions["encoded_columns"] = encoded

    X = X.astype("float64")
    decisions["columns_dropped"] = dropped
    decisions["duplicated_rows_kept"] = int(X.duplicated().sum())
    decisions["rows_out"] = int(len(X))
    decisions["columns_out"] = int(X.shape[1])

    if len(X) == 0:
        raise DatasetError(name, "no rows left after preprocessing")
    if X.shape[1] == 0:
        reasons = "; ".join(f"{c}: {r}" for c, r in list(dropped.items())[:5]) or "none given"
        raise DatasetError(name, f"no usable feature left after preprocessing ({reasons})")
    n_classes = y.nunique()
    if n_classes < 2:
        only = y.iloc[0] if len(y) else None
        raise DatasetError(name, f"needs at least two classes, found only {only!r}")
    decisions["n_classes"] = int(n_classes)
    return PreprocessedDataset(
        name=name, X=X.reset_index(drop=True), y=y.reset_index(drop=True), decisions=decisions
    )
