"""Difusão para imagens: agendas de ruído, os amostradores DDPM e DDIM, o treino e as métricas.

O processo direto leva uma imagem ``x0`` (pixels em ``[-1, 1]``) ao ruído puro
em ``T`` passos; seu atalho fechado é ``x_t = √ᾱ_t·x0 + √(1-ᾱ_t)·ε``. A rede
(:mod:`livro.unet`) aprende a prever ``ε`` a partir de ``(x_t, t, classe)``; os
amostradores percorrem o caminho de volta. Os passos seguem as convenções dos
``DDPMScheduler`` e ``DDIMScheduler`` do ``diffusers`` (espaçamento "leading",
``x0`` previsto recortado em ``[-1, 1]``), para que possam ser conferidos contra
eles. O treino guarda os pesos no cache de modelos (:mod:`livro.cache`); as
métricas das amostras moram em :mod:`livro.sample_quality`.
"""

import math
import time
import warnings

import torch
import torch.nn.functional as F

from . import _check, train
from . import cache as model_cache
from . import device as devices

__all__ = ["Schedule", "make_schedule", "q_sample", "timesteps", "ddpm_step", "ddim_step",
           "fit_denoiser", "guided_eps", "sample",
           "reference_schedulers"]

KINDS = ("linear", "cosine")
SAMPLERS = ("ddpm", "ddim")


# --------------------------------------------------------------------------- o processo direto


class Schedule:
    """Agenda de ruído: ``betas`` (T,), ``alphas = 1 - betas`` e ``alpha_bar`` (produto acumulado)."""

    def __init__(self, betas):
        _check.tensor(betas, "betas", ndim=1, dtype="floating")
        if len(betas) < 2 or not bool(((betas > 0) & (betas < 1)).all()):
            raise ValueError(f"betas deve ter T ≥ 2 valores, todos em (0, 1); recebi {_check.describe(betas)}")
        self.betas = betas.float()
        self.alphas = 1.0 - self.betas
        self.alpha_bar = torch.cumprod(self.alphas, dim=0)
        self.T = len(betas)

    def snr(self):
        """Razão sinal-ruído de cada passo, ``ᾱ_t / (1 - ᾱ_t)``."""
        return self.alpha_bar / (1 - self.alpha_bar)


def make_schedule(kind="linear", T=1000, beta_start=1e-4, beta_end=0.02):
    """Agenda ``"linear"`` (betas igualmente espaçados) ou ``"cosine"`` (ᾱ por um cosseno, Nichol e Dhariwal)."""
    _check.choice(kind, "kind", KINDS)
    _check.integer(T, "T", minimum=2)
    if kind == "linear":
        _check.number(beta_start, "beta_start", minimum=0, maximum=1, strict=True)
        _check.number(beta_end, "beta_end", minimum=0, maximum=1, strict=True)
        return Schedule(torch.linspace(beta_start, beta_end, T, dtype=torch.float32))

    def f(u):  # ᾱ contínuo, com o deslocamento s = 0,008
        return math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2
    betas = [min(1 - f((i + 1) / T) / f(i / T), 0.999) for i in range(T)]
    return Schedule(torch.tensor(betas, dtype=torch.float32))


def _at(values, t, x):
    """``values[t]`` com forma ``(N, 1, 1, 1)``, pronto para multiplicar ``x`` (N, C, H, W)."""
    return values.to(x.device)[t.to(x.device)].view(-1, *([1] * (x.ndim - 1))).to(x.dtype)


def q_sample(x0, t, noise, schedule):
    """Amostra de ``q(x_t | x0)`` pelo atalho fechado: ``√ᾱ_t·x0 + √(1-ᾱ_t)·noise``.

    ``t``: inteiros ``(N,)`` em ``[0, T)``, um por imagem; ``noise`` com a forma de ``x0``.
    """
    _check.tensor(x0, "x0", dtype="floating", nonempty=True)
    _check.tensor(t, "t", ndim=1, dtype="integer")
    _check.tensor(noise, "noise", dtype="floating")
    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule deve ser uma diffusion.Schedule, recebi {_check.describe(schedule)}")
    if noise.shape != x0.shape:
        raise ValueError(f"noise deve ter a forma de x0 {tuple(x0.shape)}, recebi {tuple(noise.shape)}")
    if len(t) != len(x0):
        raise ValueError(f"t deve ter um passo por imagem ({len(x0)}), recebi {len(t)}")
    if int(t.min()) < 0 or int(t.max()) >= schedule.T:
        raise ValueError(f"t deve conter inteiros em [0, {schedule.T}), recebi de {int(t.min())} a {int(t.max())}")
    return _noisy(x0, t, noise, schedule)


