"""Regressão *ridge* nas formas primal e dual, *kernels* e *kernel ridge regression*.

Tudo em PyTorch (``float64``), para que o capítulo de regularização possa
comparar cada conta com o scikit-learn (``Ridge``, ``KernelRidge`` e
``sklearn.metrics.pairwise``). As funções aceitam tensores ou arranjos NumPy e
devolvem tensores ``float64`` no dispositivo das entradas (todas no mesmo). Matrizes
de atributos precisam de ao menos uma linha e uma coluna, sem NaN nem infinito.

As convenções de parâmetros são as do scikit-learn: ``gamma=None`` significa
``1 / número de atributos``; o *kernel* polinomial é ``(gamma <x, y> + coef0) ** degree``.
"""

import inspect

import numpy as np
import torch

from . import _check

__all__ = [
    "KERNELS", "linear_kernel", "polynomial_kernel", "rbf_kernel", "laplacian_kernel",
    "kernel_matrix", "ridge_primal", "ridge_dual", "KernelRidgeRegression",
]


def _as_tensor(name, A, ndim, finite=True):
    """Converte ``A`` num tensor ``float64`` não vazio com ``ndim`` dimensões, ou explica o erro."""
    if isinstance(A, np.ndarray):
        if A.dtype.kind not in "iuf":
            raise TypeError(f"{name} deve conter números reais, recebi {_check.describe(A)}")
        A = torch.from_numpy(np.asarray(A, dtype=np.float64))
    elif isinstance(A, torch.Tensor):
        _check.tensor(A, name, dtype="real")
        A = A.to(torch.float64)
    else:
        raise TypeError(f"{name} deve ser um tensor ou um arranjo NumPy, recebi {type(A).__name__}")
    if A.ndim != ndim:
        raise ValueError(f"{name} deve ter {ndim} dimensão(ões), recebi a forma {tuple(A.shape)}")
    if 0 in A.shape:
        raise ValueError(f"{name} precisa de ao menos uma linha e uma coluna, recebi a forma {tuple(A.shape)}")
    if finite:
        _finite(name, A)
    return A


def _finite(name, A):
    if not torch.isfinite(A).all():
        raise ValueError(f"{name} deve ter só números finitos, recebi NaN ou infinito")


def _pair(X, Y):
    """Valida o par ``(X, Y)`` de matrizes de atributos; ``Y=None`` quer dizer ``Y = X``."""
    X = _as_tensor("X", X, 2, finite=False)
    Y = X if Y is None else _as_tensor("Y", Y, 2, finite=False)
    _check.same_device(("Y", Y), ("X", X))
    _finite("X", X)
    _finite("Y", Y)
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"X e Y devem ter o mesmo número de colunas, recebi {X.shape[1]} e {Y.shape[1]}")
    return X, Y


def _positive(name, value, allow_zero=False):
    return _check.number(value, name, minimum=0, strict=not allow_zero)


def _gamma(gamma, X):
    return 1.0 / X.shape[1] if gamma is None else _positive("gamma", gamma)


def linear_kernel(X, Y=None):
    """*Kernel* linear, ``K[i, j] = <x_i, y_j>``; forma ``(n_X, n_Y)``."""
    X, Y = _pair(X, Y)
    return X @ Y.T


def polynomial_kernel(X, Y=None, degree=3, gamma=None, coef0=1.0):
    """*Kernel* polinomial, ``K[i, j] = (gamma <x_i, y_j> + coef0) ** degree``."""
    X, Y = _pair(X, Y)
    degree = _check.integer(degree, "degree", minimum=1)
    coef0 = _positive("coef0", coef0, allow_zero=True)
    return (_gamma(gamma, X) * (X @ Y.T) + coef0) ** degree


def rbf_kernel(X, Y=None, gamma=None):
    """*Kernel* gaussiano (RBF), ``K[i, j] = exp(-gamma ||x_i - y_j||²)``."""
    X, Y = _pair(X, Y)
    sq_dist = torch.cdist(X, Y, p=2.0) ** 2  # (n_X, n_Y)
    return torch.exp(-_gamma(gamma, X) * sq_dist)


def laplacian_kernel(X, Y=None, gamma=None):
    """*Kernel* laplaciano, ``K[i, j] = exp(-gamma ||x_i - y_j||₁)``."""
    X, Y = _pair(X, Y)
    l1_dist = torch.cdist(X, Y, p=1.0)  # (n_X, n_Y)
    return torch.exp(-_gamma(gamma, X) * l1_dist)


KERNELS = {
    "linear": linear_kernel,
    "polynomial": polynomial_kernel,
    "rbf": rbf_kernel,
    "laplacian": laplacian_kernel,
}


