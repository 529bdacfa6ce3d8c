"""Atenção e *transformers*: as peças do capítulo 11, reutilizadas no capítulo 12.

Tudo aqui opera sobre sequências no formato ``(N, L, D)`` (lote, comprimento,
largura). A atenção é escrita à mão (:func:`scaled_dot_product_attention`) e a
atenção de várias cabeças usa o arranjo eficiente das notas de aula: três
projeções lineares, ``reshape`` para ``(N, L, h, D/h)`` e ``permute`` para
``(N, h, L, D/h)``, de modo que as cabeças viram uma dimensão de lote.

Máscaras seguem a convenção de ``F.scaled_dot_product_attention``: um tensor
booleano em que ``True`` quer dizer "pode atender", ou um tensor de ponto
flutuante somado aos escores. (O ``attn_mask`` booleano de
``nn.MultiheadAttention`` usa a convenção *oposta*.)
"""

import json
import math
import pathlib
import re

import torch
from torch import nn

__all__ = [
    "scaled_dot_product_attention", "causal_mask", "padding_mask", "MultiHeadAttention",
    "FeedForward", "EncoderBlock", "Encoder", "PatchEmbedding", "sinusoidal_positions",
    "VisionTransformer", "gcn", "book_paragraphs", "corpus_paragraphs",
]


def _int(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} deve ser um inteiro, recebi {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} deve ser ≥ {minimum}, recebi {value}")
    return value


def _tensor(name, x, ndim=None, min_ndim=None):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} deve ser um tensor do PyTorch, recebi {type(x).__name__}")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} deve ter {ndim} dimensões, recebi forma {tuple(x.shape)}")
    if min_ndim is not None and x.ndim < min_ndim:
        raise ValueError(f"{name} deve ter ao menos {min_ndim} dimensões, recebi forma {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{name} está vazio (forma {tuple(x.shape)})")
    return x


def _check_mask(mask, scores_shape):
    if mask is None:
        return
    _tensor("mask", mask)
    if mask.dtype != torch.bool and not mask.is_floating_point():
        raise TypeError(f"mask deve ser booleana ou de ponto flutuante, recebi {mask.dtype}")
    try:
        torch.broadcast_shapes(mask.shape, scores_shape)
    except RuntimeError:
        raise ValueError(f"mask de forma {tuple(mask.shape)} não se ajusta aos escores "
                         f"de forma {tuple(scores_shape)}") from None


def scaled_dot_product_attention(q, k, v, mask=None, scale=None):
    """Atenção à mão: ``softmax(q kᵀ · scale + máscara) v``; devolve ``(saída, pesos)``.

    ``q`` tem forma ``(..., Lq, D)``, ``k`` ``(..., Lk, D)`` e ``v`` ``(..., Lk, Dv)``;
    a saída tem forma ``(..., Lq, Dv)`` e os pesos ``(..., Lq, Lk)``, com cada linha
    somando 1. ``scale`` vale ``1/√D`` se omitido. ``mask`` booleana (``True`` =
    pode atender) ou aditiva, que se ajuste por *broadcasting* a ``(..., Lq, Lk)``.
    """
    for name, t in (("q", q), ("k", k), ("v", v)):
        _tensor(name, t, min_ndim=2)
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q e k devem ter a mesma largura D, recebi {q.shape[-1]} e {k.shape[-1]}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k e v devem ter o mesmo comprimento Lk, recebi {k.shape[-2]} e {v.shape[-2]}")
    if not (q.dtype == k.dtype == v.dtype) or not (q.device == k.device == v.device):
        raise ValueError("q, k e v devem ter o mesmo dtype e o mesmo dispositivo")
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    elif isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale):
        raise ValueError(f"scale deve ser um número finito, recebi {scale!r}")
    scores = q @ k.transpose(-2, -1) * scale  # (..., Lq, Lk)
    _check_mask(mask, scores.shape)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    weights = scores.softmax(dim=-1)  # softmax em cada linha: uma distribuição por consulta
    return weights @ v, weights


def causal_mask(length, device=None):
    """Máscara ``(L, L)`` em que a posição ``i`` só atende às posições ``j ≤ i`` (``True`` = pode)."""
    _int("length", length)
    return torch.ones(length, length, dtype=torch.bool, device=device).tril()


