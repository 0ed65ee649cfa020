"""Where videos come from: a folder per class, a labels CSV, a Kinetics-style annotation CSV,
or named clusters (``cluster_labels.csv`` with ``cluster_members.csv`` beside it).

Each reader returns a *source table*: one row per clip with at least ``path`` (absolute), ``label``
(may be empty when unknown), ``time_start`` and ``time_end`` (seconds or NaN for the whole video),
``split`` (``train``/``val``/``test`` from the CSV, or empty to be assigned), ``group`` (empty when
there are no groups) and ``error`` (empty, or why the row cannot become a clip, e.g.
``labels.csv line 7: missing label; give the row a label``). Extra columns of a CSV (``variant``,
``person``...) are kept as they are.

A bad row never stops a run: it keeps its CSV line number and reason in ``error`` and becomes a
rejected manifest row. Whole-file problems (file missing, required column missing, a group
column with gaps) raise with the file name and the fix.
"""

from __future__ import annotations

import csv
import logging
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from actionlab.manifest.splits import normalize_split

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
logger = logging.getLogger(__name__)

SOURCES = ("synthetic", "folder", "labels_csv", "kinetics_csv", "cluster_labels")
CLUSTER_MEMBERS_FILE = "cluster_members.csv"  # read from the folder of cluster_labels.csv
BASE_COLUMNS = ["path", "label", "time_start", "time_end", "error"]
DEFAULT_GROUP_COLUMN = "group"  # used when present; another column must exist
MAX_LISTED = 10  # rows named in a whole-file error message


def _finish(table: pd.DataFrame) -> pd.DataFrame:
    for column in [*BASE_COLUMNS, "split", "group"]:
        if column not in table:
            table[column] = np.nan if column.startswith("time_") else ""
    table["label"] = table["label"].fillna("").astype(str).str.strip()
    for column in ("error", "split", "group"):
        table[column] = table[column].fillna("").astype(str)
    missing_label = (table["label"] == "") & (table["error"] == "")
    table.loc[missing_label, "error"] = "missing label; give the row a label"
    rest = [c for c in table.columns if c not in BASE_COLUMNS]
    return table[BASE_COLUMNS + rest].reset_index(drop=True)


def _read_csv_rows(csv_path: Path) -> tuple[pd.DataFrame, list[int], list[list[str]]]:
    """Every data row of a CSV as stripped text, the line each row starts on, and each row's
    problems so far (a row with more cells than the header). Blank lines are skipped."""
    with csv_path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header: list[str] | None = None
        rows, lines, problems = [], [], []
        end = 0
        for raw in reader:
            start, end = end + 1, reader.line_num
            cells = [c.strip() for c in raw]
            if not any(cells):
                continue
            if header is None:
                header = cells
                continue
            problem = []
            if len(cells) > len(header):
                problem.append(
                    f"{len(cells)} cells but the header has {len(header)}; quote cells that "
                    "contain commas"
                )
            rows.append((cells + [""] * len(header))[: len(header)])
            lines.append(start)
            problems.append(problem)
    if header is None:
        raise ValueError(f"{csv_path}: the CSV is empty; it needs a header row and one row per video.")
    if not rows:
        raise ValueError(f"{csv_path}: the CSV has a header but no rows; add one row per video.")
    return pd.DataFrame(rows, columns=header), lines, problems


def _seconds(text: str, column: str) -> tuple[float, str]:
    """A time cell as seconds (NaN when empty) and the problem with it ("" when none)."""
    if text == "":
        return np.nan, ""
    try:
        value = float(text)
    except ValueError:
        return np.nan, f"{column} {text!r} is not a number of seconds"
    if not np.isfinite(value) or value < 0:
        return np.nan, f"{column} {text!r} must be a number of seconds >= 0"
    return value, ""


