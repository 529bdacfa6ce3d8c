"""Modelos baseados em energia (EBM) treinados por máxima verossimilhança com SGLD.

Um EBM define :math:`p_\\theta(\\mathbf{x}) = e^{-E_\\theta(\\mathbf{x})} / Z_\\theta`.
O gradiente da log-verossimilhança média é
:math:`-\\mathbb{E}_{dados}[\\nabla_\\theta E] + \\mathbb{E}_{p_\\theta}[\\nabla_\\theta E]`:
a perda ``E(dados).mean() - E(amostras).mean()`` tem exatamente esse gradiente
(com o sinal trocado) quando as amostras vêm do próprio modelo. As amostras
vêm da dinâmica de Langevin (``sgld``), iniciada de três jeitos: cadeias
persistentes guardadas num *replay buffer*, cadeias novas a partir de ruído a
cada passo, ou cadeias que partem dos dados (divergência contrastiva).
O treino é determinístico (semeado) e guarda os pesos no cache do pacote.
"""

import dataclasses
import inspect
import math
import sys
import time

import torch
from torch import nn

from . import cache as model_cache
from . import device as devices
from . import train

__all__ = ["two_gaussians", "two_gaussians_log_density", "EnergyMLP", "sgld", "EBMConfig",
           "init_noise", "train_ebm", "log_partition_2d"]

CHAINS = ("persistent", "fresh", "data")


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} deve ser um inteiro, recebi {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} deve ser ≥ 1, recebi {value}")


def _number(name, value, positive=True):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} deve ser um número, recebi {type(value).__name__}")
    if not math.isfinite(value) or (value <= 0 if positive else value < 0):
        raise ValueError(f"{name} deve ser um número {'positivo' if positive else 'não negativo'} e finito, "
                         f"recebi {value!r}")


def two_gaussians(n, generator, offset=2.5):
    """``n`` pontos 2-D: metade de N((+o, +o), I), metade de N((−o, −o), I); ``float32`` ``(n, 2)``."""
    _positive_int("n", n)
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator deve ser um torch.Generator, recebi {type(generator).__name__}")
    _number("offset", offset, positive=False)
    signs = torch.ones(n, 1)
    signs[n // 2:] = -1
    return torch.randn(n, 2, generator=generator) + offset * signs


def two_gaussians_log_density(x, offset=2.5):
    """log p(x) exato da mistura de :func:`two_gaussians`, para pontos ``(N, 2)``."""
    if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"x deve ser um tensor (N, 2), recebi {getattr(x, 'shape', type(x).__name__)}")
    centers = torch.tensor([[offset, offset], [-offset, -offset]], dtype=x.dtype)
    sq = ((x[:, None, :] - centers) ** 2).sum(-1)                 # (N, 2)
    return torch.logsumexp(-0.5 * sq, dim=1) - math.log(2) - math.log(2 * math.pi)


class EnergyMLP(nn.Module):
    """MLP com ativações SiLU (suaves, boas para a dinâmica de Langevin): ``(N, ...)`` → energia ``(N,)``."""

    def __init__(self, in_features, hidden=64, depth=2):
        super().__init__()
        for name, value in (("in_features", in_features), ("hidden", hidden), ("depth", depth)):
            _positive_int(name, value)
        layers, width = [nn.Flatten()], in_features
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.SiLU()]
            width = hidden
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)[:, 0]


def sgld(energy, x, num_steps, step_size, noise_scale=None, bounds=None):
    """Dinâmica de Langevin: ``x ← x − (ε/2)·∇E(x) + σ·ξ``, ξ ~ N(0, I), repetida ``num_steps`` vezes.

    Com ``noise_scale=None``, σ = √ε e a cadeia amostra (para ε pequeno) de
    p(x) ∝ exp(−E(x)); outro σ amostra de uma versão com outra temperatura.
    ``bounds=(a, b)`` corta cada passo ao intervalo. O ruído vem do gerador
    global do PyTorch (semeie antes para repetir). ``x`` vai para o
    dispositivo de ``energy`` e o resultado volta sem grafo, no mesmo dispositivo.
    """
    if not callable(energy):
        raise TypeError("energy deve ser uma função ou nn.Module que devolve a energia (N,)")
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError("x deve ser um tensor de ponto flutuante")
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"x deve ter forma (N, ...) com N ≥ 1, recebi {tuple(x.shape)}")
    if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 0:
        raise ValueError(f"num_steps deve ser um inteiro ≥ 0, recebi {num_steps!r}")
    _number("step_size", step_size)
    sigma = math.sqrt(step_size) if noise_scale is None else noise_scale
    _number("noise_scale", sigma, positive=False)
    if bounds is not None and not (len(bounds) == 2 and bounds[0] < bounds[1]):
        raise ValueError(f"bounds deve ser um par (a, b) com a < b, recebi {bounds!r}")
    if isinstance(energy, nn.Module):
        x = devices.to_model(energy, x)
    x = x.detach().clone()
    for _ in range(num_steps):
        x.requires_grad_(True)
        grad, = torch.autograd.grad(energy(x).sum(), x)
        with torch.no_grad():
            x = x - 0.5 * step_size * grad + sigma * torch.randn_like(x)
            if bounds is not None:
                x = x.clamp(*bounds)
    return x.detach()


