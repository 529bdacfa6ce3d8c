"""Propriedades (hypothesis): cada função escrita à mão contra a da biblioteca.

Formas, passos, preenchimentos, tipos e tamanhos de lote são sorteados pelo
hypothesis; os valores dos tensores vêm de um ``torch.Generator`` semeado com um
inteiro sorteado (assim o hypothesis não precisa gerar arranjos grandes). O
perfil ``ci`` (em ``conftest.py``) fixa o número de exemplos e a semente.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from sklearn.kernel_ridge import KernelRidge
from sklearn.metrics import confusion_matrix as sk_confusion_matrix
from sklearn.metrics.pairwise import pairwise_kernels

from livro import backprop, conv, fmt, kernels, metrics

DTYPES = st.sampled_from([torch.float32, torch.float64])
SEEDS = st.integers(0, 2**31 - 1)
REDUCTIONS = ("mean", "sum", "none")


def _rand(seed, *shape, dtype=torch.float64, scale=1.0):
    return scale * torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _tol(dtype):
    return {"rtol": 1e-4, "atol": 1e-4} if dtype == torch.float32 else {"rtol": 1e-9, "atol": 1e-9}


@st.composite
def conv_cases(draw):
    """Uma convolução válida: lote, canais, filtro, passo e preenchimento (retangulares)."""
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    h = draw(st.integers(max(1, kh - 2 * ph), kh - 2 * ph + 6))
    w = draw(st.integers(max(1, kw - 2 * pw), kw - 2 * pw + 6))
    return {"N": draw(st.integers(0, 3)), "C_in": draw(st.integers(1, 3)), "C_out": draw(st.integers(1, 3)),
            "H": h, "W": w, "kernel": (kh, kw), "stride": (sh, sw), "padding": (ph, pw),
            "dtype": draw(DTYPES), "bias": draw(st.booleans()), "seed": draw(SEEDS)}


def _conv_inputs(case):
    g, dt = case["seed"], case["dtype"]
    x = _rand(g, case["N"], case["C_in"], case["H"], case["W"], dtype=dt)
    w = _rand(g + 1, case["C_out"], case["C_in"], *case["kernel"], dtype=dt)
    b = _rand(g + 2, case["C_out"], dtype=dt) if case["bias"] else None
    return x, w, b


def _scalar_or_pair(pair, as_int):
    return pair[0] if as_int and pair[0] == pair[1] else pair


@given(conv_cases(), st.booleans())
def test_conv2d_loops_and_unfold_match_f_conv2d(case, as_int):
    x, w, b = _conv_inputs(case)
    stride, padding = _scalar_or_pair(case["stride"], as_int), _scalar_or_pair(case["padding"], as_int)
    expected = F.conv2d(x, w, b, stride, padding)
    for fn in (conv.conv2d_loops, conv.conv2d_unfold):
        torch.testing.assert_close(fn(x, w, b, stride, padding), expected, **_tol(case["dtype"]))
    for axis in (0, 1):
        size = conv.output_size((case["H"], case["W"])[axis], case["kernel"][axis], case["padding"][axis],
                                case["stride"][axis])
        assert size == expected.shape[2 + axis]


@given(conv_cases())
def test_conv2d_matrix_matches_f_conv2d(case):
    x, w, _ = _conv_inputs(case)
    x = x[:1] if len(x) else _rand(case["seed"], 1, case["C_in"], case["H"], case["W"], dtype=case["dtype"])
    M = conv.conv2d_matrix(w, tuple(x.shape[1:]), case["stride"], case["padding"])
    expected = F.conv2d(x, w, None, case["stride"], case["padding"])
    torch.testing.assert_close(M @ x.flatten(), expected.flatten(), **_tol(case["dtype"]))


@st.composite
def pool_cases(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    return {"N": draw(st.integers(0, 3)), "C": draw(st.integers(1, 3)),
            "H": draw(st.integers(kh, kh + 6)), "W": draw(st.integers(kw, kw + 6)),
            "kernel": (kh, kw), "stride": stride, "dtype": draw(DTYPES), "seed": draw(SEEDS)}


@given(pool_cases())
def test_pools_match_f_pools(case):
    x = _rand(case["seed"], case["N"], case["C"], case["H"], case["W"], dtype=case["dtype"])
    k, s = case["kernel"], case["stride"]
    tol = _tol(case["dtype"])
    torch.testing.assert_close(conv.max_pool2d(x, k, s), F.max_pool2d(x, k, s))
    avg = F.avg_pool2d(x, k, s)
    torch.testing.assert_close(conv.avg_pool2d(x, k, s), avg, **tol)
    torch.testing.assert_close(conv.sum_pool2d(x, k, s), avg * (k[0] * k[1]), **tol)


@given(pool_cases(), st.sampled_from(["mean", "sum"]))
def test_pool2d_matrix_matches_f_avg_pool2d(case, mode):
    x = _rand(case["seed"], case["C"], case["H"], case["W"])
    M = conv.pool2d_matrix(tuple(x.shape), case["kernel"], case["stride"], mode=mode)
    expected = F.avg_pool2d(x[None], case["kernel"], case["stride"])[0]
    if mode == "sum":
        expected = expected * (case["kernel"][0] * case["kernel"][1])
    torch.testing.assert_close(M @ x.flatten(), expected.flatten())


@st.composite
def logits_cases(draw):
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=ndim, max_size=ndim)))
    return {"shape": shape, "dim": draw(st.integers(-ndim, ndim - 1)), "dtype": draw(DTYPES),
            "scale": draw(st.sampled_from([1.0, 30.0, 1e3])), "seed": draw(SEEDS)}


@given(logits_cases())
def test_softmax_family_matches_torch(case):
    z = _rand(case["seed"], *case["shape"], dtype=case["dtype"], scale=case["scale"])
    d, tol = case["dim"], _tol(case["dtype"])
    torch.testing.assert_close(metrics.softmax(z, d), torch.softmax(z, d), **tol)
    torch.testing.assert_close(metrics.log_softmax(z, d), torch.log_softmax(z, d), **tol)
    torch.testing.assert_close(metrics.logsumexp(z, d), torch.logsumexp(z, d), **tol)


@given(st.integers(1, 6), st.integers(1, 5), DTYPES, SEEDS, st.floats(0, 1), st.sampled_from(REDUCTIONS),
       st.booleans())
def test_cross_entropy_matches_f_cross_entropy(n, c, dtype, seed, smoothing, reduction, soft):
    logits = _rand(seed, n, c, dtype=dtype, scale=3.0)
    g = torch.Generator().manual_seed(seed + 1)
    target = torch.softmax(torch.randn(n, c, generator=g, dtype=dtype), 1) if soft \
        else torch.randint(0, c, (n,), generator=g)
    ours = metrics.cross_entropy(logits, target, smoothing, reduction)
    expected = F.cross_entropy(logits, target, label_smoothing=smoothing, reduction=reduction)
    torch.testing.assert_close(ours, expected, **_tol(dtype))


@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), DTYPES, SEEDS, st.sampled_from(REDUCTIONS))
def test_bce_with_logits_matches_torch(shape, dtype, seed, reduction):
    logits = _rand(seed, *shape, dtype=dtype, scale=20.0)
    target = torch.rand(*shape, generator=torch.Generator().manual_seed(seed + 1), dtype=dtype)
    ours = metrics.binary_cross_entropy_with_logits(logits, target, reduction)
    expected = F.binary_cross_entropy_with_logits(logits, target, reduction=reduction)
    torch.testing.assert_close(ours, expected, **_tol(dtype))


@pytest.mark.filterwarnings("ignore:A single label")
@given(st.integers(0, 20), st.integers(1, 6), SEEDS)
def test_one_hot_accuracy_and_confusion_matrix_match_libraries(n, c, seed):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, c, (n,), generator=g)
    y_pred = torch.randint(0, c, (n,), generator=g)
    torch.testing.assert_close(metrics.one_hot(y, c), F.one_hot(y, c).float())
    cm = metrics.confusion_matrix(y, y_pred, c)
    expected = sk_confusion_matrix(y.numpy(), y_pred.numpy(), labels=range(c)) if n else np.zeros((c, c))
    np.testing.assert_array_equal(cm.numpy(), expected)
    if n:
        logits = F.one_hot(y_pred, c).double()
        assert metrics.accuracy(logits, y) == pytest.approx(float((y == y_pred).double().mean()))


@given(st.lists(st.integers(1, 5), min_size=2, max_size=4), st.integers(1, 5),
       st.sampled_from(backprop.ACTIVATIONS), DTYPES, SEEDS)
def test_mlp_backward_matches_autograd(sizes, n, activation, dtype, seed):
    params = backprop.init_mlp(sizes, torch.Generator().manual_seed(seed), dtype)
    X = _rand(seed + 1, n, sizes[0], dtype=dtype)
    y = _rand(seed + 2, n, sizes[-1], dtype=dtype)
    y_hat, cache = backprop.mlp_forward(X, params, activation)
    grad_X, grads = backprop.mlp_backward(backprop.mse_backward(y_hat, y), cache, params, activation)

    leaves = [X.clone().requires_grad_()] + [t.clone().requires_grad_() for pair in params for t in pair]
    H = leaves[0]
    for k in range(len(params)):
        H = H @ leaves[1 + 2 * k].T + leaves[2 + 2 * k]
        if k < len(params) - 1:
            H = torch.tanh(H) if activation == "tanh" else torch.relu(H)
    F.mse_loss(H, y).backward()
    tol = _tol(dtype)
    torch.testing.assert_close(grad_X, leaves[0].grad, **tol)
    for k, (gW, gb) in enumerate(grads):
        torch.testing.assert_close(gW, leaves[1 + 2 * k].grad, **tol)
        torch.testing.assert_close(gb, leaves[2 + 2 * k].grad, **tol)


@st.composite
def kernel_params(draw):
    name = draw(st.sampled_from(list(kernels.KERNELS)))
    params = {}
    if name != "linear":
        params["gamma"] = draw(st.one_of(st.none(), st.floats(0.05, 2.0)))
    if name == "polynomial":
        params["degree"] = draw(st.integers(1, 4))
        params["coef0"] = draw(st.floats(0.0, 2.0))
    return name, params


@given(kernel_params(), st.integers(2, 8), st.integers(1, 3), st.floats(0.1, 10.0), SEEDS)
def test_kernel_ridge_matches_sklearn(kp, n, p, lam, seed):
    name, params = kp
    X, X_new, y = _rand(seed, n, p), _rand(seed + 1, 3, p), _rand(seed + 2, n)
    torch.testing.assert_close(kernels.kernel_matrix(X, X_new, name, **params),
                               torch.from_numpy(pairwise_kernels(X.numpy(), X_new.numpy(), metric=name, **params)))
    ours = kernels.KernelRidgeRegression(lam, name, **params).fit(X, y).predict(X_new)
    ref = KernelRidge(alpha=lam, kernel=name, **params).fit(X.numpy(), y.numpy()).predict(X_new.numpy())
    torch.testing.assert_close(ours, torch.from_numpy(ref), rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------- números por extenso


BIG_INTS = st.one_of(st.integers(-10**6, 10**6), st.integers(-2**64, 2**64), st.integers(-10**400, 10**400))


@given(BIG_INTS, st.integers(0, 4))
def test_fmt_is_exact_for_every_integer(n, digits):
    thousands = f"{n:,d}".replace(",", ".").replace("-", fmt.MINUS)
    assert fmt.integer(n) == thousands
    assert fmt.num(n, digits) == thousands + ("," + "0" * digits if digits else "")
    hundred = f"{100 * n:,d}".replace(",", ".").replace("-", fmt.MINUS)
    assert fmt.pct(n, digits) == hundred + ("," + "0" * digits if digits else "") + "%"
    assert fmt.integer(np.int64(n)) == thousands if -2**63 <= n < 2**63 else True
    assert fmt.integer(torch.tensor(n)) == thousands if -2**63 <= n < 2**63 else True


@given(st.integers(1, 99), st.integers(2, 500), st.booleans())
def test_fmt_sci_is_exact_for_big_integers(mantissa, exponent, negative):
    n = (-1) ** negative * mantissa * 10**exponent  # mantissa com dois algarismos, no máximo
    expected_digits = f"{mantissa / 10:.1f}" if mantissa >= 10 else f"{mantissa}.0"
    shift = exponent + (1 if mantissa >= 10 else 0)
    sign = fmt.MINUS if negative else ""
    superscript = str(shift).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
    assert fmt.sci(n, 1) == f"{sign}{expected_digits.replace('.', ',')} × 10{superscript}"


@given(st.integers(-2**53, 2**53))
def test_fmt_integer_same_for_int_and_integral_float(n):
    assert fmt.integer(float(n)) == fmt.integer(n)


@pytest.mark.parametrize("formatter", [fmt.num, fmt.pct, fmt.sci, fmt.integer])
@pytest.mark.parametrize("value", [True, False, np.True_, np.bool_(False), torch.tensor(True),
                                   np.array([True]), torch.tensor([False])],
                         ids=["True", "False", "np.True_", "np.False_", "torch-True", "np-array", "torch-array"])
def test_every_formatter_refuses_every_boolean(formatter, value):
    with pytest.raises(TypeError, match="booleano"):
        formatter(value)