def padding_mask(lengths, max_length):
    """Máscara ``(N, 1, 1, L)`` que esconde as posições de enchimento de sequências de tamanhos ``lengths``."""
    _tensor("lengths", lengths, ndim=1)
    _int("max_length", max_length)
    if lengths.dtype.is_floating_point or lengths.min() < 1 or lengths.max() > max_length:
        raise ValueError(f"lengths deve conter inteiros em [1, {max_length}], recebi {lengths.tolist()}")
    positions = torch.arange(max_length, device=lengths.device)
    return (positions[None, :] < lengths[:, None])[:, None, None, :]


class MultiHeadAttention(nn.Module):
    """Atenção de ``num_heads`` cabeças sobre sequências ``(N, L, dim)``, no arranjo eficiente.

    Cada cabeça trabalha com ``dim // num_heads`` valores por *token*. Sem
    ``key``/``value``, é autoatenção; com eles, atenção cruzada (``query`` de
    uma sequência, ``key`` e ``value`` de outra, de mesmo comprimento entre si).
    """

    def __init__(self, dim, num_heads, bias=True):
        super().__init__()
        _int("dim", dim)
        _int("num_heads", num_heads)
        if dim % num_heads:
            raise ValueError(f"dim ({dim}) deve ser múltiplo de num_heads ({num_heads})")
        self.dim, self.num_heads, self.head_dim = dim, num_heads, dim // num_heads
        self.q_proj = nn.Linear(dim, dim, bias=bias)
        self.k_proj = nn.Linear(dim, dim, bias=bias)
        self.v_proj = nn.Linear(dim, dim, bias=bias)
        self.out_proj = nn.Linear(dim, dim, bias=bias)

    def _split(self, x):  # (N, L, dim) -> (N, h, L, dim/h)
        n, length, _ = x.shape
        return x.reshape(n, length, self.num_heads, self.head_dim).permute(0, 2, 1, 3)

    def forward(self, query, key=None, value=None, mask=None, return_weights=False):
        _tensor("query", query, ndim=3)
        key = query if key is None else _tensor("key", key, ndim=3)
        value = key if value is None else _tensor("value", value, ndim=3)
        for name, t in (("query", query), ("key", key), ("value", value)):
            if t.shape[-1] != self.dim:
                raise ValueError(f"{name} deve ter largura {self.dim}, recebi forma {tuple(t.shape)}")
        if not (query.shape[0] == key.shape[0] == value.shape[0]) or key.shape[1] != value.shape[1]:
            raise ValueError(f"formas incompatíveis: query {tuple(query.shape)}, key {tuple(key.shape)}, "
                             f"value {tuple(value.shape)}")
        q = self._split(self.q_proj(query))  # (N, h, Lq, dh)
        k = self._split(self.k_proj(key))    # (N, h, Lk, dh)
        v = self._split(self.v_proj(value))  # (N, h, Lk, dh)
        out, weights = scaled_dot_product_attention(q, k, v, mask)
        n, _, length, _ = out.shape
        out = out.permute(0, 2, 1, 3).reshape(n, length, self.dim)  # junta as cabeças: (N, Lq, dim)
        out = self.out_proj(out)
        return (out, weights) if return_weights else out

    def to_torch(self):
        """Uma ``nn.MultiheadAttention(batch_first=True)`` com os mesmos pesos, para conferência."""
        bias = self.q_proj.bias is not None
        mha = nn.MultiheadAttention(self.dim, self.num_heads, bias=bias, batch_first=True)
        with torch.no_grad():
            mha.in_proj_weight.copy_(torch.cat([self.q_proj.weight, self.k_proj.weight, self.v_proj.weight]))
            mha.out_proj.weight.copy_(self.out_proj.weight)
            if bias:
                mha.in_proj_bias.copy_(torch.cat([self.q_proj.bias, self.k_proj.bias, self.v_proj.bias]))
                mha.out_proj.bias.copy_(self.out_proj.bias)
        return mha.to(self.q_proj.weight.device)


class FeedForward(nn.Sequential):
    """A camada *feed-forward*: o mesmo MLP ``dim → hidden → dim`` aplicado a cada *token*."""

    def __init__(self, dim, hidden):
        _int("dim", dim)
        _int("hidden", hidden)
        super().__init__(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))


