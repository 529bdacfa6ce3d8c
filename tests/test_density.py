"""Testes de ``livro.density``: EM, densidade da mistura, ROC/AUC e MMD contra o scikit-learn."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.mixture import GaussianMixture

from livro import density


def _blobs(seed, n=300, d=3, k=3):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 4, (k, d))
    labels = rng.integers(0, k, n)
    return centers[labels] + rng.normal(size=(n, d)) * rng.uniform(0.5, 1.5, (k, d))[labels], labels


def _init_params(X, labels, reg):
    k = labels.max() + 1
    nk = np.bincount(labels, minlength=k) + 10 * np.finfo(float).eps
    means = np.stack([X[labels == j].mean(0) for j in range(k)])
    covs = np.stack([np.cov(X[labels == j].T, bias=True).reshape(X.shape[1], -1) + reg * np.eye(X.shape[1])
                     for j in range(k)])
    return nk / len(X), means, covs


@pytest.mark.parametrize("seed, n, d, k", [(0, 200, 2, 2), (1, 400, 3, 3), (2, 300, 5, 4)])
def test_log_prob_matches_sklearn(seed, n, d, k):
    X, _ = _blobs(seed, n, d, k)
    sk = GaussianMixture(k, random_state=seed).fit(X)
    ours = density.gmm_log_prob(X, sk.weights_, sk.means_, sk.covariances_)
    np.testing.assert_allclose(ours, sk.score_samples(X), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("seed, n, d, k", [(0, 200, 2, 2), (1, 400, 3, 3), (2, 300, 4, 4)])
def test_em_matches_sklearn_from_same_start(seed, n, d, k):
    X, _ = _blobs(seed, n, d, k)
    labels = np.random.default_rng(seed).integers(0, k, n)
    ours = density.gmm_fit(X, labels, max_iter=2000, tol=1e-10, reg_covar=1e-6)
    w, m, c = _init_params(X, labels, 1e-6)
    sk = GaussianMixture(k, weights_init=w, means_init=m, precisions_init=np.linalg.inv(c), tol=1e-10,
                         max_iter=2000, reg_covar=1e-6).fit(X)
    assert ours.converged and sk.converged_
    np.testing.assert_allclose(ours.history[-1], sk.score(X), rtol=1e-7)
    np.testing.assert_allclose(ours.means, sk.means_, atol=1e-4)
    assert ours.num_params == sk._n_parameters()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 4), d=st.integers(1, 4))
def test_em_never_decreases_likelihood(seed, k, d):
    X, _ = _blobs(seed, 120, d, 3)
    labels = np.arange(120) % k
    fit = density.gmm_fit(X, labels, max_iter=50, tol=1e-12)
    assert np.all(np.diff(fit.history) >= -1e-9)
    assert np.isclose(fit.weights.sum(), 1)
    np.testing.assert_allclose(density.gmm_log_prob(X, fit.weights, fit.means, fit.covariances).mean(),
                               fit.history[-1], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("n", [10, 57, 500])
@pytest.mark.parametrize("ties", [False, True])
def test_roc_matches_sklearn(n, ties):
    rng = np.random.default_rng(n)
    labels = np.r_[0, 1, rng.integers(0, 2, n - 2)]
    scores = rng.integers(0, 5, n).astype(float) if ties else rng.normal(size=n) + labels
    fpr, tpr, thr = density.roc_curve(labels, scores)
    sk_fpr, sk_tpr, sk_thr = metrics.roc_curve(labels, scores, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)
    np.testing.assert_allclose(thr[1:], sk_thr[1:])
    assert density.roc_auc(labels, scores) == pytest.approx(metrics.roc_auc_score(labels, scores), abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(labels=st.lists(st.integers(0, 1), min_size=2, max_size=60), seed=st.integers(0, 1000),
       discrete=st.booleans())
def test_auc_property_against_sklearn_and_pairs(labels, seed, discrete):
    labels = np.array(labels)
    if labels.min() == labels.max():
        labels[0] = 1 - labels[0]
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 3, len(labels)).astype(float) if discrete else rng.normal(size=len(labels))
    auc = density.roc_auc(labels, scores)
    assert auc == pytest.approx(metrics.roc_auc_score(labels, scores), abs=1e-12)
    # a AUC é a probabilidade de um positivo ter nota maior que um negativo (empates valem meio)
    pos, neg = scores[labels == 1], scores[labels == 0]
    pairs = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
    assert auc == pytest.approx(pairs, abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 40), m=st.integers(2, 40), d=st.integers(1, 6), h=st.floats(0.1, 10), seed=st.integers(0, 99))
def test_mmd2_matches_sklearn_kernel(n, m, d, h, seed):
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(n, d)), rng.normal(1, 1, size=(m, d))
    gamma = 1 / (2 * h**2)
    kxx, kyy, kxy = rbf_kernel(X, X, gamma=gamma), rbf_kernel(Y, Y, gamma=gamma), rbf_kernel(X, Y, gamma=gamma)
    expected = ((kxx.sum() - n) / (n * (n - 1)) + (kyy.sum() - m) / (m * (m - 1)) - 2 * kxy.mean())
    assert density.mmd2(X, Y, h) == pytest.approx(expected, abs=1e-9)


def test_mmd2_separates_distributions_and_is_deterministic():
    rng = np.random.default_rng(0)
    A, B, C = rng.normal(size=(300, 2)), rng.normal(size=(300, 2)), rng.normal(2, 1, size=(300, 2))
    assert abs(density.mmd2(A, B, 1.0)) < 0.02 < density.mmd2(A, C, 1.0)
    assert density.mmd2(A, C, 1.0) == density.mmd2(A, C, 1.0)


def test_bad_input():
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match="forma"):
        density.gmm_fit(X[:, 0], np.zeros(20, int))
    with pytest.raises(ValueError, match="vazio"):
        density.gmm_fit(np.zeros((0, 2)), np.zeros(0, int))
    with pytest.raises(ValueError, match="não finitos"):
        density.gmm_fit(np.full((20, 2), np.nan), np.zeros(20, int))
    with pytest.raises(ValueError, match="init_labels"):
        density.gmm_fit(X, np.zeros(19, int))
    with pytest.raises(ValueError, match="init_labels"):
        density.gmm_fit(X, np.zeros(20))
    with pytest.raises(ValueError, match="negativos"):
        density.gmm_fit(X, -np.ones(20, int))
    with pytest.raises(ValueError, match="componente ficou vazio"):
        density.gmm_fit(X, np.r_[np.zeros(10, int), 2 * np.ones(10, int)])
    with pytest.raises(ValueError, match="max_iter"):
        density.gmm_fit(X, np.zeros(20, int), max_iter=True)
    with pytest.raises(ValueError, match="tol"):
        density.gmm_fit(X, np.zeros(20, int), tol=float("nan"))
    with pytest.raises(TypeError, match="reg_covar"):
        density.gmm_fit(X, np.zeros(20, int), reg_covar="1e-6")
    with pytest.raises(TypeError, match="matriz"):
        density.gmm_log_prob(3.0, [1.0], [[0.0]], [[[1.0]]])
    with pytest.raises(ValueError, match="means"):
        density.gmm_log_prob(X, [1.0], [[0.0]], [[[1.0]]])
    with pytest.raises(ValueError, match="somar 1"):
        density.gmm_log_prob(X, [0.5], [[0.0, 0.0]], [np.eye(2)])
    with pytest.raises(ValueError, match="mesmo tamanho"):
        density.roc_curve([0, 1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="só 0"):
        density.roc_auc([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="positivos e de negativos"):
        density.roc_auc([1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="não finitos"):
        density.roc_auc([0, 1], [0.1, np.inf])
    with pytest.raises(ValueError, match="colunas"):
        density.mmd2(X, X[:, :1], 1.0)
    with pytest.raises(ValueError, match="dois pontos"):
        density.mmd2(X[:1], X, 1.0)
    with pytest.raises(ValueError, match="bandwidth"):
        density.mmd2(X, X, 0.0)
