"""Testes de ``livro.conv``: tudo comparado com ``torch.nn.functional``."""

import pytest
import torch
import torch.nn.functional as F

from livro import conv

CASES = [  # (N, C_in, H, W, C_out, K_H, K_W, stride, padding)
    (1, 1, 5, 5, 1, 3, 3, 1, 0),
    (2, 3, 9, 11, 4, 3, 2, 2, 1),
    (3, 2, 8, 7, 5, 5, 5, 1, 2),
    (2, 4, 10, 6, 3, 1, 1, 3, 0),
    (1, 3, 12, 9, 2, 4, 3, (2, 3), (1, 2)),
    (2, 1, 4, 4, 2, 4, 4, 1, 0),
]


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _inputs(case, seed=0, dtype=torch.float64):
    N, C_in, H, W, C_out, KH, KW, _, _ = case
    g = _gen(seed)
    x = torch.randn(N, C_in, H, W, dtype=dtype, generator=g)
    w = torch.randn(C_out, C_in, KH, KW, dtype=dtype, generator=g)
    b = torch.randn(C_out, dtype=dtype, generator=g)
    return x, w, b


@pytest.mark.parametrize("size", range(1, 13))
@pytest.mark.parametrize("k", [1, 2, 3, 5])
@pytest.mark.parametrize("p", [0, 1, 2])
@pytest.mark.parametrize("s", [1, 2, 3])
def test_output_size_matches_conv2d(size, k, p, s):
    if size + 2 * p < k:
        with pytest.raises(ValueError, match="não cabe"):
            conv.output_size(size, k, p, s)
        return
    y = F.conv2d(torch.zeros(1, 1, size, size), torch.zeros(1, 1, k, k), padding=p, stride=s)
    assert y.shape[-1] == conv.output_size(size, k, p, s)


def test_output_size_bad_input():
    with pytest.raises(TypeError, match="inteiro"):
        conv.output_size(5.0, 3)
    with pytest.raises(ValueError, match="stride"):
        conv.output_size(5, 3, stride=0)
    with pytest.raises(ValueError, match="padding"):
        conv.output_size(5, 3, padding=-1)


@pytest.mark.parametrize("padding", [0, 1, (2, 0), (1, 3)])
def test_pad_zeros_matches_f_pad(padding):
    x = torch.randn(2, 3, 4, 5, generator=_gen())
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    torch.testing.assert_close(conv.pad_zeros(x, padding), F.pad(x, (pw, pw, ph, ph)))


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("fn", [conv.conv2d_loops, conv.conv2d_unfold])
@pytest.mark.parametrize("with_bias", [True, False])
def test_conv2d_matches_torch(case, fn, with_bias):
    x, w, b = _inputs(case)
    b = b if with_bias else None
    stride, padding = case[-2], case[-1]
    torch.testing.assert_close(fn(x, w, b, stride, padding), F.conv2d(x, w, b, stride, padding))


@pytest.mark.parametrize("case", CASES[:3])
def test_conv2d_unfold_matches_f_unfold(case):
    """As janelas de ``conv2d_unfold`` são as colunas de ``F.unfold``."""
    x, w, _ = _inputs(case)
    stride, padding = case[-2], case[-1]
    cols = F.unfold(x, w.shape[-2:], padding=padding, stride=stride)  # (N, C·K·K, L)
    out = (w.reshape(w.shape[0], -1) @ cols).reshape(conv.conv2d_unfold(x, w, None, stride, padding).shape)
    torch.testing.assert_close(conv.conv2d_unfold(x, w, None, stride, padding), out)


