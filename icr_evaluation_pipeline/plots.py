"""Figures logged to MLflow. The non-GUI Agg backend is forced and every figure is closed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib

matplotlib.use("Agg", force=True)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


@contextmanager
def figure(width: float = 7.0, height: float = 4.0) -> Iterator[Figure]:
    fig = plt.figure(figsize=(width, height))
    try:
        yield fig
    finally:
        plt.close(fig)


def rarity_histogram(fig: Figure, name: str, scores: np.ndarray, y: pd.Series) -> None:
    """Distribution of rarity scores, one stacked colour per class."""
    ax = fig.add_subplot()
    labels = sorted(pd.unique(y.to_numpy()).tolist(), key=str)
    groups = [scores[y.to_numpy() == label] for label in labels]
    show_legend = len(labels) <= 12
    ax.hist(
        groups,
        bins=20,
        range=(0, 1),
        stacked=True,
        label=[str(label) for label in labels] if show_legend else None,
    )
    ax.set(title=f"Rarity scores: {name}", xlabel="rarity score", ylabel="samples")
    if show_legend:
        ax.legend(title="class", fontsize="small")
    fig.tight_layout()


def head_to_head(fig: Figure, differences: pd.DataFrame, metrics: list[str]) -> None:
    """Per data set, icr-rf minus rf for a few metrics (bars right of zero: icr-rf is better)."""
    ax = fig.add_subplot()
    shown = differences[metrics]
    shown.plot.barh(ax=ax)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set(title="icr-rf minus rf", xlabel="difference of the mean over folds", ylabel="")
    fig.tight_layout()
