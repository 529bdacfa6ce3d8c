"""Conferência das entradas das funções públicas do pacote (uso interno).

A regra do pacote: toda função pública recusa uma entrada inválida **na chamada,
antes de qualquer conta**, com ``TypeError`` (tipo errado) ou ``ValueError``
(valor errado) e uma mensagem em português que diz o nome do argumento, o que se
esperava e o que chegou. As funções daqui escrevem essas mensagens num lugar só;
cada uma devolve o valor conferido (às vezes já convertido, como ``int``).
"""

import math
import numbers

import numpy as np
import torch

__all__ = ["describe", "is_int", "integer", "positive_int", "number", "finite_number", "boolean",
           "choice", "tensor", "same_device_dtype", "same_device", "labels", "dim", "pair",
           "module", "generator", "callable_", "nonempty", "names", "model_input", "targets",
           "num_classes_of", "finite_matrix", "directions"]


def describe(value):
    """Descrição curta de um valor para as mensagens: o tipo e, se couber, o próprio valor."""
    if isinstance(value, torch.Tensor):
        return f"um tensor {value.dtype} de forma {tuple(value.shape)} em {value.device}"
    if isinstance(value, np.ndarray):
        return f"um arranjo {value.dtype} de forma {value.shape}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def is_int(value):
    """``True`` para inteiros de Python ou NumPy; ``False`` para booleanos e o resto."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def integer(value, name, minimum=None, maximum=None):
    """Um inteiro (de Python ou NumPy; booleano não) dentro de ``[minimum, maximum]``."""
    if not is_int(value):
        raise TypeError(f"{name} deve ser um número inteiro, recebi {describe(value)}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} deve ser um inteiro ≥ {minimum}, recebi {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} deve ser um inteiro ≤ {maximum}, recebi {value}")
    return value


def positive_int(value, name):
    """Um inteiro ≥ 1."""
    return integer(value, name, minimum=1)


def number(value, name, minimum=None, maximum=None, strict=False, finite=True):
    """Um número real (não booleano), finito, em ``[minimum, maximum]`` (aberto com ``strict``).

    Aceita escalares de Python, NumPy e tensores de um elemento; devolve ``float``.
    """
    if isinstance(value, (torch.Tensor, np.ndarray)):
        size = value.numel() if isinstance(value, torch.Tensor) else value.size
        if size != 1:
            raise TypeError(f"{name} deve ser um número real, recebi {describe(value)}")
        value = value.item()  # um booleano vira bool e é recusado logo abaixo
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} deve ser um número real, recebi {describe(value)}")
    try:
        value = float(value)
    except OverflowError:
        raise ValueError(f"{name} é grande demais para um número de ponto flutuante") from None
    if math.isnan(value) or (finite and math.isinf(value)):
        raise ValueError(f"{name} deve ser um número finito, recebi {value}")
    below = minimum is not None and (value <= minimum if strict else value < minimum)
    above = maximum is not None and (value >= maximum if strict else value > maximum)
    if below or above:
        raise ValueError(f"{name} deve ser {_interval(minimum, maximum, strict)}, recebi {value}")
    return value


def _interval(minimum, maximum, strict):
    """Texto do intervalo aceito: ``'> 0'``, ``'≥ 0'``, ``'≤ 1'``, ``'em [0, 1]'``…"""
    if maximum is None:
        return ("> " if strict else "≥ ") + f"{minimum}"
    if minimum is None:
        return ("< " if strict else "≤ ") + f"{maximum}"
    return f"em {'(' if strict else '['}{minimum}, {maximum}{')' if strict else ']'}"


def finite_number(value, name, positive=False):
    """Um número finito; com ``positive=True``, estritamente positivo (passos, taxas)."""
    return number(value, name, minimum=0 if positive else None, strict=positive)


def boolean(value, name):
    """Um booleano de verdade (``True``/``False``), não algo que apenas pareça verdadeiro."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} deve ser True ou False, recebi {describe(value)}")
    return bool(value)


def choice(value, name, options):
    """Uma das opções ``options`` (nomes)."""
    try:
        ok = isinstance(value, str) and value in options
    except TypeError:
        ok = False
    if not ok:
        listed = ", ".join(repr(o) for o in options)
        raise ValueError(f"{name} deve ser uma de {listed}; recebi {describe(value)}")
    return value


