"""Testes de ``livro.resnet`` contra o PyTorch e o torchvision."""

import pytest
import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF
from torch.testing import assert_close

from livro import resnet, train


def _block_by_hand(block, x):
    """O bloco residual escrito com ``F.conv2d`` e ``F.batch_norm`` (modo de avaliação)."""
    def bn(m, t):
        return F.batch_norm(t, m.running_mean, m.running_var, m.weight, m.bias, False, 0.0, m.eps)

    out = F.relu(bn(block.bn1, F.conv2d(x, block.conv1.weight, stride=block.conv1.stride, padding=1)))
    out = bn(block.bn2, F.conv2d(out, block.conv2.weight, padding=1))
    if block.skip:
        if isinstance(block.shortcut, torch.nn.Identity):
            short = x
        else:
            conv, norm = block.shortcut
            short = bn(norm, F.conv2d(x, conv.weight, stride=conv.stride))
        out = out + short
    return F.relu(out)


@pytest.mark.parametrize("c_in,c_out,stride,hw", [(4, 4, 1, 8), (3, 8, 2, 9), (8, 16, 2, 14), (5, 7, 1, 6)])
@pytest.mark.parametrize("skip", [True, False])
def test_block_matches_functional(c_in, c_out, stride, hw, skip):
    torch.manual_seed(0)
    block = resnet.ResidualBlock(c_in, c_out, stride, skip=skip, zero_init=False)
    for m in block.modules():  # estatísticas não triviais
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    block.eval()
    x = torch.randn(3, c_in, hw, hw)
    out = block(x)
    assert out.shape == (3, c_out, (hw + stride - 1) // stride, (hw + stride - 1) // stride)
    assert_close(out, _block_by_hand(block, x))


@pytest.mark.parametrize("shape", [(2, 6, 5, 5), (4, 16, 8, 8)])
def test_zero_init_block_is_relu(shape):
    torch.manual_seed(1)
    block = resnet.ResidualBlock(shape[1], shape[1])
    x = torch.randn(shape)
    for mode in (block.train, block.eval):
        mode()
        assert_close(block(x), F.relu(x))
    x_pos = x.relu()
    assert_close(block(x_pos), x_pos)


@pytest.mark.parametrize("widths,blocks,hw", [((8,), (1,), 12), ((4, 8), (1, 2), 16), ((8, 16, 32), (2, 1, 1), 28)])
def test_small_resnet_shapes(widths, blocks, hw):
    net = resnet.SmallResNet(widths, blocks, in_channels=2, num_classes=7)
    assert net(torch.randn(3, 2, hw, hw)).shape == (3, 7)
    n_blocks = sum(isinstance(m, resnet.ResidualBlock) for m in net.modules())
    assert n_blocks == sum(blocks)


@pytest.mark.parametrize("skip", [True, False])
@pytest.mark.parametrize("bn", [True, False])
def test_deep_stack_and_grad_norms(skip, bn):
    torch.manual_seed(0)
    net = resnet.DeepStack(4, 6, skip=skip, batch_norm=bn)
    X, y = torch.randn(5, 1, 7, 7), torch.randint(0, 10, (5,))
    norms = resnet.layer_grad_norms(net, X, y)
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(norms) == len(convs) == 5
    F.cross_entropy(net(X), y).backward()
    assert norms == pytest.approx([float(m.weight.grad.norm()) for m in convs], rel=1e-5)


@pytest.mark.parametrize("n,c,h,w,pad", [(1, 1, 5, 5, 1), (6, 1, 28, 28, 2), (4, 3, 8, 11, 4)])
def test_crop_flip_matches_torchvision(n, c, h, w, pad):
    gen = torch.Generator().manual_seed(n)
    x = torch.rand(n, c, h, w, generator=gen)
    offsets = torch.randint(0, 2 * pad + 1, (n, 2), generator=gen)
    flips = torch.rand(n, generator=gen) < 0.5
    out = resnet.crop_flip(x, offsets, flips, pad)
    for i in range(n):
        ref = TF.crop(F.pad(x[i], (pad, pad, pad, pad)), int(offsets[i, 0]), int(offsets[i, 1]), h, w)
        if flips[i]:
            ref = TF.hflip(ref)
        assert_close(out[i], ref)


def test_augment_is_deterministic_and_keeps_shape():
    x = torch.rand(16, 1, 28, 28)
    a = resnet.augment(x, torch.Generator().manual_seed(3))
    b = resnet.augment(x, torch.Generator().manual_seed(3))
    c = resnet.augment(x, torch.Generator().manual_seed(4))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("cls", [resnet.DeepStack, resnet.DeepMLP])
def test_skip_changes_repr_and_cache_key(cls):
    torch.manual_seed(0)
    plain = cls(2, 4)
    torch.manual_seed(0)
    res = cls(2, 4, skip=True)
    x = torch.rand(3, 1, 14, 14)
    key = [train.cache_key(n, train.Config(), (x,)) for n in (plain, res)]
    assert repr(plain) != repr(res) and key[0] != key[1]
    assert cls(2, 4, in_channels=1)(x).shape == (3, 10) if cls is resnet.DeepStack else cls(2, 4)(x).shape == (3, 10)


def test_filter_normalized_direction():
    torch.manual_seed(0)
    net = resnet.DeepStack(2, 5)
    d = resnet.filter_normalized_direction(net, torch.Generator().manual_seed(0))
    d2 = resnet.filter_normalized_direction(net, torch.Generator().manual_seed(0))
    for name, p in net.named_parameters():
        assert d[name].shape == p.shape and torch.equal(d[name], d2[name])
        if p.ndim < 2:
            assert not d[name].any()
        else:
            dims = tuple(range(1, p.ndim))
            assert_close(torch.linalg.vector_norm(d[name], dim=dims), torch.linalg.vector_norm(p.detach(), dim=dims))


def test_loss_surface_origin_and_line():
    torch.manual_seed(0)
    net = resnet.DeepStack(2, 4).eval()
    X, y = torch.randn(6, 1, 6, 6), torch.randint(0, 10, (6,))
    d = resnet.filter_normalized_direction(net, torch.Generator().manual_seed(1))
    coords = torch.tensor([[0.0], [0.5]])
    losses = resnet.loss_surface(net, [d], coords, X, y)
    with torch.no_grad():
        assert_close(losses[0], F.cross_entropy(net(X), y))
        before = {k: v.clone() for k, v in net.state_dict().items()}
        for name, p in net.named_parameters():
            p.add_(0.5 * d[name])
        assert_close(losses[1], F.cross_entropy(net(X), y))
    assert any(not torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_output_shapes_resnet18():
    from torchvision.models import resnet18

    net = resnet18(weights=None)
    shapes = resnet.output_shapes(net, torch.randn(1, 3, 224, 224), ["conv1", "maxpool", "layer1", "layer4", "fc"])
    assert shapes == {"conv1": (1, 64, 112, 112), "maxpool": (1, 64, 56, 56), "layer1": (1, 64, 56, 56),
                      "layer4": (1, 512, 7, 7), "fc": (1, 1000)}
    assert not net._forward_hooks and not net.layer1._forward_hooks  # hooks removidos


def test_best_setup_is_reproducible():
    net_a, cfg_a = resnet.best_setup(seed=0)
    net_b, cfg_b = resnet.best_setup(seed=0)
    assert isinstance(cfg_a, train.Config) and cfg_a == cfg_b
    for (ka, va), (kb, vb) in zip(net_a.state_dict().items(), net_b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)


def test_bad_inputs():
    with pytest.raises(ValueError, match="stride"):
        resnet.ResidualBlock(4, 4, stride=3)
    with pytest.raises(ValueError, match="inteiro"):
        resnet.ResidualBlock(0, 4)
    with pytest.raises(ValueError, match="mesmo tamanho"):
        resnet.SmallResNet((8, 16), (1,))
    with pytest.raises(ValueError, match="forma"):
        resnet.crop_flip(torch.rand(2, 5, 5), torch.zeros(2, 2, dtype=torch.long), torch.zeros(2, dtype=torch.bool), 1)
    with pytest.raises(ValueError, match="deslocamentos"):
        resnet.crop_flip(torch.rand(2, 1, 5, 5), torch.full((2, 2), 5), torch.zeros(2, dtype=torch.bool), 1)
    with pytest.raises(TypeError, match="Generator"):
        resnet.augment(torch.rand(2, 1, 5, 5), 0)
    with pytest.raises(TypeError, match="tensor"):
        resnet.augment([[1.0]], torch.Generator())
    with pytest.raises(ValueError, match="coords"):
        resnet.loss_surface(resnet.DeepStack(1, 2), [{}], torch.zeros(3, 2), torch.rand(1, 1, 4, 4), torch.tensor([0]))
    with pytest.raises(ValueError, match="módulos"):
        resnet.output_shapes(resnet.DeepStack(1, 2), torch.rand(1, 1, 4, 4), ["nao_existe"])
