"""Early stopping on a monitored loss with the best state kept, shared by the training loops."""

from __future__ import annotations

import logging
import math

from torch import nn

__all__ = ["EarlyStopping"]

logger = logging.getLogger(__name__)


class EarlyStopping:
    """Keeps ``model``'s state at the lowest monitored loss (a CPU copy; the starting state until
    one is lower) and says when ``patience`` epochs passed without a lower one."""

    def __init__(self, model: nn.Module, patience: int, desc: str = "", min_delta: float = 1e-6) -> None:
        self.model, self.patience, self.desc, self.min_delta = model, int(patience), desc, min_delta
        self.best_loss, self.waited = math.inf, 0
        self.best_state = self._snapshot()

    def _snapshot(self) -> dict:
        return {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}

    def step(self, epoch: int, loss: float) -> bool:
        """Record the epoch's monitored loss; True when training should stop."""
        if loss < self.best_loss - self.min_delta:
            self.best_loss, self.waited = loss, 0
            self.best_state = self._snapshot()
            return False
        self.waited += 1
        if self.waited < self.patience:
            return False
        logger.info("%s: early stop at epoch %d (best loss %.4f)", self.desc, epoch, self.best_loss)
        return True

    def restore(self) -> nn.Module:
        """The model with the best state loaded back."""
        self.model.load_state_dict(self.best_state)
        return self.model
