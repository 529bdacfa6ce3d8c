"""Testes de ``livro.attention`` contra o PyTorch (atenção, várias cabeças, *patches*)."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.testing import assert_close

from livro import attention


@pytest.mark.parametrize("shape", [(5, 3), (2, 7, 4), (2, 3, 6, 8)])
@pytest.mark.parametrize("masked", [False, True])
def test_sdpa_matches_torch(shape, masked):
    torch.manual_seed(0)
    q, k, v = (torch.randn(shape) for _ in range(3))
    mask = attention.causal_mask(shape[-2]) if masked else None
    out, w = attention.scaled_dot_product_attention(q, k, v, mask)
    assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask))
    assert_close(w.sum(-1), torch.ones(shape[:-1]))
    if masked:
        assert (w.triu(1) == 0).all()


def test_sdpa_additive_mask_and_scale():
    torch.manual_seed(1)
    q, k, v = torch.randn(2, 4, 8), torch.randn(2, 6, 8), torch.randn(2, 6, 3)
    bias = torch.randn(4, 6)
    out, _ = attention.scaled_dot_product_attention(q, k, v, bias, scale=0.5)
    assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=0.5))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 3), lq=st.integers(1, 6), lk=st.integers(1, 6), d=st.integers(1, 9),
       dv=st.integers(1, 5), seed=st.integers(0, 10_000), dtype=st.sampled_from([torch.float32, torch.float64]))
def test_sdpa_property(n, lq, lk, d, dv, seed, dtype):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(n, lq, d, generator=g, dtype=dtype)
    k = torch.randn(n, lk, d, generator=g, dtype=dtype)
    v = torch.randn(n, lk, dv, generator=g, dtype=dtype)
    mask = torch.rand(lq, lk, generator=g) < 0.7
    mask[:, 0] = True  # toda consulta atende a ao menos uma posição
    out, _ = attention.scaled_dot_product_attention(q, k, v, mask)
    assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask))


@pytest.mark.parametrize("dim,heads,lq,lk", [(128, 4, 16, 16), (24, 3, 5, 7), (8, 1, 4, 4)])
@pytest.mark.parametrize("masked", [False, True])
def test_mha_matches_torch(dim, heads, lq, lk, masked):
    torch.manual_seed(2)
    mine = attention.MultiHeadAttention(dim, heads)
    ref = mine.to_torch()
    x, ctx = torch.randn(3, lq, dim), torch.randn(3, lk, dim)
    mask = torch.rand(lq, lk) < 0.6 if masked else None
    if masked:
        mask[:, 0] = True
    out, w = mine(x, ctx, ctx, mask=mask, return_weights=True)
    assert out.shape == (3, lq, dim) and w.shape == (3, heads, lq, lk)
    # a convenção booleana de nn.MultiheadAttention é a oposta: True = proibido
    ref_out, ref_w = ref(x, ctx, ctx, attn_mask=None if mask is None else ~mask, average_attn_weights=False)
    assert_close(out, ref_out)
    assert_close(w, ref_w)
    assert sum(p.numel() for p in mine.parameters()) == sum(p.numel() for p in ref.parameters())


def test_padding_mask_matches_key_padding():
    torch.manual_seed(3)
    mine = attention.MultiHeadAttention(16, 2)
    x = torch.randn(2, 5, 16)
    lengths = torch.tensor([5, 3])
    mask = attention.padding_mask(lengths, 5)
    ref_out, _ = mine.to_torch()(x, x, x, key_padding_mask=~mask[:, 0, 0, :])
    assert_close(mine(x, mask=mask), ref_out)


@settings(max_examples=25, deadline=None)
@given(heads=st.integers(1, 4), head_dim=st.integers(1, 6), length=st.integers(1, 6), seed=st.integers(0, 999))
def test_mha_property(heads, head_dim, length, seed):
    torch.manual_seed(seed)
    mine = attention.MultiHeadAttention(heads * head_dim, heads)
    x = torch.randn(2, length, heads * head_dim)
    assert_close(mine(x), mine.to_torch()(x, x, x)[0])


@pytest.mark.parametrize("c,p,hw,dim", [(3, 16, 64, 128), (1, 7, 28, 64), (2, 4, 8, 5)])
def test_patch_embedding_is_unfold_plus_linear(c, p, hw, dim):
    torch.manual_seed(4)
    emb = attention.PatchEmbedding(c, dim, p)
    x = torch.randn(2, c, hw, hw)
    patches = F.unfold(x, p, stride=p).transpose(1, 2)  # (N, L, C·p·p)
    expected = patches @ emb.proj.weight.reshape(dim, -1).T + emb.proj.bias
    out = emb(x)
    assert out.shape == (2, (hw // p) ** 2, dim)
    assert_close(out, expected, atol=1e-4, rtol=1e-4)


def test_encoder_and_vit_shapes_and_seed():
    torch.manual_seed(5)
    enc = attention.Encoder(32, depth=2, num_heads=4)
    x = torch.randn(3, 10, 32)
    y, ws = enc(x, mask=attention.causal_mask(10), return_weights=True)
    assert y.shape == x.shape and len(ws) == 2 and ws[0].shape == (3, 4, 10, 10)
    torch.manual_seed(6)
    a = attention.VisionTransformer(dim=16, depth=1, num_heads=2)
    torch.manual_seed(6)
    b = attention.VisionTransformer(dim=16, depth=1, num_heads=2)
    img = torch.rand(4, 1, 28, 28)
    assert_close(a(img), b(img))
    logits, ws = a(img, return_weights=True)
    assert logits.shape == (4, 10) and ws[0].shape == (4, 2, 16, 16)


def test_self_attention_is_permutation_equivariant():
    torch.manual_seed(7)
    enc = attention.Encoder(16, depth=2, num_heads=2)
    x = torch.randn(2, 9, 16)
    perm = torch.randperm(9)
    assert_close(enc(x)[:, perm], enc(x[:, perm]), atol=1e-5, rtol=1e-5)


def test_gcn_invariant_to_relabelling():
    g = torch.Generator().manual_seed(8)
    n = 7
    A = (torch.rand(n, n, generator=g) < 0.4).double().triu(1)
    A = A + A.T
    X = torch.randn(n, 3, generator=g, dtype=torch.float64)
    Ws = [torch.randn(3, 5, generator=g, dtype=torch.float64), torch.randn(5, 4, generator=g, dtype=torch.float64)]
    P = torch.eye(n, dtype=torch.float64)[torch.randperm(n, generator=g)]
    p = attention.gcn(A, X, Ws)
    assert_close(p.sum(), torch.tensor(1.0, dtype=torch.float64))
    assert_close(attention.gcn(P @ A @ P.T, P @ X, Ws), p)


def test_sinusoidal_positions():
    pe = attention.sinusoidal_positions(6, 8)
    assert pe.shape == (6, 8)
    assert_close(pe[0], torch.tensor([0.0, 1.0] * 4))


def test_book_paragraphs(tmp_path):
    texts, labels = attention.book_paragraphs(chapters=[1, 2], min_words=20)
    assert len(texts) == len(labels) > 10 and set(labels) == {1, 2}
    assert not any("```" in t or "glue" in t for t in texts)
    with pytest.raises(FileNotFoundError, match="pasta dos capítulos"):
        attention.book_paragraphs(book_dir=tmp_path / "nada")


def test_bad_input():
    q = torch.randn(2, 3, 4)
    with pytest.raises(ValueError, match="mesma largura"):
        attention.scaled_dot_product_attention(q, torch.randn(2, 3, 5), torch.randn(2, 3, 5))
    with pytest.raises(ValueError, match="mesmo comprimento"):
        attention.scaled_dot_product_attention(q, q, torch.randn(2, 4, 4))
    with pytest.raises(ValueError, match="mesmo dtype"):
        attention.scaled_dot_product_attention(q, q, q.double())
    with pytest.raises(ValueError, match="não se ajusta"):
        attention.scaled_dot_product_attention(q, q, q, torch.ones(5, 5, dtype=torch.bool))
    with pytest.raises(TypeError, match="booleana"):
        attention.scaled_dot_product_attention(q, q, q, torch.ones(3, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="scale"):
        attention.scaled_dot_product_attention(q, q, q, scale=float("nan"))
    with pytest.raises(TypeError, match="tensor"):
        attention.scaled_dot_product_attention(q.numpy(), q, q)
    with pytest.raises(ValueError, match="vazio"):
        attention.scaled_dot_product_attention(torch.randn(0, 4), q, q)
    with pytest.raises(ValueError, match="múltiplo"):
        attention.MultiHeadAttention(10, 4)
    with pytest.raises(TypeError, match="inteiro"):
        attention.MultiHeadAttention(8.0, 2)
    with pytest.raises(TypeError, match="inteiro"):
        attention.Encoder(8, depth=True, num_heads=2)
    with pytest.raises(ValueError, match="largura 8"):
        attention.MultiHeadAttention(8, 2)(torch.randn(2, 3, 6))
    with pytest.raises(ValueError, match="3 dimensões"):
        attention.MultiHeadAttention(8, 2)(torch.randn(3, 8))
    with pytest.raises(ValueError, match="lados múltiplos"):
        attention.PatchEmbedding(1, 8, 7)(torch.randn(1, 1, 30, 30))
    with pytest.raises(ValueError, match="múltiplo de patch_size"):
        attention.VisionTransformer(image_size=28, patch_size=5)
    with pytest.raises(ValueError, match="lengths"):
        attention.padding_mask(torch.tensor([0, 2]), 3)
    with pytest.raises(ValueError, match="A deve ser"):
        attention.gcn(torch.ones(3, 3), torch.ones(4, 2), [torch.ones(2, 2)])
    with pytest.raises(ValueError, match="par"):
        attention.sinusoidal_positions(4, 5)


def test_corpus_paragraphs_is_frozen_and_complete():
    texts, labels = attention.corpus_paragraphs()
    assert len(texts) == len(labels) > 300
    assert sorted(set(labels)) == list(range(1, 9))
    assert all(len(t.split()) >= 25 for t in texts)
    assert all("```" not in t and "{glue" not in t for t in texts)
    # o mesmo resultado a cada chamada (o arquivo é a fonte, não o texto atual do livro)
    assert attention.corpus_paragraphs() == (texts, labels)
