"""Data-parallel giant steps and sharded sweeps (``sim.distributed``; THEORY.md §3, issue item 3).

One spawn of 2 gloo processes (``torch.multiprocessing``, ``file://`` rendezvous) does all the distributed
work; the parent compares it with single-process computations: the streamed gradient (and autograd on
the materialised batch), the primal ridge solution, a whole ``simulate`` record, and a sharded sweep
that must write every run exactly once.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from sim import RunRecord, SimConfig, Store, simulate, strip_volatile
from sim.data import Sampler, make_labels
from sim.distributed import Shard, env_ranks, process_group, shard_jobs, shard_range
from sim.drivers import run_many
from sim.giant_step.init import second_layer
from sim.giant_step.protocol import streamed_gradient
from sim.giant_step.readout import fit_ridge, raw_features
from tests.sim.threads import torch_threads
from theory import activation

WORLD = 2
D, P, N, B = 24, 16, 333, 32  # 11 blocks: 5 on rank 0, 6 on rank 1 (the last one short)
CFG = SimConfig(target="x1 + x1*x2", d=32, p=40, n_exp=1.8, steps=2, noise=0.1, preprocess="estimate", ell=2,
                n_ridge=600, n_test=300, block_size=64, ridge_lambdas=(1e-3, 1e-1), device="cpu")
REDUCED = SimConfig(target="x1 + x1*x2", activation="tanh", d=300, p=10, n_exp=1.0, n_scale=2.0, steps=2, noise=0.1,
                    n_ridge=600, n_test=300, block_size=64, ridge_lambdas=(1e-3, 1e-1), init="gaussian",
                    engine="reduced", device="cpu")  # 10 blocks per step: 5 on each rank
SWEEP = [(SimConfig(target="x1", d=d, p=16, n_exp=1.0, steps=1, n_test=200, block_size=32, device="cpu"), s)
         for d in (16, 24, 32) for s in (0, 1)]


class CountingStore(Store):
    """A store that also appends the key of every ``put`` to ``<path>.puts`` (to check each run is written once)."""

    def put(self, rec: RunRecord) -> None:
        super().put(rec)
        with open(self.path + ".puts", "a") as fh:
            fh.write(rec.key + "\n")


def _asymmetric_weights() -> torch.Tensor:
    W = torch.randn(P, D, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    return W / W.norm(dim=1, keepdim=True)  # f ≠ 0, so residuals matter


def _gradient(W: torch.Tensor, shard: Shard, dtype: torch.dtype, reduce: bool = True) -> tuple[torch.Tensor, float]:
    labels = make_labels("x1 + x1*x2", 0.2, "none", 1)
    s = Sampler(5, "train", 0, N, D, B, dtype, "cpu")
    lo, hi = shard.blocks(s.num_blocks)
    blocks = ((z, labels.train(z, xi)) for ch in s.chunks(2, lo, hi) for _, z, xi in ch)
    return streamed_gradient(W, blocks, N, activation("tanh").torch_pair(), dtype,
                             reduce=shard.reduce if reduce else None)


def _ridge(W: torch.Tensor, shard: Shard) -> torch.Tensor:
    labels = make_labels("x1 + x1*x2", 0.0, "none", 1)
    s = Sampler(5, "ridge", 0, 400, D, B, torch.float32, "cpu")
    lo, hi = shard.blocks(s.num_blocks)
    blocks = ((z, labels.noisy(z, xi)) for ch in s.chunks(3, lo, hi) for _, z, xi in ch)
    return fit_ridge(blocks, 400, W.float(), torch.relu, (1e-4, 1e-2), dual=False, reduce=shard.reduce).weights


def _worker(rank: int, init: str, out: str) -> None:
    torch.set_num_threads(1)
    with process_group("gloo", init_method=init, rank=rank, world_size=WORLD) as ctx:
        shard = Shard(ctx.rank, ctx.world_size)
        W = _asymmetric_weights()
        results: dict[str, Any] = {}
        for name, dtype in (("f64", torch.float64), ("f32", torch.float32)):
            g, loss = _gradient(W, shard, dtype)
            results[f"grad_{name}"], results[f"loss_{name}"] = g, loss
        results["ridge"] = _ridge(W, shard)
        results["record"] = simulate(CFG, seed=4, dist=ctx)
        results["reduced"] = simulate(REDUCED, seed=2, dist=ctx)
        store = CountingStore(out + "/sweep.sqlite") if ctx.is_root else None
        results["sweep"] = [r.key for r in run_many(SWEEP, store, progress=False, dist=ctx, parallel="runs")]
        torch.save(results, f"{out}/rank{rank}.pt")


@pytest.fixture(scope="module")
def spawned(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    import torch.multiprocessing as mp

    tmp = tmp_path_factory.mktemp("dist")
    mp.spawn(_worker, args=(f"file://{tmp}/rendezvous", str(tmp)), nprocs=WORLD, join=True)
    return [torch.load(tmp / f"rank{r}.pt", weights_only=False) | {"dir": tmp} for r in range(WORLD)]


def test_shard_ranges_partition_the_blocks() -> None:
    for n in (0, 1, 5, 11, 64):
        for w in (1, 2, 3, 8):
            ranges = [shard_range(n, r, w) for r in range(w)]
            assert ranges[0][0] == 0 and ranges[-1][1] == n
            assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
            assert max(b - a for a, b in ranges) - min(b - a for a, b in ranges) <= 1
    assert sorted(i for r in range(3) for i in shard_jobs(7, r, 3)) == list(range(7))
    with pytest.raises(ValueError, match="rank"):
        shard_range(4, 2, 2)


def test_env_ranks() -> None:
    assert env_ranks({}) is None
    assert env_ranks({"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1"}) == (3, 4, 1)
    with pytest.raises(ValueError, match="inconsistent"):
        env_ranks({"WORLD_SIZE": "2", "RANK": "2"})


def test_world_size_one_is_bitwise_the_single_process_result(tmp_path: Path) -> None:
    W = _asymmetric_weights()
    ref = _gradient(W, Shard(0, 1), torch.float32)
    with process_group("gloo", init_method=f"file://{tmp_path}/rv", rank=0, world_size=1) as ctx:
        one = _gradient(W, Shard(ctx.rank, ctx.world_size), torch.float32)
        rec = simulate(CFG.replace(steps=1, readout="final"), seed=1, dist=ctx)
    assert torch.equal(one[0], ref[0]) and one[1] == ref[1]
    assert strip_volatile(rec) == strip_volatile(simulate(CFG.replace(steps=1, readout="final"), seed=1))


@pytest.mark.slow
def test_two_gloo_ranks_give_the_single_process_gradient(spawned: list[dict[str, Any]]) -> None:
    W = _asymmetric_weights()
    for name, dtype in (("f64", torch.float64), ("f32", torch.float32)):
        ref, ref_loss = _gradient(W, Shard(0, 1), dtype)
        for res in spawned:  # every rank holds the all-reduced gradient
            assert torch.allclose(res[f"grad_{name}"], ref, rtol=1e-12, atol=1e-15)
            assert res[f"loss_{name}"] == pytest.approx(ref_loss, rel=1e-12)
        assert torch.equal(spawned[0][f"grad_{name}"], spawned[1][f"grad_{name}"])
    # and the single-process gradient is the autograd gradient of the materialised batch
    labels = make_labels("x1 + x1*x2", 0.2, "none", 1)
    z, xi = Sampler(5, "train", 0, N, D, B, torch.float64, "cpu").materialize()
    Wg = W.clone().requires_grad_(True)
    f = torch.tanh(z @ Wg.T) @ second_layer(P) / math.sqrt(P)
    (((labels.train(z, xi) - f) ** 2).sum() / (2 * N)).backward()
    assert torch.allclose(spawned[0]["grad_f64"], Wg.grad, rtol=1e-10, atol=1e-13)
    # one rank's half alone is far from the whole: the reduction did something
    half, _ = _gradient(W, Shard(0, 2), torch.float64, reduce=False)
    assert not torch.allclose(half, ref, rtol=1e-2)


@pytest.mark.slow
def test_two_gloo_ranks_give_the_single_process_ridge_solution(spawned: list[dict[str, Any]]) -> None:
    W = _asymmetric_weights()
    ref = _ridge(W, Shard(0, 1))
    for res in spawned:
        assert torch.allclose(res["ridge"], ref, rtol=1e-9, atol=1e-12)
    # independent check: the dense normal equations on the materialised features
    z, _ = Sampler(5, "ridge", 0, 400, D, B, torch.float32, "cpu").materialize()
    y = make_labels("x1 + x1*x2", 0.0, "none", 1).clean(z).double()
    Phi = raw_features(z, W.float(), torch.relu).double() / math.sqrt(P)
    A = Phi.T @ Phi / 400 + 1e-2 * torch.eye(P, dtype=torch.float64)
    assert torch.allclose(spawned[0]["ridge"][:, 1], torch.linalg.solve(A, Phi.T @ y / 400), rtol=1e-4, atol=1e-6)  # float32 features


@pytest.mark.slow
def test_two_gloo_ranks_give_the_single_process_record(spawned: list[dict[str, Any]]) -> None:
    ref = simulate(CFG, seed=4)
    for res in spawned:
        rec = res["record"]
        assert rec.world_size == WORLD and rec.key == ref.key
        for a, b in zip(rec.per_step, ref.per_step):
            assert np.allclose(a.overlaps, b.overlaps, rtol=1e-5, atol=1e-6)
            assert a.batch_loss == b.batch_loss or a.batch_loss == pytest.approx(b.batch_loss, rel=1e-10)
            assert np.allclose(a.test_error_by_lambda, b.test_error_by_lambda, rtol=1e-6)
            assert np.allclose(a.holdout_error_by_lambda, b.holdout_error_by_lambda, rtol=1e-6)
    assert spawned[0]["record"].overlaps == spawned[1]["record"].overlaps


@pytest.mark.slow
def test_two_gloo_ranks_give_the_single_process_reduced_record(spawned: list[dict[str, Any]]) -> None:
    """The reduced engine (THEORY §3.3) data-parallel: ranks sum their parts of C Z_S and C Cᵀ, the Bartlett
    draw comes from the run's seed, so the record is the single-process one to rounding."""
    with torch_threads(1):
        ref = simulate(REDUCED, seed=2)
    assert ref.engine == "reduced" and ref.coordinates > REDUCED.p
    for res in spawned:
        rec = res["reduced"]
        assert rec.world_size == WORLD and rec.key == ref.key and rec.engine == "reduced"
        for a, b in zip(rec.per_step, ref.per_step):
            assert a.coordinates == b.coordinates
            assert np.allclose(a.overlaps, b.overlaps, rtol=1e-5, atol=1e-6)
            if b.batch_loss is not None:
                assert a.batch_loss == pytest.approx(b.batch_loss, rel=1e-10)
            assert np.allclose(a.test_error_by_lambda, b.test_error_by_lambda, rtol=1e-6)
    assert spawned[0]["reduced"].overlaps == spawned[1]["reduced"].overlaps