def test_conv2d_float32_and_gradients():
    x, w, b = _inputs(CASES[1], dtype=torch.float32)
    torch.testing.assert_close(conv.conv2d_unfold(x, w, b, 2, 1), F.conv2d(x, w, b, 2, 1))
    xr, wr = x.clone().requires_grad_(), w.clone().requires_grad_()
    conv.conv2d_unfold(xr, wr, b, 2, 1).square().sum().backward()
    xt, wt = x.clone().requires_grad_(), w.clone().requires_grad_()
    F.conv2d(xt, wt, b, 2, 1).square().sum().backward()
    # float32: a ordem das somas difere entre o im2col e o kernel da biblioteca
    torch.testing.assert_close(xr.grad, xt.grad, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(wr.grad, wt.grad, rtol=1e-4, atol=1e-4)


def test_same_seed_same_output():
    outs = []
    for _ in range(2):
        x, w, b = _inputs(CASES[2], seed=7)
        outs.append((conv.conv2d_loops(x, w, b, 1, 2), conv.conv2d_unfold(x, w, b, 1, 2),
                     conv.conv2d_matrix(w, tuple(x.shape[1:]), 1, 2)))
    for a, b_ in zip(*outs):
        assert torch.equal(a, b_)
    x1, _, _ = _inputs(CASES[2], seed=8)
    assert not torch.equal(x1, _inputs(CASES[2], seed=7)[0])


@pytest.mark.parametrize("shape", [(1, 1, 4, 4), (2, 3, 8, 6), (3, 2, 9, 7)])
@pytest.mark.parametrize("k, s", [(2, None), (3, None), (3, 2), (2, 1)])
def test_pooling_matches_torch(shape, k, s):
    x = torch.randn(*shape, dtype=torch.float64, generator=_gen(sum(shape)))
    stride = k if s is None else s
    torch.testing.assert_close(conv.max_pool2d(x, k, s), F.max_pool2d(x, k, stride))
    torch.testing.assert_close(conv.avg_pool2d(x, k, s), F.avg_pool2d(x, k, stride))
    torch.testing.assert_close(conv.sum_pool2d(x, k, s), F.avg_pool2d(x, k, stride, divisor_override=1))


@pytest.mark.parametrize("case", CASES)
def test_conv2d_matrix_matches_conv2d(case):
    x, w, _ = _inputs(case)
    stride, padding = case[-2], case[-1]
    M = conv.conv2d_matrix(w, tuple(x.shape[1:]), stride, padding)
    y = F.conv2d(x, w, None, stride, padding)
    assert M.shape == (y[0].numel(), x[0].numel())
    torch.testing.assert_close(x.flatten(1) @ M.T, y.flatten(1))
    # a transposta de M é a convolução transposta (e o gradiente em relação à entrada)
    g = torch.randn(y.shape, dtype=y.dtype, generator=_gen(1))
    back = F.conv_transpose2d(g, w, stride=stride, padding=padding,
                              output_padding=_output_padding(x.shape[-2:], w.shape[-2:], stride, padding))
    torch.testing.assert_close(g.flatten(1) @ M, back.flatten(1))


def _output_padding(size, kernel, stride, padding):
    s = (stride, stride) if isinstance(stride, int) else stride
    p = (padding, padding) if isinstance(padding, int) else padding
    return tuple((n + 2 * pp - k) % ss for n, k, ss, pp in zip(size, kernel, s, p))


@pytest.mark.parametrize("shape", [(1, 4, 4), (3, 6, 8), (2, 9, 7)])
@pytest.mark.parametrize("k, s", [(2, None), (3, 1), (3, 2)])
def test_pool2d_matrix_matches_torch(shape, k, s):
    x = torch.randn(2, *shape, dtype=torch.float64, generator=_gen())
    stride = k if s is None else s
    mean = conv.pool2d_matrix(shape, k, s)
    total = conv.pool2d_matrix(shape, k, s, mode="sum")
    torch.testing.assert_close(x.flatten(1) @ mean.T, F.avg_pool2d(x, k, stride).flatten(1))
    torch.testing.assert_close(x.flatten(1) @ total.T,
                               F.avg_pool2d(x, k, stride, divisor_override=1).flatten(1))
    torch.testing.assert_close(total, mean * k * k)


def test_bad_inputs():
    x, w, b = _inputs(CASES[1])
    with pytest.raises(ValueError, match="canais"):
        conv.conv2d_unfold(x, w[:, :2])
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        conv.conv2d_loops(x[0], w)
    with pytest.raises(ValueError, match=r"\(C_out, C_in, K_H, K_W\)"):
        conv.conv2d_unfold(x, w[0])
    with pytest.raises(TypeError, match="ponto flutuante"):
        conv.conv2d_unfold(x.long(), w)
    with pytest.raises(TypeError, match="tensor do PyTorch"):
        conv.conv2d_loops(x.numpy(), w)
    with pytest.raises(ValueError, match="bias"):
        conv.conv2d_unfold(x, w, b[:2])
    with pytest.raises(ValueError, match="stride"):
        conv.conv2d_unfold(x, w, b, stride=0)
    with pytest.raises(TypeError, match="padding"):
        conv.conv2d_loops(x, w, b, padding=1.5)
    with pytest.raises(ValueError, match="não cabe"):
        conv.conv2d_unfold(x[:, :, :2], w)
    with pytest.raises(ValueError, match="não cabe"):
        conv.max_pool2d(x, 20)
    with pytest.raises(ValueError, match="mode"):
        conv.pool2d_matrix((1, 4, 4), 2, mode="max")
    with pytest.raises(TypeError, match="input_shape"):
        conv.conv2d_matrix(w, (4, 4))
    with pytest.raises(ValueError, match="canais"):
        conv.conv2d_matrix(w, (5, 8, 8))
