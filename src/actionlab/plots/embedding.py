"""Figures about embeddings and clusterings: t-SNE, centroid distances, contingency, choice of k.

Every function returns a :class:`matplotlib.figure.Figure` and writes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator
from sklearn.manifold import TSNE

from actionlab.metrics.centroids import INSIDE_PREFIX
from actionlab.metrics.clustering import (
    NOISE,
    contingency,
    hungarian_accuracy,
    hungarian_match,
    is_missing_label,
    ordered_labels,
)
from actionlab.plots.common import MISSING_COLOR, legend_outside, marker, new_figure, palette

PANEL_W, PANEL_H, LEGEND_W = 5.0, 4.6, 2.2
TSNE_EXACT_MAX_N = 400


def _tsne(X: np.ndarray, seed: int, perplexity: float | None) -> tuple[np.ndarray, float]:
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"t-SNE needs a (n, d) matrix with n >= 2; got shape {X.shape}.")
    if not np.isfinite(X).all():
        raise ValueError("t-SNE input has NaN or inf values.")
    n = X.shape[0]
    p = min(30.0, (n - 1) / 3.0) if perplexity is None else float(perplexity)
    if not 0 < p < n:
        raise ValueError(f"perplexity={p} must be in (0, n_samples={n}).")
    init = "pca" if min(X.shape) >= 2 else "random"
    # Exact gradients for small sets: as fast there as Barnes-Hut and without its thread overhead.
    method = "exact" if n <= TSNE_EXACT_MAX_N else "barnes_hut"
    tsne = TSNE(
        n_components=2,
        perplexity=p,
        init=init,
        learning_rate="auto",
        method=method,
        random_state=seed,
    )
    return tsne.fit_transform(X), p


def _label_groups(labels: Sequence[Any]) -> tuple[list[str], np.ndarray]:
    """Label names (sorted; 'unlabelled' last if any are missing) and each point's group name."""
    names = np.array(
        ["unlabelled" if is_missing_label(v) else str(v) for v in labels], dtype=object
    )
    present = [str(v) for v in ordered_labels(names[names != "unlabelled"])]
    if np.any(names == "unlabelled"):
        present.append("unlabelled")
    return present, names


def _scatter_groups(
    ax: Any,
    Y: np.ndarray,
    groups: np.ndarray,
    *,
    order: Sequence[Any],
    names: dict[Any, str],
    colors: dict[Any, Any],
    legend_title: str,
) -> None:
    for i, g in enumerate(order):
        m = groups == g
        ax.scatter(
            Y[m, 0],
            Y[m, 1],
            s=36,
            color=colors[g],
            marker=marker(i),
            edgecolors="white",
            linewidths=0.5,
            alpha=0.9,
            label=f"{names[g]} (n={int(m.sum())})",
        )
    ax.set_xlabel("t-SNE 1")
    ax.set_ylabel("t-SNE 2")
    ax.tick_params(labelsize="small")
    legend_outside(ax, title=legend_title)


