"""Testes de ``livro.cnn``: formas, campos receptivos, recortes e PCA contra o scikit-learn."""

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from torch import nn

from livro import cnn

ARCHS = [((1, 8),), ((1, 8), (2, 16)), ((1, 4), (1, 8), (2, 16))]


@pytest.mark.parametrize("in_channels, out_channels, num_convs", [(1, 4, 1), (3, 8, 2), (5, 2, 3)])
@pytest.mark.parametrize("size", [(28, 28), (9, 12)])
def test_vgg_block_shapes(in_channels, out_channels, num_convs, size):
    block = cnn.vgg_block(in_channels, out_channels, num_convs)
    x = torch.randn(2, in_channels, *size)
    assert block(x).shape == (2, out_channels, size[0] // 2, size[1] // 2)
    convs = [m for m in block if isinstance(m, nn.Conv2d)]
    assert len(convs) == num_convs and all(c.bias is None for c in convs)
    assert isinstance(block[-1], nn.MaxPool2d)
    # a ordem dentro do bloco: conv → BN → ReLU
    assert [type(m) for m in block[:3]] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU]


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("in_channels, num_classes, size", [(1, 10, 28), (3, 5, 32), (2, 7, 17)])
def test_vggnet_shapes(arch, in_channels, num_classes, size):
    net = cnn.VGGNet(arch, in_channels, num_classes)
    x = torch.randn(3, in_channels, size, size)
    assert net(x).shape == (3, num_classes)
    assert net.features(x).shape == (3, arch[-1][1])
    side = size
    for _ in arch:
        side //= 2
    assert net.backbone(x).shape == (3, arch[-1][1], side, side)
    # a cabeça aplicada às características dá os logits
    torch.testing.assert_close(net.head[2](net.features(x)), net(x))


def test_vggnet_same_seed_same_weights():
    torch.manual_seed(3)
    a = cnn.VGGNet(ARCHS[2])
    torch.manual_seed(3)
    b = cnn.VGGNet(ARCHS[2])
    x = torch.randn(2, 1, 16, 16)
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q), name
    torch.testing.assert_close(a(x), b(x), rtol=0, atol=0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="arch"):
        cnn.VGGNet(())
    with pytest.raises(ValueError, match="pares"):
        cnn.VGGNet(((1, 8, 3),))
    with pytest.raises(ValueError, match="≥ 1"):
        cnn.vgg_block(1, 0)
    with pytest.raises(TypeError, match="inteiro"):
        cnn.vgg_block(1, 8, 1.5)
    net = cnn.VGGNet(ARCHS[2])
    with pytest.raises(ValueError, match="poolings"):
        net(torch.randn(1, 1, 4, 4))
    with pytest.raises(ValueError, match="forma"):
        net(torch.randn(1, 28, 28))


@pytest.mark.parametrize("arch", ARCHS)
def test_layer_outputs_match_manual_forward(arch):
    torch.manual_seed(0)
    net = cnn.VGGNet(arch).train()
    x = torch.randn(4, 1, 20, 20)
    names = [f"backbone.{i}" for i in range(len(arch))] + ["head"]
    outs = cnn.layer_outputs(net, x, names)
    assert net.training  # o modo é restaurado
    net.eval()
    with torch.no_grad():
        h = x
        for i, block in enumerate(net.backbone):
            h = block(h)
            torch.testing.assert_close(outs[f"backbone.{i}"], h)
        torch.testing.assert_close(outs["head"], net(x))
    # nenhum hook fica registrado
    assert all(len(m._forward_hooks) == 0 for m in net.modules())
    with pytest.raises(ValueError, match="não tem"):
        cnn.layer_outputs(net, x, ["nao.existe"])


