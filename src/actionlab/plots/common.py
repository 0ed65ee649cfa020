"""Shared helpers for the plot room: figures without pyplot, colours, legends.

Figures are built with :class:`matplotlib.figure.Figure` directly, so they need no GUI
backend, are not registered with pyplot (nothing to close) and can be saved with
``fig.savefig`` or Kedro's ``matplotlib.MatplotlibDataset``.
"""

from __future__ import annotations

from typing import Any

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.figure import Figure

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p")
MISSING_COLOR = (0.6, 0.6, 0.6, 1.0)


def new_figure(width: float, height: float) -> Figure:
    """A pyplot-free figure with constrained layout (keeps outside legends on the canvas)."""
    return Figure(figsize=(width, height), layout="constrained")


def palette(n: int) -> list[tuple[float, float, float, float]]:
    """``n`` distinct colours: tab10 up to 10, tab20 up to 20, then evenly spaced on turbo."""
    if n <= 10:
        cmap = mpl.colormaps["tab10"]
        return [cmap(i) for i in range(n)]
    if n <= 20:
        cmap = mpl.colormaps["tab20"]
        return [cmap(i) for i in range(n)]
    cmap = mpl.colormaps["turbo"]
    return [cmap(i / max(n - 1, 1)) for i in range(n)]


def marker(i: int) -> str:
    """A marker for group ``i`` (cycles), so groups differ by shape as well as colour."""
    return MARKERS[i % len(MARKERS)]


def legend_outside(ax: Axes, *, title: str | None = None, **kwargs: Any) -> Any:
    """Legend to the right of ``ax``, outside the data area."""
    opts: dict[str, Any] = {
        "loc": "upper left",
        "bbox_to_anchor": (1.02, 1.0),
        "borderaxespad": 0.0,
        "frameon": False,
        "fontsize": "small",
        "title": title,
        "title_fontsize": "small",
    }
    opts.update(kwargs)
    return ax.legend(**opts)
