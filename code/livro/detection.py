"""Detecção de objetos escrita à mão: caixas, IoU, âncoras, alvos, perda, NMS e mAP.

Convenções: uma caixa é ``(x1, y1, x2, y2)`` em pixels (canto superior esquerdo e
inferior direito; o formato ``"xyxy"``) ou ``(cx, cy, w, h)`` (centro, largura e altura;
``"cxcywh"``). Cada âncora recebe um alvo de ``1 + 4 + C`` valores: a presença de objeto,
os quatro deslocamentos e uma pontuação independente por classe. Tudo é comparado com
``torchvision.ops`` e com o ``COCOeval`` do ``pycocotools`` nos testes e no capítulo 10.
"""

import contextlib
import io
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["box_convert", "box_area", "box_iou", "make_anchors", "encode", "decode",
           "match_anchors", "make_targets", "detection_loss", "nms", "batched_nms",
           "TinyDetector", "predict_boxes", "average_precision", "evaluate_map", "coco_map", "show_scene"]

FORMATS = ("xyxy", "cxcywh")
RULES = ("best", "threshold", "both")
AP_METHODS = ("11", "all", "coco")
COCO_IOUS = tuple(np.linspace(0.5, 0.95, 10).tolist())   # os mesmos números do COCOeval
BOX_CLIP = math.log(1000 / 16)   # limite de tw, th na decodificação (como no torchvision)


# --------------------------------------------------------------------------- conferências


def _check_tensor(name, t, last=None, ndim=None, floating=True):
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} deve ser um torch.Tensor, recebi {type(t).__name__}")
    if floating and not t.is_floating_point():
        raise TypeError(f"{name} deve ter tipo de ponto flutuante, recebi {t.dtype}")
    if (ndim is not None and t.ndim != ndim) or (last is not None and (t.ndim == 0 or t.shape[-1] != last)):
        if ndim is None:
            shape = f"(..., {last})"
        elif last is None:
            shape = f"com {ndim} dimensões"
        else:
            shape = f"({', '.join(['N'] * (ndim - 1) + [str(last)])})"
        raise ValueError(f"{name} deve ter forma {shape}, recebi forma {tuple(t.shape)}")
    if floating and not torch.isfinite(t).all():
        raise ValueError(f"{name} tem valores não finitos (nan ou inf)")


def _check_boxes(name, boxes, ndim=2):
    _check_tensor(name, boxes, last=4, ndim=ndim)
    if ((boxes[..., 2] < boxes[..., 0]) | (boxes[..., 3] < boxes[..., 1])).any():
        raise ValueError(f"{name} deve estar no formato (x1, y1, x2, y2) com x2 ≥ x1 e y2 ≥ y1")


def _check_same(name1, t1, name2, t2):
    if t1.device != t2.device or t1.dtype != t2.dtype:
        raise ValueError(f"{name1} e {name2} devem ter o mesmo dtype e dispositivo; recebi "
                         f"{t1.dtype}/{t1.device} e {t2.dtype}/{t2.device}")


def _check_fraction(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} deve ser um número, recebi {value!r}")
    if not 0 <= value <= 1:
        raise ValueError(f"{name} deve estar em [0, 1], recebi {value}")


def _check_option(name, value, options):
    if value not in options:
        raise ValueError(f"{name} desconhecido: {value!r}; use um de {', '.join(options)}")


# --------------------------------------------------------------------------- caixas e IoU


def box_convert(boxes, in_fmt, out_fmt):
    """Converte caixas ``(..., 4)`` entre os formatos ``"xyxy"`` e ``"cxcywh"``."""
    _check_tensor("boxes", boxes, last=4)
    _check_option("in_fmt", in_fmt, FORMATS)
    _check_option("out_fmt", out_fmt, FORMATS)
    if in_fmt == out_fmt:
        return boxes.clone()
    a, b, c, d = boxes.unbind(-1)
    if in_fmt == "xyxy":
        return torch.stack([(a + c) / 2, (b + d) / 2, c - a, d - b], -1)
    return torch.stack([a - c / 2, b - d / 2, a + c / 2, b + d / 2], -1)


