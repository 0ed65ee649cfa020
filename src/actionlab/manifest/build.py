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


FACTS = ("fps", "frames", "duration", "width", "height", "codec", "rotation")


def probe_file(path: str | Path, *, truncated: str = "accept") -> dict[str, Any]:
    """The facts of one video file (what the probe cache keeps): its content hash, probe facts
    and a warning for a file shorter than its header says (accepted with its decodable frames
    when ``truncated="accept"``). Raises VideoError (or OSError) naming the file when it cannot
    be used; a bug in our code raises its own error (see ``actionlab.engine.is_own_bug``)."""
    _check_truncated(truncated)
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: file not found; fix the path or remove the row.")
    info = probe(path)
    if info.truncated and truncated == "reject":
        raise VideoError(
            f"{path}: truncated: only {info.frames} frames decode, fewer than its header "
            "lists; copy or download it again (or set ingestion.truncated=accept)."
        )
    facts = {k: getattr(info, k) for k in FACTS}
    return {**facts, "video_hash": content_hash(path), "warnings": info.warning}


def row_from_probe(row: dict[str, Any], facts: dict[str, Any] | None, error: str = "") -> dict[str, Any]:
    """The manifest row of a source row given its file's facts (None with the ``error`` when the
    file could not be probed): time-range checks, ``video_id``, ``status``, ``error``."""
    path = Path(row["path"])
    out = {k: v for k, v in row.items() if k not in PROBED}
    out.update(status=REJECTED, video_id="", fps=np.nan, frames=0, duration=np.nan,
               width=0, height=0, codec="", rotation=0, warnings="")  # fmt: skip
    if row.get("error"):
        return out
    if facts is None:
        out["error"] = error
        return out
    start, end = float(row.get("time_start", np.nan)), float(row.get("time_end", np.nan))
    if not np.isnan(start) and not np.isnan(end) and end <= start:
        out["error"] = f"{path}: empty time range [{start}, {end}); check the annotation."
        return out
    frames = _range_frames(facts["fps"], facts["frames"], facts["duration"], start, end)
    if frames < 1:
        out["error"] = f"{path}: no frames in the time range [{start}, {end}) of a {facts['duration']:.2f}s video."
        return out
    vid = facts["video_hash"]
    if not (np.isnan(start) and np.isnan(end)):
        vid = f"{vid}_{start:g}_{end:g}"
    out.update({k: facts[k] for k in FACTS})
    out.update(video_id=vid, frames=frames, status=ACCEPTED, error="", warnings=facts["warnings"])
    return out


def probe_row(row: dict[str, Any], *, truncated: str = "accept") -> dict[str, Any]:
    """Probe one source row into its manifest row (a pure function of the row and the file).

    Returns the row's own columns plus the probe facts, the content-hash ``video_id`` (plus the
    time range for cut clips), ``status`` and ``error`` (empty when accepted) and ``warnings``
    (empty when none). A file shorter than its header says (cut short, or a header that
    overstates the length) is accepted with a warning and its decodable frames when
    ``truncated="accept"``, rejected when ``"reject"``. Bad input becomes a ``rejected`` row;
    a bug in our code raises.
    """
    _check_truncated(truncated)
    if row.get("error"):
        return row_from_probe(row, None)
    try:
        return row_from_probe(row, probe_file(row["path"], truncated=truncated))
    except (VideoError, OSError) as err:
        return row_from_probe(row, None, str(err))


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
    return finish_manifest(rows)


def finish_manifest(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Manifest rows as a table: columns in order, stable ids for rejected rows, and a
    byte-identical second copy of a video rejected as a duplicate."""
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


def median_clip_seconds(rows: pd.DataFrame) -> float | None:
    """Median source length in seconds of the clips of manifest ``rows`` (an annotated range
    ``time_end - time_start``, else the whole video's ``duration``); None when none is known.
    Models record it as the default window of a timeline over a new video."""
    ranged = rows["time_start"].notna() & rows["time_end"].notna()
    span = (rows["time_end"] - rows["time_start"]).where(ranged, rows["duration"]).dropna()
    return float(span.median()) if len(span) else None
