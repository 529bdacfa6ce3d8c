"""Difusão para imagens: agendas de ruído, a U-Net que prevê o ruído e os amostradores DDPM e DDIM.

O processo direto leva uma imagem ``x0`` (píxeis em ``[-1, 1]``) ao ruído puro
em ``T`` passos; seu atalho fechado é ``x_t = √ᾱ_t·x0 + √(1-ᾱ_t)·ε``. A rede
aprende a prever ``ε`` a partir de ``(x_t, t, classe)``; os amostradores
percorrem o caminho de volta. Os passos seguem as convenções dos
``DDPMScheduler`` e ``DDIMScheduler`` do ``diffusers`` (espaçamento
"leading", ``x0`` previsto recortado em ``[-1, 1]``), para que possam ser
conferidos contra eles. O treino tem cache por *hash* de conteúdo, como
:func:`livro.train.fit`. Inclui a distância de Fréchet entre dois conjuntos de
atributos e uma medida de diversidade.
"""

import json
import math
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from . import device as devices
from . import train

__all__ = ["Schedule", "make_schedule", "q_sample", "timesteps", "ddpm_step", "ddim_step",
           "UNet", "Autoencoder", "fit_denoiser", "guided_eps", "sample", "frechet_distance", "diversity"]

KINDS = ("linear", "cosine")
SAMPLERS = ("ddpm", "ddim")


def _check_int(value, name, low=1):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} deve ser um inteiro, recebi {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} deve ser ≥ {low}, recebi {value}")


def _check_number(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(f"{name} deve ser um número finito, recebi {value!r}")


def _check_tensor(x, name, ndim=None):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} deve ser um tensor do PyTorch, recebi {type(x).__name__}")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} deve ter {ndim} dimensões, recebi forma {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{name} está vazio")


# --------------------------------------------------------------------------- o processo direto


class Schedule:
    """Agenda de ruído: ``betas`` (T,), ``alphas = 1 - betas`` e ``alpha_bar`` (produto acumulado)."""

    def __init__(self, betas):
        _check_tensor(betas, "betas", ndim=1)
        if not bool(((betas > 0) & (betas < 1)).all()):
            raise ValueError("cada beta deve estar em (0, 1)")
        self.betas = betas.float()
        self.alphas = 1.0 - self.betas
        self.alpha_bar = torch.cumprod(self.alphas, dim=0)
        self.T = len(betas)

    def snr(self):
        """Razão sinal-ruído de cada passo, ``ᾱ_t / (1 - ᾱ_t)``."""
        return self.alpha_bar / (1 - self.alpha_bar)


def make_schedule(kind="linear", T=1000, beta_start=1e-4, beta_end=0.02):
    """Agenda ``"linear"`` (betas igualmente espaçados) ou ``"cosine"`` (Nichol e Dhariwal, 2021)."""
    _check_int(T, "T", low=2)
    if kind == "linear":
        return Schedule(torch.linspace(beta_start, beta_end, T, dtype=torch.float32))
    if kind == "cosine":
        def f(u):  # ᾱ contínuo, com o deslocamento s = 0,008
            return math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2
        betas = [min(1 - f((i + 1) / T) / f(i / T), 0.999) for i in range(T)]
        return Schedule(torch.tensor(betas, dtype=torch.float32))
    raise ValueError(f"agenda desconhecida: {kind!r}; use uma de {', '.join(KINDS)}")


def _at(values, t, x):
    """``values[t]`` com forma ``(N, 1, 1, 1)``, pronto para multiplicar ``x`` (N, C, H, W)."""
    return values.to(x.device)[t.to(x.device)].view(-1, *([1] * (x.ndim - 1))).to(x.dtype)