def box_area(boxes):
    """Área de caixas ``(..., 4)`` no formato ``xyxy``."""
    _check_boxes("boxes", boxes, ndim=None)
    return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])


def _iou(a, b):
    """IoU de caixas que se combinam por *broadcasting* (sem conferências)."""
    w = (torch.minimum(a[..., 2], b[..., 2]) - torch.maximum(a[..., 0], b[..., 0])).clamp(min=0)
    h = (torch.minimum(a[..., 3], b[..., 3]) - torch.maximum(a[..., 1], b[..., 1])).clamp(min=0)
    inter = w * h
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter / (area_a + area_b - inter)


def box_iou(boxes1, boxes2):
    """Matriz ``(N, M)`` das IoU (interseção sobre união) entre duas listas de caixas ``xyxy``."""
    _check_boxes("boxes1", boxes1)
    _check_boxes("boxes2", boxes2)
    _check_same("boxes1", boxes1, "boxes2", boxes2)
    return _iou(boxes1[:, None, :], boxes2[None, :, :])


# --------------------------------------------------------------------------- âncoras e alvos


def make_anchors(feature_size, image_size, sizes=(8, 12, 16), ratios=(0.5, 1.0, 2.0)):
    """Âncoras ``(H·W·k, 4)`` em ``xyxy``: ``k = len(sizes)·len(ratios)`` por célula do mapa.

    O mapa ``H × W`` (``feature_size``) cobre a imagem ``image_size``; a âncora de lado
    ``s`` e razão ``r = w/h`` tem ``w = s·√r`` e ``h = s/√r`` (área ``s²``) e fica centrada
    no centro da célula. A ordem é linha, coluna, tamanho, razão: a mesma da saída da rede.
    """
    pairs = []
    for name, value in (("feature_size", feature_size), ("image_size", image_size)):
        pair = (value, value) if isinstance(value, int) and not isinstance(value, bool) else value
        if not (isinstance(pair, tuple) and len(pair) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in pair)):
            raise ValueError(f"{name} deve ser um inteiro ≥ 1 ou um par (altura, largura), recebi {value!r}")
        pairs.append(pair)
    for name, values in (("sizes", sizes), ("ratios", ratios)):
        if not (isinstance(values, (tuple, list)) and len(values) > 0 and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in values)):
            raise ValueError(f"{name} deve ser uma sequência não vazia de números positivos, recebi {values!r}")
    (H, W), (img_h, img_w) = pairs
    stride_y, stride_x = img_h / H, img_w / W
    s = torch.tensor(sizes, dtype=torch.float32).repeat_interleave(len(ratios))
    r = torch.tensor(ratios, dtype=torch.float32).repeat(len(sizes))
    half = torch.stack([s * r.sqrt(), s / r.sqrt()], 1) / 2           # (k, 2): meia largura e altura
    cy, cx = torch.meshgrid((torch.arange(H) + 0.5) * stride_y, (torch.arange(W) + 0.5) * stride_x,
                            indexing="ij")
    centers = torch.stack([cx, cy], -1).reshape(-1, 1, 2)             # (H·W, 1, 2)
    return torch.cat([centers - half, centers + half], -1).reshape(-1, 4)


def encode(boxes, anchors):
    """Deslocamentos ``(tx, ty, tw, th)`` que levam cada âncora à caixa correspondente."""
    _check_boxes("boxes", boxes, ndim=None)
    _check_boxes("anchors", anchors, ndim=None)
    if boxes.shape[-2:] != anchors.shape[-2:]:
        raise ValueError(f"boxes e anchors devem ter a mesma forma, recebi {tuple(boxes.shape)} "
                         f"e {tuple(anchors.shape)}")
    b, a = box_convert(boxes, "xyxy", "cxcywh"), box_convert(anchors, "xyxy", "cxcywh")
    return torch.cat([(b[..., :2] - a[..., :2]) / a[..., 2:], torch.log(b[..., 2:] / a[..., 2:])], -1)


