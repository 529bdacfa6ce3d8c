import matplotlib.pyplot as plt
import numpy as np
import pytest

from livro import plotting


def test_use_style_decimal_comma():
    plotting.use_style()
    fig, ax = plt.subplots()
    ax.plot([0, 0.5, 1.0], [0, 0.25, 1.0])
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert any("," in s for s in labels) and not any("." in s for s in labels)
    plt.close(fig)


def test_learning_curves_returns_fig_ax():
    hist = {"train_loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "train_acc": [0.5, 0.8], "val_acc": [0.4, None]}
    fig, ax = plotting.learning_curves(hist)
    assert ax.get_xlabel() == "época" and ax.get_ylabel() == "perda"
    assert len(ax.lines) == 2
    fig2, ax2 = plt.subplots()
    same_fig, same_ax = plotting.learning_curves(hist, ax=ax2, metric="acc")
    assert same_ax is ax2 and same_fig is fig2
    with pytest.raises(ValueError, match="metric"):
        plotting.learning_curves(hist, metric="f1")
    plt.close("all")


def test_image_grid():
    images = np.zeros((5, 4, 4))
    fig, axes = plotting.image_grid(images, titles=list("abcde"), ncols=3)
    assert axes.shape == (2, 3)
    assert all(not ax.axison for ax in axes.flat)
    with pytest.raises(ValueError, match="forma"):
        plotting.image_grid(np.zeros(3))
    plt.close("all")
