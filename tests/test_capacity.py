"""Testes de livro.capacity: contagem de junções e regiões, parada antecipada, treino."""

import numpy as np
import pytest
import torch
from torch import nn

from livro import capacity


def random_net(sizes, seed, dtype=torch.float64):
    """Rede Linear/ReLU com as larguras dadas e pesos sorteados com a semente."""
    torch.manual_seed(seed)
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1]).to(dtype)


# --------------------------------------------------------------------------- padrões


@pytest.mark.parametrize("sizes", [(1, 4, 1), (2, 5, 3, 1), (3, 8, 8, 2)])
def test_activation_patterns_match_hooks(sizes):
    net = random_net(sizes, seed=1)
    x = torch.randn(50, sizes[0], dtype=torch.float64)
    captured = []
    hooks = [m.register_forward_hook(lambda mod, inp, out: captured.append(inp[0] > 0))
             for m in net if isinstance(m, nn.ReLU)]
    net(x)
    for h in hooks:
        h.remove()
    expected = torch.cat(captured, dim=1)
    patterns = capacity.activation_patterns(net, x)
    assert patterns.shape == (50, sum(sizes[1:-1]))
    assert torch.equal(patterns, expected)


def test_activation_patterns_errors():
    net = random_net((2, 3, 1), seed=0)
    with pytest.raises(ValueError, match="forma"):
        capacity.activation_patterns(net, torch.zeros(4, 3, dtype=torch.float64))
    with pytest.raises(TypeError, match="tensor"):
        capacity.activation_patterns(net, np.zeros((4, 2)))
    with pytest.raises(TypeError, match="Sequential"):
        capacity.activation_patterns(nn.Linear(2, 1), torch.zeros(4, 2))
    with pytest.raises(TypeError, match="não suportada"):
        capacity.activation_patterns(nn.Sequential(nn.Linear(2, 3), nn.Tanh()), torch.zeros(4, 2))


# --------------------------------------------------------------------------- 1-D


def dense_joint_count(net, lo, hi, num=400_001):
    """Contagem independente: mudanças de inclinação por diferenças finitas numa grade densa."""
    xs = torch.linspace(lo, hi, num, dtype=torch.float64)
    with torch.no_grad():
        ys = net(xs[:, None])[:, 0]
    slopes = torch.diff(ys) / torch.diff(xs)
    changed = (torch.diff(slopes).abs() > 1e-6 * (1 + slopes.abs().max())).numpy()
    # uma junção entre dois pontos da grade muda a inclinação de dois intervalos seguidos
    count, i = 0, 0
    while i < len(changed):
        if changed[i]:
            count += 1
            i += 2
        else:
            i += 1
    return count


@pytest.mark.parametrize("sizes,seed", [((1, 3, 1), 0), ((1, 5, 1), 1), ((1, 4, 4, 1), 2),
                                        ((1, 6, 3, 2), 3), ((1, 3, 1, 3, 1), 4)])
def test_linear_pieces_1d_interpolates_net(sizes, seed):
    net = random_net(sizes, seed)
    joints, knots = capacity.linear_pieces_1d(net, -3, 3)
    assert knots[0] == -3 and knots[-1] == 3 and torch.all(torch.diff(knots) > 0)
    xs = torch.linspace(-3, 3, 20_001, dtype=torch.float64)
    with torch.no_grad():
        exact = net(xs[:, None])
        at_knots = net(knots[:, None])
    for k in range(exact.shape[1]):
        interp = torch.from_numpy(np.interp(xs.numpy(), knots.numpy(), at_knots[:, k].numpy()))
        torch.testing.assert_close(interp, exact[:, k], atol=1e-9, rtol=0)
    if exact.shape[1] == 1:
        assert len(joints) == dense_joint_count(net, -3, 3)


@pytest.mark.parametrize("seed", range(5))
def test_linear_pieces_shallow_formula(seed):
    """Uma camada: as junções são os -b/w dentro do intervalo com peso de saída não nulo."""
    net = random_net((1, 6, 1), seed)
    w, b = net[0].weight[:, 0].detach(), net[0].bias.detach()
    expected = torch.sort(-b / w).values
    expected = expected[(expected > -2) & (expected < 2)]
    joints, _ = capacity.linear_pieces_1d(net, -2, 2)
    torch.testing.assert_close(joints, expected)
    assert len(joints) <= 6


