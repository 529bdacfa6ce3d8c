"""Redução de dimensionalidade e agrupamento, escritos à mão.

A PCA pela decomposição espectral da matriz de covariância (``pca_eig``)
complementa a versão pela SVD que está em ``livro.cnn.pca`` desde o capítulo 7;
as duas usam a mesma convenção de sinal. O k-médias (*k-means*) de Lloyd
(``kmeans``) recebe os centros iniciais de uma das três inicializações
(``init_random``, ``init_kmeans_pp``, ``init_class_means``) e calcula as
distâncias em blocos de linhas: a memória fica em ``chunk_size × K`` números,
nunca ``N × K × D``. Para avaliar agrupamentos há ``purity`` e
``adjusted_rand_index``; para a quantização de cores de uma foto,
``pixel_features``, ``label_edges``, ``png_size``, ``palette_png_size`` e
``index_bits``.
"""

import io
import math
from collections import namedtuple

import numpy as np
import torch

__all__ = [
    "pca_eig", "sq_distances", "assign", "init_random", "init_kmeans_pp", "init_class_means",
    "KMeansResult", "kmeans", "purity", "adjusted_rand_index", "pixel_features", "label_edges",
    "png_size", "palette_png_size", "index_bits",
]

KMeansResult = namedtuple("KMeansResult", ["centers", "labels", "inertia", "n_iter", "converged", "history"])
KMeansResult.__doc__ = """Resultado do k-médias: centros ``(K, D)``, rótulos ``(N,)``, inércia final,
número de iterações, se convergiu (rótulos repetidos) e a inércia de cada iteração."""


def _int(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} deve ser um número inteiro, recebi {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} deve ser ≥ {minimum}, recebi {value}")
    return int(value)


def _matrix(name, X):
    """Confere que ``X`` é um tensor de ponto flutuante ``(n, d)``, não vazio e finito."""
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"{name} deve ser um tensor do PyTorch, recebi {type(X).__name__}")
    if X.ndim != 2:
        raise ValueError(f"{name} deve ter forma (n, d), recebi {tuple(X.shape)}")
    if not X.is_floating_point():
        raise TypeError(f"{name} deve ser de ponto flutuante, recebi {X.dtype}")
    if X.numel() == 0:
        raise ValueError(f"{name} está vazio: forma {tuple(X.shape)}")
    if not torch.isfinite(X).all():
        raise ValueError(f"{name} tem valores não finitos (NaN ou infinito): trate os dados "
                         "faltantes antes (descartando linhas ou imputando valores)")
    return X


def _labels(name, y):
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"{name} deve ser um tensor do PyTorch, recebi {type(y).__name__}")
    if y.ndim != 1 or y.dtype.is_floating_point or y.dtype == torch.bool or y.is_complex():
        raise ValueError(f"{name} deve ser um vetor de inteiros (n,), recebi forma {tuple(y.shape)} e {y.dtype}")
    if len(y) == 0:
        raise ValueError(f"{name} está vazio")
    if int(y.min()) < 0:
        raise ValueError(f"{name} tem rótulos negativos (mínimo {int(y.min())})")
    return y.long()


def _fix_signs(components):
    """Cada linha com o maior coeficiente (em valor absoluto) positivo, como em ``cnn.pca``."""
    signs = torch.sign(components.gather(1, components.abs().argmax(dim=1, keepdim=True)))
    return components * signs


def pca_eig(X, num_components=2):
    """PCA de ``X`` ``(n, d)`` pelos autovetores da matriz de covariância dos dados centrados.

    Devolve ``(scores, components, explained_variance)``, como ``cnn.pca``:
    projeções ``(n, q)``, direções ``(q, d)`` ortonormais (a menos do sinal; aqui
    o maior coeficiente de cada uma é positivo) e autovalores da covariância com
    divisor ``n − 1``, em ordem decrescente.
    """
    X = _matrix("X", X)
    n, d = X.shape
    _int("num_components", num_components)
    if n < 2:
        raise ValueError(f"X precisa de ao menos 2 linhas para ter covariância, recebi {n}")
    if num_components > min(n, d):
        raise ValueError(f"num_components = {num_components} passa de min(n, d) = {min(n, d)}")
    Xc = X - X.mean(dim=0)
    cov = Xc.T @ Xc / (n - 1)  # (d, d), simétrica
    eigenvalues, eigenvectors = torch.linalg.eigh(cov)  # em ordem crescente
    order = eigenvalues.argsort(descending=True)[:num_components]
    components = _fix_signs(eigenvectors[:, order].T)  # (q, d)
    return Xc @ components.T, components, eigenvalues[order]


