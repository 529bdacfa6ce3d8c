"""Campo receptivo, redes codificador–decodificador e autocodificadores.

- ``receptive_field`` calcula o campo receptivo de uma pilha de camadas pela
  fórmula (reaproveita :func:`livro.cnn.receptive_fields` e acrescenta a regra
  da interpolação por 2); ``gradient_field`` o mede pelo gradiente de uma
  unidade de saída em relação à entrada.
- ``SegNet`` é um codificador–decodificador para segmentação semântica que
  funde escalas como nas notas (§2.4): interpolação, convolução 1×1 e soma;
  ``iou_dice`` mede o resultado classe a classe.
- ``Autoencoder`` e ``fit_autoencoder``: um autocodificador denso, treinado com
  parada antecipada na validação e um agendador que reduz a taxa de
  aprendizado quando a validação estaciona; os pesos vão para o cache de
  :mod:`livro.train`. ``psnr`` mede a qualidade de uma reconstrução.
"""

import math
import time

import torch
import torch.nn.functional as F
from torch import nn

from . import cache as model_cache
from . import cnn, train
from . import device as devices
from .capacity import EarlyStopping

__all__ = ["receptive_field", "gradient_field", "field_extent", "SegNet", "confusion", "iou_dice",
           "Autoencoder", "fit_autoencoder", "psnr"]


def _check_int(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} deve ser um inteiro, recebi {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} deve ser ≥ {minimum}, recebi {value}")


def _check_positive(name, value, allow_zero=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} deve ser um número, recebi {type(value).__name__}")
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} deve ser um número finito {'≥' if allow_zero else '>'} 0, recebi {value}")


# --------------------------------------------------------------------------- campo receptivo


def _window_at_interpolations(layers):
    """Janela, em unidades de cada nível, que a saída enxerga na saída de cada interpolação.

    Percorre as camadas de trás para a frente: uma janela de ``K`` unidades vira
    ``(K − 1)·s + k`` antes de uma camada de janela ``k`` e passo ``s``, e
    ``(K + 3) // 2`` (bilinear) ou ``(K + 1) // 2`` (vizinho mais próximo)
    antes de uma interpolação por 2.
    """
    K, windows = 1, []
    for layer in reversed(layers):
        if isinstance(layer, nn.Upsample):
            windows.append(K)
            K = (K + 3) // 2 if layer.mode == "bilinear" else (K + 1) // 2
        elif isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            k = cnn._square(layer.kernel_size, type(layer).__name__, "janela")
            s = cnn._square(layer.stride or layer.kernel_size, type(layer).__name__, "passo")
            K = (K - 1) * s + k
    return windows


def receptive_field(net):
    """Campo receptivo ``(r, j)`` da saída de uma ``nn.Sequential``, pela fórmula.

    Convoluções e *poolings* seguem :func:`livro.cnn.receptive_fields`
    (``r ← r + (k − 1)·j``, ``j ← j·s``). Uma ``nn.Upsample`` por 2 divide o
    passo ``j`` por dois; a interpolação bilinear mistura, em cada eixo, os dois
    vizinhos mais próximos, e por isso soma ``j`` ao campo (a do vizinho mais
    próximo não soma nada). Depois de uma interpolação, unidades vizinhas
    alternam entre duas "fases"; o campo só é o mesmo para todas as unidades
    quando o resto da pilha olha, na saída de cada interpolação, uma janela de
    tamanho ímpar (uma convolução 3×3 olha 3). Nos outros casos o campo muda
    com a posição da unidade, e a função recusa a pilha.
    """
    if not isinstance(net, nn.Sequential):
        raise TypeError(f"net deve ser uma nn.Sequential, recebi {type(net).__name__}")
    r, j, segment = 1, 1, []

    def close(layers):
        nonlocal r, j
        if layers:
            r_s, j_s, _ = list(cnn.receptive_fields(nn.Sequential(*layers)).values())[-1]
            r, j = r + (r_s - 1) * j, j * j_s

    for layer in net:
        if not isinstance(layer, nn.Upsample):
            segment.append(layer)
            continue
        close(segment)
        segment = []
        if layer.scale_factor not in (2, 2.0, (2, 2), (2.0, 2.0)) or layer.mode not in ("nearest", "bilinear"):
            raise ValueError("só sei a regra de nn.Upsample(scale_factor=2) com mode 'nearest' ou "
                             f"'bilinear'; recebi scale_factor={layer.scale_factor}, mode={layer.mode!r}")
        if layer.align_corners:
            raise ValueError("a regra vale para align_corners=False")
        if j % 2:
            raise ValueError(f"a interpolação chega com passo acumulado j = {j}, ímpar: o campo "
                             "depende da posição da unidade e a regra não é exata")
        if layer.mode == "bilinear":
            r += j
        j //= 2
    close(segment)
    if any(K % 2 == 0 for K in _window_at_interpolations(list(net))):
        raise ValueError("depois de uma interpolação a pilha olha uma janela de tamanho par: o campo "
                         "muda com a posição da unidade e não há um número só")
    return r, j


