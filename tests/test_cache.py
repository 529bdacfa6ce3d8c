"""O cache de modelos nunca serve um modelo errado: chave completa, entrada inteira conferida."""

import functools
import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from livro import cache, train

CFG = train.Config(num_epochs=2, batch_size=32, lr=0.05, optimizer="sgd")


def make_data(n=128, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 2, generator=g)
    return X, (X[:, 0] - X[:, 1] > 0).long()


def make_net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))


@pytest.fixture
def models_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("LIVRO_CACHE_MODELOS", str(tmp_path / "modelos"))
    return tmp_path / "modelos"


def only_entry(folder):
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
    assert len(entries) == 1
    return entries[0]


def states_equal(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def strip(history):
    return {k: v for k, v in history.items() if k not in ("cached", "seconds")}


def test_hit_is_bit_identical_to_fresh_training(models_tmp):
    X, y = make_data()
    fresh, h_fresh = train.fit(make_net(), X, y, X, y, CFG, cache=False)
    train.fit(make_net(), X, y, X, y, CFG)  # grava
    hit, h_hit = train.fit(make_net(), X, y, X, y, CFG)
    assert h_hit["cached"] is True
    assert states_equal(fresh, hit) and strip(h_fresh) == strip(h_hit)


@pytest.mark.parametrize("damage", ["history_missing", "history_edited", "history_garbage",
                                    "weights_missing", "weights_flipped", "meta_missing"])
def test_damaged_entry_is_retrained_from_initial_state(models_tmp, capsys, damage):
    X, y = make_data()
    fresh, h_fresh = train.fit(make_net(), X, y, cfg=CFG, cache=False)
    train.fit(make_net(), X, y, cfg=CFG)
    entry = only_entry(models_tmp)
    if damage == "history_missing":
        (entry / "historico.json").unlink()
    elif damage == "history_edited":
        hist = json.loads((entry / "historico.json").read_text())
        hist["train_loss"][0] = 0.0
        (entry / "historico.json").write_text(json.dumps(hist))
    elif damage == "history_garbage":
        (entry / "historico.json").write_bytes(b"\x00not json")
    elif damage == "weights_missing":
        (entry / "pesos.pt").unlink()
    elif damage == "weights_flipped":
        blob = bytearray((entry / "pesos.pt").read_bytes())
        blob[len(blob) // 2] ^= 0xFF
        (entry / "pesos.pt").write_bytes(bytes(blob))
    else:
        (entry / "meta.json").unlink()
    repaired, h_rep = train.fit(make_net(), X, y, cfg=CFG)
    assert h_rep["cached"] is False
    assert "danificada" in capsys.readouterr().out
    # treinado de novo a partir dos pesos INICIAIS: igual a um treino do zero
    assert states_equal(fresh, repaired) and strip(h_fresh) == strip(h_rep)
    again, h_again = train.fit(make_net(), X, y, cfg=CFG)  # a entrada refeita vale
    assert h_again["cached"] is True and states_equal(fresh, again)


def test_load_leaves_model_untouched_when_entry_is_bad(models_tmp):
    X, y = make_data()
    train.fit(make_net(), X, y, cfg=CFG)
    entry = only_entry(models_tmp)
    (entry / "historico.json").write_text("{}x")
    net = make_net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    assert cache.load(entry, net) is None
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_key_sees_values_captured_by_closures():
    X, y = make_data()

    def smoothing_loss(eps):
        def loss_fn(out, target):
            return F.cross_entropy(out, target, label_smoothing=eps)
        return loss_fn

    k1 = cache.key(make_net(), CFG, (X, y), extra=("cpu", smoothing_loss(0.1), None))
    k2 = cache.key(make_net(), CFG, (X, y), extra=("cpu", smoothing_loss(0.2), None))
    k3 = cache.key(make_net(), CFG, (X, y), extra=("cpu", smoothing_loss(0.1), None))
    assert k1 != k2 and k1 == k3


def test_key_sees_partial_arguments_and_globals():
    X, y = make_data()
    part = functools.partial(F.cross_entropy, label_smoothing=0.1)
    other = functools.partial(F.cross_entropy, label_smoothing=0.3)
    assert cache.key(make_net(), CFG, (X, y), extra=(part,)) != cache.key(make_net(), CFG, (X, y), extra=(other,))
    namespace = {"F": F, "EPS": 0.1}
    exec("def loss_fn(out, target):\n    return F.cross_entropy(out, target, label_smoothing=EPS)\n", namespace)
    k1 = cache.key(make_net(), CFG, (X, y), extra=(namespace["loss_fn"],))
    namespace["EPS"] = 0.2
    k2 = cache.key(make_net(), CFG, (X, y), extra=(namespace["loss_fn"],))
    assert k1 != k2


class Scaled(nn.Module):
    def __init__(self, scales):
        super().__init__()
        self.lin = nn.Linear(2, 2)
        self.scales = scales  # lista ou dicionário: não aparece no repr

    def forward(self, x):
        return self.lin(x) * self.scales[0]


@pytest.mark.parametrize("a, b", [([1.0], [2.0]), ({0: 1.0}, {0: 2.0}), ((1.0,), (2.0,))])
def test_key_sees_list_and_dict_attributes(a, b):
    X, y = make_data()
    torch.manual_seed(0)
    net_a = Scaled(a)
    torch.manual_seed(0)
    net_b = Scaled(b)
    assert repr(net_a) == repr(net_b)
    assert cache.key(net_a, CFG, (X, y)) != cache.key(net_b, CFG, (X, y))


def test_unhashable_capture_is_refused_with_explicit_way_out(models_tmp):
    X, y = make_data()

    class Opaque:
        factor = 1.0

    opaque = Opaque()

    def loss_fn(out, target):
        return F.cross_entropy(out, target) * opaque.factor

    with pytest.raises(cache.UnhashableError, match="cache_key"):
        train.fit(make_net(), X, y, cfg=CFG, loss_fn=loss_fn)
    _, hist = train.fit(make_net(), X, y, cfg=CFG, loss_fn=loss_fn, cache_key="perda com fator 1")
    assert hist["cached"] is False
    _, hist = train.fit(make_net(), X, y, cfg=CFG, loss_fn=loss_fn, cache_key="perda com fator 1")
    assert hist["cached"] is True
    _, hist = train.fit(make_net(), X, y, cfg=CFG, loss_fn=loss_fn, cache=False)  # sem cache, sem chave
    assert hist["cached"] is False


def test_save_is_atomic_and_complete(models_tmp):
    X, y = make_data()
    train.fit(make_net(), X, y, cfg=CFG)
    entry = only_entry(models_tmp)
    assert sorted(p.name for p in entry.iterdir()) == ["historico.json", "meta.json", "pesos.pt"]
    assert not [p for p in models_tmp.iterdir() if p.name.startswith(".")]  # nada parcial sobrou
    meta = json.loads((entry / "meta.json").read_text())
    assert set(meta["sha256"]) == set(cache.FILES)


@pytest.mark.parametrize("bad, exc", [("abc", ValueError), (123, ValueError), ("g" * 64, ValueError)])
def test_entry_path_bad_input(bad, exc):
    with pytest.raises(exc, match="hex_key"):
        cache.entry_path(bad)


def test_key_bad_input():
    X, y = make_data()
    with pytest.raises(TypeError, match="net"):
        cache.key("rede", CFG, (X, y))
    with pytest.raises(TypeError, match="cfg"):
        cache.key(make_net(), {"lr": 1}, (X, y))
    with pytest.raises(TypeError, match="explícita"):
        cache.key(make_net(), CFG, (X, y), explicit="")
