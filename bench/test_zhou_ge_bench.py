"""Speed of [ZG] population gradient descent (m = 1024 students, m* = 8 teachers, d = 64,
10⁴ steps in under a minute on the CPU).

Both benchmarks run the real code path (``sim.zhou_ge.run_zhou_ge``: stage 1, stage 2, one stage-3 phase
of exactly 10⁴ steps with the stationarity test disabled, a measurement every 1000 steps, no baseline).
``float32`` is the one held to the 60 s requirement; ``float64`` (the default dtype, needed for
accuracy when neurons collapse onto a teacher and λ is small) is about twice as slow and is reported,
with a looser 150 s ceiling. Run with ``make bench``.
"""

from __future__ import annotations

import pytest

from sim.zhou_ge import ZGConfig, run_zhou_ge

STEPS = 10_000


def _config(dtype: str) -> ZGConfig:
    return ZGConfig(d=64, m=1024, m_star=8, phases=1, max_steps_per_phase=STEPS, grad_tol=0.0, record_every=1000,
                    baseline=False, dtype=dtype, device="cpu")


@pytest.mark.parametrize("dtype, ceiling", [("float32", 60.0), ("float64", 150.0)])
def test_population_gd_10k_steps(benchmark, dtype: str, ceiling: float) -> None:  # noqa: ANN001 - fixture
    cfg = _config(dtype)
    rec = benchmark.pedantic(run_zhou_ge, args=(cfg, 0), rounds=1, iterations=1)
    assert rec.steps == STEPS
    assert rec.phases[0].loss < rec.stage2.loss  # the steps did descend
    if benchmark.stats is None:  # --benchmark-disable: the run is checked, its time is not measured
        return
    assert benchmark.stats.stats.max < ceiling, f"{STEPS} steps took {benchmark.stats.stats.max:.1f} s > {ceiling} s"
