"""Probabilidades de classes, entropia cruzada e métricas de classificação.

As funções daqui são escritas a partir das operações básicas do PyTorch
(``exp``, ``log``, ``max``, somas), para que o leitor veja cada conta; os
testes conferem cada uma com a versão da biblioteca (``torch.softmax``,
``F.cross_entropy``, ``F.binary_cross_entropy_with_logits``,
``sklearn.metrics.confusion_matrix``).
"""

import numpy as np
import torch

from . import _check

__all__ = [
    "one_hot", "smooth_labels", "logsumexp", "softmax", "log_softmax", "cross_entropy",
    "binary_cross_entropy_with_logits", "accuracy", "confusion_matrix", "plot_confusion_matrix",
]

REDUCTIONS = ("mean", "sum", "none")


def _check_nonempty(z, dim):
    """``z`` de ponto flutuante com ao menos um elemento ao longo de ``dim``; devolve o eixo."""
    _check.tensor(z, "z", dtype="floating")
    if z.ndim == 0:
        raise ValueError("z deve ter ao menos uma dimensão (um vetor de logits), recebi um escalar")
    dim = _check.dim(dim, z.ndim)
    if z.shape[dim] == 0:
        raise ValueError(f"z precisa de pelo menos um elemento na dimensão {dim}, "
                         f"recebi forma {tuple(z.shape)}")
    return dim


def _check_logits(logits, name="logits"):
    """Logits ``(N, C)`` de ponto flutuante, com ao menos um exemplo e uma classe."""
    _check.tensor(logits, name, ndim=2, dtype="floating", layout="(N, C)")
    if 0 in logits.shape:
        raise ValueError(f"{name} precisa de ao menos um exemplo e uma classe (um lote vazio não tem "
                         f"média), recebi forma {tuple(logits.shape)}")
    return logits.shape


def _check_ce_args(logits, target, label_smoothing, reduction):
    n, c = _check_logits(logits)
    _check.tensor(target, "target", dtype="real")
    if target.is_floating_point():
        if target.shape != logits.shape:
            raise ValueError(f"target com probabilidades (alvos suaves) deve ter a forma dos logits "
                             f"{tuple(logits.shape)}, recebi {tuple(target.shape)}")
        _check.same_device_dtype(("target", target), ("logits", logits))
    else:
        _check.same_device(("target", target), ("logits", logits))
        if target.shape != (n,):
            raise ValueError(f"target com rótulos inteiros deve ter forma ({n},), recebi {tuple(target.shape)}")
        _check.labels(target, c, "target")
    _check.number(label_smoothing, "label_smoothing", 0, 1)
    _check.choice(reduction, "reduction", REDUCTIONS)


def _reduce(losses, reduction):
    """Perdas por exemplo → média, soma ou as próprias perdas."""
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.mean()


def one_hot(y, num_classes):
    """Vetores *one-hot* ``(..., C)``, em ``float32``, para rótulos inteiros ``y`` ``(...)``."""
    num_classes = _check.labels(y, num_classes)
    classes = torch.arange(num_classes, device=y.device)
    return (y.unsqueeze(-1) == classes).float()


def smooth_labels(y, num_classes, eps):
    """Alvos suavizados: ``(1 - eps)`` vezes o *one-hot*, mais ``eps / C`` em cada classe."""
    eps = _check.number(eps, "eps", 0, 1)
    num_classes = _check.labels(y, num_classes)
    return (1 - eps) * one_hot(y, num_classes) + eps / num_classes


def logsumexp(z, dim=-1):
    """``log(sum(exp(z)))`` ao longo de ``dim`` (um eixo), sem estourar: subtrai o máximo antes."""
    dim = _check_nonempty(z, dim)
    m = z.amax(dim=dim, keepdim=True).detach()
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))  # linha toda -inf
    return (m + torch.log(torch.exp(z - m).sum(dim=dim, keepdim=True))).squeeze(dim)


def log_softmax(z, dim=-1):
    """Logaritmo da *softmax*, ``z - logsumexp(z)``, estável para logits grandes.

    A conta é feita como ``(z - max) - log(sum(exp(z - max)))``: os dois termos
    ficam perto de zero e não se perdem casas decimais subtraindo números enormes.
    """
    dim = _check_nonempty(z, dim)
    shifted = z - z.amax(dim=dim, keepdim=True).detach()
    return shifted - torch.log(torch.exp(shifted).sum(dim=dim, keepdim=True))


def softmax(z, dim=-1):
    """*Softmax* estável: ``exp(z - max) / sum(exp(z - max))`` ao longo de ``dim`` (um eixo)."""
    dim = _check_nonempty(z, dim)
    e = torch.exp(z - z.amax(dim=dim, keepdim=True).detach())
    return e / e.sum(dim=dim, keepdim=True)


def cross_entropy(logits, target, label_smoothing=0.0, reduction="mean"):
    """Entropia cruzada entre ``softmax(logits)`` e o alvo, como ``F.cross_entropy``.

    ``logits`` tem forma ``(N, C)``. ``target`` é ou um tensor de inteiros ``(N,)``
    com a classe correta de cada exemplo, ou um tensor ``(N, C)`` de probabilidades
    (alvos suaves) do mesmo tipo dos logits. ``label_smoothing`` ∈ [0, 1] mistura
    o alvo com a distribuição uniforme. ``reduction``: ``'mean'``, ``'sum'`` ou
    ``'none'``. Um lote vazio é recusado.
    """
    _check_ce_args(logits, target, label_smoothing, reduction)
    n, c = logits.shape
    if target.is_floating_point():
        q = target  # (N, C): alvos suaves
    else:
        q = one_hot(target, c).to(logits.dtype)  # (N,) → (N, C)
    q = (1 - label_smoothing) * q + label_smoothing / c
    losses = -(q * log_softmax(logits, dim=1)).sum(dim=1)  # (N,)
    return _reduce(losses, reduction)