@pytest.mark.slow
def test_sharded_sweep_writes_every_run_once(spawned: list[dict[str, Any]]) -> None:
    tmp = spawned[0]["dir"]
    puts = (tmp / "sweep.sqlite.puts").read_text().split()
    store = Store(str(tmp / "sweep.sqlite"))
    with torch_threads(1):  # the workers ran with one thread: bitwise holds at a fixed thread count
        expected = [simulate(cfg, seed) for cfg, seed in SWEEP]
    assert sorted(puts) == sorted(r.key for r in expected) and len(set(puts)) == len(SWEEP)
    assert len(store) == len(SWEEP)
    assert spawned[0]["sweep"] == [r.key for r in expected]  # rank 0 returns every record, in job order
    assert spawned[1]["sweep"] == [expected[i].key for i in shard_jobs(len(SWEEP), 1, WORLD)]
    for rec in expected:  # each run was single-process with the same thread count: bitwise the same record
        stored = RunRecord.from_json(store.get_key(rec.key))
        assert stored.world_size == 1 and stored.num_threads == 1
        same = [{k: v for k, v in strip_volatile(r).items() if k != "device_name"} for r in (stored, rec)]
        assert json.dumps(same[0], sort_keys=True) == json.dumps(same[1], sort_keys=True)
    # a second sweep over the same jobs finds everything in the store
    again = run_many(SWEEP, store, progress=False)
    assert [r.key for r in again] == [r.key for r in expected]
