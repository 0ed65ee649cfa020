"""What a cluster looks like: a contact sheet of its centre and edge clips, and a looping preview.

Both are returned as objects (a matplotlib ``Figure``, a Pillow animated GIF ``Image``) and
written by the catalog.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from actionlab.plots.common import new_figure

ROLE_COLORS = {"centre": "tab:green", "edge": "tab:orange"}


def cluster_sheet_figure(rows: Sequence[tuple[str, str, np.ndarray]], *, title: str) -> Figure:
    """One row per clip: ``(role, name, frames)`` with ``frames`` (F, H, W, 3) uint8 shown left
    to right; the row's name (a few short lines) is written left of it in its role's colour
    (centre green, edge orange)."""
    if not rows:
        raise ValueError("A contact sheet needs at least one clip.")
    columns = max(len(frames) for _, _, frames in rows)
    fig = new_figure(1.3 * columns + 2.0, 1.35 * len(rows) + 0.5)
    axes = fig.subplots(len(rows), columns, squeeze=False)
    for r, (role, name, frames) in enumerate(rows):
        for c in range(columns):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(frames):
                ax.imshow(frames[c])
            else:
                ax.axis("off")
        axes[r][0].set_ylabel(
            name, fontsize=7, color=ROLE_COLORS.get(role, "black"), rotation=0,
            ha="right", va="center",
        )  # fmt: skip
    fig.suptitle(title, fontsize=10)
    return fig


def preview_gif(
    clips: Sequence[np.ndarray], *, tile: int, fps: float, frames: int | None = None
) -> Image.Image:
    """A looping animated GIF: the clips side by side in a near-square grid of ``tile``-pixel
    squares, all playing at once for ``frames`` frames (default: the longest clip; a shorter clip
    starts over). ``clips``: (T, H, W, 3) uint8 arrays. Save with ``save_all=True``."""
    if not clips:
        raise ValueError("A preview needs at least one clip.")
    cols = math.ceil(math.sqrt(len(clips)))
    rows = math.ceil(len(clips) / cols)
    length = frames or max(len(c) for c in clips)
    sheets = []
    for t in range(length):
        sheet = Image.new("RGB", (cols * tile, rows * tile))
        for i, clip in enumerate(clips):
            tile_image = Image.fromarray(np.asarray(clip[t % len(clip)], dtype=np.uint8))
            sheet.paste(tile_image.resize((tile, tile)), ((i % cols) * tile, (i // cols) * tile))
        sheets.append(sheet.quantize(256, method=Image.Quantize.FASTOCTREE))  # fast, good enough
    buffer = io.BytesIO()
    sheets[0].save(
        buffer, format="GIF", save_all=True, append_images=sheets[1:], loop=0,
        duration=round(1000 / fps),
    )  # fmt: skip
    buffer.seek(0)
    return Image.open(buffer)
