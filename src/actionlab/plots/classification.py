"""Figures about classifiers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import ConfusionMatrixDisplay, accuracy_score

from actionlab.plots.common import new_figure


def confusion_matrix_figure(
    y_true: Sequence[Any], y_pred: Sequence[Any], classes: Sequence[str], *, title: str = ""
) -> Figure:
    """Counts of true labels (rows) x predicted labels (columns), in ``classes`` order, with the
    accuracy and the number of clips in the title."""
    y, p = np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object)
    n = len(classes)
    fig = new_figure(max(4.5, 0.7 * n + 2.8), max(3.8, 0.6 * n + 2.2))
    ax = fig.subplots()
    ConfusionMatrixDisplay.from_predictions(
        y, p, labels=list(classes), ax=ax, cmap="Blues", colorbar=True, xticks_rotation=35
    )
    acc = accuracy_score(y, p) if len(y) else float("nan")
    ax.set_title(f"{title or 'Confusion matrix'}\naccuracy {acc:.3f} ({int((y == p).sum())}/{len(y)})")
    return fig
