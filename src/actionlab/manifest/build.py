"""Probe every source row into the manifest: one row per clip with its facts and status."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from actionlab.keys import content_hash, params_hash
from actionlab.video import VideoError, probe

MANIFEST_COLUMNS = [
    "video_id", "path", "label", "split", "group", "fps", "frames", "duration", "width", "height",
    "codec", "rotation", "time_start", "time_end", "status", "error", "warnings",
]  # fmt: skip
ACCEPTED, REJECTED = "accepted", "rejected"
TRUNCATED_CHOICES = ("accept", "reject")
# facts the probe measures: a CSV column of the same name (e.g. a "frames" column) is replaced
PROBED = (
    "video_id", "fps", "frames", "duration", "width", "height", "codec", "rotation", "status",
    "warnings",
)  # fmt: skip


def _range_frames(info_fps: float, frames: int, duration: float, start: float, end: float) -> int:
    """Approximate frame count inside [start, end) (exact decode count happens in preprocessing)."""
    lo = 0.0 if np.isnan(start) else max(0.0, start)
    hi = duration if np.isnan(end) else min(end, duration)
    if np.isnan(start) and np.isnan(end):
        return frames
    return max(0, int(round((hi - lo) * info_fps)))


def _check_truncated(truncated: str) -> None:
    if truncated not in TRUNCATED_CHOICES:
        raise ValueError(
            f"ingestion.truncated={truncated!r} must be one of {', '.join(TRUNCATED_CHOICES)}."
        )


def probe_row(row: dict[str, Any], *, truncated: str = "accept") -> dict[str, Any]:
    """Probe one source row into its manifest row (a pure function of the row and the file).

    Returns the row's own columns plus the probe facts, the content-hash ``video_id`` (plus the
    time range for cut clips), ``status`` and ``error`` (empty when accepted) and ``warnings``
    (empty when none). A file shorter than its header says (cut short, or a header that
    overstates the length) is accepted with a warning and its decodable frames when
    ``truncated="accept"``, rejected when ``"reject"``. Bad input becomes a ``rejected`` row;
    a bug in our code raises (see ``actionlab.video.errors.is_own_bug``).
    """
    _check_truncated(truncated)
    path = Path(row["path"])
    out = {k: v for k, v in row.items() if k not in PROBED}
    out.update(status=REJECTED, video_id="", fps=np.nan, frames=0, duration=np.nan,
               width=0, height=0, codec="", rotation=0, warnings="")  # fmt: skip
    if row.get("error"):
        return out
    try:
        if not path.is_file():
            raise VideoError(f"{path}: file not found; fix the path or remove the row.")
        info = probe(path)
        if info.truncated and truncated == "reject":
            raise VideoError(
                f"{path}: truncated: only {info.frames} frames decode, fewer than its header "
                "lists; copy or download it again (or set ingestion.truncated=accept)."
            )
        start, end = float(row.get("time_start", np.nan)), float(row.get("time_end", np.nan))
        if not np.isnan(start) and not np.isnan(end) and end <= start:
            raise VideoError(f"{path}: empty time range [{start}, {end}); check the annotation.")
        frames = _range_frames(info.fps, info.frames, info.duration, start, end)
        if frames < 1:
            raise VideoError(
                f"{path}: no frames in the time range [{start}, {end}) of a {info.duration:.2f}s video."
            )
        vid = content_hash(path)
        if not (np.isnan(start) and np.isnan(end)):
            vid = f"{vid}_{start:g}_{end:g}"
        out.update(
            video_id=vid, fps=info.fps, frames=frames, duration=info.duration,
            width=info.width, height=info.height, codec=info.codec, rotation=info.rotation,
            status=ACCEPTED, error="", warnings=info.warning,
        )  # fmt: skip
    except (VideoError, OSError) as err:
        out["error"] = str(err)
    return out


def probe_sources(
    sources: pd.DataFrame, *, truncated: str = "accept", progress: bool = True
) -> pd.DataFrame:
    """Probe each source row (:func:`probe_row`); unreadable or empty videos become ``rejected``
    rows with the reason, and a byte-identical second copy is rejected as a duplicate.

    The ``video_id`` is a content hash of the file plus the time range, so the same clip keeps its
    id when files are moved or renamed, and two clips cut from one video get different ids.
    """
    _check_truncated(truncated)
    records = sources.to_dict("records")
    rows = [
        probe_row(row, truncated=truncated)
        for row in tqdm(records, desc="probe videos", unit="video", disable=not progress)
    ]
    manifest = pd.DataFrame(rows)
    for column in MANIFEST_COLUMNS:
        if column not in manifest:
            manifest[column] = ""
    for column in ("split", "group", "warnings"):
        manifest[column] = manifest[column].fillna("").astype(str)
    # a rejected row still needs a unique, stable id for reports: hash of its path
    unnamed = manifest["video_id"] == ""
    manifest.loc[unnamed, "video_id"] = [
        "rejected-" + params_hash(p, length=16) for p in manifest.loc[unnamed, "path"]
    ]
    duplicated = manifest["video_id"].duplicated(keep="first") & (manifest["status"] == ACCEPTED)
    manifest.loc[duplicated, "status"] = REJECTED
    manifest.loc[duplicated, "error"] = "duplicate: the same video (byte-identical) is listed earlier"
    rest = [c for c in manifest.columns if c not in MANIFEST_COLUMNS]
    return manifest[MANIFEST_COLUMNS + rest].reset_index(drop=True)


def rejection_report(manifest: pd.DataFrame) -> pd.DataFrame:
    """The rejected rows with their reason, for 08_reporting."""
    rejected = manifest[manifest["status"] == REJECTED]
    return rejected[["video_id", "path", "label", "error"]].reset_index(drop=True)
