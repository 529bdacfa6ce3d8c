"""Retropropagação escrita à mão: diferenças finitas, camadas lineares e um MLP.

Tudo aqui existe para ser comparado com o ``autograd`` do PyTorch. Os vetores
seguem a convenção do PyTorch: cada exemplo é uma **linha**, um lote ``X`` tem
forma ``(N, m)`` e uma camada linear calcula ``X @ W.T + b`` com ``W`` de forma
``(n, m)``. O *backward* de cada função recebe ``grad_out``, o gradiente da
perda em relação à saída (mesma forma da saída), e devolve o gradiente em
relação às entradas: é o produto vetor–Jacobiana, feito da saída para a entrada.
"""

import torch

from . import _check

__all__ = ["ACTIVATIONS", "finite_difference", "linear_forward", "linear_backward",
           "activation_forward", "activation_backward", "init_mlp", "mlp_forward",
           "mlp_backward", "mse_loss", "mse_backward", "MLPFunction", "mlp_apply",
           "saved_tensor_bytes"]

ACTIVATIONS = ("tanh", "relu")


def _check_tensor(x, name, ndim=None, layout=None):
    return _check.tensor(x, name, ndim=ndim, dtype="floating", layout=layout)


def _check_activation(activation):
    _check.choice(activation, "activation", ACTIVATIONS)


def _check_params(params, X=None):
    """``params``: lista não vazia de pares ``(W (n, m), b (n,))`` encadeados, do tipo de ``X``."""
    if not isinstance(params, (list, tuple)) or len(params) == 0:
        raise ValueError(f"params deve ser uma lista não vazia de pares (W, b), recebi {_check.describe(params)}")
    width = None if X is None else X.shape[1]
    first = ("X", X) if X is not None else None
    for k, pair in enumerate(params):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ValueError(f"params[{k}] deve ser um par (W, b), recebi {_check.describe(pair)}")
        W, b = pair
        _check_tensor(W, f"params[{k}][0] (W)", ndim=2, layout="(n, m)")
        _check_tensor(b, f"params[{k}][1] (b)", ndim=1, layout="(n,)")
        first = first or (f"params[{k}][0] (W)", W)
        _check.same_device_dtype((f"params[{k}][0] (W)", W), (f"params[{k}][1] (b)", b), first)
        if b.shape[0] != W.shape[0]:
            raise ValueError(f"params[{k}][1] (b) deve ter forma ({W.shape[0]},), um valor por linha de W; "
                             f"recebi {tuple(b.shape)}")
        if width is not None and W.shape[1] != width:
            where = "X" if k == 0 else f"a camada {k - 1}"
            raise ValueError(f"params[{k}][0] (W) deve ter {width} colunas, a largura de {where}; "
                             f"recebi forma {tuple(W.shape)}")
        width = W.shape[0]


def finite_difference(f, x, h=1e-5, scheme="central"):
    """Derivada numérica de ``f`` (elemento a elemento) em cada ponto de ``x``.

    ``scheme='central'``: (f(x+h) − f(x−h)) / 2h, com erro O(h²);
    ``scheme='forward'``: (f(x+h) − f(x)) / h, com erro O(h).
    Como ``f`` age elemento a elemento, o tensor inteiro é avaliado de uma
    vez, sem laço em Python.
    """
    _check.callable_(f, "f")
    _check_tensor(x, "x")
    h = _check.finite_number(h, "h", positive=True)
    _check.choice(scheme, "scheme", ("central", "forward"))
    if scheme == "central":
        return (f(x + h) - f(x - h)) / (2 * h)
    return (f(x + h) - f(x)) / h


def linear_forward(X, W, b=None):
    """Camada linear com exemplos nas linhas: ``X (N, m)``, ``W (n, m)`` → ``X Wᵀ + b (N, n)``.

    ``b``, se dado, tem forma ``(n,)``; os três tensores têm o mesmo tipo e dispositivo.
    """
    _check_tensor(X, "X", 2, "(N, m)")
    _check_tensor(W, "W", 2, "(n, m)")
    if b is not None:
        _check_tensor(b, "b", 1, "(n,)")
    _check.same_device_dtype(("X", X), ("W", W), ("b", b))
    if X.shape[1] != W.shape[1]:
        raise ValueError(f"formas incompatíveis: X e W devem ter o mesmo número de colunas m (X (N, m), "
                         f"W (n, m)); recebi X {tuple(X.shape)} e W {tuple(W.shape)}")
    if b is not None and b.shape != (W.shape[0],):
        raise ValueError(f"b deve ter forma ({W.shape[0]},), um valor por linha de W; recebi {tuple(b.shape)}")
    out = X @ W.T
    return out if b is None else out + b


