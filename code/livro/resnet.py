"""Redes residuais: o bloco residual, uma ResNet compacta para imagens 28×28 e ferramentas de análise.

O bloco residual soma à sua entrada uma correção aprendida, ``relu(x + F(x))``.
Com o ganho (``weight``) da última normalização em lote zerado, ``F(x) = 0`` na
inicialização e o bloco começa como ``relu(x)``. O módulo traz também o aumento
de dados vetorizado usado no treino (recorte aleatório com borda + espelhamento),
as normas do gradiente por camada, as direções normalizadas por filtro para
fatiar a superfície de perda e a captura das formas de saída por *hooks*.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from . import _check
from . import device as devices

__all__ = ["ResidualBlock", "SmallResNet", "DeepStack", "DeepMLP", "crop_flip", "augment",
           "layer_grad_norms", "filter_normalized_direction", "loss_surface", "output_shapes",
           "BEST_WIDTHS", "BEST_BLOCKS", "best_setup"]


def _check_positive_int(value, name):
    _check.positive_int(value, name)


def _check_images(x, what="x", net=None, channels=None):
    """Imagens ``(N, C, H, W)``; com ``net``, de ponto flutuante, no dispositivo e no tipo dos pesos."""
    _check.tensor(x, what, ndim=4, dtype=None if net is None else "floating", layout="(N, C, H, W)")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{what} deve ter {channels} canais, como a rede, recebi forma {tuple(x.shape)}")
    if net is not None:
        _check.model_input(x, net, what)


def _check_flags(**flags):
    for name, value in flags.items():
        _check.boolean(value, name)


def _check_crop_args(x, offsets, flips, pad):
    _check_images(x)
    _check.integer(pad, "pad", minimum=0)
    for name, value, kind in (("offsets", offsets, "integer"), ("flips", flips, "bool")):
        if isinstance(value, torch.Tensor):
            _check.tensor(value, name, dtype=kind)
        elif not isinstance(value, (list, tuple, np.ndarray)):
            raise TypeError(f"{name} deve ser um tensor (ou lista), recebi {_check.describe(value)}")
        else:
            t = torch.as_tensor(np.asarray(value))
            if not (t.dtype == torch.bool if kind == "bool" else _check._KINDS["integer"][0](t)):
                raise TypeError(f"{name} deve ser {'booleano' if kind == 'bool' else 'de inteiros'}, "
                                f"recebi {_check.describe(value)}")


class ResidualBlock(nn.Module):
    """Bloco residual básico da ResNet: ``relu(atalho(x) + bn2(conv2(relu(bn1(conv1(x))))))``.

    Com ``stride > 1`` ou ``in_channels != out_channels`` o atalho é uma
    convolução 1×1 (com o mesmo passo) seguida de normalização; senão é a
    identidade. ``skip=False`` remove o atalho (bloco "plano", para comparação).
    ``zero_init=True`` zera o ganho de ``bn2``: o ramo residual começa nulo.
    """

    def __init__(self, in_channels, out_channels, stride=1, skip=True, zero_init=True):
        super().__init__()
        _check_positive_int(in_channels, "in_channels")
        _check_positive_int(out_channels, "out_channels")
        if _check.integer(stride, "stride") not in (1, 2):
            raise ValueError(f"stride deve ser 1 ou 2, recebi {stride!r}")
        _check_flags(skip=skip, zero_init=zero_init)
        stride = int(stride)
        self.skip = skip
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Identity()
        if skip and (stride != 1 or in_channels != out_channels):
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels))
        if zero_init:
            nn.init.zeros_(self.bn2.weight)

    def forward(self, x):  # (N, C_in, H, W) -> (N, C_out, H / stride, W / stride)
        _check_images(x, "x", self, self.conv1.in_channels)
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.skip:
            out = out + self.shortcut(x)
        return F.relu(out)


class SmallResNet(nn.Module):
    """ResNet compacta para imagens pequenas (28×28 no Fashion-MNIST).

    Um tronco (convolução 3×3 + BN + ReLU com ``widths[0]`` canais) seguido de
    um estágio por largura; cada estágio tem ``blocks[i]`` blocos residuais e,
    a partir do segundo, o primeiro bloco reduz a resolução à metade
    (28 → 14 → 7). Termina em *pooling* global médio e uma camada linear.
    """

    def __init__(self, widths=(32, 64, 128), blocks=(2, 2, 2), in_channels=1, num_classes=10,
                 skip=True, zero_init=True):
        super().__init__()
        for name, value in (("widths", widths), ("blocks", blocks)):
            if not isinstance(value, (list, tuple)):
                raise TypeError(f"{name} deve ser uma tupla de inteiros, um por estágio, "
                                f"recebi {_check.describe(value)}")
        _check_flags(skip=skip, zero_init=zero_init)
        widths, blocks = tuple(widths), tuple(blocks)
        if len(widths) == 0 or len(widths) != len(blocks):
            raise ValueError(f"widths e blocks devem ter o mesmo tamanho (≥ 1), recebi {widths} e {blocks}")
        for w in widths:
            _check_positive_int(w, "cada largura")
        for b in blocks:
            _check_positive_int(b, "cada número de blocos")
        _check_positive_int(in_channels, "in_channels")
        _check_positive_int(num_classes, "num_classes")
        self.stem = nn.Sequential(nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU())
        stages, c_in = [], widths[0]
        for i, (w, b) in enumerate(zip(widths, blocks)):
            layers = [ResidualBlock(c_in if j == 0 else w, w, 2 if (i > 0 and j == 0) else 1, skip, zero_init)
                      for j in range(b)]
            stages.append(nn.Sequential(*layers))
            c_in = w
        self.stages = nn.Sequential(*stages)
        self.fc = nn.Linear(widths[-1], num_classes)

    def forward(self, x):  # (N, C, H, W) -> (N, num_classes)
        _check_images(x, "x", self, self.stem[0].in_channels)
        x = x.contiguous(memory_format=torch.channels_last)
        x = self.stages(self.stem(x))
        return self.fc(x.mean(dim=(2, 3)))


class DeepStack(nn.Module):
    """Pilha de ``depth`` camadas convolucionais 3×3 de largura fixa, com ou sem atalhos.

    Cada camada é ``conv → BN → ReLU`` (``batch_norm=False`` tira a BN). Com
    ``skip=True`` a camada vira ``h + relu(bn(conv(h)))``. Serve para medir como o
    gradiente chega às primeiras camadas de redes profundas.
    """

    def __init__(self, depth, width=16, in_channels=1, num_classes=10, skip=False, batch_norm=True):
        super().__init__()
        for name, value in (("depth", depth), ("width", width), ("in_channels", in_channels),
                            ("num_classes", num_classes)):
            _check_positive_int(value, name)
        _check_flags(skip=skip, batch_norm=batch_norm)
        self.skip = skip
        self.stem = nn.Conv2d(in_channels, width, 3, padding=1)
        self.layers = nn.ModuleList(
            nn.Sequential(nn.Conv2d(width, width, 3, padding=1, bias=not batch_norm),
                          nn.BatchNorm2d(width) if batch_norm else nn.Identity(), nn.ReLU())
            for _ in range(depth))
        self.fc = nn.Linear(width, num_classes)

    def extra_repr(self):  # entra no repr e, portanto, na chave do cache de train.fit
        return f"depth={len(self.layers)}, skip={self.skip}"

    def forward(self, x):
        _check_images(x, "x", self, self.stem.in_channels)
        h = self.stem(x)
        for layer in self.layers:
            h = h + layer(h) if self.skip else layer(h)
        return self.fc(h.mean(dim=(2, 3)))


class DeepMLP(nn.Module):
    """Rede densa de ``depth`` camadas ocultas de largura ``width``, com ou sem atalhos.

    Cada camada é ``linear → BN → ReLU`` (``batch_norm=False`` tira a BN); com
    ``skip=True`` vira ``h + camada(h)``. A entrada ``(N, ...)`` é achatada.
    Barata o bastante para fatiar sua superfície de perda numa CPU.
    """

    def __init__(self, depth, width=64, in_features=196, num_classes=10, skip=False, batch_norm=True):
        super().__init__()
        for name, value in (("depth", depth), ("width", width), ("in_features", in_features),
                            ("num_classes", num_classes)):
            _check_positive_int(value, name)
        _check_flags(skip=skip, batch_norm=batch_norm)
        self.skip = skip
        self.stem = nn.Linear(in_features, width)
        self.layers = nn.ModuleList(
            nn.Sequential(nn.Linear(width, width, bias=not batch_norm),
                          nn.BatchNorm1d(width) if batch_norm else nn.Identity(), nn.ReLU())
            for _ in range(depth))
        self.fc = nn.Linear(width, num_classes)

    def extra_repr(self):  # entra no repr e, portanto, na chave do cache de train.fit
        return f"depth={len(self.layers)}, skip={self.skip}"

    def forward(self, x):
        _check.tensor(x, "x", dtype="floating")
        if x.ndim < 2 or x[0].numel() != self.stem.in_features:
            raise ValueError(f"x deve ter forma (N, ...) com {self.stem.in_features} valores por exemplo, "
                             f"recebi forma {tuple(x.shape)}")
        _check.model_input(x, self)
        h = self.stem(x.flatten(1))
        for layer in self.layers:
            h = h + layer(h) if self.skip else layer(h)
        return self.fc(h)


# --------------------------------------------------------------------------- aumento de dados


def crop_flip(x, offsets, flips, pad):
    """Recorta cada imagem de ``x`` após bordas de ``pad`` zeros e a espelha onde ``flips`` é verdadeiro.

    ``x``: ``(N, C, H, W)``; ``offsets``: inteiros ``(N, 2)`` em ``[0, 2·pad]``
    (linha, coluna do canto do recorte na imagem com borda); ``flips``: ``(N,)``
    booleano. Tudo de uma vez, por indexação avançada, sem laço sobre as imagens.
    Esta função pública confere os deslocamentos (o que lê valores do
    dispositivo); o treino usa :func:`augment`, que os sorteia já válidos.
    """
    _check_crop_args(x, offsets, flips, pad)
    n = x.shape[0]
    offsets = torch.as_tensor(offsets, device=x.device)
    flips = torch.as_tensor(flips, device=x.device)
    if offsets.shape != (n, 2) or flips.shape != (n,):
        raise ValueError(f"offsets deve ter forma ({n}, 2) e flips ({n},); "
                         f"recebi {tuple(offsets.shape)} e {tuple(flips.shape)}")
    if n and (int(offsets.min()) < 0 or int(offsets.max()) > 2 * pad):
        raise ValueError(f"os deslocamentos devem estar em [0, {2 * pad}]")
    return _crop_flip(x, offsets, flips, pad)


def _crop_flip(x, offsets, flips, pad):
    """O recorte e o espelhamento, sem conferências: nenhuma leitura do dispositivo (sem sincronizar)."""
    n, _, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))
    rows = offsets[:, :1] + torch.arange(h, device=x.device)  # (N, H)
    cols = offsets[:, 1:] + torch.arange(w, device=x.device)  # (N, W)
    cols = torch.where(flips.bool()[:, None], cols.flip(1), cols)  # espelhar = ler colunas ao contrário
    batch = torch.arange(n, device=x.device)[:, None, None]
    out = padded[batch, :, rows[:, :, None], cols[:, None, :]]  # (N, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)


def augment(xb, generator, pad=2):
    """Aumento de dados de um lote: recorte aleatório com borda ``pad`` e espelhamento horizontal.

    Assinatura ``augment(xb, generator)`` esperada por ``livro.train.fit``. Os
    sorteios são feitos com ``generator`` *no dispositivo dele* (o do treino, em
    ``fit``): na GPU, nada passa pela CPU e nada sincroniza. A mesma semente dá
    os mesmos lotes.
    """
    _check.integer(pad, "pad", minimum=0)
    _check_images(xb, "xb")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator deve ser um torch.Generator, recebi {type(generator).__name__}")
    n, where = len(xb), generator.device
    offsets = torch.randint(0, 2 * pad + 1, (n, 2), generator=generator, device=where)
    flips = torch.rand(n, generator=generator, device=where) < 0.5
    return _crop_flip(xb, offsets.to(xb.device), flips.to(xb.device), pad)


# --------------------------------------------------------------------------- análise


def layer_grad_norms(net, X, y, layers=None):
    """Norma do gradiente da perda (entropia cruzada em ``(X, y)``) nos pesos de cada camada.

    ``layers`` é a lista de módulos a medir; por padrão, todas as ``nn.Conv2d``
    na ordem em que aparecem. Devolve uma lista de ``float``. ``y`` são rótulos
    ``(N,)`` em ``[0, C)``, com ``C`` o ``out_features`` da última ``nn.Linear`` da rede.
    """
    _check.module(net)
    _check.tensor(X, "X", ndim=4, dtype="floating", layout="(N, C, H, W)", nonempty=True)
    _check.targets(y, len(X), _check.num_classes_of(net))
    if layers is not None and (not isinstance(layers, (list, tuple)) or not all(
            isinstance(m, nn.Module) and any(m is s for s in net.modules()) and isinstance(
                getattr(m, "weight", None), torch.Tensor) for m in layers)):
        raise ValueError("layers deve ser uma lista de submódulos de net com pesos (weight), "
                         f"recebi {_check.describe(layers)}")
    _check_images(X, "X")
    layers = [m for m in net.modules() if isinstance(m, nn.Conv2d)] if layers is None else list(layers)
    if not layers:
        raise ValueError("a rede não tem camadas para medir")
    X, y = devices.to_model(net, X, y)
    net.zero_grad(set_to_none=True)
    F.cross_entropy(net(X), y).backward()
    silent = [name for name, m in net.named_modules() if any(m is layer for layer in layers)
              and m.weight.grad is None]
    if silent:
        net.zero_grad(set_to_none=True)
        raise ValueError(f"as camadas {silent} existem mas não rodaram na passagem de X pela rede "
                         "(não receberam gradiente); peça só camadas que forward() usa")
    norms = [float(m.weight.grad.norm()) for m in layers]
    net.zero_grad(set_to_none=True)
    return norms


def filter_normalized_direction(net, generator):
    """Direção aleatória no espaço de parâmetros, normalizada por filtro (Li et al., 2018).

    Para cada peso com duas ou mais dimensões, sorteia uma gaussiana e reescala
    cada filtro (fatia ao longo da primeira dimensão) para ter a mesma norma que
    o filtro correspondente da rede. Vieses e parâmetros da BN recebem direção nula.
    Devolve um dicionário ``nome -> tensor`` com as formas dos parâmetros.
    """
    _check.module(net)
    _check.generator(generator)
    direction = {}
    for name, p in net.named_parameters():
        if p.ndim < 2:
            direction[name] = torch.zeros_like(p)
            continue
        d = torch.randn(p.shape, generator=generator).to(p)
        dims = tuple(range(1, p.ndim))
        norm = torch.linalg.vector_norm
        scale = norm(p.detach(), dim=dims, keepdim=True) / norm(d, dim=dims, keepdim=True).clamp_min(1e-12)
        direction[name] = d * scale
    return direction


@torch.no_grad()
def loss_surface(net, directions, coords, X, y):
    """Perda de ``net`` em ``θ + Σ_k coords[i, k] · directions[k]`` para cada linha de ``coords``.

    ``directions`` é uma lista de dicionários de :func:`filter_normalized_direction`;
    ``coords`` tem forma ``(P, len(directions))``. A rede fica em modo de avaliação
    e seus pesos não mudam. Devolve um tensor ``(P,)``.
    """
    _check.module(net)
    if not isinstance(directions, (list, tuple)) or len(directions) == 0:
        raise ValueError(f"directions deve ser uma lista não vazia de direções (dicionários), "
                         f"recebi {_check.describe(directions)}")
    _check.finite_matrix(coords, "coords", len(directions))
    _check.directions(net, directions)
    _check.tensor(X, "X", dtype="floating", nonempty=True)
    _check.targets(y, len(X), _check.num_classes_of(net))
    coords = torch.as_tensor(coords, dtype=torch.float32)
    if coords.ndim != 2 or coords.shape[1] != len(directions):
        raise ValueError(f"coords deve ter forma (P, {len(directions)}), recebi {tuple(coords.shape)}")
    X, y = devices.to_model(net, X, y)
    was_training = net.training
    net.eval()
    params = {name: p.detach() for name, p in net.named_parameters()}
    buffers = dict(net.named_buffers())
    losses = []
    for c in coords:
        moved = {name: p + sum(float(ck) * d[name].to(p) for ck, d in zip(c, directions))
                 for name, p in params.items()}
        out = functional_call(net, {**moved, **buffers}, (X,))
        losses.append(F.cross_entropy(out, y))
    net.train(was_training)
    return torch.stack(losses).cpu()


@torch.no_grad()
def output_shapes(net, x, names):
    """Forma da saída de cada submódulo nomeado em ``names`` para a entrada ``x``, via *forward hooks*.

    Devolve um dicionário ``nome -> tuple`` na ordem de ``names``; os *hooks* são os
    de :func:`livro.cnn.layer_outputs`.
    """
    _check.module(net)
    _check.tensor(x, "x")
    _check.names(names)
    from .cnn import layer_outputs

    return {name: tuple(out.shape) for name, out in layer_outputs(net, x, names).items()}


# --------------------------------------------------------------------------- a melhor configuração

BEST_WIDTHS = (16, 32, 64)
BEST_BLOCKS = (1, 2, 2)
BEST_EPOCHS = 9  # a receita completa, medida por benchmarks/treina_melhor_cnn.py
CHAPTER_EPOCHS = 3  # o que o capítulo 8 treina, para caber no seu orçamento numa CPU sem bf16 nativo

# Acurácias de teste no Fashion-MNIST publicadas no *Dive into Deep Learning*, edição em português
# 0.17.1 (a que o livro cita): (seção, modelo e condições, acurácia como impressa).
D2L_FASHION_MNIST = (
    ("§7.2", "VGG-11 com ¼ dos canais, imagens 224×224, 10 épocas, GPU", 0.927),
    ("§7.6", "ResNet-18, imagens 96×96, 10 épocas, GPU", 0.922),
    ("§12.6", "ResNet-18, uma GPU", 0.93),
)


def best_setup(seed=0, num_epochs=BEST_EPOCHS):
    """Rede e hiperparâmetros do melhor classificador do capítulo 8 (Fashion-MNIST, CPU de 2 núcleos).

    Devolve ``(net, cfg)``: uma :class:`SmallResNet` de larguras ``BEST_WIDTHS`` e
    blocos ``BEST_BLOCKS`` em formato ``channels_last``, iniciada com a semente
    ``seed``, e um ``livro.train.Config`` com SGD, agenda *one-cycle*, suavização
    de rótulos 0,1 e a precisão mista que o contrato de :mod:`livro.device` escolher. O mesmo par serve ao capítulo e a
    ``benchmarks/treina_melhor_cnn.py``.
    """
    _check.integer(seed, "seed", minimum=0)
    _check.positive_int(num_epochs, "num_epochs")
    from . import train

    torch.manual_seed(seed)
    net = SmallResNet(BEST_WIDTHS, BEST_BLOCKS).to(memory_format=torch.channels_last)
    cfg = train.Config(num_epochs=num_epochs, batch_size=256, lr=0.2, optimizer="sgd", momentum=0.9,
                       weight_decay=5e-4, schedule="onecycle", label_smoothing=0.1, amp="auto", seed=seed)
    return net, cfg