def tsne_figure(
    X: np.ndarray,
    *,
    labels: Sequence[Any] | None = None,
    clusters: Sequence[int] | None = None,
    seed: int = 0,
    perplexity: float | None = None,
    title: str = "",
) -> Figure:
    """2-D t-SNE of ``X``: a panel coloured by true label and one by cluster.

    One panel when only one of ``labels`` / ``clusters`` is given (an uncoloured one when neither
    is). Perplexity defaults to ``min(30, (n - 1) / 3)`` so tiny sets work. When both are given,
    each cluster that is matched one-to-one to a label (Hungarian) takes that label's colour and
    its legend entry names the label, so agreeing colours across the panels mean agreement.
    """
    Y, p = _tsne(X, seed, perplexity)
    n = Y.shape[0]
    for name, values in (("labels", labels), ("clusters", clusters)):
        if values is not None and len(values) != n:
            raise ValueError(f"{name} has {len(values)} entries but X has {n} rows.")
    panels = [v for v in (labels, clusters) if v is not None] or [None]
    fig = new_figure((PANEL_W + LEGEND_W) * len(panels), PANEL_H)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    ax_iter = iter(axes)

    label_colors: dict[Any, Any] = {}
    if labels is not None:
        order, groups = _label_groups(labels)
        real = [g for g in order if g != "unlabelled"]
        label_colors = dict(zip(real, palette(len(real)), strict=True))
        label_colors["unlabelled"] = MISSING_COLOR
        ax = next(ax_iter)
        _scatter_groups(
            ax,
            Y,
            groups,
            order=order,
            names={g: g for g in order},
            colors=label_colors,
            legend_title="true label",
        )
        ax.set_title("coloured by true label")

    if clusters is not None:
        cl = np.asarray(clusters).astype(int)
        ids = sorted(int(c) for c in np.unique(cl) if c != NOISE)
        matched: dict[int, Any] = {}
        if labels is not None:
            lab = np.array([not is_missing_label(v) for v in labels], dtype=bool)
            y = np.array([str(v) for v in labels], dtype=object)
            matched = hungarian_match(contingency(y[lab], cl[lab])) if lab.any() else {}
        extra = iter(palette(len(label_colors) + len(ids))[len(label_colors) :])
        colors = {c: label_colors[matched[c]] if c in matched else next(extra) for c in ids}
        names = {c: f"cluster {c}" + (f" \u2192 {matched[c]}" if c in matched else "") for c in ids}
        if np.any(cl == NOISE):
            ids.append(NOISE)
            colors[NOISE], names[NOISE] = MISSING_COLOR, "noise"
        ax = next(ax_iter)
        _scatter_groups(ax, Y, cl, order=ids, names=names, colors=colors, legend_title="cluster")
        ax.set_title("coloured by cluster")

    if labels is None and clusters is None:
        ax = next(ax_iter)
        ax.scatter(Y[:, 0], Y[:, 1], s=36, color=palette(1)[0], edgecolors="white", linewidths=0.5)
        ax.set_xlabel("t-SNE 1")
        ax.set_ylabel("t-SNE 2")

    head = title or "Embeddings"
    fig.suptitle(f"{head}\nt-SNE of {n} embeddings (perplexity {p:.1f}, seed {seed})")
    return fig