def decode(offsets, anchors):
    """Inverso de :func:`encode`: aplica os deslocamentos ``(..., 4)`` às âncoras."""
    _check_tensor("offsets", offsets, last=4)
    _check_boxes("anchors", anchors, ndim=None)
    a = box_convert(anchors, "xyxy", "cxcywh")
    center = a[..., :2] + offsets[..., :2] * a[..., 2:]
    size = a[..., 2:] * torch.exp(offsets[..., 2:].clamp(max=BOX_CLIP))
    return torch.cat([center - size / 2, center + size / 2], -1)


def match_anchors(anchors, boxes, iou_threshold=0.5, rule="both"):
    """Índice ``(A,)`` da caixa atribuída a cada âncora, ou −1 para âncora vazia.

    ``rule="best"``: cada caixa fica só com a sua âncora de maior IoU; ``"threshold"``: toda
    âncora cuja maior IoU passa de ``iou_threshold`` fica com essa caixa; ``"both"``: as duas
    regras juntas, de modo que nenhum objeto fica sem âncora.
    """
    _check_boxes("anchors", anchors)
    _check_boxes("boxes", boxes)
    _check_fraction("iou_threshold", iou_threshold)
    _check_option("rule", rule, RULES)
    return _match(anchors, boxes[None], torch.ones(1, len(boxes), dtype=torch.bool),
                  iou_threshold, rule)[0]


def _match(anchors, boxes, valid, iou_threshold, rule):
    """Atribuição em lote: ``boxes (N, G, 4)`` com ``valid (N, G)`` → ``(N, A)``."""
    N, G = valid.shape
    matched = torch.full((N, len(anchors)), -1, dtype=torch.long)
    if G == 0:
        return matched
    iou = _iou(anchors[None, :, None, :], boxes[:, None, :, :])       # (N, A, G)
    iou = torch.where(valid[:, None, :], iou, -1.0)
    if rule in ("threshold", "both"):
        best_iou, best_box = iou.max(2)
        matched = torch.where(best_iou >= iou_threshold, best_box, matched)
    if rule in ("best", "both"):
        best_anchor = iou.argmax(1)                                  # (N, G)
        rows = torch.arange(N)
        for g in range(G):   # no máximo algumas caixas; em conflito, a última vence
            ok = valid[:, g]
            matched[rows[ok], best_anchor[ok, g]] = g
    return matched


def make_targets(anchors, boxes, labels, num_classes, iou_threshold=0.5, rule="both"):
    """Alvos ``(N, A, 1 + 4 + C)`` de ``N`` imagens: objeto, deslocamentos e classes (0/1).

    ``boxes`` e ``labels`` são listas com uma entrada por imagem. Numa âncora vazia, todos
    os ``4 + C`` valores ficam em zero: a perda os ignora.
    """
    _check_boxes("anchors", anchors)
    if not isinstance(boxes, (list, tuple)) or not isinstance(labels, (list, tuple)):
        raise TypeError("boxes e labels devem ser listas de tensores, uma entrada por imagem")
    if len(boxes) != len(labels) or len(boxes) == 0:
        raise ValueError(f"boxes e labels devem ter o mesmo comprimento ≥ 1, recebi {len(boxes)} e {len(labels)}")
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise ValueError(f"num_classes deve ser um inteiro ≥ 1, recebi {num_classes!r}")
    for b, lab in zip(boxes, labels):
        _check_boxes("cada caixa de boxes", b)
        if not isinstance(lab, torch.Tensor) or lab.dtype != torch.long or lab.shape != (len(b),):
            raise ValueError("cada entrada de labels deve ser um tensor long com um rótulo por caixa")
        if len(lab) and (lab.min() < 0 or lab.max() >= num_classes):
            raise ValueError(f"os rótulos devem estar em [0, {num_classes}), recebi {lab.tolist()}")
    _check_fraction("iou_threshold", iou_threshold)
    _check_option("rule", rule, RULES)
    N, G = len(boxes), max(len(b) for b in boxes)
    padded = anchors.new_zeros(N, G, 4)
    padded_labels = torch.zeros(N, G, dtype=torch.long)
    valid = torch.zeros(N, G, dtype=torch.bool)
    for i, (b, lab) in enumerate(zip(boxes, labels)):   # só copia: as contas são em lote
        padded[i, :len(b)], padded_labels[i, :len(b)], valid[i, :len(b)] = b, lab, True
    matched = _match(anchors, padded, valid, iou_threshold, rule)     # (N, A)
    pos = matched >= 0
    idx = matched.clamp(min=0)
    gt = padded.gather(1, idx[..., None].expand(-1, -1, 4))            # (N, A, 4)
    gt = torch.where(pos[..., None], gt, anchors)      # âncora vazia: deslocamento zero
    target = anchors.new_zeros(N, len(anchors), 5 + num_classes)
    target[..., 0] = pos.float()
    target[..., 1:5] = encode(gt, anchors.expand_as(gt))
    onehot = F.one_hot(padded_labels.gather(1, idx), num_classes).float()
    target[..., 5:] = onehot * pos[..., None]
    return target