def _time_range(start_text: str, end_text: str, problems: list[str]) -> tuple[float, float]:
    """``(time_start, time_end)`` of a row; both empty is the whole video (NaN, NaN)."""
    start, p_start = _seconds(start_text, "time_start")
    end, p_end = _seconds(end_text, "time_end")
    problems += [p for p in (p_start, p_end) if p]
    if p_start or p_end:
        return np.nan, np.nan
    if (start_text == "") != (end_text == ""):
        empty = "time_start" if start_text == "" else "time_end"
        problems.append(f"{empty} is empty; give both times, or neither for the whole video")
    elif end <= start:
        problems.append(f"time_end {end:g} is not after time_start {start:g}; check the annotation")
    return start, end


def _split(text: str, problems: list[str]) -> str:
    try:
        return normalize_split(text)
    except ValueError as err:
        problems.append(str(err))
        return ""


def _row_errors(csv_path: Path, lines: list[int], problems: list[list[str]]) -> list[str]:
    return [
        f"{csv_path.name} line {line}: {' | '.join(p)}" if p else ""
        for line, p in zip(lines, problems, strict=True)
    ]


GROUP_GAP_FIX = (
    "fill the column for every row, or set ingestion.group_column to null (each video its own "
    "group) or to another column."
)


def _row_path(csv_path: Path, line: int, value: str, problem: list[str]) -> str:
    """A CSV row's video path, resolved against the CSV's folder; a missing path or file is
    noted in ``problem`` (a missing path gets an id unique to the row: a rejected row's id
    hashes it)."""
    if value == "":
        problem.append("missing path; give the row the video's path (relative to the CSV)")
        return f"{csv_path}#line{line}"
    path = (csv_path.parent / value).resolve()
    if not path.is_file():
        problem.append(f"file not found: {path}; fix the path or remove the row")
    return str(path)


def _apply_group_column(
    table: pd.DataFrame,
    column: str | None,
    where: str,
    lines: list[int] | None = None,
    fix: str = GROUP_GAP_FIX,
) -> None:
    """Set ``group`` from ``column`` in place; ``None`` means no groups (each video its own).

    The default column ``group`` may be absent (no groups); any other column must exist. A
    present column with empty cells on rows that would become clips raises, naming the rows
    and ``fix``.
    """
    if not column:
        table["group"] = ""
        return
    if column not in table:
        if column == DEFAULT_GROUP_COLUMN:
            table["group"] = ""
            return
        raise ValueError(
            f"ingestion.group_column={column!r} is not a column of {where} (columns: "
            f"{[c for c in table.columns if c != 'error']}); name one of them, or set "
            "ingestion.group_column to null for no groups."
        )
    values = table[column].fillna("").astype(str).str.strip()
    gaps = np.flatnonzero((values == "").to_numpy() & (table["error"] == "").to_numpy())
    if len(gaps):
        if lines is not None:
            named = "lines " + ", ".join(str(lines[i]) for i in gaps[:MAX_LISTED])
        else:
            named = "rows " + ", ".join(str(table["path"].iloc[i]) for i in gaps[:MAX_LISTED])
        more = f" and {len(gaps) - MAX_LISTED} more" if len(gaps) > MAX_LISTED else ""
        raise ValueError(
            f"{where}: the group column {column!r} is empty on {len(gaps)} rows "
            f"({named}{more}), so a group could cross splits; {fix}"
        )
    table["group"] = values