@dataclasses.dataclass(frozen=True)
class EBMConfig:
    """Hiperparâmetros do treino de um EBM; todos entram na chave do cache.

    ``chains``: ``"persistent"`` (*replay buffer* de ``buffer_size`` cadeias,
    cada uma reiniciada do ruído com probabilidade ``reinit_prob``),
    ``"fresh"`` (ruído novo a cada passo) ou ``"data"`` (parte de exemplos
    reais: divergência contrastiva). O ruído inicial é uniforme em ``bounds``,
    que também limita as cadeias quando ``clamp=True``. ``alpha`` pesa a
    penalidade α·(E(x⁺)² + E(x⁻)²), que impede as energias de fugirem.
    """

    num_steps: int = 1000
    batch_size: int = 128
    lr: float = 1e-3
    sgld_steps: int = 20
    step_size: float = 0.1
    noise_scale: float | None = None
    chains: str = "persistent"
    buffer_size: int = 4096
    reinit_prob: float = 0.05
    bounds: tuple = (-6.0, 6.0)
    clamp: bool = False
    alpha: float = 0.0
    seed: int = 0

    def __post_init__(self):
        for name in ("num_steps", "batch_size", "sgld_steps", "buffer_size"):
            _positive_int(name, getattr(self, name))
        _number("lr", self.lr)
        _number("step_size", self.step_size)
        if self.noise_scale is not None:
            _number("noise_scale", self.noise_scale, positive=False)
        if self.chains not in CHAINS:
            raise ValueError(f"chains desconhecido: {self.chains!r}; use um de {', '.join(CHAINS)}")
        if not 0 <= self.reinit_prob <= 1:
            raise ValueError(f"reinit_prob deve estar em [0, 1], recebi {self.reinit_prob!r}")
        if not (len(self.bounds) == 2 and self.bounds[0] < self.bounds[1]):
            raise ValueError(f"bounds deve ser um par (a, b) com a < b, recebi {self.bounds!r}")
        _number("alpha", self.alpha, positive=False)


def init_noise(n, shape, bounds, device=None):
    """``n`` pontos uniformes no intervalo ``bounds``, de forma ``(n, *shape)`` (gerador global)."""
    _positive_int("n", n)
    low, high = bounds
    return low + (high - low) * torch.rand(n, *shape, device=device)


def _holder(net, chains):
    """Rede e cadeias num só módulo, para o cache de modelos guardar e conferir os dois juntos."""
    holder = nn.Module()
    holder.net = net
    holder.register_buffer("chains", chains)
    return holder


