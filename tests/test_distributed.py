import pytest
import torch

from livro import distributed


def test_problem_is_deterministic():
    X1, y1 = distributed.make_problem(seed=3)
    X2, y2 = distributed.make_problem(seed=3)
    assert torch.equal(X1, X2) and torch.equal(y1, y2)
    assert X1.shape == (512, 20) and int(y1.max()) < 3


def test_single_process_training_lowers_the_loss():
    X, y = distributed.make_problem()
    with torch.no_grad():
        before = torch.nn.functional.cross_entropy(distributed.make_net()(X), y)
    net = distributed.train_single(X, y, batch_size=64)
    with torch.no_grad():
        after = torch.nn.functional.cross_entropy(net(X), y)
    assert after.item() < before.item()


def test_two_halves_average_to_the_global_gradient():
    """A média dos gradientes de duas fatias iguais é o gradiente do lote global (o que o DDP usa)."""
    X, y = distributed.make_problem()
    X, y = X[:64], y[:64]
    grads = []
    for part in (slice(0, 32), slice(32, 64), slice(0, 64)):
        net = distributed.make_net()
        torch.nn.functional.cross_entropy(net(X[part]), y[part]).backward()
        grads.append([p.grad.clone() for p in net.parameters()])
    for g0, g1, g in zip(*grads):
        torch.testing.assert_close((g0 + g1) / 2, g)


@pytest.mark.parametrize("kwargs, match", [({"n": 0}, "n deve"), ({"dim": 2.5}, "dim deve"),
                                           ({"num_classes": True}, "num_classes")])
def test_make_problem_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        distributed.make_problem(**kwargs)


@pytest.mark.parametrize("batch_size", [0, 100, 7.0])
def test_train_single_bad_batch(batch_size):
    X, y = distributed.make_problem()
    with pytest.raises(ValueError, match="lote|batch_size"):
        distributed.train_single(X, y, batch_size=batch_size)
