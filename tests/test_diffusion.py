import numpy as np
import pytest
import scipy.linalg
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from livro import diffusion, sample_quality, train, unet

diffusers = pytest.importorskip("diffusers")

BETA_NAMES = {"linear": "linear", "cosine": "squaredcos_cap_v2"}
DDIM_200 = diffusers.DDIMScheduler(num_train_timesteps=200)
DDPM_200 = diffusers.DDPMScheduler(num_train_timesteps=200, beta_schedule="squaredcos_cap_v2")
DDPM_1000 = diffusers.DDPMScheduler(num_train_timesteps=1000)


def _walk(step_mine, step_ref, schedule, num_steps, shape, seed):
    """Percorre a cadeia com o mesmo ε nos dois lados, partindo a cada passo do mesmo estado."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=gen)
    steps = diffusion.timesteps(schedule.T, num_steps)
    for k, t in enumerate(steps.tolist()):
        t_prev = int(steps[k + 1]) if k + 1 < len(steps) else -1
        eps = torch.randn(shape, generator=gen)
        mine = step_mine(eps, t, t_prev, x, k)
        ref = step_ref(eps, t, x, k)
        torch.testing.assert_close(mine, ref)
        x = mine


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_schedule_matches_diffusers(kind):
    s = diffusion.make_schedule(kind, 1000)
    ref = diffusers.DDPMScheduler(num_train_timesteps=1000, beta_schedule=BETA_NAMES[kind])
    torch.testing.assert_close(s.betas, ref.betas)
    torch.testing.assert_close(s.alpha_bar, ref.alphas_cumprod)
    assert bool((s.snr()[1:] < s.snr()[:-1]).all())


@pytest.mark.parametrize("kind", ["linear", "cosine"])
@pytest.mark.parametrize("num_steps", [250, 7])
def test_ddpm_step_for_step(kind, num_steps):
    s = diffusion.make_schedule(kind, 1000)
    ref = diffusers.DDPMScheduler(num_train_timesteps=1000, beta_schedule=BETA_NAMES[kind])
    ref.set_timesteps(num_steps)
    assert torch.equal(ref.timesteps, diffusion.timesteps(1000, num_steps))
    shape = (2, 1, 5, 6)

    def mine(eps, t, t_prev, x, k):
        noise = torch.randn(shape, generator=torch.Generator().manual_seed(k))
        return diffusion.ddpm_step(eps, t, t_prev, x, noise, s)

    def theirs(eps, t, x, k):
        return ref.step(eps, t, x, generator=torch.Generator().manual_seed(k)).prev_sample

    _walk(mine, theirs, s, num_steps, shape, seed=num_steps)


@pytest.mark.parametrize("kind", ["linear", "cosine"])
@pytest.mark.parametrize("num_steps", [250, 3])
@pytest.mark.parametrize("recompute", [True, False])
def test_ddim_step_for_step(kind, num_steps, recompute):
    s = diffusion.make_schedule(kind, 1000)
    ref = diffusers.DDIMScheduler(num_train_timesteps=1000, beta_schedule=BETA_NAMES[kind])
    ref.set_timesteps(num_steps)
    assert torch.equal(ref.timesteps, diffusion.timesteps(1000, num_steps))
    _walk(lambda eps, t, t_prev, x, k: diffusion.ddim_step(eps, t, t_prev, x, s, recompute_eps=recompute),
          lambda eps, t, x, k: ref.step(eps, t, x, use_clipped_model_output=recompute).prev_sample,
          s, num_steps, (3, 2, 4, 4), seed=1)


def test_ddim_recompute_keeps_the_state_coherent():
    """Com ε recalculado, x_t = √ᾱ·x̂0 + √(1-ᾱ)·ε̂ vale mesmo quando x̂0 é recortado; sem, não vale."""
    s = diffusion.make_schedule("linear", 1000)
    gen = torch.Generator().manual_seed(3)
    x, eps = torch.randn(4, 1, 6, 6, generator=gen), 3 * torch.randn(4, 1, 6, 6, generator=gen)
    t = 900
    ab = s.alpha_bar[t]
    assert bool(((x - (1 - ab).sqrt() * eps) / ab.sqrt()).abs().gt(1).any())  # o recorte age aqui
    same, plain = (diffusion.ddim_step(eps, t, 400, x, s, recompute_eps=r) for r in (True, False))
    x0 = ((x - (1 - ab).sqrt() * eps) / ab.sqrt()).clamp(-1, 1)
    eps_hat = (x - ab.sqrt() * x0) / (1 - ab).sqrt()
    torch.testing.assert_close(ab.sqrt() * x0 + (1 - ab).sqrt() * eps_hat, x)  # o par (x̂0, ε̂) refaz x_t
    assert not torch.allclose(ab.sqrt() * x0 + (1 - ab).sqrt() * eps, x)  # o par (x̂0, eps) não refaz
    abp = s.alpha_bar[400]
    torch.testing.assert_close(same, abp.sqrt() * x0 + (1 - abp).sqrt() * eps_hat)
    torch.testing.assert_close(plain, abp.sqrt() * x0 + (1 - abp).sqrt() * eps)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 4), c=st.integers(1, 3), h=st.integers(1, 6), seed=st.integers(0, 10_000),
       num_steps=st.integers(1, 40))
def test_ddim_hypothesis(n, c, h, seed, num_steps):
    s = diffusion.make_schedule("linear", 200)
    ref = DDIM_200
    ref.set_timesteps(num_steps)
    steps = diffusion.timesteps(200, num_steps)
    assert torch.equal(ref.timesteps, steps)
    gen = torch.Generator().manual_seed(seed)
    x, eps = torch.randn(n, c, h, h, generator=gen), torch.randn(n, c, h, h, generator=gen)
    k = int(torch.randint(0, num_steps, (1,), generator=gen))
    t_prev = int(steps[k + 1]) if k + 1 < num_steps else -1
    torch.testing.assert_close(diffusion.ddim_step(eps, int(steps[k]), t_prev, x, s),
                               ref.step(eps, int(steps[k]), x, use_clipped_model_output=True).prev_sample)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 4), h=st.integers(1, 6), seed=st.integers(0, 10_000), num_steps=st.integers(1, 40))
def test_ddpm_hypothesis(n, h, seed, num_steps):
    s = diffusion.make_schedule("cosine", 200)
    ref = DDPM_200
    ref.set_timesteps(num_steps)
    steps = diffusion.timesteps(200, num_steps)
    gen = torch.Generator().manual_seed(seed)
    x, eps = torch.randn(n, 1, h, h, generator=gen), torch.randn(n, 1, h, h, generator=gen)
    k = int(torch.randint(0, num_steps, (1,), generator=gen))
    t_prev = int(steps[k + 1]) if k + 1 < num_steps else -1
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))
    expected = ref.step(eps, int(steps[k]), x, generator=torch.Generator().manual_seed(seed)).prev_sample
    torch.testing.assert_close(diffusion.ddpm_step(eps, int(steps[k]), t_prev, x, noise, s), expected)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 5), seed=st.integers(0, 10_000))
def test_q_sample_matches_add_noise(n, seed):
    s = diffusion.make_schedule("linear", 1000)
    ref = DDPM_1000
    gen = torch.Generator().manual_seed(seed)
    x0, noise = torch.randn(n, 1, 4, 4, generator=gen), torch.randn(n, 1, 4, 4, generator=gen)
    t = torch.randint(0, 1000, (n,), generator=gen)
    torch.testing.assert_close(diffusion.q_sample(x0, t, noise, s), ref.add_noise(x0, noise, t))


def _frechet_scipy(a, b):
    a, b = a.double().numpy(), b.double().numpy()
    mu = a.mean(0) - b.mean(0)
    ca, cb = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    root = scipy.linalg.sqrtm(ca @ cb)
    return float(mu @ mu + np.trace(ca + cb - 2 * np.real(root)))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(20, 60), d=st.integers(1, 8), shift=st.floats(-2, 2), seed=st.integers(0, 10_000))
def test_frechet_matches_scipy(n, d, shift, seed):
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(n, d, generator=gen) @ torch.randn(d, d, generator=gen)
    b = torch.randn(n + 5, d, generator=gen) * 1.5 + shift
    assert sample_quality.frechet_distance(a, b) == pytest.approx(_frechet_scipy(a, b), rel=1e-5, abs=1e-6)


def test_frechet_of_identical_sets_is_zero():
    a = torch.randn(200, 5)
    assert abs(sample_quality.frechet_distance(a, a)) < 1e-8


def test_diversity():
    feats = torch.tensor([[0.0, 0.0], [3.0, 4.0], [1.0, 1.0], [1.0, 1.0]])
    labels = torch.tensor([0, 0, 1, 1])
    assert sample_quality.diversity(feats, labels) == pytest.approx(2.5)


@pytest.mark.parametrize("channels,in_channels,size,patch",
                         [((16, 32, 64), 1, 16, 1), ((8, 16), 1, 12, 1), ((32, 64), 4, 7, 1), ((8, 16), 1, 28, 2)])
def test_unet_shapes(channels, in_channels, size, patch):
    net = unet.UNet(in_channels=in_channels, channels=channels, patch=patch)
    x = torch.randn(3, in_channels, size, size)
    out = net(x, torch.tensor([0, 10, 999]), torch.tensor([0, 9, 10]))
    assert out.shape == x.shape


def test_unet_up_path_convolves_at_low_resolution():
    # o texto do cap. 13 diz que a convolução que ajusta os canais na subida roda antes de a
    # resolução dobrar: cada unpool recebe o mapa do nível de baixo e entrega as larguras do de cima
    net = unet.UNet(channels=(8, 16, 32))
    seen = []
    hooks = [m.register_forward_hook(lambda m, inp, out: seen.append((tuple(inp[0].shape), tuple(out.shape))))
             for m in net.unpool]
    net(torch.randn(2, 1, 16, 16), torch.tensor([0, 999]), torch.tensor([0, 10]))
    for h in hooks:
        h.remove()
    assert [m.kernel_size for m in net.unpool] == [(1, 1), (1, 1)]
    assert sorted(seen) == [((2, 16, 8, 8), (2, 8, 8, 8)), ((2, 32, 4, 4), (2, 16, 4, 4))]


def test_time_embedding():
    emb = unet.time_embedding(torch.tensor([0, 5]), 8)
    assert emb.shape == (2, 8)
    torch.testing.assert_close(emb[0], torch.cat([torch.zeros(4), torch.ones(4)]))


def test_autoencoder_shapes():
    ae = unet.Autoencoder(latent_channels=4)
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    assert ae.encoder(x).shape == (2, 4, 7, 7) and ae(x).shape == x.shape


def test_sample_is_seeded_and_guided():
    torch.manual_seed(0)
    net = unet.UNet(channels=(8, 16), num_classes=3)
    s = diffusion.make_schedule("linear", 50)
    y = torch.tensor([0, 1, 2])
    kw = dict(num_steps=5, size=8)
    a = diffusion.sample(net, y, s, generator=torch.Generator().manual_seed(3), w=2.0, **kw)
    b = diffusion.sample(net, y, s, generator=torch.Generator().manual_seed(3), w=2.0, **kw)
    c = diffusion.sample(net, y, s, "ddpm", generator=torch.Generator().manual_seed(3), **kw)
    assert a.shape == (3, 1, 8, 8) and torch.equal(a, b) and not torch.equal(a, c)


def test_fit_denoiser_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("LIVRO_CACHE_MODELOS", str(tmp_path))
    s = diffusion.make_schedule("linear", 20)
    X, y = torch.rand(32, 1, 8, 8) * 2 - 1, torch.arange(32) % 3
    cfg = train.Config(num_epochs=1, batch_size=16, amp="off")
    torch.manual_seed(0)
    net, hist = diffusion.fit_denoiser(unet.UNet(channels=(8,), num_classes=3), X, y, s, cfg)
    torch.manual_seed(0)
    net2, hist2 = diffusion.fit_denoiser(unet.UNet(channels=(8,), num_classes=3), X, y, s, cfg)
    assert not hist["cached"] and hist2["cached"]
    for p, q in zip(net.parameters(), net2.parameters()):
        torch.testing.assert_close(p, q)


def test_reference_schedulers_are_diffusers():
    ddpm, ddim = diffusion.reference_schedulers()
    assert ddpm is diffusers.DDPMScheduler and ddim is diffusers.DDIMScheduler


def test_bad_inputs():
    s = diffusion.make_schedule("linear", 10)
    with pytest.raises(ValueError, match="kind deve ser uma de"):
        diffusion.make_schedule("quadratica")
    with pytest.raises(TypeError, match="T deve ser um número inteiro"):
        diffusion.make_schedule("linear", 10.0)
    with pytest.raises(ValueError, match="todos em"):
        diffusion.Schedule(torch.tensor([0.1, 1.5]))
    x = torch.zeros(2, 1, 4, 4)
    with pytest.raises(ValueError, match=r"t deve conter inteiros em \[0, 10\)"):
        diffusion.q_sample(x, torch.tensor([0, 10]), x, s)
    with pytest.raises(TypeError, match="t deve ser um tensor"):
        diffusion.q_sample(x, torch.tensor([0.0, 1.0]), x, s)
    with pytest.raises(ValueError, match="um passo por imagem"):
        diffusion.q_sample(x, torch.tensor([0]), x, s)
    with pytest.raises(ValueError, match="noise deve ter a forma"):
        diffusion.q_sample(x, torch.tensor([0, 1]), x[:1], s)
    with pytest.raises(TypeError, match="x0 deve ser um tensor"):
        diffusion.q_sample(np.zeros((2, 1, 4, 4)), torch.tensor([0, 1]), x, s)
    with pytest.raises(ValueError, match="num_steps deve ser um inteiro ≤ 10"):
        diffusion.timesteps(10, 11)
    with pytest.raises(TypeError, match="num_steps deve ser um número inteiro"):
        diffusion.timesteps(10, True)
    with pytest.raises(ValueError, match="t_prev deve ser um inteiro ≤ 2"):
        diffusion.ddim_step(x, 3, 5, x, s)
    with pytest.raises(ValueError, match="eps deve ter a forma"):
        diffusion.ddim_step(x[:1], 3, 1, x, s)
    with pytest.raises(ValueError, match="noise deve ter a forma"):
        diffusion.ddpm_step(x, 3, 1, x, x[:1], s)
    with pytest.raises(TypeError, match="recompute_eps deve ser True ou False"):
        diffusion.ddim_step(x, 3, 1, x, s, recompute_eps=1)
    with pytest.raises(ValueError, match="múltipla de 8"):
        unet.UNet(channels=(12,))
    with pytest.raises(ValueError, match="dim deve ser par"):
        unet.time_embedding(torch.tensor([1]), 5)
    net = unet.UNet(channels=(8,), num_classes=3)
    with pytest.raises(ValueError, match="x deve ter 1 canais"):
        net(torch.zeros(1, 2, 4, 4), torch.tensor([0]), torch.tensor([0]))
    with pytest.raises(ValueError, match="sampler deve ser uma de"):
        diffusion.sample(net, torch.tensor([0]), s, sampler="euler")
    with pytest.raises(ValueError, match="entre 0 e 2"):
        diffusion.sample(net, torch.tensor([3]), s)
    with pytest.raises(ValueError, match="w deve ser um número finito"):
        diffusion.sample(net, torch.tensor([0]), s, w=float("nan"))
    with pytest.raises(TypeError, match="w deve ser um número real"):
        diffusion.sample(net, torch.tensor([0]), s, w=True)
    with pytest.raises(ValueError, match="estritamente decrescente"):
        diffusion.sample(net, torch.tensor([0]), s, steps=[1, 5])
    with pytest.raises(ValueError, match="recompute_eps=False só existe no DDIM"):
        diffusion.sample(net, torch.tensor([0]), s, sampler="ddpm", recompute_eps=False)
    with pytest.raises(ValueError, match="mesma dimensão"):
        sample_quality.frechet_distance(torch.randn(5, 2), torch.randn(5, 3))
    with pytest.raises(ValueError, match="pelo menos 2 linhas"):
        sample_quality.frechet_distance(torch.randn(1, 2), torch.randn(5, 2))
    with pytest.raises(ValueError, match="não finitos"):
        sample_quality.frechet_distance(torch.full((3, 2), float("nan")), torch.randn(5, 2))
    with pytest.raises(ValueError, match="labels tem"):
        sample_quality.diversity(torch.randn(4, 2), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="p_uncond deve ser < 1"):
        diffusion.fit_denoiser(net, x, torch.tensor([0, 1]), s, train.Config(), p_uncond=1.0)
    with pytest.raises(ValueError, match="um rótulo por imagem"):
        diffusion.fit_denoiser(net, x, torch.tensor([0]), s, train.Config())
    with pytest.raises(TypeError, match="cfg deve ser"):
        diffusion.fit_denoiser(net, x, torch.tensor([0, 1]), s, {"lr": 1e-3})
