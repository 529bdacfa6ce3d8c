"""Redes convolucionais no estilo VGG e ferramentas para olhar dentro delas.

Um bloco VGG é uma sequência de convoluções 3×3 (cada uma seguida de
normalização em lote e ReLU) terminada por um *max pooling* 2×2. A rede
``VGGNet`` empilha blocos num **corpo** (*backbone*, o codificador) e termina
numa **cabeça** (*head*): *pooling* médio global e uma camada linear.

As ferramentas de inspeção são: ``layer_outputs`` (ativações de camadas
escolhidas, por *forward hooks*), ``receptive_fields`` (campo receptivo de cada
camada, calculado pela arquitetura), ``top_patches`` (os recortes da entrada
que mais ativam um canal) e ``pca`` (projeção em componentes principais).
"""

import torch
from torch import nn

from . import _check
from . import device as devices

__all__ = ["vgg_block", "VGGNet", "layer_outputs", "receptive_fields", "top_patches", "pca"]

# camadas que agem ponto a ponto: não mudam o campo receptivo
_POINTWISE = (nn.BatchNorm2d, nn.ReLU, nn.Identity, nn.Dropout, nn.Dropout2d, nn.GELU, nn.SiLU)


def _positive_int(name, value):
    return _check.positive_int(value, name)


def _check_input(net, x, in_channels):
    """Imagens ``(N, in_channels, H, W)`` de ponto flutuante, no dispositivo (e tipo) dos pesos."""
    _check.tensor(x, "x", ndim=4, dtype="floating", layout=f"(N, {in_channels}, H, W)")
    if x.shape[1] != in_channels:
        raise ValueError(f"x deve ter {in_channels} canais, como a rede, recebi forma {tuple(x.shape)}")
    _check.model_input(x, net)


def vgg_block(in_channels, out_channels, num_convs=1):
    """Bloco VGG: ``num_convs`` × (conv 3×3 → BatchNorm → ReLU), depois *max pooling* 2×2.

    As convoluções usam *padding* 1, que preserva altura e largura; o *pooling*
    com passo 2 as divide por dois (arredondando para baixo). A convolução não
    tem viés: a normalização em lote, logo depois, subtrairia qualquer viés.
    """
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                        ("num_convs", num_convs)):
        _positive_int(name, value)
    layers = []
    for i in range(num_convs):
        layers += [nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, padding=1, bias=False),
                   nn.BatchNorm2d(out_channels), nn.ReLU()]
    layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class VGGNet(nn.Module):
    """Rede no estilo VGG: corpo de blocos ``vgg_block`` e cabeça GAP + linear.

    ``arch`` é uma sequência de pares ``(num_convs, out_channels)``, um por
    bloco. Entrada ``(N, in_channels, H, W)``; saída ``(N, num_classes)``
    (*logits*). ``features(x)`` devolve o vetor ``(N, C)`` que a cabeça recebe
    depois do *pooling* médio global, a representação aprendida pela rede.
    """

    def __init__(self, arch=((1, 32), (1, 64), (2, 128)), in_channels=1, num_classes=10):
        super().__init__()
        if not isinstance(arch, (list, tuple)) or len(arch) == 0 \
                or any(not isinstance(pair, (list, tuple)) or len(pair) != 2 for pair in arch):
            raise ValueError("arch deve ser uma sequência não vazia de pares (num_convs, out_channels), "
                             f"recebi {_check.describe(arch)}")
        arch = tuple(tuple(pair) for pair in arch)
        _positive_int("in_channels", in_channels)
        _positive_int("num_classes", num_classes)
        blocks, channels = [], in_channels
        for num_convs, out_channels in arch:
            blocks.append(vgg_block(channels, out_channels, num_convs))
            channels = out_channels
        self.arch = arch
        self.backbone = nn.Sequential(*blocks)  # (N, C_in, H, W) → (N, C, H/2^B, W/2^B)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes))

    def features(self, x):
        """Vetor de características ``(N, C)``: corpo seguido do *pooling* médio global."""
        self._check_x(x)
        return self.head[1](self.head[0](self.backbone(x)))

    def _check_x(self, x):
        _check_input(self, x, self.backbone[0][0].in_channels)
        size = min(x.shape[-2:])
        if size < 2 ** len(self.arch):
            raise ValueError(f"x: imagens de {size} pixels ficam vazias depois de {len(self.arch)} "
                             f"poolings 2×2: use ao menos {2 ** len(self.arch)} pixels")

    def forward(self, x):
        self._check_x(x)
        return self.head(self.backbone(x))


