"""Contact sheets of clip frames."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from actionlab.video.sampling import uniform_indices


def clip_grid_figure(
    clips: Mapping[str, np.ndarray], *, columns: int = 8, title: str = ""
) -> Figure:
    """One row per clip (e.g. one example per label), ``columns`` evenly spaced frames each."""
    rows = max(1, len(clips))
    fig = Figure(figsize=(1.6 * columns + 1.2, 1.7 * rows), constrained_layout=True)
    axes = fig.subplots(rows, columns, squeeze=False)
    for r, (name, frames) in enumerate(clips.items()):
        picks = uniform_indices(len(frames), columns)
        for c in range(columns):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(picks):
                ax.imshow(frames[picks[c]])
                ax.set_xlabel(f"#{picks[c]}", fontsize=7)
            else:
                ax.axis("off")
        axes[r][0].set_ylabel(name, fontsize=9)
    fig.suptitle(title or "Sampled frames, one clip per label")
    return fig
