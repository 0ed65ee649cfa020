"""Clip classifiers (cnn_lstm, cnn3d): shapes, training on a separable toy set, local weights,
normalisation, class weights, early stopping, multi-view prediction and devices."""

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from torch.nn import functional as F

from actionlab.models.clip_data import ArrayClips, ClipDataset
from actionlab.models.clip_models import CNN3D_ARCHS, Cnn3d, CnnLstm, build_clip_model
from actionlab.models.clip_train import fit_clip_model, predict_proba
from actionlab.models.train_classifier import class_weights
from tests.models.clip_helpers import toy_set

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def _toy(n: int = 8, *, frames: int = 10, train: bool = True, **options) -> ClipDataset:
    clips, labels = toy_set(n, frames=frames)
    return ClipDataset(
        [str(i) for i in range(n)], [frames] * n, labels, ArrayClips(clips),
        classes=["right", "left"], frames_per_clip=4, stride=2, size=32, train=train, **options,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("cnn_lstm", {}),
        ("cnn_lstm", {"bidirectional": True, "num_layers": 2, "hidden_size": 16}),
        ("cnn_lstm", {"pooling": "mean", "hidden_size": 16}),
        *[("cnn3d", {"arch": arch}) for arch in CNN3D_ARCHS],
    ],
)
def test_output_shapes(name: str, options: dict) -> None:
    model = build_clip_model(name, 5, **options).eval()
    with torch.no_grad():
        logits = model(torch.rand(2, 4, 3, 32, 32))
    assert logits.shape == (2, 5)
    assert torch.isfinite(logits).all()


def test_bidirectional_lstm_feeds_both_directions_to_the_head() -> None:
    model = CnnLstm(3, hidden_size=16, bidirectional=True)
    assert model.head[-1].in_features == 32


def test_unknown_model_and_arch_are_refused() -> None:
    with pytest.raises(ValueError, match="cnn_lstm"):
        build_clip_model("lstm_cnn", 2)
    with pytest.raises(ValueError, match="r2plus1d_18"):
        Cnn3d(2, arch="resnet18")
    with pytest.raises(ValueError, match="last"):
        CnnLstm(2, pooling="max")


def test_normalisation_uses_the_documented_weights_statistics() -> None:
    # torchvision docs: video ResNets on Kinetics-400, ResNet-18 on ImageNet
    kinetics = (
        torch.tensor([0.43216, 0.394666, 0.37645]),
        torch.tensor([0.22803, 0.22145, 0.216989]),
    )
    imagenet = (torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225]))
    video, frames = Cnn3d(2, arch="mc3_18"), CnnLstm(2)
    for model, (mean, std) in ((video, kinetics), (frames, imagenet)):
        assert torch.allclose(model.mean, mean) and torch.allclose(model.std, std)
    # the backbone sees (B, 3, T, H, W) normalised frames
    seen: dict[str, torch.Tensor] = {}
    video.backbone.register_forward_pre_hook(lambda m, args: seen.update(x=args[0]))
    clip = torch.rand(1, 4, 3, 32, 32)
    video.eval()(clip)
    mean, std = (v.view(1, 3, 1, 1, 1) for v in kinetics)
    expected = (clip.permute(0, 2, 1, 3, 4) - mean) / std
    assert torch.allclose(seen["x"], expected, atol=1e-6)


@pytest.mark.parametrize(("name", "where"), [("cnn_lstm", "encoder"), ("cnn3d", "backbone")])
def test_diff_input_is_the_differences_of_consecutive_normalised_frames(name: str, where: str) -> None:
    model = build_clip_model(name, 2, input_mode="diff", **({"arch": "mc3_18"} if name == "cnn3d" else {})).eval()
    seen: dict[str, torch.Tensor] = {}
    getattr(model, where).register_forward_pre_hook(lambda m, args: seen.update(x=args[0]))
    clip = torch.rand(2, 4, 3, 32, 32)
    model(clip)
    x = (clip - model.mean.view(1, 1, 3, 1, 1)) / model.std.view(1, 1, 3, 1, 1)
    expected = x[:, 1:] - x[:, :-1]  # (2, 3, 3, 32, 32): T - 1 differences
    expected = expected.flatten(0, 1) if name == "cnn_lstm" else expected.permute(0, 2, 1, 3, 4)
    assert torch.allclose(seen["x"], expected, atol=1e-6)
    # a static clip (any background) is all zeros to the network: its output does not depend on it
    still = [torch.rand(1, 3, 32, 32).expand(1, 4, 3, 32, 32) for _ in range(2)]
    with torch.no_grad():
        assert torch.allclose(model(still[0]), model(still[1]), atol=1e-6)
    with pytest.raises(ValueError, match="frames_per_clip >= 2"):
        model(torch.rand(1, 1, 3, 32, 32))
    with pytest.raises(ValueError, match="rgb"):
        build_clip_model(name, 2, input_mode="flow")


