"""Testes de ``livro.clustering``: PCA, k-médias e métricas contra o scikit-learn."""

import io

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score
from sklearn.metrics.cluster import contingency_matrix

from livro import clustering, cnn


def _blobs(n, d, k, seed):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=4, size=(k, d))
    X = centers[rng.integers(0, k, n)] + rng.normal(size=(n, d))
    return torch.from_numpy(X)


def _sklearn_from(X, init, max_iter=300):
    ref = KMeans(len(init), init=init.numpy(), n_init=1, max_iter=max_iter, tol=0.0, algorithm="lloyd")
    return ref.fit(X.numpy())


@pytest.mark.parametrize("n, d, q", [(50, 3, 2), (200, 10, 4), (120, 40, 5)])
def test_pca_eig_matches_sklearn_and_svd(n, d, q):
    rng = np.random.default_rng(n + d)
    X = torch.from_numpy(rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + rng.normal(size=d))
    scores, components, explained = clustering.pca_eig(X, q)
    ref = PCA(n_components=q, svd_solver="full").fit(X.numpy())
    signs = torch.from_numpy(np.sign((ref.components_ * components.numpy()).sum(1)))
    assert torch.all(signs.abs() == 1)
    torch.testing.assert_close(components, torch.from_numpy(ref.components_) * signs[:, None])
    torch.testing.assert_close(scores, torch.from_numpy(ref.transform(X.numpy())) * signs)
    torch.testing.assert_close(explained, torch.from_numpy(ref.explained_variance_))
    # a versão SVD do capítulo 7 dá o mesmo, com o mesmo sinal
    for a, b in zip(cnn.pca(X, q), (scores, components, explained)):
        torch.testing.assert_close(a, b)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(3, 40), d=st.integers(1, 6), seed=st.integers(0, 10_000))
def test_pca_eig_property(n, d, seed):
    rng = np.random.default_rng(seed)
    X = torch.from_numpy(rng.normal(size=(n, d)) * rng.uniform(0.5, 3, size=d))
    q = min(n, d)
    _, components, explained = clustering.pca_eig(X, q)
    ref = PCA(n_components=q, svd_solver="full").fit(X.numpy())
    torch.testing.assert_close(explained, torch.from_numpy(ref.explained_variance_), atol=1e-9, rtol=1e-7)
    # componentes iguais a menos do sinal onde os autovalores são distintos
    gaps = np.abs(np.diff(ref.explained_variance_))
    distinct = np.ones(q, bool)
    distinct[:-1] &= gaps > 1e-6
    distinct[1:] &= gaps > 1e-6
    distinct &= ref.explained_variance_ > 1e-6  # com n ≤ d, os últimos autovalores são nulos
    dots = np.abs((ref.components_ * components.numpy()).sum(1))
    np.testing.assert_allclose(dots[distinct], 1, atol=1e-6)


