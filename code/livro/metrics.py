"""Probabilidades de classes, entropia cruzada e métricas de classificação.

As funções daqui são escritas a partir das operações básicas do PyTorch
(``exp``, ``log``, ``max``, somas), para que o leitor veja cada conta; os
testes conferem cada uma com a versão da biblioteca (``torch.softmax``,
``F.cross_entropy``, ``F.binary_cross_entropy_with_logits``,
``sklearn.metrics.confusion_matrix``).
"""

import numpy as np
import torch

__all__ = [
    "one_hot", "smooth_labels", "logsumexp", "softmax", "log_softmax", "cross_entropy",
    "binary_cross_entropy_with_logits", "accuracy", "confusion_matrix", "plot_confusion_matrix",
]


def _check_tensor(x, name, floating=None):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} deve ser um tensor do PyTorch, recebi {type(x).__name__}")
    if floating is True and not x.is_floating_point():
        raise TypeError(f"{name} deve ser um tensor de ponto flutuante, recebi {x.dtype}")
    if floating is False and (x.is_floating_point() or x.is_complex() or x.dtype == torch.bool):
        raise TypeError(f"{name} deve ser um tensor de inteiros (índices de classe), "
                        f"recebi {x.dtype}")


def _check_labels(y, num_classes, name="y"):
    _check_tensor(y, name, floating=False)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes deve ser um inteiro ≥ 1, recebi {num_classes!r}")
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise ValueError(
            f"os rótulos de {name} devem estar entre 0 e {num_classes - 1}; "
            f"recebi valores entre {int(y.min())} e {int(y.max())}"
        )


def _check_nonempty(z, dim):
    _check_tensor(z, "z", floating=True)
    if z.ndim == 0 or z.shape[dim] == 0:
        raise ValueError(f"z precisa de pelo menos um elemento na dimensão {dim}, "
                         f"recebi forma {tuple(z.shape)}")


def _check_ce_args(logits, target, label_smoothing, reduction):
    _check_tensor(logits, "logits", floating=True)
    _check_tensor(target, "target")
    if logits.ndim != 2:
        raise ValueError(f"logits deve ter forma (N, C), recebi {tuple(logits.shape)}")
    n = len(logits)
    if target.is_floating_point() and target.shape != logits.shape:
        raise ValueError(f"alvos suaves devem ter a forma dos logits {tuple(logits.shape)}, "
                         f"recebi {tuple(target.shape)}")
    if not target.is_floating_point() and target.shape != (n,):
        raise ValueError(f"rótulos inteiros devem ter forma ({n},), recebi {tuple(target.shape)}")
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"label_smoothing deve estar em [0, 1], recebi {label_smoothing!r}")
    _check_reduction(reduction)


def _check_reduction(reduction):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction deve ser 'mean', 'sum' ou 'none', recebi {reduction!r}")


def _reduce(losses, reduction):
    """Perdas por exemplo → média, soma ou as próprias perdas."""
    _check_reduction(reduction)
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.mean()


def one_hot(y, num_classes):
    """Vetores *one-hot* ``(..., C)``, em ``float32``, para rótulos inteiros ``y`` ``(...)``."""
    _check_labels(y, num_classes)
    classes = torch.arange(num_classes, device=y.device)
    return (y.unsqueeze(-1) == classes).float()


def smooth_labels(y, num_classes, eps):
    """Alvos suavizados: ``(1 - eps)`` vezes o *one-hot*, mais ``eps / C`` em cada classe."""
    if not isinstance(eps, (int, float)) or isinstance(eps, bool) or not 0 <= eps <= 1:
        raise ValueError(f"eps deve ser um número em [0, 1], recebi {eps!r}")
    return (1 - eps) * one_hot(y, num_classes) + eps / num_classes


def logsumexp(z, dim=-1):
    """``log(sum(exp(z)))`` ao longo de ``dim``, sem estourar: subtrai o máximo antes."""
    _check_nonempty(z, dim)
    m = z.amax(dim=dim, keepdim=True).detach()
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))  # linha toda -inf
    return (m + torch.log(torch.exp(z - m).sum(dim=dim, keepdim=True))).squeeze(dim)


def log_softmax(z, dim=-1):
    """Logaritmo da *softmax*, ``z - logsumexp(z)``, estável para logits grandes.

    A conta é feita como ``(z - max) - log(sum(exp(z - max)))``: os dois termos
    ficam perto de zero e não se perdem casas decimais subtraindo números enormes.
    """
    _check_nonempty(z, dim)
    shifted = z - z.amax(dim=dim, keepdim=True).detach()
    return shifted - torch.log(torch.exp(shifted).sum(dim=dim, keepdim=True))


def softmax(z, dim=-1):
    """*Softmax* estável: ``exp(z - max) / sum(exp(z - max))`` ao longo de ``dim``."""
    _check_tensor(z, "z", floating=True)
    if z.ndim == 0:
        raise ValueError("a softmax precisa de um vetor de logits, recebi um escalar")
    e = torch.exp(z - z.amax(dim=dim, keepdim=True).detach())
    return e / e.sum(dim=dim, keepdim=True)


def cross_entropy(logits, target, label_smoothing=0.0, reduction="mean"):
    """Entropia cruzada entre ``softmax(logits)`` e o alvo, como ``F.cross_entropy``.

    ``logits`` tem forma ``(N, C)``. ``target`` é ou um tensor de inteiros ``(N,)``
    com a classe correta de cada exemplo, ou um tensor ``(N, C)`` de probabilidades
    (alvos suaves). ``label_smoothing`` mistura o alvo com a distribuição uniforme.
    ``reduction``: ``'mean'``, ``'sum'`` ou ``'none'``.
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
    """
    _check_tensor(logits, "logits", floating=True)
    _check_tensor(target, "target", floating=True)
    if target.shape != logits.shape:
        raise ValueError(f"target deve ter a forma dos logits {tuple(logits.shape)}, "
                         f"recebi {tuple(target.shape)}")
    losses = logits.clamp(min=0) - logits * target + torch.log1p(torch.exp(-logits.abs()))
    return _reduce(losses, reduction)


def accuracy(logits, y):
    """Fração de exemplos cuja classe de maior logit é a correta (um ``float``)."""
    _check_tensor(logits, "logits")
    _check_tensor(y, "y", floating=False)
    if logits.ndim != 2 or y.shape != (len(logits),):
        raise ValueError(f"esperava logits (N, C) e rótulos (N,), recebi "
                         f"{tuple(logits.shape)} e {tuple(y.shape)}")
    return float((logits.argmax(dim=1) == y).float().mean())


def confusion_matrix(y_true, y_pred, num_classes):
    """Matriz ``(C, C)`` de contagens: a linha é a classe verdadeira, a coluna a prevista.

    Contada de uma vez com ``bincount`` sobre o índice ``C * verdadeira + prevista``,
    na mesma convenção de ``sklearn.metrics.confusion_matrix``.
    """
    _check_labels(y_true, num_classes, "y_true")
    _check_labels(y_pred, num_classes, "y_pred")
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

    cm = np.asarray(cm.cpu() if isinstance(cm, torch.Tensor) else cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"a matriz de confusão deve ser quadrada, recebi forma {cm.shape}")
    c = cm.shape[0]
    if class_names is None:
        class_names = [str(k) for k in range(c)]
    if len(class_names) != c:
        raise ValueError(f"esperava {c} nomes de classes, recebi {len(class_names)}")
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