def _noisy(x0, t, noise, schedule):
    ab = _at(schedule.alpha_bar, t, x0)
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise


# --------------------------------------------------------------------------- o treino


def denoising_loss(net, x0, y, schedule, gen, p_uncond):
    """Erro quadrático entre o ruído sorteado e o previsto, num lote de imagens limpas ``x0``.

    Sorteia com ``gen`` (na CPU) um passo ``t`` e um ruído por imagem; com
    probabilidade ``p_uncond`` troca o rótulo pelo "nenhum" (``net.num_classes``).
    """
    n, dev = len(x0), x0.device
    t = torch.randint(0, schedule.T, (n,), generator=gen).to(dev)
    noise = torch.randn(x0.shape, generator=gen).to(dev)
    drop = (torch.rand(n, generator=gen) < p_uncond).to(dev)
    y = torch.where(drop, torch.full_like(y, net.num_classes), y)
    return F.mse_loss(net(_noisy(x0, t, noise, schedule), t, y).float(), noise)


def _train_loop(net, X, y, schedule, cfg, p_uncond, dev, desc):
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    X, y = X.to(dev), y.to(dev)
    steps_per_epoch = math.ceil(len(X) / cfg.batch_size)
    opt, sched = train._optimizer(net, cfg, cfg.num_epochs * steps_per_epoch)
    scaler = torch.amp.GradScaler(dev.type, enabled=devices.needs_grad_scaler(dev, cfg.amp))
    history = {"train_loss": [], "seconds": []}
    bar = train.progress_bar(cfg.num_epochs * steps_per_epoch, desc)
    for _ in range(cfg.num_epochs):
        start, total = time.perf_counter(), torch.zeros((), device=dev)
        net.train()
        perm = torch.randperm(len(X), generator=gen).to(dev)
        for i in range(0, len(X), cfg.batch_size):
            idx = perm[i:i + cfg.batch_size]
            with devices.autocast(dev, cfg.amp):
                loss = denoising_loss(net, X[idx], y[idx], schedule, gen, p_uncond)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            if sched is not None:
                sched.step()
            total += loss.detach() * len(idx)  # acumulado no dispositivo: sem sincronizar a cada passo
            bar.update(1)
        history["train_loss"].append(float(total) / len(X))
        history["seconds"].append(time.perf_counter() - start)
        bar.set_postfix({"perda": f"{history['train_loss'][-1]:.3f}"})
    bar.close()
    return history


def fit_denoiser(net, X, y, schedule, cfg, p_uncond=0.1, cache=True, desc="difusão"):
    """Treina ``net`` a prever o ruído em ``(X, y)`` e devolve ``(net, history)``.

    ``X``: imagens ``(N, C, H, W)`` em ``[-1, 1]`` (ou latentes); ``y``: rótulos
    ``(N,)`` em ``[0, net.num_classes)``. Os pesos vão para o cache de
    :mod:`livro.cache`, sob uma chave que cobre rede, pesos iniciais, ``cfg``,
    dados, agenda, ``p_uncond`` e o código da perda e do laço.
    ``history['train_loss']``: perda média por época; ``history['cached']``.
    """
    if not isinstance(net, torch.nn.Module) or not hasattr(net, "num_classes"):
        raise TypeError(f"net deve ser uma livro.unet.UNet, recebi {_check.describe(net)}")
    if not isinstance(cfg, train.Config):
        raise TypeError(f"cfg deve ser um livro.train.Config, recebi {_check.describe(cfg)}")
    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule deve ser uma diffusion.Schedule, recebi {_check.describe(schedule)}")
    _check.tensor(X, "X", ndim=4, dtype="floating", layout="(N, C, H, W)", nonempty=True)
    _check.labels(y, net.num_classes)
    if y.ndim != 1 or len(X) != len(y):
        raise ValueError(f"y deve ter forma ({len(X)},), um rótulo por imagem de X; recebi {tuple(y.shape)}")
    p_uncond = _check.number(p_uncond, "p_uncond", minimum=0, maximum=1)
    if p_uncond == 1:
        raise ValueError("p_uncond deve ser < 1: com 1, a rede nunca veria um rótulo")
    _check.boolean(cache, "cache")
    dev = devices.get()
    net.to(dev)
    key = model_cache.key(net, cfg, (X, y, schedule.betas),
                          extra=(dev.type, p_uncond, denoising_loss, _train_loop))
    entry = model_cache.entry_path(key)
    if cache:
        history = model_cache.load(entry, net)  # confere tudo antes de mexer na rede
        if history is not None:
            print(f"{desc}: pesos carregados do cache (chave {key[:12]}…)")
            return net.eval(), {**history, "cached": True}
    history = _train_loop(net, X, y, schedule, cfg, p_uncond, dev, desc)
    net.eval()
    if cache:
        model_cache.save(entry, net, history)
    return net, {**history, "cached": False}


