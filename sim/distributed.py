"""Data-parallel giant steps and sharded sweeps with ``torch.distributed`` (THEORY.md §3).

Under ``torchrun`` every process (rank) runs the same program. Two ways to use them:

* **data parallel** (one large run on several devices): the samples of every data set are cut into
  the same seeded blocks as in a single process (``sim.data``); rank ``r`` of ``w`` draws and processes
  the contiguous block range ``shard_range(num_blocks, r, w)``, sums its per-block partials in block
  order in float64 exactly as a single process does, and one ``all_reduce`` adds the float64 sums of the
  ranks (gradient ``p×d`` and ``Σr²``; ridge ``ΦᵀΦ``, ``Φᵀy``, ``yᵀy``; the ``estimate`` preprocessing
  Gram matrix; held-out and test error sums). With one process no reduction is done, so the result is
  bitwise the single-process result; with ``w > 1`` only the order of the float64 additions of the
  ``w`` rank sums differs, so results agree to floating-point tolerance (relative ~1e-15 on the sums).
  After each step the weights are broadcast from rank 0, so all ranks continue from identical bits.
* **sharded sweeps** (many runs): job ``i`` of the jobs not yet in the store goes to rank ``i mod w``
  (``shard_jobs``), each run is an ordinary single-process run, and after every round the records are
  gathered and rank 0 alone writes them to the store.

Backends: NCCL when the runs use CUDA (each rank on ``cuda:LOCAL_RANK``), gloo otherwise. Rank, world
size and local rank come from the variables ``torchrun`` sets (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``); the rendezvous (one machine or several) is ``torchrun``'s.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch

DEFAULT_TIMEOUT_S = 24 * 3600.0  # a sharded sweep waits for the slowest run of a round at each gather


@dataclass(frozen=True)
class DistContext:
    """The process group a run or sweep uses: this process's ``rank`` of ``world_size``, its ``local_rank``
    on its machine, and the ``backend`` (``"nccl"`` or ``"gloo"``)."""

    rank: int
    world_size: int
    local_rank: int
    backend: str

    @property
    def is_root(self) -> bool:
        return self.rank == 0

    def device_for(self, device_type: str) -> str:
        """The torch device this rank computes on: ``cuda:LOCAL_RANK`` for CUDA, else ``cpu``."""
        return f"cuda:{self.local_rank}" if device_type == "cuda" else "cpu"


def env_ranks(environ: Mapping[str, str] | None = None) -> tuple[int, int, int] | None:
    """``(rank, world_size, local_rank)`` from the ``torchrun`` variables, or ``None`` outside torchrun.

    Raises ``ValueError`` (one line) for inconsistent values.
    """
    env = os.environ if environ is None else environ
    if "WORLD_SIZE" not in env:
        return None
    try:
        world = int(env["WORLD_SIZE"])
        rank = int(env.get("RANK", "0"))
        local = int(env.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise ValueError("RANK, WORLD_SIZE and LOCAL_RANK must be integers (as torchrun sets them)") from None
    if world < 1 or not 0 <= rank < world or local < 0:
        raise ValueError(f"inconsistent torchrun environment: RANK={rank}, WORLD_SIZE={world}, LOCAL_RANK={local}")
    return rank, world, local


def backend_for(device_type: str) -> str:
    """``"nccl"`` for CUDA runs, ``"gloo"`` for CPU runs."""
    return "nccl" if device_type == "cuda" else "gloo"


def shard_range(num_blocks: int, rank: int, world_size: int) -> tuple[int, int]:
    """The contiguous block range ``[start, stop)`` of ``rank``: the ranges of ranks ``0 … w−1`` are
    disjoint, in order and cover ``0 … num_blocks−1``; their sizes differ by at most one."""
    if world_size < 1 or not 0 <= rank < world_size or num_blocks < 0:
        raise ValueError(f"need 0 ≤ rank < world_size and num_blocks ≥ 0; got rank={rank}, "
                         f"world_size={world_size}, num_blocks={num_blocks}")
    return num_blocks * rank // world_size, num_blocks * (rank + 1) // world_size


def shard_jobs(num_jobs: int, rank: int, world_size: int) -> list[int]:
    """The job indices of ``rank`` in a sharded sweep: ``i`` with ``i mod world_size == rank``."""
    return list(range(rank, num_jobs, world_size))


@contextmanager
def process_group(backend: str | None = None, init_method: str = "env://", rank: int | None = None,
                  world_size: int | None = None, local_rank: int | None = None,
                  timeout_s: float = DEFAULT_TIMEOUT_S) -> Iterator[DistContext]:
    """Join (or reuse) the default process group and yield its ``DistContext``; on exit the group is
    destroyed if this call created it.

    Without arguments everything comes from ``torchrun``'s environment (``env://``). Tests pass
    ``init_method="file://…"``, ``rank`` and ``world_size``. ``backend`` defaults to NCCL when CUDA is
    available, else gloo; with NCCL the current CUDA device is set to ``local_rank``.
    """
    import torch.distributed as dist

    if not dist.is_available():
        raise ValueError("torch.distributed is not available in this torch build")
    if dist.is_initialized():
        yield DistContext(dist.get_rank(), dist.get_world_size(),
                          local_rank if local_rank is not None else _local_rank(dist.get_rank()),
                          str(dist.get_backend()))
        return
    if rank is None or world_size is None:
        ranks = env_ranks()
        if ranks is None:
            raise ValueError("not started by torchrun (WORLD_SIZE is not set); pass rank and world_size")
        rank, world_size, env_local = ranks
        local_rank = env_local if local_rank is None else local_rank
    local_rank = rank if local_rank is None else local_rank
    backend = backend or backend_for("cuda" if torch.cuda.is_available() else "cpu")
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend, init_method=init_method, rank=rank, world_size=world_size,
                            timeout=datetime.timedelta(seconds=timeout_s))
    try:
        yield DistContext(rank, world_size, local_rank, backend)
    finally:
        dist.destroy_process_group()


def _local_rank(rank: int) -> int:
    ranks = env_ranks()
    return ranks[2] if ranks is not None else rank


def all_reduce_sum(tensors: Sequence[torch.Tensor]) -> None:
    """Replace every tensor (all of one dtype and device) in place by its sum over the ranks: one
    ``all_reduce`` on their concatenation. With one rank the tensors are left untouched."""
    import torch.distributed as dist

    if not tensors or dist.get_world_size() == 1:
        return
    flat = torch.cat([t.reshape(-1) for t in tensors])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    offset = 0
    for t in tensors:
        t.copy_(flat[offset:offset + t.numel()].view_as(t))
        offset += t.numel()


def broadcast_(tensor: torch.Tensor, src: int = 0) -> torch.Tensor:
    """``tensor`` overwritten in place by rank ``src``'s (a no-op with one rank); returns it."""
    import torch.distributed as dist

    if dist.get_world_size() > 1:
        dist.broadcast(tensor, src)
    return tensor


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """Rank ``src``'s picklable ``obj`` on every rank."""
    import torch.distributed as dist

    box = [obj]
    if dist.get_world_size() > 1:
        dist.broadcast_object_list(box, src)
    return box[0]


def all_gather_objects(obj: Any) -> list[Any]:
    """Every rank's picklable ``obj``, in rank order, on every rank."""
    import torch.distributed as dist

    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


@dataclass(frozen=True)
class Shard:
    """What one rank of a data-parallel run does: its ``rank`` of ``world_size``, its block range
    (``blocks(num_blocks)``, see ``shard_range``) and the ``reduce`` callback for the float64 sums."""

    rank: int
    world_size: int

    def blocks(self, num_blocks: int) -> tuple[int, int]:
        return shard_range(num_blocks, self.rank, self.world_size)

    @property
    def reduce(self) -> Callable[[Sequence[torch.Tensor]], None] | None:
        """``all_reduce_sum`` with several ranks, ``None`` (nothing to add) with one."""
        return all_reduce_sum if self.world_size > 1 else None
