"""Pacote do livro *Aprendizado Profundo e Visão Computacional*.

Cada módulo trata de um assunto (``data``, ``train``, ``fmt``, ``device``,
``plotting``…). Os capítulos importam módulos, não nomes, para que o leitor
veja onde cada função mora::

    import livro
    from livro import data, train
    rng = livro.seed(0)
"""

import random

import numpy as np

__version__ = "0.1.0"

__all__ = ["seed", "__version__"]


def seed(value=0):
    """Semeia ``random``, NumPy e PyTorch com ``value`` e devolve um gerador NumPy.

    Devolve ``np.random.default_rng(value)``, o gerador que os capítulos usam
    para sortear dados; as funções do PyTorch passam a usar a mesma semente.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"a semente deve ser um número inteiro, não {type(value).__name__}")
    if value < 0:
        raise ValueError(f"a semente deve ser não negativa, recebi {value}")
    import torch  # importado aqui: ``import livro`` fica leve para quem não usa torch

    value = int(value)
    random.seed(value)
    np.random.seed(value % 2**32)
    torch.manual_seed(value)
    return np.random.default_rng(value)