def q_sample(x0, t, noise, schedule):
    """Amostra de ``q(x_t | x0)`` pelo atalho fechado: ``√ᾱ_t·x0 + √(1-ᾱ_t)·noise``.

    ``t``: inteiros ``(N,)`` em ``[0, T)``, um por imagem; ``noise`` com a forma de ``x0``.
    """
    _check_tensor(x0, "x0")
    _check_tensor(t, "t", ndim=1)
    if noise.shape != x0.shape:
        raise ValueError(f"noise deve ter a forma de x0 {tuple(x0.shape)}, recebi {tuple(noise.shape)}")
    if len(t) != len(x0):
        raise ValueError(f"t deve ter um passo por imagem ({len(x0)}), recebi {len(t)}")
    if t.is_floating_point() or int(t.min()) < 0 or int(t.max()) >= schedule.T:
        raise ValueError(f"t deve conter inteiros em [0, {schedule.T})")
    ab = _at(schedule.alpha_bar, t, x0)
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise


# --------------------------------------------------------------------------- os amostradores


def timesteps(T, num_steps):
    """Passos visitados por um amostrador de ``num_steps`` passos, do mais ruidoso ao mais limpo.

    Espaçamento "leading" do ``diffusers``: ``k·(T // num_steps)`` para ``k`` de
    ``num_steps - 1`` até 0.
    """
    _check_int(T, "T", low=2)
    _check_int(num_steps, "num_steps")
    if num_steps > T:
        raise ValueError(f"num_steps deve ser ≤ T = {T}, recebi {num_steps}")
    return torch.arange(num_steps - 1, -1, -1) * (T // num_steps)


def _x0_from_eps(x_t, eps, ab):
    return ((x_t - (1 - ab).sqrt() * eps) / ab.sqrt()).clamp(-1, 1)


def ddpm_step(eps, t, t_prev, x_t, noise, schedule):
    """Um passo ancestral do DDPM, de ``x_t`` a ``x_{t_prev}`` (``t_prev = -1``: a imagem final).

    Estima ``x0`` a partir do ruído previsto (recortado em ``[-1, 1]``), toma a
    média da posterior ``q(x_{t_prev} | x_t, x0)`` e soma ``σ·noise`` com a
    variância da posterior ("fixed_small"); no último passo não há ruído.
    """
    ab = schedule.alpha_bar[t]
    ab_prev = schedule.alpha_bar[t_prev] if t_prev >= 0 else torch.tensor(1.0)
    beta = 1 - ab / ab_prev  # o beta efetivo do salto t -> t_prev
    x0 = _x0_from_eps(x_t, eps, ab)
    mean = (ab_prev.sqrt() * beta / (1 - ab)) * x0 + ((1 - beta).sqrt() * (1 - ab_prev) / (1 - ab)) * x_t
    if t_prev < 0:
        return mean
    var = ((1 - ab_prev) / (1 - ab) * beta).clamp_min(1e-20)
    return mean + var.sqrt() * noise


def ddim_step(eps, t, t_prev, x_t, schedule):
    """Um passo determinístico do DDIM (η = 0): ``√ᾱ_prev·x0 + √(1-ᾱ_prev)·ε``."""
    ab = schedule.alpha_bar[t]
    ab_prev = schedule.alpha_bar[t_prev] if t_prev >= 0 else torch.tensor(1.0)
    x0 = _x0_from_eps(x_t, eps, ab)
    return ab_prev.sqrt() * x0 + (1 - ab_prev).sqrt() * eps


# --------------------------------------------------------------------------- a rede


def time_embedding(t, dim):
    """Codificação senoidal do passo ``t`` (N,) em ``dim`` dimensões, como as posições do Transformer."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([args.sin(), args.cos()], dim=1)


class ResBlock(nn.Module):
    """Bloco residual com normalização de grupo; o vetor de condição ``emb`` soma-se aos canais."""

    def __init__(self, c_in, c_out, emb_dim):
        super().__init__()
        self.norm1 = nn.GroupNorm(8, c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2 = nn.GroupNorm(8, c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x, emb):  # (N, c_in, H, W), (N, emb_dim) -> (N, c_out, H, W)
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(emb)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class UNet(nn.Module):
    """U-Net pequena que prevê o ruído ``ε`` de ``x_t`` dado o passo ``t`` e a classe ``y``.

    Um nível por largura em ``channels``; entre níveis a resolução cai à metade
    (convolução de passo 2) e, na volta, dobra (convolução + vizinho mais próximo),
    com a saída de cada nível da descida concatenada à subida. A classe
    ``num_classes`` é o rótulo "nenhum", usado na orientação sem classificador.
    """

    def __init__(self, in_channels=1, channels=(16, 32, 64), num_classes=10, emb_dim=128):
        super().__init__()
        channels = tuple(channels)
        if not channels:
            raise ValueError("channels não pode ser vazio")
        for c in channels:
            _check_int(c, "cada largura em channels")
            if c % 8:
                raise ValueError(f"cada largura deve ser múltipla de 8 (GroupNorm), recebi {c}")
        _check_int(in_channels, "in_channels")
        _check_int(num_classes, "num_classes")
        self.num_classes = num_classes
        self.stem = nn.Conv2d(in_channels, channels[0], 3, padding=1)
        self.time_mlp = nn.Sequential(nn.Linear(channels[0], emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.label_emb = nn.Embedding(num_classes + 1, emb_dim)
        prev = (channels[0],) + channels[:-1]
        self.down = nn.ModuleList(ResBlock(a, b, emb_dim) for a, b in zip(prev, channels))
        self.pool = nn.ModuleList(nn.Conv2d(c, c, 3, stride=2, padding=1) for c in channels[:-1])
        self.mid = ResBlock(channels[-1], channels[-1], emb_dim)
        self.unpool = nn.ModuleList(nn.Conv2d(c, c, 3, padding=1) for c in channels[1:])
        ups = [channels[-1]] + list(channels[:0:-1])  # largura que chega a cada nível, do fundo
        self.up = nn.ModuleList(ResBlock(u + c, c, emb_dim) for u, c in zip(ups, channels[::-1]))
        self.out = nn.Sequential(nn.GroupNorm(8, channels[0]), nn.SiLU(),
                                 nn.Conv2d(channels[0], in_channels, 3, padding=1))

    def forward(self, x, t, y):  # (N, C, H, W), (N,), (N,) -> (N, C, H, W)
        emb = self.time_mlp(time_embedding(t, self.stem.out_channels)) + self.label_emb(y)
        h, skips = self.stem(x), []
        for i, block in enumerate(self.down):
            h = block(h, emb)
            skips.append(h)
            if i < len(self.pool):
                h = self.pool[i](h)
        h = self.mid(h, emb)
        for i, block in zip(range(len(self.up) - 1, -1, -1), self.up):
            if i < len(self.unpool):
                h = F.interpolate(self.unpool[i](h), size=skips[i].shape[-2:], mode="nearest")
            h = block(torch.cat([h, skips[i]], dim=1), emb)
        return self.out(h)


class Autoencoder(nn.Module):
    """Autocodificador convolucional: imagem ``(N, 1, H, W)`` ↔ latente ``(N, latent_channels, H/4, W/4)``.

    ``encoder`` reduz a resolução duas vezes (convoluções de passo 2); ``decoder``
    a restaura com interpolação e convoluções e termina em ``tanh`` (píxeis em ``[-1, 1]``).
    """

    def __init__(self, latent_channels=4):
        super().__init__()
        _check_int(latent_channels, "latent_channels")
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 32, 3, stride=2, padding=1), nn.SiLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.SiLU(),
            nn.Conv2d(64, latent_channels, 1))
        self.decoder = nn.Sequential(
            nn.Conv2d(latent_channels, 64, 3, padding=1), nn.SiLU(), nn.Upsample(scale_factor=2),
            nn.Conv2d(64, 32, 3, padding=1), nn.SiLU(), nn.Upsample(scale_factor=2),
            nn.Conv2d(32, 1, 3, padding=1), nn.Tanh())

    def forward(self, x):  # (N, 1, H, W) -> (N, 1, H, W)
        return self.decoder(self.encoder(x))


# --------------------------------------------------------------------------- o treino


def _denoising_loss(net, x0, y, schedule, gen, p_uncond):
    """Erro quadrático entre o ruído sorteado e o previsto, num lote de imagens limpas."""
    n, dev = len(x0), x0.device
    t = torch.randint(0, schedule.T, (n,), generator=gen).to(dev)
    noise = torch.randn(x0.shape, generator=gen).to(dev)
    drop = (torch.rand(n, generator=gen) < p_uncond).to(dev)  # sem rótulo: aprende ε incondicional
    y = torch.where(drop, torch.full_like(y, net.num_classes), y)
    return F.mse_loss(net(q_sample(x0, t, noise, schedule), t, y).float(), noise)


def fit_denoiser(net, X, y, schedule, cfg, p_uncond=0.1, cache=True, desc="difusão"):
    """Treina ``net`` a prever o ruído em ``(X, y)`` e devolve ``(net, history)``.

    Cada lote sorteia um passo ``t`` e um ruído por imagem e, com probabilidade
    ``p_uncond``, troca o rótulo por "nenhum". Os pesos ficam no cache de
    :mod:`livro.train`, sob uma chave que cobre rede, pesos iniciais, ``cfg``,
    dados, agenda e ``p_uncond``. ``history['train_loss']``: perda média por época.
    """
    if not isinstance(cfg, train.Config):
        raise TypeError("cfg deve ser um livro.train.Config")
    _check_tensor(X, "X", ndim=4)
    _check_tensor(y, "y", ndim=1)
    if len(X) != len(y):
        raise ValueError(f"X tem {len(X)} imagens mas y tem {len(y)} rótulos")
    if int(y.min()) < 0 or int(y.max()) >= net.num_classes:
        raise ValueError(f"os rótulos devem estar em [0, {net.num_classes})")
    if not 0 <= p_uncond < 1:
        raise ValueError(f"p_uncond deve estar em [0, 1), recebi {p_uncond!r}")
    dev = devices.get()
    net.to(dev)
    key = train.cache_key(net, cfg, (X, y, schedule.betas), extra=(dev.type, f"p={p_uncond}", _denoising_loss))
    entry = train.cache_dir() / f"difusao-{key}"
    if cache and (entry / "pesos.pt").exists() and (entry / "historico.json").exists():
        net.load_state_dict(torch.load(entry / "pesos.pt", map_location=dev, weights_only=True))
        history = json.loads((entry / "historico.json").read_text())
        print(f"{desc}: pesos carregados do cache (chave {key[:12]}…)")
        return net.eval(), {**history, "cached": True}
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    X, y = X.to(dev), y.to(dev)
    steps = cfg.num_epochs * math.ceil(len(X) / cfg.batch_size)
    opt, sched = train._optimizer(net, cfg, steps)
    history = {"train_loss": [], "seconds": []}
    bar = tqdm(total=steps, desc=desc, unit="lote", file=sys.stdout, mininterval=2.0, ncols=90, ascii=True)
    for _ in range(cfg.num_epochs):
        start, total = time.perf_counter(), torch.zeros((), device=dev)
        net.train()
        perm = torch.randperm(len(X), generator=gen).to(dev)
        for i in range(0, len(X), cfg.batch_size):
            idx = perm[i:i + cfg.batch_size]
            with devices.autocast(dev, cfg.amp):
                loss = _denoising_loss(net, X[idx], y[idx], schedule, gen, p_uncond)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            total += loss.detach() * len(idx)
            bar.update(1)
        history["train_loss"].append(float(total) / len(X))
        history["seconds"].append(time.perf_counter() - start)
    bar.close()
    if cache:
        entry.mkdir(parents=True, exist_ok=True)
        torch.save({k: v.detach().cpu() for k, v in net.state_dict().items()}, entry / "pesos.pt.tmp")
        (entry / "pesos.pt.tmp").replace(entry / "pesos.pt")
        (entry / "historico.json").write_text(json.dumps(history))  # escrito por último
    return net.eval(), {**history, "cached": False}


# --------------------------------------------------------------------------- amostragem


def guided_eps(net, x, t, y, w):
    """Ruído previsto com orientação sem classificador: ``ε_c + w·(ε_c - ε_∅)``.

    ``w = 0`` é o modelo condicional puro; as duas previsões saem de um só lote.
    """
    tt = torch.full((len(x),), int(t), device=x.device, dtype=torch.long)
    if w == 0:
        return net(x, tt, y).float()
    null = torch.full_like(y, net.num_classes)
    eps_c, eps_u = net(torch.cat([x, x]), torch.cat([tt, tt]), torch.cat([y, null])).float().chunk(2)
    return eps_c + w * (eps_c - eps_u)


@torch.no_grad()
def sample(net, y, schedule, sampler="ddim", num_steps=20, w=0.0, generator=None, steps=None,
           x_T=None, size=28, amp="auto"):
    """Gera uma imagem por rótulo de ``y`` (N,) e devolve ``(N, C, H, W)`` na CPU.

    ``sampler``: ``"ddim"`` (determinístico) ou ``"ddpm"`` (ancestral);
    ``steps`` substitui a lista de :func:`timesteps` por outra, decrescente;
    ``x_T`` é o ruído inicial (senão, sorteado com ``generator``, de lado ``size``).
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"amostrador desconhecido: {sampler!r}; use um de {', '.join(SAMPLERS)}")
    _check_tensor(y, "y", ndim=1)
    _check_number(w, "w")
    if int(y.min()) < 0 or int(y.max()) >= net.num_classes:
        raise ValueError(f"os rótulos devem estar em [0, {net.num_classes})")
    steps = timesteps(schedule.T, num_steps) if steps is None else torch.as_tensor(steps)
    if len(steps) > 1 and not bool((steps[1:] < steps[:-1]).all()):
        raise ValueError("steps deve ser estritamente decrescente")
    gen = generator or torch.Generator().manual_seed(0)
    c = net.stem.in_channels
    if x_T is None:
        x_T = torch.randn((len(y), c, size, size), generator=gen)
    dev = devices.of(net)
    was_training = net.training
    net.eval()
    x, y = x_T.to(dev), y.to(dev)
    for k, t in enumerate(steps.tolist()):
        t_prev = int(steps[k + 1]) if k + 1 < len(steps) else -1
        with devices.autocast(dev, amp):
            eps = guided_eps(net, x, t, y, w)
        if sampler == "ddim":
            x = ddim_step(eps, t, t_prev, x, schedule)
        else:
            x = ddpm_step(eps, t, t_prev, x, torch.randn(x.shape, generator=gen).to(dev), schedule)
    net.train(was_training)
    return x.cpu()


