"""Números escritos à moda brasileira: vírgula decimal e ponto de milhar.

Todo número que o texto do livro afirma passa por aqui antes de ir para o
``glue``, para que a prosa nunca mostre ``0.3`` onde o leitor espera ``0,3``.
"""

import math
import numbers

__all__ = ["num", "pct", "sci", "integer"]

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _as_float(x):
    """Converte escalares de Python, NumPy ou PyTorch em ``float``, com erro claro."""
    if isinstance(x, bool):
        raise TypeError("esperava um número, recebi um booleano")
    if hasattr(x, "item") and callable(x.item):
        size = getattr(x, "size", 1)
        size = size() if callable(size) else size
        numel = getattr(x, "numel", None)
        n = numel() if callable(numel) else size
        if hasattr(n, "__len__"):  # torch.Size
            n = math.prod(n)
        if n != 1:
            raise ValueError(f"esperava um único número, recebi um arranjo com {n} elementos")
        x = x.item()
    if not isinstance(x, numbers.Real):
        raise TypeError(f"esperava um número, recebi {type(x).__name__}: {x!r}")
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"não sei escrever {x} como número em português")
    return x


def _check_digits(digits):
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < 0:
        raise ValueError(f"o número de casas decimais deve ser um inteiro ≥ 0, recebi {digits!r}")


def _ptbr(text):
    """Troca a notação inglesa (1,234.5) pela brasileira (1.234,5)."""
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def num(x, digits=2, thousands=True):
    """Escreve ``x`` com ``digits`` casas decimais: ``num(1234.5)`` → ``'1.234,50'``."""
    x = _as_float(x)
    _check_digits(digits)
    text = f"{x:,.{digits}f}" if thousands else f"{x:.{digits}f}"
    if text.lstrip("-").strip("0.,") == "":  # evita "-0,00"
        text = text.lstrip("-")
    return _ptbr(text)


def integer(x):
    """Escreve um inteiro com ponto de milhar: ``integer(60000)`` → ``'60.000'``."""
    value = _as_float(x)
    if value != int(value):
        raise ValueError(f"esperava um número inteiro, recebi {x!r}")
    return _ptbr(f"{int(value):,d}")


def pct(x, digits=1):
    """Escreve a fração ``x`` como porcentagem: ``pct(0.9251)`` → ``'92,5%'``."""
    return num(100 * _as_float(x), digits) + "%"


def sci(x, digits=2):
    """Notação científica com vírgula e expoente sobrescrito: ``'7,46 × 10⁻³²'``."""
    x = _as_float(x)
    _check_digits(digits)
    if x == 0:
        return num(0, digits)
    mantissa, exponent = f"{x:.{digits}e}".split("e")
    exponent = int(exponent)
    if exponent == 0:
        return _ptbr(mantissa)
    return f"{_ptbr(mantissa)} × 10{str(exponent).translate(_SUPERSCRIPT)}"