@torch.no_grad()
def layer_outputs(net, x, names):
    """Saídas dos submódulos ``names`` de ``net`` para a entrada ``x``, num dicionário.

    Registra um *forward hook* em cada submódulo, roda ``net(x)`` em modo de
    avaliação, no dispositivo da rede, e remove os *hooks*, mesmo se a passagem
    falhar. As saídas voltam na CPU, em ``float32``.
    """
    _check.module(net)
    _check.tensor(x, "x")
    _check.names(names)
    modules = dict(net.named_modules())
    missing = [name for name in names if name not in modules]
    if missing:
        raise ValueError(f"a rede não tem os módulos {missing}; veja os nomes em net.named_modules()")
    outputs, handles = {}, []
    for name in names:
        def hook(module, inputs, output, name=name):
            outputs[name] = output.detach().float().cpu()
        handles.append(modules[name].register_forward_hook(hook))
    was_training = net.training
    net.eval()
    try:
        net(devices.to_model(net, x))  # a entrada vai para o dispositivo da rede
    finally:
        for handle in handles:
            handle.remove()
        net.train(was_training)
    silent = [name for name in names if name not in outputs]
    if silent:
        raise ValueError(f"os módulos {silent} existem mas não rodaram na passagem de x pela rede; "
                         "peça só módulos que forward() usa")
    return {name: outputs[name] for name in names}


def _square(value, name, what):
    """O lado de um tamanho, passo ou *padding* quadrado; um retangular é recusado."""
    if isinstance(value, str):
        raise ValueError(f"a camada {name} usa padding por nome: sem regra aqui; recebi padding {value!r}")
    if isinstance(value, int):
        return value
    if len(set(value)) != 1:
        raise ValueError(f"a camada {name} tem {what} retangular: receptive_fields só trata camadas "
                         f"quadradas, recebi {what} {tuple(value)}")
    return value[0]


def receptive_fields(net):
    """Campo receptivo de cada camada de ``net``, pela arquitetura.

    Percorre as camadas-folha na ordem em que foram registradas (a ordem de
    execução numa ``nn.Sequential``) e devolve ``{nome: (r, j, a)}``: a unidade
    ``(i, k)`` da saída da camada vê, na entrada, as linhas ``a + i·j`` até
    ``a + i·j + r − 1`` (e o mesmo nas colunas). ``r`` é o tamanho do campo
    receptivo, ``j`` o passo acumulado e ``a`` o deslocamento causado pelo
    *padding*. Só conhece convoluções e *poolings* quadrados sem dilatação: uma
    camada retangular, com dilatação ou com *padding* por nome é recusada.
    """
    _check.module(net)
    r, j, a = 1, 1, 0
    fields = {}
    for name, module in net.named_modules():
        if len(list(module.children())) > 0:
            continue
        if isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            dilation = _square(getattr(module, "dilation", 1), name, "dilatação")
            if dilation != 1:
                raise ValueError(f"a camada {name} usa dilatação: sem regra aqui; recebi dilatação {dilation}")
            k = _square(module.kernel_size, name, "filtro")
            s = _square(module.stride or module.kernel_size, name, "passo")
            p = _square(module.padding, name, "padding")
            r, a, j = r + (k - 1) * j, a - p * j, j * s
        elif not isinstance(module, _POINTWISE):
            if isinstance(module, (nn.AdaptiveAvgPool2d, nn.Flatten, nn.Linear)):
                break  # a partir daqui a unidade vê a imagem inteira
            raise ValueError(f"não sei calcular o campo receptivo da camada {name} ({type(module).__name__})")
        fields[name] = (r, j, a)
    return fields


