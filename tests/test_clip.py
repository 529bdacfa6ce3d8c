"""Testes de livro.clip: legendas, perda contrastiva, recall@k, formas e entradas ruins."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from livro import clip


def test_pairs_respect_held_out_and_captions_tokenize():
    held = ((0, 0), (1, 1))
    p = clip.make_pairs(200, held_out=held, partial=0.5, seed=3)
    assert p.images.shape == (200, 3, 24, 24) and len(p.captions) == 200
    for s, c in held:
        assert not ((p.shape == s) & (p.color == c)).any()
    tokens = clip.tokenize(p.captions)
    assert tokens.shape == (200, clip.MAX_LEN) and tokens.max() < len(clip.VOCAB)
    for cap, s, c, ss, sc in zip(p.captions, p.shape, p.color, p.said_shape, p.said_color):
        assert (clip.SHAPES[s] in cap) == (ss >= 0) and (sc < 0 or clip.COLORS[c][:4] in cap)


def test_same_seed_same_pairs():
    a, b = clip.make_pairs(50, seed=7), clip.make_pairs(50, seed=7)
    assert a.captions == b.captions and torch.equal(a.images, b.images)


def test_pack_unpack_roundtrip():
    p = clip.make_pairs(10, seed=0)
    tokens = clip.tokenize(p.captions)
    images, back = clip.unpack(clip.pack(p.images, tokens), 24)
    assert torch.equal(images, p.images) and torch.equal(back, tokens)


def _loss_reference(logits):
    labels = torch.arange(len(logits))
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 40), scale=st.floats(0.1, 50.0), seed=st.integers(0, 10_000))
def test_clip_loss_matches_cross_entropy(n, scale, seed):
    g = torch.Generator().manual_seed(seed)
    logits = scale * torch.randn(n, n, generator=g, dtype=torch.float64)
    torch.testing.assert_close(clip.clip_loss(logits), _loss_reference(logits))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 30), seed=st.integers(0, 10_000))
def test_clip_loss_with_targets_matches_soft_cross_entropy(n, seed):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, n, generator=g, dtype=torch.float64)
    targets = (torch.rand(n, n, generator=g) < 0.3) | torch.eye(n, dtype=torch.bool)
    t = targets.double()
    ref = (F.cross_entropy(logits, t / t.sum(1, keepdim=True))
           + F.cross_entropy(logits.T, (t / t.sum(0, keepdim=True)).T)) / 2
    torch.testing.assert_close(clip.clip_loss(logits, targets), ref)


def test_loss_at_init_is_log_batch():
    torch.manual_seed(0)
    n = 256
    img = F.normalize(torch.randn(n, 64), dim=1)
    txt = F.normalize(torch.randn(n, 64), dim=1)
    loss = clip.clip_loss(img @ txt.T)   # escala 1: logits perto de zero
    assert abs(float(loss) - math.log(n)) < 0.05


@settings(max_examples=25, deadline=None)
@given(q=st.integers(1, 20), m=st.integers(1, 30), seed=st.integers(0, 10_000))
def test_recall_matches_brute_force(q, m, seed):
    g = torch.Generator().manual_seed(seed)
    sim = torch.randn(q, m, generator=g)
    relevant = torch.rand(q, m, generator=g) < 0.2
    ks = tuple(sorted({1, min(5, m), m}))
    got = clip.recall_at_k(sim, relevant, ks)
    for k in ks:
        hits = 0
        for i in range(q):
            ranked = sorted(range(m), key=lambda j: -float(sim[i, j]))[:k]
            hits += any(bool(relevant[i, j]) for j in ranked)
        assert got[k] == pytest.approx(hits / q)


def test_positives_rules():
    target = torch.tensor([[0, 1, 0, 1], [0, 2, 0, -1], [1, 1, -1, 1]])
    pos = clip.positives(target)
    assert pos.diagonal().all()
    assert pos[0, 1] and pos[0, 2] and not pos[1, 0] and not pos[2, 0] and not pos[1, 2]


def test_model_shapes_and_zero_shot():
    torch.manual_seed(0)
    net = clip.CLIP(size=24, dim=32)
    p = clip.make_pairs(6, seed=0)
    X = clip.pack(p.images, clip.tokenize(p.captions))
    assert net(X).shape == (6, 6)
    assert net.image_patches(p.images).shape == (6, 36, 32)
    img = clip.encode_images(net, p.images)
    txt = clip.encode_texts(net, p.captions)
    assert img.shape == txt.shape == (6, 32)
    torch.testing.assert_close(img.norm(dim=1), torch.ones(6))
    assert clip.zero_shot(img, txt[:3]).shape == (6,)


def test_bad_input():
    with pytest.raises(ValueError, match="legenda"):
        clip.tokenize(["um elefante rosa"])
    with pytest.raises(TypeError, match="captions"):
        clip.tokenize("um círculo")
    with pytest.raises(ValueError, match="quadrada"):
        clip.clip_loss(torch.randn(3, 4))
    with pytest.raises(ValueError, match="targets"):
        clip.clip_loss(torch.randn(3, 3), torch.ones(3, 3))
    with pytest.raises(ValueError, match="held_out"):
        clip.make_pairs(10, held_out=((5, 0),))
    with pytest.raises(ValueError, match="partial"):
        clip.make_pairs(10, partial=1.5)
    with pytest.raises(TypeError, match="n deve ser um inteiro"):
        clip.make_pairs(10.0)
    with pytest.raises(ValueError, match="ks"):
        clip.recall_at_k(torch.randn(2, 3), torch.ones(2, 3, dtype=torch.bool), ks=(4,))
    with pytest.raises(ValueError, match="relevant"):
        clip.recall_at_k(torch.randn(2, 3), torch.ones(2, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match="largura"):
        clip.zero_shot(torch.randn(2, 3), torch.randn(2, 4))
    with pytest.raises(ValueError, match="init_temperature"):
        clip.CLIP(init_temperature=0.0)
    with pytest.raises(ValueError, match="colunas"):
        clip.unpack(torch.randn(2, 5), 24)


def test_factored_image_net_shapes():
    torch.manual_seed(0)
    net = clip.CLIP(size=24, dim=32, image_net="factored")
    p = clip.make_pairs(5, seed=0)
    assert net.image_patches(p.images).shape == (5, 36, 32)
    with pytest.raises(ValueError, match="image_net"):
        clip.CLIP(image_net="vit")
    # o ramo de forma recebe uma imagem de um canal só: o brilho
    gray = net.image_net.shape_net(p.images.amax(1, keepdim=True))
    assert gray.shape == (5, 24, 6, 6)


def test_text_without_attention_is_a_bag_of_words():
    """Com depth=0 cada palavra não vê as outras: as diferenças entre legendas se somam."""
    torch.manual_seed(0)
    net = clip.CLIP(size=24, dim=32, depth=0)
    tok = clip.tokenize(["um círculo vermelho", "um quadrado vermelho", "um círculo azul", "um quadrado azul"])
    keep = (tok != 0)[..., None]
    feats = (net.text_net(net.word(tok) + net.pos) * keep).sum(1) / keep.sum(1)
    torch.testing.assert_close(feats[0] - feats[1], feats[2] - feats[3])
    assert clip.encode_texts(net, ["um círculo"]).shape == (1, 32)
    with pytest.raises(ValueError, match="depth"):
        clip.CLIP(depth=-1)


def test_combo_mask():
    p = clip.make_pairs(60, seed=2)
    mask = clip.combo_mask(p, ((0, 0), (2, 3)))
    expected = ((p.shape == 0) & (p.color == 0)) | ((p.shape == 2) & (p.color == 3))
    assert torch.equal(mask, expected)
    assert not clip.combo_mask(p, ()).any()
    with pytest.raises(ValueError, match="combos"):
        clip.combo_mask(p, ((3, 0),))
    with pytest.raises(TypeError, match="pairs"):
        clip.combo_mask(p.shape, ((0, 0),))
