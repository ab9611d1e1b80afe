"""The raw data set every source returns, and the error every step raises on bad input."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd


class DatasetError(ValueError):
    """A data set cannot be used; the message names the data set and the cause."""

    def __init__(self, dataset: str, cause: str):
        super().__init__(f"data set '{dataset}': {cause}")
        self.dataset = dataset
        self.cause = cause


@dataclass
class RawDataset:
    """Features and labels as the source gives them, before any preprocessing.

    `categorical` names the feature columns the source declares categorical (OpenML's
    categorical indicator, ARFF nominal attributes); preprocessing also infers them.
    """

    name: str
    X: pd.DataFrame
    y: pd.Series
    source: str
    categorical: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.X) != len(self.y):
            raise DatasetError(self.name, f"{len(self.X)} feature rows but {len(self.y)} labels")
        self.X = self.X.reset_index(drop=True)
        self.y = self.y.reset_index(drop=True).rename("target")

    def summary(self) -> dict[str, Any]:
        """Size and class distribution, for Dagster metadata and MLflow tags."""
        counts = self.y.value_counts(dropna=False)
        return {
            "dataset_name": self.name,
            "source": self.source,
            "n_rows": int(len(self.X)),
            "n_features": int(self.X.shape[1]),
            "n_classes": int(self.y.nunique(dropna=True)),
            "class_distribution": {str(k): int(v) for k, v in counts.items()},
            **self.info,
        }
