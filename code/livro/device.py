"""O contrato de dispositivos do livro, num lugar só.

Três regras, que todo o pacote segue e que os capítulos não repetem:

1. **O dispositivo do modelo manda.** Toda função do pacote que recebe um modelo
   leva as entradas para o dispositivo dele (:func:`of`, :func:`to_model`) e
   devolve na CPU o que é para imprimir ou desenhar.
2. **A precisão mista é escolhida por uma função só**, :func:`autocast_dtype`, a
   partir do dispositivo e do que ele calcula de fato:

   - CUDA: ``bfloat16`` onde a placa o suporta; senão ``float16``, com um
     ``GradScaler`` no treino (:func:`needs_grad_scaler`);
   - CPU: ``bfloat16`` só onde o processador o calcula nativamente
     (:func:`cpu_has_native_bf16`: AVX512-BF16 ou AMX); senão ``float32``.
3. **Os capítulos nunca escrevem** ``.cuda()``, uma *string* de dispositivo ou
   ``torch.autocast("cpu", …)``: pedem :func:`get`, :func:`of` e :func:`autocast`.

As variáveis de ambiente ``LIVRO_DEVICE`` (``cpu`` ou ``cuda``) e ``LIVRO_AMP``
(``auto``, ``off``, ``bf16`` ou ``fp16``) mudam as escolhas sem mexer no código.
"""

import contextlib
import functools
import os
import pathlib
import platform

import torch

__all__ = [
    "get", "of", "to_model", "describe", "cpu_has_native_bf16", "autocast_dtype",
    "needs_grad_scaler", "autocast", "synchronize", "AMP_MODES",
]

AMP_MODES = ("auto", "off", "bf16", "fp16")


def get(prefer=None):
    """Devolve ``torch.device('cuda')`` se houver GPU, senão ``torch.device('cpu')``.

    ``prefer`` força uma escolha (``'cpu'`` ou ``'cuda'``); pedir ``'cuda'``
    numa máquina sem GPU é um erro, para que o engano não passe em silêncio.
    A variável de ambiente ``LIVRO_DEVICE`` faz o mesmo papel de ``prefer``.
    """
    if prefer is not None and not isinstance(prefer, (str, torch.device)):
        raise TypeError(f"prefer deve ser 'cpu', 'cuda' ou None, recebi {type(prefer).__name__}")
    prefer = prefer or os.environ.get("LIVRO_DEVICE") or None
    if prefer is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    prefer = str(prefer)
    if prefer not in ("cpu", "cuda"):
        raise ValueError(f"dispositivo desconhecido: {prefer!r}; use 'cpu' ou 'cuda'")
    if prefer == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("pediu-se 'cuda', mas o PyTorch não encontrou nenhuma GPU nesta máquina")
    return torch.device(prefer)


def of(net):
    """Dispositivo de um modelo: o do primeiro parâmetro (ou *buffer*); CPU se não houver nenhum."""
    if not isinstance(net, torch.nn.Module):
        raise TypeError(f"esperava um torch.nn.Module, recebi {type(net).__name__}")
    for tensor in net.parameters():
        return tensor.device
    for tensor in net.buffers():
        return tensor.device
    return torch.device("cpu")


def to_model(net, *tensors):
    """Leva ``tensors`` para o dispositivo de ``net``; devolve um tensor ou uma tupla deles.

    ``None`` passa como está. Os tipos de ponto flutuante não mudam: a precisão
    mista é assunto de :func:`autocast`.
    """
    dev = of(net)
    moved = []
    for i, t in enumerate(tensors):
        if t is None:
            moved.append(None)
            continue
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"o argumento {i} deve ser um tensor do PyTorch, recebi {type(t).__name__}")
        moved.append(t.to(dev, non_blocking=True))
    return moved[0] if len(moved) == 1 else tuple(moved)


def _as_device(dev):
    if dev is None:
        return get()
    if isinstance(dev, torch.nn.Module):
        return of(dev)
    try:
        return torch.device(dev)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"dispositivo inválido: {dev!r}") from error


