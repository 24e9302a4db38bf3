"""What every giant-step engine shares: its state value and its construction (THEORY.md §3, §3.3, §3.4).

* ``State``: the value a step takes and returns — the first layer ``W`` (float64, ``p × k``), the second
  layer ``a`` (never trained) and, for an engine that uses a batch more than once (§3.4), what it knows of
  that batch (``batch``, ``sim.giant_step.conditioned.Batch``). Engines keep no mutable run state: the
  coordinates a sampler draws are the ``k`` it is given, never an attribute that steps reassign.
* ``EngineBase``: one constructor for all engines (config, seed, plan, shard, divergence hint, compute
  dtype, activation pair, labels, progress bar), the samplers of the run's streams in ``k`` coordinates
  (``sampler``) and the ``Streams`` the readout draws from (``streams``).
* ``progress_bar``, ``readout_blocks``: the bar and the blocks a run's readouts draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from sim.data import LOW_ESTIMATES, Labels, Sampler, make_labels
from sim.distributed import Shard
from sim.giant_step.config import SimConfig
from sim.giant_step.evaluation import Streams
from sim.giant_step.plan import Plan
from theory import activation


@dataclass(frozen=True)
class State:
    """The state between steps: ``W`` (``p × k``, float64), ``a`` (``p``, float64) and the batch an
    engine keeps for its next use (``None`` for engines that use every batch once)."""

    W: torch.Tensor
    a: torch.Tensor
    batch: Any = None

    @property
    def k(self) -> int:
        """The coordinates of ``W``: ``d`` (dense) or the reduced ``k_t`` (§3.3)."""
        return int(self.W.shape[1])


def progress_bar(cfg: SimConfig, seed: int, total: int, world_size: int, name: str):  # noqa: ANN201 - tqdm
    """A tqdm bar over about this rank's share of ``total`` blocks."""
    from tqdm.auto import tqdm

    return tqdm(total=-(-total // world_size), unit="block", delay=2.0, leave=False, dynamic_ncols=True,
                desc=f"{name} d={cfg.d} p={cfg.p} n={cfg.n} seed={seed}")


def readout_blocks(cfg: SimConfig) -> int:
    """Blocks drawn by the readouts of a run (fit, held-out and test sets, test-time estimates)."""
    per = sum(-(-m // cfg.block_size) for m in (cfg.n_fit, cfg.n_holdout, cfg.n_test))
    if cfg.readout_labels == "preprocessed" and cfg.preprocess in LOW_ESTIMATES:
        per += -(-cfg.n_fit // cfg.block_size) + (-(-cfg.n_test // cfg.block_size) if cfg.test_estimate == "test" else 0)
    return {"every_step": cfg.steps + 1, "final": 1, "none": 0}[cfg.readout] * per


class EngineBase:
    """The construction every engine shares (module docstring); ``step_blocks`` is the number of blocks
    one step draws (for the progress bar)."""

    name = "engine"

    def __init__(self, cfg: SimConfig, seed: int, plan: Plan, progress: bool, shard: Shard, hint: str,
                 step_blocks: int) -> None:
        self.cfg, self.seed, self.plan, self.shard, self.hint = cfg, seed, plan, shard, hint
        self.dtype = getattr(torch, cfg.dtype)
        self.pair = activation(cfg.activation).torch_pair()
        self.labels: Labels = make_labels(cfg.target, cfg.noise, cfg.preprocess, cfg.ell_resolved,
                                          cfg.label_transform)
        total = cfg.steps * step_blocks + readout_blocks(cfg)
        self.bar = progress_bar(cfg, seed, total, shard.world_size, self.name) if progress else None

    def sampler(self, stream: str, step: int, n: int, k: int) -> Sampler:
        """The samples of ``stream`` at ``step`` in ``k`` coordinates (``k = d``: the dense samples)."""
        return Sampler(self.seed, stream, step, n, k, self.cfg.block_size, self.dtype, self.plan.device)

    def streams(self, k: int) -> Streams:
        """The readout's data sources in ``k`` coordinates."""
        return Streams(lambda stream, step, n: self.sampler(stream, step, n, k), self.plan.chunk_blocks,
                       self.shard, self.tick)

    def tick(self, blocks: int) -> None:
        if self.bar is not None:
            self.bar.update(blocks)

    def close(self) -> None:
        """Close the progress bar."""
        if self.bar is not None:
            self.bar.close()


__all__ = ["EngineBase", "State", "progress_bar", "readout_blocks"]
