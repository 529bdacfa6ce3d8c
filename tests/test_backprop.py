"""Testes de ``livro.backprop``: tudo comparado com o autograd do PyTorch."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from livro import backprop as bp


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("fn, dfn", [
    (torch.exp, torch.exp), (torch.sin, torch.cos), (torch.tanh, lambda x: 1 - torch.tanh(x) ** 2),
    (lambda x: x**3, lambda x: 3 * x**2),
])
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 5)])
def test_finite_difference_matches_autograd(fn, dfn, shape):
    x = torch.randn(shape, dtype=torch.float64, generator=_gen())
    torch.testing.assert_close(bp.finite_difference(fn, x, 1e-6), dfn(x), atol=1e-7, rtol=1e-7)
    xr = x.clone().requires_grad_()
    fn(xr).sum().backward()
    torch.testing.assert_close(bp.finite_difference(fn, x, 1e-6), xr.grad, atol=1e-7, rtol=1e-7)
    # a diferença progressiva é menos precisa, mas ainda aproxima a derivada
    torch.testing.assert_close(bp.finite_difference(fn, x, 1e-7, "forward"), dfn(x),
                               atol=1e-5, rtol=1e-5)


def test_finite_difference_bad_input():
    with pytest.raises(ValueError, match="h deve ser > 0"):
        bp.finite_difference(torch.sin, torch.zeros(3), h=0)
    with pytest.raises(ValueError, match="scheme deve ser uma de"):
        bp.finite_difference(torch.sin, torch.zeros(3), scheme="backward")
    with pytest.raises(TypeError, match="x deve ser um tensor do PyTorch"):
        bp.finite_difference(torch.sin, [1.0, 2.0])
    with pytest.raises(TypeError, match="ponto flutuante"):
        bp.finite_difference(torch.sin, torch.arange(3))


@pytest.mark.parametrize("N, m, n", [(1, 3, 2), (5, 4, 6), (16, 10, 1)])
def test_linear_matches_torch(N, m, n):
    g = _gen(N)
    X = torch.randn(N, m, dtype=torch.float64, generator=g, requires_grad=True)
    W = torch.randn(n, m, dtype=torch.float64, generator=g, requires_grad=True)
    b = torch.randn(n, dtype=torch.float64, generator=g, requires_grad=True)
    out = bp.linear_forward(X, W, b)
    torch.testing.assert_close(out, F.linear(X, W, b))
    grad_out = torch.randn(N, n, dtype=torch.float64, generator=g)
    out.backward(grad_out)
    gX, gW, gb = bp.linear_backward(grad_out, X.detach(), W.detach())
    torch.testing.assert_close(gX, X.grad)
    torch.testing.assert_close(gW, W.grad)
    torch.testing.assert_close(gb, b.grad)


def test_linear_bad_shapes():
    with pytest.raises(ValueError, match="formas incompatíveis"):
        bp.linear_forward(torch.zeros(2, 3), torch.zeros(4, 5))
    with pytest.raises(ValueError, match="grad_out"):
        bp.linear_backward(torch.zeros(2, 5), torch.zeros(2, 3), torch.zeros(4, 3))


@pytest.mark.parametrize("activation", bp.ACTIVATIONS)
@pytest.mark.parametrize("sizes, N", [((3, 4, 2), 5), ((6, 8, 8, 3), 10), ((2, 1), 1)])
def test_mlp_matches_autograd(activation, sizes, N):
    g = _gen(len(sizes))
    X = torch.randn(N, sizes[0], dtype=torch.float64, generator=g)
    y = torch.randn(N, sizes[-1], dtype=torch.float64, generator=g)
    params = bp.init_mlp(sizes, generator=g, dtype=torch.float64)
    # a mesma rede com torch.nn
    layers = []
    for k, (W, b) in enumerate(params):
        lin = nn.Linear(W.shape[1], W.shape[0]).double()
        with torch.no_grad():
            lin.weight.copy_(W)
            lin.bias.copy_(b)
        layers.append(lin)
        if k < len(params) - 1:
            layers.append(nn.Tanh() if activation == "tanh" else nn.ReLU())
    net = nn.Sequential(*layers)
    Xr = X.clone().requires_grad_()
    loss_t = F.mse_loss(net(Xr), y)
    loss_t.backward()

    y_hat, cache = bp.mlp_forward(X, params, activation)
    loss = bp.mse_loss(y_hat, y)
    torch.testing.assert_close(loss, loss_t.detach())
    grad_X, grads = bp.mlp_backward(bp.mse_backward(y_hat, y), cache, params, activation)
    torch.testing.assert_close(grad_X, Xr.grad)
    linears = [m for m in net if isinstance(m, nn.Linear)]
    for (gW, gb), lin in zip(grads, linears):
        torch.testing.assert_close(gW, lin.weight.grad)
        torch.testing.assert_close(gb, lin.bias.grad)


@pytest.mark.parametrize("activation", bp.ACTIVATIONS)
@pytest.mark.parametrize("sizes", [(3, 4, 2), (2, 5, 3, 1)])
def test_gradcheck(activation, sizes):
    g = _gen(1)
    X = torch.randn(4, sizes[0], dtype=torch.float64, generator=g, requires_grad=True)
    params = bp.init_mlp(sizes, generator=g, dtype=torch.float64)
    flat = [t.requires_grad_() for pair in params for t in pair]
    assert torch.autograd.gradcheck(lambda X, *p: bp.MLPFunction.apply(activation, X, *p), (X, *flat))


def test_mlp_apply_backward_equals_manual():
    g = _gen(2)
    X = torch.randn(6, 3, generator=g)
    params = bp.init_mlp((3, 5, 2), generator=g)
    leaf = [(W.clone().requires_grad_(), b.clone().requires_grad_()) for W, b in params]
    bp.mlp_apply(X, leaf).sum().backward()
    y_hat, cache = bp.mlp_forward(X, params)
    _, grads = bp.mlp_backward(torch.ones_like(y_hat), cache, params)
    for (W, b), (gW, gb) in zip(leaf, grads):
        torch.testing.assert_close(W.grad, gW)
        torch.testing.assert_close(b.grad, gb)


def test_init_same_seed_same_weights():
    a = bp.init_mlp((4, 3, 2), generator=_gen(7))
    b = bp.init_mlp((4, 3, 2), generator=_gen(7))
    c = bp.init_mlp((4, 3, 2), generator=_gen(8))
    for (Wa, ba), (Wb, bb) in zip(a, b):
        assert torch.equal(Wa, Wb) and torch.equal(ba, bb)
    assert not torch.equal(a[0][0], c[0][0])
    assert a[0][0].shape == (3, 4) and a[1][1].shape == (2,)
    assert a[0][0].abs().max() <= 0.5  # limite 1/√4


def test_mlp_bad_input():
    with pytest.raises(ValueError, match="sizes"):
        bp.init_mlp((3,))
    with pytest.raises(ValueError, match="sizes"):
        bp.init_mlp((3, 0, 2))
    with pytest.raises(ValueError, match="activation deve ser uma de"):
        bp.mlp_forward(torch.zeros(2, 3), bp.init_mlp((3, 2)), activation="sigmoid")
    with pytest.raises(ValueError, match="params deve ser uma lista não vazia"):
        bp.mlp_forward(torch.zeros(2, 3), [])
    with pytest.raises(ValueError, match="mesma forma"):
        bp.mse_loss(torch.zeros(2, 3), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="mesma forma"):
        bp.mse_backward(torch.zeros(2, 3), torch.zeros(3, 2))
    params = bp.init_mlp((3, 4, 2))
    _, cache = bp.mlp_forward(torch.zeros(2, 3), params)
    with pytest.raises(ValueError, match="cache"):
        bp.mlp_backward(torch.zeros(2, 2), cache[:1], params)


@pytest.mark.parametrize("depth", [1, 3, 6])
@pytest.mark.parametrize("N, width", [(8, 16), (32, 64)])
def test_saved_tensor_bytes_grows_with_depth(depth, N, width):
    torch.manual_seed(0)
    net = nn.Sequential(*[m for _ in range(depth) for m in (nn.Linear(width, width), nn.ReLU())])
    x = torch.randn(N, width)
    out, info = bp.saved_tensor_bytes(lambda: net(x).sum(), exclude=list(net.parameters()))
    # a entrada e a saída de cada ReLU ficam guardadas: (profundidade + 1) ativações
    assert info["bytes"] == (depth + 1) * N * width * 4
    assert info["bytes_total"] >= info["bytes"] and info["count"] >= depth + 1
    torch.testing.assert_close(out, net(x).sum())
    with torch.no_grad():
        _, info0 = bp.saved_tensor_bytes(lambda: net(x).sum())
    assert info0 == {"count": 0, "bytes_total": 0, "bytes": 0}


def test_saved_tensor_bytes_bad_input():
    with pytest.raises(TypeError, match="função"):
        bp.saved_tensor_bytes(torch.zeros(3))


@pytest.mark.parametrize("shape", [(4,), (3, 5), (2, 3, 4)])
def test_activations_match_torch(shape):
    Z = torch.randn(shape, dtype=torch.float64, generator=_gen(5), requires_grad=True)
    grad_out = torch.randn(shape, dtype=torch.float64, generator=_gen(6))
    for activation, ref in (("tanh", torch.tanh), ("relu", F.relu)):
        H = bp.activation_forward(Z.detach(), activation)
        torch.testing.assert_close(H, ref(Z.detach()))
        (expected,) = torch.autograd.grad(ref(Z), Z, grad_out)
        torch.testing.assert_close(bp.activation_backward(grad_out, Z.detach(), H, activation),
                                   expected)


def test_mlp_forward_same_seed_same_output():
    X = torch.randn(5, 3, generator=_gen(9))
    out1, _ = bp.mlp_forward(X, bp.init_mlp((3, 4, 2), generator=_gen(1)))
    out2, _ = bp.mlp_forward(X, bp.init_mlp((3, 4, 2), generator=_gen(1)))
    assert torch.equal(out1, out2)
