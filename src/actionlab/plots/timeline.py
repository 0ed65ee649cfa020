"""Action timeline figure: class probability curves over time under a band of merged segments."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from actionlab.plots.common import MISSING_COLOR, legend_outside, new_figure, palette

Color = tuple[float, float, float, float]


def class_colors(classes: Sequence[str], background: str = "background") -> dict[str, Color]:
    """One colour per class, by its position in ``classes`` (the model's class order), so a class
    has the same colour in every figure and overlay of one model; ``background`` is grey."""
    colors = dict(zip(classes, palette(len(classes)), strict=True))
    colors.setdefault(background, MISSING_COLOR)
    return colors


def timeline_figure(
    times: np.ndarray,
    probs: np.ndarray,
    classes: Sequence[str],
    segments: pd.DataFrame,
    *,
    threshold: float | None = None,
    title: str = "",
) -> Figure:
    """Probability of each class against time (one line per class, window centres on x), with the
    merged ``segments`` (columns start, end, label, confidence) as coloured, labelled patches in
    a band above. ``threshold`` draws the background threshold as a dotted line."""
    probs = np.asarray(probs, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    if probs.shape != (len(times), len(classes)):
        raise ValueError(
            f"probs must be (len(times), len(classes)) = ({len(times)}, {len(classes)}), "
            f"got {probs.shape}."
        )
    colors = class_colors(classes)
    fig = new_figure(10, 4)
    band, ax = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 4]})
    for k, name in enumerate(classes):
        ax.plot(times, probs[:, k], color=colors[name], label=name, lw=1.5)
    if threshold is not None:
        ax.axhline(threshold, color="0.4", ls=":", lw=1, label="_threshold")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("probability (smoothed)")
    ax.grid(alpha=0.3)
    legend_outside(ax, title="class")
    for row in segments.itertuples(index=False):
        width = row.end - row.start
        band.add_patch(
            Rectangle(
                (row.start, 0), width, 1,
                facecolor=colors.get(row.label, MISSING_COLOR), edgecolor="white", lw=0.5,
            )
        )  # fmt: skip
        band.text(
            row.start + width / 2, 0.5, f"{row.label}\n{row.confidence:.2f}",
            ha="center", va="center", fontsize="x-small", clip_on=True,
        )  # fmt: skip
    lo = min(times.min(), segments["start"].min()) if len(segments) else times.min()
    hi = max(times.max(), segments["end"].max()) if len(segments) else times.max()
    band.set_xlim(lo, hi if hi > lo else lo + 1)
    band.set_ylim(0, 1)
    band.set_yticks([])
    band.set_ylabel("action", rotation=0, ha="right", va="center")
    if title:
        band.set_title(title)
    return fig
