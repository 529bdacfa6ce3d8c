"""Escolha do dispositivo: CUDA quando existe, CPU caso contrário.

Os capítulos nunca escrevem ``.cuda()``: pedem ``device.get()`` e movem
dados e modelos para ele.
"""

import torch

__all__ = ["get", "describe", "autocast_dtype"]


def get(prefer=None):
    """Devolve ``torch.device('cuda')`` se houver GPU, senão ``torch.device('cpu')``.

    ``prefer`` força uma escolha (``'cpu'`` ou ``'cuda'``); pedir ``'cuda'``
    numa máquina sem GPU é um erro, para que o engano não passe em silêncio.
    A variável de ambiente ``LIVRO_DEVICE`` faz o mesmo papel de ``prefer``.
    """
    import os

    prefer = prefer or os.environ.get("LIVRO_DEVICE") or None
    if prefer is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if prefer not in ("cpu", "cuda"):
        raise ValueError(f"dispositivo desconhecido: {prefer!r}; use 'cpu' ou 'cuda'")
    if prefer == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("pediu-se 'cuda', mas o PyTorch não encontrou nenhuma GPU nesta máquina")
    return torch.device(prefer)


def describe(dev=None):
    """Descrição legível do dispositivo, para relatórios: ``'CPU (2 threads)'``."""
    dev = torch.device(dev) if dev is not None else get()
    if dev.type == "cuda":
        return f"GPU {torch.cuda.get_device_name(dev)}"
    return f"CPU ({torch.get_num_threads()} threads)"


def autocast_dtype(dev, mode="auto"):
    """Tipo da precisão mista a usar em ``dev``, ou ``None`` para float32.

    ``mode='auto'`` liga a precisão mista só na GPU (bfloat16 quando a placa o
    suporta, senão float16); ``'bf16'`` a liga também na CPU; ``None`` desliga.
    """
    dev = torch.device(dev)
    if mode is None or mode is False:
        return None
    if mode == "bf16":
        return torch.bfloat16
    if mode != "auto":
        raise ValueError(f"modo de precisão mista desconhecido: {mode!r}; use 'auto', 'bf16' ou None")
    if dev.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return None
