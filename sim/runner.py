"""One run of the giant-step protocol, end to end, and the store-backed drivers (THEORY.md §3).

``simulate(cfg, seed)`` returns a JSON-serialisable record:

* ``key`` (hash of the config with defaults resolved, the device type, the seed and the code version),
  ``config`` (every field, as given), ``seed``, ``code_version``, ``device``, ``device_name``, ``dtype``;
* sizes: ``r``, ``n`` (per step), ``n_ridge``, ``n_fit``, ``n_holdout``, ``n_test``, ``ell``, ``lr`` (η);
* ``overlaps``: the final ``M = Ŵ W*ᵀ`` (``p × r`` list of lists, neurons in index order — the first
  ``p/2`` have ``a_i = +1`` — stored at float32 precision), ``singular_values`` (of that ``M``),
  ``test_error`` (final, tuned λ; ``None`` without readout), ``lambda_best``;
* ``per_step``: for ``t = 0..T`` (``t = 0`` is the random-features baseline) a dict with ``t``,
  ``overlaps``, ``singular_values``, ``batch_loss`` (the loss ``L`` on the batch of step ``t`` before the
  update; ``None`` at ``t = 0``), and, where a readout was done (else ``None``): ``test_error``,
  ``test_error_by_lambda``, ``holdout_error_by_lambda``, ``lambda_best``, ``train_error``;
* ``ridge_lambdas``, ``ridge_mode``; ``timings`` (seconds: ``init``, ``steps``, ``readout``, ``total``),
  ``peak_memory_bytes`` and ``peak_memory_kind`` (see ``sim.memory``), ``throughput`` (samples·d·p per
  second of the steps), ``chunk_blocks``, ``max_memory``, ``world_size`` (processes of a data-parallel
  run, ``sim.distributed``; 1 otherwise), ``num_threads``, ``created`` (unix time).

Everything except ``timings``, ``peak_memory_*``, ``throughput``, ``chunk_blocks``, ``max_memory``,
``world_size``, ``num_threads`` and ``created`` depends on (config, seed, code version, device type) only.

What is promised about bits: on one machine with a fixed number of threads (``num_threads``, torch's
intra-op thread count, recorded) a record is bitwise the same for every chunk size and every repetition.
Across thread counts (or CPU models) the matrix-product and eigendecomposition libraries may split their
sums differently, so records agree to rounding only: about 1e-6 relative for float32 runs, 1e-12 for
float64 (measured: ``holdout_error_by_lambda`` moved by 2.3e-6 between 1 and 2 threads on an AMD EPYC;
overlaps and losses did not move). The store key does not include the thread count, so a stored record is
reused by any thread count. A data-parallel run over ``w > 1`` processes adds the ranks' float64 sums in
another order and agrees with the single-process record to the same tolerance (not bitwise); the store
key does not include ``w`` either.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from sim.config import SimConfig
from sim.data import Labels, Sampler, linear_fit, make_labels
from sim.distributed import DistContext, Shard, all_gather_objects, broadcast_, broadcast_object
from sim.memory import PeakMemory
from sim.overlaps import overlap_matrix, singular_values
from sim.plan import Plan, make_plan
from sim.protocol import giant_step, init_weights, streamed_gradient
from sim.readout import best_lambda, fit_ridge, mean_squared_errors
from sim.version import code_version

if TYPE_CHECKING:
    from sim.store import Store

VOLATILE = ("timings", "peak_memory_bytes", "peak_memory_kind", "throughput", "chunk_blocks", "max_memory",
            "world_size", "num_threads", "created")


def check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    return int(seed)


def run_key(cfg: SimConfig, seed: int, device_type: str, version: str | None = None) -> str:
    """Store key: sha256 of the resolved config, device type, seed and code version (24 hex digits)."""
    payload = {"config": cfg.key_dict(device_type), "seed": int(seed), "code_version": version or code_version()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


@contextmanager
def _precision(device_type: str, tf32: bool) -> Iterator[None]:
    """TF32 matrix products on CUDA only when asked for; the CPU's precision is left alone."""
    if device_type != "cuda":
        yield
        return
    old = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high" if tf32 else "highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(old)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize(torch.device(device))


