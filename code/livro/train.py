"""Laço de treinamento com cache dos modelos treinados por *hash* de conteúdo.

``fit`` treina uma rede sobre tensores guardados na memória (fatiando lotes,
sem ``DataLoader``), mostra uma barra de progresso e devolve o histórico.
Antes de treinar, calcula uma chave que cobre a definição do modelo (código
das classes, arquitetura e pesos iniciais), os hiperparâmetros, os dados, a
semente, o dispositivo e a versão do pacote. Se a chave já está no cache, os
pesos e o histórico são carregados em vez de treinados; uma entrada parcial ou
corrompida é detectada pela soma de verificação e treinada de novo.
"""

import dataclasses
import hashlib
import inspect
import json
import math
import os
import pathlib
import shutil
import sys
import time

import torch
import torch.nn.functional as F
from tqdm import tqdm

from . import __version__, data
from . import device as devices

__all__ = ["Config", "cache_dir", "cache_key", "fit", "evaluate", "predict"]

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "cosine", "onecycle")


@dataclasses.dataclass(frozen=True)
class Config:
    """Hiperparâmetros de um treinamento; todos entram na chave do cache."""

    num_epochs: int = 5
    batch_size: int = 128
    lr: float = 1e-3
    optimizer: str = "adam"
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "constant"
    label_smoothing: float = 0.0
    seed: int = 0
    amp: str | None = "auto"
    eval_batch_size: int = 1024

    def __post_init__(self):
        if not (isinstance(self.num_epochs, int) and self.num_epochs >= 1):
            raise ValueError(f"num_epochs deve ser um inteiro ≥ 1, recebi {self.num_epochs!r}")
        if not (isinstance(self.batch_size, int) and self.batch_size >= 1):
            raise ValueError(f"batch_size deve ser um inteiro ≥ 1, recebi {self.batch_size!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"a taxa de aprendizado lr deve ser um número positivo, recebi {self.lr!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"otimizador desconhecido: {self.optimizer!r}; use um de {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"agenda desconhecida: {self.schedule!r}; use uma de {', '.join(SCHEDULES)}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing deve estar em [0, 1), recebi {self.label_smoothing!r}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay não pode ser negativo, recebi {self.weight_decay!r}")


def cache_dir():
    """Pasta dos modelos treinados: ``LIVRO_CACHE_MODELOS`` ou ``<cache do livro>/modelos``."""
    env = os.environ.get("LIVRO_CACHE_MODELOS")
    return pathlib.Path(env).expanduser() if env else data.cache_dir() / "modelos"


# --------------------------------------------------------------------------- chave


def _code_of(obj):
    """Código-fonte de uma função ou classe; cai no bytecode quando não há fonte."""
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        code = getattr(obj, "__code__", None)
        if code is not None:
            return repr((code.co_code, code.co_consts, code.co_names))
        # classe definida num notebook: junta o código de cada método
        parts = [getattr(obj, "__qualname__", repr(obj))]
        for name, member in sorted(vars(obj).items()):
            if inspect.isfunction(member):
                parts.append(name + _code_of(member))
        return "\n".join(parts)


def _model_code(net):
    """Código de todas as classes de módulos do usuário (as do torch contam pela versão)."""
    seen = {}
    for module in net.modules():
        for cls in type(module).__mro__:
            if cls.__module__.startswith("torch") or cls is object:
                continue
            seen.setdefault(f"{cls.__module__}.{cls.__qualname__}", _code_of(cls))
    return "\n".join(f"{k}\n{v}" for k, v in sorted(seen.items()))


def _module_settings(net):
    """Atributos simples de cada submódulo (por exemplo, ``skip=False``), que o ``repr`` pode omitir."""
    simple = (bool, int, float, str, tuple, type(None))
    lines = []
    for name, module in net.named_modules():
        settings = sorted((k, repr(v)) for k, v in vars(module).items()
                          if not k.startswith("_") and k != "training" and isinstance(v, simple))
        lines.append(f"{name}:{type(module).__qualname__}:{settings}")
    return "\n".join(lines)


def _update_tensor(digest, tensor):
    t = tensor.detach()
    digest.update(f"{t.dtype}{tuple(t.shape)}".encode())
    if t.dtype == torch.bfloat16:
        t = t.float()
    digest.update(t.cpu().contiguous().numpy().tobytes())


def cache_key(net, cfg, tensors, extra=()):
    """Chave SHA-256 (hexadecimal) de um treinamento: modelo, pesos iniciais, ``cfg``, dados e extras."""
    digest = hashlib.sha256()
    for part in (f"livro {__version__}", f"torch {torch.__version__}", _model_code(net), repr(net),
                 _module_settings(net), json.dumps(dataclasses.asdict(cfg), sort_keys=True)):
        digest.update(part.encode())
        digest.update(b"\0")
    for name, value in sorted(net.state_dict().items()):
        digest.update(name.encode())
        _update_tensor(digest, value)
    for t in tensors:
        if t is None:
            digest.update(b"none")
        else:
            _update_tensor(digest, t)
    for item in extra:
        digest.update((_code_of(item) if callable(item) else repr(item)).encode())
        digest.update(b"\0")
    return digest.hexdigest()


# --------------------------------------------------------------------------- cache em disco


def _load(entry, net, dev):
    """Carrega pesos e histórico de ``entry``; devolve ``None`` se a entrada não vale."""
    meta_path, weights = entry / "meta.json", entry / "pesos.pt"
    try:
        meta = json.loads(meta_path.read_text())
        if hashlib.sha256(weights.read_bytes()).hexdigest() != meta["sha256"]:
            raise ValueError("soma de verificação diferente")
        state = torch.load(weights, map_location=dev, weights_only=True)
        net.load_state_dict(state)
        history = json.loads((entry / "historico.json").read_text())
    except FileNotFoundError:
        if entry.exists():
            print(f"aviso: entrada incompleta no cache ({entry.name[:12]}…): treinando de novo")
        return None
    except Exception as error:  # corrompida: nunca carregar, treinar de novo
        print(f"aviso: entrada corrompida no cache ({entry.name[:12]}…, {error}): treinando de novo")
        return None
    return history


def _save(entry, net, history):
    """Grava a entrada numa pasta temporária e a renomeia: nunca fica meio escrita."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = entry.parent / f".{entry.name}.{os.getpid()}.parcial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    torch.save(state, tmp / "pesos.pt")
    (tmp / "historico.json").write_text(json.dumps(history))
    meta = {"sha256": hashlib.sha256((tmp / "pesos.pt").read_bytes()).hexdigest(),
            "livro": __version__, "torch": torch.__version__, "criado": time.time()}
    (tmp / "meta.json").write_text(json.dumps(meta))  # escrito por último
    shutil.rmtree(entry, ignore_errors=True)
    os.replace(tmp, entry)


# --------------------------------------------------------------------------- treino


def _optimizer(net, cfg, steps):
    params = net.parameters()
    if cfg.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    elif cfg.optimizer == "adam":
        opt = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    else:
        opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.schedule == "onecycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps)
    elif cfg.schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    else:
        sched = None
    return opt, sched


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} deve ser um inteiro, recebi {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} deve ser ≥ 1, recebi {value}")


def _check_xy(X, y, what):
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"os dados de {what} devem ser tensores do PyTorch")
    if len(X) != len(y):
        raise ValueError(f"os dados de {what} têm {len(X)} entradas mas {len(y)} rótulos")
    if len(X) == 0:
        raise ValueError(f"os dados de {what} estão vazios")


@torch.no_grad()
def predict(net, X, batch_size=1024, amp="auto"):
    """Saídas da rede para ``X`` inteiro, calculadas em lotes no dispositivo de ``net``.

    Cada lote vai para o dispositivo do modelo (o contrato de :mod:`livro.device`);
    o resultado volta na CPU, em ``float32``, pronto para imprimir ou desenhar.
    """
    if not isinstance(net, torch.nn.Module):
        raise TypeError(f"net deve ser um torch.nn.Module, recebi {type(net).__name__}")
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"X deve ser um tensor do PyTorch, recebi {type(X).__name__}")
    if len(X) == 0:
        raise ValueError("X está vazio: não há o que prever")
    _check_positive_int("batch_size", batch_size)
    dev = devices.of(net)
    was_training = net.training
    net.eval()
    outs = []
    for i in range(0, len(X), batch_size):
        xb = X[i:i + batch_size].to(dev, non_blocking=True)
        with devices.autocast(dev, amp):
            outs.append(net(xb).float())
    net.train(was_training)
    return torch.cat(outs).cpu()  # uma só cópia para a CPU, no fim


def evaluate(net, X, y, batch_size=1024, loss_fn=None, amp="auto"):
    """Perda média e acurácia (``None`` se não for classificação) de ``net`` em ``(X, y)``."""
    _check_xy(X, y, "avaliação")
    loss_fn = loss_fn or F.cross_entropy
    out = predict(net, X, batch_size, amp)
    y = y.cpu()
    loss = float(loss_fn(out, y))
    acc = float((out.argmax(1) == y).float().mean()) if out.ndim == 2 and not y.is_floating_point() else None
    return loss, acc


def fit(net, X, y, X_val=None, y_val=None, cfg=Config(), *, loss_fn=None, augment=None,
        cache=True, device=None, desc="treino"):
    """Treina ``net`` em ``(X, y)`` e devolve ``(net, history)``; usa o cache quando pode.

    ``history`` é um dicionário de listas, uma entrada por época: ``train_loss``,
    ``train_acc``, ``val_loss``, ``val_acc``, ``lr`` e ``seconds``; a chave
    ``cached`` diz se os pesos vieram do cache. ``augment(xb, generator)``,
    se dado, transforma cada lote de treino. ``loss_fn(saida, alvo)`` tem como
    padrão a entropia cruzada com ``cfg.label_smoothing``.
    """
    if not isinstance(cfg, Config):
        raise TypeError("cfg deve ser um livro.train.Config")
    _check_xy(X, y, "treino")
    if (X_val is None) != (y_val is None):
        raise ValueError("passe X_val e y_val juntos, ou nenhum dos dois")
    if X_val is not None:
        _check_xy(X_val, y_val, "validação")
    dev = torch.device(device) if device is not None else devices.get()
    net.to(dev)

    key = cache_key(net, cfg, (X, y, X_val, y_val), extra=(dev.type, loss_fn, augment))
    entry = cache_dir() / key
    if cache:
        start = time.perf_counter()
        history = _load(entry, net, dev)
        if history is not None:
            history["cached"] = True
            print(f"{desc}: pesos e histórico carregados do cache em "
                  f"{time.perf_counter() - start:.2f} s (chave {key[:12]}…)")
            net.eval()
            return net, history

    if loss_fn is None:
        def loss_fn(out, target):
            return F.cross_entropy(out, target, label_smoothing=cfg.label_smoothing)

    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    X, y = X.to(dev), y.to(dev)  # o conjunto inteiro fica no dispositivo; lotes são fatias
    n = len(X)
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    opt, sched = _optimizer(net, cfg, cfg.num_epochs * steps_per_epoch)
    dtype = devices.autocast_dtype(dev, cfg.amp)
    history = {k: [] for k in ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds")}
    bar = tqdm(total=cfg.num_epochs * steps_per_epoch, desc=desc, unit="lote", file=sys.stdout,
               mininterval=2.0, ncols=90, ascii=True)
    for _ in range(cfg.num_epochs):
        start = time.perf_counter()
        net.train()
        perm = torch.randperm(n, generator=gen).to(dev)
        total_loss = torch.zeros((), device=dev)
        correct = torch.zeros((), device=dev)
        classify = True
        for i in range(0, n, cfg.batch_size):
            idx = perm[i:i + cfg.batch_size]
            xb, yb = X[idx], y[idx]
            if augment is not None:
                xb = augment(xb, gen)
            with torch.autocast(dev.type, dtype=dtype or torch.float32, enabled=dtype is not None):
                out = net(xb)
                loss = loss_fn(out.float(), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            total_loss += loss.detach() * len(idx)
            classify = classify and out.ndim == 2 and not yb.is_floating_point()
            if classify:
                correct += (out.detach().argmax(1) == yb).sum()
            bar.update(1)
        history["train_loss"].append(float(total_loss) / n)
        history["train_acc"].append(float(correct) / n if classify else None)
        if X_val is not None:
            val_loss, val_acc = evaluate(net, X_val, y_val, cfg.eval_batch_size, loss_fn, cfg.amp)
        else:
            val_loss, val_acc = None, None
        history["val_loss"].append(val_loss)
        history["val_acc"].append(val_acc)
        history["lr"].append(opt.param_groups[0]["lr"])
        history["seconds"].append(time.perf_counter() - start)
        post = {"perda": f"{history['train_loss'][-1]:.3f}"}
        if val_acc is not None:
            post["acc_val"] = f"{val_acc:.3f}"
        bar.set_postfix(post, refresh=False)
    bar.close()
    net.eval()
    if cache:
        _save(entry, net, history)
    history["cached"] = False
    return net, history
