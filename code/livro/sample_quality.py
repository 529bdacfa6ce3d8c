"""Métricas de amostras geradas: a distância de Fréchet entre conjuntos de atributos e a diversidade.

As duas trabalham sobre atributos ``(N, D)`` já extraídos por uma rede (a
penúltima camada de um classificador, por exemplo). A distância de Fréchet
ajusta uma gaussiana a cada conjunto e mede a distância entre elas (a ideia da
FID de Heusel et al., 2017, com outra rede no lugar da Inception); a diversidade
é a distância média entre pares da mesma classe.
"""

import torch

from . import _check

__all__ = ["frechet_distance", "diversity"]


def _check_features(a, name):
    _check.tensor(a, name, ndim=2, dtype="floating", layout="(N, D)")
    if len(a) < 2:
        raise ValueError(f"{name} precisa de pelo menos 2 linhas, recebi {len(a)}")
    if not bool(torch.isfinite(a).all()):
        raise ValueError(f"{name} tem valores não finitos")


def frechet_distance(feats_a, feats_b):
    """Distância de Fréchet entre gaussianas ajustadas a dois conjuntos de atributos ``(N, D)``.

    ``‖μ_a - μ_b‖² + tr(Σ_a + Σ_b - 2 (Σ_a^½ Σ_b Σ_a^½)^½)``, com as raízes de
    matrizes simétricas pela decomposição espectral, em ``float64``.
    """
    _check_features(feats_a, "feats_a")
    _check_features(feats_b, "feats_b")
    if feats_a.shape[1] != feats_b.shape[1]:
        raise ValueError(f"feats_a e feats_b devem ter a mesma dimensão, recebi {feats_a.shape[1]} e "
                         f"{feats_b.shape[1]}")
    a, b = feats_a.detach().double().cpu(), feats_b.detach().double().cpu()
    d = a.shape[1]
    cov_a, cov_b = torch.cov(a.T).reshape(d, d), torch.cov(b.T).reshape(d, d)
    vals, vecs = torch.linalg.eigh(cov_a)
    root_a = vecs @ torch.diag(vals.clamp_min(0).sqrt()) @ vecs.T
    middle = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp_min(0).sqrt().sum()
    return float((a.mean(0) - b.mean(0)).square().sum() + cov_a.trace() + cov_b.trace() - 2 * middle)


def diversity(feats, labels):
    """Distância euclidiana média entre pares de atributos da mesma classe, média sobre as classes."""
    _check_features(feats, "feats")
    _check.tensor(labels, "labels", ndim=1, dtype="integer")
    if len(labels) != len(feats):
        raise ValueError(f"feats tem {len(feats)} linhas mas labels tem {len(labels)}")
    means = []
    for c in labels.unique():
        f = feats[labels == c].detach().double().cpu()
        if len(f) > 1:
            means.append(torch.cdist(f, f).sum() / (len(f) * (len(f) - 1)))
    if not means:
        raise ValueError("nenhuma classe de labels tem duas ou mais amostras")
    return float(torch.stack(means).mean())
