"""Testes de livro.metrics: cada função contra o PyTorch ou o scikit-learn."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import sklearn.metrics
import torch
import torch.nn.functional as F

from livro import metrics

SHAPES = [(1, 2), (5, 3), (64, 10), (7, 1000)]


def logits_for(shape, seed=0, scale=3.0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(shape, generator=g, dtype=dtype)


def labels_for(n, c, seed=0):
    g = torch.Generator().manual_seed(seed + 1)
    return torch.randint(0, c, (n,), generator=g)


@pytest.mark.parametrize("shape", SHAPES)
def test_softmax_family_matches_torch(shape):
    z = logits_for(shape)
    torch.testing.assert_close(metrics.softmax(z), torch.softmax(z, dim=-1))
    torch.testing.assert_close(metrics.log_softmax(z), torch.log_softmax(z, dim=-1))
    torch.testing.assert_close(metrics.logsumexp(z), torch.logsumexp(z, dim=-1))
    torch.testing.assert_close(metrics.softmax(z, dim=0), torch.softmax(z, dim=0))
    torch.testing.assert_close(metrics.logsumexp(z, dim=0), torch.logsumexp(z, dim=0))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_softmax_stable_for_huge_logits(dtype):
    z = torch.tensor([[1000.0, 999.0, -1000.0], [-5000.0, -5001.0, -5002.0]], dtype=dtype)
    for ours, ref in [(metrics.softmax(z), torch.softmax(z, -1)),
                      (metrics.log_softmax(z), torch.log_softmax(z, -1)),
                      (metrics.logsumexp(z), torch.logsumexp(z, -1))]:
        assert torch.isfinite(ours).all()
        torch.testing.assert_close(ours, ref)


def test_logsumexp_gradient_is_softmax():
    z = logits_for((4, 6)).requires_grad_()
    metrics.logsumexp(z).sum().backward()
    torch.testing.assert_close(z.grad, torch.softmax(z.detach(), -1))


@pytest.mark.parametrize("shape", [(3,), (4, 5), (2, 3, 7)])
def test_one_hot_matches_torch(shape):
    c = 7
    y = torch.randint(0, c, shape, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(metrics.one_hot(y, c), F.one_hot(y, c).float())


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("eps", [0.0, 0.1, 0.5])
def test_cross_entropy_matches_torch(shape, eps):
    z = logits_for(shape)
    y = labels_for(shape[0], shape[1])
    for reduction in ("mean", "sum", "none"):
        torch.testing.assert_close(
            metrics.cross_entropy(z, y, label_smoothing=eps, reduction=reduction),
            F.cross_entropy(z, y, label_smoothing=eps, reduction=reduction),
        )
    q = torch.softmax(logits_for(shape, seed=9), -1)  # alvos suaves quaisquer
    torch.testing.assert_close(metrics.cross_entropy(z, q, label_smoothing=eps),
                               F.cross_entropy(z, q, label_smoothing=eps))
    # alvos suavizados explicitamente = label_smoothing da biblioteca
    torch.testing.assert_close(
        metrics.cross_entropy(z, metrics.smooth_labels(y, shape[1], eps).double()),
        F.cross_entropy(z, y, label_smoothing=eps),
    )


def test_cross_entropy_gradient_is_p_minus_q():
    z = logits_for((8, 5)).requires_grad_()
    y = labels_for(8, 5)
    metrics.cross_entropy(z, y, reduction="sum").backward()
    torch.testing.assert_close(z.grad, torch.softmax(z.detach(), -1) - F.one_hot(y, 5).double())


@pytest.mark.parametrize("shape", [(4,), (6, 3), (2, 5, 7)])
def test_bce_with_logits_matches_torch(shape):
    z = logits_for(shape, scale=30.0)  # inclui logits enormes
    q = torch.rand(shape, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    for reduction in ("mean", "sum", "none"):
        ours = metrics.binary_cross_entropy_with_logits(z, q, reduction=reduction)
        assert torch.isfinite(ours).all()
        torch.testing.assert_close(ours, F.binary_cross_entropy_with_logits(z, q, reduction=reduction))


@pytest.mark.parametrize("n, c", [(1, 2), (50, 3), (1000, 10)])
def test_confusion_matrix_and_accuracy_match_sklearn(n, c):
    y_true = labels_for(n, c, seed=1)
    z = logits_for((n, c), seed=2)
    y_pred = z.argmax(1)
    cm = metrics.confusion_matrix(y_true, y_pred, c)
    ref = sklearn.metrics.confusion_matrix(y_true.numpy(), y_pred.numpy(), labels=np.arange(c))
    np.testing.assert_array_equal(cm.numpy(), ref)
    assert int(cm.sum()) == n
    assert metrics.accuracy(z, y_true) == pytest.approx(sklearn.metrics.accuracy_score(y_true, y_pred))
    assert metrics.accuracy(z, y_true) == pytest.approx(float(cm.trace()) / n)


def test_same_seed_same_output():
    a = metrics.cross_entropy(logits_for((10, 4), seed=7), labels_for(10, 4, seed=7))
    b = metrics.cross_entropy(logits_for((10, 4), seed=7), labels_for(10, 4, seed=7))
    assert torch.equal(a, b)
    c = metrics.cross_entropy(logits_for((10, 4), seed=8), labels_for(10, 4, seed=8))
    assert not torch.equal(a, c)


def test_plot_confusion_matrix_returns_fig_ax():
    cm = metrics.confusion_matrix(torch.tensor([0, 1, 2, 2]), torch.tensor([0, 2, 2, 1]), 3)
    fig, ax = metrics.plot_confusion_matrix(cm, ["a", "b", "c"])
    assert ax.figure is fig and ax.get_xlabel() == "classe prevista"
    fig2, ax2 = plt.subplots()
    assert metrics.plot_confusion_matrix(cm.numpy(), normalize=False, ax=ax2) == (fig2, ax2)
    plt.close("all")


def test_bad_input_errors():
    z = logits_for((4, 3))
    with pytest.raises(TypeError, match="tensor do PyTorch"):
        metrics.softmax([1.0, 2.0])
    with pytest.raises(TypeError, match="ponto flutuante"):
        metrics.softmax(torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="escalar"):
        metrics.softmax(torch.tensor(1.0))
    with pytest.raises(ValueError, match="pelo menos um elemento"):
        metrics.logsumexp(torch.zeros(3, 0))
    with pytest.raises(ValueError, match="entre 0 e 2"):
        metrics.cross_entropy(z, torch.tensor([0, 1, 3, 0]))
    with pytest.raises(ValueError, match=r"forma \(4,\)"):
        metrics.cross_entropy(z, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="alvos suaves"):
        metrics.cross_entropy(z, torch.rand(4, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"forma \(N, C\)"):
        metrics.cross_entropy(z[0], torch.tensor(0))
    with pytest.raises(ValueError, match="reduction"):
        metrics.cross_entropy(z, torch.tensor([0, 1, 2, 0]), reduction="media")
    with pytest.raises(ValueError, match="label_smoothing"):
        metrics.cross_entropy(z, torch.tensor([0, 1, 2, 0]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="eps"):
        metrics.smooth_labels(torch.tensor([0]), 3, -0.1)
    with pytest.raises(TypeError, match="inteiros"):
        metrics.one_hot(torch.tensor([0.0, 1.0]), 2)
    with pytest.raises(ValueError, match="num_classes"):
        metrics.one_hot(torch.tensor([0]), 0)
    with pytest.raises(ValueError, match="mesmo tamanho"):
        metrics.confusion_matrix(torch.tensor([0, 1]), torch.tensor([0]), 2)
    with pytest.raises(ValueError, match="forma dos logits"):
        metrics.binary_cross_entropy_with_logits(z, torch.rand(3))
    with pytest.raises(ValueError, match="quadrada"):
        metrics.plot_confusion_matrix(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="nomes de classes"):
        metrics.plot_confusion_matrix(np.eye(3), ["a"])
    with pytest.raises(ValueError, match="logits"):
        metrics.accuracy(z, torch.tensor([0, 1]))
