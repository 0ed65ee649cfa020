"""Torch modules: frame encoder, SimSiam, temporal models, autoencoders (no kedro)."""

from actionlab.models.frame_encoder import FrameEncoder, load_frame_encoder, save_frame_encoder

__all__ = ["FrameEncoder", "load_frame_encoder", "save_frame_encoder"]
