"""Tocos de decisão, AdaBoost (SAMME, discreto) escrito à mão e o limite do erro de treino.

O AdaBoost daqui segue a convenção do scikit-learn (``AdaBoostClassifier``,
algoritmo SAMME): o peso de cada classificador fraco é
``alpha = log((1 - eps) / eps) + log(K - 1)``. Com os mesmos tocos (árvores de
profundidade 1, critério de Gini) ele dá os mesmos tocos, pesos e previsões que
``AdaBoostClassifier(DecisionTreeClassifier(max_depth=1))``; os testes conferem.

Para duas classes, ``exponential_loss`` usa a outra convenção, a da perda
exponencial (``alpha / 2``), em que vale o limite
``erro de treino <= L_t = prod 2 sqrt(eps_s (1 - eps_s)) <= exp(-2 sum gamma_s^2)``.
"""

import math
import numbers
from dataclasses import dataclass

import numpy as np

__all__ = ["Stump", "fit_stump", "AdaBoost", "adaboost", "exponential_loss", "loss_bound", "rounds_needed"]

CRITERIA = ("gini", "error")


def _as_array(name, A, ndim):
    """Converte ``A`` (NumPy, tensor do PyTorch ou lista) num arranjo com ``ndim`` dimensões."""
    if hasattr(A, "detach"):  # tensor do PyTorch
        A = A.detach().cpu().numpy()
    if isinstance(A, bool) or not isinstance(A, (np.ndarray, list, tuple)):
        raise TypeError(f"{name} deve ser um arranjo NumPy ou um tensor, recebi {type(A).__name__}")
    A = np.asarray(A)
    if A.ndim != ndim:
        raise ValueError(f"{name} deve ter {ndim} dimensão(ões), recebi a forma {A.shape}")
    if A.size == 0:
        raise ValueError(f"{name} não pode ser vazio, recebi a forma {A.shape}")
    return A


def _check_X(X):
    X = _as_array("X", X, 2)
    if X.dtype == bool or not np.issubdtype(X.dtype, np.number):
        raise TypeError(f"X deve ter valores numéricos, recebi dtype {X.dtype}")
    X = X.astype(np.float32)  # como as árvores do scikit-learn: atributos em float32
    if not np.isfinite(X).all():
        raise ValueError("X contém NaN ou infinito (em float32)")
    return X


def _check_Xy(X, y, sample_weight=None):
    X = _check_X(X)
    y = _as_array("y", y, 1)
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"y deve ter rótulos inteiros, recebi dtype {y.dtype}")
    if len(y) != len(X):
        raise ValueError(f"X e y devem ter o mesmo número de exemplos, recebi {len(X)} e {len(y)}")
    if sample_weight is None:
        return X, y, np.full(len(y), 1.0 / len(y))
    w = _as_array("sample_weight", sample_weight, 1).astype(np.float64)
    if len(w) != len(y):
        raise ValueError(f"sample_weight deve ter um peso por exemplo ({len(y)}), recebi {len(w)}")
    if not np.isfinite(w).all() or (w <= 0).any():
        raise ValueError("sample_weight deve ter pesos finitos e positivos")
    return X, y, w / w.sum()


def _check_criterion(criterion):
    if criterion not in CRITERIA:
        raise ValueError(f"criterion deve ser 'gini' ou 'error', recebi {criterion!r}")


@dataclass(frozen=True)
class Stump:
    """Toco de decisão: se ``x[feature] <= threshold`` prevê ``left``, senão ``right``.

    ``left`` e ``right`` são índices de classe (0 a K-1). ``feature = -1`` quer
    dizer que nenhum corte foi possível (todos os atributos constantes): o toco
    prevê sempre ``left``.
    """

    feature: int
    threshold: float
    left: int
    right: int

    def predict(self, X):
        """Índices de classe previstos para as linhas de ``X`` ``(n, d)``."""
        X = _check_X(X)
        if self.feature < 0:
            return np.full(len(X), self.left)
        if self.feature >= X.shape[1]:
            raise ValueError(f"o toco usa o atributo {self.feature}, mas X tem {X.shape[1]} colunas")
        return np.where(X[:, self.feature] <= self.threshold, self.left, self.right)