def _check_kernel(kernel, params):
    """Nome do *kernel* conhecido e só os parâmetros que ele aceita (com valores válidos)."""
    _check.choice(kernel, "kernel", tuple(KERNELS))
    accepted = [p for p in inspect.signature(KERNELS[kernel]).parameters if p not in ("X", "Y")]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise TypeError(f"o kernel {kernel!r} não aceita os parâmetros {unknown} (aceita só "
                        f"{accepted or 'nenhum'}); recebi {sorted(params)}")
    KERNELS[kernel](torch.zeros(1, 1, dtype=torch.float64), **params)  # confere os valores


def kernel_matrix(X, Y=None, kernel="rbf", **params):
    """Matriz de *kernel* pelo nome (``'linear'``, ``'polynomial'``, ``'rbf'``, ``'laplacian'``).

    ``params`` são os parâmetros daquele *kernel* (``gamma``, ``degree``, ``coef0``); outros são recusados.
    """
    _check_kernel(kernel, params)
    return KERNELS[kernel](X, Y, **params)


def _targets(y, X):
    n = X.shape[0]
    y = _as_tensor("y", y, 1, finite=False)
    _check.same_device(("y", y), ("X", X))
    _finite("y", y)
    if y.shape[0] != n:
        raise ValueError(f"y deve ter {n} elementos (um por linha de X), recebi {y.shape[0]}")
    return y


def ridge_primal(X, y, lam):
    """Coeficientes da *ridge* sem intercepto: ``beta = (XᵀX + lam I)⁻¹ Xᵀy``, forma ``(p,)``.

    Minimiza ``||y - X beta||² + lam ||beta||²``; resolve um sistema ``p × p``.
    ``lam ≥ 0``; com ``lam = 0`` (mínimos quadrados) ``XᵀX`` só é inversível se
    as colunas de ``X`` forem independentes (posto ``p``), e um ``X`` de posto
    menor é recusado.
    """
    X = _as_tensor("X", X, 2)
    y = _targets(y, X)
    lam = _positive("lam", lam, allow_zero=True)
    if lam == 0:
        rank = int(torch.linalg.matrix_rank(X))
        if rank < X.shape[1]:
            raise ValueError(f"lam = 0 exige X de posto completo nas colunas ({X.shape[1]}), mas X tem posto "
                             f"{rank}: XᵀX não é inversível; use lam > 0 (recebi lam = 0)")
    A = X.T @ X + lam * torch.eye(X.shape[1], dtype=X.dtype, device=X.device)
    return torch.linalg.solve(A, X.T @ y)


def ridge_dual(X, y, lam):
    """Coeficientes duais da *ridge*: ``alpha = (XXᵀ + lam I)⁻¹ y``, forma ``(n,)``.

    Os coeficientes primais são ``beta = Xᵀ alpha``; resolve um sistema ``n × n``.
    """
    X = _as_tensor("X", X, 2)
    y = _targets(y, X)
    lam = _positive("lam", lam)
    A = X @ X.T + lam * torch.eye(X.shape[0], dtype=X.dtype, device=X.device)
    return torch.linalg.solve(A, y)


class KernelRidgeRegression:
    """*Kernel ridge regression* sem intercepto, como ``sklearn.kernel_ridge.KernelRidge``.

    ``fit`` resolve ``(K + lam I) alpha = y`` com ``K[i, j] = k(x_i, x_j)``;
    ``predict`` devolve ``K(X_novo, X_treino) @ alpha``. ``lam > 0``; os
    parâmetros do *kernel* são conferidos já na construção, como em :func:`kernel_matrix`.
    """

    def __init__(self, lam=1.0, kernel="rbf", **kernel_params):
        self.lam = _positive("lam", lam)
        _check_kernel(kernel, kernel_params)
        self.kernel = kernel
        self.kernel_params = kernel_params
        self.X_fit_ = None
        self.dual_coef_ = None

    def fit(self, X, y):
        """Ajusta os coeficientes duais ``dual_coef_`` (um por exemplo de treino)."""
        X = _as_tensor("X", X, 2)
        y = _targets(y, X)
        K = kernel_matrix(X, X, self.kernel, **self.kernel_params)  # (n, n)
        K = K + self.lam * torch.eye(X.shape[0], dtype=X.dtype, device=X.device)
        self.dual_coef_ = torch.linalg.solve(K, y)
        self.X_fit_ = X
        return self

    def predict(self, X):
        """Previsões ``sum_i alpha_i k(x, x_i)`` para cada linha de ``X``."""
        if self.dual_coef_ is None:
            raise RuntimeError("o modelo ainda não foi ajustado: chame fit(X, y) antes de predict")
        X = _as_tensor("X", X, 2)
        _check.same_device(("X", X), ("X_fit_ (os dados do ajuste)", self.X_fit_))
        if X.shape[1] != self.X_fit_.shape[1]:
            raise ValueError(f"X deve ter {self.X_fit_.shape[1]} colunas, como os dados do ajuste; "
                             f"recebi {X.shape[1]}")
        # os mesmos parâmetros do ajuste: gamma=None usa o número de colunas de X_fit_
        K = kernel_matrix(self.X_fit_, X, self.kernel, **self.kernel_params).T  # (n_novo, n)
        return K @ self.dual_coef_
