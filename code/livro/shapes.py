"""Cenas sintéticas com formas coloridas: o conjunto de dados de segmentação e de detecção.

Cada cena é uma imagem ``(3, size, size)`` com um fundo escuro e ruidoso e de 1 a 3
formas (círculo, quadrado, triângulo) de cores e tamanhos sorteados. Junto com a
imagem vêm as respostas: a máscara de classes por pixel e, para cada objeto, a caixa
justa em torno dos seus pixels **visíveis**, a classe e a cor. Tudo sai de um
``torch.Generator`` com a semente dada, sem tocar no estado global: a mesma semente
dá sempre as mesmas cenas.

A geração é vetorizada sobre as cenas: o único laço em Python percorre as posições
de objeto (o 1º objeto de todas as cenas, depois o 2º…), e cada forma é desenhada
comparando a grade de pixels com a sua equação.
"""

from collections import namedtuple

import torch

__all__ = ["CLASSES", "COLORS", "RGB", "Scenes", "make_scenes"]

CLASSES = ("círculo", "quadrado", "triângulo")
COLORS = ("vermelho", "verde", "azul", "amarelo", "magenta", "ciano")
RGB = torch.tensor([[0.90, 0.15, 0.15], [0.20, 0.80, 0.25], [0.25, 0.40, 1.00],
                    [0.95, 0.90, 0.20], [0.90, 0.25, 0.90], [0.20, 0.85, 0.90]])

Scenes = namedtuple("Scenes", ["images", "masks", "boxes", "labels", "colors"])
Scenes.__doc__ = """Um lote de cenas: ``images (n, 3, S, S)``, ``masks (n, S, S)`` com
0 = fundo e 1 + classe, e as listas (uma entrada por cena) ``boxes (k, 4)`` em
``(x1, y1, x2, y2)``, ``labels (k,)`` e ``colors (k,)``."""

MIN_VISIBLE = 0.5   # fração mínima da área de um objeto que outro pode deixar à vista
MAX_TRIES = 20      # sorteios de posição antes de desistir de um objeto


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _check_int(name, value, minimum):
    if not _is_int(value):
        raise TypeError(f"{name} deve ser um inteiro, recebi {value!r}")
    if value < minimum:
        raise ValueError(f"{name} deve ser ≥ {minimum}, recebi {value}")


def _check_args(n, size, num_objects, min_size, max_size, overlap, allow_cut, seed):
    _check_int("n", n, 1)
    _check_int("size", size, 8)
    if not (isinstance(num_objects, tuple) and len(num_objects) == 2
            and all(_is_int(v) for v in num_objects)):
        raise TypeError(f"num_objects deve ser um par de inteiros (mínimo, máximo), "
                        f"recebi {num_objects!r}")
    if not 1 <= num_objects[0] <= num_objects[1]:
        raise ValueError(f"num_objects deve ter 1 ≤ mínimo ≤ máximo, recebi {num_objects}")
    _check_int("min_size", min_size, 4)
    _check_int("max_size", max_size, min_size)
    if max_size > size:
        raise ValueError(f"max_size deve ser ≤ size = {size}, recebi {max_size}")
    for name, value in (("overlap", overlap), ("allow_cut", allow_cut)):
        if not isinstance(value, bool):
            raise TypeError(f"{name} deve ser True ou False, recebi {value!r}")
    _check_int("seed", seed, 0)


def _shape_masks(label, x0, y0, side, size):
    """Máscaras ``(n, size, size)`` das formas com canto superior esquerdo ``(x0, y0)``.

    Um pixel pertence à forma quando o seu centro ``(x + ½, y + ½)`` satisfaz a equação
    da forma: disco de diâmetro ``side``, quadrado de lado ``side`` ou triângulo isósceles
    de base ``side`` apoiado embaixo, com o vértice no meio da borda de cima.
    """
    grid = torch.arange(size, dtype=torch.float32) + 0.5
    px, py = grid.view(1, 1, size), grid.view(1, size, 1)
    x0, y0, side = (t.float().view(-1, 1, 1) for t in (x0, y0, side))
    u, v = px - x0, py - y0                         # coordenadas dentro do quadrado da forma
    inside = (u >= 0) & (u < side) & (v >= 0) & (v < side)
    half = side / 2
    disc = (u - half) ** 2 + (v - half) ** 2 <= half ** 2
    triangle = inside & ((u - half).abs() <= v / 2)  # meia largura cresce de 0 a side/2
    label = label.view(-1, 1, 1)
    return torch.where(label == 0, disc, torch.where(label == 1, inside, triangle))


