"""Testes de ``livro.detection``: tudo contra ``torchvision.ops`` e o ``COCOeval`` do pycocotools."""

import math

import pytest
import torch
import torchvision
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision.models.detection._utils import BoxCoder, Matcher

from livro import detection as det

SETTINGS = settings(max_examples=25, deadline=None)


def _boxes(n, seed=0, size=30.0, min_side=0.5, max_side=12.0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g, dtype=torch.float64) * size
    wh = min_side + torch.rand(n, 2, generator=g, dtype=torch.float64) * (max_side - min_side)
    return torch.cat([xy, xy + wh], 1).to(dtype)


seeds = st.integers(0, 10_000)


# --------------------------------------------------------------------------- caixas e IoU


@SETTINGS
@given(n=st.integers(0, 20), seed=seeds, dtype=st.sampled_from([torch.float32, torch.float64]))
def test_box_convert_and_area_match_torchvision(n, seed, dtype):
    b = _boxes(n, seed, dtype=dtype)
    c = det.box_convert(b, "xyxy", "cxcywh")
    torch.testing.assert_close(c, torchvision.ops.box_convert(b, "xyxy", "cxcywh"))
    torch.testing.assert_close(det.box_convert(c, "cxcywh", "xyxy"), b)
    torch.testing.assert_close(det.box_area(b), torchvision.ops.box_area(b))


@SETTINGS
@given(n=st.integers(1, 15), m=st.integers(1, 15), seed=seeds,
       dtype=st.sampled_from([torch.float32, torch.float64]))
def test_box_iou_matches_torchvision(n, m, seed, dtype):
    a, b = _boxes(n, seed, dtype=dtype), _boxes(m, seed + 1, dtype=dtype)
    torch.testing.assert_close(det.box_iou(a, b), torchvision.ops.box_iou(a, b))


def test_box_iou_disjoint_nested_identical():
    a = torch.tensor([[0.0, 0, 4, 4], [0, 0, 10, 10], [1, 1, 3, 5]])
    b = torch.tensor([[5.0, 5, 9, 9], [2, 2, 4, 4], [1, 1, 3, 5]])
    iou = det.box_iou(a, b)
    torch.testing.assert_close(iou, torchvision.ops.box_iou(a, b))
    assert iou[0, 0] == 0                      # disjuntas
    assert iou[1, 1] == pytest.approx(4 / 100)  # aninhada: área menor / área maior
    assert iou[2, 2] == 1                      # idênticas


# --------------------------------------------------------------------------- âncoras e codificação


@pytest.mark.parametrize("feature, image, sizes, ratios", [
    (8, 32, (8, 12, 16), (0.5, 1.0, 2.0)), ((3, 5), (12, 20), (4,), (1.0, 3.0)), (1, 10, (2, 4), (1.0,))])
def test_make_anchors_count_centers_and_shapes(feature, image, sizes, ratios):
    anchors = det.make_anchors(feature, image, sizes, ratios)
    H, W = (feature, feature) if isinstance(feature, int) else feature
    k = len(sizes) * len(ratios)
    assert anchors.shape == (H * W * k, 4)
    c = det.box_convert(anchors, "xyxy", "cxcywh").view(H, W, k, 4)
    img_h, img_w = (image, image) if isinstance(image, int) else image
    torch.testing.assert_close(c[0, 0, :, 0], torch.full((k,), img_w / W / 2))
    torch.testing.assert_close(c[-1, -1, :, 1], torch.full((k,), img_h - img_h / H / 2))
    s = torch.tensor(sizes, dtype=torch.float32).repeat_interleave(len(ratios))
    r = torch.tensor(ratios, dtype=torch.float32).repeat(len(sizes))
    torch.testing.assert_close(c[0, 0, :, 2] * c[0, 0, :, 3], s ** 2)   # área s²
    torch.testing.assert_close(c[0, 0, :, 2] / c[0, 0, :, 3], r)        # razão w/h


@SETTINGS
@given(n=st.integers(1, 30), seed=seeds)
def test_encode_decode_match_torchvision_boxcoder(n, seed):
    boxes, anchors = _boxes(n, seed), _boxes(n, seed + 7)
    coder = BoxCoder(weights=(1.0, 1.0, 1.0, 1.0))
    offsets = det.encode(boxes, anchors)
    torch.testing.assert_close(offsets, coder.encode_single(boxes, anchors))
    torch.testing.assert_close(det.decode(offsets, anchors), coder.decode_single(offsets, anchors))
    torch.testing.assert_close(det.decode(offsets, anchors), boxes, rtol=1e-5, atol=1e-4)  # ida e volta


def test_decode_zero_offsets_gives_anchors():
    anchors = det.make_anchors(4, 16)
    torch.testing.assert_close(det.decode(torch.zeros_like(anchors), anchors), anchors)