def _labelled(sampler: Sampler, chunk_blocks: int, label: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
              tick: Callable[[int], None], blocks: tuple[int, int] | None = None
              ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    start, stop = blocks if blocks is not None else (0, sampler.num_blocks)
    for chunk in sampler.chunks(chunk_blocks, start, stop):
        for _, z, xi in chunk:
            yield z, label(z, xi)
        tick(len(chunk))


def _rounded(M: np.ndarray) -> list[list[float]]:
    """``M`` at float32 precision as plain lists (what the store keeps, so a reload is identical)."""
    return M.astype(np.float32).astype(np.float64).tolist()


class _Run:
    """The state of one simulation (internal; ``simulate`` is the API)."""

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
        blocks = _labelled(sampler, self.plan.chunk_blocks, lambda z, xi: self.labels.train(z, xi, fit), self.tick,
                           mine)
        grad, loss = streamed_gradient(W, blocks, c.n, self.pair, self.dtype, bf16=c.bf16, reduce=self.shard.reduce)
        W = giant_step(W, grad, c.lr, c.normalize)
        if self.shard.world_size > 1:  # every rank continues from rank 0's bits
            broadcast_(W, 0)
        return W, loss

    def readout(self, W: torch.Tensor) -> dict[str, Any]:
        c, ch = self.cfg, self.plan.chunk_blocks
        sigma = self.pair[0]
        Wc = W.to(self.dtype)
        dual = self.plan.ridge_mode == "dual"  # small (n_fit < p): every rank fits on all samples
        ridge = self.sampler("ridge", 0, c.n_fit)
        fit = fit_ridge(_labelled(ridge, ch, self.labels.noisy, self.tick,
                                  None if dual else self.shard.blocks(ridge.num_blocks)),
                        c.n_fit, Wc, sigma, c.ridge_lambdas, dual=dual, reduce=None if dual else self.shard.reduce)
        held = self.sampler("holdout", 0, c.n_holdout)
        hold = mean_squared_errors(_labelled(held, ch, self.labels.noisy, self.tick,
                                             self.shard.blocks(held.num_blocks)),
                                   c.n_holdout, Wc, sigma, fit.weights, self.shard.reduce)
        j = best_lambda(hold)
        tst = self.sampler("test", 0, c.n_test)
        test = mean_squared_errors(_labelled(tst, ch, lambda z, xi: self.labels.clean(z), self.tick,
                                             self.shard.blocks(tst.num_blocks)),
                                   c.n_test, Wc, sigma, fit.weights, self.shard.reduce)
        return {"test_error": test[j], "test_error_by_lambda": test, "holdout_error_by_lambda": hold,
                "lambda_best": c.ridge_lambdas[j], "train_error": fit.train_error[j]}


def simulate(cfg: SimConfig, seed: int = 0, progress: bool = False, plan: Plan | None = None,
             dist: DistContext | None = None) -> dict[str, Any]:
    """Run the §3 protocol for ``cfg`` and ``seed`` and return the record (see the module docstring).

    ``dist``: run data-parallel over the ranks of that process group (every rank calls ``simulate`` with the
    same arguments and gets the same record; ``sim.distributed``). Raises ``ValueError`` (one line) before
    any compute if the config cannot run here (device, memory).
    """
    if not isinstance(cfg, SimConfig):
        raise ValueError(f"cfg must be a SimConfig; got {type(cfg).__name__}")
    seed = check_seed(seed)
    plan = plan or make_plan(cfg)
    shard = Shard(dist.rank, dist.world_size) if dist is not None else Shard(0, 1)
    if dist is not None and plan.device_type == "cuda" and plan.device != dist.device_for("cuda"):
        plan = replace(plan, device=dist.device_for("cuda"))
    progress = progress and shard.rank == 0
    c = cfg
    timings = {"init": 0.0, "steps": 0.0, "readout": 0.0}
    t_start = time.perf_counter()
    per_step: list[dict[str, Any]] = []
    with PeakMemory(plan.device) as peak, _precision(plan.device_type, c.tf32), torch.no_grad():
        run = _Run(c, seed, plan, progress, shard)
        try:
            W = init_weights(c.p, c.d, seed, plan.device)
            _sync(plan.device)
            timings["init"] = time.perf_counter() - t_start
            for t in range(c.steps + 1):
                loss = None
                if t > 0:
                    t0 = time.perf_counter()
                    W, loss = run.step(W, t)
                    _sync(plan.device)
                    timings["steps"] += time.perf_counter() - t0
                M = overlap_matrix(W, c.r)
                entry: dict[str, Any] = {"t": t, "overlaps": _rounded(M), "singular_values": singular_values(M),
                                         "batch_loss": loss, "test_error": None, "test_error_by_lambda": None,
                                         "holdout_error_by_lambda": None, "lambda_best": None,
                                         "train_error": None}
                if c.readout == "every_step" or (c.readout == "final" and t == c.steps):
                    t0 = time.perf_counter()
                    entry.update(run.readout(W))
                    _sync(plan.device)
                    timings["readout"] += time.perf_counter() - t0
                per_step.append(entry)
        finally:
            run.close()
    timings["total"] = time.perf_counter() - t_start
    last = per_step[-1]
    steps_work = c.n * c.d * c.p * c.steps
    return {
        "key": run_key(c, seed, plan.device_type),
        "config": c.to_dict(),
        "seed": seed,
        "code_version": code_version(),
        "device": plan.device,
        "device_type": plan.device_type,
        "device_name": plan.device_name,
        "dtype": c.dtype,
        "r": c.r,
        "n": c.n,
        "n_ridge": c.n_ridge_resolved,
        "n_fit": c.n_fit,
        "n_holdout": c.n_holdout,
        "n_test": c.n_test,
        "ell": c.ell_resolved,
        "lr": c.lr,
        "ridge_lambdas": list(c.ridge_lambdas),
        "ridge_mode": plan.ridge_mode if c.readout != "none" else None,
        "overlaps": last["overlaps"],
        "singular_values": last["singular_values"],
        "test_error": last["test_error"],
        "lambda_best": last["lambda_best"],
        "per_step": per_step,
        "timings": timings,
        "peak_memory_bytes": peak.bytes,
        "peak_memory_kind": peak.kind,
        "throughput": steps_work / timings["steps"] if c.steps and timings["steps"] > 0 else None,
        "chunk_blocks": plan.chunk_blocks,
        "max_memory": plan.budget,
        "world_size": shard.world_size,
        "num_threads": torch.get_num_threads(),
        "created": time.time(),
    }


def run_or_load(cfg: SimConfig, seed: int, store: Store, force: bool = False, progress: bool = False
                ) -> dict[str, Any]:
    """The stored record of ``(cfg, seed)`` if there is one (and not ``force``), else simulate and store it."""
    seed = check_seed(seed)
    plan = make_plan(cfg)
    if not force:
        rec = store.get(cfg, seed, device_type=plan.device_type)
        if rec is not None:
            return rec
    rec = simulate(cfg, seed, progress=progress, plan=plan)
    store.put(rec)
    return rec


def run_many(jobs: Sequence[tuple[SimConfig, int]], store: Store | None, force: bool = False, progress: bool = True,
             on_record: Callable[[dict[str, Any], bool], None] | None = None, dist: DistContext | None = None,
             parallel: str = "runs") -> list[dict[str, Any]]:
    """Run (or load) every ``(cfg, seed)``; each finished run is written to ``store`` at once, so a sweep
    killed half-way resumes where it stopped. All configs are checked before anything runs.
    ``on_record(record, cached)`` is called after each job. Returns the records in job order.

    Under ``torchrun`` (``dist`` with more than one rank; every rank calls ``run_many`` with the same jobs)
    ``parallel="runs"`` shards the jobs not yet stored across the ranks (``sim.distributed.shard_jobs``,
    each run single-process) and ``parallel="data"`` runs each job data-parallel on all ranks. Rank 0
    alone reads and writes ``store`` (other ranks may pass ``None``), calls ``on_record`` and returns every
    record; another rank returns the records it computed (``parallel="runs"``) or all (``"data"``).
    """
    if parallel not in ("runs", "data"):
        raise ValueError(f"parallel must be 'runs' or 'data'; got {parallel!r}")
    plans = []
    for cfg, seed in jobs:
        if not isinstance(cfg, SimConfig):
            raise ValueError(f"each job must be (SimConfig, seed); got {type(cfg).__name__}")
        check_seed(seed)
        plans.append(make_plan(cfg))
    if dist is not None and dist.world_size > 1:
        return _run_many_distributed(jobs, plans, store, force, progress, on_record, dist, parallel)
    if store is None:
        raise ValueError("run_many needs a store")
    out: list[dict[str, Any]] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), unit="run", delay=2.0, dynamic_ncols=True, desc="runs")
    try:
        for (cfg, seed), plan in zip(jobs, plans):
            rec = None if force else store.get(cfg, seed, device_type=plan.device_type)
            cached = rec is not None
            if rec is None:
                rec = simulate(cfg, int(seed), progress=progress, plan=plan)
                store.put(rec)
            out.append(rec)
            if on_record is not None:
                on_record(rec, cached)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return out