def top_patches(activation, images, field, k=9):
    """Os ``k`` recortes de ``images`` que mais ativam cada canal de ``activation``.

    ``activation`` ``(N, C, h, w)`` é a saída de uma camada para ``images``
    ``(N, H, W)`` ou ``(N, 1, H, W)``, e ``field = (r, j, a)`` o seu campo
    receptivo (de ``receptive_fields``). Para cada canal, escolhe as ``k``
    imagens com maior ativação máxima (uma posição por imagem) e recorta o
    quadrado ``r × r`` da entrada que a unidade vencedora vê; o que cai fora da
    imagem vale zero. Devolve ``(patches, index, value)``: recortes
    ``(C, k, r, r)``, imagem de origem ``(C, k)`` e ativação ``(C, k)``.
    """
    _check.tensor(activation, "activation", ndim=4, dtype="real", layout="(N, C, h, w)")
    _check.tensor(images, "images", dtype="real")
    _check.same_device(("images", images), ("activation", activation))
    if images.ndim == 4:
        if images.shape[1] != 1:
            raise ValueError(f"images deve ter um canal só (top_patches recorta imagens de um canal), "
                             f"recebi forma {tuple(images.shape)}")
        images = images[:, 0]
    if images.ndim != 3 or len(images) != len(activation):
        raise ValueError(f"images deve ser (N, H, W) com o mesmo N das ativações ({len(activation)}), "
                         f"recebi forma {tuple(images.shape)}")
    _positive_int("k", k)
    N, C, h, w = activation.shape
    if k > N:
        raise ValueError(f"k deve ser ≤ {N}, o número de imagens (só há {N}); recebi k = {k}")
    if not isinstance(field, (tuple, list)) or len(field) != 3:
        raise TypeError(f"field deve ser a tripla (r, j, a) de receptive_fields, recebi {_check.describe(field)}")
    r, j, a = (_check.integer(field[0], "field[0] (r)", 1), _check.integer(field[1], "field[1] (j)", 1),
               _check.integer(field[2], "field[2] (a)"))
    best, pos = activation.flatten(2).max(dim=2)  # (N, C): melhor valor e posição em cada imagem
    value, index = best.T.topk(k, dim=1)  # (C, k)
    pos = pos.T.gather(1, index)  # (C, k)
    top = a + (pos // w) * j + r  # primeira linha do recorte, na imagem com margem r
    left = a + (pos % w) * j + r
    padded = nn.functional.pad(images, (r, r, r, r))  # (N, H + 2r, W + 2r)
    offsets = torch.arange(r)
    rows = (top[..., None] + offsets)[..., :, None]  # (C, k, r, 1)
    cols = (left[..., None] + offsets)[..., None, :]  # (C, k, 1, r)
    patches = padded[index[..., None, None], rows, cols]  # (C, k, r, r)
    return patches, index, value


def pca(X, num_components=2):
    """Análise de componentes principais de ``X`` ``(n, d)`` pela SVD dos dados centrados.

    Devolve ``(scores, components, explained_variance)``: projeções ``(n, q)``,
    direções ``(q, d)`` (linhas ortonormais) e variância de cada componente
    (divisor ``n − 1``, como no scikit-learn). Cada componente é definido a
    menos do sinal; aqui o maior coeficiente em valor absoluto é positivo.
    ``X`` é de ponto flutuante, finito, com ``n ≥ 2`` linhas e ``d ≥ 1`` colunas.
    """
    _check.tensor(X, "X", ndim=2, dtype="floating", layout="(n, d)")
    n, d = X.shape
    if n < 2 or d < 1:
        raise ValueError(f"X precisa de ao menos 2 linhas (a variância divide por n − 1) e 1 coluna, "
                         f"recebi forma {tuple(X.shape)}")
    if not bool(torch.isfinite(X).all()):
        raise ValueError("X deve ter só números finitos, recebi NaN ou infinito")
    _positive_int("num_components", num_components)
    if num_components > min(n, d):
        raise ValueError(f"num_components deve ser ≤ min(n, d) = {min(n, d)}; recebi {num_components}, "
                         "que passa de min(n, d)")
    Xc = X - X.mean(dim=0)
    _, S, Vh = torch.linalg.svd(Xc, full_matrices=False)
    components = Vh[:num_components]
    signs = torch.sign(components.gather(1, components.abs().argmax(dim=1, keepdim=True)))
    components = components * signs
    explained = S[:num_components] ** 2 / (n - 1)
    return Xc @ components.T, components, explained
