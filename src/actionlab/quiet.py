"""Third-party warnings a user cannot act on, dropped narrowly (by logger and message).

``quiet_warnings`` is registered as a Kedro ``kedro.init`` entry point (pyproject.toml), which the
``kedro`` command calls first, before it loads any plugin; ``settings.py`` calls it too for
sessions created from Python (notebooks, ``actionlab``).

A ``warnings`` filter cannot do it: mlflow emits this warning inside
``warnings.catch_warnings()`` with ``simplefilter("once", UserWarning)``, which overrides every
filter set outside. Kedro's logging sends warnings to the ``py.warnings`` logger
(``logging.captureWarnings``), so the warning is dropped there.
"""

from __future__ import annotations

import logging
import os

# mlflow's note, when kedro-mlflow is imported, that kedro-mlflow's KedroPipelineModel.predict has
# no type hints: addressed to kedro-mlflow's authors, printed by every `kedro ...` command
# and its advice to give an input example when logging a model: the classifier's signature is
# given explicitly, and an example would be a video file that MLflow runs at logging time
_UNACTIONABLE = ("Add type hints to the `predict` method", "An input example was not provided")


class _DropUnactionable(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(text in message for text in _UNACTIONABLE)


def quiet_warnings() -> None:
    """Drop the warnings listed above from the ``py.warnings`` logger, and only those (once);
    no MLflow artifact download bars in the run's log (unless the user set
    ``MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR``)."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    logger = logging.getLogger("py.warnings")
    if not any(isinstance(f, _DropUnactionable) for f in logger.filters):
        logger.addFilter(_DropUnactionable())