def test_pca_eig_bad_input():
    with pytest.raises(TypeError, match="tensor"):
        clustering.pca_eig(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="forma"):
        clustering.pca_eig(torch.zeros(4))
    with pytest.raises(ValueError, match="não finitos"):
        clustering.pca_eig(torch.tensor([[1.0, float("nan")], [2.0, 3.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="passa de"):
        clustering.pca_eig(torch.randn(4, 3), 5)
    with pytest.raises(TypeError, match="ponto flutuante"):
        clustering.pca_eig(torch.ones(4, 3, dtype=torch.long))
    with pytest.raises(TypeError, match="inteiro"):
        clustering.pca_eig(torch.randn(4, 3), 1.5)
    with pytest.raises(ValueError, match="2 linhas"):
        clustering.pca_eig(torch.randn(1, 3), 1)


@pytest.mark.parametrize("n, k", [(7, 3), (5000, 4), (9000, 7)])
def test_sq_distances_and_assign_chunked(n, k):
    X, C = torch.randn(n, 5, dtype=torch.float64), torch.randn(k, 5, dtype=torch.float64)
    torch.testing.assert_close(clustering.sq_distances(X, C), torch.cdist(X, C) ** 2)
    labels, dist = clustering.assign(X, C, chunk_size=1000)
    ref = torch.cdist(X, C) ** 2
    assert torch.equal(labels, ref.argmin(1))
    torch.testing.assert_close(dist, ref.min(1).values)


@pytest.mark.parametrize("n, d, k", [(60, 2, 3), (300, 5, 6), (500, 30, 10)])
@pytest.mark.parametrize("init", ["random", "kmeans++", "class"])
def test_kmeans_matches_sklearn_from_same_centers(n, d, k, init):
    X = _blobs(n, d, k, seed=n + d)
    if init == "random":
        C0 = clustering.init_random(X, k, seed=1)
    elif init == "kmeans++":
        C0 = clustering.init_kmeans_pp(X, k, seed=1)
    else:
        C0 = clustering.init_class_means(X, torch.arange(n) % k, k)
    ours = clustering.kmeans(X, C0)
    ref = _sklearn_from(X, C0)
    assert ours.converged and ours.n_iter == ref.n_iter_
    assert torch.equal(ours.labels, torch.from_numpy(ref.labels_).long())
    torch.testing.assert_close(ours.centers, torch.from_numpy(ref.cluster_centers_))
    assert ours.inertia == pytest.approx(ref.inertia_, rel=1e-9)
    assert torch.all(ours.history[1:] <= ours.history[:-1] * (1 + 1e-12))  # a inércia nunca sobe


def test_kmeans_max_iter_stops_early_and_is_reported():
    X = _blobs(400, 4, 8, seed=3)
    C0 = clustering.init_random(X, 8, seed=0)
    full = clustering.kmeans(X, C0)
    assert full.n_iter > 2
    early = clustering.kmeans(X, C0, max_iter=1)
    assert early.n_iter == 1 and not early.converged
    ref = _sklearn_from(X, C0, max_iter=1)
    assert torch.equal(early.labels, torch.from_numpy(ref.labels_).long())


@settings(max_examples=25, deadline=None)
@given(n=st.integers(5, 80), d=st.integers(1, 4), k=st.integers(1, 5), seed=st.integers(0, 10_000))
def test_kmeans_property_against_sklearn(n, d, k, seed):
    X = _blobs(n, d, k, seed)
    C0 = clustering.init_kmeans_pp(X, k, seed=seed)
    ours, ref = clustering.kmeans(X, C0), _sklearn_from(X, C0)
    assert torch.equal(ours.labels, torch.from_numpy(ref.labels_).long())
    torch.testing.assert_close(ours.centers, torch.from_numpy(ref.cluster_centers_))
    assert ours.n_iter == ref.n_iter_


def test_initialisations():
    X = _blobs(100, 3, 4, seed=0)
    a, b = clustering.init_random(X, 4, seed=5), clustering.init_random(X, 4, seed=5)
    assert torch.equal(a, b) and len(torch.unique(a, dim=0)) == 4
    assert all((X == c).all(1).any() for c in a)  # são pontos de X
    p, q = clustering.init_kmeans_pp(X, 4, seed=5), clustering.init_kmeans_pp(X, 4, seed=5)
    assert torch.equal(p, q) and len(torch.unique(p, dim=0)) == 4
    y = torch.arange(100) % 4
    torch.testing.assert_close(clustering.init_class_means(X, y, 4), torch.stack([X[y == c].mean(0) for c in range(4)]))
    # pontos repetidos: o k-means++ não divide por zero
    same = torch.ones(6, 2, dtype=torch.float64)
    assert clustering.init_kmeans_pp(same, 3).shape == (3, 2)


def test_kmeans_bad_input():
    X = torch.randn(10, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="passa do número"):
        clustering.init_random(X, 11)
    with pytest.raises(TypeError, match="inteiro"):
        clustering.init_kmeans_pp(X, True)
    with pytest.raises(ValueError, match="colunas"):
        clustering.kmeans(X, torch.randn(3, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="dtype"):
        clustering.kmeans(X, torch.randn(3, 3, dtype=torch.float32))
    with pytest.raises(ValueError, match="≥ 1"):
        clustering.kmeans(X, X[:3], max_iter=0)
    with pytest.raises(ValueError, match="fora de"):
        clustering.init_class_means(X, torch.arange(10), 3)
    with pytest.raises(ValueError, match="não têm exemplos"):
        clustering.init_class_means(X, torch.zeros(10, dtype=torch.long), 2)
    with pytest.raises(ValueError, match="comprimentos"):
        clustering.init_class_means(X, torch.zeros(9, dtype=torch.long), 1)
    with pytest.raises(ValueError, match="inteiros"):
        clustering.init_class_means(X, torch.zeros(10), 1)
    with pytest.raises(ValueError, match="não finitos"):
        clustering.kmeans(X, torch.full((2, 3), float("inf"), dtype=torch.float64))
    with pytest.raises(ValueError, match="vazio"):
        clustering.assign(torch.zeros(0, 3), torch.zeros(1, 3))


@settings(max_examples=25, deadline=None)
@given(labels=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 6)), min_size=1, max_size=60))
def test_metrics_against_sklearn(labels):
    y_true = torch.tensor([a for a, _ in labels])
    y_pred = torch.tensor([b for _, b in labels])
    assert clustering.adjusted_rand_index(y_true, y_pred) == pytest.approx(
        adjusted_rand_score(y_true.numpy(), y_pred.numpy()), abs=1e-12)
    table = contingency_matrix(y_true.numpy(), y_pred.numpy())
    assert clustering.purity(y_true, y_pred) == pytest.approx(table.max(0).sum() / table.sum())


def test_metrics_known_values_and_bad_input():
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    assert clustering.adjusted_rand_index(y, torch.tensor([5, 5, 3, 3, 0, 0])) == 1.0
    assert clustering.purity(y, torch.zeros(6, dtype=torch.long)) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="comprimentos"):
        clustering.purity(y, y[:5])
    with pytest.raises(ValueError, match="negativos"):
        clustering.adjusted_rand_index(y, -y)
    with pytest.raises(ValueError, match="inteiros"):
        clustering.purity(y.float(), y)
    with pytest.raises(TypeError, match="tensor"):
        clustering.purity([0, 1], y)