def detection_loss(out, target):
    """Entropia cruzada para as probabilidades e erro quadrático para os deslocamentos.

    ``out`` e ``target`` têm forma ``(N, A, 1 + 4 + C)``; ``out`` traz *logits*. A
    entropia cruzada binária do objeto vale em todas as âncoras; a das classes e o erro
    dos deslocamentos, só nas âncoras com objeto. Tudo é dividido pelo número de âncoras
    com objeto no lote.
    """
    _check_tensor("out", out, ndim=3)
    _check_tensor("target", target, ndim=3)
    if out.shape != target.shape or out.shape[-1] < 6:
        raise ValueError(f"out e target devem ter a mesma forma (N, A, 1 + 4 + C), recebi "
                         f"{tuple(out.shape)} e {tuple(target.shape)}")
    pos = target[..., :1]                                            # (N, A, 1), 0 ou 1
    num_pos = pos.sum().clamp(min=1)
    obj = F.binary_cross_entropy_with_logits(out[..., 0], target[..., 0], reduction="sum")
    cls = F.binary_cross_entropy_with_logits(out[..., 5:], target[..., 5:], reduction="none")
    box = (out[..., 1:5] - target[..., 1:5]) ** 2
    return (obj + (cls * pos).sum() + (box * pos).sum()) / num_pos


# --------------------------------------------------------------------------- supressão de não máximos


def _check_nms(boxes, scores, iou_threshold):
    _check_boxes("boxes", boxes)
    _check_tensor("scores", scores, ndim=1)
    if len(scores) != len(boxes):
        raise ValueError(f"boxes e scores devem ter o mesmo comprimento, recebi {len(boxes)} e {len(scores)}")
    _check_fraction("iou_threshold", iou_threshold)


def nms(boxes, scores, iou_threshold):
    """Supressão de não máximos: índices das caixas mantidas, da maior pontuação para a menor.

    Percorre as caixas em ordem decrescente de pontuação (empates na ordem original); cada
    caixa mantida elimina as seguintes cuja IoU com ela **passa** de ``iou_threshold``.
    """
    _check_nms(boxes, scores, iou_threshold)
    order = torch.argsort(scores, descending=True, stable=True)
    iou = _iou(boxes[order, None, :], boxes[None, order, :])          # (N, N), já ordenada
    removed = torch.zeros(len(order), dtype=torch.bool)
    keep = []
    for i in range(len(order)):
        if not removed[i]:
            keep.append(i)
            removed |= iou[i] > iou_threshold
    return order[torch.tensor(keep, dtype=torch.long)]


def batched_nms(boxes, scores, classes, iou_threshold):
    """NMS separada por classe: caixas de classes diferentes nunca se eliminam."""
    _check_nms(boxes, scores, iou_threshold)
    if not isinstance(classes, torch.Tensor) or classes.dtype != torch.long or classes.shape != scores.shape:
        raise ValueError("classes deve ser um tensor long com uma classe por caixa")
    if len(boxes) == 0:
        return torch.zeros(0, dtype=torch.long)
    # desloca cada classe para uma região só sua: caixas de classes diferentes não se tocam
    shift = (classes * (boxes.max() - boxes.min() + 1)).to(boxes)
    return nms(boxes + shift[:, None], scores, iou_threshold)


# --------------------------------------------------------------------------- o detector