def test_linear_pieces_composition():
    net = nn.Sequential(nn.Linear(1, 3), nn.ReLU(), nn.Linear(3, 1)).double()
    with torch.no_grad():
        net[0].weight.fill_(1.0)
        net[0].bias.copy_(torch.tensor([0.0, -1 / 3, -2 / 3]))
        net[2].weight.copy_(torch.tensor([[3.0, -6.0, 6.0]]))
        net[2].bias.zero_()
    assert len(capacity.linear_pieces_1d(net, 0, 1)[0]) == 2
    assert len(capacity.linear_pieces_1d(net, -1, 2)[0]) == 3
    composed = nn.Sequential(*net, *net)
    joints, _ = capacity.linear_pieces_1d(composed, 0, 1)
    torch.testing.assert_close(joints, torch.arange(1, 9, dtype=torch.float64) / 9)


def test_linear_pieces_deterministic_and_errors():
    a = capacity.linear_pieces_1d(random_net((1, 8, 8, 1), seed=7), -1, 1)[0]
    b = capacity.linear_pieces_1d(random_net((1, 8, 8, 1), seed=7), -1, 1)[0]
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="entrada escalar"):
        capacity.linear_pieces_1d(random_net((2, 3, 1), seed=0), -1, 1)
    with pytest.raises(ValueError, match="início < fim"):
        capacity.linear_pieces_1d(random_net((1, 3, 1), seed=0), 1, -1)


# --------------------------------------------------------------------------- 2-D


def test_activation_regions_2d_three_lines():
    angles = torch.tensor([90.0, 210.0, 330.0], dtype=torch.float64).deg2rad()
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)).double()
    with torch.no_grad():
        net[0].weight.copy_(torch.stack([angles.cos(), angles.sin()], dim=1))
        net[0].bias.fill_(0.4)
    labels, count, xs, ys = capacity.activation_regions_2d(net, num=200)
    assert count == 7 and labels.shape == (200, 200)
    assert labels.min() == 0 and labels.max() == count - 1
    assert xs.shape == ys.shape == (200,)


@pytest.mark.parametrize("K", [1, 2, 4, 6])
def test_activation_regions_2d_bound_and_patterns(K):
    net = random_net((2, K, 1), seed=K)
    labels, count, xs, ys = capacity.activation_regions_2d(net, xlim=(-5, 5), ylim=(-5, 5), num=150)
    assert count <= 1 + K + K * (K - 1) // 2
    # pontos com o mesmo rótulo têm o mesmo padrão, e rótulos diferentes, padrões diferentes
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    patterns = capacity.activation_patterns(net, torch.stack([gx.reshape(-1), gy.reshape(-1)], 1))
    flat = labels.reshape(-1)
    distinct = {tuple(p.tolist()) for p in torch.unique(patterns, dim=0)}
    assert len(distinct) == count
    for lab in range(count):
        rows = patterns[flat == lab]
        assert torch.all(rows == rows[0])


def test_activation_regions_2d_errors():
    with pytest.raises(ValueError, match="duas entradas"):
        capacity.activation_regions_2d(random_net((1, 3, 1), seed=0))
    with pytest.raises(ValueError, match="num"):
        capacity.activation_regions_2d(random_net((2, 3, 1), seed=0), num=1)
    with pytest.raises(ValueError, match="xlim deve ter início < fim"):
        capacity.activation_regions_2d(random_net((2, 3, 1), seed=0), xlim=(1, -1))


# --------------------------------------------------------------------------- parada antecipada


