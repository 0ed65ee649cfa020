"""Anomaly room: one-class scorers fitted on a target action's correct clips, thresholds by a
named rule (no kedro). Metrics are in ``actionlab.metrics.anomaly``, figures in
``actionlab.plots.anomaly``, the torch autoencoders in ``actionlab.models.autoencoder``."""

from actionlab.anomaly.scorers import (
    EMBEDDING,
    FRAME_FEATURES,
    SCORERS,
    TRAINED,
    Scorer,
    SequenceAutoencoderScorer,
    build_scorer,
    scorer_blob,
    scorer_from_blob,
)
from actionlab.anomaly.thresholds import THRESHOLD_RULES, choose_threshold, flagged_stretches

__all__ = [
    "EMBEDDING", "FRAME_FEATURES", "SCORERS", "THRESHOLD_RULES", "TRAINED", "Scorer",
    "SequenceAutoencoderScorer", "build_scorer", "choose_threshold", "flagged_stretches",
    "scorer_blob", "scorer_from_blob",
]  # fmt: skip
