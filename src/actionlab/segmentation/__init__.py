"""Segmentation room (no kedro): compact per-video mask storage (COCO run-length encoding) and the
association of mask tracks across key frames. The backends (motion, Grounded SAM 2, SAM 2
over-segmentation) build on these."""

from actionlab.segmentation.masks import MASK_COLUMNS, decode_masks, encode_masks, mask_iou
from actionlab.segmentation.tracks import Track, associate_tracks

__all__ = ["MASK_COLUMNS", "Track", "associate_tracks", "decode_masks", "encode_masks", "mask_iou"]
