"""Testes de ``livro.shapes``: caixas justas, classes equilibradas, bordas, sementes e erros."""

import pytest
import torch

from livro import shapes


@pytest.fixture(scope="module")
def scenes():
    return shapes.make_scenes(200, seed=1)


def _boxes_from_mask(mask):
    ys, xs = torch.nonzero(mask, as_tuple=True)
    return torch.tensor([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=torch.float32)


def test_shapes_and_dtypes(scenes):
    n, size = 200, 32
    assert scenes.images.shape == (n, 3, size, size) and scenes.images.dtype == torch.float32
    assert 0 <= scenes.images.min() and scenes.images.max() <= 1
    assert scenes.masks.shape == (n, size, size) and scenes.masks.dtype == torch.long
    assert scenes.masks.min() >= 0 and scenes.masks.max() <= len(shapes.CLASSES)
    for field in ("boxes", "labels", "colors"):
        assert len(getattr(scenes, field)) == n
    for b, lab, col in zip(scenes.boxes, scenes.labels, scenes.colors):
        assert b.dtype == torch.float32 and b.ndim == 2 and b.shape[1] == 4
        assert lab.dtype == torch.long and col.dtype == torch.long
        assert 1 <= len(b) == len(lab) == len(col) <= 3
        assert ((0 <= lab) & (lab < len(shapes.CLASSES))).all()
        assert ((0 <= col) & (col < len(shapes.COLORS))).all()


def test_boxes_tight_around_visible_pixels(scenes):
    """A caixa de cada objeto contém só pixels da sua classe nas bordas e é justa."""
    for mask, boxes, labels in zip(scenes.masks[:100], scenes.boxes[:100], scenes.labels[:100]):
        covered = torch.zeros_like(mask, dtype=torch.bool)
        for box, label in zip(boxes, labels):
            x1, y1, x2, y2 = box.long().tolist()
            assert x1 < x2 and y1 < y2
            inside = torch.zeros_like(covered)
            inside[y1:y2, x1:x2] = True
            own = (mask == 1 + label) & inside
            # cada borda da caixa toca um pixel do objeto
            assert own[y1].any() and own[y2 - 1].any() and own[:, x1].any() and own[:, x2 - 1].any()
            covered |= own
        # todo pixel de objeto está na caixa de algum objeto da mesma classe
        assert torch.equal(covered, mask > 0)


def test_single_object_box_equals_mask_box():
    s = shapes.make_scenes(50, num_objects=(1, 1), seed=3)
    for mask, boxes in zip(s.masks, s.boxes):
        assert len(boxes) == 1
        torch.testing.assert_close(boxes[0], _boxes_from_mask(mask > 0))


def test_classes_balanced():
    s = shapes.make_scenes(1500, seed=2)
    labels = torch.cat(s.labels)
    counts = torch.bincount(labels, minlength=3).float()
    expected = counts.sum() / 3
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 13.8, counts  # quantil 0,999 da qui-quadrado com 2 graus de liberdade


def test_no_cut_objects():
    s = shapes.make_scenes(150, size=24, min_size=6, max_size=20, seed=4)
    allb = torch.cat(s.boxes)
    assert allb.min() >= 0 and allb.max() <= 24
    # sem corte e com um único objeto, o lado sorteado aparece inteiro na caixa
    one = shapes.make_scenes(100, size=24, num_objects=(1, 1), seed=4)
    sides = torch.cat(one.boxes)
    w, h = sides[:, 2] - sides[:, 0], sides[:, 3] - sides[:, 1]
    assert (w >= 6 - 1).all() and (h >= 6 - 1).all()


def test_allow_cut_touches_border():
    s = shapes.make_scenes(150, size=24, seed=5, allow_cut=True)
    allb = torch.cat(s.boxes)
    touches = (allb[:, :2] == 0).any(1) | (allb[:, 2:] == 24).any(1)
    assert touches.float().mean() > 0.3
    for mask, boxes in zip(s.masks[:50], s.boxes[:50]):
        assert len(boxes) >= 1 and (mask > 0).any()


def _sides(s):
    b = torch.cat(s.boxes)
    return b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]


def test_no_overlap_keeps_objects_whole():
    """Sem sobreposição, todo objeto aparece inteiro: caixas do tamanho sorteado, quadrados cheios."""
    s = shapes.make_scenes(150, num_objects=(3, 3), overlap=False, seed=6)
    w, h = _sides(s)
    assert (w >= 8 - 1).all() and (h >= 8 - 1).all()
    for mask, boxes, labels in zip(s.masks, s.boxes, s.labels):
        for b, lab in zip(boxes.long().tolist(), labels.tolist()):
            if lab == 1:  # quadrado: a caixa inteira é da classe, e é quadrada
                x1, y1, x2, y2 = b
                assert x2 - x1 == y2 - y1 and (mask[y1:y2, x1:x2] == 2).all()


def test_overlap_happens_and_hides_parts():
    s = shapes.make_scenes(150, num_objects=(3, 3), min_size=12, max_size=16, seed=7)
    w, h = _sides(s)
    assert ((w < 12 - 1) | (h < 12 - 1)).sum() > 10  # objetos parcialmente cobertos
    overlapping = 0
    for boxes in s.boxes:
        x1 = torch.maximum(boxes[:, None, 0], boxes[None, :, 0])
        x2 = torch.minimum(boxes[:, None, 2], boxes[None, :, 2])
        y1 = torch.maximum(boxes[:, None, 1], boxes[None, :, 1])
        y2 = torch.minimum(boxes[:, None, 3], boxes[None, :, 3])
        overlapping += int((((x2 - x1) > 0) & ((y2 - y1) > 0)).sum() > len(boxes))
    assert overlapping > 20


def test_same_seed_same_scenes_different_seed_different():
    a = shapes.make_scenes(20, seed=9)
    b = shapes.make_scenes(20, seed=9)
    c = shapes.make_scenes(20, seed=10)
    assert torch.equal(a.images, b.images) and torch.equal(a.masks, b.masks)
    for field in ("boxes", "labels", "colors"):
        assert all(torch.equal(u, v) for u, v in zip(getattr(a, field), getattr(b, field)))
    assert not torch.equal(a.images, c.images)


def test_does_not_touch_global_rng():
    torch.manual_seed(0)
    before = torch.rand(3)
    torch.manual_seed(0)
    shapes.make_scenes(5, seed=1)
    assert torch.equal(torch.rand(3), before)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n=0), ValueError, "n deve ser ≥ 1"),
    (dict(n=2.0), TypeError, "n deve ser um inteiro"),
    (dict(n=True), TypeError, "n deve ser um inteiro"),
    (dict(size=4), ValueError, "size"),
    (dict(num_objects=3), TypeError, "num_objects"),
    (dict(num_objects=(2, 1)), ValueError, "num_objects"),
    (dict(num_objects=(0, 2)), ValueError, "num_objects"),
    (dict(min_size=2), ValueError, "min_size"),
    (dict(min_size=10, max_size=8), ValueError, "max_size"),
    (dict(max_size=40), ValueError, "max_size deve ser ≤ size"),
    (dict(overlap=1), TypeError, "overlap"),
    (dict(allow_cut="não"), TypeError, "allow_cut"),
    (dict(seed=-1), ValueError, "seed"),
])
def test_bad_input(kwargs, error, match):
    kwargs = {"n": 4, **kwargs}
    with pytest.raises(error, match=match):
        shapes.make_scenes(**kwargs)
