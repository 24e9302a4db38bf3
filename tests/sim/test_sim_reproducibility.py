"""Reproducibility (issue item 3): chunk-size invariance, determinism, block seeding."""

from __future__ import annotations

import pytest
import torch

from sim import SimConfig, execution_plan, simulate, strip_volatile
from sim.data import Sampler
from sim.keys import stream_seed

# small enough to be fast, and exercising every path: several blocks, a short last block, noise,
# estimated preprocessing, the dual readout (n_fit < p) and two steps
BASE = dict(target="x1 + x1*x2", d=32, p=48, n_exp=1.5, steps=2, noise=0.1, n_ridge=40, n_test=100,
            block_size=16, ridge_lambdas=(1e-3, 1e-1))


def _budget_for(cfg: SimConfig, chunk_blocks: int) -> int:
    """A max_memory that gives exactly ``chunk_blocks`` resident blocks."""
    from sim.giant_step.plan import memory_estimate

    fixed, block, resident, _ = memory_estimate(cfg)
    return fixed + block + chunk_blocks * resident


@pytest.mark.parametrize("extra", [dict(preprocess="estimate", ell=2), dict(preprocess="exact", ell=2,
                                                                             n_ridge=400, dtype="float64")])
def test_chunk_size_does_not_change_a_bit(extra: dict) -> None:
    cfg = SimConfig(**{**BASE, **extra})
    small = cfg.replace(max_memory=_budget_for(cfg, 1))
    large = cfg.replace(max_memory=_budget_for(cfg, 3))
    assert execution_plan(small).chunk_blocks == 1 and execution_plan(large).chunk_blocks == 3
    a, b = simulate(small, seed=2), simulate(large, seed=2)
    assert a.chunk_blocks == 1 and b.chunk_blocks == 3
    assert a.key == b.key  # max_memory is not part of the key: it cannot change results
    assert strip_volatile(a) == strip_volatile(b)
    assert a.ridge_mode == ("dual" if cfg.n_fit < cfg.p else "primal")


def test_same_seed_same_record_other_seed_other_record() -> None:
    cfg = SimConfig(**BASE)
    a, b, c = simulate(cfg, 0), simulate(cfg, 0), simulate(cfg, 1)
    assert strip_volatile(a) == strip_volatile(b)
    assert a.overlaps != c.overlaps and a.key != c.key
    assert a.per_step[0].test_error != c.per_step[0].test_error


def test_blocks_depend_on_seed_stream_step_index_only() -> None:
    s = Sampler(5, "train", 1, n=100, d=7, block_size=32, dtype=torch.float32, device="cpu")
    longer = Sampler(5, "train", 1, n=1000, d=7, block_size=32, dtype=torch.float32, device="cpu")
    assert s.num_blocks == 4 and s.rows(3) == 4
    z, xi = s.materialize()
    zl, xil = longer.materialize()
    assert z.shape == (100, 7) and torch.equal(z, zl[:100]) and torch.equal(xi, xil[:100])
    seeds = {stream_seed(5, st, t, k) for st in ("train", "ridge", "holdout", "test") for t in range(3)
             for k in range(4)}
    assert len(seeds) == 4 * 3 * 4
    other = Sampler(5, "ridge", 1, n=100, d=7, block_size=32, dtype=torch.float32, device="cpu").materialize()[0]
    assert not torch.equal(other, z)


def test_reuse_batch_reuses_the_step_batch() -> None:
    cfg = SimConfig(**{**BASE, "readout": "none"})
    fresh = simulate(cfg, 0)
    reused = simulate(cfg.replace(batch="reuse"), 0)
    # step 1 sees the same batch either way; step 2 differs
    assert fresh.per_step[1].overlaps == reused.per_step[1].overlaps
    assert fresh.per_step[2].overlaps != reused.per_step[2].overlaps


@pytest.mark.gpu
def test_cuda_chunk_invariance_and_same_distribution_as_cpu() -> None:
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA (none on this machine)")
    import numpy as np

    cfg = SimConfig(**{**BASE, "device": "cuda"})
    a = simulate(cfg.replace(max_memory=_budget_for(cfg, 1)), 0)
    b = simulate(cfg.replace(max_memory=_budget_for(cfg, 3)), 0)
    assert a.device.startswith("cuda") and strip_volatile(a) == strip_volatile(b)
    # W⁰ is drawn on the CPU for every device; the data streams differ, but not their distribution
    cpu0 = simulate(cfg.replace(device="cpu"), 0).per_step[0].overlaps
    assert np.allclose(a.per_step[0].overlaps, cpu0, atol=1e-6)
    one = SimConfig(target="1 + x1", d=500, p=100, n_scale=2.0, steps=1, readout="none", block_size=1024)
    means = {dev: np.mean([np.array(simulate(one.replace(device=dev), s).overlaps)[:50, 0].mean()
                           for s in range(6)]) for dev in ("cpu", "cuda")}
    assert abs(means["cpu"] - means["cuda"]) < 0.03  # per-seed spread ≈ 0.02, so ≈ 0.012 for the difference


def test_chunked_blocks_equal_single_blocks() -> None:
    s = Sampler(9, "test", 0, n=150, d=5, block_size=32, dtype=torch.float32, device="cpu")
    for c in (1, 2, 7):
        blocks = [(k, z.clone(), xi.clone()) for chunk in s.chunks(c) for k, z, xi in chunk]
        assert [k for k, _, _ in blocks] == list(range(5))
        for k, z, xi in blocks:
            ref = s.block(k)
            assert torch.equal(z, ref[0]) and torch.equal(xi, ref[1])


def test_peak_memory_does_not_grow_with_n() -> None:
    """Streaming (issue item 2): 30× more samples, same peak; far below the materialised batch."""
    cfg = SimConfig(target="x1 + x1*x2", d=128, p=128, steps=1, readout="final", n_test=4096, block_size=256,
                    device="cpu")
    simulate(cfg.replace(n_exp=1.0), 0)  # one-off allocations (libraries, caches) out of the way
    small = simulate(cfg.replace(n_exp=1.5), 0)
    large = simulate(cfg.replace(n_exp=2.2), 0)
    if large.peak_memory_kind != "cpu_rss":
        pytest.skip("the peak resident set cannot be reset here (/proc/self/clear_refs)")
    assert large.n > 29 * small.n
    materialised = large.n * (cfg.d + cfg.p) * 4  # z and the pre-activations of the whole batch
    assert large.peak_memory_bytes < small.peak_memory_bytes + 4 * 2**20
    assert large.peak_memory_bytes < materialised / 4


def test_thread_count_changes_results_by_rounding_only() -> None:
    """The promise (sim.giant_step.run): bitwise at a fixed thread count; across thread counts equal to ~1e-6 relative
    (float32 matrix products and the float64 eigendecomposition may split their work differently)."""
    import numpy as np

    from tests.sim.threads import torch_threads

    cfg = SimConfig(**{**BASE, "n_ridge": 400, "p": 64})
    with torch_threads(1):
        one, again = simulate(cfg, 3), simulate(cfg, 3)
    with torch_threads(2):
        two = simulate(cfg, 3)
    assert strip_volatile(one) == strip_volatile(again) and one.num_threads == 1 and two.num_threads == 2
    assert one.key == two.key  # the thread count is recorded, not part of the key
    for a, b in zip(one.per_step, two.per_step):
        assert np.allclose(a.overlaps, b.overlaps, rtol=1e-5, atol=1e-6)
        for k in ("test_error_by_lambda", "holdout_error_by_lambda"):
            assert np.allclose(getattr(a, k), getattr(b, k), rtol=1e-5, atol=1e-7)
