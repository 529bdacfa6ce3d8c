"""Figuras do livro: um estilo aplicado explicitamente e funções que devolvem ``(fig, ax)``.

Nenhuma função daqui usa ``plt.gca()``: quem chama passa ``ax`` ou recebe um
novo. O fundo das figuras é transparente e as cores legíveis no modo claro e
no escuro do site.
"""

import matplotlib as mpl
import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np

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


def new_axes(ax=None, **subplots_kwargs):
    """Devolve ``(fig, ax)``: o ``ax`` dado e sua figura, ou uma figura nova."""
    if ax is not None:
        return ax.figure, ax
    return plt.subplots(**subplots_kwargs)


def learning_curves(history, ax=None, metric="loss"):
    """Curvas de treino e validação de um histórico de ``train.fit`` (``metric``: 'loss' ou 'acc')."""
    if metric not in ("loss", "acc"):
        raise ValueError(f"metric deve ser 'loss' ou 'acc', recebi {metric!r}")
    fig, ax = new_axes(ax)
    epochs = np.arange(1, len(history[f"train_{metric}"]) + 1)
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
    """Grade de imagens (tensor ou arranjo ``(N, H, W)`` ou ``(N, H, W, 3)``), sem eixos."""
    images = np.asarray(images)
    if images.ndim not in (3, 4):
        raise ValueError(f"esperava imagens (N, H, W) ou (N, H, W, 3), recebi forma {images.shape}")
    n = len(images)
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
