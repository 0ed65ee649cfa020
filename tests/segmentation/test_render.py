"""Overlay pictures and videos of masks."""

from __future__ import annotations

import numpy as np

from actionlab.segmentation.masks import encode_masks
from actionlab.segmentation.render import MaskVideo, draw_objects, fps_of, object_color
from actionlab.video.decode import iter_frames
from actionlab.video.probe import probe


def _square(size: int, x0: int, y0: int, side: int) -> np.ndarray:
    mask = np.zeros((size, size), bool)
    mask[y0 : y0 + side, x0 : x0 + side] = True
    return mask


def test_draw_objects_colours_each_object_by_its_id_and_leaves_the_rest():
    frame = np.full((64, 64, 3), 100, np.uint8)
    table = encode_masks([
        {"frame": 0, "object_id": 1, "mask": _square(64, 4, 4, 20)},
        {"frame": 0, "object_id": 2, "mask": _square(64, 36, 36, 20)},
    ])  # fmt: skip
    out = draw_objects(frame, table)
    for object_id, (y, x) in ((1, (8, 8)), (2, (52, 52))):  # inside, away from outline and text
        want = 0.5 * 100 + 0.5 * np.array(object_color(object_id))
        np.testing.assert_allclose(out[y, x], want, atol=1)
    assert object_color(1) != object_color(2)
    np.testing.assert_array_equal(out[0:2, 40:60], frame[0:2, 40:60])  # outside every mask


def test_mask_video_plays_back_with_every_frame(tmp_path):
    n, size = 12, 48
    frames = np.full((n, size, size, 3), 30, np.uint8)
    table = encode_masks({"frame": k, "object_id": 0, "mask": _square(size, 2 * k, 10, 16)} for k in range(0, n, 2))
    times = np.arange(n) / 12.5

    def read(start: int, stop: int) -> dict:
        return {"frames": frames[start:stop], "times": times[start:stop]}

    video = MaskVideo(read, n, fps_of(times), table, chunk=5)
    path = video.write(tmp_path / "v.mp4")
    info = probe(path)
    assert info.frames == n and abs(info.fps - 12.5) < 0.01
    decoded = [rgb for _, _, rgb in iter_frames(path)]
    colour = np.array(object_color(0), float)
    inside = decoded[4][18, 4 * 2 + 8].astype(float)  # frame 4 has the square at x 8..24
    assert np.abs(inside - (0.5 * 30 + 0.5 * colour)).max() < 12
    assert np.abs(decoded[5][18, 16].astype(float) - 30).max() < 12  # frame 5 has no mask
    assert len(video.sample(4)) == 4
