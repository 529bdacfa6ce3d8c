"""Capacidade de redes ReLU e parada antecipada.

Uma rede feita de camadas lineares e ReLU calcula uma função afim por partes.
Este módulo conta essas partes: em uma dimensão, encontra exatamente as
*junções* (pontos onde a inclinação muda); em duas, rotula cada ponto de uma
grade pelo seu padrão de ativação (quais ReLU estão ligadas). Também traz a
parada antecipada (*early stopping*) por paciência e um laço de treino em lote
completo para regressão, usados no capítulo sobre capacidade e sobreajuste.
"""

import copy

import torch
from torch import nn

from . import _check

__all__ = ["activation_patterns", "linear_pieces_1d", "activation_regions_2d",
           "EarlyStopping", "fit_regression"]


def _check_net(net):
    """Aceita só ``nn.Sequential`` feita de ``nn.Linear``, ``nn.ReLU`` e ``nn.Identity``."""
    if not isinstance(net, nn.Sequential):
        raise TypeError(f"net deve ser uma nn.Sequential de camadas Linear e ReLU, recebi {_check.describe(net)}")
    for layer in net:
        if not isinstance(layer, (nn.Linear, nn.ReLU, nn.Identity)):
            raise TypeError(f"net tem uma camada não suportada: {type(layer).__name__}; "
                            "esperava só Linear, ReLU e Identity")
    first = next((layer for layer in net if isinstance(layer, nn.Linear)), None)
    if first is None:
        raise ValueError("net deve ter ao menos uma camada linear, recebi uma rede sem nenhuma")
    return first.in_features