def sq_distances(X, C):
    """Distâncias euclidianas ao quadrado ``(n, K)`` entre as linhas de ``X`` e de ``C``.

    Usa ``‖x‖² − 2 x·c + ‖c‖²``: um produto de matrizes, sem o tensor ``(n, K, d)`` das
    diferenças. Arredondamentos podem dar valores levemente negativos; cortamos em zero.
    """
    return ((X * X).sum(1, keepdim=True) - 2 * X @ C.T + (C * C).sum(1)).clamp_min_(0)


def _centers(name, C, X):
    C = _matrix(name, C)
    if C.shape[1] != X.shape[1] or C.dtype != X.dtype or C.device != X.device:
        raise ValueError(f"{name} deve ter {X.shape[1]} colunas, dtype {X.dtype} e dispositivo {X.device} "
                         f"como X; recebi {tuple(C.shape)}, {C.dtype}, {C.device}")
    return C


def assign(X, C, chunk_size=4096):
    """Centro mais próximo de cada linha de ``X``: ``(labels, sq_dist)``, ambos ``(n,)``.

    Processa ``chunk_size`` linhas por vez, então a maior matriz criada tem
    ``chunk_size × K`` entradas.
    """
    X = _matrix("X", X)
    C = _centers("C", C, X)
    return _assign(X, (X * X).sum(1), C, _int("chunk_size", chunk_size))


def _assign(X, x_sq, C, chunk_size):
    """``assign`` sem conferências, com as normas ``x_sq = ‖x‖²`` já calculadas."""
    labels = torch.empty(len(X), dtype=torch.long, device=X.device)
    dist = torch.empty(len(X), dtype=X.dtype, device=X.device)
    c_sq = (C * C).sum(1)
    for start in range(0, len(X), chunk_size):
        block = slice(start, start + chunk_size)
        d2 = (x_sq[block, None] - 2 * X[block] @ C.T + c_sq).clamp_min_(0)  # (chunk, K)
        dist[block], labels[block] = d2.min(dim=1)
    return labels, dist


def _check_k(X, k):
    k = _int("k", k)
    if k > len(X):
        raise ValueError(f"k = {k} passa do número de pontos, {len(X)}")
    return k


def init_random(X, k, seed=0):
    """``k`` linhas distintas de ``X``, sorteadas com a semente ``seed``."""
    X = _matrix("X", X)
    k = _check_k(X, k)
    generator = torch.Generator().manual_seed(_int("seed", seed, minimum=0))
    return X[torch.randperm(len(X), generator=generator)[:k].to(X.device)].clone()


def init_kmeans_pp(X, k, seed=0, chunk_size=4096):
    """Inicialização *k-means++*: cada novo centro é um ponto sorteado com probabilidade
    proporcional ao quadrado da distância ao centro mais próximo já escolhido."""
    X = _matrix("X", X)
    k = _check_k(X, k)
    generator = torch.Generator().manual_seed(_int("seed", seed, minimum=0))
    chunk_size = _int("chunk_size", chunk_size)
    x_sq = (X * X).sum(1)
    index = [int(torch.randint(len(X), (1,), generator=generator))]
    _, d2 = _assign(X, x_sq, X[index], chunk_size)  # (n,)
    for _ in range(1, k):
        weights = d2.double().cpu()
        if weights.sum() == 0:  # todos os pontos já coincidem com um centro: sorteio uniforme
            weights = torch.ones_like(weights)
        index.append(int(torch.multinomial(weights, 1, generator=generator)))
        _, d_new = _assign(X, x_sq, X[index[-1:]], chunk_size)
        d2 = torch.minimum(d2, d_new)
    return X[index].clone()


def init_class_means(X, y, k):
    """Centros iniciais nas médias das classes ``0 … k−1`` (usa os rótulos ``y``)."""
    X = _matrix("X", X)
    y = _labels("y", y)
    k = _int("k", k)
    if len(y) != len(X):
        raise ValueError(f"X e y têm comprimentos diferentes: {len(X)} e {len(y)}")
    if int(y.max()) >= k:
        raise ValueError(f"y tem rótulos fora de [0, {k}): máximo {int(y.max())}")
    counts = torch.bincount(y.to(X.device), minlength=k)
    if (counts == 0).any():
        raise ValueError(f"as classes {(counts == 0).nonzero().flatten().tolist()} não têm exemplos")
    sums = torch.zeros(k, X.shape[1], dtype=X.dtype, device=X.device).index_add_(0, y.to(X.device), X)
    return sums / counts[:, None].to(X.dtype)