@pytest.mark.parametrize(("name", "options"), [("cnn_lstm", {}), ("cnn3d", {"arch": "mc3_18"})])
def test_training_lowers_the_loss_on_a_separable_toy_set(name: str, options: dict) -> None:
    torch.manual_seed(0)
    model = build_clip_model(name, 2, **options)
    _, history = fit_clip_model(
        model, _toy(), epochs=5, batch_size=8, lr=1e-3, device="cpu", progress=False
    )
    assert len(history) == 5
    assert history["train_loss"].iloc[-1] < 0.5 * history["train_loss"].iloc[0]
    assert history["train_accuracy"].iloc[-1] == 1.0


def _save_random(arch: str, path: Path, *, wrap: bool = False) -> dict[str, torch.Tensor]:
    torch.manual_seed(123)
    state = torchvision.models.get_model(arch, weights=None).state_dict()
    torch.save({"state_dict": state} if wrap else state, path)
    return state


@pytest.mark.parametrize(("wrap"), [False, True])
def test_cnn_lstm_loads_a_local_resnet18_state_dict(tmp_path: Path, wrap: bool) -> None:
    state = _save_random("resnet18", tmp_path / "resnet18.pth", wrap=wrap)
    torch.manual_seed(0)
    model = CnnLstm(3, weights_path=tmp_path / "resnet18.pth")
    loaded = model.encoder.state_dict()
    assert set(loaded) == {k for k in state if not k.startswith("fc.")}
    assert all(torch.equal(loaded[k], state[k]) for k in loaded)
    torch.manual_seed(0)
    assert not torch.equal(CnnLstm(3).encoder.conv1.weight, state["conv1.weight"])


def test_cnn3d_loads_a_local_video_state_dict(tmp_path: Path) -> None:
    state = _save_random("mc3_18", tmp_path / "mc3.pth")
    model = Cnn3d(4, arch="mc3_18", weights_path=str(tmp_path / "mc3.pth"))
    loaded = model.backbone.state_dict()
    assert all(torch.equal(loaded[k], state[k]) for k in loaded)
    assert model.head[-1].out_features == 4


