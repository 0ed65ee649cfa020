"""EarlyStopping: stops after `patience` epochs without a lower loss and restores the best state."""

from __future__ import annotations

import torch
from torch import nn

from actionlab.models.early_stopping import EarlyStopping


def test_stops_after_patience_and_restores_the_best_epoch():
    model = nn.Linear(1, 1)
    stopper = EarlyStopping(model, patience=2)
    losses = [3.0, 2.0, 2.5, 1.5, 1.6, 1.7, 0.1]  # best at epoch 4; epochs 5 and 6 are worse
    stopped = None
    for epoch, loss in enumerate(losses, start=1):
        with torch.no_grad():
            model.weight.fill_(epoch)  # the state records which epoch it is
        if stopper.step(epoch, loss):
            stopped = epoch
            break
    assert stopped == 6
    assert float(stopper.restore().weight) == 4.0


def test_a_loss_that_never_improves_keeps_the_starting_state():
    model = nn.Linear(1, 1)
    start = model.weight.detach().clone()
    stopper = EarlyStopping(model, patience=1)
    with torch.no_grad():
        model.weight.fill_(9.0)
    assert stopper.step(1, float("nan"))
    assert torch.equal(stopper.restore().weight, start)