def _update(X, labels, dist, k):
    """Médias dos grupos; um grupo vazio recebe o ponto mais distante do seu centro
    (a regra do scikit-learn), que sai do grupo onde estava."""
    counts = torch.bincount(labels, minlength=k).to(X.dtype)
    sums = torch.zeros(k, X.shape[1], dtype=X.dtype, device=X.device).index_add_(0, labels, X)
    empty = (counts == 0).nonzero().flatten().tolist()
    if empty:
        far = dist.argsort(descending=True)[:len(empty)].tolist()
        for j, p in zip(empty, far):
            old = int(labels[p])
            sums[old] -= X[p]
            counts[old] -= 1
            sums[j], counts[j] = X[p], 1
    return sums / counts[:, None]


def kmeans(X, init, max_iter=300, chunk_size=4096):
    """Algoritmo de Lloyd a partir dos centros ``init`` ``(K, D)``.

    Cada iteração atribui cada ponto ao centro mais próximo e move cada centro
    para a média dos seus pontos. Para num ponto fixo (os rótulos se repetem de
    uma iteração para a seguinte, ou os centros não se movem, como o
    scikit-learn com ``tol=0``) ou depois de ``max_iter`` iterações;
    ``converged`` diz se chegou ao ponto fixo. Devolve um ``KMeansResult``;
    ``history`` guarda a inércia (soma das distâncias ao
    quadrado) no início de cada iteração, que nunca aumenta.
    """
    X = _matrix("X", X)
    C = _centers("init", init, X).clone()
    k = _check_k(X, len(C))
    max_iter = _int("max_iter", max_iter)
    chunk_size = _int("chunk_size", chunk_size)
    x_sq = (X * X).sum(1)  # (N,), calculado uma vez
    previous, history, converged = None, [], False
    for _ in range(max_iter):
        labels, dist = _assign(X, x_sq, C, chunk_size)
        history.append(dist.sum())
        C_new = _update(X, labels, dist, k)
        # ponto fixo: os rótulos se repetiram, ou os centros não se moveram
        converged = torch.equal(C_new, C) or (previous is not None and torch.equal(labels, previous))
        C, previous = C_new, labels
        if converged:
            break
    labels, dist = _assign(X, x_sq, C, chunk_size)  # rótulos coerentes com os centros finais
    return KMeansResult(C, labels, float(dist.sum()), len(history), converged, torch.stack(history).cpu())


def _contingency(y_true, y_pred):
    y_true, y_pred = _labels("y_true", y_true), _labels("y_pred", y_pred)
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true e y_pred têm comprimentos diferentes: {len(y_true)} e {len(y_pred)}")
    y_true, y_pred = y_true.cpu(), y_pred.cpu()
    rows, cols = int(y_true.max()) + 1, int(y_pred.max()) + 1
    table = torch.bincount(y_true * cols + y_pred, minlength=rows * cols).reshape(rows, cols)
    return table.double()  # (classes, grupos)


def purity(y_true, y_pred):
    """Pureza: fração dos pontos que pertencem à classe majoritária do seu grupo."""
    table = _contingency(y_true, y_pred)
    return float(table.max(dim=0).values.sum() / table.sum())


def adjusted_rand_index(y_true, y_pred):
    """Índice de Rand ajustado (Hubert e Arabie): concordância entre duas partições,
    contada em pares de pontos e corrigida pelo acaso (0 em média para rótulos
    sorteados, 1 para partições iguais a menos dos nomes dos grupos)."""
    table = _contingency(y_true, y_pred)

    def pairs(m):
        return (m * (m - 1) / 2).sum()

    both = pairs(table)  # pares juntos nas duas partições
    only_true = pairs(table.sum(1)) - both  # juntos só na partição verdadeira
    only_pred = pairs(table.sum(0)) - both  # juntos só na prevista
    neither = pairs(table.sum()) - both - only_true - only_pred
    if only_true == 0 and only_pred == 0:  # partições iguais (inclui n = 1)
        return 1.0
    num = 2 * (both * neither - only_true * only_pred)
    den = (both + only_true) * (only_true + neither) + (both + only_pred) * (only_pred + neither)
    return float(num / den)