def linear_backward(grad_out, X, W):
    """Gradientes da camada linear a partir de ``grad_out (N, n)``.

    Devolve ``(grad_X, grad_W, grad_b)``:
    ``grad_X = grad_out @ W``, pois a Jacobiana em relação à entrada é W;
    ``grad_W = grad_outᵀ @ X``, a soma no lote dos produtos externos gᵀx;
    ``grad_b``, a soma de ``grad_out`` no lote.
    """
    _check_tensor(grad_out, "grad_out", 2, "(N, n)")
    _check_tensor(X, "X", 2, "(N, m)")
    _check_tensor(W, "W", 2, "(n, m)")
    _check.same_device_dtype(("grad_out", grad_out), ("X", X), ("W", W))
    if X.shape[1] != W.shape[1]:
        raise ValueError(f"formas incompatíveis: X e W devem ter o mesmo número de colunas m (X (N, m), "
                         f"W (n, m)); recebi X {tuple(X.shape)} e W {tuple(W.shape)}")
    if grad_out.shape != (X.shape[0], W.shape[0]):
        raise ValueError(f"grad_out deve ter forma {(X.shape[0], W.shape[0])}, (N, n); "
                         f"recebi {tuple(grad_out.shape)}")
    return grad_out @ W, grad_out.T @ X, grad_out.sum(0)


def activation_forward(Z, activation="tanh"):
    """Aplica a não linearidade elemento a elemento (``'tanh'`` ou ``'relu'``)."""
    _check_tensor(Z, "Z")
    _check_activation(activation)
    return torch.tanh(Z) if activation == "tanh" else torch.clamp(Z, min=0)


def activation_backward(grad_out, Z, H, activation="tanh"):
    """Multiplica ``grad_out`` pela derivada da ativação, elemento a elemento.

    A Jacobiana de uma ativação é diagonal, por isso basta um produto
    elemento a elemento. ``Z`` é a entrada da ativação e ``H`` a sua saída:
    tanh' = 1 − H² e relu' = 1 onde Z > 0, 0 nos outros pontos. Os três tensores
    têm a mesma forma, o mesmo tipo e o mesmo dispositivo.
    """
    for name, t in (("grad_out", grad_out), ("Z", Z), ("H", H)):
        _check_tensor(t, name)
    _check.same_device_dtype(("grad_out", grad_out), ("Z", Z), ("H", H))
    if not grad_out.shape == Z.shape == H.shape:
        raise ValueError(f"grad_out, Z e H devem ter a mesma forma; recebi {tuple(grad_out.shape)}, "
                         f"{tuple(Z.shape)} e {tuple(H.shape)}")
    _check_activation(activation)
    if activation == "tanh":
        return grad_out * (1 - H * H)
    return grad_out * (Z > 0).to(grad_out.dtype)


def init_mlp(sizes, generator=None, dtype=torch.float32):
    """Pesos de um MLP com larguras ``sizes = (m, h₁, …, n)``: lista de pares ``(W, b)``.

    Usa a mesma inicialização uniforme de ``torch.nn.Linear``: U(−1/√m, 1/√m).
    ``generator`` é um ``torch.Generator`` (ou ``None``) e ``dtype``, um tipo de
    ponto flutuante.
    """
    if not isinstance(sizes, (list, tuple)) or len(sizes) < 2:
        raise ValueError(f"sizes deve ser uma lista de ao menos duas larguras, recebi {_check.describe(sizes)}")
    sizes = [_check.positive_int(s, f"sizes[{k}]") for k, s in enumerate(sizes)]
    _check.generator(generator, allow_none=True)
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype deve ser um tipo de ponto flutuante do PyTorch, recebi {dtype!r}")
    params = []
    for m, n in zip(sizes[:-1], sizes[1:]):
        bound = 1 / m**0.5
        W = (torch.rand(n, m, generator=generator, dtype=dtype) * 2 - 1) * bound
        b = (torch.rand(n, generator=generator, dtype=dtype) * 2 - 1) * bound
        params.append((W, b))
    return params


def mlp_forward(X, params, activation="tanh"):
    """*Forward* do MLP: linear e ativação nas ocultas, só linear na última.

    Devolve ``(saída, cache)``. O ``cache`` guarda, para cada camada, a sua
    entrada, a pré-ativação e a saída: a memória de que o *backward* precisa.
    """
    _check_tensor(X, "X", 2, "(N, m)")
    _check_params(params, X)
    _check_activation(activation)
    cache = []
    H = X
    for k, (W, b) in enumerate(params):
        Z = linear_forward(H, W, b)
        last = k == len(params) - 1
        out = Z if last else activation_forward(Z, activation)
        cache.append((H, Z, out))  # entrada da camada, pré-ativação, saída
        H = out
    return H, cache


