"""A batch used more than once, in reduced coordinates (THEORY.md §3.4, §3.5); run with ``make bench``.

* ``test_reuse_two_steps_d_2_20``: two giant steps on one reused batch at ``d = 2^20``, ``n = 2d``, ``p = 16``
  (target ``He3(x1)``, the §3.5 ladder's largest size) — the reduced engine with §3.4's conditioning;
  target on this 2-core CPU: under 60 s. The dense engine would draw ``n·d = 2.2·10¹²`` Gaussians.
* ``test_fresh_and_reuse_as_d_grows``: the same two steps, fresh batches (§3.3) and one reused batch (§3.4),
  at ``n = 2d`` for ``d = 2^12 … 2^18``; both grow like ``n`` (the reuse step also like ``n·(pT)²``, not
  like ``d``) — the series is in ``extra_info``.
* ``test_dklps_one_step_published``: the ``dklps-one-step`` protocol at its published size (``d = 512``,
  ``p = 1024``, ``n = d²``) with the engine ``auto`` picks: the dense one, since §3.4's probes would number
  ``p + 1 = 1025 > d`` (``2pT ≳ d``); the record's ``engine_reason`` says so.

Each is one round (``pedantic``): the runs are seconds to a minute and the machine is shared, so the load
average is recorded next to the time.
"""

from __future__ import annotations

import os

import pytest
import torch

from sim import RunRecord, SimConfig, simulate

P = 16


def reuse_config(d: int, batch: str) -> SimConfig:
    """Two giant steps of ``He3(x1)`` with relu, ``p = 16``, ``n = 2d``, no readout, ``batch`` fresh or reuse."""
    return SimConfig(target="He3(x1)", d=d, p=P, n_exp=1.0, n_scale=2.0, steps=2, lr0=1.0, batch=batch,
                     readout="none", device="cpu")


def _run(benchmark, cfg: SimConfig) -> RunRecord:  # noqa: ANN001 - pytest-benchmark fixture
    out: dict = {}

    def once() -> None:
        out["rec"] = simulate(cfg, 0)

    benchmark.pedantic(once, rounds=1, iterations=1)
    rec = out["rec"]
    benchmark.extra_info.update({"section": "reuse", "engine": rec.engine, "engine_reason": rec.engine_reason,
                                 "d": cfg.d, "p": cfg.p, "n": cfg.n, "steps": cfg.steps, "batch": cfg.batch,
                                 "steps_seconds": rec.timings["steps"], "total_seconds": rec.timings["total"],
                                 "coordinates": rec.coordinates, "peak_memory_bytes": rec.peak_memory_bytes,
                                 "threads": torch.get_num_threads(), "load": os.getloadavg()[0]})
    return rec


@pytest.mark.slow
def test_reuse_two_steps_d_2_20(benchmark) -> None:  # noqa: ANN001
    cfg = reuse_config(2**20, "reuse")
    rec = _run(benchmark, cfg)
    assert rec.engine == "reduced" and "§3.4 conditioning" in rec.engine_reason
    assert rec.coordinates == 1 + P // 2 + P // 2 + P  # k₀ = r + p/2, then p/2 and p new axes
    assert rec.timings["total"] < 60, f"two reused steps at d = 2^20 took {rec.timings['total']:.1f} s"


@pytest.mark.slow
@pytest.mark.parametrize("batch", ["fresh", "reuse"])
@pytest.mark.parametrize("log_d", [12, 14, 16, 18])
def test_fresh_and_reuse_as_d_grows(benchmark, log_d: int, batch: str) -> None:  # noqa: ANN001
    rec = _run(benchmark, reuse_config(2**log_d, batch))
    assert rec.engine == "reduced"


@pytest.mark.slow
def test_dklps_one_step_published(benchmark) -> None:  # noqa: ANN001
    cfg = SimConfig.from_dict({"protocol": "dklps-one-step", "device": "cpu"})
    rec = _run(benchmark, cfg)
    benchmark.extra_info["test_error"] = rec.test_error
    assert rec.engine == "dense" and rec.engine_reason.startswith("auto: dense because k_T + p")
    assert "§3.4 conditioning" in rec.engine_reason
