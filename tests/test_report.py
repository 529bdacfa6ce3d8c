import json

import pytest

from livro import report


def test_peak_memory_is_plausible():
    peak = report.peak_memory_gb()
    assert 0.01 < peak < report.MEMORY_BUDGET_GB


def test_record_glues_json(monkeypatch):
    glued = {}
    import myst_nb

    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: glued.update({name: value}))
    info = report.record()
    assert json.loads(glued[report.GLUE_KEY]) == info
    assert info["dispositivo"].startswith(("CPU", "GPU")) and info["memoria_gb"] > 0


def test_record_fails_over_budget(monkeypatch):
    import myst_nb

    monkeypatch.setattr(myst_nb, "glue", lambda *a, **k: None)
    with pytest.raises(RuntimeError, match="acima do orçamento"):
        report.record(budget_gb=1e-6)


@pytest.mark.parametrize("system, value, expected", [
    ("Linux", 1_000_000, 1_024_000_000),     # KiB
    ("FreeBSD", 2, 2048),                      # KiB
    ("Darwin", 1_024_000_000, 1_024_000_000),  # bytes
])
def test_maxrss_units_per_platform(system, value, expected):
    assert report.maxrss_bytes(value, system) == expected


def test_peak_memory_on_windows_uses_psutil(monkeypatch):
    import platform

    import psutil

    class Info:
        peak_wset = 2_500_000_000

    class Proc:
        def memory_info(self):
            return Info()

    monkeypatch.setattr(platform, "system", lambda: "Windows")
    monkeypatch.setattr(psutil, "Process", Proc)
    assert report.peak_memory_gb() == pytest.approx(2.5)


def test_peak_memory_on_macos_reads_bytes(monkeypatch):
    import platform
    import resource

    class Usage:
        ru_maxrss = 3_000_000_000  # o macOS conta em bytes

    monkeypatch.setattr(platform, "system", lambda: "Darwin")
    monkeypatch.setattr(resource, "getrusage", lambda who: Usage())
    assert report.peak_memory_gb() == pytest.approx(3.0)


@pytest.mark.parametrize("value", [-1, True, "10", None])
def test_maxrss_bad_input(value):
    with pytest.raises(ValueError, match="ru_maxrss"):
        report.maxrss_bytes(value, "Linux")


def test_record_glues_time_budget(monkeypatch):
    glued = {}
    import myst_nb

    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: glued.update({name: value}))
    info = report.record(budget_s=360)
    assert info["orcamento_s"] == 360 and json.loads(glued[report.GLUE_KEY])["orcamento_s"] == 360


@pytest.mark.parametrize("kwargs", [{"budget_s": 0}, {"budget_s": True}, {"budget_gb": "4"}])
def test_record_bad_budgets(kwargs):
    with pytest.raises(ValueError, match="budget"):
        report.record(**kwargs)