def test_missing_weights_file_names_the_parameter_and_the_fix(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pth"
    with pytest.raises(FileNotFoundError, match=r"classification\.cnn3d\.weights_path.*null"):
        Cnn3d(
            2,
            arch="r3d_18",
            weights_path=missing,
            weights_param="classification.cnn3d.weights_path",
        )
    with pytest.raises(FileNotFoundError, match=r"weights_path='.*nope\.pth'"):
        CnnLstm(2, weights_path=missing)


def test_weights_of_another_architecture_are_refused(tmp_path: Path) -> None:
    _save_random("resnet18", tmp_path / "resnet18.pth")
    with pytest.raises(ValueError, match="not a torchvision mc3_18 state dict"):
        Cnn3d(2, arch="mc3_18", weights_path=tmp_path / "resnet18.pth")


def test_class_weights_are_balanced_when_the_classes_are_imbalanced() -> None:
    labels = np.array([0, 0, 0, 0, 1, 2, 2])
    # n / (C * count): 7 clips over 3 classes
    assert np.allclose(class_weights(labels, 3), [7 / 12, 7 / 3, 7 / 6])
    assert class_weights(np.array([0, 1, 0, 1]), 2) is None
    assert np.allclose(class_weights(np.array([0, 0, 0, 2]), 4), [4 / 6, 1.0, 2.0, 1.0])


@pytest.mark.parametrize("balance", [True, False])
def test_balance_weights_the_training_loss(balance: bool) -> None:
    """Three clips of one class, one of the other, one full batch and lr 0: the first epoch's
    training loss is the (class-weighted) cross-entropy of the model's logits on the batch."""
    clips, _ = toy_set(4)
    labels = np.array([0, 0, 0, 1])
    data = ClipDataset(
        [str(i) for i in range(4)], [8] * 4, labels, ArrayClips(clips),
        frames_per_clip=8, stride=1, size=32, train=True,
    )  # fmt: skip
    torch.manual_seed(0)
    model = CnnLstm(2, hidden_size=8)
    reference = copy.deepcopy(model).train()  # batch statistics, as in training
    with torch.no_grad():
        logits = reference(torch.stack([data[i][0] for i in range(4)]))
    weight = torch.tensor([4 / 6, 2.0]) if balance else None  # n / (C * count)
    expected = F.cross_entropy(logits, torch.as_tensor(labels), weight=weight)
    _, history = fit_clip_model(
        model, data, epochs=1, batch_size=4, lr=0.0, balance=balance, device="cpu", progress=False
    )
    assert history["train_loss"].iloc[0] == pytest.approx(float(expected), rel=1e-5)


def test_early_stopping_keeps_the_best_validation_epoch() -> None:
    torch.manual_seed(0)
    train, val = _toy(6), _toy(4, train=False)
    model, history = fit_clip_model(
        CnnLstm(2, hidden_size=8), train, val,
        epochs=6, batch_size=6, lr=3e-2, patience=1, device="cpu", progress=False,
    )  # fmt: skip
    best = int(history["val_loss"].to_numpy().argmin())
    assert len(history) <= best + 2  # stopped one epoch (patience) after the best, or at the end
    probs = predict_proba(model, val, 1, device="cpu")
    loss = F.nll_loss(torch.log(torch.as_tensor(probs)), torch.as_tensor(val.labels))
    assert float(loss) == pytest.approx(history["val_loss"].iloc[best], rel=1e-4)
    assert np.isnan(fit_clip_model(CnnLstm(2, hidden_size=8), train, epochs=1, device="cpu",
                                   progress=False)[1]["val_loss"]).all()  # fmt: skip


def test_multi_view_probabilities_are_the_mean_over_the_views() -> None:
    clips, labels = toy_set(3, frames=21, speed=1)
    data = ClipDataset(
        ["0", "1", "2"], [21] * 3, labels, ArrayClips(clips),
        frames_per_clip=4, stride=2, size=32, views=3,
    )  # fmt: skip
    torch.manual_seed(0)
    model = CnnLstm(2, hidden_size=8).eval()
    probs = predict_proba(model, data, device="cpu")
    # by hand: windows of span 7 starting at 0, 7 and 14 (evenly spaced over 21 frames)
    per_view = []
    for start in (0, 7, 14):
        x = torch.stack(
            [torch.from_numpy(c[start : start + 7 : 2]).permute(0, 3, 1, 2) for c in clips]
        )
        with torch.no_grad():
            per_view.append(torch.softmax(model(x.float() / 255), dim=1).numpy())
    assert probs.shape == (3, 2)
    assert np.allclose(probs, np.mean(per_view, axis=0), atol=1e-6)
    assert not np.allclose(per_view[0], per_view[2], atol=1e-4)  # the views do differ
    single = predict_proba(model, data, views=1, device="cpu")
    assert not np.allclose(single, probs, atol=1e-6)


def test_training_on_cpu_returns_a_cpu_model_in_eval_mode() -> None:
    torch.manual_seed(0)
    model, _ = fit_clip_model(
        Cnn3d(2, arch="mc3_18"), _toy(4), epochs=1, device="cpu", progress=False
    )
    assert {p.device.type for p in model.parameters()} == {"cpu"}
    assert not model.training


@pytest.mark.skipif(
    torch.cuda.is_available(), reason="checks the message on a machine without CUDA"
)
def test_cuda_without_cuda_names_the_parameter() -> None:
    with pytest.raises(ValueError, match="`device` parameter"):
        fit_clip_model(CnnLstm(2, hidden_size=8), _toy(2), epochs=1, device="cuda", progress=False)


@CUDA
def test_cuda_training_and_prediction_match_cpu() -> None:
    torch.manual_seed(0)
    model, history = fit_clip_model(
        CnnLstm(2, hidden_size=8), _toy(4), epochs=2, device="cuda", progress=False
    )
    assert len(history) == 2 and np.isfinite(history["train_loss"]).all()
    val = _toy(4, train=False, views=2)
    on_gpu = predict_proba(model, val, device="cuda")
    on_cpu = predict_proba(model, val, device="cpu")
    assert np.allclose(on_gpu, on_cpu, atol=1e-4)
