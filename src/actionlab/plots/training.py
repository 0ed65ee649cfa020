"""Figures about training runs."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from actionlab.plots.common import legend_outside, new_figure, palette

MAX_MARKED_POINTS = 60


def history_figure(
    history: pd.DataFrame,
    *,
    x: str = "epoch",
    metrics: Sequence[str | Sequence[str]] = ("loss",),
    title: str = "",
) -> Figure:
    """One panel per metric against ``x`` (e.g. SimSiam ``loss`` and ``collapse_std``).

    A metric entry may be a list of columns drawn in one panel with a legend (e.g.
    ``["train_loss", "val_loss"]``). ``x`` may be a column or the index name. NaNs are skipped.
    """
    if isinstance(metrics, str):
        metrics = (metrics,)
    panels = [[m] if isinstance(m, str) else list(m) for m in metrics]
    if not panels or any(not p for p in panels):
        raise ValueError("metrics must name at least one column per panel.")
    missing = [c for p in panels for c in p if c not in history.columns]
    if missing:
        raise ValueError(f"history has no column(s) {missing}; it has {list(history.columns)}.")
    if x in history.columns:
        xs = history[x]
    elif x == history.index.name:
        xs = history.index.to_series()
    else:
        raise ValueError(
            f"history has no column or index named {x!r}; columns: {list(history.columns)}."
        )

    fig = new_figure(8.0 if any(len(p) > 1 for p in panels) else 6.5, 2.4 * len(panels) + 0.8)
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, cols in zip(axes, panels, strict=True):
        for color, col in zip(palette(len(cols)), cols, strict=True):
            ok = history[col].notna().to_numpy()
            ax.plot(
                xs.to_numpy()[ok],
                history[col].to_numpy()[ok],
                color=color,
                marker="o" if ok.sum() <= MAX_MARKED_POINTS else None,
                markersize=3,
                label=col,
            )
        ax.set_ylabel(cols[0] if len(cols) == 1 else "value")
        ax.grid(alpha=0.3)
        if len(cols) > 1:
            legend_outside(ax)
    axes[-1].set_xlabel(x)
    if pd.api.types.is_integer_dtype(xs.dtype):
        axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(title or "Training history")
    return fig
