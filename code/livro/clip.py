"""Um CLIP pequeno: pares imagem–legenda em português, perda contrastiva e classificação *zero-shot*.

As imagens vêm de :func:`livro.shapes.make_scenes` (um objeto por cena, quatro
cores, três formas) e as legendas são montadas aqui, palavra por palavra, a
partir dos atributos do objeto: forma, cor, tamanho e posição. O codificador de
texto usa os blocos de :class:`livro.attention.Encoder`; o de
imagem é uma pequena rede convolucional. A perda contrastiva simétrica, o
*recall@k* e a classificação *zero-shot* são escritos à mão.

Para treinar com :func:`livro.train.fit`, imagem e legenda viajam juntas numa
linha de ``X`` (:func:`pack`): os pixels e, no fim, os índices das palavras.
O "alvo" ``y`` de cada linha diz o que a legenda afirma (:func:`caption_targets`).
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from . import attention, device, shapes

__all__ = ["SHAPES", "COLORS", "VOCAB", "Pairs", "make_pairs", "tokenize", "pack", "unpack",
           "clip_loss", "positives", "diagonal_loss", "multi_positive_loss", "CLIP", "FactoredImageNet",
           "plain_image_net", "caption_targets", "combo_mask", "encode_images", "encode_texts",
           "zero_shot", "recall_at_k"]

SHAPES = shapes.CLASSES                     # círculo, quadrado, triângulo
COLORS = shapes.COLORS[:4]                  # vermelho, verde, azul, amarelo
FEMININE = {"vermelho": "vermelha", "verde": "verde", "azul": "azul", "amarelo": "amarela"}
SIZES, HPOS, VPOS = ("pequeno", "grande"), ("à esquerda", "no centro", "à direita"), ("em cima", "embaixo")
VOCAB = ("<pad>", "um", "uma", "forma", "figura", "de", "cor", "há", "e", "objeto", *SHAPES, *COLORS,
         "vermelha", "amarela", *SIZES, "à", "esquerda", "no", "centro", "direita", "em", "cima", "embaixo")
MAX_LEN = 8
WORD = {w: i for i, w in enumerate(VOCAB)}

# modelos de legenda: "full" cita forma e cor; "shape"/"color" citam só um atributo
TEMPLATES = {
    "full": ("um {s} {c}", "um {s} {c} {h}", "um {s} {c} {v}", "um {s} {t} e {c}", "{h} há um {s} {c}"),
    "shape": ("um {s}", "um {s} {t}", "um {s} {h}"),
    "color": ("uma forma {f}", "um objeto {c}", "uma figura de cor {f}"),
}


def _int(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} deve ser um inteiro, recebi {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} deve ser ≥ {minimum}, recebi {value}")
    return value


def _tensor(name, x, ndim):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} deve ser um tensor do PyTorch, recebi {type(x).__name__}")
    if x.ndim != ndim:
        raise ValueError(f"{name} deve ter {ndim} dimensões, recebi forma {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{name} está vazio (forma {tuple(x.shape)})")
    return x


class Pairs:
    """Pares imagem–legenda: ``images (n, 3, S, S)``, ``captions`` (lista de ``str``),
    ``shape``, ``color`` ``(n,)`` do objeto e ``said_shape``, ``said_color`` ``(n,)``: o que a
    legenda afirma (−1 = não diz), e ``boxes (n, 4)``, a caixa ``(x1, y1, x2, y2)`` do objeto."""

    def __init__(self, images, captions, shape, color, said_shape, said_color, boxes):
        self.images, self.captions, self.boxes = images, captions, boxes
        self.shape, self.color, self.said_shape, self.said_color = shape, color, said_shape, said_color

    def __len__(self):
        return len(self.captions)


def make_pairs(n, size=24, held_out=(), partial=0.0, seed=0):
    """Sorteia ``n`` pares de uma forma colorida com legenda; evita as combinações ``held_out``.

    ``held_out`` é uma coleção de pares ``(forma, cor)`` em índices de :data:`SHAPES` e
    :data:`COLORS`. ``partial`` é a fração de legendas que cita um só atributo (metade
    só a forma, metade só a cor); as demais citam os dois, num modelo sorteado.
    """
    _int("n", n)
    _int("seed", seed, 0)
    if isinstance(partial, bool) or not isinstance(partial, (int, float)) or not 0 <= partial <= 1:
        raise ValueError(f"partial deve ser um número em [0, 1], recebi {partial!r}")
    held = {tuple(p) for p in held_out}
    if any(not (0 <= s < len(SHAPES) and 0 <= c < len(COLORS)) for s, c in held):
        raise ValueError(f"held_out deve ter pares (forma, cor) em [0, {len(SHAPES)}) × [0, {len(COLORS)}), "
                         f"recebi {sorted(held)}")
    if len(held) == len(SHAPES) * len(COLORS):
        raise ValueError("held_out não pode conter todas as combinações")
    # sorteia a mais e fica com as cenas de cores permitidas e combinações não reservadas
    scenes = shapes.make_scenes(4 * n + 64, size=size, num_objects=(1, 1), min_size=size // 3,
                                max_size=size // 2 + 2, seed=seed)
    shape = torch.cat(scenes.labels)
    color = torch.cat(scenes.colors)
    ok = color < len(COLORS)
    for s, c in held:
        ok &= ~((shape == s) & (color == c))
    keep = torch.nonzero(ok).flatten()[:n]
    if len(keep) < n:
        raise ValueError(f"não consegui sortear {n} pares; use outra semente")
    boxes = torch.stack([scenes.boxes[i][0] for i in keep.tolist()])
    shape, color = shape[keep], color[keep]
    g = torch.Generator().manual_seed(seed + 1)
    kind = torch.rand(n, generator=g)
    pick = torch.randint(0, 1000, (n,), generator=g)
    cx = (boxes[:, 0] + boxes[:, 2]) / 2 / size
    cy = (boxes[:, 1] + boxes[:, 3]) / 2 / size
    side = (boxes[:, 2] - boxes[:, 0]).maximum(boxes[:, 3] - boxes[:, 1]) / size
    captions, said_shape, said_color = [], [], []
    for i in range(n):
        k = "full" if kind[i] >= partial else ("shape" if kind[i] < partial / 2 else "color")
        template = TEMPLATES[k][int(pick[i]) % len(TEMPLATES[k])]
        c = COLORS[int(color[i])]
        captions.append(template.format(
            s=SHAPES[int(shape[i])], c=c, f=FEMININE[c], t=SIZES[int(side[i] > 0.45)],
            h=HPOS[min(int(cx[i] * 3), 2)], v=VPOS[int(cy[i] > 0.5)]))
        said_shape.append(-1 if k == "color" else int(shape[i]))
        said_color.append(-1 if k == "shape" else int(color[i]))
    return Pairs(scenes.images[keep], captions, shape, color, torch.tensor(said_shape), torch.tensor(said_color),
                 boxes)


def combo_mask(pairs, combos):
    """Máscara ``(n,)`` booleana: o par ``i`` é de uma das combinações ``(forma, cor)`` em ``combos``?"""
    if not isinstance(pairs, Pairs):
        raise TypeError(f"pairs deve ser um clip.Pairs, recebi {type(pairs).__name__}")
    combos = [tuple(c) for c in combos]
    if any(len(c) != 2 or not (0 <= c[0] < len(SHAPES) and 0 <= c[1] < len(COLORS)) for c in combos):
        raise ValueError(f"combos deve ter pares (forma, cor) em [0, {len(SHAPES)}) × [0, {len(COLORS)}), "
                         f"recebi {combos}")
    out = torch.zeros(len(pairs), dtype=torch.bool)
    for s, c in combos:
        out |= (pairs.shape == s) & (pairs.color == c)
    return out


def tokenize(captions):
    """Legendas → índices ``(n, MAX_LEN)`` no vocabulário :data:`VOCAB`, completados com 0."""
    if isinstance(captions, str) or not isinstance(captions, (list, tuple)) or not captions:
        raise TypeError(f"captions deve ser uma lista não vazia de frases, recebi {type(captions).__name__}")
    out = torch.zeros(len(captions), MAX_LEN, dtype=torch.long)
    for i, text in enumerate(captions):
        words = text.split()
        unknown = [w for w in words if w not in WORD]
        if unknown or not words or len(words) > MAX_LEN:
            raise ValueError(f"legenda {text!r}: precisa de 1 a {MAX_LEN} palavras do vocabulário; "
                             f"desconhecidas: {unknown}")
        out[i, :len(words)] = torch.tensor([WORD[w] for w in words])
    return out


def pack(images, tokens):
    """Junta imagens ``(n, 3, S, S)`` e índices ``(n, L)`` numa matriz ``(n, 3·S·S + L)`` para ``train.fit``."""
    _tensor("images", images, 4)
    _tensor("tokens", tokens, 2)
    if len(images) != len(tokens):
        raise ValueError(f"images e tokens devem ter o mesmo n, recebi {len(images)} e {len(tokens)}")
    return torch.cat([images.flatten(1), tokens.to(images.dtype)], 1)


def unpack(X, size, length=MAX_LEN):
    """O inverso de :func:`pack`: ``(imagens, índices)``."""
    _tensor("X", X, 2)
    if X.shape[1] != 3 * size * size + length:
        raise ValueError(f"X deve ter {3 * size * size + length} colunas, recebi {X.shape[1]}")
    return X[:, :-length].reshape(-1, 3, size, size), X[:, -length:].round().long()


def caption_targets(pairs):
    """Alvo ``(n, 4)`` de cada par: forma e cor do objeto, forma e cor ditas (−1 = não diz)."""
    return torch.stack([pairs.shape, pairs.color, pairs.said_shape, pairs.said_color], 1)


def positives(target):
    """Matriz ``(n, n)`` booleana: a legenda ``j`` é verdadeira para a imagem ``i``?"""
    _tensor("target", target, 2)
    shape, color, said_shape, said_color = target.T
    ok_shape = (said_shape[None, :] < 0) | (said_shape[None, :] == shape[:, None])
    ok_color = (said_color[None, :] < 0) | (said_color[None, :] == color[:, None])
    return ok_shape & ok_color


def clip_loss(logits, targets=None):
    """Perda contrastiva simétrica: média da entropia cruzada nas linhas (imagem → texto) e nas colunas.

    ``logits`` é a matriz ``(n, n)`` de similaridades já multiplicadas pela escala; o par
    certo de cada linha e de cada coluna está na diagonal. Com ``targets`` (``(n, n)``
    booleana), cada linha/coluna divide a probabilidade-alvo igualmente entre os seus positivos.
    """
    _tensor("logits", logits, 2)
    n = logits.shape[0]
    if logits.shape[1] != n:
        raise ValueError(f"logits deve ser quadrada (n, n), recebi forma {tuple(logits.shape)}")
    if targets is None:
        targets = torch.eye(n, dtype=torch.bool, device=logits.device)
    elif targets.shape != logits.shape or targets.dtype != torch.bool:
        raise ValueError(f"targets deve ser booleana de forma {tuple(logits.shape)}, "
                         f"recebi {targets.dtype} {tuple(targets.shape)}")
    t = targets.float()
    rows = -(t / t.sum(1, keepdim=True) * logits.log_softmax(1)).sum(1).mean()   # imagem → texto
    cols = -(t / t.sum(0, keepdim=True) * logits.log_softmax(0)).sum(0).mean()   # texto → imagem
    return (rows + cols) / 2


class FactoredImageNet(nn.Module):
    """Codificador de imagem em dois ramos: a forma vê só o brilho, a cor vê só cada pixel.

    O ramo de forma recebe ``max`` dos três canais (uma imagem em tons de cinza, quase
    igual para todas as cores) e passa por convoluções 3×3; o ramo de cor passa cada
    pixel por convoluções 1×1 (nenhum contexto espacial, logo nenhuma forma). As duas
    saídas ``(n, ·, S/4, S/4)`` são empilhadas nos canais.
    """

    def __init__(self, dim):
        super().__init__()
        w, c = dim // 2, dim // 4
        self.shape_net = nn.Sequential(
            nn.Conv2d(1, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(w, dim - c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(dim - c, dim - c, 3, padding=1), nn.ReLU())
        self.color_net = nn.Sequential(
            nn.Conv2d(3, c, 1), nn.ReLU(), nn.Conv2d(c, c, 1), nn.ReLU(), nn.MaxPool2d(4))

    def forward(self, x):
        return torch.cat([self.shape_net(x.amax(1, keepdim=True)), self.color_net(x)], 1)


def plain_image_net(dim):
    """Três convoluções 3×3 sobre os três canais, com duas reduções: ``(n, 3, S, S) → (n, dim, S/4, S/4)``."""
    w = dim // 2
    return nn.Sequential(
        nn.Conv2d(3, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(w, dim, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(dim, dim, 3, padding=1), nn.ReLU())


class CLIP(nn.Module):
    """Dois codificadores que levam imagens e legendas ao mesmo espaço de ``dim`` números.

    Imagem: :func:`plain_image_net` ou :class:`FactoredImageNet`, e a média espacial.
    Texto: embeddings de palavras, posições aprendidas, ``depth`` blocos de ``attention.Encoder``
    e a média das palavras não vazias. Com ``depth=0`` não há autoatenção: cada palavra passa
    só por uma ``LayerNorm``, sem ver as outras, e a legenda é a média delas. Cada lado termina
    numa projeção linear e numa normalização L2. ``logit_scale`` é o log da escala (o inverso
    da temperatura), aprendido se ``learn_scale``.
    """

    def __init__(self, size=24, dim=64, depth=1, num_heads=4, init_temperature=0.07, learn_scale=True,
                 image_net="plain"):
        super().__init__()
        self.size = _int("size", size, 8)
        _int("dim", dim, 8)
        _int("depth", depth, 0)
        if image_net not in ("plain", "factored"):
            raise ValueError(f"image_net deve ser 'plain' ou 'factored', recebi {image_net!r}")
        if not (isinstance(init_temperature, (int, float)) and not isinstance(init_temperature, bool)
                and math.isfinite(init_temperature) and init_temperature > 0):
            raise ValueError(f"init_temperature deve ser um número > 0, recebi {init_temperature!r}")
        self.image_net = plain_image_net(dim) if image_net == "plain" else FactoredImageNet(dim)
        self.image_proj = nn.Linear(dim, dim)
        self.word = nn.Embedding(len(VOCAB), dim)
        self.pos = nn.Parameter(0.02 * torch.randn(1, MAX_LEN, dim))
        # depth = 0: sem autoatenção; cada palavra passa só por uma LayerNorm (um "saco de palavras")
        self.text_net = attention.Encoder(dim, depth, num_heads, mlp_ratio=2) if depth else nn.LayerNorm(dim)
        self.text_proj = nn.Linear(dim, dim)
        scale = torch.tensor(math.log(1 / init_temperature))
        self.logit_scale = nn.Parameter(scale, requires_grad=learn_scale)

    def image_patches(self, images):
        """Um vetor normalizado por região da imagem: ``(n, (S/4)², dim)``."""
        _tensor("images", images, 4)
        return F.normalize(self.image_proj(self.image_net(images).flatten(2).transpose(1, 2)), dim=-1)

    def encode_image(self, images):
        _tensor("images", images, 4)
        return F.normalize(self.image_proj(self.image_net(images).mean((2, 3))), dim=-1)

    def encode_text(self, tokens):
        _tensor("tokens", tokens, 2)
        keep = tokens != 0                                            # (n, L): palavras de verdade
        x = self.word(tokens) + self.pos[:, :tokens.shape[1]]
        if isinstance(self.text_net, attention.Encoder):
            x = self.text_net(x, mask=keep[:, None, None, :])
        else:
            x = self.text_net(x)
        x = (x * keep[..., None]).sum(1) / keep.sum(1, keepdim=True)  # média das palavras
        return F.normalize(self.text_proj(x), dim=-1)

    def forward(self, X):
        """``X`` empacotado por :func:`pack` → logits ``(n, n)``: imagens nas linhas, legendas nas colunas."""
        images, tokens = unpack(X, self.size)
        return self.logit_scale.exp() * self.encode_image(images) @ self.encode_text(tokens).T


@torch.no_grad()
def encode_texts(net, captions):
    """Embeddings ``(n, dim)`` de uma lista de legendas, na CPU."""
    was = net.training
    net.eval()
    out = net.encode_text(device.to_model(net, tokenize(captions))).cpu()
    net.train(was)
    return out


@torch.no_grad()
def encode_images(net, images, batch_size=1024):
    """Embeddings ``(n, dim)`` das imagens, em lotes, na CPU."""
    _tensor("images", images, 4)
    was = net.training
    net.eval()
    out = torch.cat([net.encode_image(device.to_model(net, images[i:i + batch_size])).cpu()
                     for i in range(0, len(images), batch_size)])
    net.train(was)
    return out


def zero_shot(image_emb, prompt_emb):
    """Classe de cada imagem: o *prompt* de maior similaridade de cosseno. Devolve ``(n,)``."""
    _tensor("image_emb", image_emb, 2)
    _tensor("prompt_emb", prompt_emb, 2)
    if image_emb.shape[1] != prompt_emb.shape[1]:
        raise ValueError(f"image_emb e prompt_emb devem ter a mesma largura, recebi "
                         f"{image_emb.shape[1]} e {prompt_emb.shape[1]}")
    return (image_emb @ prompt_emb.T).argmax(1)


def recall_at_k(sim, relevant, ks=(1, 5, 10)):
    """Fração das consultas (linhas de ``sim``) com um item relevante entre os ``k`` mais parecidos.

    ``sim`` é ``(consultas, itens)``; ``relevant`` é booleana da mesma forma. Devolve ``{k: recall}``.
    """
    _tensor("sim", sim, 2)
    if not isinstance(relevant, torch.Tensor) or relevant.shape != sim.shape or relevant.dtype != torch.bool:
        raise ValueError(f"relevant deve ser booleana de forma {tuple(sim.shape)}")
    ks = tuple(ks)
    if not ks or any(isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= sim.shape[1] for k in ks):
        raise ValueError(f"ks deve ter inteiros em [1, {sim.shape[1]}], recebi {ks}")
    order = sim.argsort(1, descending=True)[:, :max(ks)]
    hit = relevant.gather(1, order)                      # (consultas, max_k)
    return {k: float(hit[:, :k].any(1).float().mean()) for k in ks}


def diagonal_loss(logits, target):
    """Perda de ``train.fit`` no desenho simples: só o par da diagonal é positivo (``target`` é ignorado)."""
    return clip_loss(logits)


def multi_positive_loss(logits, target):
    """Perda de ``train.fit`` com vários positivos: toda legenda verdadeira para a imagem conta (:func:`positives`)."""
    return clip_loss(logits, positives(target))
