"""The manifest room: read video sources, probe them, split them (no kedro)."""

from actionlab.manifest.build import (
    ACCEPTED,
    MANIFEST_COLUMNS,
    REJECTED,
    probe_sources,
    rejection_report,
)
from actionlab.manifest.sources import (
    SOURCES,
    read_cluster_labels,
    read_folder,
    read_kinetics_csv,
    read_labels_csv,
)
from actionlab.manifest.splits import (
    SPLIT_TABLE_COLUMNS,
    SPLITS,
    assign_splits,
    normalize_split,
    update_split_table,
)

__all__ = [
    "ACCEPTED", "MANIFEST_COLUMNS", "REJECTED", "SOURCES", "SPLITS", "SPLIT_TABLE_COLUMNS",
    "assign_splits", "normalize_split", "probe_sources", "read_cluster_labels", "read_folder",
    "read_kinetics_csv", "read_labels_csv", "rejection_report", "update_split_table",
]  # fmt: skip
