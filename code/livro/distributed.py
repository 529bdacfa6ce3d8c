"""Treino com dados em paralelo (``DistributedDataParallel``), o mesmo script na CPU e em GPUs.

Rode com o ``torchrun`` do PyTorch, que cria os processos e lhes diz quem são
(variáveis ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``…)::

    torchrun --standalone --nproc_per_node=2 -m livro.distributed --saida /tmp/ddp.pt

Cada processo fica com uma fatia igual do lote global; depois de ``backward``,
o DDP tira a média dos gradientes de todos os processos (um *all-reduce*), e
todos dão o mesmo passo. Na CPU, a comunicação usa o *backend* ``gloo``; com
GPUs, ``nccl``, uma GPU por processo. Nada aqui é distribuição feita em casa: é
o ``torch.distributed`` que faz tudo, e o mesmo arquivo roda em várias máquinas
com ``--nnodes`` (veja o apêndice "Desempenho computacional").
"""

import argparse
import os
import statistics
import sys
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

__all__ = ["make_problem", "make_net", "train_single", "main"]


def make_problem(n=512, dim=20, num_classes=3, seed=0):
    """Um problema de classificação sintético: ``(X, y)`` com ``n`` exemplos de ``dim`` atributos."""
    for name, value in (("n", n), ("dim", dim), ("num_classes", num_classes)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} deve ser um inteiro ≥ 1, recebi {value!r}")
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, dim, generator=g)
    W = torch.randn(dim, num_classes, generator=g)
    return X, (X @ W).argmax(1)


def make_net(dim=20, num_classes=3, seed=0):
    """A mesma rede (e os mesmos pesos iniciais) em todo processo: duas camadas lineares."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(dim, 64), nn.ReLU(), nn.Linear(64, num_classes))


def _check_batches(n, batch_size, world_size):
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size deve ser um inteiro ≥ 1, recebi {batch_size!r}")
    if batch_size % world_size or n % batch_size:
        raise ValueError(f"o lote global ({batch_size}) deve dividir os {n} exemplos e ser "
                         f"múltiplo do número de processos ({world_size})")


def train_single(X, y, batch_size, lr=0.1, steps=None, seed=0):
    """A referência: um processo só, SGD com lotes globais de ``batch_size``; devolve a rede treinada."""
    _check_batches(len(X), batch_size, 1)
    net = make_net(X.shape[1], int(y.max()) + 1, seed)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    starts = range(0, len(X), batch_size)
    for i in list(starts)[:steps]:
        loss = F.cross_entropy(net(X[i:i + batch_size]), y[i:i + batch_size])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net


def _allreduce_seconds(numel, device, repeats=20):
    """Mediana do tempo de um *all-reduce* de ``numel`` números (o tamanho dos gradientes)."""
    buffer = torch.ones(numel, device=device)
    for _ in range(3):  # aquecimento
        dist.all_reduce(buffer)
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        dist.all_reduce(buffer)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Um treino curto com DDP; o processo 0 salva o resultado.")
    parser.add_argument("--saida", required=True, help="arquivo .pt onde o processo 0 grava pesos e medidas")
    parser.add_argument("--lote", type=int, default=64, help="lote GLOBAL (somado sobre os processos)")
    parser.add_argument("--passos", type=int, default=None, help="número de passos (padrão: uma época)")
    parser.add_argument("--lr", type=float, default=0.1)
    args = parser.parse_args(argv)

    use_cuda = torch.cuda.is_available()
    dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    local = int(os.environ.get("LOCAL_RANK", 0))
    device = torch.device("cuda", local) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)

    X, y = make_problem()
    _check_batches(len(X), args.lote, world)
    net = make_net(X.shape[1], int(y.max()) + 1).to(device)
    ddp = nn.parallel.DistributedDataParallel(net, device_ids=[local] if use_cuda else None)
    opt = torch.optim.SGD(ddp.parameters(), lr=args.lr)
    local_batch = args.lote // world
    step_times = []
    for step, i in enumerate(range(0, len(X), args.lote)):
        if args.passos is not None and step >= args.passos:
            break
        mine = slice(i + rank * local_batch, i + (rank + 1) * local_batch)  # a fatia deste processo
        start = time.perf_counter()
        loss = F.cross_entropy(ddp(X[mine].to(device)), y[mine].to(device))
        opt.zero_grad()
        loss.backward()  # aqui o DDP faz o all-reduce dos gradientes, em baldes, junto com a volta
        opt.step()
        step_times.append(time.perf_counter() - start)
    numel = sum(p.numel() for p in net.parameters())
    allreduce = _allreduce_seconds(numel, device)
    if rank == 0:
        torch.save({"state": {k: v.cpu() for k, v in net.state_dict().items()}, "world_size": world,
                    "backend": dist.get_backend(), "allreduce_s": allreduce, "numel": numel,
                    "step_s": statistics.median(step_times), "steps": len(step_times)}, args.saida)
    dist.barrier()
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