class EncoderBlock(nn.Module):
    """Bloco do codificador com pré-normalização: ``x + atenção(LN(x))``, depois ``x + MLP(LN(x))``."""

    def __init__(self, dim, num_heads, mlp_ratio=4):
        super().__init__()
        _int("mlp_ratio", mlp_ratio)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = MultiHeadAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = FeedForward(dim, mlp_ratio * dim)

    def forward(self, x, mask=None, return_weights=False):  # (N, L, dim) -> (N, L, dim)
        h, weights = self.attn(self.norm1(x), mask=mask, return_weights=True)
        x = x + h
        x = x + self.mlp(self.norm2(x))
        return (x, weights) if return_weights else x


class Encoder(nn.Module):
    """``depth`` blocos :class:`EncoderBlock` e uma ``LayerNorm`` final; entrada e saída ``(N, L, dim)``."""

    def __init__(self, dim, depth, num_heads, mlp_ratio=4):
        super().__init__()
        _int("depth", depth)
        self.blocks = nn.ModuleList(EncoderBlock(dim, num_heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)

    def forward(self, x, mask=None, return_weights=False):
        _tensor("x", x, ndim=3)
        all_weights = []
        for block in self.blocks:
            x, weights = block(x, mask=mask, return_weights=True)
            all_weights.append(weights)  # (N, h, L, L) por bloco
        x = self.norm(x)
        return (x, all_weights) if return_weights else x


class PatchEmbedding(nn.Module):
    """Imagens ``(N, C, H, W)`` → *tokens* ``(N, (H/p)(W/p), dim)`` por uma convolução ``p×p`` de passo ``p``."""

    def __init__(self, in_channels, dim, patch_size):
        super().__init__()
        self.patch_size = _int("patch_size", patch_size)
        self.proj = nn.Conv2d(_int("in_channels", in_channels), _int("dim", dim), patch_size, stride=patch_size)

    def forward(self, x):
        _tensor("x", x, ndim=4)
        p = self.patch_size
        if x.shape[1] != self.proj.in_channels or x.shape[2] % p or x.shape[3] % p:
            raise ValueError(f"esperava imagens com {self.proj.in_channels} canais e lados múltiplos de {p}, "
                             f"recebi forma {tuple(x.shape)}")
        return self.proj(x).flatten(2).transpose(1, 2)  # (N, dim, H/p, W/p) -> (N, L, dim)


def sinusoidal_positions(length, dim):
    """Posições senoidais ``(length, dim)``: pares com seno, ímpares com cosseno, frequências geométricas."""
    _int("length", length)
    _int("dim", dim)
    if dim % 2:
        raise ValueError(f"dim deve ser par, recebi {dim}")
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    freq = torch.exp(-math.log(10000.0) * torch.arange(0, dim, 2, dtype=torch.float32) / dim)
    out = torch.zeros(length, dim)
    out[:, 0::2], out[:, 1::2] = torch.sin(pos * freq), torch.cos(pos * freq)
    return out


class VisionTransformer(nn.Module):
    """ViT pequeno: *patches* → *tokens* + posições aprendidas → :class:`Encoder` → média → classes.

    A saída é a média dos *tokens* (sem *token* de classe), que :meth:`features`
    expõe para quem quiser reaproveitar o codificador. ``positions=False``
    remove a informação de posição (o modelo fica cego à ordem dos *patches*).
    """

    def __init__(self, image_size=28, patch_size=7, in_channels=1, num_classes=10, dim=64, depth=4,
                 num_heads=4, mlp_ratio=2, positions=True):
        super().__init__()
        _int("image_size", image_size)
        _int("num_classes", num_classes)
        if image_size % _int("patch_size", patch_size):
            raise ValueError(f"image_size ({image_size}) deve ser múltiplo de patch_size ({patch_size})")
        self.num_tokens = (image_size // patch_size) ** 2
        self.patch = PatchEmbedding(in_channels, dim, patch_size)
        self.pos = nn.Parameter(0.02 * torch.randn(1, self.num_tokens, dim)) if positions else None
        self.encoder = Encoder(dim, depth, num_heads, mlp_ratio)
        self.head = nn.Linear(dim, num_classes)

    def features(self, x, return_weights=False):
        tokens = self.patch(x)  # (N, L, dim)
        if self.pos is not None:
            tokens = tokens + self.pos
        return self.encoder(tokens, return_weights=return_weights)

    def forward(self, x, return_weights=False):
        out = self.features(x, return_weights)
        tokens, weights = out if return_weights else (out, None)
        logits = self.head(tokens.mean(dim=1))  # (N, num_classes)
        return (logits, weights) if return_weights else logits


def gcn(A, X, weights):
    """Rede convolucional em grafos: ``H ← ReLU(Ã H W)`` por camada, média dos nós e softmax.

    ``Ã = D̃^{-1/2}(A + I)D̃^{-1/2}``, com ``D̃`` os graus de ``A + I``. ``A`` é
    ``(n, n)`` simétrica, ``X`` ``(n, d)`` e ``weights`` uma lista de matrizes.
    Devolve as probabilidades das classes, de tamanho ``weights[-1].shape[1]``.
    """
    _tensor("A", A, ndim=2)
    _tensor("X", X, ndim=2)
    if A.shape[0] != A.shape[1] or A.shape[0] != X.shape[0]:
        raise ValueError(f"A deve ser (n, n) e X (n, d), recebi {tuple(A.shape)} e {tuple(X.shape)}")
    if not weights:
        raise ValueError("weights deve ter ao menos uma matriz")
    A_hat = A + torch.eye(len(A), dtype=A.dtype)
    d = A_hat.sum(1).rsqrt()
    A_norm = d[:, None] * A_hat * d[None, :]
    H = X
    for i, W in enumerate(weights):
        if W.ndim != 2 or W.shape[0] != H.shape[1]:
            raise ValueError(f"weights[{i}] deve ter {H.shape[1]} linhas, recebi forma {tuple(W.shape)}")
        H = torch.relu(A_norm @ H @ W)
    return H.mean(dim=0).softmax(dim=0)


def book_paragraphs(chapters=range(1, 9), min_words=25, book_dir=None):
    """Parágrafos de prosa dos capítulos do livro, com o número do capítulo como rótulo.

    Lê os ``.md`` de ``book/`` (achado a partir do pacote, ou ``book_dir``), descarta
    células de código, diretivas, blocos de equação e parágrafos com menos de
    ``min_words`` palavras, e limpa a marcação MyST. Devolve ``(textos, rótulos)``.
    """
    _int("min_words", min_words)
    folder = pathlib.Path(book_dir) if book_dir is not None else pathlib.Path(__file__).resolve().parents[2] / "book"
    if not folder.is_dir():
        raise FileNotFoundError(f"não achei a pasta dos capítulos do livro em {folder}: "
                                "o corpus de parágrafos precisa do repositório completo (pasta book/)")
    texts, labels = [], []
    for chapter in chapters:
        files = sorted(folder.glob(f"{_int('capítulo', chapter):02d}-*.md"))
        if not files:
            raise FileNotFoundError(f"não achei o capítulo {chapter} em {folder}")
        body = re.sub(r"(?s)```.*?```|\$\$.*?\$\$", "\n\n", files[0].read_text(encoding="utf-8"))
        for para in re.split(r"\n\s*\n", body):
            para = re.sub(r"\{term\}`([^`<]*)[^`]*`", r"\1", para)  # termos do glossário: fica o texto
            para = re.sub(r"\{[a-z:]+\}`[^`]*`", " ", para)  # glue, ref, cite, eq: saem
            para = re.sub(r"[`*_#>$\\{}]|\(cap-[^)]*\)=", " ", para)
            if para.lstrip().startswith(("-", "---", ":", "|")):
                continue
            words = para.split()
            if len(words) >= min_words:
                texts.append(" ".join(words))
                labels.append(chapter)
    return texts, labels


CORPUS = pathlib.Path(__file__).resolve().parent / "dados" / "paragrafos.json"


def corpus_paragraphs():
    """O corpus do capítulo 11: parágrafos dos capítulos 1–8 numa edição congelada do livro.

    ``book_paragraphs`` lê o texto atual, que muda a cada revisão, e com ele mudariam os
    números do capítulo. Este arquivo guarda a extração de uma edição fixa (o campo
    ``commit`` diz qual). Devolve ``(textos, rótulos)``, como ``book_paragraphs``.
    """
    if not CORPUS.is_file():
        raise FileNotFoundError(f"não achei o corpus congelado em {CORPUS}; ele vem com o pacote "
                                "livro (reinstale-o com pip install -e ./code)")
    data = json.loads(CORPUS.read_text(encoding="utf-8"))
    return list(data["textos"]), list(data["rotulos"])
