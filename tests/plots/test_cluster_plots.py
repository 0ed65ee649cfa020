"""A cluster's contact sheet and looping preview GIF."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import yaml
from matplotlib.colors import to_rgba
from matplotlib.image import AxesImage
from PIL import Image

from actionlab.plots.clusters import ROLE_COLORS, cluster_sheet_figure, preview_gif

CONF = Path(__file__).resolve().parents[2] / "conf" / "base" / "parameters_clustering.yml"
COLOURS = [(255, 0, 0), (0, 0, 255), (0, 200, 0)]


def _clip(frames: int, colour: tuple[int, int, int], size: int = 24) -> np.ndarray:
    """A solid-colour clip whose brightness falls frame by frame (frame t: colour * (1 - t/20))."""
    scale = 1.0 - np.arange(frames) / 20.0
    rgb = np.asarray(colour, dtype=float)[None, :] * scale[:, None]
    return np.broadcast_to(rgb[:, None, None, :], (frames, size, size, 3)).round().astype(np.uint8)


def test_sheet_has_one_row_per_clip_and_names_its_role() -> None:
    rows = [("centre", "centre 1\nwave", _clip(4, COLOURS[0])),
            ("centre", "centre 2\nwave", _clip(4, COLOURS[1])),
            ("edge", "edge 1\nclap", _clip(2, COLOURS[2]))]  # fmt: skip
    fig = cluster_sheet_figure(rows, title="cluster 3, 3 clips: wave 2, clap 1")
    axes = np.array(fig.axes).reshape(3, 4)
    shown = [[len([a for a in ax.get_children() if isinstance(a, AxesImage)]) for ax in row] for row in axes]
    assert shown == [[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 0, 0]]
    first = axes[0][1].get_images()[0].get_array()
    np.testing.assert_array_equal(first, rows[0][2][1])  # frames left to right
    assert fig._suptitle.get_text() == "cluster 3, 3 clips: wave 2, clap 1"
    assert axes[2][0].yaxis.label.get_text() == "edge 1\nclap"
    assert axes[2][0].yaxis.label.get_color() == ROLE_COLORS["edge"]
    assert to_rgba(axes[0][0].yaxis.label.get_color()) != to_rgba(ROLE_COLORS["edge"])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue()[:4] == b"\x89PNG"


def test_sheet_needs_a_clip() -> None:
    with pytest.raises(ValueError, match="at least one clip"):
        cluster_sheet_figure([], title="empty")


def _saved(image: Image.Image) -> bytes:
    """As the catalog writes it (pillow.ImageDataset with save_args save_all, loop)."""
    buffer = io.BytesIO()
    image.save(buffer, format="GIF", save_all=True, loop=0)
    return buffer.getvalue()


def test_preview_plays_the_clips_side_by_side_in_a_loop() -> None:
    clips = [_clip(8, COLOURS[0]), _clip(8, COLOURS[1]), _clip(3, COLOURS[2])]
    tile, frames = 16, 6
    gif = Image.open(io.BytesIO(_saved(preview_gif(clips, tile=tile, fps=10.0, frames=frames))))
    assert gif.format == "GIF" and gif.n_frames == frames
    assert gif.info["loop"] == 0  # loops forever
    assert gif.info["duration"] == 100  # 10 frames per second
    assert gif.size == (2 * tile, 2 * tile)  # three clips: a 2 x 2 grid
    for t in range(frames):
        gif.seek(t)
        rgb = np.asarray(gif.convert("RGB")).astype(int)
        centres = {i: rgb[(i // 2) * tile + tile // 2, (i % 2) * tile + tile // 2] for i in range(3)}
        assert np.abs(centres[0] - clips[0][t, 0, 0]).max() <= 8
        assert np.abs(centres[1] - clips[1][t, 0, 0]).max() <= 8
        assert np.abs(centres[2] - clips[2][t % 3, 0, 0]).max() <= 8  # the short clip starts over
        assert rgb[-1, -1].max() <= 8  # the empty fourth tile stays black


def test_preview_with_the_shipped_settings_stays_under_a_megabyte_even_for_noise() -> None:
    describe = yaml.safe_load(CONF.read_text())["clustering"]["describe"]
    rng = np.random.default_rng(0)  # noise: the worst case for GIF's compression
    clips = [rng.integers(0, 256, (20, 128, 128, 3), dtype=np.uint8) for _ in range(describe["n_centre"])]
    frames = describe["preview_frames"]
    data = _saved(
        preview_gif(clips, tile=describe["preview_tile"], fps=describe["preview_fps"], frames=frames)
    )
    assert len(data) <= 1_000_000
    assert Image.open(io.BytesIO(data)).n_frames == frames
