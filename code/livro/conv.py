"""Convolução e *pooling* escritos à mão, e as matrizes que os representam.

Segue as convenções do PyTorch: um lote de imagens tem forma ``(N, C, H, W)``,
um banco de filtros tem forma ``(C_out, C_in, K_H, K_W)`` e o viés, ``(C_out,)``.
Como no PyTorch, a "convolução" daqui é uma **correlação cruzada**: o filtro
desliza sobre a imagem sem ser espelhado. Tudo é comparado com
``torch.nn.functional`` nos testes e no capítulo 6.

Filtros, passos (``stride``) e preenchimentos (``padding``) podem ser
retangulares: cada um é um inteiro ou um par ``(vertical, horizontal)``. Não há
dilatação, grupos nem preenchimento que não seja de zeros; imagens, filtros e
viés devem ter o mesmo tipo de ponto flutuante e estar no mesmo dispositivo.
"""

import torch

from . import _check

__all__ = ["output_size", "pad_zeros", "conv2d_loops", "conv2d_unfold", "max_pool2d",
           "avg_pool2d", "sum_pool2d", "conv2d_matrix", "pool2d_matrix"]


def _check_images(x, name="x", layout="(N, C, H, W)"):
    _check.tensor(x, name, ndim=4, dtype="floating", layout=layout)


def _check_conv(x, weight, bias):
    """Imagens e filtros do mesmo tipo e dispositivo, canais compatíveis e um viés por filtro."""
    _check_images(x, "x")
    _check_images(weight, "weight", "(C_out, C_in, K_H, K_W)")
    if bias is not None:
        _check.tensor(bias, "bias", dtype="floating")
    _check.same_device_dtype(("x", x), ("weight", weight), ("bias", bias))
    if weight.shape[0] == 0 or min(weight.shape[2:]) == 0:
        raise ValueError(f"weight precisa de ao menos um filtro não vazio, recebi forma {tuple(weight.shape)}")
    if x.shape[1] != weight.shape[1] or x.shape[1] == 0:
        raise ValueError(f"x deve ter {weight.shape[1]} canais, os que os filtros esperam (weight tem forma "
                         f"{tuple(weight.shape)}); recebi {x.shape[1]} canais")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"bias deve ter forma ({weight.shape[0]},), um valor por filtro; "
                         f"recebi forma {tuple(bias.shape)}")


def output_size(size, kernel_size, padding=0, stride=1):
    """Tamanho da saída num eixo: ``⌊(size + 2·padding − kernel_size) / stride⌋ + 1``."""
    size, kernel_size = _check.integer(size, "size", 1), _check.integer(kernel_size, "kernel_size", 1)
    padding, stride = _check.integer(padding, "padding", 0), _check.integer(stride, "stride", 1)
    if size + 2 * padding < kernel_size:
        raise ValueError(f"o filtro (kernel_size = {kernel_size}) não cabe numa entrada de tamanho "
                         f"{size} com preenchimento {padding}: recebi size + 2·padding < kernel_size")
    return (size + 2 * padding - kernel_size) // stride + 1


def pad_zeros(x, padding):
    """Cerca as imagens ``x (N, C, H, W)`` com ``padding`` linhas e colunas de zeros."""
    _check_images(x)
    ph, pw = _check.pair(padding, "padding", 0)
    N, C, H, W = x.shape
    out = x.new_zeros(N, C, H + 2 * ph, W + 2 * pw)
    out[:, :, ph:ph + H, pw:pw + W] = x
    return out


def _prepare_conv(x, weight, bias, stride, padding):
    """Confere as entradas, acrescenta o preenchimento e devolve as dimensões da convolução."""
    _check_conv(x, weight, bias)
    sh, sw = _check.pair(stride, "stride", 1)
    ph, pw = _check.pair(padding, "padding", 0)
    N, C_in, H, W = x.shape
    C_out, _, KH, KW = weight.shape
    H_out, W_out = output_size(H, KH, ph, sh), output_size(W, KW, pw, sw)
    return pad_zeros(x, (ph, pw)), (N, C_in, C_out, KH, KW, sh, sw, H_out, W_out)


def conv2d_loops(x, weight, bias=None, stride=1, padding=0):
    """Correlação cruzada com um laço sobre as posições da saída (entradas pequenas).

    Em cada posição ``(i, j)``, recorta a janela ``(N, C_in, K_H, K_W)`` e a
    multiplica, elemento a elemento, por cada filtro, somando sobre canais e
    posições do filtro.
    """
    x, (N, C_in, C_out, KH, KW, sh, sw, H_out, W_out) = _prepare_conv(x, weight, bias, stride, padding)
    out = x.new_zeros(N, C_out, H_out, W_out)
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * sh:i * sh + KH, j * sw:j * sw + KW]  # (N, C_in, K_H, K_W)
            out[:, :, i, j] = torch.einsum("nchw,ochw->no", window, weight)
    if bias is not None:
        out += bias.view(1, C_out, 1, 1)
    return out


def conv2d_unfold(x, weight, bias=None, stride=1, padding=0):
    """Correlação cruzada como um único produto de matrizes (*im2col*).

    Cada janela da entrada vira uma linha de ``C_in·K_H·K_W`` números; cada
    filtro, uma coluna do mesmo tamanho. A saída é ``janelas @ filtros``.
    """
    x, (N, C_in, C_out, KH, KW, sh, sw, H_out, W_out) = _prepare_conv(x, weight, bias, stride, padding)
    windows = x.unfold(2, KH, sh).unfold(3, KW, sw)  # (N, C_in, H_out, W_out, K_H, K_W)
    rows = windows.permute(0, 2, 3, 1, 4, 5)  # (N, H_out, W_out, C_in, K_H, K_W)
    rows = rows.reshape(N, H_out * W_out, C_in * KH * KW)  # uma janela por linha
    out = rows @ weight.reshape(C_out, C_in * KH * KW).T  # (N, H_out·W_out, C_out)
    out = out.permute(0, 2, 1).reshape(N, C_out, H_out, W_out)
    if bias is not None:
        out = out + bias.view(1, C_out, 1, 1)
    return out


