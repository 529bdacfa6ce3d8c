"""Configuração comum dos testes: caches isolados numa pasta temporária e o perfil do hypothesis."""

import os
import pathlib

import matplotlib
import pytest
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")

# Perfil fixo para a CI: poucos exemplos, sempre os mesmos (derandomize), sem prazo por exemplo
# (a máquina é compartilhada) e sem banco de exemplos em disco. HYPOTHESIS_PROFILE=dev explora mais.
settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture
def cache_tmp(tmp_path, monkeypatch):
    """Cache do livro (dados e modelos) numa pasta temporária, vazia."""
    monkeypatch.setenv("LIVRO_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("LIVRO_CACHE_MODELOS", raising=False)
    monkeypatch.delenv("LIVRO_DADOS", raising=False)
    monkeypatch.setenv("LIVRO_OFFLINE", "1")
    return tmp_path / "cache"
