"""PartitionedDataset whose save skips partitions already on disk and shows progress."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from kedro_datasets.partitions import PartitionedDataset
from tqdm.auto import tqdm


class IncrementalPartitionedDataset(PartitionedDataset):
    """Per-video artefacts keyed by ``<video_id>-<params hash>``.

    Nodes return ``{partition_id: callable}``; on save, a partition whose file already exists is
    not computed again (same video, same parameters), the others are computed and written one at
    a time, so memory stays constant however many videos there are. ``progress`` names the bar.
    """

    def __init__(self, *args: Any, progress: str = "save partitions", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._progress = progress

    def save(self, data: dict[str, Any]) -> None:
        fs = self._filesystem
        todo = {pid: item for pid, item in data.items() if not fs.exists(self._partition_to_path(pid))}
        for partition_id in tqdm(sorted(todo), desc=self._progress, unit="video", disable=not todo):
            kwargs = deepcopy(self._dataset_config)
            kwargs[self._filepath_arg] = self._join_protocol(self._partition_to_path(partition_id))
            item = todo[partition_id]
            self._dataset_type(**kwargs).save(item() if callable(item) else item)
        self._invalidate_caches()
