import pytest

from livro import timing


def test_verdict_phrases():
    assert timing.verdict(1.0, 7.1) == "7,1× mais rápido"
    assert timing.verdict(2.6, 2.0) == "1,3× mais lento"
    assert timing.verdict(1.0, 1.03) == "tão rápido quanto"
    assert timing.verdict(1.0, 236.4) == "236× mais rápido"


def test_median_time_counts_calls():
    calls = []
    t = timing.median_time(lambda: calls.append(1), repeats=5, warmup=2, device="cpu")
    assert len(calls) == 7 and t >= 0


@pytest.mark.parametrize("args", [(0.0, 1.0), (1.0, float("nan")), (True, 1.0), ("1", 1.0), (-1.0, 1.0)])
def test_verdict_bad_input(args):
    with pytest.raises(ValueError, match="tempo finito"):
        timing.verdict(*args)


def test_median_time_bad_input():
    with pytest.raises(TypeError, match="fn"):
        timing.median_time(3)
    with pytest.raises(ValueError, match="repeats"):
        timing.median_time(lambda: None, repeats=0)
    with pytest.raises(ValueError, match="warmup"):
        timing.median_time(lambda: None, warmup=-1)
    with pytest.raises(ValueError, match="tolerance"):
        timing.verdict(1.0, 2.0, tolerance=1.5)
