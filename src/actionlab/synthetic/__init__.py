"""Built-in synthetic action videos: a seeded, procedurally rendered figure doing simple actions.

The embedded default data set: ``render_clip`` draws one clip in memory, ``generate_dataset``
writes a folder of mp4s + masks + ``labels.csv``. Action identity is carried by the motion only;
actor (proportions, colours), background, placement, view, tempo, camera jitter and noise are
drawn independently of the action.
"""

from actionlab.synthetic.dataset import (
    LABEL_COLUMNS,
    clip_seed,
    contact_sheet,
    generate_dataset,
    load_masks,
    save_masks,
)
from actionlab.synthetic.figure import ACTIONS, INCORRECT_MODES, make_actor
from actionlab.synthetic.render import ClipLayers, SyntheticClip, render_clip, render_clip_layers

__all__ = [
    "ACTIONS",
    "INCORRECT_MODES",
    "LABEL_COLUMNS",
    "ClipLayers",
    "SyntheticClip",
    "clip_seed",
    "contact_sheet",
    "generate_dataset",
    "load_masks",
    "make_actor",
    "render_clip",
    "render_clip_layers",
    "save_masks",
]
