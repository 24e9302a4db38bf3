"""The second-layer readout of a run and its test error, for either engine (THEORY.md §3, §3.2).

``evaluate(...)`` fits the ridge readout of ``sim.giant_step.readout`` on the features ``σ(W z)/√p`` of
one data set, picks ``λ`` on a held-out split and measures the test error on fresh noiseless samples —
the same code for the dense engine (samples in all ``d`` coordinates) and the reduced one (samples in the
``k`` coordinates of ``S_t``, THEORY §3.3: the features need ``z_S`` only). The config says

* which data fit the ridge (``readout_data``): ``n_fit`` fresh samples (``"ridge"`` stream, §3) or the
  last step's training batch (§3.2) — drawn from its stream, or, in a run that conditions on its batch
  (§3.4, ``sim.giant_step.conditioned``), given whole as a ``FitSet`` in the batch's probe coordinates;
* which labels (``readout_labels``): the noisy labels (§3), or the preprocessed ones — minus the exact
  low orders or their estimate ``m + z·b`` on the fit data — with the prediction ``estimate + ridge``;
* how ``λ`` is scaled (``ridge_scale``): on the mean of squares (§3) or the sum (§3.2: ``λ/n_fit`` on the
  mean);
* where the test-time estimate comes from (``test_estimate``): the fit data's (honest) or the test
  set's own labels (the one-step notebook).

Everything is streamed block by block (``sim.data``), per-block sums in float64 in block order; with a
``shard`` each rank sums its block range and ``reduce`` adds the ranks' sums. A non-finite Gram matrix,
weight or error raises ``sim.divergence.Diverged`` naming it and the step (the run adds what to change).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch

from sim.data import Labels, Sampler, low_estimate
from sim.distributed import Shard
from sim.divergence import check_finite, guarded
from sim.giant_step.options import EstimateSource, ReadoutData, RidgeScale
from sim.giant_step.readout import best_lambda, fit_ridge, mean_squared_errors

Label = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Estimate = tuple[torch.Tensor, torch.Tensor]


def labelled(sampler: Sampler, chunk_blocks: int, label: Label, tick: Callable[[int], None],
             blocks: tuple[int, int] | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """``(z (rows, k), label(z, ξ) (rows,))`` for the blocks ``start ≤ k < stop`` of ``sampler`` (default
    all), drawn ``chunk_blocks`` at a time; ``tick(number of blocks)`` after each chunk."""
    start, stop = blocks if blocks is not None else (0, sampler.num_blocks)
    for chunk in sampler.chunks(chunk_blocks, start, stop):
        for _, z, xi in chunk:
            yield z, label(z, xi)
        tick(len(chunk))


@dataclass(frozen=True)
class Streams:
    """Where an engine's data come from: ``sampler(stream, step, n)`` (a ``Sampler`` in the engine's
    coordinates), ``chunk_blocks``, the ``shard`` of a data-parallel run and the progress ``tick``."""

    sampler: Callable[[str, int, int], Sampler]
    chunk_blocks: int
    shard: Shard
    tick: Callable[[int], None]

    def blocks(self, sampler: Sampler, label: Label, mine: bool = True) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """``labelled`` over this rank's blocks (all blocks with ``mine=False``)."""
        return labelled(sampler, self.chunk_blocks, label, self.tick,
                        self.shard.blocks(sampler.num_blocks) if mine else None)

    def estimate(self, kind: str, sampler: Sampler, labels: Labels, label: Label) -> Estimate:
        """``sim.data.low_estimate`` over this rank's blocks, summed over the ranks."""
        return low_estimate(kind, sampler, labels, label, self.chunk_blocks, self.tick,
                            self.shard.blocks(sampler.num_blocks), self.shard.reduce)


