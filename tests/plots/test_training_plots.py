"""Training history figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from actionlab.plots.training import history_figure


@pytest.fixture
def history() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "epoch": range(1, 11),
            "loss": -np.linspace(0.1, 0.9, 10),
            "val_loss": -np.linspace(0.05, 0.8, 10),
            "collapse_std": np.r_[np.linspace(0.02, 0.15, 9), np.nan],
        }
    )


def test_one_panel_per_metric(history: pd.DataFrame, tmp_path: Path) -> None:
    fig = history_figure(history, metrics=("loss", "collapse_std"), title="SimSiam")
    assert len(fig.axes) == 2
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "collapse_std"]
    assert fig.axes[-1].get_xlabel() == "epoch"
    assert len(fig.axes[1].get_lines()[0].get_xdata()) == 9  # NaN skipped
    assert fig.get_suptitle() == "SimSiam"
    fig.savefig(tmp_path / "history.png")
    assert (tmp_path / "history.png").stat().st_size > 1000


def test_grouped_metrics_share_a_panel_with_legend(history: pd.DataFrame) -> None:
    fig = history_figure(history, metrics=(["loss", "val_loss"],))
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["loss", "val_loss"]
    assert len(history_figure(history).axes) == 1


def test_x_from_index_and_errors(history: pd.DataFrame) -> None:
    h = history.set_index("epoch")
    assert len(history_figure(h, x="epoch").axes) == 1
    with pytest.raises(ValueError, match="accuracy"):
        history_figure(history, metrics=("accuracy",))
    with pytest.raises(ValueError, match="step"):
        history_figure(history, x="step")