def binary_cross_entropy_with_logits(logits, target, reduction="mean"):
    """Entropia cruzada binária de ``sigmoid(logits)`` contra alvos em [0, 1], sem estourar.

    Usa ``max(z, 0) - z q + log(1 + exp(-|z|))``, igual a
    ``-q log σ(z) - (1 - q) log(1 - σ(z))`` mas finita para qualquer ``z``.
    Cada elemento é um problema binário independente (classificação multirrótulo).
    ``target`` tem a forma e o tipo dos logits; um tensor vazio é recusado.
    """
    _check.tensor(logits, "logits", dtype="floating", nonempty=True)
    _check.tensor(target, "target", dtype="floating")
    if target.shape != logits.shape:
        raise ValueError(f"target deve ter a forma dos logits {tuple(logits.shape)}, "
                         f"recebi {tuple(target.shape)}")
    _check.same_device_dtype(("target", target), ("logits", logits))
    if bool(((target < 0) | (target > 1) | target.isnan()).any()):
        raise ValueError("target deve ter valores em [0, 1] (probabilidades); recebi valores entre "
                         f"{float(target.min())} e {float(target.max())}")
    _check.choice(reduction, "reduction", REDUCTIONS)
    losses = logits.clamp(min=0) - logits * target + torch.log1p(torch.exp(-logits.abs()))
    return _reduce(losses, reduction)


def accuracy(logits, y):
    """Fração de exemplos cuja classe de maior logit é a correta (um ``float``).

    ``logits`` ``(N, C)`` com ``N ≥ 1`` (a acurácia de um lote vazio não existe);
    ``y`` ``(N,)`` com rótulos em ``[0, C)``, no mesmo dispositivo.
    """
    n, c = _check_logits(logits)
    _check.tensor(y, "y", dtype="integer")
    _check.same_device(("y", y), ("logits", logits))
    if y.shape != (n,):
        raise ValueError(f"y deve ter forma ({n},), um rótulo por linha de logits; recebi {tuple(y.shape)}")
    _check.labels(y, c)
    return float((logits.argmax(dim=1) == y).float().mean())


def confusion_matrix(y_true, y_pred, num_classes):
    """Matriz ``(C, C)`` de contagens: a linha é a classe verdadeira, a coluna a prevista.

    Contada de uma vez com ``bincount`` sobre o índice ``C * verdadeira + prevista``,
    na mesma convenção de ``sklearn.metrics.confusion_matrix``.
    """
    _check.labels(y_true, num_classes, "y_true")
    _check.labels(y_pred, num_classes, "y_pred")
    _check.same_device(("y_pred", y_pred), ("y_true", y_true))
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true e y_pred devem ser vetores do mesmo tamanho, recebi "
                         f"{tuple(y_true.shape)} e {tuple(y_pred.shape)}")
    flat = num_classes * y_true.long() + y_pred.long()
    return torch.bincount(flat, minlength=num_classes**2).reshape(num_classes, num_classes)


def plot_confusion_matrix(cm, class_names=None, ax=None, normalize=True, cmap="Blues"):
    """Desenha a matriz de confusão; devolve ``(fig, ax)``.

    Com ``normalize=True`` cada linha é dividida pelo seu total, e as células
    mostram a fração (em %) dos exemplos de cada classe verdadeira.
    """
    from . import plotting

    if isinstance(cm, torch.Tensor):
        cm = cm.detach().cpu()
    cm = np.asarray(cm)
    if cm.dtype.kind not in "iuf":
        raise TypeError(f"cm deve conter números (contagens), recebi um arranjo {cm.dtype}")
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] == 0:
        raise ValueError(f"cm deve ser uma matriz quadrada (C, C) com C ≥ 1, recebi forma {cm.shape}")
    if not np.isfinite(cm).all() or (cm < 0).any():
        raise ValueError("cm deve conter contagens finitas e não negativas; "
                         f"recebi valores entre {cm.min()} e {cm.max()}")
    c = cm.shape[0]
    if class_names is None:
        class_names = [str(k) for k in range(c)]
    if isinstance(class_names, str) or not hasattr(class_names, "__len__"):
        raise TypeError(f"class_names deve ser uma lista de {c} nomes, recebi {_check.describe(class_names)}")
    if len(class_names) != c:
        raise ValueError(f"class_names deve ter {c} nomes de classes, um por linha de cm; recebi {len(class_names)}")
    normalize = _check.boolean(normalize, "normalize")
    plotting._check_cmap(cmap)
    values = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    fig, ax = plotting.new_axes(ax, figsize=(0.55 * c + 2, 0.5 * c + 1.5))
    ax.imshow(values, cmap=cmap, vmin=0, vmax=values.max() if values.max() > 0 else 1)
    ax.grid(False)
    for i in range(c):
        for j in range(c):
            v = values[i, j]
            text = f"{100 * v:.0f}" if normalize else f"{int(v)}"
            color = "white" if v > 0.6 * values.max() else "black"
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color=color)
    ax.set_xticks(range(c), class_names, rotation=45, ha="right")
    ax.set_yticks(range(c), class_names)
    ax.set_xlabel("classe prevista")
    ax.set_ylabel("classe verdadeira")
    return fig, ax