@dataclass(frozen=True)
class FitSet:
    """A readout's fit set given whole (the training batch of a conditioned run, THEORY §3.4): samples ``z``
    (``n × k̃``) and the weights ``W`` (``p × k̃``, so that ``z Wᵀ`` are the pre-activations), the fit labels
    ``y`` (``n``), and the set's own low-order estimate in the run's coordinates (``test_estimate``, used by
    ``test_estimate="train"``), streamed in blocks of ``block_size`` rows."""

    z: torch.Tensor
    y: torch.Tensor
    W: torch.Tensor
    test_estimate: Estimate | None
    block_size: int

    def blocks(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for start in range(0, self.z.shape[0], self.block_size):
            yield self.z[start:start + self.block_size], self.y[start:start + self.block_size]


def train_step_index(cfg: Any, t: int) -> int:
    """The ``"train"`` stream index of the batch of step ``t`` (1-based; ``t = 0`` means the first batch)."""
    return 0 if cfg.reuse_batch else max(t, 1) - 1


def effective_lambdas(cfg: Any) -> tuple[float, ...]:
    """The λ of the mean-of-squares objective: ``ridge_lambdas`` (``ridge_scale="mean"``, §3) or
    ``λ/n_fit`` (``"sum"``: ``Σ(y − φθ)² + λ‖θ‖²``, §3.2)."""
    if cfg.ridge_scale == RidgeScale.SUM:
        return tuple(lam / cfg.n_fit for lam in cfg.ridge_lambdas)
    return tuple(cfg.ridge_lambdas)


def evaluate(cfg: Any, W: torch.Tensor, t: int, labels: Labels, sigma: Callable[[torch.Tensor], torch.Tensor],
             streams: Streams, dual: bool, fit_set: FitSet | None = None) -> dict[str, Any]:
    """The readout after step ``t`` of weights ``W`` (``p × k``, compute dtype): ridge fit, held-out
    errors, test errors per λ and the tuned one (module docstring). ``fit_set``: the fit data given whole
    (``FitSet``) instead of drawn from ``streams``.

    Returns
    -------
    dict
        ``test_error`` (tuned λ), ``test_error_by_lambda``, ``holdout_error_by_lambda``, ``lambda_best``
        (as given in ``ridge_lambdas``), ``train_error`` (mean squared training residual at that λ).
    """
    preprocessed = cfg.preprocessed_readout
    estimated = preprocessed and cfg.uses_estimate
    if fit_set is not None:
        fit_data = None
    elif cfg.readout_data == ReadoutData.TRAIN_BATCH:
        fit_data = streams.sampler("train", train_step_index(cfg, t), cfg.n)
    else:
        fit_data = streams.sampler("ridge", 0, cfg.n_fit)
    est = None
    if fit_set is not None:
        est = fit_set.test_estimate if estimated else None
    elif estimated:
        with guarded(f"readout label estimate ({cfg.preprocess})", t):
            est = streams.estimate(cfg.preprocess, fit_data, labels, labels.noisy)
        check_finite(est[1], f"readout label estimate ({cfg.preprocess})", t)

    def noisy(z: torch.Tensor, xi: torch.Tensor) -> torch.Tensor:  # the readout fits untransformed labels
        return labels.remove_low(labels.noisy(z, xi), z, est) if preprocessed else labels.noisy(z, xi)

    with guarded("ridge readout Gram matrix ΦᵀΦ", t):
        if fit_set is not None:
            fit = fit_ridge(fit_set.blocks(), cfg.n_fit, fit_set.W, sigma, effective_lambdas(cfg), dual=dual)
        else:
            fit = fit_ridge(streams.blocks(fit_data, noisy, mine=not dual), cfg.n_fit, W, sigma,
                            effective_lambdas(cfg), dual=dual, reduce=None if dual else streams.shard.reduce)
    check_finite(fit.weights, "ridge readout weight vector", t)
    held = streams.sampler("holdout", 0, cfg.n_holdout)
    hold = mean_squared_errors(streams.blocks(held, noisy), cfg.n_holdout, W, sigma, fit.weights,
                               streams.shard.reduce)
    check_finite(torch.tensor(hold, dtype=torch.float64), "held-out error", t)
    j = best_lambda(hold)
    tst = streams.sampler("test", 0, cfg.n_test)
    test_est = est
    if estimated and cfg.test_estimate == EstimateSource.TEST:  # the notebook: A, B from the test labels themselves
        with guarded(f"test-time label estimate ({cfg.preprocess})", t):
            test_est = streams.estimate(cfg.preprocess, tst, labels, lambda z, xi: labels.clean(z))
        check_finite(test_est[1], f"test-time label estimate ({cfg.preprocess})", t)

    def clean(z: torch.Tensor, xi: torch.Tensor) -> torch.Tensor:
        return labels.clean_preprocessed(z, test_est) if preprocessed else labels.clean(z)

    test = mean_squared_errors(streams.blocks(tst, clean), cfg.n_test, W, sigma, fit.weights, streams.shard.reduce)
    check_finite(torch.tensor(test, dtype=torch.float64), "test error", t)
    return {"test_error": test[j], "test_error_by_lambda": test, "holdout_error_by_lambda": hold,
            "lambda_best": cfg.ridge_lambdas[j], "train_error": fit.train_error[j]}


__all__ = ["FitSet", "Streams", "effective_lambdas", "evaluate", "labelled", "train_step_index"]
