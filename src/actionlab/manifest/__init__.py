"""The manifest room: read video sources, probe them, split them (no kedro)."""

from actionlab.manifest.build import (
    ACCEPTED,
    MANIFEST_COLUMNS,
    REJECTED,
    probe_sources,
    rejection_report,
)
from actionlab.manifest.sources import SOURCES, read_folder, read_kinetics_csv, read_labels_csv
from actionlab.manifest.splits import SPLITS, assign_splits

__all__ = [
    "ACCEPTED", "MANIFEST_COLUMNS", "REJECTED", "SOURCES", "SPLITS", "assign_splits",
    "probe_sources", "read_folder", "read_kinetics_csv", "read_labels_csv", "rejection_report",
]  # fmt: skip