@SETTINGS
@given(n=st.integers(1, 6), seed=seeds, threshold=st.sampled_from([0.3, 0.5, 0.7]))
def test_match_threshold_matches_torchvision_matcher(n, seed, threshold):
    anchors = det.make_anchors(6, 30, sizes=(6, 10), ratios=(0.5, 1.0, 2.0))
    boxes = _boxes(n, seed, size=20.0, min_side=4.0)
    ours = det.match_anchors(anchors, boxes, threshold, rule="threshold")
    theirs = Matcher(threshold, threshold, allow_low_quality_matches=False)(det.box_iou(boxes, anchors))
    assert torch.equal(ours, theirs)


@SETTINGS
@given(n=st.integers(1, 6), seed=seeds)
def test_match_both_gives_every_object_an_anchor(n, seed):
    anchors = det.make_anchors(6, 30, sizes=(6, 10), ratios=(0.5, 1.0, 2.0))
    boxes = _boxes(n, seed, size=20.0, min_side=4.0)
    iou = det.box_iou(anchors, boxes)
    both = det.match_anchors(anchors, boxes, 0.5, rule="both")
    best = det.match_anchors(anchors, boxes, 0.5, rule="best")
    assert ((best >= 0).sum() <= n) and ((both >= 0).sum() >= (best >= 0).sum())
    if len(set(iou.argmax(0).tolist())) == n:   # melhores âncoras distintas: todos têm a sua
        assert set(both[both >= 0].tolist()) == set(range(n))
        assert torch.equal(both[iou.argmax(0)], torch.arange(n))
    # toda âncora acima do limiar, que não é a melhor de ninguém, fica com a caixa de maior IoU
    above = (iou.max(1).values >= 0.5)
    above[iou.argmax(0)] = False
    assert torch.equal(both[above], iou.argmax(1)[above])


def test_make_targets_content():
    anchors = det.make_anchors(8, 32)
    boxes = [torch.tensor([[4.0, 4, 14, 12], [18, 16, 30, 30]]), torch.tensor([[0.0, 0, 8, 8]])]
    labels = [torch.tensor([2, 0]), torch.tensor([1])]
    t = det.make_targets(anchors, boxes, labels, num_classes=3)
    assert t.shape == (2, len(anchors), 8)
    for i in range(2):
        matched = det.match_anchors(anchors, boxes[i])
        pos = matched >= 0
        assert torch.equal(t[i, :, 0], pos.float())
        torch.testing.assert_close(det.decode(t[i, pos, 1:5], anchors[pos]), boxes[i][matched[pos]])
        assert torch.equal(t[i, pos, 5:].argmax(1), labels[i][matched[pos]])
        assert (t[i, ~pos, 1:] == 0).all() and (t[i, pos, 5:].sum(1) == 1).all()


# --------------------------------------------------------------------------- perda


def _loss_by_hand(out, target):
    pos = target[..., 0] == 1
    bce = torch.nn.BCEWithLogitsLoss(reduction="sum")
    total = bce(out[..., 0], target[..., 0]) + bce(out[pos][:, 5:], target[pos][:, 5:])
    total = total + ((out[pos][:, 1:5] - target[pos][:, 1:5]) ** 2).sum()
    return total / max(int(pos.sum()), 1)


def test_loss_formula_and_ignored_gradients():
    anchors = det.make_anchors(4, 16, sizes=(4, 8))
    boxes = [torch.tensor([[2.0, 2, 8, 9]]), torch.tensor([[5.0, 1, 15, 7], [1, 9, 6, 15]])]
    target = det.make_targets(anchors, boxes, [torch.tensor([0]), torch.tensor([1, 2])], 3)
    out = torch.randn(target.shape, generator=torch.Generator().manual_seed(0), requires_grad=True)
    loss = det.detection_loss(out, target)
    torch.testing.assert_close(loss, _loss_by_hand(out, target))
    loss.backward()
    empty = target[..., 0] == 0
    assert (out.grad[empty][:, 1:] == 0).all()      # deslocamentos e classes ignorados
    assert (out.grad[empty][:, 0] != 0).all()       # mas a presença de objeto conta
    assert (out.grad[~empty][:, 1:5] != 0).all()


# --------------------------------------------------------------------------- NMS


@SETTINGS
@given(n=st.integers(0, 60), seed=seeds, threshold=st.sampled_from([0.0, 0.3, 0.5, 0.7, 1.0]),
       levels=st.sampled_from([3, 1000]))