def _run_many_distributed(jobs: Sequence[tuple[SimConfig, int]], plans: list[Plan], store: Store | None,
                          force: bool, progress: bool, on_record: Callable[[dict[str, Any], bool], None] | None,
                          dist: DistContext, parallel: str) -> list[dict[str, Any]]:
    """``run_many`` over the ranks of ``dist`` (see there)."""
    root = dist.is_root
    if root and store is None:
        raise ValueError("rank 0 needs a store")
    results: dict[int, dict[str, Any]] = {}
    if root and not force:
        assert store is not None
        for i, ((cfg, seed), plan) in enumerate(zip(jobs, plans)):
            rec = store.get(cfg, seed, device_type=plan.device_type)
            if rec is not None:
                results[i] = rec
                if on_record is not None:
                    on_record(rec, True)
    todo: list[int] = broadcast_object([i for i in range(len(jobs)) if i not in results] if root else None)
    show = progress and root
    if parallel == "data":
        for i in todo:
            (cfg, seed), plan = jobs[i], plans[i]
            rec = simulate(cfg, int(seed), progress=show, plan=plan, dist=dist)
            results[i] = rec
            if root:
                assert store is not None
                store.put(rec)
                if on_record is not None:
                    on_record(rec, False)
        return [results[i] for i in sorted(results)] if not root else [results[i] for i in range(len(jobs))]
    w = dist.world_size
    for first in range(0, len(todo), w):  # rounds: rank r runs todo[first + r], then rank 0 stores the round
        mine = first + dist.rank
        outcome: tuple[int, dict[str, Any] | None, str | None] | None = None
        if mine < len(todo):
            i = todo[mine]
            (cfg, seed), plan = jobs[i], plans[i]
            try:
                outcome = (i, simulate(cfg, int(seed), progress=show, plan=plan), None)
            except Exception as exc:  # noqa: BLE001 - reported by every rank below, after the others stored
                outcome = (i, None, f"{type(exc).__name__}: {' '.join(str(exc).split())}")
        gathered = all_gather_objects(outcome)
        errors = []
        for item in gathered:
            if item is None:
                continue
            i, rec, err = item
            if err is not None:
                errors.append(f"job {i} ({jobs[i][0].target!r}, d={jobs[i][0].d}, seed={jobs[i][1]}): {err}")
                continue
            assert rec is not None
            if root:
                assert store is not None
                store.put(rec)
                if on_record is not None:
                    on_record(rec, False)
                results[i] = rec
            elif i == (todo[mine] if mine < len(todo) else None):
                results[i] = rec
        if errors:
            raise RuntimeError("; ".join(errors))
    if root:
        return [results[i] for i in range(len(jobs))]
    return [results[i] for i in sorted(results)]


def strip_volatile(rec: dict[str, Any]) -> dict[str, Any]:
    """The record without its machine- and time-dependent entries and without ``config["max_memory"]``
    (which changes the chunking, never the results) — for comparing runs."""
    out = {k: v for k, v in rec.items() if k not in VOLATILE}
    out["config"] = {k: v for k, v in rec["config"].items() if k != "max_memory"}
    return out