def _best_stump(Xs, order, Y1, criterion):
    """Melhor toco, dados ``Xs`` (colunas de X ordenadas), a ordem e ``Y1`` ``(n, K)`` com os pesos.

    ``Y1[i, k]`` é o peso do exemplo ``i`` se ele é da classe ``k``, senão zero.
    Um corte entre as posições ``i`` e ``i + 1`` de uma coluna ordenada só vale
    se os dois valores forem diferentes.
    """
    left = np.cumsum(Y1[order], axis=0)[:-1]  # (n-1, d, K): pesos por classe à esquerda do corte
    right = Y1.sum(axis=0) - left
    valid = Xs[1:] > Xs[:-1]  # (n-1, d)
    total = Y1.sum(axis=0)
    if not valid.any() or (total > 0).sum() < 2:  # nada a cortar, ou nó puro: uma folha só
        return Stump(-1, 0.0, int(np.argmax(total)), int(np.argmax(total)))
    if criterion == "gini":  # maximizar sum_k l_k^2 / W_l + sum_k r_k^2 / W_r (Gini ponderado mínimo)
        wl, wr = left.sum(axis=2), right.sum(axis=2)
        with np.errstate(divide="ignore", invalid="ignore"):
            score = (left**2).sum(axis=2) / wl + (right**2).sum(axis=2) / wr
        score = np.nan_to_num(score, nan=-np.inf)
    else:  # maximizar o peso bem classificado = 1 - erro ponderado
        score = left.max(axis=2) + right.max(axis=2)
    score = np.where(valid, score, -np.inf)
    i, j = np.unravel_index(np.argmax(score), score.shape)  # empate: primeiro corte, primeiro atributo
    lo, hi = float(Xs[i, j]), float(Xs[i + 1, j])
    threshold = lo / 2.0 + hi / 2.0  # ponto médio, como no scikit-learn
    if threshold == hi or not math.isfinite(threshold):
        threshold = lo
    return Stump(int(j), threshold, int(np.argmax(left[i, j])), int(np.argmax(right[i, j])))


def fit_stump(X, y, sample_weight=None, num_classes=None, criterion="gini"):
    """O toco de decisão de menor impureza de Gini ponderada (ou de menor erro ponderado).

    ``X`` ``(n, d)``, ``y`` ``(n,)`` com classes em ``[0, num_classes)``,
    ``sample_weight`` ``(n,)`` positivo (uniforme se ``None``). Cada folha prevê
    a classe de maior peso. ``criterion='gini'`` é o critério de
    ``DecisionTreeClassifier(max_depth=1)``; ``'error'`` minimiza o erro ponderado,
    o classificador fraco da teoria do AdaBoost.
    """
    X, y, w = _check_Xy(X, y, sample_weight)
    _check_criterion(criterion)
    if num_classes is None:
        num_classes = int(y.max()) + 1
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 1:
        raise ValueError(f"num_classes deve ser um inteiro ≥ 1, recebi {num_classes!r}")
    if y.min() < 0 or y.max() >= num_classes:
        raise ValueError(f"os rótulos de y devem estar entre 0 e {num_classes - 1}; "
                         f"recebi valores entre {y.min()} e {y.max()}")
    order = np.argsort(X, axis=0, kind="stable")
    Y1 = np.eye(num_classes)[y] * w[:, None]
    return _best_stump(np.take_along_axis(X, order, axis=0), order, Y1, criterion)


@dataclass
class AdaBoost:
    """Resultado de ``adaboost``: classes, tocos, pesos ``alphas`` (SAMME) e erros ponderados."""

    classes: np.ndarray
    stumps: list
    alphas: np.ndarray
    errors: np.ndarray

    def staged_votes(self, X):
        """Votos acumulados ``(T, n, K)``: ``sum_{s<=t} alpha_s [h_s(x) = k]``."""
        X = _check_X(X)
        K = len(self.classes)
        votes = np.stack([np.eye(K)[s.predict(X)] * a for s, a in zip(self.stumps, self.alphas)])
        return np.cumsum(votes, axis=0)

    def staged_predict(self, X):
        """Classes previstas depois de cada rodada, ``(T, n)``; empate vai para a primeira classe."""
        return self.classes[self.staged_votes(X).argmax(axis=2)]

    def predict(self, X):
        """Classes previstas pelo conjunto inteiro, ``(n,)``."""
        return self.staged_predict(X)[-1]


