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