def _pool_windows(x, kernel_size, stride):
    """Janelas ``(N, C, H_out, W_out, K_H, K_W)`` de *pooling*, sem preenchimento."""
    _check_images(x)
    if x.shape[1] == 0:
        raise ValueError(f"x precisa de ao menos um canal, recebi forma {tuple(x.shape)}")
    kh, kw = _check.pair(kernel_size, "kernel_size", 1)
    sh, sw = _check.pair(kernel_size if stride is None else stride, "stride", 1)
    output_size(x.shape[2], kh, 0, sh)  # confere que a janela cabe
    output_size(x.shape[3], kw, 0, sw)
    return x.unfold(2, kh, sh).unfold(3, kw, sw)


def max_pool2d(x, kernel_size, stride=None):
    """Máximo de cada janela, canal a canal; por padrão, ``stride = kernel_size``."""
    return _pool_windows(x, kernel_size, stride).amax(dim=(-2, -1))


def avg_pool2d(x, kernel_size, stride=None):
    """Média de cada janela, canal a canal; por padrão, ``stride = kernel_size``."""
    return _pool_windows(x, kernel_size, stride).mean(dim=(-2, -1))


def sum_pool2d(x, kernel_size, stride=None):
    """Soma de cada janela, canal a canal; por padrão, ``stride = kernel_size``."""
    return _pool_windows(x, kernel_size, stride).sum(dim=(-2, -1))


def _check_shape(input_shape, layout):
    if not (isinstance(input_shape, (tuple, list, torch.Size)) and len(input_shape) == 3
            and all(_check.is_int(v) and v > 0 for v in input_shape)):
        raise TypeError(f"input_shape deve ser uma tupla {layout} de inteiros positivos, "
                        f"recebi {input_shape!r}")
    return tuple(input_shape)


def conv2d_matrix(weight, input_shape, stride=1, padding=0):
    """Matriz ``M`` com ``M @ x.flatten() == conv2d(x[None], weight).flatten()``.

    Para ``x`` de forma ``input_shape = (C_in, H, W)``, ``M`` tem
    ``C_out·H_out·W_out`` linhas e ``C_in·H·W`` colunas. A linha da saída
    ``(o, i, j)`` recebe o peso ``weight[o, c, u, v]`` na coluna do pixel de
    entrada ``(c, i·s + u − p, j·s + v − p)``; pixels que cairiam no
    preenchimento de zeros simplesmente não aparecem.
    """
    _check_images(weight, "weight", "(C_out, C_in, K_H, K_W)")
    C_in, H, W = _check_shape(input_shape, "(C_in, H, W)")
    C_out, C_w, KH, KW = weight.shape
    if weight.numel() == 0:
        raise ValueError(f"weight precisa de ao menos um filtro não vazio, recebi forma {tuple(weight.shape)}")
    if C_in != C_w:
        raise ValueError(f"input_shape deve ter {C_w} canais, os que os filtros (weight) esperam; recebi {C_in}")
    sh, sw = _check.pair(stride, "stride", 1)
    ph, pw = _check.pair(padding, "padding", 0)
    H_out, W_out = output_size(H, KH, ph, sh), output_size(W, KW, pw, sw)
    sizes = (C_out, C_in, KH, KW, H_out, W_out)
    o, c, u, v, i, j = torch.meshgrid(*(torch.arange(n) for n in sizes), indexing="ij")
    r, q = i * sh + u - ph, j * sw + v - pw  # linha e coluna do pixel de entrada
    inside = (r >= 0) & (r < H) & (q >= 0) & (q < W)
    rows = ((o * H_out + i) * W_out + j)[inside]
    cols = ((c * H + r) * W + q)[inside]
    M = weight.new_zeros(C_out * H_out * W_out, C_in * H * W)
    M[rows, cols] = weight[o[inside], c[inside], u[inside], v[inside]]
    return M


def pool2d_matrix(input_shape, kernel_size, stride=None, mode="mean",
                  dtype=torch.float64):
    """Matriz do *pooling* de média (``mode='mean'``) ou de soma (``'sum'``).

    Num canal, o *pooling* é uma convolução com um filtro constante
    (``1/(K_H·K_W)`` ou ``1``); os canais não se misturam, e a matriz de
    ``input_shape = (C, H, W)`` é bloco-diagonal, um bloco por canal.
    """
    _check.choice(mode, "mode", ("mean", "sum"))
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype deve ser um tipo de ponto flutuante do PyTorch, recebi {dtype!r}")
    C, H, W = _check_shape(input_shape, "(C, H, W)")
    kh, kw = _check.pair(kernel_size, "kernel_size", 1)
    value = 1.0 / (kh * kw) if mode == "mean" else 1.0
    kernel = torch.full((1, 1, kh, kw), value, dtype=dtype)
    stride = (kh, kw) if stride is None else stride
    one_channel = conv2d_matrix(kernel, (1, H, W), stride=stride)
    return torch.kron(torch.eye(C, dtype=dtype), one_channel)