def gradient_field(net, in_shape, num_samples=4, seed=0):
    """Mede o campo receptivo pelo gradiente: ``|∂ saída central / ∂ entrada|``, ``(H, W)``.

    Sorteia ``num_samples`` entradas de forma ``in_shape = (C, H, W)``, soma os
    canais da unidade central da saída ``(N, C', h, w)`` e propaga para trás.
    Devolve, na CPU, a soma dos valores absolutos do gradiente sobre amostras e
    canais: os pixels fora do campo recebem exatamente zero. Várias amostras
    servem às camadas cujo caminho depende dos dados (*max pooling*, ReLU).
    """
    if not isinstance(net, nn.Module):
        raise TypeError(f"net deve ser um torch.nn.Module, recebi {type(net).__name__}")
    if not (isinstance(in_shape, tuple) and len(in_shape) == 3):
        raise ValueError(f"in_shape deve ser uma tupla (C, H, W), recebi {in_shape!r}")
    for name, value in zip(("C", "H", "W"), in_shape):
        _check_int(f"in_shape[{name}]", value)
    _check_int("num_samples", num_samples)
    _check_int("seed", seed, 0)
    gen = torch.Generator().manual_seed(seed)
    x = devices.to_model(net, torch.randn((num_samples, *in_shape), generator=gen)).requires_grad_(True)
    was_training = net.training
    net.eval()  # a normalização em lote, em treino, misturaria as amostras
    try:
        out = net(x)
        if out.ndim != 4:
            raise ValueError(f"a saída da rede deve ser (N, C, h, w), veio {tuple(out.shape)}")
        h, w = out.shape[-2:]
        out[:, :, h // 2, w // 2].sum().backward()
    finally:
        net.train(was_training)
    return x.grad.abs().sum(dim=(0, 1)).cpu()


def field_extent(grad):
    """``(top, left, height, width)`` do retângulo que contém os pixels de gradiente não nulo."""
    if not isinstance(grad, torch.Tensor) or grad.ndim != 2:
        raise ValueError("grad deve ser um tensor (H, W), como o de gradient_field")
    rows = (grad.sum(dim=1) > 0).nonzero().flatten()
    cols = (grad.sum(dim=0) > 0).nonzero().flatten()
    if len(rows) == 0:
        raise ValueError("o gradiente é todo zero: a unidade não depende da entrada")
    top, left = int(rows[0]), int(cols[0])
    return top, left, int(rows[-1]) - top + 1, int(cols[-1]) - left + 1


# --------------------------------------------------------------------------- segmentação


def conv_bn_relu(in_channels, out_channels, stride=1):
    """Convolução 3×3 (*padding* 1, sem viés) → normalização em lote → ReLU."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU())


class SegNet(nn.Module):
    """Codificador–decodificador que classifica cada pixel, fundindo escalas.

    O codificador tem um estágio por largura em ``widths``: o primeiro na
    resolução da imagem, cada seguinte com uma convolução de passo 2 que divide
    o lado por dois. O decodificador parte do estágio mais profundo e, em cada
    escala, interpola a sua ativação para o tamanho da ativação do codificador,
    ajusta os canais desta com uma convolução 1×1, **soma** as duas e aplica uma
    convolução 3×3. Com ``fuse=False`` (a ablação), a soma é omitida: o
    decodificador só vê o estágio mais profundo. Um classificador 1×1 dá
    ``(N, num_classes, H, W)``.
    """

    def __init__(self, num_classes=4, widths=(16, 32, 64), dec_channels=32, fuse=True, in_channels=3):
        super().__init__()
        for name, value in (("num_classes", num_classes), ("dec_channels", dec_channels),
                            ("in_channels", in_channels)):
            _check_int(name, value)
        widths = tuple(widths)
        if len(widths) < 2:
            raise ValueError(f"widths precisa de ao menos duas escalas, recebi {widths}")
        for w in widths:
            _check_int("cada largura em widths", w)
        if not isinstance(fuse, bool):
            raise TypeError(f"fuse deve ser True ou False, recebi {type(fuse).__name__}")
        self.fuse = fuse
        stages, channels = [], in_channels
        for i, w in enumerate(widths):
            stages.append(nn.Sequential(conv_bn_relu(channels, w, stride=1 if i == 0 else 2),
                                        conv_bn_relu(w, w)))
            channels = w
        self.encoder = nn.ModuleList(stages)
        lateral_from = range(len(widths)) if fuse else [len(widths) - 1]
        self.lateral = nn.ModuleDict({str(i): nn.Conv2d(widths[i], dec_channels, 1) for i in lateral_from})
        self.smooth = nn.ModuleList(conv_bn_relu(dec_channels, dec_channels) for _ in widths[:-1])
        self.classifier = nn.Conv2d(dec_channels, num_classes, 1)

    def forward(self, x):
        if x.ndim != 4:
            raise ValueError(f"esperava imagens (N, C, H, W), recebi a forma {tuple(x.shape)}")
        factor = 2 ** (len(self.encoder) - 1)
        if x.shape[-1] % factor or x.shape[-2] % factor:
            raise ValueError(f"altura e largura devem ser múltiplos de {factor}, recebi {tuple(x.shape[-2:])}")
        feats, h = [], x
        for stage in self.encoder:
            h = stage(h)
            feats.append(h)  # resoluções 1, 1/2, 1/4, …
        last = len(feats) - 1
        d = self.lateral[str(last)](feats[last])
        for i in reversed(range(last)):
            d = F.interpolate(d, size=feats[i].shape[-2:], mode="bilinear", align_corners=False)
            if self.fuse:
                d = d + self.lateral[str(i)](feats[i])  # 1×1 ajusta os canais; a soma funde as escalas
            d = self.smooth[i](d)
        return self.classifier(d)  # (N, num_classes, H, W)


def _check_labels(name, t, num_classes):
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} deve ser um tensor do PyTorch, recebi {type(t).__name__}")
    if t.dtype not in (torch.int64, torch.int32, torch.uint8):
        raise TypeError(f"{name} deve ter rótulos inteiros, recebi dtype {t.dtype}")
    if t.numel() == 0:
        raise ValueError(f"{name} está vazio")
    if int(t.min()) < 0 or int(t.max()) >= num_classes:
        raise ValueError(f"{name} tem rótulos fora de [0, {num_classes}): de {int(t.min())} a {int(t.max())}")


def confusion(pred, target, num_classes):
    """Matriz de confusão ``(C, C)`` dos pixels: linha = classe verdadeira, coluna = prevista."""
    _check_int("num_classes", num_classes)
    _check_labels("pred", pred, num_classes)
    _check_labels("target", target, num_classes)
    if pred.shape != target.shape:
        raise ValueError(f"pred e target devem ter a mesma forma, recebi {tuple(pred.shape)} e {tuple(target.shape)}")
    if pred.device != target.device:
        raise ValueError(f"pred está em {pred.device} e target em {target.device}")
    index = target.flatten().long() * num_classes + pred.flatten().long()
    return torch.bincount(index, minlength=num_classes**2).reshape(num_classes, num_classes).cpu()


def iou_dice(pred, target, num_classes):
    """IoU e Dice de cada classe, ``(C,)`` cada, em ``float64``.

    Com ``VP`` (verdadeiros positivos), ``FP`` e ``FN`` contados nos pixels:
    ``IoU = VP / (VP + FP + FN)`` e ``Dice = 2·VP / (2·VP + FP + FN)``. Uma
    classe ausente da previsão e do alvo fica ``nan`` (não há o que medir).
    """
    cm = confusion(pred, target, num_classes).double()
    tp = torch.diag(cm)
    fp, fn = cm.sum(dim=0) - tp, cm.sum(dim=1) - tp
    union = tp + fp + fn
    nan = torch.full_like(tp, float("nan"))
    iou = torch.where(union > 0, tp / union.clamp(min=1), nan)
    dice = torch.where(union > 0, 2 * tp / (2 * tp + fp + fn).clamp(min=1), nan)
    return iou, dice


# --------------------------------------------------------------------------- autocodificadores


class Autoencoder(nn.Module):
    """Autocodificador denso: imagem ``(N, C, H, W)`` → ``latent_dim`` números → imagem.

    O codificador é ``Flatten`` e camadas lineares com ReLU de larguras
    ``hidden``; o decodificador faz o caminho inverso e termina numa sigmoide,
    porque os pixels estão em [0, 1]. ``encode`` e ``decode`` expõem as duas
    metades.
    """

    def __init__(self, latent_dim=2, hidden=(256, 64), image_shape=(1, 28, 28)):
        super().__init__()
        _check_int("latent_dim", latent_dim)
        hidden = tuple(hidden)
        for h in hidden:
            _check_int("cada largura em hidden", h)
        if not (isinstance(image_shape, tuple) and len(image_shape) == 3):
            raise ValueError(f"image_shape deve ser (C, H, W), recebi {image_shape!r}")
        self.image_shape = image_shape
        sizes = (math.prod(image_shape), *hidden, latent_dim)
        enc = [nn.Flatten()]
        for a, b in zip(sizes[:-1], sizes[1:]):
            enc += [nn.Linear(a, b), nn.ReLU()]
        dec = []
        for a, b in zip(sizes[::-1][:-1], sizes[::-1][1:]):
            dec += [nn.Linear(a, b), nn.ReLU()]
        self.encoder = nn.Sequential(*enc[:-1])  # sem ReLU no código latente
        self.decoder = nn.Sequential(*dec[:-1], nn.Sigmoid(), nn.Unflatten(1, image_shape))

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        if tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"esperava imagens (N, {', '.join(map(str, self.image_shape))}), "
                             f"recebi a forma {tuple(x.shape)}")
        return self.decode(self.encode(x))


def _corrupt(x, noise_std, gen):
    """Ruído gaussiano somado e cortado em [0, 1]; ``gen`` vive no dispositivo de ``x``."""
    if noise_std == 0:
        return x
    noise = torch.randn(x.shape, generator=gen, device=x.device)
    return (x + noise_std * noise).clamp(0, 1)


@torch.no_grad()
def _mse(net, X_in, X_out, batch_size):
    total = torch.zeros((), device=X_in.device)
    for i in range(0, len(X_in), batch_size):
        total += F.mse_loss(net(X_in[i:i + batch_size]), X_out[i:i + batch_size], reduction="sum")
    return float(total) / X_out.numel()


def fit_autoencoder(net, X, X_val, *, lr=1e-3, batch_size=128, max_epochs=300, patience=12,
                    lr_patience=4, factor=0.5, noise_std=0.0, seed=0, cache=True, desc="autocodificador"):
    """Treina ``net`` a reconstruir ``X`` (erro quadrático médio), com Adam; devolve ``(net, history)``.

    A cada época mede o erro na validação ``X_val``. ``ReduceLROnPlateau``
    multiplica a taxa por ``factor`` depois de mais de ``lr_patience`` épocas
    sem melhora; a parada antecipada encerra o treino depois de ``patience``
    épocas sem melhora e restaura os pesos da melhor época. Por isso
    ``lr_patience`` tem de ser no máximo ``patience − 2``: do contrário o
    treino pararia antes de usar a taxa reduzida. Com ``noise_std > 0`` a entrada
    recebe ruído gaussiano e o alvo é a imagem limpa (autocodificador de
    remoção de ruído); a validação usa um ruído sorteado uma vez. Os pesos e o
    histórico vão para o cache de :mod:`livro.train`, indexados pelo conteúdo.
    """
    if not isinstance(net, nn.Module):
        raise TypeError(f"net deve ser um torch.nn.Module, recebi {type(net).__name__}")
    for name, t in (("X", X), ("X_val", X_val)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} deve ser um tensor do PyTorch, recebi {type(t).__name__}")
        if len(t) == 0:
            raise ValueError(f"{name} está vazio")
    if X.shape[1:] != X_val.shape[1:]:
        raise ValueError("X e X_val devem ter a mesma forma por imagem: "
                         f"{tuple(X.shape[1:])} e {tuple(X_val.shape[1:])}")
    for name, value in (("batch_size", batch_size), ("max_epochs", max_epochs), ("patience", patience),
                        ("lr_patience", lr_patience)):
        _check_int(name, value)
    _check_int("seed", seed, 0)
    _check_positive("lr", lr)
    _check_positive("noise_std", noise_std, allow_zero=True)
    _check_positive("factor", factor)
    if factor >= 1:
        raise ValueError(f"factor deve estar em (0, 1) para reduzir a taxa, recebi {factor}")
    if lr_patience + 1 >= patience:
        raise ValueError(f"lr_patience = {lr_patience} e patience = {patience}: o agendador só reduz a taxa "
                         "na época lr_patience + 1 sem melhora, e a parada antecipada viria antes de a "
                         "taxa nova ser usada; use lr_patience ≤ patience − 2")
    dev = devices.of(net) if any(True for _ in net.parameters()) else devices.get()
    net.to(dev)
    cfg = train.Config(num_epochs=max_epochs, batch_size=batch_size, lr=lr, seed=seed, amp="off")
    key = model_cache.key(net, cfg, (X, X_val), extra=("autoencoder", patience, lr_patience, factor,
                                                        noise_std, dev.type))
    entry = model_cache.entry_path(key)
    if cache:
        history = model_cache.load(entry, net)
        if history is not None:
            print(f"{desc}: pesos e histórico carregados do cache (chave {key[:12]}…)")
            net.eval()
            return net, {**history, "cached": True}

    torch.manual_seed(seed)
    gen = torch.Generator(device=dev).manual_seed(seed)
    X, X_val = X.to(dev), X_val.to(dev)
    X_val_in = _corrupt(X_val, noise_std, gen)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=factor, patience=lr_patience)
    stopper = EarlyStopping(patience=patience)
    history = {"train_loss": [], "val_loss": [], "lr": [], "seconds": []}
    bar = train.progress_bar(max_epochs, desc, unit="época")
    for epoch in range(1, max_epochs + 1):
        bar.update(1)
        start = time.perf_counter()
        net.train()
        perm = torch.randperm(len(X), generator=gen, device=dev)
        total = torch.zeros((), device=dev)
        for i in range(0, len(X), batch_size):
            xb = X[perm[i:i + batch_size]]
            loss = F.mse_loss(net(_corrupt(xb, noise_std, gen)), xb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * len(xb)
        net.eval()
        val_loss = _mse(net, X_val_in, X_val, 1024)
        history["train_loss"].append(float(total) / len(X))
        history["val_loss"].append(val_loss)
        history["lr"].append(opt.param_groups[0]["lr"])  # a taxa usada nesta época
        history["seconds"].append(time.perf_counter() - start)
        bar.set_postfix({"val": f"{val_loss:.4f}"}, refresh=False)
        sched.step(val_loss)
        if stopper.step(epoch, val_loss, net):
            break
    bar.close()
    stopper.restore(net)
    net.eval()
    history.update(best_epoch=stopper.best_epoch, stopped_epoch=epoch)
    print(f"{desc}: {epoch} épocas, melhor na {stopper.best_epoch}ª (validação {stopper.best_loss:.4f})")
    if cache:
        model_cache.save(entry, net, history)
    return net, {**history, "cached": False}


def psnr(x, ref, data_range=1.0):
    """Relação sinal–ruído de pico de cada imagem, em dB: ``10·log10(data_range² / EQM)``, ``(N,)``."""
    for name, t in (("x", x), ("ref", ref)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} deve ser um tensor do PyTorch, recebi {type(t).__name__}")
        if not t.is_floating_point():
            raise TypeError(f"{name} deve ser de ponto flutuante, recebi {t.dtype}")
    if x.shape != ref.shape:
        raise ValueError(f"x e ref devem ter a mesma forma, recebi {tuple(x.shape)} e {tuple(ref.shape)}")
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"esperava um lote não vazio de imagens (N, ...), recebi a forma {tuple(x.shape)}")
    _check_positive("data_range", data_range)
    mse = (x.double() - ref.double()).pow(2).flatten(1).mean(dim=1)
    return 10 * torch.log10(data_range**2 / mse)
