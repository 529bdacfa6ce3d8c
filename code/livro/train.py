"""Laço de treinamento sobre tensores guardados na memória, com cache dos modelos treinados.

``fit`` treina uma rede fatiando lotes de tensores que ficam no dispositivo
(sem ``DataLoader``), mostra uma barra de progresso e devolve o histórico. O
cache (chave por conteúdo, disco e verificação) mora em :mod:`livro.cache`; o
dispositivo e a precisão mista, em :mod:`livro.device`.
"""

import dataclasses
import math
import os
import sys
import time

import torch
import torch.nn.functional as F
from tqdm import tqdm

from . import cache as model_cache
from . import device as devices

__all__ = ["Config", "fit", "evaluate", "predict", "progress_bar", "cache_dir", "cache_key"]

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "cosine", "onecycle")


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclasses.dataclass(frozen=True)
class Config:
    """Hiperparâmetros de um treinamento; todos entram na chave do cache e são conferidos ao criar.

    ``amp`` escolhe a precisão mista segundo :func:`livro.device.autocast_dtype`
    (``'auto'``, ``'off'``/``None``, ``'bf16'``, ``'fp16'``); ``compile=True``
    passa a rede por ``torch.compile`` no treino.
    """

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
    compile: bool = False

    def __post_init__(self):
        for name in ("num_epochs", "batch_size", "eval_batch_size"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise ValueError(f"{name} deve ser um inteiro ≥ 1, recebi {value!r}")
        if not _is_int(self.seed) or self.seed < 0:
            raise ValueError(f"seed deve ser um inteiro ≥ 0, recebi {self.seed!r}")
        if not (_is_number(self.lr) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"a taxa de aprendizado lr deve ser um número finito > 0, recebi {self.lr!r}")
        if not (_is_number(self.momentum) and 0 <= self.momentum < 1):
            raise ValueError(f"momentum deve ser um número em [0, 1), recebi {self.momentum!r}")
        if not (_is_number(self.weight_decay) and math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay deve ser um número finito ≥ 0, recebi {self.weight_decay!r}")
        if not (_is_number(self.label_smoothing) and 0 <= self.label_smoothing < 1):
            raise ValueError(f"label_smoothing deve ser um número em [0, 1), recebi {self.label_smoothing!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"otimizador desconhecido: {self.optimizer!r}; use um de {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"agenda desconhecida: {self.schedule!r}; use uma de {', '.join(SCHEDULES)}")
        if self.amp is not None and self.amp not in devices.AMP_MODES:
            raise ValueError(f"amp deve ser uma de {devices.AMP_MODES} ou None, recebi {self.amp!r}")
        if not isinstance(self.compile, bool):
            raise ValueError(f"compile deve ser True ou False, recebi {self.compile!r}")


def cache_dir():
    """Pasta dos modelos treinados (atalho para :func:`livro.cache.cache_dir`)."""
    return model_cache.cache_dir()


def cache_key(net, cfg, tensors, extra=(), explicit=None):
    """Chave do cache de um treinamento (atalho para :func:`livro.cache.key`)."""
    return model_cache.key(net, cfg, tensors, extra, explicit)


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


class _OneLine:
    """Progresso para páginas construídas: nada durante o treino, uma linha com o estado final."""

    def __init__(self, total, desc, unit):
        self.total, self.desc, self.unit, self.done, self.post = total, desc, unit, 0, {}
        self.start = time.perf_counter()

    def update(self, n=1):
        self.done += n

    def set_postfix(self, post, refresh=False):
        self.post = dict(post)

    def close(self):
        extra = "".join(f", {k}={v}" for k, v in self.post.items())
        print(f"{self.desc}: {self.done}/{self.total} {self.unit}s em {time.perf_counter() - self.start:.0f} s{extra}",
              file=sys.stdout, flush=True)


def progress_bar(total, desc, unit="lote"):
    """Barra de progresso dos treinos do pacote: viva (tqdm) numa sessão interativa; na construção
    do livro (variável ``LIVRO_BUILD``), uma linha só, com o estado final. Use ``update``,
    ``set_postfix`` e ``close``, como no tqdm."""
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise ValueError(f"total deve ser um inteiro ≥ 0, recebi {total!r}")
    if os.environ.get("LIVRO_BUILD"):
        return _OneLine(total, desc, unit)
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stdout, mininterval=2.0, ncols=90, ascii=True)


def _check_labels(net, X, y, loss_fn):
    """Com a perda padrão (entropia cruzada), confere os rótulos contra as saídas da rede, antes de treinar.

    Aceita rótulos ``(N,)`` para saídas ``(N, C)`` e rótulos ``(N, d1, …)`` para saídas
    ``(N, C, d1, …)`` (segmentação, por exemplo), como ``F.cross_entropy``.
    """
    if loss_fn is not None or y.is_floating_point():
        return
    with torch.no_grad():
        was_training = net.training
        net.eval()
        out = net(devices.to_model(net, X[:2]))
        net.train(was_training)
    if out.ndim < 2 or out.ndim != y.ndim + 1 or tuple(out.shape[2:]) != tuple(y.shape[1:]):
        raise ValueError(f"os rótulos y devem ter forma (N,) para saídas (N, C), ou (N, d1, …) para saídas "
                         f"(N, C, d1, …); recebi y de forma {tuple(y.shape)} e saídas de forma "
                         f"{tuple(out.shape)}")
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi >= out.shape[1]:
        raise ValueError(f"os rótulos devem estar em [0, {out.shape[1]}) (a rede tem {out.shape[1]} saídas); "
                         f"recebi valores de {lo} a {hi}")


def fit(net, X, y, X_val=None, y_val=None, cfg=Config(), *, loss_fn=None, augment=None,
        cache=True, cache_key=None, device=None, desc="treino"):
    """Treina ``net`` em ``(X, y)`` e devolve ``(net, history)``; usa o cache quando pode.

    A rede vai para ``device`` (padrão: :func:`livro.device.get`), e os dados
    inteiros também: os lotes são fatias no dispositivo. ``history`` é um
    dicionário de listas, uma entrada por época: ``train_loss``, ``train_acc``,
    ``val_loss``, ``val_acc``, ``lr`` e ``seconds``; a chave ``cached`` diz se os
    pesos vieram do cache. ``augment(xb, generator)``, se dado, transforma cada
    lote de treino; ``generator`` é um ``torch.Generator`` *no dispositivo do
    treino*, para que os sorteios não passem pela CPU. ``loss_fn(saida, alvo)``
    tem como padrão a entropia cruzada com ``cfg.label_smoothing``.

    A chave do cache cobre o código e os valores capturados por ``loss_fn`` e
    ``augment``; se algo não puder ser resumido com segurança, ``fit`` recusa com
    :class:`livro.cache.UnhashableError`. Então passe ``cache_key`` (uma ``str``
    que identifique o que as funções fazem) ou ``cache=False``.
    """
    if not isinstance(net, torch.nn.Module):
        raise TypeError(f"net deve ser um torch.nn.Module, recebi {type(net).__name__}")
    if not isinstance(cfg, Config):
        raise TypeError(f"cfg deve ser um livro.train.Config, recebi {type(cfg).__name__}")
    for name, fn in (("loss_fn", loss_fn), ("augment", augment)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{name} deve ser uma função, recebi {type(fn).__name__}")
    if not isinstance(cache, bool):
        raise TypeError(f"cache deve ser True ou False, recebi {cache!r}")
    _check_xy(X, y, "treino")
    if (X_val is None) != (y_val is None):
        raise ValueError("passe X_val e y_val juntos, ou nenhum dos dois")
    if X_val is not None:
        _check_xy(X_val, y_val, "validação")
    dev = devices.get(device)
    net.to(dev)
    _check_labels(net, X, y, loss_fn)

    entry = None
    if cache:
        key = model_cache.key(net, cfg, (X, y, X_val, y_val), extra=(dev.type, loss_fn, augment), explicit=cache_key)
        entry = model_cache.entry_path(key)
        start = time.perf_counter()
        history = model_cache.load(entry, net)
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
    gen = torch.Generator(device=dev).manual_seed(cfg.seed)
    X, y = X.to(dev), y.to(dev)  # o conjunto inteiro fica no dispositivo; lotes são fatias
    n = len(X)
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    opt, sched = _optimizer(net, cfg, cfg.num_epochs * steps_per_epoch)
    scaler = torch.amp.GradScaler(dev.type, enabled=devices.needs_grad_scaler(dev, cfg.amp))
    step_net = torch.compile(net) if cfg.compile else net
    history = {k: [] for k in ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds")}
    bar = progress_bar(cfg.num_epochs * steps_per_epoch, desc)
    for _ in range(cfg.num_epochs):
        start = time.perf_counter()
        net.train()
        perm = torch.randperm(n, generator=gen, device=dev)
        total_loss = torch.zeros((), device=dev)  # acumulados no dispositivo: nenhuma sincronização por passo
        correct = torch.zeros((), device=dev, dtype=torch.long)
        classify = True
        for i in range(0, n, cfg.batch_size):
            idx = perm[i:i + cfg.batch_size]
            xb, yb = X[idx], y[idx]
            if augment is not None:
                xb = augment(xb, gen)
            with devices.autocast(dev, cfg.amp):
                out = step_net(xb)
                loss = loss_fn(out.float(), yb)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            if sched is not None:
                sched.step()
            total_loss += loss.detach() * len(idx)
            classify = classify and out.ndim == 2 and not yb.is_floating_point() and yb.ndim == 1
            if classify:
                correct += (out.detach().argmax(1) == yb).sum()
            bar.update(1)
        history["train_loss"].append(float(total_loss) / n)  # uma sincronização por época
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
    if entry is not None:
        model_cache.save(entry, net, history)
    history["cached"] = False
    return net, history

