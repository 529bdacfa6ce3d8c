import numpy as np
import pytest
import torch

from livro import fmt


@pytest.mark.parametrize("x, digits, expected", [
    (0.3, 1, "0,3"), (0.14, 2, "0,14"), (1234.5, 2, "1.234,50"), (-2.5, 1, "\u22122,5"),
    (1e6, 0, "1.000.000"), (-0.0001, 2, "0,00"), (np.float64(6.666), 1, "6,7"),
    (torch.tensor(0.5), 2, "0,50"), (np.array([3.0]), 0, "3"),
])
def test_num(x, digits, expected):
    assert fmt.num(x, digits) == expected


def test_num_without_thousands():
    assert fmt.num(12345.678, 1, thousands=False) == "12345,7"


def test_integer_and_pct():
    assert fmt.integer(60000) == "60.000"
    assert fmt.integer(np.int64(12)) == "12"
    assert fmt.pct(0.9251) == "92,5%"
    assert fmt.pct(0.5, 0) == "50%"


@pytest.mark.parametrize("x, expected", [
    (6.0**-40, "7,48 × 10⁻³²"), (12345.0, "1,23 × 10⁴"), (2.5, "2,50"), (0.0, "0,00"),
])
def test_sci(x, expected):
    assert fmt.sci(x) == expected


@pytest.mark.parametrize("bad", ["1,5", None, [1, 2], True])
def test_bad_type(bad):
    with pytest.raises(TypeError, match="esperava um número"):
        fmt.num(bad)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite(bad):
    with pytest.raises(ValueError, match="não sei escrever"):
        fmt.num(bad)


def test_bad_digits_and_arrays():
    with pytest.raises(ValueError, match="casas decimais"):
        fmt.num(1.0, -1)
    with pytest.raises(ValueError, match="único número"):
        fmt.num(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="inteiro"):
        fmt.integer(2.5)
