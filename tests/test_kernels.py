"""Testes de ``livro.kernels`` contra o scikit-learn."""

import numpy as np
import pytest
import torch
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import Ridge
from sklearn.metrics import pairwise

from livro import kernels

SHAPES = [(5, 1, 3), (20, 4, 7), (40, 10, 13)]  # (n_X, p, n_Y)

SKLEARN_KERNELS = {
    "linear": lambda X, Y, **kw: pairwise.linear_kernel(X, Y),
    "polynomial": pairwise.polynomial_kernel,
    "rbf": pairwise.rbf_kernel,
    "laplacian": pairwise.laplacian_kernel,
}

PARAMS = {
    "linear": [{}],
    "polynomial": [{}, {"degree": 2, "gamma": 0.5, "coef0": 0.0}, {"degree": 4, "gamma": 0.1, "coef0": 2.0}],
    "rbf": [{}, {"gamma": 0.3}, {"gamma": 5.0}],
    "laplacian": [{}, {"gamma": 0.3}, {"gamma": 2.0}],
}


def _data(n, p, m, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, p)), rng.normal(size=(m, p)), rng.normal(size=n)


@pytest.mark.parametrize("n, p, m", SHAPES)
@pytest.mark.parametrize("name", list(kernels.KERNELS))
def test_kernels_match_sklearn(n, p, m, name):
    X, Y, _ = _data(n, p, m)
    for params in PARAMS[name]:
        ours = kernels.kernel_matrix(X, Y, name, **params)
        expected = torch.from_numpy(SKLEARN_KERNELS[name](X, Y, **params))
        assert ours.shape == (n, m)
        torch.testing.assert_close(ours, expected)
        # Y=None é o mesmo que Y=X
        torch.testing.assert_close(kernels.kernel_matrix(X, None, name, **params),
                                   kernels.kernel_matrix(X, X, name, **params))


def test_kernels_accept_tensors():
    X, Y, _ = _data(6, 3, 4)
    torch.testing.assert_close(kernels.rbf_kernel(torch.from_numpy(X), torch.from_numpy(Y)),
                               kernels.rbf_kernel(X, Y))
    assert kernels.linear_kernel(torch.from_numpy(X).float()).dtype == torch.float64


@pytest.mark.parametrize("n, p, m", SHAPES)
@pytest.mark.parametrize("lam", [0.01, 1.0, 30.0])
def test_ridge_primal_and_dual_match_sklearn(n, p, m, lam):
    X, _, y = _data(n, p, m)
    beta = kernels.ridge_primal(X, y, lam)
    alpha = kernels.ridge_dual(X, y, lam)
    expected = Ridge(alpha=lam, fit_intercept=False, solver="cholesky").fit(X, y).coef_
    torch.testing.assert_close(beta, torch.from_numpy(expected))
    torch.testing.assert_close(torch.from_numpy(X).T @ alpha, beta)
    assert beta.shape == (p,) and alpha.shape == (n,)


def test_ridge_primal_lambda_zero_is_least_squares():
    X, _, y = _data(30, 4, 1)
    expected = np.linalg.lstsq(X, y, rcond=None)[0]
    torch.testing.assert_close(kernels.ridge_primal(X, y, 0.0), torch.from_numpy(expected))


@pytest.mark.parametrize("n, p, m", SHAPES)
@pytest.mark.parametrize("name", list(kernels.KERNELS))
def test_kernel_ridge_matches_sklearn(n, p, m, name):
    X, Y, y = _data(n, p, m)
    for params in PARAMS[name]:
        for lam in (0.1, 2.0):
            ours = kernels.KernelRidgeRegression(lam, name, **params).fit(X, y)
            ref = KernelRidge(alpha=lam, kernel=name, **params).fit(X, y)
            torch.testing.assert_close(ours.dual_coef_, torch.from_numpy(ref.dual_coef_))
            torch.testing.assert_close(ours.predict(Y), torch.from_numpy(ref.predict(Y)))


def test_linear_kernel_ridge_equals_ridge():
    X, Y, y = _data(25, 5, 8)
    krr = kernels.KernelRidgeRegression(0.7, "linear").fit(X, y)
    beta = kernels.ridge_primal(X, y, 0.7)
    torch.testing.assert_close(krr.predict(Y), torch.from_numpy(Y) @ beta)


def test_same_seed_same_output():
    a = kernels.KernelRidgeRegression(0.5, "rbf", gamma=0.2).fit(*_data(15, 3, 4, seed=7)[::2])
    b = kernels.KernelRidgeRegression(0.5, "rbf", gamma=0.2).fit(*_data(15, 3, 4, seed=7)[::2])
    assert torch.equal(a.dual_coef_, b.dual_coef_)
    c = kernels.KernelRidgeRegression(0.5, "rbf", gamma=0.2).fit(*_data(15, 3, 4, seed=8)[::2])
    assert not torch.equal(a.dual_coef_, c.dual_coef_)


def test_bad_inputs():
    X, Y, y = _data(6, 3, 4)
    with pytest.raises(TypeError, match="tensor ou um arranjo"):
        kernels.linear_kernel([[1.0, 2.0]])
    with pytest.raises(ValueError, match="2 dimensão"):
        kernels.rbf_kernel(X[0])
    with pytest.raises(ValueError, match="mesmo número de colunas"):
        kernels.rbf_kernel(X, Y[:, :2])
    with pytest.raises(ValueError, match="gamma deve ser > 0"):
        kernels.laplacian_kernel(X, gamma=-1.0)
    with pytest.raises(ValueError, match="degree"):
        kernels.polynomial_kernel(X, degree=0)
    with pytest.raises(ValueError, match="kernel deve ser uma de"):
        kernels.kernel_matrix(X, kernel="sigmoide")
    with pytest.raises(ValueError, match="NaN"):
        kernels.linear_kernel(np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match="y deve ter 6"):
        kernels.ridge_primal(X, y[:3], 1.0)
    with pytest.raises(ValueError, match="lam deve ser > 0"):
        kernels.ridge_dual(X, y, 0.0)
    with pytest.raises(ValueError, match="lam deve ser ≥ 0"):
        kernels.ridge_primal(X, y, -1.0)
    with pytest.raises(TypeError, match="lam deve ser um número"):
        kernels.KernelRidgeRegression("1")
    with pytest.raises(ValueError, match="kernel deve ser uma de"):
        kernels.KernelRidgeRegression(1.0, "cosseno")
    with pytest.raises(RuntimeError, match="ainda não foi ajustado"):
        kernels.KernelRidgeRegression(1.0).predict(X)
    model = kernels.KernelRidgeRegression(1.0, "linear").fit(X, y)
    with pytest.raises(ValueError, match="colunas"):
        model.predict(Y[:, :2])
