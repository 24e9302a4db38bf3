"""Divergence (issue 9 item 3): a run that stops being finite stops there, named, in one line; labels that
cannot fit the compute dtype are refused before any compute; decompositions never leak their errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sim import SimConfig, Store, ZGConfig, execution_plan, run_many, run_zhou_ge, simulate
from sim.divergence import Diverged, guarded
from tests.sim.threads import torch_threads

BASE = dict(target="x1", d=256, p=128, n_test=256, block_size=256, lr0=1e12, normalize=False, steps=3)


@pytest.mark.parametrize("engine,d", [("dense", 256), ("reduced", 2048)])
def test_a_diverging_run_stops_at_the_step_where_it_happened(engine: str, d: int, tmp_path) -> None:
    cfg = SimConfig(**{**BASE, "d": d, "engine": engine})
    with torch_threads(1), pytest.raises(Diverged) as exc:
        simulate(cfg, 0)
    err = exc.value
    assert not isinstance(err, ValueError)  # valid input, a diverged run: its own exit status in the CLIs
    assert err.step == 2 and "\n" not in str(err)
    assert str(err).startswith(f"the run diverged: {err.quantity} is not finite at step 2")
    assert "lower lr0 (now 1e+12)" in err.hint and "--normalize" in err.hint
    # the same run one step shorter is finite; a diverged job leaves nothing in the store
    with torch_threads(1):
        rec = simulate(cfg.replace(steps=1), 0)
    assert np.isfinite(rec.test_error) and np.isfinite(rec.per_step[1].batch_loss)
    store = Store(str(tmp_path / "s.sqlite"))
    with torch_threads(1), pytest.raises(Diverged):
        run_many([(cfg, 0)], store, progress=False)
    assert len(store) == 0


@pytest.mark.parametrize("kwargs,needle", [
    (dict(target="1e30*x1"), "√(E[g²] + Δ) ≈ 1e+30"),
    (dict(noise=1e308), "overflow float32"),
    (dict(target="1e200*x1**2", dtype="float64"), "not finite in float64"),
])
def test_labels_too_large_for_the_dtype_are_refused_before_any_compute(kwargs: dict, needle: str) -> None:
    cfg = SimConfig(**{"d": 16, "p": 8, "block_size": 64, **kwargs})
    with pytest.raises(ValueError) as exc:
        execution_plan(cfg)
    assert needle in str(exc.value) and "rescale the target or the noise" in str(exc.value)
    assert "\n" not in str(exc.value)
    assert execution_plan(cfg.replace(target="1e10*x1", noise=0.0)).chunk_blocks >= 1  # large but representable


def test_float64_carries_labels_that_float32_cannot() -> None:
    cfg = SimConfig(target="1e30*x1", d=16, p=8, n_test=256, block_size=64, steps=1, dtype="float64")
    rec = simulate(cfg, 0)
    assert 0 < rec.test_error < 1e61 and np.isfinite(rec.per_step[1].batch_loss)


def test_decomposition_errors_become_diverged_not_bad_input() -> None:
    nan = torch.full((3, 3), float("nan"), dtype=torch.float64)
    with pytest.raises(Diverged, match="ridge Gram matrix is not finite at step 4; do less"):
        with guarded("ridge Gram matrix", 4, "do less"):
            torch.linalg.eigh(nan)
    with pytest.raises(Diverged, match="overlap matrix is not finite at step 1") as exc:
        with guarded("overlap matrix", 1, "do less"):
            np.linalg.svd(np.full((3, 2), np.nan))  # numpy: "SVD did not converge", a ValueError
    assert not isinstance(exc.value, ValueError)


def test_zhou_ge_stage3_divergence_is_named() -> None:
    cfg = ZGConfig(d=8, m=8, m_star=2, phases=1, max_steps_per_phase=50, lr=1e6, baseline=False, record_every=10,
                   check_every=5, device="cpu")
    with pytest.raises(Diverged, match=r"stage-3 loss is not finite at step \d+; lower lr \(now 1e\+06"):
        run_zhou_ge(cfg, 0)


def test_the_hint_is_added_where_the_run_catches_the_divergence() -> None:
    bare = Diverged("the loss", 3)
    assert str(bare) == "the run diverged: the loss is not finite at step 3"
    told = bare.with_hint("lower lr0")
    assert str(told) == "the run diverged: the loss is not finite at step 3; lower lr0"
    assert told.with_hint("something else") is told  # a hint already given stays
