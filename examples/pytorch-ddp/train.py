"""A real PyTorch DDP job: 2+ replicas rendezvous through the PyTorchJob environment (env://) and train together.

Checks that WORLD_SIZE and RANK are what Kubeflow would inject, all-reduces a tensor whose sum proves every rank took
part, then runs a few DistributedDataParallel steps on a toy regression and prints Katib-style metrics from rank 0.
"""
import json
import os
import sys

import torch
import torch.distributed as dist

KEYS = ["MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK", "LOCAL_RANK", "PYTHONUNBUFFERED", "PET_MASTER_ADDR",
        "PET_MASTER_PORT", "PET_NNODES", "PET_NODE_RANK", "PET_NPROC_PER_NODE", "CUDA_VISIBLE_DEVICES",
        "SWITCHYARD_REPLICA_INDEX"]


def main() -> int:
    world = int(os.environ["WORLD_SIZE"])
    rank = int(os.environ["RANK"])
    print("ENV " + json.dumps({k: os.environ.get(k) for k in KEYS}, sort_keys=True), flush=True)
    print(f"cuda_device_count: {torch.cuda.device_count()}", flush=True)
    if torch.cuda.is_available():
        print(f"cuda_device_name: {torch.cuda.get_device_name(0)}", flush=True)
    dist.init_process_group("gloo", init_method="env://")
    if dist.get_world_size() != world or dist.get_rank() != rank:
        print(f"mismatch: world {dist.get_world_size()} vs {world}, rank {dist.get_rank()} vs {rank}", file=sys.stderr)
        return 3
    t = torch.tensor([float(rank + 1)])
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    expected = world * (world + 1) / 2
    if t.item() != expected:
        print(f"all-reduce gave {t.item()}, expected {expected}", file=sys.stderr)
        return 4
    print(f"allreduce ok: sum {t.item()} over world size {world} (rank {rank})", flush=True)

    torch.manual_seed(0)
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(4, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    g = torch.Generator().manual_seed(100 + rank)
    w_true = torch.tensor([[1.0, -2.0, 0.5, 3.0]])
    for step in range(1, 21):
        x = torch.randn(32, 4, generator=g)
        y = x @ w_true.T
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if rank == 0 and step % 5 == 0:
            print(f"step={step} loss={loss.item():.6f}", flush=True)
    dist.barrier()
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
