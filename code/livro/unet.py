"""As redes da difusão: a U-Net que prevê o ruído e um autocodificador pequeno para a difusão latente.

A U-Net recebe a imagem ruidosa ``x_t``, o passo ``t`` (codificado por senos e
cossenos, como as posições do Transformer) e a classe ``y``; o rótulo extra
``num_classes`` quer dizer "nenhuma classe" e serve à orientação sem
classificador. Com ``patch = 2``, a imagem 28×28 entra reorganizada em 4 canais
de 14×14 (``pixel_unshuffle``) e sai pelo caminho inverso: a rede trabalha numa
resolução 4 vezes menor, sem perder nenhum pixel.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from . import _check

__all__ = ["time_embedding", "ResBlock", "UNet", "Autoencoder"]


def time_embedding(t, dim):
    """Codificação senoidal dos passos ``t`` ``(N,)`` em ``dim`` dimensões: ``(N, dim)``."""
    _check.tensor(t, "t", ndim=1)
    _check.positive_int(dim, "dim")
    if dim % 2:
        raise ValueError(f"dim deve ser par (metade senos, metade cossenos), recebi {dim}")
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
    (convolução de passo 2). Na volta, uma convolução 1×1 leva as ``c_{i+1}``
    larguras do nível de baixo às ``c_i`` do nível de cima ainda na resolução
    baixa, onde custa 4 vezes menos, e só então a resolução dobra (vizinho mais
    próximo); a saída do nível correspondente da descida é concatenada antes do
    bloco residual. ``patch`` agrupa blocos ``patch × patch`` de pixels em
    canais na entrada e os desfaz na saída.
    """

    def __init__(self, in_channels=1, channels=(32, 64, 128), num_classes=10, emb_dim=128, patch=1):
        super().__init__()
        if not isinstance(channels, (tuple, list)) or not channels:
            raise ValueError(f"channels deve ser uma tupla não vazia de larguras, recebi {channels!r}")
        for c in channels:
            _check.positive_int(c, "cada largura em channels")
            if c % 8:
                raise ValueError(f"cada largura em channels deve ser múltipla de 8 (GroupNorm), recebi {c}")
        for value, name in ((in_channels, "in_channels"), (num_classes, "num_classes"),
                            (emb_dim, "emb_dim"), (patch, "patch")):
            _check.positive_int(value, name)
        channels = tuple(channels)
        self.in_channels, self.num_classes, self.patch = in_channels, num_classes, patch
        c0 = in_channels * patch * patch
        self.stem = nn.Conv2d(c0, channels[0], 3, padding=1)
        self.time_mlp = nn.Sequential(nn.Linear(channels[0], emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.label_emb = nn.Embedding(num_classes + 1, emb_dim)
        prev = (channels[0],) + channels[:-1]
        self.down = nn.ModuleList(ResBlock(a, b, emb_dim) for a, b in zip(prev, channels))
        self.pool = nn.ModuleList(nn.Conv2d(c, c, 3, stride=2, padding=1) for c in channels[:-1])
        self.mid = ResBlock(channels[-1], channels[-1], emb_dim)
        self.unpool = nn.ModuleList(nn.Conv2d(b, a, 1) for a, b in zip(channels[:-1], channels[1:]))
        self.up = nn.ModuleList(ResBlock(2 * c, c, emb_dim) for c in channels[::-1])  # c de baixo + c do atalho
        self.out = nn.Sequential(nn.GroupNorm(8, channels[0]), nn.SiLU(), nn.Conv2d(channels[0], c0, 3, padding=1))

    def forward(self, x, t, y):  # (N, C, H, W), (N,), (N,) -> (N, C, H, W)
        _check.tensor(x, "x", ndim=4)
        if x.shape[1] != self.in_channels or x.shape[2] % self.patch or x.shape[3] % self.patch:
            raise ValueError(f"x deve ter {self.in_channels} canais e lados múltiplos de patch = {self.patch}, "
                             f"recebi forma {tuple(x.shape)}")
        if t.shape != (len(x),) or y.shape != (len(x),):
            raise ValueError(f"t e y devem ter forma ({len(x)},), recebi {tuple(t.shape)} e {tuple(y.shape)}")
        emb = self.time_mlp(time_embedding(t, self.stem.out_channels)) + self.label_emb(y)
        h, skips = self.stem(F.pixel_unshuffle(x, self.patch)), []
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
        return F.pixel_shuffle(self.out(h), self.patch)


class Autoencoder(nn.Module):
    """Autocodificador convolucional: imagem ``(N, 1, H, W)`` ↔ latente ``(N, latent_channels, H/4, W/4)``.

    ``encoder`` reduz a resolução duas vezes (convoluções de passo 2); ``decoder``
    a restaura com vizinho mais próximo e convoluções e termina em ``tanh``
    (pixels em ``[-1, 1]``).
    """

    def __init__(self, latent_channels=4, width=32):
        super().__init__()
        _check.positive_int(latent_channels, "latent_channels")
        _check.positive_int(width, "width")
        w = width
        self.encoder = nn.Sequential(
            nn.Conv2d(1, w, 3, stride=2, padding=1), nn.SiLU(),
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1), nn.SiLU(),
            nn.Conv2d(2 * w, latent_channels, 1))
        self.decoder = nn.Sequential(
            nn.Conv2d(latent_channels, 2 * w, 3, padding=1), nn.SiLU(), nn.Upsample(scale_factor=2),
            nn.Conv2d(2 * w, w, 3, padding=1), nn.SiLU(), nn.Upsample(scale_factor=2),
            nn.Conv2d(w, 1, 3, padding=1), nn.Tanh())

    def forward(self, x):  # (N, 1, H, W) -> (N, 1, H, W)
        return self.decoder(self.encoder(x))
