"""Figuras do livro: um estilo aplicado explicitamente e funções que devolvem ``(fig, ax)``.

Nenhuma função daqui usa ``plt.gca()``: quem chama passa ``ax`` ou recebe um
novo. O fundo das figuras é transparente e as cores legíveis no modo claro e
no escuro do site.
"""

import inspect
from collections.abc import Mapping

import matplotlib as mpl
import matplotlib.figure
import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import torch

from . import _check

__all__ = ["use_style", "new_axes", "learning_curves", "image_grid"]

STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "savefig.bbox": "tight",
    "figure.facecolor": "none",
    "savefig.facecolor": "none",
    "savefig.transparent": True,
    "axes.facecolor": "white",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "axes.prop_cycle": mpl.cycler(color=["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                         "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]),
    "axes.formatter.use_locale": False,
}


def use_style():
    """Aplica o estilo do livro ao matplotlib (chamada uma vez, no início do capítulo).

    Os rótulos numéricos dos eixos passam a usar vírgula decimal, como o texto.
    """
    mpl.rcParams.update(STYLE)
    mpl.rcParams["axes.formatter.use_mathtext"] = False
    if not getattr(mticker.ScalarFormatter, "_livro_virgula", False):
        call, short = mticker.ScalarFormatter.__call__, mticker.ScalarFormatter.format_data_short

        def __call__(self, x, pos=None):
            return call(self, x, pos).replace(".", ",")

        def format_data_short(self, value):
            return short(self, value).replace(".", ",")

        mticker.ScalarFormatter.__call__ = __call__
        mticker.ScalarFormatter.format_data_short = format_data_short
        mticker.ScalarFormatter._livro_virgula = True


def _check_ax(ax):
    if ax is not None and not isinstance(ax, mpl.axes.Axes):
        raise TypeError(f"ax deve ser um matplotlib.axes.Axes ou None, recebi {_check.describe(ax)}")


def _check_cmap(cmap):
    if isinstance(cmap, mpl.colors.Colormap):
        return
    if not isinstance(cmap, str) or cmap not in mpl.colormaps:
        raise ValueError(f"cmap deve ser o nome de um mapa de cores do matplotlib (como 'gray' ou "
                         f"'Blues') ou um Colormap, recebi {_check.describe(cmap)}")


def _subplots_options():
    """Nomes aceitos por ``plt.subplots`` (inclusive os que ela repassa para a figura)."""
    names = set()
    for fn in (plt.subplots, plt.figure, matplotlib.figure.Figure.__init__):
        names |= {p.name for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return names - {"self", "FigureClass"}


def new_axes(ax=None, **subplots_kwargs):
    """Devolve ``(fig, ax)``: o ``ax`` dado e sua figura, ou uma figura nova.

    ``subplots_kwargs`` (``figsize``, ``ncols``…) vão para ``plt.subplots`` quando
    a figura é nova; com um ``ax`` dado, não há figura a criar e eles são ignorados.
    """
    _check_ax(ax)
    unknown = sorted(set(subplots_kwargs) - _subplots_options())
    if unknown:
        raise TypeError(f"new_axes não conhece os argumentos {unknown}; use os de plt.subplots "
                        f"(figsize, ncols, nrows…), recebi {sorted(subplots_kwargs)}")
    if ax is not None:
        return ax.figure, ax
    return plt.subplots(**subplots_kwargs)


def learning_curves(history, ax=None, metric="loss"):
    """Curvas de treino e validação de um histórico de ``train.fit`` (``metric``: 'loss' ou 'acc').

    ``history`` é um dicionário com a lista ``train_<metric>`` (uma entrada por
    época, ao menos uma) e, se houver validação, ``val_<metric>`` do mesmo tamanho;
    uma curva de validação ausente, vazia ou feita de ``None`` não é desenhada.
    """
    _check.choice(metric, "metric", ("loss", "acc"))
    _check_ax(ax)
    if not isinstance(history, Mapping):
        raise TypeError(f"history deve ser um dicionário (o histórico de train.fit), "
                        f"recebi {_check.describe(history)}")
    key = f"train_{metric}"
    if key not in history:
        raise ValueError(f"history não tem a chave {key!r}; recebi as chaves {sorted(history)}")
    n = len(history[key]) if hasattr(history[key], "__len__") else 0
    if n == 0:
        raise ValueError(f"history[{key!r}] deve ser uma lista com ao menos uma época, "
                         f"recebi {_check.describe(history[key])}")
    val = history.get(f"val_{metric}")
    if val and val[0] is not None and len(val) != n:
        raise ValueError(f"history['val_{metric}'] deve ter {n} épocas, como {key!r}; recebi {len(val)}")
    fig, ax = new_axes(ax)
    epochs = np.arange(1, n + 1)
    names = {"loss": "perda", "acc": "acurácia"}
    for split, label in (("train", "treino"), ("val", "validação")):
        values = history.get(f"{split}_{metric}")
        if values and values[0] is not None:
            ax.plot(epochs, values, marker="o", label=label)
    ax.set_xlabel("época")
    ax.set_ylabel(names[metric])
    ax.legend()
    return fig, ax


def image_grid(images, titles=None, ncols=8, axes_size=1.2, cmap="gray"):
    """Grade de imagens (tensor ou arranjo ``(N, H, W)``, ``(N, H, W, 3)`` ou ``(N, H, W, 4)``), sem eixos.

    ``titles``, se dado, tem um título por imagem; ``ncols`` é o número de colunas.
    """
    if isinstance(images, torch.Tensor):
        images = images.detach().cpu()
    images = np.asarray(images)
    if images.dtype.kind not in "biuf":
        raise TypeError(f"images deve conter números, recebi um arranjo {images.dtype}")
    if not (images.ndim == 3 or images.ndim == 4 and images.shape[-1] in (3, 4)) or len(images) == 0:
        raise ValueError(f"images deve ter forma (N, H, W), (N, H, W, 3) ou (N, H, W, 4) com N ≥ 1, "
                         f"recebi forma {images.shape}")
    n = len(images)
    if titles is not None and (isinstance(titles, str) or not hasattr(titles, "__len__") or len(titles) != n):
        got = len(titles) if hasattr(titles, "__len__") and not isinstance(titles, str) else _check.describe(titles)
        raise ValueError(f"titles deve ter {n} títulos, um por imagem; recebi {got}")
    ncols = _check.positive_int(ncols, "ncols")
    axes_size = _check.finite_number(axes_size, "axes_size", positive=True)
    _check_cmap(cmap)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * axes_size, nrows * axes_size * 1.15),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i < n:
            ax.imshow(images[i], cmap=cmap)
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize=8)
    return fig, axes