def read_folder(
    root: str | Path,
    extensions: tuple[str, ...] = VIDEO_EXTENSIONS,
    group_column: str | None = DEFAULT_GROUP_COLUMN,
) -> pd.DataFrame:
    """``<root>/<label>/<video>``: every file with a video extension one level below ``root``.
    A flat folder (videos directly in ``root``, no sub-folder holds any) is one label, the
    folder's name: unlabelled footage for segmentation and discovery.

    A folder has no group column: each video is its own group (``group_column`` other than the
    default ``group`` or null raises).
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(
            f"ingestion.root={str(root)!r} is not a folder; point it at a folder with one "
            "sub-folder of videos per label."
        )
    exts = {e.lower() for e in extensions}
    rows = [
        {"path": str(p.resolve()), "label": p.parent.name, "error": ""}
        for p in sorted(root.glob("*/*"))
        if p.is_file() and p.suffix.lower() in exts and not p.parent.name.startswith((".", "_"))
    ]
    if not rows:  # a flat folder: one label, the folder's own name
        rows = [
            {"path": str(p.resolve()), "label": root.resolve().name, "error": ""}
            for p in sorted(root.glob("*"))
            if p.is_file() and p.suffix.lower() in exts
        ]
    if not rows:
        raise FileNotFoundError(
            f"No videos ({', '.join(sorted(exts))}) found in {root} or its sub-folders; expected "
            "<root>/<label>/<video> (or videos directly in <root>, one label)."
        )
    table = pd.DataFrame(rows)
    _apply_group_column(table, group_column, f"the folder source {root}")
    return _finish(table)


def read_labels_csv(
    csv_path: str | Path, group_column: str | None = DEFAULT_GROUP_COLUMN
) -> pd.DataFrame:
    """A CSV with ``path,label[,split][,group][,time_start,time_end]...``; relative paths are
    relative to the CSV's folder; ``group_column`` names the group column (null: no groups).

    A row with no path, no file at its path, no label, an unknown split or a bad time range is
    kept with ``error`` naming its CSV line and the fix.
    """
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise FileNotFoundError(f"ingestion.root={str(csv_path)!r}: labels CSV not found.")
    table, lines, problems = _read_csv_rows(csv_path)
    if "path" not in table:
        raise ValueError(
            f"{csv_path}: the labels CSV needs a 'path' column (found {list(table.columns)}); "
            "add a header row path,label[,split][,group]."
        )
    if "label" not in table:
        table["label"] = ""
    paths, splits, starts, ends = [], [], [], []
    has_times = "time_start" in table or "time_end" in table
    for i, row in enumerate(table.to_dict("records")):
        problem = problems[i]
        paths.append(_row_path(csv_path, lines[i], row["path"], problem))
        if row["label"] == "":
            problem.append("missing label; give the row a label")
        splits.append(_split(row.get("split", ""), problem))
        if has_times:
            start, end = _time_range(row.get("time_start", ""), row.get("time_end", ""), problem)
            starts.append(start)
            ends.append(end)
    table["path"], table["split"] = paths, splits
    if has_times:
        table["time_start"], table["time_end"] = starts, ends
    table["error"] = _row_errors(csv_path, lines, problems)
    _apply_group_column(table, group_column, str(csv_path), lines)
    return _finish(table)


def _local_files(video_dir: Path, extensions: tuple[str, ...]) -> dict[str, Path]:
    """Video files under ``video_dir`` by stem and by their first 11 characters (a YouTube id)."""
    exts = {e.lower() for e in extensions}
    by_id: dict[str, Path] = {}
    for p in sorted(video_dir.rglob("*")):
        if p.is_file() and p.suffix.lower() in exts:
            by_id.setdefault(p.stem, p)
            by_id.setdefault(p.stem[:11], p)
    return by_id


def read_kinetics_csv(
    csv_path: str | Path,
    video_dir: str | Path | None = None,
    extensions: tuple[str, ...] = VIDEO_EXTENSIONS,
    group_column: str | None = DEFAULT_GROUP_COLUMN,
) -> pd.DataFrame:
    """Kinetics annotations ``label,youtube_id,time_start,time_end[,split]`` resolved to local
    files.

    A row's video is the file in ``video_dir`` (default: the CSV's folder, searched recursively)
    named ``<id>_<start>_<end>`` (as Kinetics downloaders write it; taken whole, being already
    cut) or else whose name starts with the ``youtube_id`` (cut to the row's time range);
    nothing is downloaded. Both times empty means the whole video. A row with no local file, no
    youtube_id, no label, an empty or unparseable time, ``time_end <= time_start`` or an unknown
    split is kept with ``error`` naming its CSV line and the fix.
    """
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise FileNotFoundError(f"ingestion.root={str(csv_path)!r}: Kinetics annotation CSV not found.")
    table, lines, problems = _read_csv_rows(csv_path)
    needed = ["label", "youtube_id", "time_start", "time_end"]
    if not set(needed) <= set(table.columns):
        raise ValueError(
            f"{csv_path}: a Kinetics CSV needs columns {needed} (found {list(table.columns)}); "
            "add the missing columns to its header."
        )
    video_dir = Path(video_dir) if video_dir else csv_path.parent
    if not video_dir.is_dir():
        raise FileNotFoundError(
            f"ingestion.kinetics_video_dir={str(video_dir)!r} is not a folder; point it at the "
            "folder holding the <youtube_id>*.mp4 files."
        )
    by_id = _local_files(video_dir, extensions)
    paths, splits, starts, ends = [], [], [], []
    for i, row in enumerate(table.to_dict("records")):
        problem, vid = problems[i], row["youtube_id"]
        if row["label"] == "":
            problem.append("missing label; give the row a label")
        start, end = _time_range(row["time_start"], row["time_end"], problem)
        splits.append(_split(row.get("split", ""), problem))
        if vid == "":
            problem.append("missing youtube_id; give the row the video's YouTube id")
            paths.append(f"{csv_path}#line{lines[i]}")  # unique: a rejected row's id hashes it
        else:
            timed = np.isfinite([start, end]).all()
            cut = f"{vid}_{int(start):06d}_{int(end):06d}" if timed else None
            found = by_id.get(cut) if cut else None
            found = found or by_id.get(vid)
            if found is None:
                paths.append(str(video_dir / f"{vid}.mp4"))
                problem.append(
                    f"no local file for youtube_id {vid} in {video_dir}; put {vid}.mp4 there "
                    "(or point ingestion.kinetics_video_dir at it) or remove the row"
                )
            else:
                paths.append(str(found.resolve()))
                if found.stem != vid:  # an already-cut <id>_<start>_<end> file
                    start, end = np.nan, np.nan
        starts.append(start)
        ends.append(end)
    table = table.assign(path=paths, split=splits, time_start=starts, time_end=ends)
    table["error"] = _row_errors(csv_path, lines, problems)
    _apply_group_column(table, group_column, str(csv_path), lines)
    return _finish(table)


def _cluster_id(text: str, problems: list[str]) -> int | None:
    """A cluster cell as an int; ``None`` when empty or not an int (then a problem is added)."""
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        problems.append(f"cluster {text!r} is not a cluster number")
        return None


def _need_columns(table: pd.DataFrame, columns: list[str], csv_path: Path) -> None:
    missing = [c for c in columns if c not in table]
    if missing:
        raise ValueError(
            f"{csv_path}: columns {missing} are missing (found {list(table.columns)}); the "
            "clustering pipeline writes this file with them: start again from its copy."
        )


def read_cluster_labels(csv_path: str | Path) -> pd.DataFrame:
    """Named clusters as a labelled source: every clip of a cluster whose ``label`` is filled in
    ``cluster_labels.csv`` (``cluster,label[,...]``) becomes a row with that label; its video,
    time range and group come from ``cluster_members.csv`` in the same folder
    (``cluster,path[,time_start,time_end][,group][,...]``; relative paths are relative to it).

    Both files are written by the clustering pipeline. Clusters with an empty label, and member
    rows with an empty cluster, are left out (logged with counts). A ``cluster_labels.csv`` row
    with an unknown or repeated cluster, and a member row with a cluster that has no row, a
    missing file or a bad time range, are kept with ``error`` naming the file, line and fix.
    ``ingestion.group_column`` does not apply: groups are the members' ``group`` column (each
    video its own group when it is empty throughout).
    """
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise FileNotFoundError(f"ingestion.root={str(csv_path)!r}: cluster_labels CSV not found.")
    members_path = csv_path.parent / CLUSTER_MEMBERS_FILE
    if not members_path.is_file():
        raise FileNotFoundError(
            f"{csv_path}: {CLUSTER_MEMBERS_FILE} is missing beside it ({members_path}); the "
            "clustering pipeline writes both into data/08_reporting/clusters/: copy them together."
        )
    names, name_lines, name_problems = _read_csv_rows(csv_path)
    _need_columns(names, ["cluster", "label"], csv_path)
    members, lines, problems = _read_csv_rows(members_path)
    _need_columns(members, ["cluster", "path"], members_path)
    member_ids = [_cluster_id(text, problems[i]) for i, text in enumerate(members["cluster"])]
    known = {c for c in member_ids if c is not None}

    label_of: dict[int, str] = {}
    line_of: dict[int, int] = {}
    rejected_rows = []
    for row, line, problem in zip(names.to_dict("records"), name_lines, name_problems, strict=True):
        cid = _cluster_id(row["cluster"], problem)
        if row["cluster"] == "":
            problem.append("missing cluster; give the row its cluster number")
        elif cid is not None and cid in line_of:
            problem.append(f"cluster {cid} is also on line {line_of[cid]}; give each cluster one row")
        elif cid is not None and cid not in known:
            problem.append(
                f"unknown cluster {cid}: {CLUSTER_MEMBERS_FILE} has no clip in it; fix the number "
                "or remove the row"
            )
        if problem:
            rejected_rows.append(
                {"path": f"{csv_path}#line{line}", "label": row["label"],
                 "error": f"{csv_path.name} line {line}: {' | '.join(problem)}"}
            )  # fmt: skip
        else:
            label_of[cid], line_of[cid] = row["label"], line

    keep, labels, paths, starts, ends = [], [], [], [], []
    left_out: Counter[int | None] = Counter()
    has_times = "time_start" in members or "time_end" in members
    for i, row in enumerate(members.to_dict("records")):
        cid, problem = member_ids[i], problems[i]
        if cid is None and not problem:
            left_out[None] += 1  # no cluster: left out
            continue
        if cid is not None and label_of.get(cid) == "":
            left_out[cid] += 1
            continue
        if cid is not None and cid not in label_of:
            problem.append(
                f"cluster {cid} has no accepted row in {csv_path.name}; add one (an empty label "
                "leaves its clips out) or fix that row"
            )
        keep.append(i)
        labels.append(label_of.get(cid, "") if cid is not None else "")
        paths.append(_row_path(members_path, lines[i], row["path"], problem))
        if has_times:
            start, end = _time_range(row.get("time_start", ""), row.get("time_end", ""), problem)
            starts.append(start)
            ends.append(end)
    if left_out:
        unnamed = sorted(c for c in left_out if c is not None)
        logger.info(
            "%s: %d clips left out: %s", csv_path.name, sum(left_out.values()), ", ".join(
                [f"cluster {c} (no label): {left_out[c]}" for c in unnamed]
                + ([f"no cluster: {left_out[None]}"] if None in left_out else [])
            ),
        )  # fmt: skip

    table = members.iloc[keep].drop(columns=["video_id", "cluster"], errors="ignore")
    table = table.reset_index(drop=True).assign(path=paths, label=labels)
    if has_times:
        table["time_start"], table["time_end"] = starts, ends
    kept_lines = [lines[i] for i in keep]
    table["error"] = _row_errors(members_path, kept_lines, [problems[i] for i in keep])
    if "group" in table and (table["group"] != "").any():
        _apply_group_column(
            table, "group", str(members_path), kept_lines,
            fix="fill the group column for every clip, or empty it on every row (each video its "
            "own group); ingestion.group_column does not apply to this source.",
        )  # fmt: skip
    else:
        table["group"] = ""
    if rejected_rows:
        table = pd.concat([table, pd.DataFrame(rejected_rows)], ignore_index=True)
    if table.empty:
        raise ValueError(
            f"{csv_path}: no cluster has a label, so there is nothing to ingest; write a label "
            "in the label column of each cluster to keep."
        )
    return _finish(table.reset_index(drop=True))