def _measured_field(net, layer, size=48):
    """Campo receptivo medido: pixels da entrada com gradiente não nulo para a unidade central."""
    x = torch.randn(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    out = {}
    handle = dict(net.named_modules())[layer].register_forward_hook(lambda m, i, o: out.setdefault("o", o))
    net(x)
    handle.remove()
    o = out["o"]
    i, k = o.shape[-2] // 2, o.shape[-1] // 2
    o[0, :, i, k].sum().backward()
    rows = x.grad[0, 0].abs().sum(1).nonzero().flatten()
    cols = x.grad[0, 0].abs().sum(0).nonzero().flatten()
    return (i, k), (int(rows[0]), int(rows[-1])), (int(cols[0]), int(cols[-1]))


@pytest.mark.parametrize("arch", ARCHS)
def test_receptive_fields_match_gradients(arch):
    torch.manual_seed(0)
    net = cnn.VGGNet(arch).double().eval()
    with torch.no_grad():  # pesos positivos: nenhum gradiente se anula por acaso
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.uniform_(0.1, 1.0)
    # o max pooling só passa gradiente ao vencedor; o pooling médio, de mesma geometria, a todos
    net = nn.Sequential(*[nn.AvgPool2d(2) if isinstance(m, nn.MaxPool2d) else m
                          for m in net.backbone.modules() if isinstance(m, (nn.Conv2d, nn.MaxPool2d))])
    fields = cnn.receptive_fields(net)
    for layer, (r, j, a) in fields.items():
        (i, k), (r0, r1), (c0, c1) = _measured_field(net, layer)
        assert (r0, r1) == (a + i * j, a + i * j + r - 1), layer
        assert (c0, c1) == (a + k * j, a + k * j + r - 1), layer


def test_receptive_fields_known_values():
    net = cnn.VGGNet(((1, 4), (1, 8), (2, 16)))
    fields = cnn.receptive_fields(net)
    assert fields["backbone.0.0"] == (3, 1, -1)
    assert fields["backbone.0.3"] == (4, 2, -1)
    assert fields["backbone.2.6"] == (30, 8, -11)
    assert "head.2" not in fields
    with pytest.raises(ValueError, match="dilatação"):
        cnn.receptive_fields(nn.Sequential(nn.Conv2d(1, 1, 3, dilation=2)))
    with pytest.raises(ValueError, match="não sei"):
        cnn.receptive_fields(nn.Sequential(nn.Upsample(scale_factor=2)))


@pytest.mark.parametrize("field", [(3, 1, -1), (8, 2, -2), (18, 4, -6)])
@pytest.mark.parametrize("k", [1, 4])
def test_top_patches_crop_the_right_window(field, k):
    gen = torch.Generator().manual_seed(1)
    N, C, h, w = 6, 3, 5, 4
    images = torch.rand(N, 20, 20, generator=gen)
    act = torch.randn(N, C, h, w, generator=gen)
    patches, index, value = cnn.top_patches(act, images, field, k)
    r, j, a = field
    assert patches.shape == (C, k, r, r) and index.shape == value.shape == (C, k)
    padded = nn.functional.pad(images, (r, r, r, r))
    for c in range(C):
        best = act[:, c].flatten(1).max(1).values
        torch.testing.assert_close(value[c], best.sort(descending=True).values[:k])
        for t in range(k):
            n = int(index[c, t])
            pos = int(act[n, c].flatten().argmax())
            top, left = a + (pos // w) * j + r, a + (pos % w) * j + r
            torch.testing.assert_close(patches[c, t], padded[n, top:top + r, left:left + r])
    # mesma entrada → mesma saída; (N, 1, H, W) é aceito
    again = cnn.top_patches(act, images[:, None], field, k)
    assert torch.equal(again[0], patches) and torch.equal(again[1], index)


def test_top_patches_bad_input():
    act, images = torch.randn(3, 2, 4, 4), torch.rand(3, 8, 8)
    with pytest.raises(ValueError, match="só há"):
        cnn.top_patches(act, images, (3, 1, -1), k=4)
    with pytest.raises(ValueError, match="mesmo N"):
        cnn.top_patches(act, images[:2], (3, 1, -1))
    with pytest.raises(ValueError, match="um canal"):
        cnn.top_patches(act, torch.rand(3, 3, 8, 8), (3, 1, -1))
    with pytest.raises(ValueError, match="activation"):
        cnn.top_patches(act[0], images, (3, 1, -1))


@pytest.mark.parametrize("n, d, q", [(50, 3, 2), (200, 10, 2), (120, 40, 5)])
def test_pca_matches_sklearn(n, d, q):
    rng = np.random.default_rng(n + d)
    X = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + rng.normal(size=d)
    scores, components, explained = cnn.pca(torch.from_numpy(X), q)
    ref = PCA(n_components=q, svd_solver="full").fit(X)
    signs = torch.from_numpy(np.sign((ref.components_ * components.numpy()).sum(1)))
    assert torch.all(signs.abs() == 1)
    torch.testing.assert_close(components, torch.from_numpy(ref.components_) * signs[:, None])
    torch.testing.assert_close(scores, torch.from_numpy(ref.transform(X)) * signs)
    torch.testing.assert_close(explained, torch.from_numpy(ref.explained_variance_))
    torch.testing.assert_close(components @ components.T, torch.eye(q, dtype=torch.float64))
    # determinística e com sinal fixo
    again = cnn.pca(torch.from_numpy(X), q)
    assert torch.equal(again[0], scores)


def test_pca_bad_input():
    with pytest.raises(TypeError, match="tensor"):
        cnn.pca(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="forma"):
        cnn.pca(torch.zeros(4))
    with pytest.raises(ValueError, match="passa de"):
        cnn.pca(torch.randn(4, 3), 5)