def train_ebm(net, X, cfg=EBMConfig(), probe=None, probe_every=100, cache=True, desc="EBM"):
    """Treina o EBM ``net`` nos dados ``X`` ``(N, ...)``; devolve ``(net, history, chains)``.

    ``history`` tem, por passo, ``loss``, ``pos_energy`` (média nos dados) e
    ``neg_energy`` (média nas amostras); com ``probe``, guarda as energias dos
    pontos ``probe`` a cada ``probe_every`` passos (``probe_steps``,
    ``probe_energy``). ``chains`` são as últimas amostras negativas (o *buffer*
    inteiro, no modo persistente), na CPU.
    """
    if not isinstance(net, nn.Module):
        raise TypeError(f"net deve ser um torch.nn.Module, recebi {type(net).__name__}")
    if not isinstance(X, torch.Tensor) or not X.is_floating_point() or X.ndim < 2 or len(X) == 0:
        raise ValueError("X deve ser um tensor de ponto flutuante (N, ...) com N ≥ 1")
    if not isinstance(cfg, EBMConfig):
        raise TypeError("cfg deve ser um livro.energy.EBMConfig")
    if probe is not None and (not isinstance(probe, torch.Tensor) or probe.shape[1:] != X.shape[1:]):
        raise ValueError("probe deve ser um tensor com a mesma forma de X por exemplo")
    _positive_int("probe_every", probe_every)
    dev = devices.get()
    net.to(dev)
    # a chave do cache de modelos cobre a rede, cfg, os dados, probe e o código deste módulo (o laço)
    key = model_cache.key(net, cfg, (X, probe), extra=("ebm", probe_every, inspect.getsource(sys.modules[__name__])))
    entry = model_cache.entry_path(key)
    n_chains = cfg.buffer_size if cfg.chains == "persistent" else cfg.batch_size
    if cache:
        holder = _holder(net, torch.zeros(n_chains, *X.shape[1:], device=dev))
        history = model_cache.load(entry, holder)  # confere tudo antes de mexer na rede
        if history is not None:
            history["cached"] = True
            print(f"{desc}: pesos carregados do cache (chave {key[:12]}…)")
            return net.eval(), history, holder.chains.cpu()

    torch.manual_seed(cfg.seed)
    X = X.to(dev)
    shape = X.shape[1:]
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, betas=(0.0, 0.999))
    bounds = cfg.bounds if cfg.clamp else None
    buffer = init_noise(cfg.buffer_size, shape, cfg.bounds, dev) if cfg.chains == "persistent" else None
    history = {k: [] for k in ("loss", "pos_energy", "neg_energy", "probe_steps", "probe_energy")}
    start = time.perf_counter()
    bar = train.progress_bar(cfg.num_steps, desc, unit="passo")
    net.train()
    for step in range(cfg.num_steps + 1):
        if probe is not None and step % probe_every == 0:
            with torch.no_grad():
                history["probe_steps"].append(step)
                history["probe_energy"].append(net(probe.to(dev)).cpu().tolist())
        if step == cfg.num_steps:
            break
        x_pos = X[torch.randint(len(X), (cfg.batch_size,), device=dev)]
        if cfg.chains == "persistent":
            idx = torch.randint(cfg.buffer_size, (cfg.batch_size,), device=dev)
            x0 = buffer[idx]
            fresh = (torch.rand(cfg.batch_size, device=dev) < cfg.reinit_prob).view(-1, *[1] * len(shape))
            x0 = torch.where(fresh, init_noise(cfg.batch_size, shape, cfg.bounds, dev), x0)
        elif cfg.chains == "fresh":
            x0 = init_noise(cfg.batch_size, shape, cfg.bounds, dev)
        else:
            x0 = X[torch.randint(len(X), (cfg.batch_size,), device=dev)]
        x_neg = sgld(net, x0, cfg.sgld_steps, cfg.step_size, cfg.noise_scale, bounds)
        if cfg.chains == "persistent":
            buffer[idx] = x_neg
        e_pos, e_neg = net(x_pos), net(x_neg)
        loss = e_pos.mean() - e_neg.mean() + cfg.alpha * (e_pos**2 + e_neg**2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        for name, value in (("loss", loss), ("pos_energy", e_pos.mean()), ("neg_energy", e_neg.mean())):
            history[name].append(value.detach())
        bar.update(1)
    bar.close()
    for name in ("loss", "pos_energy", "neg_energy"):  # uma só cópia para a CPU, no fim
        history[name] = torch.stack(history[name]).cpu().tolist()
    history["seconds"] = time.perf_counter() - start
    chains = (buffer if buffer is not None else x_neg).detach().cpu()
    net.eval()
    if cache:
        model_cache.save(entry, _holder(net, chains), history)  # gravação inteira e atômica
    history["cached"] = False
    return net, history, chains


@torch.no_grad()
def log_partition_2d(energy, lim=7.0, num=201):
    """log Z = log ∫ exp(−E(x)) dx num EBM 2-D, por quadratura numa grade ``num × num`` em [−lim, lim]².

    Só em poucas dimensões dá para fazer essa conta: é ela que transforma a
    energia numa densidade de verdade e permite medir a log-verossimilhança.
    """
    _number("lim", lim)
    _positive_int("num", num)
    axis = torch.linspace(-lim, lim, num)
    grid = torch.cartesian_prod(axis, axis)                     # (num², 2)
    e = energy(grid if not isinstance(energy, nn.Module) else devices.to_model(energy, grid)).float().cpu()
    cell = (axis[1] - axis[0]) ** 2
    return float(torch.logsumexp(-e, 0) + torch.log(cell))