def centroid_distance_figure(distances: pd.DataFrame, summary: pd.DataFrame) -> Figure:
    """One box-plot panel per class centroid: distances of all embeddings, grouped by true class.

    Takes the two tables of :func:`actionlab.metrics.centroids.centroid_analysis`. The dashed
    line in each panel is that class's ``radius_same`` (distance from its centroid to its
    farthest member): boxes of other classes reaching below it mean overlap.
    """
    need_d = {"label", "centroid_label", "distance"}
    need_s = {"label", "radius_same"}
    if not need_d <= set(distances.columns) or not need_s <= set(summary.columns):
        raise ValueError(
            f"distances needs columns {sorted(need_d)} and summary {sorted(need_s)} "
            "(the tables of centroid_analysis)."
        )
    classes = [str(c) for c in summary["label"]]
    colors = dict(zip(classes, palette(len(classes)), strict=True))
    n = len(classes)
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    fig = new_figure(max(4.4, 0.55 * n + 1.6) * ncols, 3.8 * nrows + 0.6)
    grid = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
    rng = np.random.default_rng(0)
    dist = distances.assign(
        label=distances["label"].astype(str), centroid_label=distances["centroid_label"].astype(str)
    )
    line = None
    for i, row in enumerate(summary.to_dict("records")):
        c = str(row["label"])
        ax = grid[i // ncols][i % ncols]
        sub = dist[dist["centroid_label"] == c]
        data = [sub.loc[sub["label"] == t, "distance"].to_numpy() for t in classes]
        bp = ax.boxplot(
            data,
            patch_artist=True,
            tick_labels=classes,
            widths=0.6,
            showfliers=False,
            medianprops={"color": "black"},
        )
        for t, box in zip(classes, bp["boxes"], strict=True):
            box.set_facecolor((*colors[t][:3], 0.35))
            box.set_edgecolor(colors[t])
            box.set_linewidth(2.2 if t == c else 1.0)
        for j, d in enumerate(data, start=1):
            ax.scatter(
                j + rng.uniform(-0.15, 0.15, len(d)),
                d,
                s=10,
                color=colors[classes[j - 1]],
                alpha=0.8,
                zorder=3,
                linewidths=0,
            )
        radius = float(row["radius_same"])
        line = ax.axhline(radius, color="crimson", ls="--", lw=1.4, zorder=4)
        inside = [int(row.get(f"{INSIDE_PREFIX}{t}", 0)) for t in classes if t != c]
        status = f", {sum(inside)} other-class inside" if sum(inside) else ", separated"
        ax.set_title(f"centroid of {c}\nradius {radius:.2f}{status}", fontsize="medium")
        ax.tick_params(axis="x", labelrotation=35, labelsize="small")
        for lab in ax.get_xticklabels():
            lab.set_horizontalalignment("right")
            lab.set_rotation_mode("anchor")
        if i % ncols == 0:
            ax.set_ylabel("distance to centroid")
        if i // ncols == nrows - 1 or i + ncols >= n:
            ax.set_xlabel("true class of embedding")
    for j in range(n, nrows * ncols):
        fig.delaxes(grid[j // ncols][j % ncols])
    if line is not None:
        fig.legend(
            [line],
            ["radius_same: centroid to its farthest own-class embedding"],
            loc="outside lower center",
            frameon=False,
            fontsize="small",
        )
    fig.suptitle("Distances of every embedding to each class centroid")
    return fig


def confusion_figure(y_true: Sequence[Any], y_pred: Sequence[int], *, title: str = "") -> Figure:
    """Heat map of counts, clusters (rows) x true labels (columns), in Hungarian-match order.

    Matched (cluster, label) pairs sit on the diagonal and are outlined; unmatched clusters,
    then noise, come last among the rows, unmatched labels last among the columns. Points with a
    missing label are left out.
    """
    t = list(y_true)
    p = np.asarray(y_pred).astype(int)
    if len(t) != len(p):
        raise ValueError(f"y_true has {len(t)} entries but y_pred has {len(p)}.")
    keep = np.array([not is_missing_label(v) for v in t], dtype=bool)
    y = np.array([str(v) for v in t], dtype=object)[keep]
    p = p[keep]
    table = contingency(y, p)
    matched = hungarian_match(table)
    rows = [c for c in table.index if c in matched]
    cols = [matched[c] for c in rows]
    rows += [c for c in table.index if c not in matched and c != NOISE]
    rows += [NOISE] if NOISE in table.index else []
    cols += [lab for lab in table.columns if lab not in cols]
    ordered = table.loc[rows, cols]
    counts = ordered.to_numpy()

    fig = new_figure(max(4.5, 0.75 * len(cols) + 2.8), max(3.5, 0.55 * len(rows) + 2.0))
    ax = fig.subplots()
    im = ax.imshow(counts, cmap="Blues", aspect="auto", vmin=0)
    top = counts.max() if counts.size else 0
    for (r, c), v in np.ndenumerate(counts):
        ax.text(
            c,
            r,
            str(v),
            ha="center",
            va="center",
            fontsize="small",
            color="white" if top and v > 0.5 * top else "black",
        )
    for i in range(len(matched)):
        ax.add_patch(Rectangle((i - 0.5, i - 0.5), 1, 1, fill=False, ec="darkorange", lw=2))
    ax.set_xticks(
        range(len(cols)), [str(c) for c in cols], rotation=35, ha="right", rotation_mode="anchor"
    )
    ax.set_yticks(range(len(rows)), ["noise" if c == NOISE else f"cluster {c}" for c in rows])
    ax.set_xlabel("true label")
    ax.set_ylabel("cluster")
    fig.colorbar(im, ax=ax, label="count")
    acc = hungarian_accuracy(y, p) if len(p) else float("nan")
    ax.set_title(f"{title or 'Clusters vs labels'}\nHungarian accuracy {acc:.2f} (n={len(p)})")
    return fig


def silhouette_k_figure(
    table: pd.DataFrame, *, chosen_k: int | None = None, labels_k: int | None = None
) -> Figure:
    """Mean silhouette against k (the table of ``choose_k``).

    The chosen label-free k (``chosen_k``, default: the best k of the table) is marked by a dashed
    line and named in the title; ``labels_k`` (k of the ``labels`` clustering), by a dotted one.
    """
    if not {"k", "silhouette"} <= set(table.columns):
        raise ValueError(f"table needs columns 'k' and 'silhouette'; got {list(table.columns)}.")
    fig = new_figure(6.0, 4.0)
    ax = fig.subplots()
    ax.plot(table["k"], table["silhouette"], marker="o", color=palette(1)[0])
    s = table["silhouette"].to_numpy(dtype=float)
    head = "Silhouette vs number of clusters"
    if chosen_k is None and np.isfinite(s).any():
        chosen_k = int(table["k"].iloc[int(np.nanargmax(s))])
    if chosen_k is not None:
        ax.axvline(chosen_k, color="crimson", ls="--", lw=1.4, label=f"labelfree: k = {chosen_k}")
        head += f" (label-free: best k = {chosen_k})"
    if labels_k is not None:
        ax.axvline(labels_k, color="dimgray", ls=":", lw=1.4, label=f"labels: k = {labels_k}")
    if chosen_k is not None or labels_k is not None:
        ax.legend(fontsize="small")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("number of clusters k")
    ax.set_ylabel("mean silhouette")
    ax.grid(alpha=0.3)
    ax.set_title(head)
    return fig
