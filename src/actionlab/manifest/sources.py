"""Where videos come from: a folder per class, a labels CSV, or a Kinetics-style annotation CSV.

Each reader returns a *source table*: one row per clip with at least ``path`` (absolute), ``label``
(may be empty when unknown), ``time_start`` and ``time_end`` (seconds or NaN for the whole video),
and ``error`` (empty, or why the row cannot become a clip, e.g. a missing label or file). Extra
columns of a CSV (``split``, ``group``, ``variant``...) are kept as they are.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
SOURCES = ("synthetic", "folder", "labels_csv", "kinetics_csv")
BASE_COLUMNS = ["path", "label", "time_start", "time_end", "error"]


def _finish(table: pd.DataFrame) -> pd.DataFrame:
    for column in BASE_COLUMNS:
        if column not in table:
            table[column] = np.nan if column.startswith("time_") else ""
    table["label"] = table["label"].fillna("").astype(str).str.strip()
    table["error"] = table["error"].fillna("").astype(str)
    missing_label = (table["label"] == "") & (table["error"] == "")
    table.loc[missing_label, "error"] = "missing label: give the row a label in the CSV"
    rest = [c for c in table.columns if c not in BASE_COLUMNS]
    return table[BASE_COLUMNS + rest].reset_index(drop=True)


def read_folder(root: str | Path, extensions: tuple[str, ...] = VIDEO_EXTENSIONS) -> pd.DataFrame:
    """``<root>/<label>/<video>``: every file with a video extension one level below ``root``."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(
            f"ingestion.root={str(root)!r} is not a folder; point it at a folder with one "
            "sub-folder of videos per label."
        )
    exts = {e.lower() for e in extensions}
    rows = [
        {"path": str(p.resolve()), "label": p.parent.name}
        for p in sorted(root.glob("*/*"))
        if p.is_file() and p.suffix.lower() in exts and not p.parent.name.startswith((".", "_"))
    ]
    if not rows:
        raise FileNotFoundError(
            f"No videos ({', '.join(sorted(exts))}) found in sub-folders of {root}; expected "
            "<root>/<label>/<video>."
        )
    return _finish(pd.DataFrame(rows))


def read_labels_csv(csv_path: str | Path) -> pd.DataFrame:
    """A CSV with ``path,label[,split][,group]...``; relative paths are relative to the CSV's folder."""
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise FileNotFoundError(f"ingestion.root={str(csv_path)!r}: labels CSV not found.")
    table = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    if "path" not in table:
        raise ValueError(f"{csv_path}: the labels CSV needs a 'path' column (found {list(table.columns)}).")
    if "label" not in table:
        table["label"] = ""
    table["path"] = [str((csv_path.parent / p).resolve()) for p in table["path"]]
    for column in ("time_start", "time_end"):
        if column in table:
            table[column] = pd.to_numeric(table[column].replace("", np.nan), errors="coerce")
    return _finish(table)


def read_kinetics_csv(
    csv_path: str | Path,
    video_dir: str | Path | None = None,
    extensions: tuple[str, ...] = VIDEO_EXTENSIONS,
) -> pd.DataFrame:
    """Kinetics annotations ``label,youtube_id,time_start,time_end,split`` resolved to local files.

    A row's video is the file in ``video_dir`` (default: the CSV's folder, searched recursively)
    whose name starts with the ``youtube_id``; nothing is downloaded. Rows without a local file
    are kept with an ``error`` saying so. Kinetics' own downloaders name files either
    ``<id>.mp4`` or ``<id>_<start>_<end>.mp4``; the latter are already cut, so their
    time range is reset to the whole file.
    """
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise FileNotFoundError(f"ingestion.root={str(csv_path)!r}: Kinetics annotation CSV not found.")
    table = pd.read_csv(csv_path, dtype={"youtube_id": str, "label": str}, keep_default_na=False)
    needed = {"label", "youtube_id", "time_start", "time_end"}
    if not needed <= set(table.columns):
        raise ValueError(
            f"{csv_path}: a Kinetics CSV needs columns {sorted(needed)} (found {list(table.columns)})."
        )
    video_dir = Path(video_dir) if video_dir else csv_path.parent
    exts = {e.lower() for e in extensions}
    by_id: dict[str, Path] = {}
    for p in sorted(video_dir.rglob("*")):
        if p.is_file() and p.suffix.lower() in exts:
            by_id.setdefault(p.stem[:11], p)
            by_id.setdefault(p.stem, p)
    paths, errors, starts, ends = [], [], [], []
    for row in table.itertuples(index=False):
        found = by_id.get(row.youtube_id)
        start, end = float(row.time_start), float(row.time_end)
        if found is None:
            paths.append(str(video_dir / f"{row.youtube_id}.mp4"))
            errors.append(f"no local file for youtube_id {row.youtube_id} in {video_dir}")
        else:
            paths.append(str(found.resolve()))
            errors.append("")
            if found.stem != row.youtube_id:  # an already-cut <id>_<start>_<end> file
                start, end = np.nan, np.nan
        starts.append(start)
        ends.append(end)
    table = table.assign(path=paths, error=errors, time_start=starts, time_end=ends)
    return _finish(table)
