"""Cache dos modelos treinados, endereçado pelo conteúdo: a chave, o disco e a verificação.

Um treinamento é uma função determinística de: o código das classes do modelo,
sua arquitetura e seus pesos iniciais; os hiperparâmetros; os dados; as funções
de perda e de aumento de dados (o código *e* os valores que elas capturam); o
dispositivo; e as versões do livro e do PyTorch. :func:`key` resume tudo isso
num SHA-256. O que não dá para resumir com segurança (um objeto qualquer
capturado por uma função, por exemplo) faz :func:`key` recusar, com
:class:`UnhashableError`: o cache nunca adivinha. Quem chama pode então passar
uma chave explícita a ``train.fit(..., cache_key=...)`` ou desligar o cache.

Cada entrada é uma pasta ``<chave>/`` com ``pesos.pt``, ``historico.json`` e
``meta.json``; este último guarda o SHA-256 dos outros dois e é escrito por
último, numa pasta temporária que só então é renomeada (escrita atômica). Ao
carregar, :func:`load` confere *todos* os arquivos antes de tocar no modelo: uma
entrada danificada é ignorada e o modelo fica com os pesos iniciais, para ser
treinado de novo exatamente como numa falta.
"""

import dataclasses
import enum
import functools
import hashlib
import inspect
import io
import json
import os
import pathlib
import shutil
import time
import types

import numpy as np
import torch

from . import __version__, data

__all__ = ["UnhashableError", "cache_dir", "key", "entry_path", "load", "save"]

FILES = ("pesos.pt", "historico.json")


class UnhashableError(ValueError):
    """Algo que muda o treino não pode ser resumido com segurança na chave do cache."""


def cache_dir():
    """Pasta dos modelos treinados: ``LIVRO_CACHE_MODELOS`` ou ``<cache do livro>/modelos``."""
    env = os.environ.get("LIVRO_CACHE_MODELOS")
    return pathlib.Path(env).expanduser() if env else data.cache_dir() / "modelos"


def entry_path(hex_key):
    """Pasta da entrada de chave ``hex_key`` dentro de :func:`cache_dir`."""
    if not isinstance(hex_key, str) or len(hex_key) != 64 or not all(c in "0123456789abcdef" for c in hex_key):
        raise ValueError(f"hex_key deve ser um SHA-256 hexadecimal (64 caracteres), recebi {hex_key!r}")
    return cache_dir() / hex_key


# --------------------------------------------------------------------------- resumo de valores


def _tensor_bytes(t):
    t = t.detach()
    head = f"tensor {t.dtype} {tuple(t.shape)}".encode()
    if t.dtype == torch.bfloat16:
        t = t.float()
    return head + t.cpu().contiguous().numpy().tobytes()


def _code_of(obj):
    """Código-fonte de uma função ou classe; cai no bytecode quando não há fonte."""
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        code = getattr(obj, "__code__", None)
        if code is not None:
            return repr((code.co_code, code.co_consts, code.co_names))
        parts = [getattr(obj, "__qualname__", repr(obj))]  # classe definida num notebook
        for name, member in sorted(vars(obj).items()):
            if inspect.isfunction(member):
                parts.append(name + _code_of(member))
        return "\n".join(parts)


def _function(fn, digest, where, seen):
    """Resume uma função: o código, os padrões, os valores capturados e os globais que ela lê."""
    digest.update(_code_of(fn).encode())
    _value(fn.__defaults__, digest, f"{where} (valores padrão)", seen)
    _value(fn.__kwdefaults__, digest, f"{where} (valores padrão nomeados)", seen)
    for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or ()):
        try:
            content = cell.cell_contents
        except ValueError:  # célula ainda vazia
            content = None
        _value(content, digest, f"{where}, valor capturado {name!r}", seen)
    names = set(fn.__code__.co_names)
    for const in fn.__code__.co_consts:  # funções internas (lambdas, compreensões)
        if isinstance(const, types.CodeType):
            names.update(const.co_names)
    for name in sorted(names):
        if name in fn.__globals__:
            value = fn.__globals__[name]
            if isinstance(value, types.ModuleType):
                digest.update(f"módulo {value.__name__}".encode())
                if value.__name__.split(".")[0] == "livro":  # o código do livro muda sem mudar de versão
                    digest.update(pathlib.Path(value.__file__).read_bytes())
            else:
                _value(value, digest, f"{where}, global {name!r}", seen)


