"""The streamed dense engine: giant steps and readouts on samples in all ``d`` coordinates (THEORY.md §3).

Every data set (the batch of each step, the ridge fit, the held-out split, the test set) is drawn block
by block from its seeded stream (``sim.data``), a chunk of whole blocks at a time (``plan.chunk_blocks``),
and consumed at once: the step's gradient by ``sim.giant_step.protocol.streamed_gradient``, the readout
by ``sim.giant_step.readout``. In a data-parallel run (``shard``, ``sim.distributed``) each rank draws and
sums its own block range and the float64 sums are added across ranks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch

from sim.data import Labels, Sampler, linear_fit, make_labels
from sim.distributed import Shard, broadcast_
from sim.giant_step.config import SimConfig
from sim.giant_step.plan import Plan
from sim.giant_step.protocol import giant_step, streamed_gradient
from sim.giant_step.readout import best_lambda, fit_ridge, mean_squared_errors

Label = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def labelled(sampler: Sampler, chunk_blocks: int, label: Label, tick: Callable[[int], None],
             blocks: tuple[int, int] | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """``(z (rows, d), label(z, ξ) (rows,))`` for the blocks ``start ≤ k < stop`` of ``sampler`` (default
    all), drawn ``chunk_blocks`` at a time; ``tick(number of blocks)`` after each chunk."""
    start, stop = blocks if blocks is not None else (0, sampler.num_blocks)
    for chunk in sampler.chunks(chunk_blocks, start, stop):
        for _, z, xi in chunk:
            yield z, label(z, xi)
        tick(len(chunk))


class DenseEngine:
    """The dense engine of one run (``sim.giant_step.engine.Engine``); holds the labels and a progress bar."""

    def __init__(self, cfg: SimConfig, seed: int, plan: Plan, progress: bool, shard: Shard) -> None:
        from theory import activation

        self.cfg, self.seed, self.plan, self.shard = cfg, seed, plan, shard
        self.dtype = getattr(torch, cfg.dtype)
        self.pair = activation(cfg.activation).torch_pair()
        self.labels: Labels = make_labels(cfg.target, cfg.noise, cfg.preprocess, cfg.ell_resolved)
        self.bar = self._bar(progress)

    def sampler(self, stream: str, step: int, n: int) -> Sampler:
        c = self.cfg
        return Sampler(self.seed, stream, step, n, c.d, c.block_size, self.dtype, self.plan.device)

    def _bar(self, progress: bool):  # noqa: ANN202 - tqdm or None
        if not progress:
            return None
        from tqdm.auto import tqdm

        c = self.cfg
        nb = -(-c.n // c.block_size)
        total = c.steps * nb * (2 if c.preprocess == "estimate" else 1)
        readouts = {"every_step": c.steps + 1, "final": 1, "none": 0}[c.readout]
        total += readouts * sum(-(-m // c.block_size) for m in (c.n_fit, c.n_holdout, c.n_test))
        total = -(-total // self.shard.world_size)  # about this rank's share
        return tqdm(total=total, unit="block", delay=2.0, leave=False, dynamic_ncols=True,
                    desc=f"d={c.d} p={c.p} n={c.n} seed={self.seed}")

    def tick(self, k: int) -> None:
        if self.bar is not None:
            self.bar.update(k)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def step(self, W: torch.Tensor, t: int) -> tuple[torch.Tensor, float]:
        """Giant step ``t`` (1-based): ``(W^t, batch loss before the step)``."""
        c = self.cfg
        sampler = self.sampler("train", 0 if c.reuse_batch else t - 1, c.n)
        mine = self.shard.blocks(sampler.num_blocks)
        fit = linear_fit(sampler, self.labels, self.plan.chunk_blocks, self.tick, mine, self.shard.reduce) \
            if c.preprocess == "estimate" else None
        blocks = labelled(sampler, self.plan.chunk_blocks, lambda z, xi: self.labels.train(z, xi, fit), self.tick,
                          mine)
        grad, loss = streamed_gradient(W, blocks, c.n, self.pair, self.dtype, bf16=c.bf16, reduce=self.shard.reduce)
        W = giant_step(W, grad, c.lr, c.normalize)
        if self.shard.world_size > 1:  # every rank continues from rank 0's bits
            broadcast_(W, 0)
        return W, loss

    def readout(self, W: torch.Tensor) -> dict[str, Any]:
        """Ridge fit on ``n_fit`` samples, λ tuned on ``n_holdout`` noisy ones, test error on ``n_test`` clean ones."""
        c, ch = self.cfg, self.plan.chunk_blocks
        sigma = self.pair[0]
        Wc = W.to(self.dtype)
        dual = self.plan.ridge_mode == "dual"  # small (n_fit < p): every rank fits on all samples
        ridge = self.sampler("ridge", 0, c.n_fit)
        fit = fit_ridge(labelled(ridge, ch, self.labels.noisy, self.tick,
                                 None if dual else self.shard.blocks(ridge.num_blocks)),
                        c.n_fit, Wc, sigma, c.ridge_lambdas, dual=dual, reduce=None if dual else self.shard.reduce)
        held = self.sampler("holdout", 0, c.n_holdout)
        hold = mean_squared_errors(labelled(held, ch, self.labels.noisy, self.tick,
                                            self.shard.blocks(held.num_blocks)),
                                   c.n_holdout, Wc, sigma, fit.weights, self.shard.reduce)
        j = best_lambda(hold)
        tst = self.sampler("test", 0, c.n_test)
        test = mean_squared_errors(labelled(tst, ch, lambda z, xi: self.labels.clean(z), self.tick,
                                            self.shard.blocks(tst.num_blocks)),
                                   c.n_test, Wc, sigma, fit.weights, self.shard.reduce)
        return {"test_error": test[j], "test_error_by_lambda": test, "holdout_error_by_lambda": hold,
                "lambda_best": c.ridge_lambdas[j], "train_error": fit.train_error[j]}


__all__ = ["DenseEngine", "labelled"]
