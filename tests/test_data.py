import gzip
import hashlib
import pickle

import numpy as np
import pytest
import torch

from livro import data

NAMES = list(data.FASHION_SHA256)


def write_idx(path, array):
    """Grava ``array`` (uint8) no formato idx."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def tiny_fashion(tmp_path, monkeypatch):
    """Quatro arquivos idx pequenos (5 treino, 3 teste) e suas somas no lugar das reais."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (5, 28, 28)),
        "train-labels-idx1-ubyte": rng.integers(0, 10, 5),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (3, 28, 28)),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, 3),
    }
    src = tmp_path / "src"
    src.mkdir()
    sums = {}
    for name, a in arrays.items():
        write_idx(src / name, a)
        sums[name] = hashlib.sha256((src / name).read_bytes()).hexdigest()
    monkeypatch.setattr(data, "FASHION_SHA256", sums)
    return src, arrays


def test_read_idx_roundtrip_and_gzip(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "x", a)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "x"), a)
    (tmp_path / "x.gz").write_bytes(gzip.compress((tmp_path / "x").read_bytes()))
    np.testing.assert_array_equal(data.read_idx(tmp_path / "x.gz"), a)


def test_read_idx_bad_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="cabeçalho inválido"):
        data.read_idx(tmp_path / "bad")
    write_idx(tmp_path / "ok", np.zeros((4, 4), np.uint8))
    (tmp_path / "cut").write_bytes((tmp_path / "ok").read_bytes()[:-3])
    with pytest.raises(ValueError, match="truncado"):
        data.read_idx(tmp_path / "cut")


def test_configured_root_first(tmp_path, tiny_fashion, cache_tmp):
    src, arrays = tiny_fashion
    root = tmp_path / "meus-dados"
    (root / "FashionMNIST").mkdir(parents=True)
    src.rename(root / "FashionMNIST" / "raw")
    split = data.fashion_mnist(root=root, debian_dir=tmp_path / "nao-existe")
    assert split.X_train.shape == (5, 28, 28) and split.X_train.dtype == torch.uint8
    assert split.y_test.dtype == torch.int64
    np.testing.assert_array_equal(split.X_test.numpy(), arrays["t10k-images-idx3-ubyte"])


def test_debian_files_unpacked_into_cache(tmp_path, tiny_fashion, cache_tmp):
    src, arrays = tiny_fashion
    debian = tmp_path / "debian"
    debian.mkdir()
    for name in NAMES:
        (debian / f"{name}.gz").write_bytes(gzip.compress((src / name).read_bytes()))
    split = data.fashion_mnist(debian_dir=debian)
    np.testing.assert_array_equal(split.y_train.numpy(), arrays["train-labels-idx1-ubyte"])
    # agora está no cache do usuário, no layout do torchvision: o Debian não é mais lido
    assert (cache_tmp / "dados" / "FashionMNIST" / "raw" / NAMES[0]).is_file()
    assert not list((cache_tmp / "dados" / "FashionMNIST" / "raw").glob("*.parcial"))
    for f in debian.iterdir():
        f.unlink()
    again = data.fashion_mnist(debian_dir=debian)
    assert torch.equal(again.X_train, split.X_train)


def test_checksum_failure(tmp_path, tiny_fashion, cache_tmp):
    src, _ = tiny_fashion
    raw = cache_tmp / "dados" / "FashionMNIST" / "raw"
    raw.parent.mkdir(parents=True)
    src.rename(raw)
    blob = bytearray((raw / NAMES[0]).read_bytes())
    blob[-1] ^= 0xFF
    (raw / NAMES[0]).write_bytes(bytes(blob))
    with pytest.raises(data.ChecksumError, match="corrompido.*apt-get install dataset-fashion-mnist"):
        data.fashion_mnist(debian_dir=tmp_path / "nao-existe")


def test_missing_data_names_the_command(tmp_path, cache_tmp):
    with pytest.raises(data.DataNotFoundError, match="sudo apt-get install dataset-fashion-mnist"):
        data.fashion_mnist(debian_dir=tmp_path / "nao-existe")


def test_real_fashion_mnist(cache_tmp):
    """Os arquivos do pacote Debian (instalado por ``make setup``), conferidos por SHA-256."""
    split = data.fashion_mnist()
    assert split.X_train.shape == (60000, 28, 28) and split.X_test.shape == (10000, 28, 28)
    assert split.X_train.dtype == torch.uint8
    assert torch.bincount(split.y_train).tolist() == [6000] * 10
    assert torch.bincount(split.y_test).tolist() == [1000] * 10
    assert len(data.FASHION_CLASSES) == 10


