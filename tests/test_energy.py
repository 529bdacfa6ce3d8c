"""Testes de ``livro.energy``: formas, SGLD contra a descida do gradiente e a variância exata, treino."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from livro import energy


@pytest.mark.parametrize("shape, hidden, depth", [((2,), 8, 1), ((64,), 16, 2), ((1, 8, 8), 4, 3)])
def test_energy_mlp_shapes(shape, hidden, depth):
    in_features = math.prod(shape)
    net = energy.EnergyMLP(in_features, hidden, depth)
    assert net(torch.randn(5, *shape)).shape == (5,)
    assert sum(isinstance(m, torch.nn.Linear) for m in net.modules()) == depth + 1


def test_two_gaussians_and_exact_density():
    gen = torch.Generator().manual_seed(0)
    X = energy.two_gaussians(4000, gen)
    assert X.shape == (4000, 2) and X.dtype == torch.float32
    torch.testing.assert_close(X[:2000].mean(0), torch.tensor([2.5, 2.5]), atol=0.1, rtol=0)
    torch.testing.assert_close(X[2000:].mean(0), torch.tensor([-2.5, -2.5]), atol=0.1, rtol=0)
    # a densidade exata integra 1: log Z de E = −log p é zero
    log_z = energy.log_partition_2d(lambda x: -energy.two_gaussians_log_density(x), lim=9.0, num=301)
    assert abs(log_z) < 1e-4
    same = energy.two_gaussians(4000, torch.Generator().manual_seed(0))
    assert torch.equal(X, same)


def test_log_partition_of_gaussian_energy():
    log_z = energy.log_partition_2d(lambda x: 0.5 * (x**2).sum(1), lim=8.0, num=301)
    assert log_z == pytest.approx(math.log(2 * math.pi), abs=1e-5)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 6), d=st.integers(1, 4), steps=st.integers(0, 5), eps=st.floats(1e-3, 0.5),
       seed=st.integers(0, 1000))
def test_sgld_without_noise_is_gradient_descent(n, d, steps, eps, seed):
    torch.manual_seed(seed)
    net = energy.EnergyMLP(d, 8, 2).double()
    x = torch.randn(n, d, dtype=torch.float64)
    ours = energy.sgld(net, x, steps, eps, noise_scale=0.0)
    assert all(p.grad is None for p in net.parameters())  # a cadeia não mexe no gradiente da rede
    y = x.clone().requires_grad_(True)
    opt = torch.optim.SGD([y], lr=eps / 2)
    for _ in range(steps):
        opt.zero_grad()
        net(y).sum().backward()
        opt.step()
    torch.testing.assert_close(ours, y.detach())


def test_sgld_stationary_variance_of_a_gaussian():
    """Para E = x²/2, o passo x ← (1 − ε/2)x + √ε ξ tem variância estacionária 1/(1 − ε/4)."""
    torch.manual_seed(0)
    eps = 0.5
    x = energy.sgld(lambda x: 0.5 * (x**2).sum(1), torch.zeros(20000, 1), 100, eps)
    assert float(x.var()) == pytest.approx(1 / (1 - eps / 4), rel=0.04)
    assert abs(float(x.mean())) < 0.03


def test_sgld_same_seed_same_output_and_bounds():
    net = energy.EnergyMLP(3, 8, 1)
    x = torch.randn(10, 3)
    torch.manual_seed(1)
    a = energy.sgld(net, x, 5, 0.3, bounds=(-0.5, 0.5))
    torch.manual_seed(1)
    b = energy.sgld(net, x, 5, 0.3, bounds=(-0.5, 0.5))
    assert torch.equal(a, b) and a.abs().max() <= 0.5 and not a.requires_grad


@pytest.mark.parametrize("chains", ["persistent", "fresh", "data"])
def test_train_ebm_deterministic_and_cached(chains, tmp_path, monkeypatch):
    monkeypatch.setenv("LIVRO_CACHE_MODELOS", str(tmp_path))
    X = energy.two_gaussians(200, torch.Generator().manual_seed(0))
    cfg = energy.EBMConfig(num_steps=6, batch_size=16, sgld_steps=3, buffer_size=32, chains=chains)
    probe = torch.zeros(4, 2)
    runs = []
    for cache in (False, True, True):
        torch.manual_seed(0)
        runs.append(energy.train_ebm(energy.EnergyMLP(2, 8, 1), X, cfg, probe=probe, probe_every=3,
                                     cache=cache))
    (n1, h1, c1), (n2, h2, c2), (n3, h3, c3) = runs
    assert h1["loss"] == h2["loss"] == h3["loss"] and len(h1["loss"]) == 6
    assert h1["probe_steps"] == [0, 3, 6] and len(h1["probe_energy"][0]) == 4
    assert not h2["cached"] and h3["cached"]
    assert c1.shape == ((32, 2) if chains == "persistent" else (16, 2))
    assert torch.equal(c1, c3)
    for a, b in zip(n1.parameters(), n3.parameters()):
        torch.testing.assert_close(a.cpu(), b.cpu())


def test_bad_input():
    net = energy.EnergyMLP(2, 4, 1)
    x = torch.zeros(3, 2)
    with pytest.raises(TypeError, match="inteiro"):
        energy.EnergyMLP(2.0)
    with pytest.raises(TypeError, match="generator"):
        energy.two_gaussians(10, 0)
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        energy.two_gaussians_log_density(torch.zeros(3, 3))
    with pytest.raises(TypeError, match="energy"):
        energy.sgld(3, x, 1, 0.1)
    with pytest.raises(TypeError, match="ponto flutuante"):
        energy.sgld(net, x.long(), 1, 0.1)
    with pytest.raises(ValueError, match="forma"):
        energy.sgld(net, torch.zeros(3), 1, 0.1)
    with pytest.raises(ValueError, match="num_steps"):
        energy.sgld(net, x, -1, 0.1)
    with pytest.raises(ValueError, match="step_size"):
        energy.sgld(net, x, 1, float("inf"))
    with pytest.raises(TypeError, match="step_size"):
        energy.sgld(net, x, 1, True)
    with pytest.raises(ValueError, match="bounds"):
        energy.sgld(net, x, 1, 0.1, bounds=(1, 0))
    with pytest.raises(ValueError, match="chains"):
        energy.EBMConfig(chains="aleatoria")
    with pytest.raises(ValueError, match="reinit_prob"):
        energy.EBMConfig(reinit_prob=2)
    with pytest.raises(TypeError, match="sgld_steps"):
        energy.EBMConfig(sgld_steps=2.5)
    with pytest.raises(TypeError, match="cfg"):
        energy.train_ebm(net, x, cfg={})
    with pytest.raises(ValueError, match="X"):
        energy.train_ebm(net, torch.zeros(0, 2))
    with pytest.raises(ValueError, match="probe"):
        energy.train_ebm(net, x, probe=torch.zeros(3, 5))
    with pytest.raises(ValueError, match="lim"):
        energy.log_partition_2d(net, lim=-1.0)
