"""Data sets that install with the dependencies, so an evaluation runs with no network."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from sklearn import datasets as sk_datasets

from icr_evaluation_pipeline.datasets.base import RawDataset


def _sklearn(loader: Callable, name: str) -> Callable[[], RawDataset]:
    def load() -> RawDataset:
        bunch = loader(as_frame=True)
        names = getattr(bunch, "target_names", None)
        y = bunch.target
        if names is not None and len(names) == y.nunique():
            y = y.map(dict(enumerate(str(n) for n in names)))
        return RawDataset(
            name=name,
            X=bunch.data,
            y=y,
            source="scikit-learn",
            info={"origin": f"sklearn.datasets.{loader.__name__}"},
        )

    return load


def _penguins() -> RawDataset:
    """Palmer penguins: categorical features and missing values exercise preprocessing."""
    from palmerpenguins import load_penguins

    frame: pd.DataFrame = load_penguins()
    return RawDataset(
        name="penguins",
        X=frame.drop(columns=["species"]),
        y=frame["species"],
        source="palmerpenguins",
        categorical=["island", "sex"],
        info={"origin": "palmerpenguins.load_penguins"},
    )


OFFLINE_LOADERS: dict[str, Callable[[], RawDataset]] = {
    "iris": _sklearn(sk_datasets.load_iris, "iris"),
    "wine": _sklearn(sk_datasets.load_wine, "wine"),
    "breast_cancer": _sklearn(sk_datasets.load_breast_cancer, "breast_cancer"),
    "digits": _sklearn(sk_datasets.load_digits, "digits"),
    "penguins": _penguins,
}

OFFLINE_KEYS: tuple[str, ...] = tuple(OFFLINE_LOADERS)