def test_nms_matches_torchvision_with_ties(n, seed, threshold, levels):
    boxes = _boxes(n, seed, size=20.0)
    g = torch.Generator().manual_seed(seed)
    scores = torch.randint(levels, (n,), generator=g).float()   # levels=3: muitos empates
    assert torch.equal(det.nms(boxes, scores, threshold), torchvision.ops.nms(boxes, scores, threshold))


@SETTINGS
@given(n=st.integers(0, 60), seed=seeds, threshold=st.sampled_from([0.3, 0.5]),
       levels=st.sampled_from([3, 1000]))
def test_batched_nms_matches_torchvision(n, seed, threshold, levels):
    boxes = _boxes(n, seed, size=20.0)
    g = torch.Generator().manual_seed(seed)
    scores = torch.randint(levels, (n,), generator=g).float()
    classes = torch.randint(3, (n,), generator=g)
    ours = det.batched_nms(boxes, scores, classes, threshold)
    theirs = torchvision.ops.batched_nms(boxes, scores, classes, threshold)
    assert torch.equal(ours.sort().values, theirs.sort().values)
    assert (scores[ours].diff() <= 0).all()        # em ordem decrescente de pontuação


# --------------------------------------------------------------------------- detector e previsão


@pytest.mark.parametrize("num_classes, num_anchors, size", [(3, 9, 32), (5, 4, 48), (1, 1, 16)])
def test_tiny_detector_shapes(num_classes, num_anchors, size):
    net = det.TinyDetector(num_classes, num_anchors)
    out = net(torch.randn(2, 3, size, size))
    assert out.shape == (2, (size // 4) ** 2 * num_anchors, 5 + num_classes)
    # o viés inicial diz "sem objeto" com probabilidade 0,99 em toda âncora
    torch.testing.assert_close(net.head.bias.view(num_anchors, -1)[:, 0],
                               torch.full((num_anchors,), -math.log(99)))


def _perfect_output(target):
    """Logits que reproduzem os alvos: ±20 nas probabilidades, os deslocamentos exatos."""
    out = target.clone()
    out[..., 0] = 40 * target[..., 0] - 20
    out[..., 5:] = 40 * target[..., 5:] - 20
    return out


def test_predict_boxes_on_perfect_output_recovers_objects():
    from livro import shapes

    scenes = shapes.make_scenes(20, seed=3)
    anchors = det.make_anchors(8, 32)
    target = det.make_targets(anchors, scenes.boxes, scenes.labels, 3)
    boxes, scores, labels = det.predict_boxes(_perfect_output(target), anchors, iou_threshold=0.99)
    for b, lab, gb, gl in zip(boxes, labels, scenes.boxes, scenes.labels):
        assert len(b) == len(gb)
        iou = det.box_iou(b, gb)
        assert (iou.max(1).values > 0.999).all() and torch.equal(gl[iou.argmax(1)], lab)
    m, ap = det.evaluate_map(boxes, scores, labels, scenes.boxes, scenes.labels, 3)
    assert m == pytest.approx(1.0) and ap.shape == (10, 3)


# --------------------------------------------------------------------------- AP e mAP


def test_average_precision_three_interpolations_by_hand():
    # 5 detecções, 4 objetos: acerto, erro, acerto, acerto, erro
    hits = torch.tensor([1.0, 0, 1, 1, 0])
    tp = hits.cumsum(0)
    recall, precision = tp / 4, tp / torch.arange(1, 6)
    # envelope: 1 até r = 0,25; 0,75 até r = 0,75; depois nada
    assert det.average_precision(recall, precision, "all") == pytest.approx(0.25 + 0.5 * 0.75)
    assert det.average_precision(recall, precision, "11") == pytest.approx((3 * 1 + 5 * 0.75) / 11)
    assert det.average_precision(recall, precision, "coco") == pytest.approx((26 * 1 + 50 * 0.75) / 101)


def _random_case(seed, num_images=6, num_classes=3):
    g = torch.Generator().manual_seed(seed)
    gt_boxes, gt_labels, boxes, scores, labels = [], [], [], [], []
    for i in range(num_images):
        k = int(torch.randint(0, 4, (1,), generator=g))
        gb = _boxes(k, seed * 100 + i, size=20.0, min_side=3.0)
        gt_boxes.append(gb)
        gt_labels.append(torch.randint(num_classes, (k,), generator=g))
        # detecções: perto dos objetos (com ruído) e algumas soltas
        near = gb[torch.randint(max(k, 1), (2 * k,), generator=g)] if k else gb
        near = near + torch.randn(near.shape, generator=g) * 1.5
        near = torch.cat([near[:, :2], torch.maximum(near[:, 2:], near[:, :2] + 0.5)], 1)
        loose = _boxes(int(torch.randint(0, 3, (1,), generator=g)), seed * 100 + i + 50)
        b = torch.cat([near, loose])
        boxes.append(b)
        scores.append(torch.randint(1, 20, (len(b),), generator=g).float() / 20)   # com empates
        labels.append(torch.randint(num_classes, (len(b),), generator=g))
    if sum(len(b) for b in boxes) == 0:
        boxes[0], scores[0], labels[0] = _boxes(1, seed), torch.tensor([0.5]), torch.tensor([0])
    return boxes, scores, labels, gt_boxes, gt_labels


@SETTINGS
@given(seed=seeds, num_images=st.integers(1, 8))
def test_evaluate_map_matches_cocoeval(seed, num_images):
    case = _random_case(seed, num_images)
    m, ap = det.evaluate_map(*case, num_classes=3)
    m50, ap50 = det.evaluate_map(*case, num_classes=3, iou_thresholds=(0.5,))
    coco, coco50, table = det.coco_map(*case, num_classes=3)
    if math.isnan(coco):   # nenhum objeto em nenhuma imagem: o COCO dá −1
        assert math.isnan(m)
        return
    assert m == pytest.approx(coco, abs=1e-4) and m50 == pytest.approx(coco50, abs=1e-4)
    torch.testing.assert_close(ap, table, equal_nan=True, rtol=0, atol=1e-4)


def test_evaluate_map_same_input_same_output():
    case = _random_case(5)
    assert det.evaluate_map(*case, num_classes=3)[0] == det.evaluate_map(*case, num_classes=3)[0]


# --------------------------------------------------------------------------- entradas ruins


def test_bad_input():
    b = _boxes(3)
    with pytest.raises(TypeError, match="torch.Tensor"):
        det.box_iou(b.tolist(), b)
    with pytest.raises(ValueError, match=r"forma \(N, 4\)"):
        det.box_iou(b[:, :3], b)
    with pytest.raises(ValueError, match="x2 ≥ x1"):
        det.box_iou(b[:, [2, 1, 0, 3]], b)
    with pytest.raises(TypeError, match="ponto flutuante"):
        det.box_area(b.long())
    with pytest.raises(ValueError, match="não finitos"):
        det.box_iou(torch.full((1, 4), float("nan")), b)
    with pytest.raises(ValueError, match="mesmo dtype"):
        det.box_iou(b, b.double())
    with pytest.raises(ValueError, match="in_fmt desconhecido"):
        det.box_convert(b, "xywh", "xyxy")
    with pytest.raises(ValueError, match="feature_size"):
        det.make_anchors(0, 32)
    with pytest.raises(ValueError, match="ratios"):
        det.make_anchors(4, 32, ratios=())
    with pytest.raises(ValueError, match="mesma forma"):
        det.encode(b, b[:2])
    with pytest.raises(ValueError, match="iou_threshold"):
        det.match_anchors(b, b, 1.5)
    with pytest.raises(TypeError, match="iou_threshold"):
        det.nms(b, torch.rand(3), True)
    with pytest.raises(ValueError, match="rule desconhecido"):
        det.match_anchors(b, b, rule="melhor")
    with pytest.raises(ValueError, match=r"rótulos devem estar em \[0, 3\)"):
        det.make_targets(det.make_anchors(2, 8), [b], [torch.tensor([0, 1, 3])], 3)
    with pytest.raises(ValueError, match="mesmo comprimento"):
        det.nms(b, torch.rand(2), 0.5)
    with pytest.raises(ValueError, match="classes"):
        det.batched_nms(b, torch.rand(3), torch.tensor([0.0, 1, 2]), 0.5)
    with pytest.raises(ValueError, match="mesma forma"):
        det.detection_loss(torch.zeros(1, 4, 8), torch.zeros(1, 5, 8))
    with pytest.raises(ValueError, match="method desconhecido"):
        det.average_precision(torch.rand(3), torch.rand(3), "voc")
    with pytest.raises(ValueError, match="mesmo comprimento"):
        det.evaluate_map([b], [torch.rand(3)], [torch.zeros(3, dtype=torch.long)], [b], [], 3)
    with pytest.raises(ValueError, match="out deve ter forma"):
        det.predict_boxes(torch.zeros(1, 5, 8), det.make_anchors(1, 8, (4,), (1.0,)))


def test_show_scene_draws_one_rectangle_per_box():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    image = torch.rand(3, 16, 16)
    fig, ax = det.show_scene(image, _boxes(3, size=8.0), torch.tensor([0, 1, 2]),
                             torch.tensor([0.9, 0.5, 0.25]), names=("a", "b", "c"))
    assert len(ax.patches) == 3 and [t.get_text() for t in ax.texts] == ["a 0,90", "b 0,50", "c 0,25"]
    plt.close(fig)
    with pytest.raises(ValueError, match="forma"):
        det.show_scene(torch.rand(16, 16))
