import json
import time

import pytest
import torch
from torch import nn

from livro import train


def make_data(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 2, generator=g)
    y = (X[:, 0] + X[:, 1] > 0).long()
    return X, y


def make_net(seed=0, hidden=8):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, 2))


@pytest.fixture
def models_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("LIVRO_CACHE_MODELOS", str(tmp_path / "modelos"))
    return tmp_path / "modelos"


CFG = train.Config(num_epochs=3, batch_size=32, lr=0.05, optimizer="sgd")


def test_fit_learns_and_reports(models_tmp, capsys):
    X, y = make_data()
    net, hist = train.fit(make_net(), X, y, X, y, CFG, device="cpu")
    assert hist["cached"] is False
    assert len(hist["train_loss"]) == 3 and len(hist["val_acc"]) == 3
    assert hist["train_loss"][-1] < hist["train_loss"][0]
    assert hist["val_acc"][-1] > 0.9
    out = capsys.readouterr().out
    assert "treino" in out and "lote" in out  # a barra de progresso (tqdm) vai para stdout


def test_cache_hit_loads_same_weights_fast(models_tmp, capsys):
    X, y = make_data()
    net1, hist1 = train.fit(make_net(), X, y, X, y, CFG, device="cpu")
    start = time.perf_counter()
    net2, hist2 = train.fit(make_net(), X, y, X, y, CFG, device="cpu")
    elapsed = time.perf_counter() - start
    assert hist2["cached"] is True and elapsed < 1.0
    assert "carregados do cache" in capsys.readouterr().out
    for a, b in zip(net1.state_dict().values(), net2.state_dict().values()):
        torch.testing.assert_close(a, b)
    assert {k: v for k, v in hist1.items() if k != "cached"} == \
        {k: v for k, v in hist2.items() if k not in ("cached",)}


def test_training_is_deterministic(models_tmp):
    X, y = make_data()
    _, h1 = train.fit(make_net(), X, y, cfg=CFG, device="cpu", cache=False)
    _, h2 = train.fit(make_net(), X, y, cfg=CFG, device="cpu", cache=False)
    assert h1["train_loss"] == h2["train_loss"]


def test_key_covers_model_hparams_data_and_seed():
    X, y = make_data()
    base = train.cache_key(make_net(), CFG, (X, y))
    assert base == train.cache_key(make_net(), CFG, (X, y))
    assert base != train.cache_key(make_net(seed=1), CFG, (X, y))           # pesos iniciais (semente)
    assert base != train.cache_key(make_net(hidden=9), CFG, (X, y))         # arquitetura
    assert base != train.cache_key(make_net(), train.Config(num_epochs=4, batch_size=32, lr=0.05,
                                                            optimizer="sgd"), (X, y))  # hiperparâmetro
    X2 = X.clone()
    X2[0, 0] += 1e-3
    assert base != train.cache_key(make_net(), CFG, (X2, y))                # dados
    assert base != train.cache_key(make_net(), train.Config(num_epochs=3, batch_size=32, lr=0.05,
                                                            optimizer="sgd", seed=1), (X, y))


