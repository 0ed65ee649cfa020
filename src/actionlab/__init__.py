"""ActionLab: from a folder of raw videos to trained, compared and tracked action-recognition models."""

__version__ = "0.1"
