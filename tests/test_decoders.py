"""Testes de livro.decoders: campo receptivo, SegNet, IoU/Dice, autocodificadores e PSNR."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.metrics import peak_signal_noise_ratio
from sklearn.decomposition import PCA
from sklearn.metrics import f1_score, jaccard_score
from torch import nn

from livro import decoders


def positive_conv(cin, cout, k=3, stride=1):
    """Convolução de pesos positivos: nenhum gradiente se cancela por acaso."""
    conv = nn.Conv2d(cin, cout, k, stride, k // 2)
    nn.init.constant_(conv.weight, 1.0 / (cin * k * k))
    return conv


# --------------------------------------------------------------------------- campo receptivo


@pytest.mark.parametrize("layers, expected", [
    ([positive_conv(1, 2), positive_conv(2, 2), positive_conv(2, 1)], 7),
    ([positive_conv(1, 2, stride=2), positive_conv(2, 2, stride=2), positive_conv(2, 1, stride=2)], 15),
    ([positive_conv(1, 2), nn.MaxPool2d(2), positive_conv(2, 2), nn.MaxPool2d(2), positive_conv(2, 1)], 18),
    ([positive_conv(1, 2, stride=2), positive_conv(2, 2, stride=2), nn.Upsample(scale_factor=2, mode="bilinear"),
      positive_conv(2, 2), nn.Upsample(scale_factor=2, mode="bilinear"), positive_conv(2, 1)], 19),
])
def test_receptive_field_formula_and_gradient(layers, expected):
    net = nn.Sequential(*layers)
    r, _ = decoders.receptive_field(net)
    assert r == expected
    grad = decoders.gradient_field(net, (1, 64, 64), num_samples=16)
    _, _, height, width = decoders.field_extent(grad)
    assert (height, width) == (r, r)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(["conv", "conv_s2", "avgpool", "up_bilinear", "up_nearest"]),
                min_size=1, max_size=6))
def test_receptive_field_random_stacks(kinds):
    """Pilhas aleatórias: quando a fórmula aceita a pilha, o gradiente dá o mesmo campo em várias posições."""
    layers = []
    for kind in kinds:
        if kind.startswith("up"):
            layers.append(nn.Upsample(scale_factor=2, mode=kind[3:]))
        elif kind == "avgpool":
            layers.append(nn.AvgPool2d(2))
        else:
            layers.append(positive_conv(1, 1, stride=2 if kind == "conv_s2" else 1))
    net = nn.Sequential(*layers)
    try:
        r_j = decoders.receptive_field(net)
        r = r_j[0]
    except ValueError as error:
        assert "ímpar" in str(error) or "par" in str(error)
        return
    base = 4 * (r + max(r_j[1], 1)) // 2 * 2  # grande o bastante para a borda não cortar o campo
    for side in (base, base + 2, base + 4, base + 6):
        grad = decoders.gradient_field(net, (1, side, side), num_samples=1)
        assert decoders.field_extent(grad)[2:] == (r, r)


def test_max_pool_single_sample_sees_less():
    net = nn.Sequential(positive_conv(1, 1), nn.MaxPool2d(2), positive_conv(1, 1), nn.MaxPool2d(2))
    one = decoders.field_extent(decoders.gradient_field(net, (1, 32, 32), num_samples=1))
    many = decoders.field_extent(decoders.gradient_field(net, (1, 32, 32), num_samples=32))
    assert int((decoders.gradient_field(net, (1, 32, 32), num_samples=1) > 0).sum()) < many[2] * many[3]
    assert many[2] == decoders.receptive_field(net)[0] and one[2] <= many[2]


def test_gradient_field_same_seed_same_output():
    net = nn.Sequential(positive_conv(1, 1), nn.MaxPool2d(2))
    a = decoders.gradient_field(net, (1, 16, 16), seed=3)
    b = decoders.gradient_field(net, (1, 16, 16), seed=3)
    assert torch.equal(a, b)


def test_receptive_field_errors():
    with pytest.raises(TypeError, match="nn.Sequential"):
        decoders.receptive_field(positive_conv(1, 1))
    with pytest.raises(ValueError, match="ímpar"):
        decoders.receptive_field(nn.Sequential(nn.Upsample(scale_factor=2)))
    with pytest.raises(ValueError, match="scale_factor=2"):
        decoders.receptive_field(nn.Sequential(nn.MaxPool2d(2), nn.Upsample(scale_factor=3)))
    with pytest.raises(ValueError, match="align_corners"):
        decoders.receptive_field(nn.Sequential(nn.MaxPool2d(2),
                                               nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)))
    with pytest.raises(ValueError, match="in_shape"):
        decoders.gradient_field(positive_conv(1, 1), (16, 16))
    with pytest.raises(TypeError, match="num_samples"):
        decoders.gradient_field(positive_conv(1, 1), (1, 16, 16), num_samples=True)
    with pytest.raises(ValueError, match="todo zero"):
        decoders.field_extent(torch.zeros(4, 4))


# --------------------------------------------------------------------------- segmentação


@pytest.mark.parametrize("fuse", [True, False])
@pytest.mark.parametrize("widths", [(8, 16), (8, 16, 32)])
def test_segnet_shapes(fuse, widths):
    net = decoders.SegNet(num_classes=4, widths=widths, dec_channels=8, fuse=fuse)
    out = net(torch.randn(2, 3, 16, 16))
    assert out.shape == (2, 4, 16, 16)
    assert len(net.lateral) == (len(widths) if fuse else 1)


def test_segnet_errors():
    with pytest.raises(ValueError, match="duas escalas"):
        decoders.SegNet(widths=(8,))
    with pytest.raises(TypeError, match="fuse"):
        decoders.SegNet(fuse=1)
    with pytest.raises(ValueError, match="múltiplos de 4"):
        decoders.SegNet(widths=(4, 4, 4))(torch.randn(1, 3, 10, 10))
    with pytest.raises(ValueError, match="N, C, H, W"):
        decoders.SegNet()(torch.randn(3, 16, 16))


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 6), st.lists(st.integers(1, 12), min_size=1, max_size=3), st.integers(0, 10**6))
def test_iou_dice_against_sklearn(num_classes, shape, seed):
    gen = torch.Generator().manual_seed(seed)
    target = torch.randint(num_classes, tuple(shape), generator=gen)
    pred = torch.where(torch.rand(tuple(shape), generator=gen) < 0.6, target,
                       torch.randint(num_classes, tuple(shape), generator=gen))
    iou, dice = decoders.iou_dice(pred, target, num_classes)
    labels = list(range(num_classes))
    ref_iou = jaccard_score(target.flatten(), pred.flatten(), labels=labels, average=None, zero_division=0)
    ref_dice = f1_score(target.flatten(), pred.flatten(), labels=labels, average=None, zero_division=0)
    present = ~torch.isnan(iou)  # classes ausentes da previsão e do alvo: nan aqui, 0 no scikit-learn
    assert present.tolist() == [bool((pred == c).any() or (target == c).any()) for c in labels]
    np.testing.assert_allclose(iou.numpy()[present], ref_iou[present])
    np.testing.assert_allclose(dice.numpy()[present], ref_dice[present])
    torch.testing.assert_close(dice[present], 2 * iou[present] / (1 + iou[present]))


def test_confusion_counts():
    pred = torch.tensor([[0, 1], [1, 2]])
    target = torch.tensor([[0, 1], [2, 2]])
    cm = decoders.confusion(pred, target, 3)
    assert cm.tolist() == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]


def test_iou_dice_errors():
    t = torch.zeros(4, 4, dtype=torch.long)
    with pytest.raises(ValueError, match="mesma forma"):
        decoders.iou_dice(t, t[:2], 2)
    with pytest.raises(ValueError, match=r"fora de \[0, 2\)"):
        decoders.iou_dice(t + 2, t, 2)
    with pytest.raises(TypeError, match="inteiros"):
        decoders.iou_dice(t.float(), t, 2)
    with pytest.raises(ValueError, match="vazio"):
        decoders.iou_dice(t[:0], t[:0], 2)
    with pytest.raises(TypeError, match="num_classes"):
        decoders.iou_dice(t, t, 2.0)


# --------------------------------------------------------------------------- autocodificadores


def test_autoencoder_shapes():
    net = decoders.Autoencoder(latent_dim=2, hidden=(32, 8))
    x = torch.rand(5, 1, 28, 28)
    assert net.encode(x).shape == (5, 2)
    assert net(x).shape == (5, 1, 28, 28)
    with torch.no_grad():
        assert float(net(x).min()) >= 0 and float(net(x).max()) <= 1
    with pytest.raises(ValueError, match="esperava imagens"):
        net(torch.rand(5, 28, 28))


def test_fit_autoencoder_beats_pca_and_is_deterministic(tmp_path, monkeypatch):
    monkeypatch.setenv("LIVRO_CACHE_MODELOS", str(tmp_path))
    gen = torch.Generator().manual_seed(0)
    # dados num "círculo" de 2 parâmetros imerso em 64 dimensões: PCA linear não o segue
    angle = torch.rand(600, generator=gen) * 6.28
    basis = torch.randn(4, 64, generator=gen)
    feats = torch.stack([angle.cos(), angle.sin(), (2 * angle).cos(), (2 * angle).sin()], dim=1)
    X = torch.sigmoid(feats @ basis).reshape(600, 1, 8, 8)
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        net = decoders.Autoencoder(latent_dim=2, hidden=(32,), image_shape=(1, 8, 8))
        runs.append(decoders.fit_autoencoder(net, X[:400], X[400:500], lr=3e-3, max_epochs=30, patience=8,
                                             lr_patience=2, cache=False, desc="teste"))
    (net, hist), (net2, hist2) = runs
    assert hist["val_loss"] == hist2["val_loss"]
    assert hist["best_epoch"] <= hist["stopped_epoch"] <= 30
    with torch.no_grad():
        ae_err = float(((net(X[500:]) - X[500:]) ** 2).mean())
    flat = X.flatten(1).numpy()
    pca = PCA(2).fit(flat[:400])
    pca_err = float(((pca.inverse_transform(pca.transform(flat[500:])) - flat[500:]) ** 2).mean())
    assert ae_err < pca_err


def test_fit_autoencoder_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LIVRO_CACHE_MODELOS", str(tmp_path))
    X = torch.rand(64, 1, 4, 4, generator=torch.Generator().manual_seed(1))
    kwargs = dict(max_epochs=3, patience=3, lr_patience=1, noise_std=0.2)
    torch.manual_seed(0)
    _, first = decoders.fit_autoencoder(decoders.Autoencoder(2, (8,), (1, 4, 4)), X, X[:16], **kwargs)
    torch.manual_seed(0)
    _, second = decoders.fit_autoencoder(decoders.Autoencoder(2, (8,), (1, 4, 4)), X, X[:16], **kwargs)
    assert not first["cached"] and second["cached"]
    assert first["val_loss"] == second["val_loss"]


def test_fit_autoencoder_errors():
    net = decoders.Autoencoder(2, (8,), (1, 4, 4))
    X = torch.rand(8, 1, 4, 4)
    with pytest.raises(ValueError, match="lr_patience"):
        decoders.fit_autoencoder(net, X, X, patience=7, lr_patience=7)
    with pytest.raises(ValueError, match="vazio"):
        decoders.fit_autoencoder(net, X[:0], X)
    with pytest.raises(ValueError, match="mesma forma"):
        decoders.fit_autoencoder(net, X, X[:, :, :2])
    with pytest.raises(ValueError, match="lr"):
        decoders.fit_autoencoder(net, X, X, lr=float("nan"))
    with pytest.raises(TypeError, match="max_epochs"):
        decoders.fit_autoencoder(net, X, X, max_epochs=2.5)
    with pytest.raises(ValueError, match="factor"):
        decoders.fit_autoencoder(net, X, X, factor=1.5)
    with pytest.raises(TypeError, match="noise_std"):
        decoders.fit_autoencoder(net, X, X, noise_std=True)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 5), st.integers(2, 10), st.floats(0.01, 0.5), st.integers(0, 10**6))
def test_psnr_against_skimage(n, side, noise, seed):
    gen = torch.Generator().manual_seed(seed)
    ref = torch.rand(n, side, side, generator=gen, dtype=torch.float64)
    x = (ref + noise * torch.randn(n, side, side, generator=gen, dtype=torch.float64)).clamp(0, 1)
    ours = decoders.psnr(x, ref)
    theirs = [peak_signal_noise_ratio(ref[i].numpy(), x[i].numpy(), data_range=1.0) for i in range(n)]
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-10)


def test_psnr_errors():
    x = torch.rand(2, 4, 4)
    with pytest.raises(ValueError, match="mesma forma"):
        decoders.psnr(x, x[:1])
    with pytest.raises(TypeError, match="ponto flutuante"):
        decoders.psnr(x.long(), x.long())
    with pytest.raises(ValueError, match="data_range"):
        decoders.psnr(x, x, data_range=-1.0)
