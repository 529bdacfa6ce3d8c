"""Entradas inválidas: cada função pública recusa na chamada, em português.

Uma tabela ``(id, chamada, exceção, regexp)``. O ``id`` começa pela função e
termina pela classe de entrada inválida (issue 10):

- ``tipo``: tipo errado (não tensor, não inteiro, booleano onde vai um número);
- ``dtype`` / ``disp``: tipos ou dispositivos misturados entre tensores (o
  dispositivo ``meta`` faz o papel de "outro dispositivo" numa máquina sem GPU);
- ``forma``: formas que não combinam (viés de tamanho errado, alvo ``(N,)``
  contra saída ``(N, 1)``, número de dimensões);
- ``dim``: eixo fora do intervalo; ``vazio``: lote vazio; ``rotulo``: rótulo fora de ``[0, C)``;
- ``quadrado``: filtro, passo ou *padding* não quadrado onde só o quadrado é tratado;
- ``passo``: passo ou taxa NaN, infinita ou ≤ 0; ``opcao``: opção desconhecida;
- ``kw``: argumento nomeado desconhecido; ``posto``: ``lam = 0`` com dados de posto incompleto;
- ``naorodou``: camada registrada que não roda no *forward*, pedida pelo nome.

Toda mensagem nomeia o argumento (a regexp) e diz o que recebeu ("recebi").
"""

import numpy as np
import pytest
import torch
from torch import nn

from livro import backprop, capacity, cnn, conv, data, fmt, kernels, metrics, plotting, resnet

F32, F64 = torch.float32, torch.float64


def t(*shape, dtype=F64, device="cpu"):
    return torch.zeros(*shape, dtype=dtype, device=device)


def meta(*shape, dtype=F64):
    return torch.zeros(*shape, dtype=dtype, device="meta")


def labels(*values):
    return torch.tensor(values)


def relu_net(d_in=1, d_out=1, dtype=F32):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(d_in, 4), nn.ReLU(), nn.Linear(4, d_out)).to(dtype)


class Unused(nn.Module):
    """Rede com uma camada registrada que o *forward* nunca chama."""

    def __init__(self):
        super().__init__()
        self.used = nn.Conv2d(1, 2, 3)
        self.unused = nn.Conv2d(2, 2, 3)
        self.fc = nn.Linear(2, 3)

    def forward(self, x):
        return self.fc(self.used(x).mean(dim=(2, 3)))


def grads_cache():
    params = backprop.init_mlp((3, 4, 2), dtype=F64)
    out, cache = backprop.mlp_forward(t(5, 3), params)
    return params, out, cache


def fitted_krr():
    return kernels.KernelRidgeRegression(1.0, "rbf").fit(np.eye(3), np.ones(3))


def history(**kw):
    return {"train_loss": [1.0, 0.5], "val_loss": [1.2, 0.7], **kw}


def rank_deficient():
    X = torch.ones(5, 2, dtype=F64)  # duas colunas iguais: posto 1
    return X, torch.arange(5, dtype=F64)


def directions(net):
    return [resnet.filter_normalized_direction(net, torch.Generator().manual_seed(0))]


def truncated_idx(tmp_path):
    path = tmp_path / "curto-idx3-ubyte"
    path.write_bytes(b"\x00\x00\x08\x03\x00\x00")
    return path


DEEP = resnet.DeepStack(1, 2)
VGG = cnn.VGGNet(((1, 4),), in_channels=1, num_classes=3)