class TinyDetector(nn.Module):
    """Detector de um estágio: corpo convolucional de passo total 4 e uma cabeça 1×1.

    Para cada célula do mapa e cada uma das ``num_anchors`` âncoras, a cabeça prevê
    ``1 + 4 + num_classes`` valores. A saída tem forma ``(N, H·W·k, 1 + 4 + C)``, na
    ordem de :func:`make_anchors`.
    """

    def __init__(self, num_classes=3, num_anchors=9, widths=(16, 32, 64), prior=0.01):
        super().__init__()

        def block(c_in, c_out, stride=1):
            return [nn.Conv2d(c_in, c_out, 3, stride, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]

        w1, w2, w3 = widths
        self.num_classes, self.num_anchors = num_classes, num_anchors
        self.backbone = nn.Sequential(*block(3, w1, stride=2), *block(w1, w2), nn.MaxPool2d(2),
                                      *block(w2, w3), *block(w3, w3))
        self.head = nn.Conv2d(w3, num_anchors * (5 + num_classes), 1)
        with torch.no_grad():   # começa prevendo "sem objeto" com probabilidade 1 − prior
            bias = self.head.bias.view(num_anchors, 5 + num_classes)
            bias.zero_()
            bias[:, 0] = -math.log((1 - prior) / prior)

    def forward(self, x):
        out = self.head(self.backbone(x))                              # (N, k·(5 + C), H, W)
        N, _, H, W = out.shape
        out = out.view(N, self.num_anchors, 5 + self.num_classes, H, W)
        return out.permute(0, 3, 4, 1, 2).reshape(N, H * W * self.num_anchors, -1)


def predict_boxes(out, anchors, score_threshold=0.05, iou_threshold=0.5, max_dets=100):
    """Da saída da rede às detecções de cada imagem: listas de caixas, pontuações e classes.

    A pontuação da classe ``c`` numa âncora é ``σ(objeto)·σ(classe c)``; ficam as que passam
    de ``score_threshold``, a NMS é feita por classe e sobram as ``max_dets`` melhores.
    """
    _check_tensor("out", out, ndim=3)
    _check_boxes("anchors", anchors)
    if out.shape[1] != len(anchors) or out.shape[2] < 6:
        raise ValueError(f"out deve ter forma (N, {len(anchors)}, 1 + 4 + C), recebi {tuple(out.shape)}")
    _check_fraction("score_threshold", score_threshold)
    out, anchors = out.detach().float().cpu(), anchors.cpu()
    boxes_all = decode(out[..., 1:5], anchors)                         # (N, A, 4)
    scores_all = torch.sigmoid(out[..., :1]) * torch.sigmoid(out[..., 5:])   # (N, A, C)
    boxes, scores, labels = [], [], []
    for b, s in zip(boxes_all, scores_all):   # uma imagem por vez: o número de caixas varia
        anchor, label = torch.nonzero(s > score_threshold, as_tuple=True)
        score = s[anchor, label]
        keep = batched_nms(b[anchor], score, label, iou_threshold)[:max_dets]
        boxes.append(b[anchor[keep]])
        scores.append(score[keep])
        labels.append(label[keep])
    return boxes, scores, labels


# --------------------------------------------------------------------------- mAP


def average_precision(recall, precision, method="coco"):
    """Área sob a curva precisão × revocação, com a precisão interpolada.

    ``recall`` e ``precision`` seguem a lista de detecções ordenada por pontuação. A
    precisão interpolada em ``r`` é a maior precisão com revocação ≥ ``r``. ``"11"`` faz a
    média em 11 revocações (0; 0,1; …; 1; PASCAL VOC 2007), ``"coco"`` em 101 (0; 0,01; …; 1)
    e ``"all"`` soma a área de todos os degraus (VOC a partir de 2010).
    """
    _check_tensor("recall", recall, ndim=1)
    _check_tensor("precision", precision, ndim=1)
    if len(recall) != len(precision):
        raise ValueError(f"recall e precision devem ter o mesmo comprimento, recebi {len(recall)} e {len(precision)}")
    _check_option("method", method, AP_METHODS)
    if len(recall) == 0:
        return 0.0
    recall, precision = recall.double(), precision.double()
    envelope = precision.flip(0).cummax(0).values.flip(0)   # máximo de i até o fim
    if method == "all":
        steps = torch.diff(recall, prepend=recall.new_zeros(1))
        return float((steps * envelope).sum())
    points = torch.from_numpy(np.linspace(0, 1, 11 if method == "11" else 101))
    idx = torch.searchsorted(recall, points, side="left")   # 1º ponto com revocação ≥ r
    found = idx < len(recall)
    return float(torch.where(found, envelope[idx.clamp(max=len(recall) - 1)], 0.0).mean())


def _match_image(boxes, scores, gt, thresholds):
    """Acertos ``(T, D)`` das detecções de uma imagem e classe, na ordem das pontuações."""
    order = torch.argsort(scores, descending=True, stable=True)
    hits = torch.zeros(len(thresholds), len(order), dtype=torch.bool)
    if len(gt) == 0 or len(order) == 0:
        return order, hits
    iou = _iou(boxes[order, None, :].double(), gt[None, :, :].double())   # (D, G)
    free = torch.ones(len(thresholds), len(gt), dtype=torch.bool)
    for d in range(len(order)):   # guloso: a mais confiante escolhe primeiro
        ok = free & (iou[d] >= thresholds[:, None])                     # (T, G)
        # a de maior IoU entre as livres; em empate, a última (como no COCOeval)
        best = len(gt) - 1 - torch.where(ok, iou[d], -1.0).flip(1).argmax(1)
        found = ok.any(1)
        hits[found, d] = True
        free[found, best[found]] = False
    return order, hits


def evaluate_map(boxes, scores, labels, gt_boxes, gt_labels, num_classes,
                 iou_thresholds=COCO_IOUS, method="coco", max_dets=100):
    """Precisão média ``(T, C)`` por limiar de IoU e classe, e sua média (o mAP).

    As cinco listas têm uma entrada por imagem. Cada detecção, da mais confiante para a
    menos, casa com o objeto livre de mesma classe de maior IoU, se a IoU ≥ limiar; senão, é
    um falso positivo. Classes sem objeto nenhum ficam de fora da média (NaN na tabela).
    """
    lists = (boxes, scores, labels, gt_boxes, gt_labels)
    if not all(isinstance(v, (list, tuple)) for v in lists):
        raise TypeError("boxes, scores, labels, gt_boxes e gt_labels devem ser listas (uma entrada por imagem)")
    if len({len(v) for v in lists}) != 1 or len(boxes) == 0:
        raise ValueError(f"as cinco listas devem ter o mesmo comprimento ≥ 1, recebi {[len(v) for v in lists]}")
    for b, s, lab, g, gl in zip(*lists):
        _check_boxes("boxes", b)
        _check_boxes("gt_boxes", g)
        if s.shape != (len(b),) or lab.shape != (len(b),) or gl.shape != (len(g),):
            raise ValueError("cada imagem precisa de uma pontuação e uma classe por detecção "
                             "e de uma classe por objeto")
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise ValueError(f"num_classes deve ser um inteiro ≥ 1, recebi {num_classes!r}")
    thresholds = torch.tensor(iou_thresholds, dtype=torch.float64).reshape(-1)
    if len(thresholds) == 0 or (thresholds < 0).any() or (thresholds > 1).any():
        raise ValueError(f"iou_thresholds deve ter limiares em [0, 1], recebi {iou_thresholds!r}")
    _check_option("method", method, AP_METHODS)
    thresholds = thresholds.clamp(max=1 - 1e-10)
    ap = torch.full((len(thresholds), num_classes), float("nan"), dtype=torch.float64)
    for c in range(num_classes):
        all_scores, all_hits, num_gt = [], [], 0
        for b, s, lab, g, gl in zip(*lists):
            mine = lab == c
            order, hits = _match_image(b[mine], s[mine], g[gl == c], thresholds)
            all_scores.append(s[mine][order][:max_dets].double())
            all_hits.append(hits[:, :max_dets])
            num_gt += int((gl == c).sum())
        if num_gt == 0:
            continue
        s_all, h_all = torch.cat(all_scores), torch.cat(all_hits, 1)
        h_all = h_all[:, torch.argsort(s_all, descending=True, stable=True)]
        tp = h_all.double().cumsum(1)
        fp = (~h_all).double().cumsum(1)
        for t in range(len(thresholds)):
            precision = tp[t] / (tp[t] + fp[t] + np.spacing(1))
            ap[t, c] = average_precision(tp[t] / num_gt, precision, method)
    valid = ~ap.isnan()
    return float(ap[valid].mean()) if valid.any() else float("nan"), ap


def _xywh(box):
    x1, y1, x2, y2 = box
    return [x1, y1, x2 - x1, y2 - y1]


def coco_map(boxes, scores, labels, gt_boxes, gt_labels, num_classes):
    """As mesmas contas pelo ``COCOeval`` do ``pycocotools``: ``(mAP@[.5:.95], mAP@0,5, tabela (T, C))``.

    Imagens, objetos e classes do COCO contam a partir de 1 (o ``COCOeval`` confunde o
    objeto de número 0 com "nenhum"); as caixas vão em ``(x, y, largura, altura)``.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images, objects, dets = [], [], []
    for i, (g, gl, b, s, lab) in enumerate(zip(gt_boxes, gt_labels, boxes, scores, labels), start=1):
        images.append({"id": i})
        for box, c in zip(g.tolist(), gl.tolist()):
            w, h = _xywh(box)[2:]
            objects.append({"id": len(objects) + 1, "image_id": i, "category_id": c + 1,
                            "bbox": _xywh(box), "area": w * h, "iscrowd": 0})
        for box, score, c in zip(b.tolist(), s.tolist(), lab.tolist()):
            dets.append({"image_id": i, "category_id": c + 1, "bbox": _xywh(box), "score": score})
    if not dets:
        raise ValueError("coco_map precisa de ao menos uma detecção")
    with contextlib.redirect_stdout(io.StringIO()):   # o pycocotools imprime muito
        truth = COCO()
        truth.dataset = {"images": images, "annotations": objects,
                         "categories": [{"id": c + 1, "name": str(c)} for c in range(num_classes)]}
        truth.createIndex()
        evaluator = COCOeval(truth, truth.loadRes(dets), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    precision = evaluator.eval["precision"][:, :, :, 0, -1]          # (T, 101, C), área "all", 100 det.
    table = np.where((precision > -1).all(1), precision.mean(1), np.nan)
    ap, ap50 = (float(v) if v >= 0 else float("nan") for v in evaluator.stats[:2])   # −1: sem objetos
    return ap, ap50, torch.from_numpy(table)


def show_scene(image, boxes=None, labels=None, scores=None, ax=None, color="white", names=None):
    """Mostra ``image (3, H, W)`` com caixas ``xyxy`` (o pixel ``j`` ocupa ``[j, j + 1]``).

    ``labels`` vira o texto de cada caixa (com ``names``, o nome da classe) e ``scores``
    acrescenta a pontuação; ``color`` é uma cor ou uma lista, uma por caixa. Devolve ``(fig, ax)``.
    """
    import matplotlib.pyplot as plt

    _check_tensor("image", image, ndim=3)
    fig, ax = plt.subplots() if ax is None else (ax.figure, ax)
    H, W = image.shape[-2:]
    ax.imshow(image.detach().cpu().permute(1, 2, 0).clamp(0, 1).numpy(), extent=(0, W, H, 0))
    boxes = torch.zeros(0, 4) if boxes is None else boxes.detach().cpu()
    colors = [color] * len(boxes) if isinstance(color, str) else list(color)
    for k, (x1, y1, x2, y2) in enumerate(boxes.tolist()):
        ax.add_patch(plt.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec=colors[k], lw=1.2))
        text = ""
        if labels is not None:
            text = names[int(labels[k])] if names is not None else str(int(labels[k]))
        if scores is not None:
            text += f" {float(scores[k]):.2f}".replace(".", ",")
        if text:
            ax.text(x1, y1 - 0.5, text.strip(), color=colors[k], fontsize=6, va="bottom")
    ax.set_xlim(0, W)
    ax.set_ylim(H, 0)
    ax.set_axis_off()
    return fig, ax
