"""Números escritos à moda brasileira: vírgula decimal e ponto de milhar.

Todo número que o texto do livro afirma passa por aqui antes de ir para o
``glue``, para que a prosa nunca mostre ``0.3`` onde o leitor espera ``0,3``.
"""

import decimal
import math
import numbers

__all__ = ["num", "pct", "sci", "integer"]

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
MAX_DIGITS = 100
MINUS = "\u2212"  # o sinal de menos tipográfico, "−"


def _as_number(x):
    """Converte escalares de Python, NumPy ou PyTorch em ``int`` (exato) ou ``float`` finito.

    Inteiros continuam inteiros, de qualquer tamanho: nunca passam por ``float``,
    que só guarda 53 bits. Booleanos (de Python, NumPy ou PyTorch) são recusados.
    """
    if hasattr(x, "item") and callable(x.item) and not isinstance(x, numbers.Number):
        size = getattr(x, "size", 1)
        size = size() if callable(size) else size
        numel = getattr(x, "numel", None)
        n = numel() if callable(numel) else size
        if hasattr(n, "__len__"):  # torch.Size
            n = math.prod(n)
        if n != 1:
            raise ValueError(f"x: esperava um único número, recebi um arranjo com {n} elementos")
        x = x.item()  # bool, int ou float de Python
    if isinstance(x, bool):
        raise TypeError(f"x: esperava um número, recebi um booleano ({x!r})")
    if isinstance(x, numbers.Integral):
        return int(x)
    if not isinstance(x, numbers.Real):
        raise TypeError(f"x: esperava um número, recebi {type(x).__name__}: {x!r}")
    try:
        x = float(x)
    except OverflowError:
        raise ValueError("x: não sei escrever este número, grande demais para um float; "
                         f"recebi um {type(x).__name__}") from None
    if not math.isfinite(x):
        raise ValueError(f"x: não sei escrever {x} como número em português; recebi um valor "
                         "não finito")
    return x


def _check_digits(digits):
    if isinstance(digits, bool) or not isinstance(digits, numbers.Integral):
        raise TypeError(f"digits (o número de casas decimais) deve ser um inteiro, recebi {digits!r}")
    if not 0 <= digits <= MAX_DIGITS:
        raise ValueError(f"digits (o número de casas decimais) deve ser um inteiro entre 0 e {MAX_DIGITS}, "
                         f"recebi {digits!r}")
    return int(digits)


def _ptbr(text):
    """Troca a notação inglesa (1,234.5) pela brasileira (1.234,5), com o sinal de menos "−".

    O hífen ASCII ("-") não é o sinal de menos da tipografia: o livro escreve ``−2,5``.
    """
    text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return MINUS + text[1:] if text.startswith("-") else text


def num(x, digits=2, thousands=True):
    """Escreve ``x`` com ``digits`` casas decimais: ``num(1234.5)`` → ``'1.234,50'``.

    Inteiros são escritos exatamente, de qualquer tamanho; ``float`` é
    arredondado a ``digits`` casas (no máximo ``MAX_DIGITS``).
    """
    x = _as_number(x)
    digits = _check_digits(digits)
    if not isinstance(thousands, bool):
        raise TypeError(f"thousands deve ser True ou False, recebi {thousands!r}")
    spec = f",.{digits}f" if thousands else f".{digits}f"
    text = format(decimal.Decimal(x) if isinstance(x, int) else x, spec)
    if text.lstrip("-").strip("0.,") == "":  # evita "-0,00"
        text = text.lstrip("-")
    return _ptbr(text)


def integer(x):
    """Escreve um inteiro com ponto de milhar: ``integer(60000)`` → ``'60.000'``.

    Exato para qualquer inteiro; um ``float`` só é aceito se não tiver parte fracionária.
    """
    value = _as_number(x)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"x: esperava um número inteiro, recebi {x!r}")
        value = int(value)
    return _ptbr(f"{value:,d}")


def pct(x, digits=1):
    """Escreve a fração ``x`` como porcentagem: ``pct(0.9251)`` → ``'92,5%'``."""
    return num(100 * _as_number(x), digits) + "%"


def sci(x, digits=2):
    """Notação científica com vírgula e expoente sobrescrito: ``'7,46 × 10⁻³²'``.

    Inteiros, de qualquer tamanho, são arredondados a partir do valor exato.
    """
    x = _as_number(x)
    digits = _check_digits(digits)
    if x == 0:
        return num(0, digits)
    mantissa, exponent = format(decimal.Decimal(x) if isinstance(x, int) else x, f".{digits}e").split("e")
    exponent = int(exponent)
    if exponent == 0:
        return _ptbr(mantissa)
    return f"{_ptbr(mantissa)} × 10{str(exponent).translate(_SUPERSCRIPT)}"