def _tight_boxes(instances, num_slots):
    """Caixas ``(n, num_slots, 4)`` justas nos pixels com ``instances == j``."""
    size = instances.shape[-1]
    idx = torch.arange(size)
    boxes = []
    for j in range(num_slots):
        visible = instances == j
        cols, rows = visible.any(1), visible.any(2)    # (n, size) cada
        x1 = torch.where(cols, idx, size).amin(1)
        x2 = torch.where(cols, idx + 1, 0).amax(1)
        y1 = torch.where(rows, idx, size).amin(1)
        y2 = torch.where(rows, idx + 1, 0).amax(1)
        boxes.append(torch.stack([x1, y1, x2, y2], 1))
    return torch.stack(boxes, 1).float()


def make_scenes(n, size=32, num_objects=(1, 3), min_size=8, max_size=16, overlap=True,
                allow_cut=False, seed=0):
    """Sorteia ``n`` cenas ``size × size`` com de ``num_objects[0]`` a ``num_objects[1]`` formas.

    Os lados das formas vão de ``min_size`` a ``max_size`` pixels. Com ``overlap=True`` um
    objeto pode cobrir parte de outro desenhado antes, mas nunca mais que metade dele
    (``MIN_VISIBLE``); com ``overlap=False`` os objetos não se tocam. Com
    ``allow_cut=False`` nenhum objeto é cortado pela borda; com ``True`` até metade do
    quadrado de um objeto pode ficar fora da imagem. Um objeto que não encontra lugar em
    ``MAX_TRIES`` sorteios é deixado de fora, de modo que uma cena pode ter menos objetos
    que o sorteado (nunca menos que um). Devolve um :class:`Scenes`.
    """
    _check_args(n, size, num_objects, min_size, max_size, overlap, allow_cut, seed)
    g = torch.Generator().manual_seed(seed)
    lo, hi = num_objects
    wanted = torch.randint(lo, hi + 1, (n,), generator=g)
    background = 0.05 + 0.10 * torch.rand(n, 3, 1, 1, generator=g)
    images = background.expand(n, 3, size, size).clone()
    instances = torch.full((n, size, size), -1, dtype=torch.long)   # índice do objeto ou −1
    labels = torch.zeros(n, hi, dtype=torch.long)
    colors = torch.zeros(n, hi, dtype=torch.long)
    areas = torch.zeros(n, hi)
    placed = torch.zeros(n, hi, dtype=torch.bool)
    for j in range(hi):
        # a classe e a cor são sorteadas uma vez; só o tamanho e a posição são sorteados de novo
        label = torch.randint(len(CLASSES), (n,), generator=g)
        color = torch.randint(len(COLORS), (n,), generator=g)
        shade = RGB[color] * (0.75 + 0.25 * torch.rand(n, 1, generator=g))    # (n, 3)
        todo = torch.nonzero(wanted > j if j > 0 else torch.ones(n, dtype=torch.bool)).flatten()
        for _ in range(MAX_TRIES):   # o 1º objeto sempre cabe: cena sem objeto não existe
            if len(todo) == 0:
                break
            m = len(todo)
            side = torch.randint(min_size, max_size + 1, (m,), generator=g)
            margin = side // 2 if allow_cut else torch.zeros_like(side)
            span = size - side + 2 * margin + 1                        # posições possíveis
            x0 = (torch.rand(m, generator=g) * span).long() - margin
            y0 = (torch.rand(m, generator=g) * span).long() - margin
            new = _shape_masks(label[todo], x0, y0, side, size)         # (m, size, size)
            inst = instances[todo]
            ok = new.flatten(1).any(1)
            if overlap:      # cada objeto anterior guarda ao menos metade da sua área
                for k in range(j):
                    left = ((inst == k) & ~new).flatten(1).sum(1)
                    ok &= ~placed[todo, k] | (left >= MIN_VISIBLE * areas[todo, k])
            else:
                ok &= ~(new & (inst >= 0)).flatten(1).any(1)
            new, done = new[ok], todo[ok]
            instances[done] = torch.where(new, j, instances[done])
            images[done] = torch.where(new.unsqueeze(1), shade[done].view(-1, 3, 1, 1), images[done])
            labels[done, j], colors[done, j], placed[done, j] = label[done], color[done], True
            areas[done, j] = new.flatten(1).sum(1).float()
            todo = todo[~ok]
    noise = 0.04 * torch.randn(n, 3, size, size, generator=g)
    images = (images + noise).clamp(0, 1)
    masks = torch.where(instances >= 0, 1 + labels.gather(1, instances.clamp(min=0).flatten(1))
                        .view(n, size, size), 0)
    # um objeto pode ter sido coberto por outro: a caixa é justa nos pixels que restaram
    boxes = _tight_boxes(instances, hi)
    counts = placed.sum(1).tolist()
    return Scenes(images, masks, list(boxes[placed].split(counts)),
                  list(labels[placed].split(counts)), list(colors[placed].split(counts)))
