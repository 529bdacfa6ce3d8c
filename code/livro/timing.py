"""Medir tempo direito e dizer o que a medida significa, sem supor nada da máquina.

Medir bem é: aquecer antes (a primeira chamada paga alocações, compilação e
caches frios), sincronizar o dispositivo (na GPU, as chamadas só *enfileiram*
trabalho) e tomar a mediana de várias repetições (robusta a interrupções). E a
frase que interpreta a medida é calculada a partir dela (:func:`verdict`): o
livro nunca afirma que algo é mais rápido, mede e diz o que mediu.
"""

import math
import statistics
import time

from . import device as devices
from . import fmt

__all__ = ["median_time", "verdict"]


def median_time(fn, repeats=7, warmup=1, device=None):
    """Mediana, em segundos, de ``repeats`` chamadas de ``fn()``, após ``warmup`` chamadas de aquecimento.

    ``device`` (um dispositivo ou um modelo) é sincronizado antes e depois de
    cada chamada, para que o tempo da GPU conte inteiro.
    """
    if not callable(fn):
        raise TypeError(f"fn deve ser uma função sem argumentos, recebi {type(fn).__name__}")
    for name, value, low in (("repeats", repeats, 1), ("warmup", warmup, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} deve ser um inteiro ≥ {low}, recebi {value!r}")
    dev = devices.get() if device is None else device
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        devices.synchronize(dev)
        start = time.perf_counter()
        fn()
        devices.synchronize(dev)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def verdict(t, t_ref, tolerance=0.05):
    """Frase que compara o tempo ``t`` com ``t_ref``: ``'7,1× mais rápido'``, ``'1,3× mais lento'``…

    Razões dentro de ``tolerance`` (5 % por padrão) dão ``'tão rápido quanto'``:
    diferenças desse tamanho são ruído de medida. A razão usa uma casa decimal,
    ou nenhuma a partir de 10×.
    """
    for name, value in (("t", t), ("t_ref", t_ref)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name} deve ser um tempo finito > 0, recebi {value!r}")
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0 <= tolerance < 1:
        raise ValueError(f"tolerance deve estar em [0, 1), recebi {tolerance!r}")
    ratio = t_ref / t
    if abs(ratio - 1) <= tolerance:
        return "tão rápido quanto"
    factor = ratio if ratio > 1 else 1 / ratio
    text = fmt.num(factor, 0 if factor >= 10 else 1)
    return f"{text}× mais rápido" if ratio > 1 else f"{text}× mais lento"
