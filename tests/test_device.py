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
    monkeypatch.delenv("LIVRO_AMP", raising=False)
    monkeypatch.setattr(device, "cpu_has_native_bf16", lambda: False)
    assert device.autocast_dtype("cpu") is None
    assert device.autocast_dtype("cpu", "bf16") == torch.bfloat16
    assert device.autocast_dtype("cpu", None) is None
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert device.autocast_dtype("cuda") == torch.bfloat16
    with pytest.raises(ValueError, match="precisão mista"):
        device.autocast_dtype("cpu", "fp8")


def test_describe_cpu():
    assert device.describe("cpu").startswith("CPU (")


def test_autocast_contract(monkeypatch):
    """CUDA: bf16 se a placa tem, senão fp16 com GradScaler; CPU: bf16 só se nativo."""
    monkeypatch.delenv("LIVRO_AMP", raising=False)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert device.autocast_dtype("cuda") == torch.float16
    assert device.needs_grad_scaler("cuda") is True
    monkeypatch.setattr(device, "cpu_has_native_bf16", lambda: True)
    assert device.autocast_dtype("cpu") == torch.bfloat16
    monkeypatch.setattr(device, "cpu_has_native_bf16", lambda: False)
    assert device.autocast_dtype("cpu") is None
    assert device.needs_grad_scaler("cpu") is False
    assert device.autocast_dtype("cpu", "off") is None
    assert device.autocast_dtype("cpu", "fp16") == torch.float16
    monkeypatch.setenv("LIVRO_AMP", "off")
    monkeypatch.setattr(device, "cpu_has_native_bf16", lambda: True)
    assert device.autocast_dtype("cpu") is None  # a variável de ambiente substitui o 'auto'


def test_cpuinfo_detection(tmp_path):
    with_bf16 = tmp_path / "com"
    with_bf16.write_text("processor : 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16\n")
    amx = tmp_path / "amx"
    amx.write_text("flags : fpu avx2 amx_bf16 amx_tile\n")
    without = tmp_path / "sem"
    without.write_text("flags : fpu sse avx avx2 fma\n")
    assert device._cpuinfo_has_bf16(with_bf16) and device._cpuinfo_has_bf16(amx)
    assert not device._cpuinfo_has_bf16(without)
    assert not device._cpuinfo_has_bf16(tmp_path / "nao-existe")


def test_non_x86_cpu_has_no_native_bf16(monkeypatch):
    import platform

    device.cpu_has_native_bf16.cache_clear()
    monkeypatch.setattr(platform, "machine", lambda: "arm64")
    try:
        assert device.cpu_has_native_bf16() is False
    finally:
        device.cpu_has_native_bf16.cache_clear()


def test_of_and_to_model():
    net = torch.nn.Linear(2, 2)
    assert device.of(net) == torch.device("cpu")
    assert device.of(torch.nn.ReLU()) == torch.device("cpu")  # sem parâmetros: CPU
    x, none = device.to_model(net, torch.ones(3, 2), None)
    assert x.device == torch.device("cpu") and none is None
    with pytest.raises(TypeError, match="nn.Module"):
        device.of("rede")
    with pytest.raises(TypeError, match="argumento 0"):
        device.to_model(net, [1, 2])


def test_autocast_context_and_bad_modes():
    import contextlib

    assert isinstance(device.autocast("cpu", "off"), contextlib.nullcontext)
    with device.autocast("cpu", "bf16"):
        out = torch.nn.Linear(4, 4)(torch.ones(2, 4))
    assert out.dtype == torch.bfloat16
    with pytest.raises(ValueError, match="precisão mista"):
        device.autocast_dtype("cpu", "fp8")
    with pytest.raises(TypeError, match="amp"):
        device.autocast_dtype("cpu", 16)
    with pytest.raises(ValueError, match="dispositivo inválido"):
        device.autocast_dtype("gpu0")
    with pytest.raises(TypeError, match="prefer"):
        device.get(3)


def test_synchronize_cpu_is_noop():
    device.synchronize("cpu")