def test_early_stopping_best_epoch_and_restore():
    net = nn.Linear(1, 1)
    stopper = capacity.EarlyStopping(patience=3)
    losses = [5.0, 4.0, 3.0, 3.5, 2.9, 3.1, 3.2, 3.3, 1.0]
    stopped_at = None
    for epoch, loss in enumerate(losses, start=1):
        with torch.no_grad():
            net.weight.fill_(float(epoch))
        if stopper.step(epoch, loss, net):
            stopped_at = epoch
            break
    assert stopped_at == 8 and stopper.best_epoch == 5 and stopper.best_loss == 2.9
    stopper.restore(net)
    assert net.weight.item() == 5.0


def test_early_stopping_min_delta_and_errors():
    net = nn.Linear(1, 1)
    stopper = capacity.EarlyStopping(patience=2, min_delta=0.5)
    assert not stopper.step(1, 1.0, net)
    assert not stopper.step(2, 0.8, net)  # melhora menor que min_delta não conta
    assert stopper.step(3, 0.7, net)
    assert stopper.best_epoch == 1
    with pytest.raises(ValueError, match="patience"):
        capacity.EarlyStopping(patience=0)
    with pytest.raises(ValueError, match="min_delta"):
        capacity.EarlyStopping(min_delta=-1)
    with pytest.raises(ValueError, match="val_loss deve ser um número finito"):
        capacity.EarlyStopping().step(1, float("nan"), net)
    with pytest.raises(RuntimeError, match="nenhuma época"):
        capacity.EarlyStopping().restore(net)


def _toy_data(seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(12, 1, generator=g, dtype=torch.float64) * 2 - 1
    y = torch.sin(3 * X) + 0.3 * torch.randn(12, 1, generator=g, dtype=torch.float64)
    Xv = torch.rand(100, 1, generator=g, dtype=torch.float64) * 2 - 1
    return X, y, Xv, torch.sin(3 * Xv)


def _mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(1, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1)).double()


def test_fit_regression_matches_manual_loop_and_is_deterministic():
    X, y, Xv, yv = _toy_data()
    net, hist = capacity.fit_regression(_mlp(), X, y, Xv, yv, lr=1e-2, num_epochs=50)
    manual = _mlp()
    opt = torch.optim.Adam(manual.parameters(), lr=1e-2)
    for _ in range(50):
        loss = nn.functional.mse_loss(manual(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    for p, q in zip(net.parameters(), manual.parameters()):
        torch.testing.assert_close(p, q)
    _, hist2 = capacity.fit_regression(_mlp(), X, y, Xv, yv, lr=1e-2, num_epochs=50)
    assert hist == hist2
    assert len(hist["train_loss"]) == 50 and hist["stopped_epoch"] == 50
    assert hist["best_epoch"] == int(np.argmin(hist["val_loss"])) + 1


def test_fit_regression_early_stopping_restores_best():
    X, y, Xv, yv = _toy_data(1)
    threads = torch.get_num_threads()
    _, full = capacity.fit_regression(_mlp(1), X, y, Xv, yv, lr=2e-2, num_epochs=600)
    net, hist = capacity.fit_regression(_mlp(1), X, y, Xv, yv, lr=2e-2, num_epochs=600, patience=20)
    assert torch.get_num_threads() == threads
    stopped, best = hist["stopped_epoch"], hist["best_epoch"]
    assert stopped < 600 and stopped == best + 20
    np.testing.assert_allclose(hist["val_loss"], full["val_loss"][:stopped], rtol=1e-12)
    with torch.no_grad():
        val = nn.functional.mse_loss(net(Xv), yv).item()
    assert val == pytest.approx(hist["val_loss"][best - 1], rel=1e-12)


def test_fit_regression_errors():
    X, y, Xv, yv = _toy_data()
    with pytest.raises(TypeError, match="tensor"):
        capacity.fit_regression(_mlp(), X.numpy(), y, Xv, yv)
    with pytest.raises(ValueError, match="mesmo número"):
        capacity.fit_regression(_mlp(), X, y[:5], Xv, yv)
    with pytest.raises(ValueError, match="num_epochs"):
        capacity.fit_regression(_mlp(), X, y, Xv, yv, num_epochs=0)
    with pytest.raises(ValueError, match="num_threads"):
        capacity.fit_regression(_mlp(), X, y, Xv, yv, num_threads=0)