def adaboost(X, y, n_rounds, sample_weight=None, criterion="gini"):
    """AdaBoost discreto (SAMME) com tocos de decisão, na convenção do scikit-learn.

    A cada rodada: ajusta o toco aos pesos atuais, mede o erro ponderado ``eps``,
    dá ao toco o peso ``alpha = log((1 - eps) / eps) + log(K - 1)`` e multiplica
    por ``exp(alpha)`` o peso dos exemplos que ele errou; depois normaliza. Para
    cedo (como o scikit-learn) se um toco acerta tudo (``alpha = 1``) ou se
    ``eps >= 1 - 1/K`` (o toco é descartado).
    """
    X, y, w = _check_Xy(X, y, sample_weight)
    _check_criterion(criterion)
    if isinstance(n_rounds, bool) or not isinstance(n_rounds, numbers.Integral) or n_rounds < 1:
        raise ValueError(f"n_rounds deve ser um inteiro ≥ 1, recebi {n_rounds!r}")
    classes, yi = np.unique(y, return_inverse=True)
    K = len(classes)
    if K < 2:
        raise ValueError(f"y precisa de pelo menos duas classes, recebi só {classes.tolist()}")
    order = np.argsort(X, axis=0, kind="stable")  # a ordem das colunas não muda entre rodadas
    Xs = np.take_along_axis(X, order, axis=0)
    onehot = np.eye(K)[yi]
    stumps, alphas, errors = [], [], []
    for t in range(n_rounds):
        stump = _best_stump(Xs, order, onehot * w[:, None], criterion)
        wrong = stump.predict(X) != yi
        eps = float(np.average(wrong, weights=w))
        if eps <= 0:  # toco perfeito: o scikit-learn lhe dá peso 1 e para
            stumps.append(stump), alphas.append(1.0), errors.append(0.0)
            break
        if eps >= 1 - 1 / K:  # pior que o acaso: descarta e para
            if not stumps:
                raise ValueError(f"o primeiro toco tem erro {eps:.3f} ≥ 1 - 1/K; o AdaBoost não pode começar")
            break
        alpha = math.log((1 - eps) / eps) + math.log(K - 1)
        stumps.append(stump), alphas.append(alpha), errors.append(eps)
        if t < n_rounds - 1:
            w = np.exp(np.log(w) + alpha * wrong)  # w * exp(alpha) nos errados, em log
            w /= w.sum()
    return AdaBoost(classes, stumps, np.array(alphas), np.array(errors))


def exponential_loss(model, X, y):
    """Perda exponencial de treino depois de cada rodada, ``(T,)``, para duas classes.

    ``L_t = mean(exp(-y f_t(x)))`` com ``y`` em {-1, +1} e
    ``f_t = sum_{s<=t} (alpha_s / 2) h_s(x)``: o ``alpha`` ótimo da perda
    exponencial é metade do ``alpha`` do SAMME.
    """
    if not isinstance(model, AdaBoost):
        raise TypeError(f"model deve ser um AdaBoost, recebi {type(model).__name__}")
    if len(model.classes) != 2:
        raise ValueError(f"a perda exponencial daqui é para duas classes, o modelo tem {len(model.classes)}")
    X, y, _ = _check_Xy(X, y)
    if not np.isin(y, model.classes).all():
        raise ValueError(f"y tem rótulos fora das classes do modelo {model.classes.tolist()}")
    sign = np.where(y == model.classes[1], 1.0, -1.0)
    votes = model.staged_votes(X)  # (T, n, 2)
    f = (votes[:, :, 1] - votes[:, :, 0]) / 2  # h = +1 ou -1, com peso alpha / 2
    return np.exp(-sign * f).mean(axis=1)


def loss_bound(errors):
    """Os dois limites da perda exponencial depois de cada rodada, dados os erros ``eps_t``.

    Devolve ``(produto, exponencial)``: ``prod_s 2 sqrt(eps_s (1 - eps_s))``, que é
    a própria perda quando ``alpha`` é ótimo, e ``exp(-2 sum_s gamma_s^2)`` com
    ``gamma_s = 1/2 - eps_s``.
    """
    eps = _as_array("errors", errors, 1).astype(np.float64)
    if not np.isfinite(eps).all() or (eps < 0).any() or (eps >= 0.5).any():
        raise ValueError("errors deve ter erros ponderados em [0, 1/2)")
    gamma = 0.5 - eps
    return np.cumprod(2 * np.sqrt(eps * (1 - eps))), np.exp(-2 * np.cumsum(gamma**2))


def rounds_needed(gamma, n):
    """Menor ``T`` com ``exp(-2 T gamma^2) < 1/n``: a partir dele, o erro de treino é zero."""
    if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real) or not 0 < gamma <= 0.5:
        raise ValueError(f"gamma deve ser um número em (0, 1/2], recebi {gamma!r}")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"n deve ser um inteiro ≥ 1, recebi {n!r}")
    return math.floor(math.log(n) / (2 * gamma**2)) + 1