def mlp_backward(grad_out, cache, params, activation="tanh"):
    """*Backward* do MLP, da última camada para a primeira.

    ``grad_out`` é ∂perda/∂saída, de forma ``(N, n)``; ``cache`` é o de
    :func:`mlp_forward` com os mesmos ``params``. Devolve ``(grad_X, grads)``,
    com ``grads[k] = (grad_W, grad_b)`` da camada ``k``.
    """
    _check_params(params)
    _check_activation(activation)
    if not isinstance(cache, (list, tuple)) or len(cache) != len(params) \
            or any(not isinstance(c, (list, tuple)) or len(c) != 3 for c in cache):
        raise ValueError(f"cache deve ser a lista de {len(params)} triplas (entrada, pré-ativação, saída) "
                         f"que mlp_forward devolve com estes params; recebi {_check.describe(cache)}")
    out = cache[-1][2]
    _check_tensor(grad_out, "grad_out", 2, "(N, n)")
    _check.same_device_dtype(("grad_out", grad_out), ("params[0][0] (W)", params[0][0]))
    if grad_out.shape != out.shape:
        raise ValueError(f"grad_out deve ter a forma da saída do MLP, {tuple(out.shape)}; "
                         f"recebi {tuple(grad_out.shape)}")
    grads = [None] * len(params)
    g = grad_out
    for k in reversed(range(len(params))):
        H_in, Z, H_out = cache[k]
        W, _ = params[k]
        if k != len(params) - 1:
            g = activation_backward(g, Z, H_out, activation)
        g, grad_W, grad_b = linear_backward(g, H_in, W)
        grads[k] = (grad_W, grad_b)
    return g, grads


def _check_mse(y_hat, y):
    """Previsões e alvos de ponto flutuante, mesma forma (sem *broadcasting*), tipo e dispositivo."""
    _check_tensor(y_hat, "y_hat")
    _check_tensor(y, "y")
    _check.same_device_dtype(("y", y), ("y_hat", y_hat))
    if y_hat.shape != y.shape:
        raise ValueError(f"y_hat e y devem ter a mesma forma; recebi y_hat {tuple(y_hat.shape)} e y "
                         f"{tuple(y.shape)} (formas diferentes se espalhariam em silêncio por broadcasting)")
    if y.numel() == 0:
        raise ValueError(f"y_hat e y estão vazios: o erro médio de zero elementos não existe; recebi forma "
                         f"{tuple(y.shape)}")


def mse_loss(y_hat, y):
    """Erro quadrático médio, com média sobre todos os elementos (ao menos um)."""
    _check_mse(y_hat, y)
    return ((y_hat - y) ** 2).mean()


def mse_backward(y_hat, y):
    """Gradiente de ``mse_loss`` em relação a ``y_hat``: 2 (ŷ − y) / número de elementos."""
    _check_mse(y_hat, y)
    return 2 * (y_hat - y) / y.numel()


class MLPFunction(torch.autograd.Function):
    """O MLP como uma operação do ``autograd`` cujo *backward* é ``mlp_backward``.

    Assim o ``torch.autograd.gradcheck`` pode conferir o nosso *backward* contra
    diferenças finitas. Uso: ``MLPFunction.apply('tanh', X, W1, b1, W2, b2, …)``.
    """

    @staticmethod
    def forward(ctx, activation, X, *flat_params):
        params = list(zip(flat_params[0::2], flat_params[1::2]))
        out, cache = mlp_forward(X, params, activation)
        ctx.activation = activation
        ctx.n_layers = len(params)
        # o cache vira uma lista plana de tensores guardados pelo autograd
        ctx.save_for_backward(*flat_params, *(t for layer in cache for t in layer))
        return out

    @staticmethod
    def backward(ctx, grad_out):
        saved = ctx.saved_tensors
        n = ctx.n_layers
        flat_params, flat_cache = saved[:2 * n], saved[2 * n:]
        params = list(zip(flat_params[0::2], flat_params[1::2]))
        cache = [tuple(flat_cache[3 * k:3 * k + 3]) for k in range(n)]
        grad_X, grads = mlp_backward(grad_out, cache, params, ctx.activation)
        return (None, grad_X, *(g for pair in grads for g in pair))


def mlp_apply(X, params, activation="tanh"):
    """Aplica o MLP por meio de ``MLPFunction``: o *backward* do autograd vira o nosso."""
    _check_tensor(X, "X", 2, "(N, m)")
    _check_params(params, X)
    _check_activation(activation)
    return MLPFunction.apply(activation, X, *(t for pair in params for t in pair))


def saved_tensor_bytes(fn, exclude=()):
    """Executa ``fn()`` e mede o que o autograd guarda para o *backward*.

    Devolve ``(resultado, info)``. Em ``info``: ``'count'``, quantas vezes
    um tensor foi guardado; ``'bytes_total'``, somando todas as vezes;
    ``'bytes'``, cada armazenamento contado uma só vez e sem os tensores de
    ``exclude`` (os parâmetros, que ocupam memória de qualquer jeito).
    """
    _check.callable_(fn, "fn")
    if isinstance(exclude, torch.Tensor) or not hasattr(exclude, "__iter__"):
        raise TypeError(f"exclude deve ser uma lista de tensores, recebi {_check.describe(exclude)}")
    exclude = list(exclude)
    for k, t in enumerate(exclude):
        _check.tensor(t, f"exclude[{k}]")
    excluded = {t.untyped_storage().data_ptr() for t in exclude}
    seen = {}
    info = {"count": 0, "bytes_total": 0}

    def pack(t):
        size = t.untyped_storage().nbytes()
        info["count"] += 1
        info["bytes_total"] += size
        ptr = t.untyped_storage().data_ptr()
        if ptr not in excluded:
            seen[ptr] = size
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        result = fn()
    info["bytes"] = sum(seen.values())
    return result, info