def test_mnist_fixture_and_missing(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in NAMES:
        shape = (2, 28, 28) if "images" in name else (2,)
        write_idx(raw / name, np.ones(shape, np.uint8))
    split = data.mnist(tmp_path)
    assert split.X_train.shape == (2, 28, 28)
    with pytest.raises(data.DataNotFoundError, match="python -m livro.data mnist"):
        data.mnist(tmp_path / "vazio")


def test_cifar10_fixture_and_missing(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), "labels": [0, 1, 2, 3]}
        (folder / name).write_bytes(pickle.dumps(batch))
    split = data.cifar10(tmp_path)
    assert split.X_train.shape == (20, 3, 32, 32) and split.X_test.shape == (4, 3, 32, 32)
    assert split.y_train.tolist()[:4] == [0, 1, 2, 3]
    with pytest.raises(data.DataNotFoundError, match="python -m livro.data cifar10"):
        data.cifar10(tmp_path / "vazio")


def test_mnist_subset():
    X, y = data.mnist_subset()
    assert X.shape == (5000, 28, 28) and X.dtype == torch.uint8
    assert torch.bincount(y).tolist() == [500] * 10


@pytest.mark.parametrize("name, shape", [("china", (427, 640, 3)), ("camera", (512, 512)),
                                         ("astronaut", (512, 512, 3))])
def test_photo(name, shape):
    image = data.photo(name)
    assert image.shape == shape and image.dtype == np.uint8


def test_photo_unknown():
    with pytest.raises(ValueError, match="foto desconhecida"):
        data.photo("eagle")


def test_array_checksum_detects_change(monkeypatch):
    monkeypatch.setitem(data.ARRAY_SHA256, "camera", "0" * 64)
    with pytest.raises(data.ChecksumError, match="camera"):
        data.photo("camera")


def test_tabular_and_penguins():
    X, y, names = data.tabular("diabetes")
    assert X.shape == (442, 10) and len(names) == 10 and len(y) == 442
    with pytest.raises(ValueError, match="conjunto tabular desconhecido"):
        data.tabular("boston")
    df = data.penguins()
    assert df.shape == (344, 8)


def test_to_float():
    X = torch.tensor([[[0, 255]]], dtype=torch.uint8)
    out = data.to_float(X)
    assert out.shape == (1, 1, 1, 2) and out.dtype == torch.float32
    torch.testing.assert_close(out.flatten(), torch.tensor([0.0, 1.0]))
    with pytest.raises(TypeError, match="uint8"):
        data.to_float(X.float())
    with pytest.raises(ValueError, match="forma"):
        data.to_float(torch.zeros(3, dtype=torch.uint8))


def test_download_when_online(tmp_path, tiny_fashion, cache_tmp, monkeypatch):
    """Sem pasta nem pacote Debian, e com rede, os arquivos são baixados e conferidos."""
    src, arrays = tiny_fashion
    server = tmp_path / "servidor"
    server.mkdir()
    for name in NAMES:
        (server / f"{name}.gz").write_bytes(gzip.compress((src / name).read_bytes()))
    monkeypatch.delenv("LIVRO_OFFLINE")
    monkeypatch.setenv("LIVRO_FASHION_URL", server.as_uri())
    split = data.fashion_mnist(debian_dir=tmp_path / "nao-existe")
    np.testing.assert_array_equal(split.y_test.numpy(), arrays["t10k-labels-idx1-ubyte"])
    # um arquivo adulterado no servidor é recusado
    for f in (cache_tmp / "dados" / "FashionMNIST" / "raw").iterdir():
        f.unlink()
    (server / f"{NAMES[1]}.gz").write_bytes(gzip.compress(b"\0\0\x08\x01\0\0\0\x01\x07"))
    with pytest.raises(data.ChecksumError, match="baixado"):
        data.fashion_mnist(debian_dir=tmp_path / "nao-existe")


def test_offline_never_downloads(tmp_path, cache_tmp, monkeypatch):
    monkeypatch.setenv("LIVRO_FASHION_URL", "http://127.0.0.1:9/nada")
    calls = []
    monkeypatch.setattr(data, "_download_gz", lambda *a: calls.append(a))
    with pytest.raises(data.DataNotFoundError):
        data.fashion_mnist(debian_dir=tmp_path / "nao-existe")
    assert calls == []
