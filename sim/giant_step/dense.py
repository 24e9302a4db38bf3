"""The streamed dense engine: giant steps and readouts on samples in all ``d`` coordinates (THEORY.md §3).

Every data set (the batch of each step, the ridge fit, the held-out split, the test set) is drawn block
by block from its seeded stream (``sim.data``), a chunk of whole blocks at a time (``plan.chunk_blocks``),
and consumed at once: the step by ``sim.giant_step.protocol.streamed_correlation``, the readout by
``sim.giant_step.evaluation``. In a data-parallel run (``shard``, ``sim.distributed``) each rank draws and
sums its own block range and the float64 sums are added across ranks. It runs every option of §3 and
§3.2, including those the reduced engine cannot represent (``sim.giant_step.choice``).
"""

from __future__ import annotations

from typing import Any

import torch

from sim.data import LOW_ESTIMATES, Labels, Sampler, make_labels
from sim.distributed import Shard, broadcast_
from sim.divergence import check_finite, guarded
from sim.giant_step.config import SimConfig
from sim.giant_step.evaluation import Streams, evaluate, labelled, train_step_index
from sim.giant_step.init import init_network
from sim.giant_step.plan import Plan
from sim.giant_step.protocol import neuron_step, streamed_correlation
from theory import activation


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


class DenseEngine:
    """The dense engine of one run (``sim.giant_step.engine.Engine``); holds the labels and a progress bar."""

    name = "dense"

    def __init__(self, cfg: SimConfig, seed: int, plan: Plan, progress: bool, shard: Shard, hint: str) -> None:
        self.cfg, self.seed, self.plan, self.shard, self.hint = cfg, seed, plan, shard, hint
        self.dtype = getattr(torch, cfg.dtype)
        self.pair = activation(cfg.activation).torch_pair()
        self.labels: Labels = make_labels(cfg.target, cfg.noise, cfg.preprocess, cfg.ell_resolved)
        self.a = torch.empty(0)
        nb = -(-cfg.n // cfg.block_size) * (2 if cfg.preprocess in LOW_ESTIMATES else 1)
        self.bar = progress_bar(cfg, seed, cfg.steps * nb + readout_blocks(cfg), shard.world_size, "dense") \
            if progress else None
        self.streams = Streams(self.sampler, plan.chunk_blocks, shard, self.tick)

    def sampler(self, stream: str, step: int, n: int) -> Sampler:
        c = self.cfg
        return Sampler(self.seed, stream, step, n, c.d, c.block_size, self.dtype, self.plan.device)

    def tick(self, k: int) -> None:
        if self.bar is not None:
            self.bar.update(k)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def init(self) -> torch.Tensor:
        """``W⁰`` (``p × d``, float64) of ``cfg.init``; keeps ``a`` (``sim.giant_step.init``)."""
        c = self.cfg
        W, self.a = init_network(c.init, c.p, c.d, self.seed, self.plan.device)
        return W

    def step(self, W: torch.Tensor, t: int) -> tuple[torch.Tensor, float]:
        """Giant step ``t`` (1-based): ``(W^t, batch loss before the step)``."""
        c = self.cfg
        sampler = self.sampler("train", train_step_index(c, t), c.n)
        est = None
        if c.preprocess in LOW_ESTIMATES:
            with guarded(f"label estimate ({c.preprocess})", t, self.hint):
                est = self.streams.estimate(c.preprocess, sampler, self.labels, self.labels.noisy)
            check_finite(est[1], f"label estimate ({c.preprocess})", t, self.hint)
        blocks = labelled(sampler, self.plan.chunk_blocks, lambda z, xi: self.labels.train(z, xi, est), self.tick,
                          self.shard.blocks(sampler.num_blocks))
        corr, sq = streamed_correlation(W, self.a, c.scale, blocks, self.pair, self.dtype, c.init == "symmetric",
                                        bf16=c.bf16, reduce=self.shard.reduce)
        loss = sq / (2 * c.n)
        check_finite(loss, "batch loss", t, self.hint)
        W = neuron_step(W, corr, self.a, c.n, c.lr_per_neuron, c.normalize)
        check_finite(W, "first-layer weight matrix W", t, self.hint)
        if self.shard.world_size > 1:  # every rank continues from rank 0's bits
            broadcast_(W, 0)
        return W, loss

    def readout(self, W: torch.Tensor, t: int) -> dict[str, Any]:
        """The readout after step ``t`` (``sim.giant_step.evaluation.evaluate``)."""
        return evaluate(self.cfg, W.to(self.dtype), t, self.labels, self.pair[0], self.streams,
                        self.plan.ridge_mode == "dual", self.hint)


__all__ = ["DenseEngine", "progress_bar", "readout_blocks"]
