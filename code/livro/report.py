"""Registro de execução de cada capítulo, lido pela página "Como este livro é construído".

A última célula de cada capítulo chama ``report.record()``: ela mede o pico de
memória do *kernel* e o dispositivo usado, confere o orçamento de memória e
guarda tudo como um valor ``glue`` oculto. A extensão Sphinx do livro lê esses
valores do cache de execução e monta a tabela do apêndice.
"""

import json
import platform
import sys

from . import __version__, device

__all__ = ["GLUE_KEY", "MEMORY_BUDGET_GB", "TIME_BUDGET_S", "maxrss_bytes", "peak_memory_gb", "record"]

GLUE_KEY = "livro-relatorio"
MEMORY_BUDGET_GB = 4.0
TIME_BUDGET_S = 240


def maxrss_bytes(value, system=None):
    """Converte ``ru_maxrss`` de ``resource.getrusage`` em bytes, segundo o sistema.

    O Linux (e os BSD) contam em KiB; o macOS conta em bytes. ``system`` é o
    nome de ``platform.system()`` (padrão: o desta máquina).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"value deve ser um número ≥ 0 de ru_maxrss, recebi {value!r}")
    system = platform.system() if system is None else system
    if not isinstance(system, str):
        raise TypeError(f"system deve ser um nome de sistema (str), recebi {type(system).__name__}")
    return int(value) if system == "Darwin" else int(value) * 1024


def peak_memory_gb():
    """Pico de memória residente deste processo, em GB (10⁹ bytes), no Linux, no macOS e no Windows.

    No Windows, ``resource`` não existe: o pico vem de ``psutil`` (``peak_wset``,
    em bytes). Nos demais sistemas, de ``ru_maxrss``, cuja unidade muda com o
    sistema (:func:`maxrss_bytes`).
    """
    if platform.system() == "Windows":
        import psutil

        return psutil.Process().memory_info().peak_wset / 1e9
    import resource

    return maxrss_bytes(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1e9


def record(budget_gb=MEMORY_BUDGET_GB, budget_s=TIME_BUDGET_S):
    """Mede e registra a execução do capítulo; falha se a memória passou de ``budget_gb``.

    ``budget_s`` é o orçamento de tempo do capítulo (240 s; 360 s para os mais
    pesados) numa CPU de 2 núcleos, a frio. Ele só é *mostrado* no relatório de
    execução, ao lado do tempo medido: o tempo depende da máquina, e a
    construção nunca falha por ele.
    """
    for name, value in (("budget_gb", budget_gb), ("budget_s", budget_s)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"{name} deve ser um número > 0, recebi {value!r}")
    import torch
    from myst_nb import glue

    peak = peak_memory_gb()
    if peak > budget_gb:
        raise RuntimeError(
            f"o capítulo usou {peak:.2f} GB de memória, acima do orçamento de {budget_gb:.1f} GB"
        )
    info = {
        "memoria_gb": round(peak, 3),
        "orcamento_s": budget_s,
        "dispositivo": device.describe(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "livro": __version__,
        "plataforma": f"{platform.system()} {platform.machine()}",
    }
    glue(GLUE_KEY, json.dumps(info, ensure_ascii=False), display=False)
    return info


if __name__ == "__main__":  # pragma: no cover - uso manual
    json.dump({"memoria_gb": peak_memory_gb()}, sys.stdout)
