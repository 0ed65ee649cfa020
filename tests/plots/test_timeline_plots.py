"""Action timeline figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.colors import to_rgba

from actionlab.plots.common import MISSING_COLOR, palette
from actionlab.plots.timeline import class_colors, timeline_figure

CLASSES = ["wave", "squat", "jump"]


def _inputs() -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    times = np.arange(1.0, 9.0)
    probs = np.tile([0.7, 0.2, 0.1], (8, 1))
    probs[4:] = [0.1, 0.2, 0.7]
    segments = pd.DataFrame(
        {
            "start": [0.0, 4.5, 6.0],
            "end": [4.5, 6.0, 10.0],
            "label": ["wave", "background", "jump"],
            "confidence": [0.7, 0.4, 0.7],
        }
    )
    return times, probs, segments


def test_one_line_per_class_and_one_band_patch_per_segment(tmp_path: Path) -> None:
    times, probs, segments = _inputs()
    fig = timeline_figure(times, probs, CLASSES, segments, threshold=0.5, title="clip.mp4")
    band, ax = fig.axes[:2]
    lines = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert [line.get_label() for line in lines] == CLASSES
    np.testing.assert_allclose(lines[2].get_ydata(), probs[:, 2])
    assert len(band.patches) == len(segments)
    # the band uses each class's line colour; background is grey
    colors = {line.get_label(): to_rgba(line.get_color()) for line in lines}
    assert to_rgba(band.patches[0].get_facecolor()) == colors["wave"]
    assert to_rgba(band.patches[2].get_facecolor()) == colors["jump"]
    assert to_rgba(band.patches[1].get_facecolor()) == to_rgba(MISSING_COLOR)
    assert [p.get_x() for p in band.patches] == [0.0, 4.5, 6.0]
    assert [t.get_text().split("\n")[0] for t in band.texts] == list(segments["label"])
    assert band.get_xlim() == (0.0, 10.0)
    fig.savefig(tmp_path / "timeline.png")
    assert (tmp_path / "timeline.png").stat().st_size > 0


def test_class_colors_follow_the_class_order() -> None:
    colors = class_colors(CLASSES)
    assert [colors[c] for c in CLASSES] == palette(3)
    assert colors["background"] == MISSING_COLOR
