"""Misturas gaussianas ajustadas por EM, curva ROC e a discrepância MMD, escritas à mão.

``gmm_fit`` alterna os dois passos do algoritmo EM (*expectation–maximization*)
a partir de rótulos iniciais dados, até que a log-verossimilhança média pare
de subir; ``gmm_log_prob`` devolve :math:`\\log p(\\mathbf{x})` de cada ponto.
``roc_curve`` e ``roc_auc`` avaliam um detector que dá notas maiores aos
positivos; ``mmd2`` mede a distância entre duas amostras com um núcleo RBF.
Tudo em NumPy ``float64``; o capítulo confere cada função contra o scikit-learn.
"""

import dataclasses
import math

import numpy as np
from scipy.linalg import solve_triangular

__all__ = ["GMM", "gmm_log_prob", "gmm_fit", "roc_curve", "roc_auc", "mmd2"]


@dataclasses.dataclass
class GMM:
    """Parâmetros de uma mistura de ``K`` gaussianas em ``D`` dimensões e o histórico do EM.

    ``weights`` ``(K,)``, ``means`` ``(K, D)``, ``covariances`` ``(K, D, D)``;
    ``history`` é a log-verossimilhança média no início e depois de cada
    iteração; ``converged`` diz se a última melhora ficou abaixo de ``tol``
    antes de ``max_iter`` iterações.
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    history: list
    converged: bool

    @property
    def num_params(self):
        """Número de parâmetros livres: pesos (K − 1), médias (K·D) e covariâncias (K·D(D+1)/2)."""
        k, d = self.means.shape
        return (k - 1) + k * d + k * d * (d + 1) // 2


def _as_matrix(name, X):
    if isinstance(X, bool) or not hasattr(X, "__len__"):
        raise TypeError(f"{name} deve ser uma matriz (N, D), recebi {type(X).__name__}")
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"{name} deve ter forma (N, D), recebi a forma {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} está vazio: forma {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError(f"{name} tem valores não finitos (nan ou inf)")
    return X


def _positive_number(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} deve ser um número, recebi {type(value).__name__}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} deve ser um número positivo e finito, recebi {value!r}")


def _log_gauss(X, means, covariances):
    """log N(x | μ_k, Σ_k) para cada ponto e componente, pela decomposição de Cholesky: (N, K)."""
    n, d = X.shape
    out = np.empty((n, len(means)))
    for k, (mu, cov) in enumerate(zip(means, covariances)):
        L = np.linalg.cholesky(cov)                        # Σ = L Lᵀ
        z = solve_triangular(L, (X - mu).T, lower=True)    # (D, N): L⁻¹ (x − μ)
        log_det = 2 * np.log(np.diag(L)).sum()
        out[:, k] = -0.5 * (d * math.log(2 * math.pi) + log_det + (z**2).sum(0))
    return out


def _logsumexp(a):
    m = a.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(a - m).sum(axis=1, keepdims=True)))[:, 0]


def _check_params(X, weights, means, covariances):
    weights, means, covariances = (np.asarray(a, dtype=np.float64) for a in (weights, means, covariances))
    k, d = len(weights), X.shape[1]
    if weights.ndim != 1 or means.shape != (k, d) or covariances.shape != (k, d, d):
        raise ValueError(f"esperava weights (K,), means (K, {d}) e covariances (K, {d}, {d}); recebi "
                         f"{weights.shape}, {means.shape} e {covariances.shape}")
    if (weights < 0).any() or not np.isclose(weights.sum(), 1.0):
        raise ValueError("weights devem ser não negativos e somar 1")
    return weights, means, covariances


def gmm_log_prob(X, weights, means, covariances):
    """log p(x) = log Σ_k π_k N(x | μ_k, Σ_k) de cada linha de ``X``; devolve ``(N,)``."""
    X = _as_matrix("X", X)
    weights, means, covariances = _check_params(X, weights, means, covariances)
    with np.errstate(divide="ignore"):
        return _logsumexp(_log_gauss(X, means, covariances) + np.log(weights))


def _m_step(X, resp, reg_covar):
    """Pesos, médias e covariâncias que maximizam a verossimilhança esperada, dadas as responsabilidades."""
    nk = resp.sum(0) + 10 * np.finfo(float).eps          # (K,): quantos pontos cada componente "tem"
    means = resp.T @ X / nk[:, None]                       # (K, D)
    covs = np.empty((len(nk), X.shape[1], X.shape[1]))
    for k in range(len(nk)):
        diff = X - means[k]
        covs[k] = (resp[:, k, None] * diff).T @ diff / nk[k]
        covs[k].flat[:: X.shape[1] + 1] += reg_covar       # somado à diagonal: Σ sempre invertível
    return nk / len(X), means, covs


def gmm_fit(X, init_labels, max_iter=1000, tol=1e-6, reg_covar=1e-6):
    """Ajusta uma mistura gaussiana de covariância cheia por EM e devolve um :class:`GMM`.

    ``init_labels`` ``(N,)`` dá o componente inicial de cada ponto (0..K−1,
    todos presentes); um primeiro passo M transforma esses rótulos em
    parâmetros (``max_iter=0`` devolve só esse ponto de partida). Cada
    iteração faz o passo E (responsabilidades) e o passo M, e o laço para
    quando a log-verossimilhança média melhora menos que ``tol``.
    ``history[0]`` é a do ponto de partida e ``history[-1]`` a dos parâmetros devolvidos.
    """
    X = _as_matrix("X", X)
    labels = np.asarray(init_labels)
    if labels.shape != (len(X),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"init_labels deve ser um vetor de inteiros com {len(X)} entradas, recebi "
                         f"forma {labels.shape} e tipo {labels.dtype}")
    if labels.min() < 0:
        raise ValueError("init_labels tem rótulos negativos; use 0..K−1")
    k = int(labels.max()) + 1
    if len(np.unique(labels)) != k:
        raise ValueError(f"init_labels deve usar todos os rótulos 0..{k - 1}; algum componente ficou vazio")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 0:
        raise ValueError(f"max_iter deve ser um inteiro ≥ 0, recebi {max_iter!r}")
    _positive_number("tol", tol)
    _positive_number("reg_covar", reg_covar)

    weights, means, covs = _m_step(X, np.eye(k)[labels], reg_covar)   # ponto de partida
    log_joint = _log_gauss(X, means, covs) + np.log(weights)            # (N, K): log π_k N(x_n | k)
    log_px = _logsumexp(log_joint)                                     # (N,): log p(x_n)
    history, converged = [float(log_px.mean())], False
    for _ in range(max_iter):
        resp = np.exp(log_joint - log_px[:, None])                     # passo E: p(k | x_n)
        weights, means, covs = _m_step(X, resp, reg_covar)             # passo M
        log_joint = _log_gauss(X, means, covs) + np.log(weights)
        log_px = _logsumexp(log_joint)
        history.append(float(log_px.mean()))
        if history[-1] - history[-2] < tol:
            converged = True
            break
    return GMM(weights, means, covs, history, converged)


def _check_binary(labels, scores):
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    if labels.ndim != 1 or scores.ndim != 1 or len(labels) != len(scores):
        raise ValueError(f"labels e scores devem ser vetores do mesmo tamanho, recebi formas "
                         f"{labels.shape} e {scores.shape}")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("labels deve conter só 0 (negativo) e 1 (positivo)")
    if labels.min() == labels.max():
        raise ValueError("a curva ROC precisa de positivos e de negativos em labels")
    if not np.isfinite(scores).all():
        raise ValueError("scores tem valores não finitos (nan ou inf)")
    return labels.astype(bool), scores


def roc_curve(labels, scores):
    """Curva ROC: ``(fpr, tpr, thresholds)``, com o limiar descendo da maior nota à menor.

    Declarar positivo todo ponto com nota ≥ limiar; cada limiar distinto é um
    ponto da curva, e o primeiro ponto é (0, 0), com limiar ``+inf``.
    """
    labels, scores = _check_binary(labels, scores)
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]   # última posição de cada nota distinta
    tp = np.cumsum(y)[last]
    fp = (last + 1) - tp
    tpr = np.r_[0.0, tp / y.sum()]
    fpr = np.r_[0.0, fp / (~y).sum()]
    return fpr, tpr, np.r_[np.inf, s[last]]


def roc_auc(labels, scores):
    """Área sob a curva ROC, pela regra do trapézio sobre :func:`roc_curve`."""
    fpr, tpr, _ = roc_curve(labels, scores)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def mmd2(X, Y, bandwidth):
    """Estimativa não enviesada do MMD² entre as amostras ``X`` e ``Y``, núcleo exp(−‖x−y‖²/(2h²)).

    Zero em média quando as duas amostras vêm da mesma distribuição; cresce
    quanto mais elas diferem. Os termos diagonais (um ponto com ele mesmo) ficam de fora.
    """
    X, Y = _as_matrix("X", X), _as_matrix("Y", Y)
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"X e Y devem ter o mesmo número de colunas, recebi {X.shape[1]} e {Y.shape[1]}")
    if len(X) < 2 or len(Y) < 2:
        raise ValueError("mmd2 precisa de ao menos dois pontos em cada amostra")
    _positive_number("bandwidth", bandwidth)

    def kernel(A, B):
        sq = (A**2).sum(1)[:, None] + (B**2).sum(1)[None, :] - 2 * A @ B.T
        return np.exp(-np.maximum(sq, 0) / (2 * bandwidth**2))

    n, m = len(X), len(Y)
    kxx, kyy = kernel(X, X), kernel(Y, Y)
    within_x = (kxx.sum() - np.trace(kxx)) / (n * (n - 1))
    within_y = (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(within_x + within_y - 2 * kernel(X, Y).mean())