def describe(dev=None):
    """Descrição legível do dispositivo, para relatórios: ``'CPU (2 threads)'``."""
    dev = _as_device(dev)
    if dev.type == "cuda":
        return f"GPU {torch.cuda.get_device_name(dev)}"
    if dev.type == "mps":
        return "GPU Apple (MPS)"
    bf16 = ", bf16 nativo" if cpu_has_native_bf16() else ""
    return f"CPU ({torch.get_num_threads()} threads{bf16})"


@functools.cache
def cpu_has_native_bf16():
    """``True`` se o processador calcula ``bfloat16`` em instruções próprias (AVX512-BF16 ou AMX).

    Sem elas (a maioria dos notebooks Intel anteriores a Sapphire Rapids, AMD
    Zen 2/3, Apple silicon no PyTorch), o ``bfloat16`` é emulado e fica *mais
    lento* que o ``float32``. A resposta vem do PyTorch quando ele sabe
    perguntar e, no Linux, também das *flags* de ``/proc/cpuinfo``.
    """
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        fn = getattr(torch.cpu, probe, None) or getattr(torch._C._cpu, probe, None)
        if fn is not None:
            try:
                if fn():
                    return True
            except Exception:  # noqa: BLE001 - sonda opcional; na dúvida, sem bf16
                pass
    return _cpuinfo_has_bf16(pathlib.Path("/proc/cpuinfo"))


def _cpuinfo_has_bf16(path):
    """Procura ``avx512_bf16`` ou ``amx_bf16`` nas *flags* de um arquivo no formato de ``/proc/cpuinfo``."""
    try:
        text = pathlib.Path(path).read_text(errors="ignore")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[-1].split())
            return bool(flags & {"avx512_bf16", "amx_bf16"})
    return False


def _mode(mode):
    if mode is None or mode is False:
        return "off"
    if not isinstance(mode, str):
        raise TypeError(f"amp deve ser uma de {AMP_MODES} ou None, recebi {type(mode).__name__}")
    if mode not in AMP_MODES:
        raise ValueError(f"modo de precisão mista desconhecido: {mode!r}; use um de {AMP_MODES} ou None")
    return mode


def autocast_dtype(dev=None, mode="auto"):
    """Tipo da precisão mista em ``dev`` (um dispositivo ou um modelo), ou ``None`` para ``float32``.

    ``mode``: ``'auto'`` segue o contrato deste módulo; ``'off'`` (ou ``None``)
    desliga; ``'bf16'`` e ``'fp16'`` forçam o tipo, para medir (forçar ``bf16``
    numa CPU sem suporte nativo funciona, só que devagar). A variável
    ``LIVRO_AMP`` substitui um ``'auto'``.
    """
    dev = _as_device(dev)
    mode = _mode(mode)
    if mode == "auto":
        mode = _mode(os.environ.get("LIVRO_AMP") or "auto")
    if mode == "off":
        return None
    if mode == "bf16":
        return torch.bfloat16
    if mode == "fp16":
        return torch.float16
    if dev.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if dev.type == "cpu":
        return torch.bfloat16 if cpu_has_native_bf16() else None
    return None


def needs_grad_scaler(dev=None, mode="auto"):
    """``True`` quando o treino em ``dev`` usa ``float16`` e precisa de ``torch.amp.GradScaler``."""
    return autocast_dtype(dev, mode) == torch.float16


def autocast(dev=None, mode="auto"):
    """Contexto de precisão mista para ``dev`` (dispositivo ou modelo), segundo :func:`autocast_dtype`.

    Onde o contrato escolhe ``float32``, devolve um contexto que não faz nada.
    """
    dev = _as_device(dev)
    dtype = autocast_dtype(dev, mode)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(dev.type, dtype=dtype)


def synchronize(dev=None):
    """Espera o dispositivo terminar o trabalho na fila (necessário para medir tempo na GPU)."""
    dev = _as_device(dev)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