# --------------------------------------------------------------------------- os amostradores


def reference_schedulers():
    """As classes ``DDPMScheduler`` e ``DDIMScheduler`` do ``diffusers``, para conferir os passos daqui.

    Ao ser importado, o ``diffusers`` importa ``tqdm.auto``, que num kernel Jupyter
    sem ``ipywidgets`` emite um ``TqdmWarning`` ("IProgress not found") avisando
    que usará a barra de texto. Só esse aviso é filtrado, pela mensagem e pela
    categoria; qualquer outro continua visível.
    """
    from tqdm import TqdmWarning

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found", category=TqdmWarning)
        from diffusers import DDIMScheduler, DDPMScheduler
    return DDPMScheduler, DDIMScheduler


def timesteps(T, num_steps):
    """Passos visitados por um amostrador de ``num_steps`` passos, do mais ruidoso ao mais limpo.

    Espaçamento "leading" do ``diffusers``: ``k·(T // num_steps)`` para ``k`` de
    ``num_steps - 1`` até 0.
    """
    T = _check.integer(T, "T", minimum=2)
    num_steps = _check.integer(num_steps, "num_steps", minimum=1, maximum=T)
    return torch.arange(num_steps - 1, -1, -1) * (T // num_steps)


def _check_step(eps, t, t_prev, x_t, schedule):
    _check.tensor(x_t, "x_t", dtype="floating", nonempty=True)
    _check.tensor(eps, "eps", dtype="floating")
    if eps.shape != x_t.shape:
        raise ValueError(f"eps deve ter a forma de x_t {tuple(x_t.shape)}, recebi {tuple(eps.shape)}")
    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule deve ser uma diffusion.Schedule, recebi {_check.describe(schedule)}")
    t = _check.integer(t, "t", minimum=0, maximum=schedule.T - 1)
    t_prev = _check.integer(t_prev, "t_prev", minimum=-1, maximum=t - 1)
    ab = schedule.alpha_bar[t].to(x_t.device)
    ab_prev = schedule.alpha_bar[t_prev].to(x_t.device) if t_prev >= 0 else torch.ones((), device=x_t.device)
    return ab, ab_prev


def _x0_from_eps(x_t, eps, ab):
    return ((x_t - (1 - ab).sqrt() * eps) / ab.sqrt()).clamp(-1, 1)


def ddpm_step(eps, t, t_prev, x_t, noise, schedule):
    """Um passo ancestral do DDPM, de ``x_t`` a ``x_{t_prev}`` (``t_prev = -1``: a imagem final).

    Estima ``x0`` a partir do ruído previsto ``eps`` (recortado em ``[-1, 1]``),
    toma a média da posterior ``q(x_{t_prev} | x_t, x0)`` e soma ``σ·noise``, com
    a variância da posterior; no último passo não há ruído.
    """
    ab, ab_prev = _check_step(eps, t, t_prev, x_t, schedule)
    _check.tensor(noise, "noise", dtype="floating")
    if noise.shape != x_t.shape:
        raise ValueError(f"noise deve ter a forma de x_t {tuple(x_t.shape)}, recebi {tuple(noise.shape)}")
    beta = 1 - ab / ab_prev  # o beta efetivo do salto t -> t_prev
    x0 = _x0_from_eps(x_t, eps, ab)
    mean = (ab_prev.sqrt() * beta / (1 - ab)) * x0 + ((1 - beta).sqrt() * (1 - ab_prev) / (1 - ab)) * x_t
    if t_prev < 0:
        return mean
    var = ((1 - ab_prev) / (1 - ab) * beta).clamp_min(1e-20)
    return mean + var.sqrt() * noise.to(x_t.device)


def ddim_step(eps, t, t_prev, x_t, schedule, recompute_eps=True):
    """Um passo determinístico do DDIM (η = 0): ``√ᾱ_prev·x̂0 + √(1-ᾱ_prev)·ε̂``.

    ``x̂0`` sai de ``eps`` e é recortado em ``[-1, 1]``. Com ``recompute_eps``
    (o padrão), ``ε̂`` é recalculado a partir do ``x̂0`` recortado, e o passo
    continua coerente: ``x_t = √ᾱ_t·x̂0 + √(1-ᾱ_t)·ε̂`` vale exatamente. Com
    ``recompute_eps=False``, ``ε̂ = eps``, como no padrão do ``DDIMScheduler``
    do ``diffusers`` (``use_clipped_model_output=False``): a imagem recortada e
    o ruído original não descrevem mais o mesmo ``x_t``.
    """
    ab, ab_prev = _check_step(eps, t, t_prev, x_t, schedule)
    _check.boolean(recompute_eps, "recompute_eps")
    x0 = _x0_from_eps(x_t, eps, ab)
    if recompute_eps:
        eps = (x_t - ab.sqrt() * x0) / (1 - ab).sqrt()
    return ab_prev.sqrt() * x0 + (1 - ab_prev).sqrt() * eps


# --------------------------------------------------------------------------- amostragem


def guided_eps(net, x, t, y, w):
    """Ruído previsto com orientação sem classificador: ``ε_c + w·(ε_c - ε_∅)``.

    ``w = 0`` é o modelo condicional puro; as duas previsões saem de um só lote.
    """
    w = _check.number(w, "w", minimum=0)
    tt = torch.full((len(x),), int(t), device=x.device, dtype=torch.long)
    if w == 0:
        return net(x, tt, y).float()
    null = torch.full_like(y, net.num_classes)
    eps_c, eps_u = net(torch.cat([x, x]), torch.cat([tt, tt]), torch.cat([y, null])).float().chunk(2)
    return eps_c + w * (eps_c - eps_u)


@torch.no_grad()
def sample(net, y, schedule, sampler="ddim", num_steps=20, w=0.0, generator=None, steps=None, x_T=None,
           size=28, amp="auto", recompute_eps=True):
    """Gera uma imagem por rótulo de ``y`` (N,) e devolve ``(N, C, size, size)`` na CPU.

    ``sampler``: ``"ddim"`` (determinístico) ou ``"ddpm"`` (ancestral);
    ``steps`` substitui a lista de :func:`timesteps` por outra, estritamente
    decrescente; ``x_T`` é o ruído inicial (senão, sorteado com ``generator``);
    ``recompute_eps`` vai para :func:`ddim_step` (só vale para o DDIM).
    """
    _check.choice(sampler, "sampler", SAMPLERS)
    _check.boolean(recompute_eps, "recompute_eps")
    if sampler == "ddpm" and not recompute_eps:
        raise ValueError("recompute_eps=False só existe no DDIM; o passo do DDPM usa x̂0 recortado e x_t, sem ε")
    if not isinstance(net, torch.nn.Module) or not hasattr(net, "num_classes"):
        raise TypeError(f"net deve ser uma livro.unet.UNet, recebi {_check.describe(net)}")
    _check.tensor(y, "y", ndim=1, nonempty=True)
    _check.labels(y, net.num_classes)
    w = _check.number(w, "w", minimum=0)
    _check.generator(generator, allow_none=True)
    size = _check.positive_int(size, "size")
    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule deve ser uma diffusion.Schedule, recebi {_check.describe(schedule)}")
    if steps is None:
        steps = timesteps(schedule.T, num_steps)
    else:
        steps = torch.as_tensor(steps)
        if steps.ndim != 1 or len(steps) == 0 or steps.is_floating_point():
            raise ValueError(f"steps deve ser uma lista não vazia de inteiros, recebi {_check.describe(steps)}")
        if int(steps.min()) < 0 or int(steps.max()) >= schedule.T or not bool((steps[1:] < steps[:-1]).all()):
            raise ValueError(f"steps deve ser estritamente decrescente, com valores em [0, {schedule.T})")
    gen = generator or torch.Generator().manual_seed(0)
    if x_T is None:
        x_T = torch.randn((len(y), net.in_channels, size, size), generator=gen)
    _check.tensor(x_T, "x_T", ndim=4, dtype="floating")
    if len(x_T) != len(y):
        raise ValueError(f"x_T deve ter uma imagem por rótulo ({len(y)}), recebi {len(x_T)}")
    dev = devices.of(net)
    was_training = net.training
    net.eval()
    x, y = x_T.to(dev), y.to(dev)
    for k, t in enumerate(steps.tolist()):
        t_prev = int(steps[k + 1]) if k + 1 < len(steps) else -1
        with devices.autocast(dev, amp):
            eps = guided_eps(net, x, t, y, w)
        if sampler == "ddim":
            x = ddim_step(eps, t, t_prev, x.float(), schedule, recompute_eps)
        else:
            x = ddpm_step(eps, t, t_prev, x.float(), torch.randn(x.shape, generator=gen), schedule)
    net.train(was_training)
    return x.cpu()