def _value(value, digest, where, seen):
    """Acrescenta ``value`` ao resumo ``digest``; recusa o que não sabe resumir com segurança."""
    if isinstance(value, (type(None), bool, int, float, complex, str, bytes)):
        digest.update(f"{type(value).__name__}:{value!r}\0".encode())
        return
    if isinstance(value, (torch.dtype, torch.device, torch.memory_format, enum.Enum, range, slice)):
        digest.update(f"{type(value).__name__}:{value!r}\0".encode())
        return
    if id(value) in seen:  # referência circular ou repetida
        digest.update(b"<visto>\0")
        return
    seen = seen | {id(value)}
    if isinstance(value, torch.Tensor):
        digest.update(_tensor_bytes(value))
    elif isinstance(value, np.ndarray):
        digest.update(_tensor_bytes(torch.from_numpy(np.ascontiguousarray(value))))
    elif isinstance(value, np.generic):
        digest.update(f"{type(value).__name__}:{value!r}\0".encode())
    elif isinstance(value, (tuple, list, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        digest.update(f"{type(value).__name__}[{len(items)}]".encode())
        for i, item in enumerate(items):
            _value(item, digest, f"{where}[{i}]", seen)
    elif isinstance(value, dict):
        digest.update(f"dict[{len(value)}]".encode())
        for k in sorted(value, key=repr):
            _value(k, digest, where, seen)
            _value(value[k], digest, f"{where}[{k!r}]", seen)
    elif isinstance(value, functools.partial):
        _value(value.func, digest, where, seen)
        _value(value.args, digest, f"{where} (args)", seen)
        _value(value.keywords, digest, f"{where} (keywords)", seen)
    elif isinstance(value, types.MethodType):
        _value(value.__self__, digest, f"{where} (objeto do método)", seen)
        _function(value.__func__, digest, where, seen)
    elif isinstance(value, types.FunctionType):
        digest.update(f"função {value.__module__}.{value.__qualname__}\0".encode())
        if (value.__module__ or "").startswith("torch"):
            return  # as funções do próprio torch contam pela versão do torch
        _function(value, digest, where, seen)
    elif isinstance(value, (types.BuiltinFunctionType, types.BuiltinMethodType)):
        digest.update(f"embutida {getattr(value, '__module__', '')}.{value.__qualname__}\0".encode())
    elif isinstance(value, type):
        digest.update(f"classe {value.__module__}.{value.__qualname__}\0".encode())
        if not value.__module__.startswith(("torch", "builtins")):
            digest.update(_code_of(value).encode())
    elif isinstance(value, torch.nn.Module):
        digest.update(_model_summary(value).encode())
        for name, t in sorted(value.state_dict().items()):
            digest.update(name.encode())
            digest.update(_tensor_bytes(t))
    elif dataclasses.is_dataclass(value):
        digest.update(f"dataclass {type(value).__qualname__}".encode())
        _value(dataclasses.asdict(value), digest, where, seen)
    else:
        raise UnhashableError(
            f"não sei resumir com segurança {where}, um objeto do tipo {type(value).__name__}, "
            "na chave do cache de modelos; passe uma chave explícita com "
            "train.fit(..., cache_key='...') ou desligue o cache com cache=False")


def _model_code(net):
    """Código de todas as classes de módulos do usuário (as do torch contam pela versão)."""
    seen = {}
    for module in net.modules():
        for cls in type(module).__mro__:
            if cls.__module__.startswith("torch") or cls is object:
                continue
            seen.setdefault(f"{cls.__module__}.{cls.__qualname__}", _code_of(cls))
    return "\n".join(f"{k}\n{v}" for k, v in sorted(seen.items()))


def _model_summary(net):
    return "\n".join((_model_code(net), repr(net)))


def _module_settings(net, digest):
    """Atributos públicos de cada submódulo (``skip=False``, listas, dicionários…), que o ``repr`` pode omitir."""
    for name, module in net.named_modules():
        digest.update(f"{name}:{type(module).__qualname__}".encode())
        for attr, value in sorted(vars(module).items()):
            if attr.startswith("_") or attr == "training":
                continue
            digest.update(attr.encode())
            _value(value, digest, f"o atributo {attr!r} do submódulo {name or '(raiz)'!r}", frozenset())


def key(net, cfg, tensors, extra=(), explicit=None):
    """Chave SHA-256 (hexadecimal) de um treinamento.

    Cobre o modelo (código, ``repr``, atributos e pesos iniciais), ``cfg`` (um
    *dataclass*), os ``tensors`` de dados, cada item de ``extra`` (funções entram
    com o código e os valores que capturam) e as versões do livro e do torch.
    Com ``explicit`` (uma ``str`` dada por quem chama), os itens de ``extra`` não
    são inspecionados: a chave explícita responde por eles.
    """
    if not isinstance(net, torch.nn.Module):
        raise TypeError(f"net deve ser um torch.nn.Module, recebi {type(net).__name__}")
    if not dataclasses.is_dataclass(cfg) or isinstance(cfg, type):
        raise TypeError(f"cfg deve ser uma instância de dataclass (train.Config), recebi {type(cfg).__name__}")
    if explicit is not None and (not isinstance(explicit, str) or not explicit):
        raise TypeError(f"a chave explícita deve ser uma str não vazia, recebi {explicit!r}")
    digest = hashlib.sha256()
    for part in (f"livro {__version__}", f"torch {torch.__version__}", _model_summary(net),
                 json.dumps(dataclasses.asdict(cfg), sort_keys=True)):
        digest.update(part.encode())
        digest.update(b"\0")
    _module_settings(net, digest)
    for name, value in sorted(net.state_dict().items()):
        digest.update(name.encode())
        digest.update(_tensor_bytes(value))
    for t in tensors:
        digest.update(b"none" if t is None else _tensor_bytes(t))
    if explicit is not None:
        digest.update(f"explícita:{explicit}".encode())
    else:
        for i, item in enumerate(extra):
            _value(item, digest, f"o item {i} dos extras (perda, aumento, dispositivo…)", frozenset())
    return digest.hexdigest()


# --------------------------------------------------------------------------- disco


def _sha256(raw):
    return hashlib.sha256(raw).hexdigest()


def load(entry, net):
    """Confere e carrega a entrada ``entry`` em ``net``; devolve o histórico, ou ``None``.

    Todos os arquivos são lidos e conferidos (SHA-256 de cada um, chaves e formas
    dos pesos) *antes* de ``net`` mudar: se algo falta ou não confere, ``net``
    fica intacto e a função devolve ``None``.
    """
    entry = pathlib.Path(entry)
    if not entry.exists():
        return None
    try:
        meta = json.loads((entry / "meta.json").read_text())
        raw = {name: (entry / name).read_bytes() for name in FILES}
        for name in FILES:
            if _sha256(raw[name]) != meta["sha256"][name]:
                raise ValueError(f"{name} não confere com a soma de verificação")
        history = json.loads(raw["historico.json"])
        if not isinstance(history, dict):
            raise ValueError("histórico sem o formato esperado")
        state = torch.load(io.BytesIO(raw["pesos.pt"]), map_location="cpu", weights_only=True)
        current = net.state_dict()
        if set(state) != set(current) or any(state[k].shape != current[k].shape for k in current):
            raise ValueError("os pesos guardados não têm as formas deste modelo")
    except Exception as error:  # noqa: BLE001 - qualquer defeito: nunca carregar, treinar de novo
        print(f"aviso: entrada do cache danificada ({entry.name[:12]}…: {error}); treinando de novo")
        return None
    net.load_state_dict(state)
    return history


def save(entry, net, history):
    """Grava a entrada inteira numa pasta temporária e a renomeia: nunca fica meio escrita."""
    entry = pathlib.Path(entry)
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = entry.parent / f".{entry.name}.{os.getpid()}.parcial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in net.state_dict().items()}, buffer)
    raw = {"pesos.pt": buffer.getvalue(), "historico.json": json.dumps(history).encode()}
    for name, content in raw.items():
        (tmp / name).write_bytes(content)
    meta = {"sha256": {name: _sha256(content) for name, content in raw.items()},
            "livro": __version__, "torch": torch.__version__, "criado": time.time()}
    (tmp / "meta.json").write_text(json.dumps(meta))  # escrito por último
    old = entry.parent / f".{entry.name}.{os.getpid()}.velha"
    if entry.exists():
        os.replace(entry, old)
    os.replace(tmp, entry)
    shutil.rmtree(old, ignore_errors=True)