def _limits(value, name):
    """Um par ``(início, fim)`` de números finitos com início < fim."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name} deve ser um par (início, fim), recebi {_check.describe(value)}")
    lo, hi = _check.number(value[0], f"{name}[0]"), _check.number(value[1], f"{name}[1]")
    if not lo < hi:
        raise ValueError(f"{name} deve ter início < fim, recebi {tuple(value)}")
    return lo, hi


def activation_patterns(net, x):
    """Padrão de ativação de cada entrada: ``True`` onde a ReLU está ligada (entrada > 0).

    ``x`` tem forma ``(N, d)``, o tipo e o dispositivo dos pesos; o resultado tem
    forma ``(N, U)``, em que ``U`` é o total de unidades ReLU da rede, na ordem das camadas.
    """
    in_features = _check_net(net)
    _check.tensor(x, "x", dtype="floating")
    if x.ndim != 2 or x.shape[1] != in_features:
        raise ValueError(f"x deve ter forma (N, {in_features}), recebi {tuple(x.shape)}")
    _check.model_input(x, net)
    patterns = []
    h = x
    with torch.no_grad():
        for layer in net:
            if isinstance(layer, nn.ReLU):
                patterns.append(h > 0)
            h = layer(h)
    if not patterns:
        return torch.zeros(len(x), 0, dtype=torch.bool, device=x.device)
    return torch.cat(patterns, dim=1)


def linear_pieces_1d(net, lo, hi, tol=1e-9):
    """Junções exatas de uma rede ReLU de entrada escalar no intervalo ``[lo, hi]``.

    Camada a camada, a pré-ativação de cada unidade é afim entre dois pontos
    consecutivos da partição atual; onde ela troca de sinal, o zero (obtido por
    interpolação linear, exata para uma função afim) entra na partição. No fim,
    a rede é afim em cada intervalo; ficam só os pontos internos onde a
    inclinação muda de fato (mais que ``tol ≥ 0``). ``lo`` e ``hi`` são números
    finitos. Devolve ``(joints, knots)``, na CPU: as junções, em ordem, e os nós
    ``[lo, junções..., hi]``. O número de partes lineares é ``len(joints) + 1``.
    """
    if _check_net(net) != 1:
        raise ValueError(f"net deve ter uma entrada escalar para linear_pieces_1d, recebi {_check_net(net)} entradas")
    lo, hi = _limits((lo, hi), "(lo, hi)")
    tol = _check.number(tol, "tol", minimum=0)
    param = next(net.parameters())
    points = torch.tensor([lo, hi], dtype=param.dtype, device=param.device)
    with torch.no_grad():
        for k, layer in enumerate(net):
            if not isinstance(layer, nn.ReLU):
                continue
            pre = net[:k](points[:, None])  # (P, U): pré-ativações nos pontos
            a, b = pre[:-1], pre[1:]
            cross = (a * b) < 0  # troca de sinal estrita dentro do intervalo
            left = points[:-1, None].expand_as(a)
            width = (points[1:] - points[:-1])[:, None].expand_as(a)
            zeros = left + width * a / (a - b)
            points = torch.unique(torch.cat([points, zeros[cross]]))  # ordena e remove repetidos
        values = net(points[:, None])  # (P, saídas)
    slopes = (values[1:] - values[:-1]) / (points[1:] - points[:-1])[:, None]
    change = (slopes[1:] - slopes[:-1]).abs().amax(dim=1) > tol * (1 + slopes.abs().amax())
    joints = points[1:-1][change]
    knots = torch.cat([points[:1], joints, points[-1:]])
    return joints.cpu(), knots.cpu()


def activation_regions_2d(net, xlim=(-1.0, 1.0), ylim=(-1.0, 1.0), num=400):
    """Rotula uma grade ``num × num`` do plano pelo padrão de ativação da rede.

    Pontos com o mesmo padrão estão na mesma região: fixado o padrão, a rede é
    afim e as condições "ligada/desligada" são desigualdades lineares, então
    cada região é um polígono convexo (e portanto conexo). Devolve
    ``(labels, count, xs, ys)``: rótulos inteiros de forma ``(num, num)``
    (linha = eixo y), o número de padrões distintos e os eixos da grade, na CPU.
    ``xlim`` e ``ylim`` são pares ``(início, fim)`` finitos, e ``num ≥ 2``.
    Regiões menores que o espaçamento da grade podem escapar da contagem.
    """
    if _check_net(net) != 2:
        raise ValueError(f"net deve ter duas entradas para activation_regions_2d, recebi {_check_net(net)}")
    xlim, ylim = _limits(xlim, "xlim"), _limits(ylim, "ylim")
    num = _check.integer(num, "num", minimum=2)
    param = next(net.parameters())
    xs = torch.linspace(xlim[0], xlim[1], num, dtype=param.dtype, device=param.device)
    ys = torch.linspace(ylim[0], ylim[1], num, dtype=param.dtype, device=param.device)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    grid = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)  # (num², 2)
    patterns = activation_patterns(net, grid)
    if patterns.shape[1] == 0:
        return torch.zeros(num, num, dtype=torch.long), 1, xs.cpu(), ys.cpu()
    _, labels = torch.unique(patterns, dim=0, return_inverse=True)
    count = int(labels.max()) + 1
    return labels.reshape(num, num).cpu(), count, xs.cpu(), ys.cpu()


class EarlyStopping:
    """Parada antecipada por paciência.

    A cada época, ``step(epoch, val_loss, net)`` compara a perda de validação com
    a melhor até agora; se melhorou (mais que ``min_delta``), guarda uma cópia
    dos pesos. Devolve ``True`` quando passaram ``patience`` épocas sem melhora:
    é hora de parar. ``restore(net)`` carrega os pesos da melhor época.
    ``patience`` é um inteiro ≥ 1 e ``min_delta`` um número finito ≥ 0.
    """

    def __init__(self, patience=10, min_delta=0.0):
        self.patience = _check.positive_int(patience, "patience")
        self.min_delta = _check.number(min_delta, "min_delta", minimum=0)
        self.best_loss = float("inf")
        self.best_epoch = None
        self.best_state = None
        self.bad_epochs = 0

    def step(self, epoch, val_loss, net):
        """Registra a perda de validação da época; ``True`` quando a paciência acabou.

        ``val_loss`` é um número (ou tensor de um elemento); ``+inf`` (divergência)
        conta como época sem melhora, ``NaN`` e ``-inf`` são recusados.
        """
        _check.integer(epoch, "epoch")
        val_loss = _check.number(val_loss, "val_loss", finite=False)
        if val_loss == float("-inf"):
            raise ValueError(f"val_loss deve ser um número finito ou +inf, recebi {val_loss} na época {epoch}")
        _check.module(net)
        if val_loss < self.best_loss - self.min_delta:
            self.best_loss, self.best_epoch, self.bad_epochs = val_loss, epoch, 0
            self.best_state = copy.deepcopy(net.state_dict())
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience

    def restore(self, net):
        """Copia para ``net`` os pesos da melhor época."""
        _check.module(net)
        if self.best_state is None:
            raise RuntimeError("nenhuma época foi registrada: não há pesos para restaurar")
        net.load_state_dict(self.best_state)
        return net


def fit_regression(net, X, y, X_val, y_val, *, lr=1e-2, num_epochs=1000, patience=None,
                   weight_decay=0.0, num_threads=1):
    """Treina ``net`` com erro quadrático médio, Adam e o lote inteiro a cada passo.

    Serve para conjuntos pequenos, guardados na memória. Com ``patience=None``
    treina todas as ``num_epochs`` épocas e deixa os pesos da última; com um
    inteiro, para quando a validação passa ``patience`` épocas sem melhorar e
    restaura os pesos da melhor época. Devolve ``(net, history)``, com as
    perdas por época (``train_loss``, ``val_loss``), a melhor época
    (``best_epoch``, contando de 1) e a última treinada (``stopped_epoch``).

    Com tensores tão pequenos, dividir cada operação entre vários núcleos custa
    mais do que rende; por isso o laço roda com ``num_threads`` *threads* (1 por
    padrão) e restaura a configuração anterior ao sair.

    Tudo é conferido antes do primeiro passo: tensores de ponto flutuante não
    vazios, no tipo e no dispositivo dos pesos; alvos com exatamente a forma da
    saída da rede (``(N, 1)`` contra ``(N,)`` se espalharia em silêncio para
    ``(N, N)``); ``lr`` finito e positivo, ``weight_decay`` finito e ≥ 0.
    """
    _check.module(net)
    for name, t in (("X", X), ("y", y), ("X_val", X_val), ("y_val", y_val)):
        _check.tensor(t, name, dtype="floating", nonempty=True)
        if t.ndim == 0:
            raise ValueError(f"{name} deve ter ao menos uma dimensão (um exemplo por linha), recebi um escalar")
        _check.model_input(t, net, name)
    for (a, ta), (b, tb) in ((("X", X), ("y", y)), (("X_val", X_val), ("y_val", y_val))):
        if len(ta) != len(tb):
            raise ValueError(f"{a} e {b} devem ter o mesmo número de linhas, recebi {len(ta)} e {len(tb)}")
    lr = _check.finite_number(lr, "lr", positive=True)
    weight_decay = _check.number(weight_decay, "weight_decay", minimum=0)
    num_epochs = _check.positive_int(num_epochs, "num_epochs")
    num_threads = _check.positive_int(num_threads, "num_threads")
    if patience is not None:
        _check.positive_int(patience, "patience")
    was_training = net.training
    net.eval()
    with torch.no_grad():  # uma passada de prova, para conferir a forma da saída
        out_shape = tuple(net(X[:1]).shape[1:])
    net.train(was_training)
    expected = "(N" + "".join(f", {d}" for d in out_shape) + ")"
    for name, t in (("y", y), ("y_val", y_val)):
        if tuple(t.shape[1:]) != out_shape:
            raise ValueError(f"{name} deve ter forma {expected}, como a saída da rede; recebi {tuple(t.shape)}")
    stopper = EarlyStopping(patience if patience is not None else num_epochs + 1)
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    history = {"train_loss": [], "val_loss": []}
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        for epoch in range(1, num_epochs + 1):
            net.train()
            loss = nn.functional.mse_loss(net(X), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            net.eval()
            with torch.no_grad():
                train_loss = nn.functional.mse_loss(net(X), y).item()
                val_loss = nn.functional.mse_loss(net(X_val), y_val).item()
            history["train_loss"].append(train_loss)
            history["val_loss"].append(val_loss)
            if stopper.step(epoch, val_loss, net):
                break
    finally:
        torch.set_num_threads(previous_threads)
    history["best_epoch"] = stopper.best_epoch
    history["stopped_epoch"] = epoch
    if patience is not None:
        stopper.restore(net)
    return net, history