CASES = [
    # ------------------------------------------------------------------ fmt
    ("fmt.num-tipo-np.bool", lambda: fmt.num(np.True_), TypeError, "booleano"),
    ("fmt.pct-tipo-torch.bool", lambda: fmt.pct(torch.tensor(True)), TypeError, "booleano"),
    ("fmt.sci-tipo-bool", lambda: fmt.sci(False), TypeError, "booleano"),
    ("fmt.integer-tipo-np.bool", lambda: fmt.integer(np.bool_(True)), TypeError, "booleano"),
    ("fmt.integer-fracao", lambda: fmt.integer(2.5), ValueError, "inteiro"),
    ("fmt.num-digits-tipo", lambda: fmt.num(1.0, 1.5), TypeError, "digits"),
    ("fmt.num-digits-grande", lambda: fmt.num(1.0, 10**9), ValueError, "digits"),
    ("fmt.num-thousands-tipo", lambda: fmt.num(1.0, thousands="sim"), TypeError, "thousands"),
    ("fmt.sci-fracao-enorme", lambda: fmt.sci(__import__("fractions").Fraction(10**400, 3)), ValueError,
     "grande demais"),
    # ------------------------------------------------------------------ conv
    ("conv.output_size-tipo-bool", lambda: conv.output_size(True, 1), TypeError, "size"),
    ("conv.output_size-tipo-float", lambda: conv.output_size(5, 3.0), TypeError, "kernel_size"),
    ("conv.output_size-nao-cabe", lambda: conv.output_size(2, 5), ValueError, "não cabe"),
    ("conv.pad_zeros-passo", lambda: conv.pad_zeros(t(1, 1, 2, 2), -1), ValueError, "padding"),
    ("conv.pad_zeros-forma", lambda: conv.pad_zeros(t(1, 2, 2), 1), ValueError, "x deve ter forma"),
    ("conv.conv2d_loops-dtype", lambda: conv.conv2d_loops(t(1, 1, 4, 4, dtype=F32), t(1, 1, 3, 3)),
     TypeError, "weight e x devem ter o mesmo tipo"),
    ("conv.conv2d_unfold-dtype", lambda: conv.conv2d_unfold(t(1, 1, 4, 4), t(1, 1, 3, 3, dtype=F32)),
     TypeError, "weight e x devem ter o mesmo tipo"),
    ("conv.conv2d_unfold-dtype-bias", lambda: conv.conv2d_unfold(t(1, 1, 4, 4), t(2, 1, 3, 3), t(2, dtype=F32)),
     TypeError, "bias e x"),
    ("conv.conv2d_loops-disp", lambda: conv.conv2d_loops(meta(1, 1, 4, 4), t(1, 1, 3, 3)), ValueError,
     "mesmo dispositivo"),
    ("conv.conv2d_unfold-disp", lambda: conv.conv2d_unfold(t(1, 1, 4, 4), meta(1, 1, 3, 3)), ValueError,
     "mesmo dispositivo"),
    ("conv.conv2d_loops-forma-bias", lambda: conv.conv2d_loops(t(1, 1, 4, 4), t(2, 1, 3, 3), t(1)), ValueError,
     r"bias deve ter forma \(2,\)"),
    ("conv.conv2d_unfold-forma-bias", lambda: conv.conv2d_unfold(t(1, 1, 4, 4), t(2, 1, 3, 3), t(2, 1)),
     ValueError, r"bias deve ter forma \(2,\)"),
    ("conv.conv2d_unfold-forma-canais", lambda: conv.conv2d_unfold(t(1, 2, 4, 4), t(1, 1, 3, 3)), ValueError,
     "canais"),
    ("conv.conv2d_loops-tipo-stride", lambda: conv.conv2d_loops(t(1, 1, 4, 4), t(1, 1, 3, 3), stride=1.0),
     TypeError, "stride"),
    ("conv.conv2d_unfold-passo-stride", lambda: conv.conv2d_unfold(t(1, 1, 4, 4), t(1, 1, 3, 3), stride=(1, 0)),
     ValueError, "stride"),
    ("conv.conv2d_unfold-tipo-padding", lambda: conv.conv2d_unfold(t(1, 1, 4, 4), t(1, 1, 3, 3), padding=(1, 2, 3)),
     TypeError, "padding"),
    ("conv.conv2d_loops-tipo-int", lambda: conv.conv2d_loops(t(1, 1, 4, 4, dtype=torch.long), t(1, 1, 3, 3)),
     TypeError, "x deve ser um tensor de ponto flutuante"),
    ("conv.conv2d_unfold-vazio-filtro", lambda: conv.conv2d_unfold(t(1, 1, 4, 4), t(0, 1, 3, 3)), ValueError,
     "weight precisa"),
    ("conv.max_pool2d-passo-kernel", lambda: conv.max_pool2d(t(1, 1, 4, 4), 0), ValueError, "kernel_size"),
    ("conv.avg_pool2d-passo-stride", lambda: conv.avg_pool2d(t(1, 1, 4, 4), 2, (0, 1)), ValueError, "stride"),
    ("conv.sum_pool2d-forma", lambda: conv.sum_pool2d(t(1, 4, 4), 2), ValueError, "x deve ter forma"),
    ("conv.max_pool2d-tipo-int", lambda: conv.max_pool2d(t(1, 1, 4, 4, dtype=torch.long), 2), TypeError,
     "ponto flutuante"),
    ("conv.avg_pool2d-nao-cabe", lambda: conv.avg_pool2d(t(1, 1, 2, 2), 3), ValueError, "não cabe"),
    ("conv.sum_pool2d-vazio-canais", lambda: conv.sum_pool2d(t(1, 0, 4, 4), 2), ValueError, "canal"),
    ("conv.conv2d_matrix-forma-input_shape", lambda: conv.conv2d_matrix(t(1, 1, 3, 3), (4, 4)), TypeError,
     "input_shape"),
    ("conv.conv2d_matrix-forma-canais", lambda: conv.conv2d_matrix(t(1, 2, 3, 3), (1, 4, 4)), ValueError,
     "input_shape deve ter 2 canais"),
    ("conv.conv2d_matrix-tipo-int", lambda: conv.conv2d_matrix(t(1, 1, 3, 3, dtype=torch.long), (1, 4, 4)),
     TypeError, "weight"),
    ("conv.pool2d_matrix-opcao", lambda: conv.pool2d_matrix((1, 4, 4), 2, mode="max"), ValueError, "mode"),
    ("conv.pool2d_matrix-dtype-int", lambda: conv.pool2d_matrix((1, 4, 4), 2, dtype=torch.long), TypeError,
     "dtype deve ser"),
    # ------------------------------------------------------------------ metrics
    ("metrics.one_hot-rotulo", lambda: metrics.one_hot(labels(0, 3), 3), ValueError, "entre 0 e 2"),
    ("metrics.one_hot-rotulo-negativo", lambda: metrics.one_hot(labels(-1, 0), 3), ValueError, "entre 0 e 2"),
    ("metrics.one_hot-tipo-num_classes", lambda: metrics.one_hot(labels(0), 2.0), TypeError, "num_classes"),
    ("metrics.one_hot-tipo-y", lambda: metrics.one_hot(t(2), 2), TypeError, "y deve ser um tensor de inteiros"),
    ("metrics.smooth_labels-passo-eps", lambda: metrics.smooth_labels(labels(0), 2, float("nan")), ValueError,
     "eps"),
    ("metrics.smooth_labels-tipo-eps", lambda: metrics.smooth_labels(labels(0), 2, True), TypeError, "eps"),
    ("metrics.smooth_labels-rotulo", lambda: metrics.smooth_labels(labels(2), 2, 0.1), ValueError, "entre 0 e 1"),
    ("metrics.logsumexp-dim", lambda: metrics.logsumexp(t(2, 3), dim=2), ValueError, "dim deve estar entre"),
    ("metrics.log_softmax-dim", lambda: metrics.log_softmax(t(2, 3), dim=-3), ValueError, "dim deve estar entre"),
    ("metrics.softmax-dim", lambda: metrics.softmax(t(2, 3), dim=5), ValueError, "dim deve estar entre"),
    ("metrics.softmax-tipo-dim", lambda: metrics.softmax(t(2, 3), dim=1.0), TypeError, "dim"),
    ("metrics.softmax-vazio", lambda: metrics.softmax(t(2, 0)), ValueError, "z precisa"),
    ("metrics.log_softmax-tipo", lambda: metrics.log_softmax([1.0, 2.0]), TypeError, "z deve ser um tensor"),
    ("metrics.logsumexp-tipo-int", lambda: metrics.logsumexp(labels(1, 2)), TypeError, "ponto flutuante"),
    ("metrics.cross_entropy-forma-N1", lambda: metrics.cross_entropy(t(4, 3), torch.zeros(4, 1, dtype=torch.long)),
     ValueError, r"target .*forma \(4,\)"),
    ("metrics.cross_entropy-rotulo", lambda: metrics.cross_entropy(t(2, 3), labels(0, 3)), ValueError,
     "target devem estar entre 0 e 2"),
    ("metrics.cross_entropy-vazio", lambda: metrics.cross_entropy(t(0, 3), labels()), ValueError,
     "logits precisa de ao menos um exemplo"),
    ("metrics.cross_entropy-dtype", lambda: metrics.cross_entropy(t(2, 3), t(2, 3, dtype=F32)), TypeError,
     "logits e target devem ter o mesmo tipo"),
    ("metrics.cross_entropy-disp", lambda: metrics.cross_entropy(t(2, 3), meta(2, dtype=torch.long)), ValueError,
     "mesmo dispositivo"),
    ("metrics.cross_entropy-passo-smoothing", lambda: metrics.cross_entropy(t(2, 3), labels(0, 1), float("nan")),
     ValueError, "label_smoothing"),
    ("metrics.cross_entropy-tipo-smoothing", lambda: metrics.cross_entropy(t(2, 3), labels(0, 1), "0.1"),
     TypeError, "label_smoothing"),
    ("metrics.cross_entropy-opcao", lambda: metrics.cross_entropy(t(2, 3), labels(0, 1), reduction="avg"),
     ValueError, "reduction"),
    ("metrics.bce-forma", lambda: metrics.binary_cross_entropy_with_logits(t(4, 1), t(4)), ValueError,
     "target deve ter a forma"),
    ("metrics.bce-dtype", lambda: metrics.binary_cross_entropy_with_logits(t(4), t(4, dtype=F32)), TypeError,
     "mesmo tipo"),
    ("metrics.bce-disp", lambda: metrics.binary_cross_entropy_with_logits(t(4), meta(4)), ValueError,
     "mesmo dispositivo"),
    ("metrics.bce-vazio", lambda: metrics.binary_cross_entropy_with_logits(t(0), t(0)), ValueError,
     "logits está vazio"),
    ("metrics.bce-rotulo", lambda: metrics.binary_cross_entropy_with_logits(t(2), torch.tensor([0.0, 2.0], dtype=F64)),
     ValueError, r"target deve ter valores em \[0, 1\]"),
    ("metrics.bce-opcao", lambda: metrics.binary_cross_entropy_with_logits(t(2), t(2), "media"), ValueError,
     "reduction"),
    ("metrics.accuracy-vazio", lambda: metrics.accuracy(t(0, 3), labels()), ValueError, "lote vazio"),
    ("metrics.accuracy-rotulo", lambda: metrics.accuracy(t(2, 3), labels(0, 7)), ValueError, "y devem estar entre"),
    ("metrics.accuracy-forma", lambda: metrics.accuracy(t(2, 3), torch.zeros(2, 1, dtype=torch.long)), ValueError,
     r"y deve ter forma \(2,\)"),
    ("metrics.accuracy-tipo-y", lambda: metrics.accuracy(t(2, 3), t(2)), TypeError, "y deve ser um tensor de inteiros"),
    ("metrics.accuracy-disp", lambda: metrics.accuracy(t(2, 3), meta(2, dtype=torch.long)), ValueError,
     "mesmo dispositivo"),
    ("metrics.confusion_matrix-rotulo", lambda: metrics.confusion_matrix(labels(0, 2), labels(0, 1), 2), ValueError,
     "y_true devem estar entre"),
    ("metrics.confusion_matrix-forma", lambda: metrics.confusion_matrix(labels(0, 1), labels(0), 2), ValueError,
     "y_true e y_pred"),
    ("metrics.confusion_matrix-tipo-num_classes", lambda: metrics.confusion_matrix(labels(0), labels(0), 1.0),
     TypeError, "num_classes"),
    ("metrics.plot_confusion_matrix-forma", lambda: metrics.plot_confusion_matrix(np.zeros((2, 3))), ValueError,
     "cm deve ser uma matriz quadrada"),
    ("metrics.plot_confusion_matrix-negativo", lambda: metrics.plot_confusion_matrix(-np.eye(2)), ValueError,
     "não negativas"),
    ("metrics.plot_confusion_matrix-nomes", lambda: metrics.plot_confusion_matrix(np.eye(2), ["a"]), ValueError,
     "class_names"),
    ("metrics.plot_confusion_matrix-tipo-normalize", lambda: metrics.plot_confusion_matrix(np.eye(2), normalize="s"),
     TypeError, "normalize"),
    ("metrics.plot_confusion_matrix-opcao-cmap", lambda: metrics.plot_confusion_matrix(np.eye(2), cmap="azul"),
     ValueError, "cmap"),
    ("metrics.plot_confusion_matrix-tipo", lambda: metrics.plot_confusion_matrix(np.array([["a"]])), TypeError,
     "cm deve conter números"),
    # ------------------------------------------------------------------ backprop
    ("backprop.finite_difference-passo-nan", lambda: backprop.finite_difference(torch.sin, t(3), h=float("nan")),
     ValueError, "h deve ser um número finito"),
    ("backprop.finite_difference-passo-inf", lambda: backprop.finite_difference(torch.sin, t(3), h=float("inf")),
     ValueError, "h deve ser um número finito"),
    ("backprop.finite_difference-passo-zero", lambda: backprop.finite_difference(torch.sin, t(3), h=0), ValueError,
     "h deve ser > 0"),
    ("backprop.finite_difference-tipo-h", lambda: backprop.finite_difference(torch.sin, t(3), h=True), TypeError,
     "h deve ser um número real"),
    ("backprop.finite_difference-tipo-f", lambda: backprop.finite_difference("sin", t(3)), TypeError,
     "f deve ser uma função"),
    ("backprop.finite_difference-opcao", lambda: backprop.finite_difference(torch.sin, t(3), scheme="atras"),
     ValueError, "scheme"),
    ("backprop.linear_forward-forma-bias", lambda: backprop.linear_forward(t(2, 3), t(4, 3), t(1)), ValueError,
     r"b deve ter forma \(4,\)"),
    ("backprop.linear_forward-dtype", lambda: backprop.linear_forward(t(2, 3, dtype=F32), t(4, 3)), TypeError,
     "W e X devem ter o mesmo tipo"),
    ("backprop.linear_forward-disp", lambda: backprop.linear_forward(t(2, 3), meta(4, 3)), ValueError,
     "mesmo dispositivo"),
    ("backprop.linear_forward-forma-m", lambda: backprop.linear_forward(t(2, 3), t(4, 2)), ValueError,
     "mesmo número de colunas"),
    ("backprop.linear_forward-forma-ndim", lambda: backprop.linear_forward(t(3), t(4, 3)), ValueError,
     "X deve ter forma"),
    ("backprop.linear_backward-forma", lambda: backprop.linear_backward(t(2, 5), t(2, 3), t(4, 3)), ValueError,
     "grad_out deve ter forma"),
    ("backprop.linear_backward-dtype", lambda: backprop.linear_backward(t(2, 4, dtype=F32), t(2, 3), t(4, 3)),
     TypeError, "mesmo tipo"),
    ("backprop.linear_backward-tipo", lambda: backprop.linear_backward(t(2, 4), [[0.0]], t(4, 3)), TypeError,
     "X deve ser um tensor"),
    ("backprop.activation_forward-tipo", lambda: backprop.activation_forward([0.0]), TypeError,
     "Z deve ser um tensor"),
    ("backprop.activation_forward-opcao", lambda: backprop.activation_forward(t(2), "sigmoid"), ValueError,
     "activation"),
    ("backprop.activation_backward-forma", lambda: backprop.activation_backward(t(2, 3), t(2, 3), t(3, 2)),
     ValueError, "mesma forma"),
    ("backprop.activation_backward-dtype", lambda: backprop.activation_backward(t(2), t(2, dtype=F32), t(2)),
     TypeError, "mesmo tipo"),
    ("backprop.init_mlp-tipo-sizes", lambda: backprop.init_mlp(3), ValueError, "sizes"),
    ("backprop.init_mlp-tipo-largura", lambda: backprop.init_mlp((3, 2.0)), TypeError, r"sizes\[1\]"),
    ("backprop.init_mlp-tipo-generator", lambda: backprop.init_mlp((3, 2), generator=0), TypeError, "generator"),
    ("backprop.init_mlp-dtype", lambda: backprop.init_mlp((3, 2), dtype=torch.long), TypeError, "dtype"),
    ("backprop.mlp_forward-forma-cadeia", lambda: backprop.mlp_forward(t(2, 3), [(t(4, 3), t(4)), (t(2, 5), t(2))]),
     ValueError, r"params\[1\]\[0\] \(W\) deve ter 4 colunas"),
    ("backprop.mlp_forward-forma-bias", lambda: backprop.mlp_forward(t(2, 3), [(t(4, 3), t(1))]), ValueError,
     r"params\[0\]\[1\] \(b\) deve ter forma"),
    ("backprop.mlp_forward-dtype", lambda: backprop.mlp_forward(t(2, 3, dtype=F32), [(t(4, 3), t(4))]), TypeError,
     "mesmo tipo"),
    ("backprop.mlp_forward-forma-X", lambda: backprop.mlp_forward(t(2, 5), [(t(4, 3), t(4))]), ValueError,
     "5 colunas, a largura de X"),
    ("backprop.mlp_backward-forma", lambda: backprop.mlp_backward(t(5, 3), grads_cache()[2], grads_cache()[0]),
     ValueError, "grad_out deve ter a forma da saída"),
    ("backprop.mlp_backward-cache", lambda: backprop.mlp_backward(t(5, 2), grads_cache()[2][:1], grads_cache()[0]),
     ValueError, "cache"),
    ("backprop.mse_loss-forma-N1", lambda: backprop.mse_loss(t(4, 1), t(4)), ValueError, "mesma forma"),
    ("backprop.mse_loss-vazio", lambda: backprop.mse_loss(t(0), t(0)), ValueError, "vazios"),
    ("backprop.mse_loss-dtype", lambda: backprop.mse_loss(t(3), t(3, dtype=F32)), TypeError, "mesmo tipo"),
    ("backprop.mse_loss-tipo", lambda: backprop.mse_loss([0.0], t(1)), TypeError, "y_hat deve ser um tensor"),
    ("backprop.mse_backward-forma-N1", lambda: backprop.mse_backward(t(4), t(4, 1)), ValueError, "mesma forma"),
    ("backprop.mse_backward-disp", lambda: backprop.mse_backward(t(4), meta(4)), ValueError, "mesmo dispositivo"),
    ("backprop.mlp_apply-tipo", lambda: backprop.mlp_apply(t(2, 3, dtype=torch.long), [(t(4, 3), t(4))]),
     TypeError, "X deve ser um tensor de ponto flutuante"),
    ("backprop.saved_tensor_bytes-tipo-fn", lambda: backprop.saved_tensor_bytes(3), TypeError, "fn deve ser"),
    ("backprop.saved_tensor_bytes-tipo-exclude", lambda: backprop.saved_tensor_bytes(lambda: 0, exclude=t(2)),
     TypeError, "exclude"),
    # ------------------------------------------------------------------ kernels
    ("kernels.linear_kernel-tipo", lambda: kernels.linear_kernel([[1.0]]), TypeError, "X deve ser um tensor"),
    ("kernels.linear_kernel-tipo-bool", lambda: kernels.linear_kernel(torch.ones(2, 2, dtype=torch.bool)),
     TypeError, "X deve ser um tensor de números reais"),
    ("kernels.linear_kernel-tipo-complexo", lambda: kernels.linear_kernel(np.ones((2, 2), dtype=complex)),
     TypeError, "X deve conter números reais"),
    ("kernels.linear_kernel-disp", lambda: kernels.linear_kernel(t(2, 2), meta(2, 2)), ValueError,
     "mesmo dispositivo"),
    ("kernels.rbf_kernel-vazio-colunas", lambda: kernels.rbf_kernel(t(3, 0)), ValueError,
     "X precisa de ao menos uma linha e uma coluna"),
    ("kernels.rbf_kernel-vazio-linhas", lambda: kernels.rbf_kernel(t(0, 2)), ValueError, "X precisa"),
    ("kernels.rbf_kernel-passo-gamma", lambda: kernels.rbf_kernel(t(2, 2), gamma=float("inf")), ValueError,
     "gamma"),
    ("kernels.laplacian_kernel-forma", lambda: kernels.laplacian_kernel(t(2, 2), t(2, 3)), ValueError,
     "mesmo número de colunas"),
    ("kernels.laplacian_kernel-nan", lambda: kernels.laplacian_kernel(torch.full((2, 2), float("nan"))),
     ValueError, "X deve ter só números finitos"),
    ("kernels.polynomial_kernel-tipo-degree", lambda: kernels.polynomial_kernel(t(2, 2), degree=2.5), TypeError,
     "degree"),
    ("kernels.polynomial_kernel-passo-gamma", lambda: kernels.polynomial_kernel(t(2, 2), gamma=float("nan")),
     ValueError, "gamma"),
    ("kernels.polynomial_kernel-coef0", lambda: kernels.polynomial_kernel(t(2, 2), coef0=-1.0), ValueError,
     "coef0"),
    ("kernels.kernel_matrix-kw", lambda: kernels.kernel_matrix(t(2, 2), kernel="rbf", degree=3), TypeError,
     "não aceita"),
    ("kernels.kernel_matrix-opcao", lambda: kernels.kernel_matrix(t(2, 2), kernel="sigmoid"), ValueError,
     "kernel deve ser uma de"),
    ("kernels.ridge_primal-posto", lambda: kernels.ridge_primal(*rank_deficient(), 0), ValueError, "posto"),
    ("kernels.ridge_primal-passo-lam", lambda: kernels.ridge_primal(t(3, 2), t(3), float("nan")), ValueError,
     "lam"),
    ("kernels.ridge_primal-forma-y", lambda: kernels.ridge_primal(t(3, 2), t(4), 1.0), ValueError,
     "y deve ter 3 elementos"),
    ("kernels.ridge_primal-disp", lambda: kernels.ridge_primal(t(3, 2), meta(3), 1.0), ValueError,
     "mesmo dispositivo"),
    ("kernels.ridge_dual-lam-zero", lambda: kernels.ridge_dual(t(3, 2), t(3), 0), ValueError, "lam deve ser > 0"),
    ("kernels.ridge_dual-forma-y", lambda: kernels.ridge_dual(t(3, 2), t(3, 1), 1.0), ValueError, "y deve ter 1"),
    ("kernels.KernelRidgeRegression-kw", lambda: kernels.KernelRidgeRegression(1.0, "rbf", gama=0.5), TypeError,
     "não aceita"),
    ("kernels.KernelRidgeRegression-kw-valor", lambda: kernels.KernelRidgeRegression(1.0, "rbf", gamma=-1),
     ValueError, "gamma"),
    ("kernels.KernelRidgeRegression-passo-lam", lambda: kernels.KernelRidgeRegression(float("inf")), ValueError,
     "lam"),
    ("kernels.KernelRidgeRegression.fit-forma", lambda: kernels.KernelRidgeRegression().fit(t(3, 2), t(2)),
     ValueError, "y deve ter 3"),
    ("kernels.KernelRidgeRegression.predict-forma", lambda: fitted_krr().predict(t(2, 2)), ValueError,
     "X deve ter 3 colunas"),
    # ------------------------------------------------------------------ capacity
    ("capacity.activation_patterns-dtype", lambda: capacity.activation_patterns(relu_net(), t(3, 1)), TypeError,
     "x e os pesos da rede devem ter o mesmo tipo"),
    ("capacity.activation_patterns-disp", lambda: capacity.activation_patterns(relu_net(), meta(3, 1, dtype=F32)),
     ValueError, "mesmo dispositivo"),
    ("capacity.activation_patterns-forma", lambda: capacity.activation_patterns(relu_net(), t(3, 2, dtype=F32)),
     ValueError, r"x deve ter forma \(N, 1\)"),
    ("capacity.activation_patterns-tipo-net", lambda: capacity.activation_patterns(nn.Linear(1, 1), t(3, 1)),
     TypeError, "net deve ser uma nn.Sequential"),
    ("capacity.linear_pieces_1d-nan", lambda: capacity.linear_pieces_1d(relu_net(), float("nan"), 1), ValueError,
     "número finito"),
    ("capacity.linear_pieces_1d-inf", lambda: capacity.linear_pieces_1d(relu_net(), 0, float("inf")), ValueError,
     "número finito"),
    ("capacity.linear_pieces_1d-tipo", lambda: capacity.linear_pieces_1d(relu_net(), "0", 1), TypeError,
     "número real"),
    ("capacity.linear_pieces_1d-tol", lambda: capacity.linear_pieces_1d(relu_net(), 0, 1, tol=-1), ValueError,
     "tol"),
    ("capacity.linear_pieces_1d-forma-net", lambda: capacity.linear_pieces_1d(relu_net(2), 0, 1), ValueError,
     "net deve ter uma entrada escalar"),
    ("capacity.activation_regions_2d-tipo-xlim", lambda: capacity.activation_regions_2d(relu_net(2), xlim=(0,)),
     TypeError, "xlim"),
    ("capacity.activation_regions_2d-inf", lambda: capacity.activation_regions_2d(relu_net(2), ylim=(0, np.inf)),
     ValueError, r"ylim\[1\]"),
    ("capacity.activation_regions_2d-tipo-num", lambda: capacity.activation_regions_2d(relu_net(2), num=2.0),
     TypeError, "num"),
    ("capacity.EarlyStopping-tipo-patience", lambda: capacity.EarlyStopping(2.0), TypeError, "patience"),
    ("capacity.EarlyStopping-passo-min_delta", lambda: capacity.EarlyStopping(min_delta=float("inf")), ValueError,
     "min_delta"),
    ("capacity.EarlyStopping-tipo-min_delta", lambda: capacity.EarlyStopping(min_delta="0"), TypeError,
     "min_delta"),
    ("capacity.EarlyStopping.step-nan", lambda: capacity.EarlyStopping().step(1, float("nan"), relu_net()),
     ValueError, "val_loss"),
    ("capacity.EarlyStopping.step-menos-inf", lambda: capacity.EarlyStopping().step(1, -np.inf, relu_net()),
     ValueError, "val_loss"),
    ("capacity.EarlyStopping.step-tipo-net", lambda: capacity.EarlyStopping().step(1, 0.5, "rede"), TypeError,
     "net deve ser um torch.nn.Module"),
    ("capacity.EarlyStopping.restore-tipo-net", lambda: capacity.EarlyStopping().restore(None), TypeError, "net"),
    ("capacity.fit_regression-forma-N1",
     lambda: capacity.fit_regression(relu_net(), t(4, 1, dtype=F32), t(4, dtype=F32), t(2, 1, dtype=F32),
                                     t(2, 1, dtype=F32)), ValueError, r"y deve ter forma \(N, 1\)"),
    ("capacity.fit_regression-passo-lr",
     lambda: capacity.fit_regression(relu_net(), *[t(4, 1, dtype=F32)] * 4, lr=float("nan")), ValueError, "lr"),
    ("capacity.fit_regression-passo-lr-inf",
     lambda: capacity.fit_regression(relu_net(), *[t(4, 1, dtype=F32)] * 4, lr=float("inf")), ValueError, "lr"),
    ("capacity.fit_regression-passo-lr-zero",
     lambda: capacity.fit_regression(relu_net(), *[t(4, 1, dtype=F32)] * 4, lr=0), ValueError, "lr deve ser > 0"),
    ("capacity.fit_regression-dtype", lambda: capacity.fit_regression(relu_net(), *[t(4, 1)] * 4), TypeError,
     "X e os pesos da rede devem ter o mesmo tipo"),
    ("capacity.fit_regression-disp",
     lambda: capacity.fit_regression(relu_net(), *[meta(4, 1, dtype=F32)] * 4), ValueError, "mesmo dispositivo"),
    ("capacity.fit_regression-vazio", lambda: capacity.fit_regression(relu_net(), *[t(0, 1, dtype=F32)] * 4),
     ValueError, "X está vazio"),
    ("capacity.fit_regression-forma-linhas",
     lambda: capacity.fit_regression(relu_net(), t(4, 1, dtype=F32), t(3, 1, dtype=F32), *[t(2, 1, dtype=F32)] * 2),
     ValueError, "X e y devem ter o mesmo número de linhas"),
    ("capacity.fit_regression-weight_decay",
     lambda: capacity.fit_regression(relu_net(), *[t(4, 1, dtype=F32)] * 4, weight_decay=-1), ValueError,
     "weight_decay"),
    ("capacity.fit_regression-patience",
     lambda: capacity.fit_regression(relu_net(), *[t(4, 1, dtype=F32)] * 4, patience=0), ValueError, "patience"),
    # ------------------------------------------------------------------ plotting
    ("plotting.new_axes-tipo-ax", lambda: plotting.new_axes("eixo"), TypeError, "ax deve ser"),
    ("plotting.new_axes-kw", lambda: plotting.new_axes(tamanho=(3, 2)), TypeError, "new_axes não conhece"),
    ("plotting.learning_curves-chave", lambda: plotting.learning_curves({"loss": [1.0]}), ValueError,
     "history não tem a chave 'train_loss'"),
    ("plotting.learning_curves-tipo", lambda: plotting.learning_curves([1.0, 2.0]), TypeError, "history deve ser"),
    ("plotting.learning_curves-opcao", lambda: plotting.learning_curves(history(), metric="f1"), ValueError,
     "metric"),
    ("plotting.learning_curves-forma", lambda: plotting.learning_curves(history(val_loss=[1.0])), ValueError,
     "val_loss"),
    ("plotting.learning_curves-vazio", lambda: plotting.learning_curves({"train_loss": []}), ValueError,
     "ao menos uma época"),
    ("plotting.image_grid-titulos", lambda: plotting.image_grid(np.zeros((3, 4, 4)), titles=["a"]), ValueError,
     "titles deve ter 3"),
    ("plotting.image_grid-vazio", lambda: plotting.image_grid(np.zeros((0, 4, 4))), ValueError, "images"),
    ("plotting.image_grid-forma-NCHW", lambda: plotting.image_grid(np.zeros((2, 1, 5, 5))), ValueError,
     "images deve ter forma"),
    ("plotting.image_grid-ncols", lambda: plotting.image_grid(np.zeros((2, 4, 4)), ncols=0), ValueError, "ncols"),
    ("plotting.image_grid-tipo-ncols", lambda: plotting.image_grid(np.zeros((2, 4, 4)), ncols=2.0), TypeError,
     "ncols"),
    ("plotting.image_grid-passo-axes_size", lambda: plotting.image_grid(np.zeros((2, 4, 4)), axes_size=np.nan),
     ValueError, "axes_size"),
    ("plotting.image_grid-opcao-cmap", lambda: plotting.image_grid(np.zeros((2, 4, 4)), cmap="cinza"), ValueError,
     "cmap"),
    # ------------------------------------------------------------------ cnn
    ("cnn.vgg_block-canais", lambda: cnn.vgg_block(0, 4), ValueError, "in_channels"),
    ("cnn.vgg_block-tipo", lambda: cnn.vgg_block(1, 4, num_convs=True), TypeError, "num_convs"),
    ("cnn.VGGNet-arch-tipo", lambda: cnn.VGGNet(3), ValueError, "arch"),
    ("cnn.VGGNet-arch-pares", lambda: cnn.VGGNet(((1,),)), ValueError, "arch"),
    ("cnn.VGGNet.forward-forma-canais", lambda: VGG(t(1, 3, 8, 8, dtype=F32)), ValueError, "x deve ter 1 canais"),
    ("cnn.VGGNet.forward-dtype", lambda: VGG(t(1, 1, 8, 8)), TypeError, "x e os pesos da rede"),
    ("cnn.VGGNet.forward-disp", lambda: VGG(meta(1, 1, 8, 8, dtype=F32)), ValueError, "mesmo dispositivo"),
    ("cnn.VGGNet.features-forma", lambda: VGG.features(t(1, 8, 8, dtype=F32)), ValueError, "x deve ter forma"),
    ("cnn.layer_outputs-tipo-names", lambda: cnn.layer_outputs(VGG, t(1, 1, 8, 8, dtype=F32), "head"), TypeError,
     "names"),
    ("cnn.layer_outputs-tipo-net", lambda: cnn.layer_outputs("rede", t(1, 1, 8, 8), ["head"]), TypeError, "net"),
    ("cnn.receptive_fields-quadrado-filtro", lambda: cnn.receptive_fields(nn.Sequential(nn.Conv2d(1, 1, (3, 1)))),
     ValueError, "filtro retangular"),
    ("cnn.receptive_fields-quadrado-passo",
     lambda: cnn.receptive_fields(nn.Sequential(nn.Conv2d(1, 1, 3, stride=(1, 2)))), ValueError,
     "passo retangular"),
    ("cnn.receptive_fields-quadrado-padding",
     lambda: cnn.receptive_fields(nn.Sequential(nn.Conv2d(1, 1, 3, padding=(0, 1)))), ValueError,
     "padding retangular"),
    ("cnn.receptive_fields-dilatacao", lambda: cnn.receptive_fields(nn.Sequential(nn.Conv2d(1, 1, 3, dilation=2))),
     ValueError, "dilatação"),
    ("cnn.receptive_fields-tipo", lambda: cnn.receptive_fields([nn.Conv2d(1, 1, 3)]), TypeError, "net"),
    ("cnn.top_patches-field", lambda: cnn.top_patches(t(2, 1, 3, 3), t(2, 5, 5), (3, 1), k=1), TypeError, "field"),
    ("cnn.top_patches-k", lambda: cnn.top_patches(t(2, 1, 3, 3), t(2, 5, 5), (3, 1, 0), k=3), ValueError,
     "k deve ser ≤ 2"),
    ("cnn.top_patches-forma", lambda: cnn.top_patches(t(2, 1, 3, 3), t(2, 3, 5, 5), (3, 1, 0)), ValueError,
     "images deve ter um canal"),
    ("cnn.top_patches-tipo", lambda: cnn.top_patches([[0.0]], t(2, 5, 5), (3, 1, 0)), TypeError, "activation"),
    ("cnn.top_patches-disp", lambda: cnn.top_patches(t(2, 1, 3, 3), meta(2, 5, 5), (3, 1, 0)), ValueError,
     "mesmo dispositivo"),
    ("cnn.pca-vazio", lambda: cnn.pca(torch.ones(1, 3)), ValueError, "X precisa de ao menos 2 linhas"),
    ("cnn.pca-tipo-int", lambda: cnn.pca(torch.ones(4, 3, dtype=torch.long)), TypeError, "ponto flutuante"),
    ("cnn.pca-nan", lambda: cnn.pca(torch.full((4, 3), float("nan"))), ValueError, "X deve ter só números finitos"),
    ("cnn.pca-num_components", lambda: cnn.pca(torch.rand(4, 3), 5), ValueError, "num_components"),
    # ------------------------------------------------------------------ resnet
    ("resnet.ResidualBlock-tipo-stride", lambda: resnet.ResidualBlock(4, 4, stride=2.0), TypeError, "stride"),
    ("resnet.ResidualBlock-stride", lambda: resnet.ResidualBlock(4, 4, stride=3), ValueError, "stride"),
    ("resnet.ResidualBlock-tipo-skip", lambda: resnet.ResidualBlock(4, 4, skip="nao"), TypeError, "skip"),
    ("resnet.ResidualBlock.forward-canais", lambda: resnet.ResidualBlock(4, 4)(t(1, 3, 4, 4, dtype=F32)),
     ValueError, "x deve ter 4 canais"),
    ("resnet.ResidualBlock.forward-dtype", lambda: resnet.ResidualBlock(4, 4)(t(1, 4, 4, 4)), TypeError,
     "x e os pesos da rede"),
    ("resnet.SmallResNet-tipo-widths", lambda: resnet.SmallResNet(32, (1,)), TypeError, "widths"),
    ("resnet.SmallResNet-tipo-zero_init", lambda: resnet.SmallResNet((4,), (1,), zero_init=1), TypeError,
     "zero_init"),
    ("resnet.SmallResNet.forward-forma", lambda: resnet.SmallResNet((4,), (1,))(t(1, 8, 8, dtype=F32)),
     ValueError, "x deve ter forma"),
    ("resnet.SmallResNet.forward-disp", lambda: resnet.SmallResNet((4,), (1,))(meta(1, 1, 8, 8, dtype=F32)),
     ValueError, "mesmo dispositivo"),
    ("resnet.DeepStack-canais", lambda: resnet.DeepStack(1, in_channels=0), ValueError, "in_channels"),
    ("resnet.DeepStack-tipo-batch_norm", lambda: resnet.DeepStack(1, batch_norm="sim"), TypeError, "batch_norm"),
    ("resnet.DeepStack.forward-canais", lambda: DEEP(t(1, 3, 4, 4, dtype=F32)), ValueError, "x deve ter 1 canais"),
    ("resnet.DeepMLP-num_classes", lambda: resnet.DeepMLP(1, num_classes=0), ValueError, "num_classes"),
    ("resnet.DeepMLP.forward-forma", lambda: resnet.DeepMLP(1, in_features=4)(t(2, 5, dtype=F32)), ValueError,
     "4 valores por exemplo"),
    ("resnet.crop_flip-tipo-offsets", lambda: resnet.crop_flip(t(2, 1, 4, 4), t(2, 2), labels(0, 1).bool(), 1),
     TypeError, "offsets"),
    ("resnet.crop_flip-tipo-flips", lambda: resnet.crop_flip(t(2, 1, 4, 4), labels([0, 0], [0, 0]), labels(0, 1), 1),
     TypeError, "flips"),
    ("resnet.crop_flip-pad", lambda: resnet.crop_flip(t(2, 1, 4, 4), labels([0, 0], [0, 0]), labels(0, 1).bool(), -1),
     ValueError, "pad"),
    ("resnet.augment-pad", lambda: resnet.augment(t(2, 1, 4, 4), torch.Generator(), pad=-1), ValueError, "pad"),
    ("resnet.augment-tipo-pad", lambda: resnet.augment(t(2, 1, 4, 4), torch.Generator(), pad=1.5), TypeError, "pad"),
    ("resnet.layer_grad_norms-rotulo", lambda: resnet.layer_grad_norms(DEEP, t(2, 1, 4, 4, dtype=F32), labels(0, 10)),
     ValueError, "y devem estar entre 0 e 9"),
    ("resnet.layer_grad_norms-tipo-y", lambda: resnet.layer_grad_norms(DEEP, t(2, 1, 4, 4, dtype=F32), t(2)),
     TypeError, "y deve ser um tensor de inteiros"),
    ("resnet.layer_grad_norms-vazio", lambda: resnet.layer_grad_norms(DEEP, t(0, 1, 4, 4, dtype=F32), labels()),
     ValueError, "X está vazio"),
    ("resnet.layer_grad_norms-forma-y", lambda: resnet.layer_grad_norms(DEEP, t(2, 1, 4, 4, dtype=F32), labels(0)),
     ValueError, r"y deve ter forma \(2,\)"),
    ("resnet.layer_grad_norms-layers",
     lambda: resnet.layer_grad_norms(DEEP, t(2, 1, 4, 4, dtype=F32), labels(0, 1), [nn.Conv2d(1, 1, 1)]),
     ValueError, "layers"),
    ("resnet.filter_normalized_direction-tipo-net", lambda: resnet.filter_normalized_direction(3, torch.Generator()),
     TypeError, "net"),
    ("resnet.filter_normalized_direction-tipo-generator", lambda: resnet.filter_normalized_direction(DEEP, 0),
     TypeError, "generator"),
    ("resnet.loss_surface-nan",
     lambda: resnet.loss_surface(DEEP, directions(DEEP), [[float("nan")]], t(1, 1, 4, 4, dtype=F32), labels(0)),
     ValueError, "coords deve ter só números finitos"),
    ("resnet.loss_surface-forma-coords",
     lambda: resnet.loss_surface(DEEP, directions(DEEP), t(3, 2), t(1, 1, 4, 4, dtype=F32), labels(0)),
     ValueError, r"coords deve ter forma \(P, 1\)"),
    ("resnet.loss_surface-directions",
     lambda: resnet.loss_surface(DEEP, [{}], t(3, 1), t(1, 1, 4, 4, dtype=F32), labels(0)), ValueError,
     r"directions\[0\]"),
    ("resnet.loss_surface-rotulo",
     lambda: resnet.loss_surface(DEEP, directions(DEEP), t(3, 1), t(1, 1, 4, 4, dtype=F32), labels(12)),
     ValueError, "y devem estar entre 0 e 9"),
    ("resnet.output_shapes-tipo-names", lambda: resnet.output_shapes(DEEP, t(1, 1, 4, 4, dtype=F32), "fc"), TypeError,
     "names"),
    ("resnet.best_setup-seed", lambda: resnet.best_setup(seed=-1), ValueError, "seed"),
    ("resnet.best_setup-tipo-num_epochs", lambda: resnet.best_setup(num_epochs=2.0), TypeError, "num_epochs"),
    # ------------------------------------------------------------------ data
    ("data.read_idx-tipo", lambda: data.read_idx(3), TypeError, "path"),
    ("data.fashion_mnist-tipo-root", lambda: data.fashion_mnist(root=3), TypeError, "root"),
    ("data.fashion_mnist-tipo-download", lambda: data.fashion_mnist(download="sim"), TypeError, "download"),
    ("data.mnist-tipo-root", lambda: data.mnist(root=["pasta"]), TypeError, "root"),
    ("data.cifar10-tipo-root", lambda: data.cifar10(root=1.5), TypeError, "root"),
    ("data.photo-tipo", lambda: data.photo(3), TypeError, "name"),
    ("data.photo-opcao", lambda: data.photo("lua"), ValueError, "name: foto desconhecida"),
    ("data.tabular-tipo", lambda: data.tabular(None), TypeError, "name"),
    ("data.tabular-opcao", lambda: data.tabular("titanic"), ValueError, "name: conjunto tabular desconhecido"),
    ("data.to_float-tipo", lambda: data.to_float(t(2, 4, 4)), TypeError, "X deve ser um tensor torch.uint8"),
    ("data.to_float-forma", lambda: data.to_float(torch.zeros(4, 4, dtype=torch.uint8)), ValueError,
     "X deve ter forma"),
]