def test_label_edges_against_loops():
    rng = np.random.default_rng(0)
    labels = torch.from_numpy(rng.integers(0, 3, size=(7, 9)))
    edges = clustering.label_edges(labels)
    L = labels.numpy()
    expected = np.zeros_like(L, dtype=bool)
    for i in range(L.shape[0]):
        for j in range(L.shape[1]):
            for di, dj in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                a, b = i + di, j + dj
                if 0 <= a < L.shape[0] and 0 <= b < L.shape[1] and L[a, b] != L[i, j]:
                    expected[i, j] = True
    assert np.array_equal(edges.numpy(), expected)
    assert not clustering.label_edges(torch.zeros(4, 4, dtype=torch.long)).any()
    with pytest.raises(ValueError, match="inteiros"):
        clustering.label_edges(torch.zeros(4, 4))


def test_pixel_features():
    image = torch.randint(0, 256, (4, 6, 3), dtype=torch.uint8)
    f = clustering.pixel_features(image)
    assert f.shape == (24, 3) and f.dtype == torch.float32
    torch.testing.assert_close(f[7], image[1, 1].float() / 255)
    g = clustering.pixel_features(image, weight=2.0)
    assert g.shape == (24, 5)
    torch.testing.assert_close(g[7, 3:], torch.tensor([2 / 6, 2 / 6]))
    torch.testing.assert_close(g[-1, 3:], torch.tensor([3 * 2 / 6, 5 * 2 / 6]))
    with pytest.raises(ValueError, match="uint8"):
        clustering.pixel_features(image.float())
    with pytest.raises(ValueError, match="≥ 0"):
        clustering.pixel_features(image, weight=-1.0)
    with pytest.raises(TypeError, match="número"):
        clustering.pixel_features(image, weight=True)


def test_png_sizes_are_lossless_and_palette_is_smaller():
    rng = np.random.default_rng(1)
    labels = torch.from_numpy(rng.integers(0, 4, size=(32, 40)))
    palette = torch.tensor([[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]], dtype=torch.uint8)
    data = clustering.palette_png_size(labels, palette, return_bytes=True)
    decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert np.array_equal(decoded, palette[labels].numpy())
    assert Image.open(io.BytesIO(data)).info.get("bits", 2) <= 8
    assert clustering.palette_png_size(labels, palette) < clustering.png_size(palette[labels])
    assert [clustering.index_bits(k) for k in (1, 2, 3, 4, 5, 16, 17, 256)] == [0, 1, 2, 2, 3, 4, 5, 8]
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        clustering.palette_png_size(labels + 1, palette)
    with pytest.raises(ValueError, match="palette"):
        clustering.palette_png_size(labels, palette.float())
    with pytest.raises(ValueError, match="uint8"):
        clustering.png_size(torch.zeros(4, 4, 4, dtype=torch.uint8))