def _image(image):
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"image deve ser um tensor do PyTorch, recebi {type(image).__name__}")
    if image.dtype != torch.uint8 or image.ndim != 3 or image.shape[2] != 3 or image.numel() == 0:
        raise ValueError(f"image deve ser uint8 de forma (H, W, 3), recebi {tuple(image.shape)} e {image.dtype}")
    return image


def pixel_features(image, weight=None):
    """Pixels de ``image`` (uint8 ``(H, W, 3)``) como linhas ``float32`` de uma matriz.

    Sem ``weight``: ``(H·W, 3)`` com as cores em [0, 1]. Com ``weight = w``:
    ``(H·W, 5)``, acrescentando ``w·i/L`` e ``w·j/L``, em que ``(i, j)`` é a
    posição do pixel e ``L = max(H, W)``; com ``w = 1``, atravessar a imagem
    custa tanto quanto ir do preto ao branco num canal.
    """
    image = _image(image)
    H, W, _ = image.shape
    colors = image.reshape(-1, 3).float() / 255
    if weight is None:
        return colors
    if isinstance(weight, bool) or not isinstance(weight, (int, float)):
        raise TypeError(f"weight deve ser um número, recebi {type(weight).__name__}")
    if not math.isfinite(weight) or weight < 0:
        raise ValueError(f"weight deve ser finito e ≥ 0, recebi {weight}")
    rows, cols = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
    coords = torch.stack([rows, cols], dim=-1).reshape(-1, 2).float() * (weight / max(H, W))
    return torch.cat([colors, coords.to(colors.device)], dim=1)


def label_edges(labels):
    """Máscara ``(H, W)`` dos pixels com algum vizinho (acima, abaixo, à esquerda ou à
    direita) em outro grupo. Os pixels da borda da imagem comparam só os vizinhos que têm."""
    if not isinstance(labels, torch.Tensor) or labels.ndim != 2 or labels.dtype.is_floating_point:
        raise ValueError("labels deve ser um tensor de inteiros (H, W)")
    edges = torch.zeros(labels.shape, dtype=torch.bool, device=labels.device)
    vertical = labels[1:] != labels[:-1]  # (H−1, W): pixel diferente do de baixo
    horizontal = labels[:, 1:] != labels[:, :-1]  # (H, W−1): diferente do da direita
    edges[1:] |= vertical
    edges[:-1] |= vertical
    edges[:, 1:] |= horizontal
    edges[:, :-1] |= horizontal
    return edges


def _png(pil_image):
    buffer = io.BytesIO()
    pil_image.save(buffer, format="PNG", compress_level=9)
    return buffer.getvalue()


def png_size(image):
    """Bytes de ``image`` (uint8 ``(H, W, 3)``) gravada como PNG RGB, sem perdas."""
    from PIL import Image

    return len(_png(Image.fromarray(_image(image).cpu().numpy(), mode="RGB")))


def palette_png_size(labels, palette, return_bytes=False):
    """Bytes do PNG indexado: cada pixel guarda só o índice ``labels`` ``(H, W)`` da sua cor
    na paleta ``palette`` (uint8 ``(K, 3)``, K ≤ 256). O Pillow usa 1, 2, 4 ou 8 bits por
    índice, o menor que cabe, antes da compressão sem perdas do PNG."""
    from PIL import Image

    if not isinstance(palette, torch.Tensor) or palette.dtype != torch.uint8 or palette.ndim != 2 \
            or palette.shape[1] != 3 or not 1 <= len(palette) <= 256:
        raise ValueError("palette deve ser um tensor uint8 (K, 3) com 1 ≤ K ≤ 256")
    if not isinstance(labels, torch.Tensor) or labels.ndim != 2 or labels.dtype.is_floating_point:
        raise ValueError("labels deve ser um tensor de inteiros (H, W)")
    if labels.numel() == 0 or int(labels.min()) < 0 or int(labels.max()) >= len(palette):
        raise ValueError(f"labels deve ter valores em [0, {len(palette)}) e não ser vazio")
    pil_image = Image.fromarray(labels.cpu().numpy().astype(np.uint8), mode="P")
    pil_image.putpalette(palette.cpu().numpy().tobytes())
    data = _png(pil_image)
    return data if return_bytes else len(data)


def index_bits(k):
    """Bits de um índice de comprimento fixo para ``k`` cores: ``⌈log₂ k⌉``."""
    return math.ceil(math.log2(_int("k", k)))
