"""The one error type the video room raises."""

from __future__ import annotations


class VideoError(Exception):
    """A video could not be read or written; the message names the file and the fix."""