def test_key_covers_model_code():
    class A(nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.lin = nn.Linear(2, 2)

        def forward(self, x):
            return self.lin(x)

    class B(A):
        def forward(self, x):
            return self.lin(x).relu()

    X, y = make_data()
    assert train.cache_key(A(), CFG, (X, y)) != train.cache_key(B(), CFG, (X, y))


def test_key_covers_module_flags():
    """Duas redes iguais no código, no repr e nos pesos, mas com uma opção diferente (com e sem atalho)."""

    class Block(nn.Module):
        def __init__(self, skip):
            super().__init__()
            torch.manual_seed(0)
            self.skip = skip
            self.lin = nn.Linear(2, 2)

        def forward(self, x):
            return self.lin(x) + x if self.skip else self.lin(x)

    X, y = make_data()
    assert repr(Block(True)) == repr(Block(False))
    assert train.cache_key(Block(True), CFG, (X, y)) != train.cache_key(Block(False), CFG, (X, y))
    net = Block(True)
    before = train.cache_key(net, CFG, (X, y))
    net.eval()  # o modo de treino/avaliação não muda a chave
    assert train.cache_key(net, CFG, (X, y)) == before


def test_key_covers_package_version(monkeypatch):
    X, y = make_data()
    base = train.cache_key(make_net(), CFG, (X, y))
    from livro import cache

    monkeypatch.setattr(cache, "__version__", "9.9.9")
    assert train.cache_key(make_net(), CFG, (X, y)) != base


def entry_of(models_tmp):
    entries = [p for p in models_tmp.iterdir() if not p.name.startswith(".")]
    assert len(entries) == 1
    return entries[0]


def test_corrupt_entry_is_retrained(models_tmp, capsys):
    X, y = make_data()
    train.fit(make_net(), X, y, cfg=CFG, device="cpu")
    weights = entry_of(models_tmp) / "pesos.pt"
    blob = bytearray(weights.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    weights.write_bytes(bytes(blob))
    _, hist = train.fit(make_net(), X, y, cfg=CFG, device="cpu")
    assert hist["cached"] is False
    assert "danificada" in capsys.readouterr().out
    _, hist = train.fit(make_net(), X, y, cfg=CFG, device="cpu")  # a entrada refeita vale
    assert hist["cached"] is True


def test_partial_entry_is_retrained(models_tmp, capsys):
    X, y = make_data()
    train.fit(make_net(), X, y, cfg=CFG, device="cpu")
    (entry_of(models_tmp) / "meta.json").unlink()  # como se a escrita tivesse parado no meio
    _, hist = train.fit(make_net(), X, y, cfg=CFG, device="cpu")
    assert hist["cached"] is False
    assert "danificada" in capsys.readouterr().out
    meta = json.loads((entry_of(models_tmp) / "meta.json").read_text())
    assert set(meta["sha256"]) == {"pesos.pt", "historico.json"}
    assert all(len(h) == 64 for h in meta["sha256"].values())


def test_evaluate_and_predict():
    X, y = make_data(64)
    net = make_net()
    out = train.predict(net, X, batch_size=10)
    assert out.shape == (64, 2)
    loss, acc = train.evaluate(net, X, y, batch_size=7)
    torch.testing.assert_close(torch.tensor(loss), nn.functional.cross_entropy(net(X), y).detach())
    assert acc == pytest.approx(float((net(X).argmax(1) == y).float().mean()))


@pytest.mark.parametrize("kwargs, match", [
    ({"num_epochs": 0}, "num_epochs"), ({"lr": -1.0}, "taxa de aprendizado"),
    ({"optimizer": "rmsprop"}, "otimizador desconhecido"), ({"schedule": "step"}, "agenda"),
    ({"label_smoothing": 1.0}, "label_smoothing"), ({"batch_size": 0}, "batch_size"),
    ({"eval_batch_size": 0}, "eval_batch_size"), ({"momentum": -0.1}, "momentum"),
    ({"seed": 1.5}, "seed"), ({"seed": -1}, "seed"), ({"weight_decay": float("inf")}, "weight_decay"),
    ({"weight_decay": float("nan")}, "weight_decay"), ({"label_smoothing": "0.1"}, "label_smoothing"),
    ({"num_epochs": True}, "num_epochs"), ({"lr": float("nan")}, "taxa de aprendizado"),
    ({"amp": "fp8"}, "amp"), ({"compile": 1}, "compile"), ({"batch_size": 2.0}, "batch_size"),
])
def test_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        train.Config(**kwargs)


def test_bad_data():
    X, y = make_data(10)
    with pytest.raises(ValueError, match="10 entradas mas 9 rótulos"):
        train.fit(make_net(), X, y[:9], cfg=CFG, cache=False)
    with pytest.raises(ValueError, match="juntos"):
        train.fit(make_net(), X, y, X, None, cfg=CFG, cache=False)
    with pytest.raises(TypeError, match="tensores"):
        train.fit(make_net(), X.numpy(), y, cfg=CFG, cache=False)
    with pytest.raises(TypeError, match="Config"):
        train.fit(make_net(), X, y, cfg={"lr": 1}, cache=False)
    with pytest.raises(TypeError, match="Config"):
        train.Config(learning_rate=0.1)  # argumento desconhecido: recusado ao criar, não no fit
    with pytest.raises(ValueError, match=r"rótulos devem estar em \[0, 2\)"):
        train.fit(make_net(), X, torch.full((10,), 2), cfg=CFG, cache=False)
    with pytest.raises(ValueError, match="rótulos devem estar"):
        train.fit(make_net(), X, torch.full((10,), -1), cfg=CFG, cache=False)
    with pytest.raises(ValueError, match=r"forma \(N,\)"):
        train.fit(make_net(), X, y[:, None], cfg=CFG, cache=False)


def test_fit_accepts_dense_labels_for_segmentation(models_tmp):
    """Rótulos (N, H, W) para saídas (N, C, H, W): o caso da segmentação, como em F.cross_entropy."""
    g = torch.Generator().manual_seed(0)
    X = torch.rand(16, 1, 4, 4, generator=g)
    y = (X[:, 0] > 0.5).long()
    torch.manual_seed(0)
    net = nn.Conv2d(1, 2, 1)
    cfg = train.Config(num_epochs=1, batch_size=8, lr=0.1, optimizer="sgd")
    _, hist = train.fit(net, X, y, cfg=cfg, cache=False)
    assert hist["train_acc"] == [None]  # acurácia por exemplo só para saídas (N, C)
    with pytest.raises(ValueError, match="rótulos devem estar"):
        train.fit(nn.Conv2d(1, 2, 1), X, y + 2, cfg=cfg, cache=False)
    with pytest.raises(ValueError, match="vazios"):
        train.fit(make_net(), X[:0], y[:0], cfg=CFG, cache=False)
    with pytest.raises(TypeError, match="loss_fn"):
        train.fit(make_net(), X, y, cfg=CFG, cache=False, loss_fn="mse")
    with pytest.raises(TypeError, match="net"):
        train.fit("rede", X, y, cfg=CFG, cache=False)
    with pytest.raises(ValueError, match="vazio"):
        train.predict(make_net(), X[:0])
    with pytest.raises(TypeError, match="batch_size"):
        train.predict(make_net(), X, batch_size=2.5)


@pytest.mark.parametrize("schedule, optimizer", [("onecycle", "adamw"), ("cosine", "adam")])
def test_schedules_run(models_tmp, schedule, optimizer):
    X, y = make_data()
    cfg = train.Config(num_epochs=2, batch_size=64, lr=0.01, optimizer=optimizer, schedule=schedule)
    _, hist = train.fit(make_net(), X, y, cfg=cfg, device="cpu", cache=False)
    assert len(hist["lr"]) == 2


def test_predict_follows_the_model_device():
    """O dispositivo do modelo manda: ``predict`` leva X até ele e devolve na CPU."""
    X, _ = make_data(16)
    net = make_net()
    out = train.predict(net, X)
    assert out.device.type == "cpu" and out.dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="sem GPU nesta máquina: o teste precisa de um "
                    "segundo dispositivo para pôr o modelo longe dos dados")
def test_helpers_move_inputs_to_a_model_on_another_device():
    from livro import cnn, device, resnet

    X, y = make_data(64)
    net = make_net().to("cuda")
    assert device.of(net).type == "cuda"
    assert train.predict(net, X).device.type == "cpu"  # X na CPU, modelo na GPU
    assert train.evaluate(net, X, y)[1] is not None
    img = torch.rand(4, 1, 28, 28)
    res = resnet.SmallResNet((8, 16, 32), (1, 1, 1)).to("cuda")
    assert resnet.layer_grad_norms(res, img, torch.zeros(4, dtype=torch.long))
    d = resnet.filter_normalized_direction(res, torch.Generator().manual_seed(0))
    assert resnet.loss_surface(res, [d], torch.zeros(1, 1), img, torch.zeros(4, dtype=torch.long)).device.type == "cpu"
    outs = cnn.layer_outputs(res, img, ["stem"])
    assert outs["stem"].device.type == "cpu"
    cfg = train.Config(num_epochs=1, batch_size=16, lr=0.01, optimizer="sgd")
    fitted, _ = train.fit(make_net(), X, y, X, y, cfg, cache=False)
    assert device.of(fitted).type == "cuda" and train.predict(fitted, X).device.type == "cpu"
    aug = resnet.augment(img.to("cuda"), torch.Generator(device="cuda").manual_seed(0))
    assert aug.device.type == "cuda"


def test_progress_is_one_line_when_building(models_tmp, capsys, monkeypatch):
    """Na construção do livro, a barra de progresso escreve uma linha só, com o estado final."""
    monkeypatch.setenv("LIVRO_BUILD", "1")
    X, y = make_data()
    cfg = train.Config(num_epochs=3, batch_size=8, lr=0.05, optimizer="sgd")
    train.fit(make_net(), X, y, cfg=cfg, cache=False)
    out = capsys.readouterr().out
    assert out.count("\r") == 0 and out.count("\n") == 1 and "96/96 lotes" in out


def test_bf16_autocast_on_cpu(models_tmp):
    X, y = make_data()
    cfg = train.Config(num_epochs=2, batch_size=32, lr=0.05, optimizer="sgd", amp="bf16")
    _, hist = train.fit(make_net(), X, y, X, y, cfg, device="cpu", cache=False)
    assert hist["val_acc"][-1] > 0.8
