"""Testes de ``livro.boosting`` contra o scikit-learn (``DecisionTreeClassifier``, ``AdaBoostClassifier``)."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.ensemble import AdaBoostClassifier
from sklearn.tree import DecisionTreeClassifier

from livro import boosting


def _data(n, d, k, seed):
    """Atributos contínuos e pesos aleatórios: sem empates entre cortes, como na prática."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = rng.integers(0, k, size=n)
    y[:k] = np.arange(k)  # todas as classes presentes
    X[:, 0] += 0.8 * y  # um atributo informativo
    w = rng.uniform(0.5, 2.0, size=n)
    return X, y, w


def _sklearn_stump(X, y, w):
    tree = DecisionTreeClassifier(max_depth=1, random_state=0).fit(X, y, sample_weight=w)
    return tree


def _assert_same_stump(ours, tree, X):
    """Mesmo corte; se dois atributos separam o treino do mesmo jeito (empate exato), a mesma partição."""
    t = tree.tree_
    np.testing.assert_array_equal(tree.classes_[ours.predict(X)], tree.predict(X))
    if t.node_count == 1:
        assert ours.feature == -1
        return
    theirs = X[:, t.feature[0]].astype(np.float32) <= t.threshold[0]
    mine = X[:, ours.feature].astype(np.float32) <= ours.threshold
    if ours.feature == t.feature[0]:
        assert ours.threshold == t.threshold[0]
    else:  # empate entre atributos: o scikit-learn sorteia a ordem deles
        assert (mine == theirs).all() or (mine != theirs).all()


@pytest.mark.parametrize("n, d, k", [(10, 1, 2), (50, 3, 2), (80, 5, 3), (120, 4, 10)])
def test_stump_matches_decision_tree(n, d, k):
    X, y, w = _data(n, d, k, seed=n)
    ours = boosting.fit_stump(X, y, w, num_classes=k)
    _assert_same_stump(ours, _sklearn_stump(X, y, w), X)


def test_stump_on_integer_features_with_uniform_weights():
    X = np.array([[0, 5], [1, 5], [2, 5], [3, 5]])
    y = np.array([0, 0, 1, 1])
    s = boosting.fit_stump(X, y)
    assert (s.feature, s.threshold, s.left, s.right) == (0, 1.5, 0, 1)
    assert boosting.fit_stump(X, y, criterion="error") == s


def test_constant_features_give_a_leaf():
    s = boosting.fit_stump(np.ones((5, 2)), np.array([0, 1, 1, 1, 0]))
    assert s.feature == -1 and (s.predict(np.zeros((3, 2))) == 1).all()


def test_error_criterion_minimises_weighted_error():
    X, y, w = _data(60, 3, 2, seed=3)
    w = w / w.sum()
    best = boosting.fit_stump(X, y, w, criterion="error")
    err = w[best.predict(X) != y].sum()
    # nenhum corte em nenhum atributo erra menos (busca exaustiva)
    for j in range(X.shape[1]):
        for thr in np.unique(X[:, j].astype(np.float32)):
            for left, right in ((0, 1), (1, 0), (0, 0), (1, 1)):
                pred = np.where(X[:, j].astype(np.float32) <= thr, left, right)
                assert w[pred != y].sum() >= err - 1e-12


def _sklearn_adaboost(X, y, w, T):
    return AdaBoostClassifier(DecisionTreeClassifier(max_depth=1), n_estimators=T, random_state=0).fit(
        X, y, sample_weight=w)


def _assert_same_ensemble(ours, clf, X):
    T = len(ours.stumps)
    assert len(clf.estimators_) == T
    for s, tree in zip(ours.stumps, clf.estimators_):
        _assert_same_stump(s, tree, X)
    np.testing.assert_allclose(ours.alphas, clf.estimator_weights_[:T], rtol=1e-9)
    np.testing.assert_allclose(ours.errors, clf.estimator_errors_[:T], rtol=1e-9, atol=1e-15)
    staged = np.stack(list(clf.staged_predict(X)))
    np.testing.assert_array_equal(ours.staged_predict(X), staged)


@pytest.mark.parametrize("n, d, k, T", [(40, 2, 2, 15), (100, 5, 2, 40), (90, 4, 3, 20), (150, 6, 10, 25)])
def test_adaboost_matches_sklearn(n, d, k, T):
    X, y, w = _data(n, d, k, seed=T)
    y = y + 3  # rótulos que não começam em zero
    ours = boosting.adaboost(X, y, T, sample_weight=w)
    _assert_same_ensemble(ours, _sklearn_adaboost(X, y, w, T), X)
    np.testing.assert_array_equal(ours.predict(X), _sklearn_adaboost(X, y, w, T).predict(X))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(8, 40), d=st.integers(1, 4), k=st.integers(2, 4), T=st.integers(1, 6),
       seed=st.integers(0, 2**31 - 1))
def test_adaboost_matches_sklearn_property(n, d, k, T, seed):
    X, y, w = _data(n, d, k, seed)
    _assert_same_ensemble(boosting.adaboost(X, y, T, sample_weight=w), _sklearn_adaboost(X, y, w, T), X)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(5, 60), d=st.integers(1, 5), k=st.integers(1, 5), seed=st.integers(0, 2**31 - 1))