# --------------------------------------------------------------------------- métricas


def _check_features(a, name):
    _check_tensor(a, name, ndim=2)
    if len(a) < 2:
        raise ValueError(f"{name} precisa de pelo menos 2 linhas, recebi {len(a)}")


def frechet_distance(feats_a, feats_b):
    """Distância de Fréchet entre gaussianas ajustadas a dois conjuntos de atributos ``(N, D)``.

    ``‖μ_a - μ_b‖² + tr(Σ_a + Σ_b - 2 (Σ_a^½ Σ_b Σ_a^½)^½)``, com as raízes de
    matrizes simétricas pela decomposição espectral, em ``float64``.
    """
    _check_features(feats_a, "feats_a")
    _check_features(feats_b, "feats_b")
    if feats_a.shape[1] != feats_b.shape[1]:
        raise ValueError(f"os atributos devem ter a mesma dimensão, recebi {feats_a.shape[1]} e {feats_b.shape[1]}")
    a, b = feats_a.double().cpu(), feats_b.double().cpu()
    mu_a, mu_b = a.mean(0), b.mean(0)
    d = a.shape[1]
    cov_a, cov_b = torch.cov(a.T).reshape(d, d), torch.cov(b.T).reshape(d, d)
    vals, vecs = torch.linalg.eigh(cov_a)
    root_a = vecs @ torch.diag(vals.clamp_min(0).sqrt()) @ vecs.T
    middle = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp_min(0).sqrt().sum()
    return float((mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * middle)


def diversity(feats, labels):
    """Distância euclidiana média entre pares de atributos da mesma classe, média sobre as classes."""
    _check_features(feats, "feats")
    _check_tensor(labels, "labels", ndim=1)
    if len(labels) != len(feats):
        raise ValueError(f"feats tem {len(feats)} linhas mas labels tem {len(labels)}")
    means = []
    for c in labels.unique():
        f = feats[labels == c].double()
        if len(f) > 1:
            d = torch.cdist(f, f)
            means.append(d.sum() / (len(f) * (len(f) - 1)))
    if not means:
        raise ValueError("nenhuma classe tem duas ou mais amostras")
    return float(torch.stack(means).mean())
