import random

import numpy as np
import pytest
import torch

import livro


def test_seed_reproducible():
    rng = livro.seed(123)
    a = (random.random(), np.random.rand(), torch.rand(3), rng.normal(size=2))
    rng = livro.seed(123)
    b = (random.random(), np.random.rand(), torch.rand(3), rng.normal(size=2))
    assert a[0] == b[0] and a[1] == b[1]
    torch.testing.assert_close(a[2], b[2])
    np.testing.assert_array_equal(a[3], b[3])
    assert isinstance(rng, np.random.Generator)


def test_seed_differs():
    livro.seed(1)
    x = torch.rand(4)
    livro.seed(2)
    assert not torch.equal(x, torch.rand(4))


@pytest.mark.parametrize("bad, err", [(1.5, TypeError), ("0", TypeError), (-1, ValueError), (True, TypeError)])
def test_seed_bad_input(bad, err):
    with pytest.raises(err, match="semente"):
        livro.seed(bad)


def test_version_matches_pyproject():
    import pathlib
    import tomllib

    pyproject = pathlib.Path(__file__).resolve().parents[1] / "code" / "pyproject.toml"
    assert tomllib.loads(pyproject.read_text())["project"]["version"] == livro.__version__
