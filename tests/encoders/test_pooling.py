from __future__ import annotations

import numpy as np
import pytest

from actionlab.encoders.base import check_clip, merge_config
from actionlab.encoders.pooling import (
    pool,
    resample_indices,
    two_stream_embedding,
    two_stream_indices,
    window_indices,
)


def test_two_stream_indices_centred_small_and_regular_large() -> None:
    small, large = two_stream_indices(20, num_frames=8, small_step=1)
    np.testing.assert_array_equal(small, np.arange(6, 14))  # (20 - 8) // 2 = 6
    np.testing.assert_array_equal(large, np.arange(0, 16, 2))  # step 20 // 8 = 2


def test_two_stream_indices_small_step() -> None:
    small, large = two_stream_indices(20, num_frames=8, small_step=2)
    np.testing.assert_array_equal(small, np.arange(2, 17, 2))  # span 15, start (20 - 15) // 2
    np.testing.assert_array_equal(large, np.arange(0, 16, 2))


def test_two_stream_indices_odd_total_and_large_step() -> None:
    small, large = two_stream_indices(37, num_frames=4, small_step=3)
    np.testing.assert_array_equal(small, [13, 16, 19, 22])  # span 10, start 27 // 2
    np.testing.assert_array_equal(large, [0, 9, 18, 27])  # step 37 // 4 = 9


def test_two_stream_indices_shrinks_small_step_that_does_not_fit() -> None:
    small, _ = two_stream_indices(10, num_frames=8, small_step=2)
    np.testing.assert_array_equal(small, np.arange(1, 9))
    assert small.max() < 10


@pytest.mark.parametrize("total", [1, 3, 7, 8])
def test_two_stream_indices_clamps_short_clips(total: int) -> None:
    small, large = two_stream_indices(total, num_frames=8, small_step=2)
    np.testing.assert_array_equal(small, np.arange(total))
    np.testing.assert_array_equal(large, np.arange(total))


def test_two_stream_indices_rejects_empty() -> None:
    with pytest.raises(ValueError):
        two_stream_indices(0)


def test_pool_max_and_mean() -> None:
    x = np.array([[1.0, -2.0], [3.0, 0.0], [-1.0, 5.0]])
    np.testing.assert_array_equal(pool(x, "max"), [3.0, 5.0])
    np.testing.assert_allclose(pool(x, "mean"), [1.0, 1.0])
    with pytest.raises(ValueError, match="pooling"):
        pool(x, "median")
    with pytest.raises(ValueError):
        pool(np.zeros((0, 2)))


def test_two_stream_embedding_two_and_single() -> None:
    t = np.arange(20, dtype=np.float32)
    feats = np.stack([t, -t], axis=1)  # (20, 2)
    two = two_stream_embedding(feats, num_frames=8, pooling="max", streams="two")
    # small = 6..13 -> max [13, -6]; large = 0, 2, .., 14 -> max [14, 0]
    np.testing.assert_array_equal(two, [13, -6, 14, 0])
    assert two.dtype == np.float32
    single = two_stream_embedding(feats, num_frames=8, pooling="mean", streams="single")
    np.testing.assert_allclose(single, [7.0, -7.0])
    with pytest.raises(ValueError, match="streams"):
        two_stream_embedding(feats, streams="three")


def test_two_stream_embedding_short_clip_uses_all_frames() -> None:
    feats = np.array([[1.0], [4.0], [2.0]])
    np.testing.assert_array_equal(two_stream_embedding(feats, num_frames=8), [4.0, 4.0])


def test_window_indices() -> None:
    np.testing.assert_array_equal(window_indices(10, 4)[:, 0], [0, 2, 4, 6])
    np.testing.assert_array_equal(window_indices(11, 4)[:, 0], [0, 2, 4, 6, 7])  # tail covered
    np.testing.assert_array_equal(window_indices(4, 4), [[0, 1, 2, 3]])
    np.testing.assert_array_equal(window_indices(3, 4), [[0, 1, 1, 2]])
    np.testing.assert_array_equal(resample_indices(np.array([5, 9]), 4), [5, 5, 9, 9])


def test_merge_config_and_check_clip() -> None:
    cfg = merge_config({"num_frames": 4, "torchvision": {"model": "r3d_18"}, "extra": 1})
    assert cfg["num_frames"] == 4 and cfg["torchvision"]["model"] == "r3d_18"
    assert cfg["torchvision"]["allow_random"] is False and cfg["extra"] == 1
    with pytest.raises(ValueError, match="uint8"):
        check_clip(np.zeros((2, 4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="shape"):
        check_clip(np.zeros((4, 4, 3), np.uint8))
