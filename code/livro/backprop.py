"""Retropropagação escrita à mão: diferenças finitas, camadas lineares e um MLP.

Tudo aqui existe para ser comparado com o ``autograd`` do PyTorch. Os vetores
seguem a convenção do PyTorch: cada exemplo é uma **linha**, um lote ``X`` tem
forma ``(N, m)`` e uma camada linear calcula ``X @ W.T + b`` com ``W`` de forma
``(n, m)``. O *backward* de cada função recebe ``grad_out``, o gradiente da
perda em relação à saída (mesma forma da saída), e devolve o gradiente em
relação às entradas: é o produto vetor–Jacobiana, feito da saída para a entrada.
"""

import torch

__all__ = ["ACTIVATIONS", "finite_difference", "linear_forward", "linear_backward",
           "activation_forward", "activation_backward", "init_mlp", "mlp_forward",
           "mlp_backward", "mse_loss", "mse_backward", "MLPFunction", "mlp_apply",
           "saved_tensor_bytes"]

ACTIVATIONS = ("tanh", "relu")


def _check_tensor(x, name):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} deve ser um torch.Tensor, recebi {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} deve ter tipo de ponto flutuante, recebi {x.dtype}")


def _check_activation(activation):
    if activation not in ACTIVATIONS:
        raise ValueError(f"ativação desconhecida: {activation!r}; use uma de {ACTIVATIONS}")


def finite_difference(f, x, h=1e-5, scheme="central"):
    """Derivada numérica de ``f`` (elemento a elemento) em cada ponto de ``x``.

    ``scheme='central'``: (f(x+h) − f(x−h)) / 2h, com erro O(h²);
    ``scheme='forward'``: (f(x+h) − f(x)) / h, com erro O(h).
    Como ``f`` age elemento a elemento, o tensor inteiro é avaliado de uma
    vez, sem laço em Python.
    """
    _check_tensor(x, "x")
    if isinstance(h, bool) or not isinstance(h, (int, float)) or h <= 0:
        raise ValueError(f"o passo h deve ser positivo, recebi {h!r}")
    if scheme == "central":
        return (f(x + h) - f(x - h)) / (2 * h)
    if scheme == "forward":
        return (f(x + h) - f(x)) / h
    raise ValueError(f"esquema desconhecido: {scheme!r}; "
                     "use 'central' ou 'forward'")


def linear_forward(X, W, b=None):
    """Camada linear com exemplos nas linhas: ``X (N, m)``, ``W (n, m)`` → ``X Wᵀ + b (N, n)``."""
    _check_tensor(X, "X")
    _check_tensor(W, "W")
    if X.ndim != 2 or W.ndim != 2 or X.shape[1] != W.shape[1]:
        raise ValueError(f"formas incompatíveis: X {tuple(X.shape)} e W {tuple(W.shape)}; "
                         "esperava X (N, m) e W (n, m)")
    out = X @ W.T
    return out if b is None else out + b


def linear_backward(grad_out, X, W):
    """Gradientes da camada linear a partir de ``grad_out (N, n)``.

    Devolve ``(grad_X, grad_W, grad_b)``:
    ``grad_X = grad_out @ W``, pois a Jacobiana em relação à entrada é W;
    ``grad_W = grad_outᵀ @ X``, a soma no lote dos produtos externos gᵀx;
    ``grad_b``, a soma de ``grad_out`` no lote.
    """
    _check_tensor(grad_out, "grad_out")
    if grad_out.shape != (X.shape[0], W.shape[0]):
        raise ValueError(f"grad_out tem forma {tuple(grad_out.shape)}, "
                         f"esperava {(X.shape[0], W.shape[0])}")
    return grad_out @ W, grad_out.T @ X, grad_out.sum(0)


def activation_forward(Z, activation="tanh"):
    """Aplica a não linearidade elemento a elemento (``'tanh'`` ou ``'relu'``)."""
    _check_activation(activation)
    return torch.tanh(Z) if activation == "tanh" else torch.clamp(Z, min=0)


def activation_backward(grad_out, Z, H, activation="tanh"):
    """Multiplica ``grad_out`` pela derivada da ativação, elemento a elemento.

    A Jacobiana de uma ativação é diagonal, por isso basta um produto
    elemento a elemento. ``Z`` é a entrada da ativação e ``H`` a sua saída:
    tanh' = 1 − H² e relu' = 1 onde Z > 0, 0 nos outros pontos.
    """
    _check_activation(activation)
    if activation == "tanh":
        return grad_out * (1 - H * H)
    return grad_out * (Z > 0).to(grad_out.dtype)


def init_mlp(sizes, generator=None, dtype=torch.float32):
    """Pesos de um MLP com larguras ``sizes = (m, h₁, …, n)``: lista de pares ``(W, b)``.

    Usa a mesma inicialização uniforme de ``torch.nn.Linear``: U(−1/√m, 1/√m).
    """
    if len(sizes) < 2 or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
        raise ValueError(f"sizes deve ter ao menos dois inteiros positivos, recebi {sizes!r}")
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
    _check_tensor(X, "X")
    _check_activation(activation)
    if not params:
        raise ValueError("params está vazio: o MLP precisa de uma camada")
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

    ``grad_out`` é ∂perda/∂saída, de forma ``(N, n)``. Devolve
    ``(grad_X, grads)``, com ``grads[k] = (grad_W, grad_b)`` da camada ``k``.
    """
    _check_activation(activation)
    if len(cache) != len(params):
        raise ValueError(f"cache tem {len(cache)} camadas, params {len(params)}")
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


def mse_loss(y_hat, y):
    """Erro quadrático médio, com média sobre todos os elementos."""
    if y_hat.shape != y.shape:
        raise ValueError(f"y_hat {tuple(y_hat.shape)} e y {tuple(y.shape)} devem ter a mesma forma")
    return ((y_hat - y) ** 2).mean()


def mse_backward(y_hat, y):
    """Gradiente de ``mse_loss`` em relação a ``y_hat``: 2 (ŷ − y) / número de elementos."""
    if y_hat.shape != y.shape:
        raise ValueError(f"y_hat {tuple(y_hat.shape)} e y {tuple(y.shape)} devem ter a mesma forma")
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
    return MLPFunction.apply(activation, X, *(t for pair in params for t in pair))


def saved_tensor_bytes(fn, exclude=()):
    """Executa ``fn()`` e mede o que o autograd guarda para o *backward*.

    Devolve ``(resultado, info)``. Em ``info``: ``'count'``, quantas vezes
    um tensor foi guardado; ``'bytes_total'``, somando todas as vezes;
    ``'bytes'``, cada armazenamento contado uma só vez e sem os tensores de
    ``exclude`` (os parâmetros, que ocupam memória de qualquer jeito).
    """
    if not callable(fn):
        raise TypeError("fn deve ser uma função sem argumentos, "
                        f"recebi {type(fn).__name__}")
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