def test_stump_matches_decision_tree_property(n, d, k, seed):
    X, y, w = _data(n, d, k, seed)
    k = max(k, int(y.max()) + 1)
    _assert_same_stump(boosting.fit_stump(X, y, w, num_classes=k), _sklearn_stump(X, y, w), X)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(10, 80), T=st.integers(1, 30), seed=st.integers(0, 2**31 - 1),
       criterion=st.sampled_from(["gini", "error"]))
def test_training_error_below_loss_below_bound(n, T, seed, criterion):
    X, y, _ = _data(n, 3, 2, seed)
    model = boosting.adaboost(X, y, T, criterion=criterion)
    if model.errors[-1] == 0:  # toco perfeito: alpha = 1 por convenção, fora da teoria
        return
    loss = boosting.exponential_loss(model, X, y)
    product, bound = boosting.loss_bound(model.errors)
    train_err = (model.staged_predict(X) != y).mean(axis=1)
    np.testing.assert_allclose(loss, product, rtol=1e-9)  # igualdade com alpha ótimo
    assert (train_err <= loss + 1e-12).all() and (product <= bound + 1e-12).all()


def test_same_seed_same_model_and_tensors_accepted():
    X, y, w = _data(70, 4, 3, seed=5)
    a = boosting.adaboost(X, y, 10, sample_weight=w)
    b = boosting.adaboost(torch.from_numpy(X), torch.from_numpy(y), 10, sample_weight=torch.from_numpy(w))
    assert a.stumps == b.stumps
    np.testing.assert_array_equal(a.alphas, b.alphas)


def test_perfect_stump_stops_like_sklearn():
    X = np.arange(10.0)[:, None]
    y = (X[:, 0] > 4).astype(int)
    ours = boosting.adaboost(X, y, 5)
    clf = AdaBoostClassifier(DecisionTreeClassifier(max_depth=1), n_estimators=5).fit(X, y)
    assert len(ours.stumps) == len(clf.estimators_) == 1
    assert ours.alphas.tolist() == [1.0] and ours.errors.tolist() == [0.0]


def test_rounds_needed():
    gamma, n = 0.1, 1000
    T = boosting.rounds_needed(gamma, n)
    assert math.exp(-2 * T * gamma**2) < 1 / n <= math.exp(-2 * (T - 1) * gamma**2)


def test_bad_input():
    X, y, w = _data(20, 3, 2, seed=0)
    with pytest.raises(ValueError, match="X deve ter 2 dimensão"):
        boosting.adaboost(X[:, 0], y, 3)
    with pytest.raises(ValueError, match="mesmo número de exemplos"):
        boosting.adaboost(X, y[:-1], 3)
    with pytest.raises(ValueError, match="não pode ser vazio"):
        boosting.fit_stump(np.zeros((0, 3)), np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match="NaN ou infinito"):
        boosting.adaboost(np.where(X > 1, np.nan, X), y, 3)
    with pytest.raises(TypeError, match="rótulos inteiros"):
        boosting.adaboost(X, y.astype(float), 3)
    with pytest.raises(TypeError, match="arranjo NumPy ou um tensor"):
        boosting.adaboost("X", y, 3)
    with pytest.raises(ValueError, match="n_rounds deve ser um inteiro"):
        boosting.adaboost(X, y, 0)
    with pytest.raises(ValueError, match="n_rounds deve ser um inteiro"):
        boosting.adaboost(X, y, True)
    with pytest.raises(ValueError, match="n_rounds deve ser um inteiro"):
        boosting.adaboost(X, y, 2.5)
    with pytest.raises(ValueError, match="criterion deve ser"):
        boosting.adaboost(X, y, 3, criterion="entropia")
    with pytest.raises(ValueError, match="pesos finitos e positivos"):
        boosting.adaboost(X, y, 3, sample_weight=-w)
    with pytest.raises(ValueError, match="um peso por exemplo"):
        boosting.adaboost(X, y, 3, sample_weight=w[:5])
    with pytest.raises(ValueError, match="pelo menos duas classes"):
        boosting.adaboost(X, np.zeros(20, dtype=int), 3)
    with pytest.raises(ValueError, match="entre 0 e 1"):
        boosting.fit_stump(X, y + 1, num_classes=2)
    with pytest.raises(ValueError, match="num_classes deve ser"):
        boosting.fit_stump(X, y, num_classes=True)
    with pytest.raises(ValueError, match="duas classes"):
        boosting.exponential_loss(boosting.adaboost(X, y + 3 * (y > 0) * (X[:, 1] > 0), 3), X, y)
    with pytest.raises(TypeError, match="model deve ser um AdaBoost"):
        boosting.exponential_loss("modelo", X, y)
    with pytest.raises(ValueError, match="errors deve ter"):
        boosting.loss_bound([0.2, 0.7])
    with pytest.raises(ValueError, match="gamma deve ser"):
        boosting.rounds_needed(0.0, 10)
    with pytest.raises(ValueError, match="n deve ser"):
        boosting.rounds_needed(0.1, 0)
    with pytest.raises(ValueError, match="X tem 3 colunas"):
        boosting.Stump(5, 0.0, 0, 1).predict(X)
