import pytest
import torch

from livro import device


def test_get_matches_cuda_availability(monkeypatch):
    monkeypatch.delenv("LIVRO_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert device.get().type == expected


def test_get_picks_cuda_when_present(monkeypatch):
    monkeypatch.delenv("LIVRO_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert device.get() == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert device.get() == torch.device("cpu")


def test_prefer_and_env(monkeypatch):
    monkeypatch.setenv("LIVRO_DEVICE", "cpu")
    assert device.get() == torch.device("cpu")
    assert device.get("cpu") == torch.device("cpu")


def test_bad_device(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="dispositivo desconhecido"):
        device.get("tpu")
    with pytest.raises(RuntimeError, match="nenhuma GPU"):
        device.get("cuda")


def test_autocast_dtype(monkeypatch):
    assert device.autocast_dtype("cpu") is None
    assert device.autocast_dtype("cpu", "bf16") == torch.bfloat16
    assert device.autocast_dtype("cpu", None) is None
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert device.autocast_dtype("cuda") == torch.bfloat16
    with pytest.raises(ValueError, match="precisão mista"):
        device.autocast_dtype("cpu", "fp8")


def test_describe_cpu():
    assert device.describe("cpu").startswith("CPU (")
