"""Figures about one-class anomaly scores: distributions per class, ROC curves, a score curve over
a video (the confusion matrix of target vs competitive class is
``actionlab.plots.classification.confusion_matrix_figure``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import roc_curve

from actionlab.anomaly.thresholds import flagged_stretches
from actionlab.metrics.anomaly import anomaly_table, comparisons
from actionlab.plots.common import legend_outside, new_figure, palette

FLAG_COLOR = (0.85, 0.2, 0.2, 0.25)


def score_groups(scores: pd.DataFrame, target: str) -> dict[str, np.ndarray]:
    """Scores by group: the target's correct clips, its incorrect ones (when any), then each other
    label (sorted)."""
    labels = scores["label"].astype(str)
    incorrect = scores["incorrect"].astype(bool)
    groups = {f"{target} (correct)": scores.loc[(labels == str(target)) & ~incorrect, "score"].to_numpy(float)}
    own_incorrect = (labels == str(target)) & incorrect
    if own_incorrect.any():
        groups[f"{target} (incorrect)"] = scores.loc[own_incorrect, "score"].to_numpy(float)
    for label in sorted(set(labels) - {str(target)}):
        groups[label] = scores.loc[labels == label, "score"].to_numpy(float)
    return groups


def score_distribution_figure(
    scores: pd.DataFrame, target: str, threshold: float | None = None, *, title: str = ""
) -> Figure:
    """Scores of each group (``score_groups``) as a box plot with every clip as a point, on a
    linear (left) and a log scale (right; symmetric log when a score is <= 0), with the threshold
    as a red dashed line. ``scores``: columns label, incorrect, score."""
    groups = score_groups(scores, target)
    names = list(groups)
    colors = palette(len(names))
    fig = new_figure(11, max(3.0, 0.45 * len(names) + 1.6))
    axes = fig.subplots(1, 2, sharey=True)
    rng = np.random.default_rng(0)
    values = np.concatenate([v for v in groups.values() if len(v)]) if scores.size else np.zeros(0)
    for ax, scale in zip(axes, ("linear", "log"), strict=True):
        data = [groups[n] for n in names]
        ax.boxplot(data, orientation="horizontal", widths=0.5, showfliers=False,
                   medianprops={"color": "0.2"}, positions=range(len(names)))  # fmt: skip
        for i, (name, color) in enumerate(zip(names, colors, strict=True)):
            v = groups[name]
            ax.scatter(v, i + rng.uniform(-0.15, 0.15, len(v)), s=14, color=color, alpha=0.8, zorder=3)
        if threshold is not None:
            ax.axvline(threshold, color="tab:red", ls="--", lw=1.2, label=f"threshold {threshold:.3g}")
        if scale == "log":
            if len(values) and values.min() > 0:
                ax.set_xscale("log")
            else:
                ax.set_xscale("symlog", linthresh=max(float(np.abs(values).min(initial=1.0)), 1e-6))
        ax.set_yticks(range(len(names)), names)
        ax.invert_yaxis()
        ax.set_xlabel(f"anomaly score ({scale} scale)")
        ax.grid(axis="x", alpha=0.3)
    if threshold is not None:
        legend_outside(axes[1])
    fig.suptitle(title or f"Anomaly scores, target {target}")
    return fig


def roc_figure(scores: pd.DataFrame, target: str, *, title: str = "") -> Figure:
    """ROC curve of the target's correct clips (negatives) against each comparison of
    ``actionlab.metrics.anomaly.comparisons`` (positives), with its AUC in the legend."""
    negative = scores.loc[(scores["label"].astype(str) == str(target)) & ~scores["incorrect"].astype(bool),
                          "score"].to_numpy(float)  # fmt: skip
    table = anomaly_table(scores, target, np.inf).set_index("comparison")
    groups = comparisons(scores, target)
    colors = palette(len(groups))
    fig = new_figure(7.5, 4.5)
    ax = fig.subplots()
    for (name, positive), color in zip(groups.items(), colors, strict=True):
        if len(positive) == 0 or len(negative) == 0:
            continue
        y = np.r_[np.zeros(len(negative)), np.ones(len(positive))]
        fpr, tpr, _ = roc_curve(y, np.r_[negative, positive])
        wide = name in ("all_others", "incorrect")
        ax.plot(fpr, tpr, color="black" if name == "all_others" else color, lw=2.2 if wide else 1.2,
                ls="-" if wide else "--", label=f"{name} (AUC {table.loc[name, 'roc_auc']:.3f})")  # fmt: skip
    ax.plot([0, 1], [0, 1], color="0.7", lw=0.8, ls=":")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_xlabel("false-positive rate (target clips flagged)")
    ax.set_ylabel("true-positive rate")
    ax.set_title(title or f"ROC, target {target} against")
    legend_outside(ax, title="positives")
    return fig


def score_timeline_figure(
    times: Sequence[float] | np.ndarray, scores: Sequence[float] | np.ndarray, threshold: float, *,
    title: str = "", ylabel: str = "anomaly score",
) -> Figure:  # fmt: skip
    """A score curve over a video (per window or per frame; ``times`` in seconds) with the
    threshold and the stretches at or above it shaded red."""
    t, s = np.asarray(times, np.float64), np.asarray(scores, np.float64)
    fig = new_figure(10, 3.2)
    ax = fig.subplots()
    ax.plot(t, s, color="tab:blue", lw=1.5, marker="o", ms=3, label="score")
    ax.axhline(threshold, color="tab:red", ls="--", lw=1.2, label=f"threshold {threshold:.3g}")
    step = float(np.median(np.diff(t))) / 2 if len(t) > 1 else 0.5
    for k, (start, end) in enumerate(flagged_stretches(t, s, threshold)):
        ax.axvspan(start - step, end + step, color=FLAG_COLOR, lw=0, label="above threshold" if k == 0 else None)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    legend_outside(ax)
    return fig


def frame_error_figure(frame_errors: pd.DataFrame, *, title: str = "") -> Figure:
    """Per-frame reconstruction error of a few clips (columns group, video_id, frame, error and
    threshold), one colour per group (e.g. the target's correct clips, its incorrect ones,
    another action), with the clip threshold as a red dashed line: where in a clip the error
    rises."""
    groups = list(dict.fromkeys(frame_errors["group"]))
    colors = dict(zip(groups, palette(len(groups)), strict=True))
    fig = new_figure(10, 3.6)
    ax = fig.subplots()
    styles = ("-", "--", ":", "-.")
    for group in groups:
        own = frame_errors[frame_errors["group"] == group]
        for k, (video_id, clip) in enumerate(own.groupby("video_id", sort=False)):
            ax.plot(clip["frame"], clip["error"], color=colors[group], ls=styles[k % len(styles)], lw=1.5,
                    marker="o", ms=2.5, label=f"{group}: {video_id}")  # fmt: skip
    if len(frame_errors):
        threshold = float(frame_errors["threshold"].iloc[0])
        ax.axhline(threshold, color="tab:red", ls="--", lw=1.0, label=f"clip threshold {threshold:.3g}")
    ax.set_xlabel("frame feature (position in the clip)")
    ax.set_ylabel("reconstruction error")
    ax.grid(alpha=0.3)
    ax.set_title(title or "Per-frame reconstruction error")
    legend_outside(ax)
    return fig