@pytest.mark.parametrize("call, error, pattern", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_in_portuguese(call, error, pattern):
    with pytest.raises(error, match=pattern) as info:
        call()
    assert type(info.value) in (TypeError, ValueError)  # não uma subclasse de outra família
    assert "recebi" in str(info.value) or "recebi" in pattern, "a mensagem deve dizer o que recebeu"


def test_ids_are_unique():
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))


def test_read_idx_truncated_header(tmp_path):
    with pytest.raises(ValueError, match="truncado"):
        data.read_idx(truncated_idx(tmp_path))


def test_fit_regression_refuses_before_training():
    """Nada é treinado quando a entrada é inválida: os pesos ficam como estavam."""
    net = relu_net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    X = torch.rand(8, 1)
    with pytest.raises(ValueError, match=r"y deve ter forma \(N, 1\)"):
        capacity.fit_regression(net, X, X[:, 0], X, X, num_epochs=3)
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k])


def test_kernel_ridge_unknown_keyword_fails_at_construction_not_fit():
    with pytest.raises(TypeError, match="gama"):
        kernels.KernelRidgeRegression(1.0, "polynomial", gama=1.0)


def test_ridge_primal_lam_zero_still_works_on_full_rank():
    X = torch.eye(3, dtype=F64)
    torch.testing.assert_close(kernels.ridge_primal(X, torch.ones(3, dtype=F64), 0), torch.ones(3, dtype=F64))


@pytest.mark.parametrize("fn", [cnn.layer_outputs, resnet.output_shapes], ids=["layer_outputs", "output_shapes"])
def test_registered_but_not_run_layer_is_refused(fn):
    with pytest.raises(ValueError, match="unused.*não rod"):
        fn(Unused(), t(1, 1, 5, 5, dtype=F32), ["used", "unused"])


def test_layer_grad_norms_refuses_layer_that_did_not_run():
    net = Unused()
    with pytest.raises(ValueError, match="unused.*não rod"):
        resnet.layer_grad_norms(net, t(2, 1, 5, 5, dtype=F32), labels(0, 1), [net.used, net.unused])
