"""The embedding pipeline's cache key follows the SSL encoder's weights and settings."""

import torch

from actionlab.models import FrameEncoder
from actionlab.pipelines.embedding.nodes import _fingerprint


def test_fingerprint_changes_with_weights_and_feature_settings() -> None:
    torch.manual_seed(0)
    base = FrameEncoder(input_size=32, roi="motion", mirror=True)
    same = FrameEncoder(input_size=32, roi="motion", mirror=True)
    same.load_state_dict(base.state_dict())
    no_mirror = FrameEncoder(input_size=32, roi="motion", mirror=False)
    no_mirror.load_state_dict(base.state_dict())  # identical weights, different features
    retrained = FrameEncoder(input_size=32, roi="motion", mirror=True)
    assert _fingerprint(base) == _fingerprint(same)
    assert _fingerprint(base) != _fingerprint(no_mirror)
    assert _fingerprint(base) != _fingerprint(retrained)
    assert _fingerprint(None) == ""