_KINDS = {
    "floating": (torch.Tensor.is_floating_point, "de ponto flutuante"),
    "integer": (lambda t: not t.is_floating_point() and not t.is_complex() and t.dtype != torch.bool,
                "de inteiros"),
    "bool": (lambda t: t.dtype == torch.bool, "booleano"),
    "real": (lambda t: not t.is_complex() and t.dtype != torch.bool, "de números reais"),
}


def tensor(x, name, ndim=None, dtype=None, layout=None, nonempty=False):
    """Um ``torch.Tensor`` com ``ndim`` dimensões e tipo ``dtype``.

    ``ndim``: inteiro ou tupla de inteiros aceitos; ``dtype``: ``'floating'``,
    ``'integer'``, ``'bool'``, ``'real'`` ou um ``torch.dtype``; ``layout`` é o
    texto que descreve a forma esperada (``'(N, C, H, W)'``); ``nonempty`` exige
    pelo menos um elemento.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} deve ser um tensor do PyTorch, recebi {describe(x)}")
    if dtype is not None:
        if isinstance(dtype, torch.dtype):
            ok, text = x.dtype == dtype, str(dtype)
        else:
            test, text = _KINDS[dtype]
            ok = test(x)
        if not ok:
            raise TypeError(f"{name} deve ser um tensor {text}, recebi {describe(x)}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in allowed:
            expected = layout or " ou ".join(f"{n} dimensões" for n in allowed)
            raise ValueError(f"{name} deve ter forma {expected}, recebi forma {tuple(x.shape)}")
    if nonempty and x.numel() == 0:
        raise ValueError(f"{name} está vazio: precisa de pelo menos um elemento, recebi forma {tuple(x.shape)}")
    return x


def same_device(*named):
    """Confere que os tensores ``(nome, tensor)`` (``None`` é ignorado) estão no mesmo dispositivo."""
    named = [(n, t) for n, t in named if t is not None]
    first_name, first = named[0]
    for name, t in named[1:]:
        if t.device != first.device:
            raise ValueError(f"{name} e {first_name} devem estar no mesmo dispositivo; recebi {name} em "
                             f"{t.device} e {first_name} em {first.device}")


def same_device_dtype(*named):
    """Confere que os tensores ``(nome, tensor)`` têm o mesmo dispositivo e o mesmo tipo."""
    same_device(*named)
    named = [(n, t) for n, t in named if t is not None]
    first_name, first = named[0]
    for name, t in named[1:]:
        if t.dtype != first.dtype:
            raise TypeError(f"{name} e {first_name} devem ter o mesmo tipo; recebi {name} {t.dtype} e "
                            f"{first_name} {first.dtype} (converta um deles com .to())")


def labels(y, num_classes, name="y"):
    """Rótulos inteiros em ``[0, num_classes)``; confere também ``num_classes``."""
    tensor(y, name, dtype="integer")
    num_classes = positive_int(num_classes, "num_classes")
    if y.numel():
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi >= num_classes:
            raise ValueError(f"os rótulos de {name} devem estar entre 0 e {num_classes - 1} "
                             f"(num_classes = {num_classes}); recebi valores entre {lo} e {hi}")
    return num_classes


def dim(value, ndim, name="dim"):
    """Um eixo válido para um tensor de ``ndim`` dimensões; devolve o eixo não negativo."""
    value = integer(value, name)
    if not -ndim <= value < ndim:
        raise ValueError(f"{name} deve estar entre {-ndim} e {ndim - 1} para um tensor de {ndim} "
                         f"dimensões, recebi {value}")
    return value % ndim


def pair(value, name, minimum):
    """Um inteiro ou um par de inteiros ``≥ minimum``; devolve o par ``(vertical, horizontal)``."""
    if is_int(value):
        value = (value, value)
    if not (isinstance(value, (tuple, list)) and len(value) == 2 and all(is_int(v) for v in value)):
        raise TypeError(f"{name} deve ser um inteiro ou um par de inteiros, recebi {describe(value)}")
    value = (int(value[0]), int(value[1]))
    if min(value) < minimum:
        raise ValueError(f"{name} deve ser ≥ {minimum}, recebi {value!r}")
    return value


def module(net, name="net"):
    """Um ``torch.nn.Module``."""
    if not isinstance(net, torch.nn.Module):
        raise TypeError(f"{name} deve ser um torch.nn.Module, recebi {describe(net)}")
    return net


def generator(g, name="generator", allow_none=False):
    """Um ``torch.Generator`` (ou ``None``, se permitido)."""
    if g is None and allow_none:
        return g
    if not isinstance(g, torch.Generator):
        extra = " ou None" if allow_none else ""
        raise TypeError(f"{name} deve ser um torch.Generator{extra}, recebi {describe(g)}")
    return g


def callable_(fn, name):
    """Uma função (algo que se possa chamar)."""
    if not callable(fn):
        raise TypeError(f"{name} deve ser uma função, recebi {describe(fn)}")
    return fn


def nonempty(x, name, axis=0, what="exemplo"):
    """Exige pelo menos um elemento ao longo de ``axis`` (um lote vazio não tem média)."""
    if x.ndim == 0 or x.shape[axis] == 0:
        raise ValueError(f"{name} precisa de pelo menos um {what} (eixo {axis}), recebi forma {tuple(x.shape)}")
    return x


def names(value, name="names"):
    """Uma lista (ou tupla) não vazia de nomes (``str``); uma ``str`` sozinha é recusada."""
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or len(value) == 0 \
            or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{name} deve ser uma lista não vazia de nomes (str), recebi {describe(value)}")
    return list(value)


def model_input(x, net, name="x"):
    """``x`` no dispositivo dos pesos de ``net`` e, fora de ``autocast``, do mesmo tipo que eles."""
    p = next(net.parameters(), None)
    if p is None:
        return
    if x.device != p.device:
        raise ValueError(f"{name} e os pesos da rede devem estar no mesmo dispositivo; recebi {name} em "
                         f"{x.device} e os pesos em {p.device}")
    if x.dtype != p.dtype and not torch.is_autocast_enabled(x.device.type):
        raise TypeError(f"{name} e os pesos da rede devem ter o mesmo tipo; recebi {name} {x.dtype} e "
                        f"os pesos {p.dtype} (converta com .to())")


def targets(y, n, num_classes=None):
    """Rótulos ``(N,)`` inteiros e não negativos (e ``< num_classes``, se conhecido)."""
    tensor(y, "y", dtype="integer")
    if y.shape != (n,):
        raise ValueError(f"y deve ter forma ({n},), um rótulo por imagem, recebi {tuple(y.shape)}")
    if num_classes is not None:
        labels(y, num_classes)
    elif n and int(y.min()) < 0:
        raise ValueError(f"os rótulos de y devem ser ≥ 0, recebi {int(y.min())}")


def num_classes_of(net):
    """Classes da rede: ``out_features`` da última ``nn.Linear`` (``None`` se não houver)."""
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    return linears[-1].out_features if linears else None


def finite_matrix(coords, name, k):
    """Uma matriz ``(P, k)`` de números finitos (tensor, arranjo ou lista de listas)."""
    try:
        values = torch.as_tensor(coords).detach().cpu()
        ok = not values.is_complex() and values.dtype != torch.bool
    except (TypeError, ValueError, RuntimeError):
        ok = False
    if not ok or not isinstance(coords, (torch.Tensor, np.ndarray, list, tuple)):
        raise TypeError(f"{name} deve ser uma matriz (P, {k}) de números, recebi {describe(coords)}")
    if values.ndim != 2 or values.shape[1] != k:
        raise ValueError(f"{name} deve ter forma (P, {k}), uma coluna por direção, recebi {tuple(values.shape)}")
    if not bool(torch.isfinite(values.double()).all()):
        raise ValueError(f"{name} deve ter só números finitos, recebi {describe(coords)}")


def directions(net, directions):
    """Direções no espaço de parâmetros: dicionários ``nome -> tensor`` com as formas dos parâmetros de ``net``."""
    params = dict(net.named_parameters())
    for k, d in enumerate(directions):
        if not isinstance(d, dict) or set(d) != set(params):
            raise ValueError(f"directions[{k}] deve ser um dicionário com os nomes dos parâmetros da rede "
                             f"(de filter_normalized_direction), recebi {describe(d)}")
        for name, p in params.items():
            if not isinstance(d[name], torch.Tensor) or d[name].shape != p.shape:
                raise ValueError(f"directions[{k}][{name!r}] deve ter forma {tuple(p.shape)}, "
                                 f"recebi {describe(d[name])}")
