"""Configuração comum dos testes: caches isolados numa pasta temporária."""

import pathlib

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture
def cache_tmp(tmp_path, monkeypatch):
    """Cache do livro (dados e modelos) numa pasta temporária, vazia."""
    monkeypatch.setenv("LIVRO_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("LIVRO_CACHE_MODELOS", raising=False)
    monkeypatch.delenv("LIVRO_DADOS", raising=False)
    monkeypatch.setenv("LIVRO_OFFLINE", "1")
    return tmp_path / "cache"
