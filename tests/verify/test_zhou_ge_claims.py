"""Z1-local / Z2-late decision logic on synthetic [ZG] records with known laws (THEORY.md §4, §5)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.zhou_ge import ZGRecord
from tests.records import zg_record
from verify import rules
from verify.claims.base import RunSet
from verify.claims.zhou_ge import (
    CLAIMS,
    LADDERS,
    evaluate_z1,
    evaluate_z2,
    mass_deficit,
    per_lambda,
    zg_prediction,
)

A_STAR = [1.0, -2.0]


def _record(seed: int, phases: int = 6, far_exp: float = 1.0, loss_exp: float = 1.5, angle_exp: float = 0.7,
            plateau: float = 0.05, base_exp: float = 0.0) -> ZGRecord:
    """A record whose per-phase statistics follow (λ/λ0)^exp with 10 % multiplicative seed noise."""
    rng = np.random.default_rng(seed)
    lam0 = 0.01
    out = []
    for k in range(phases):
        lam = lam0 * 0.5**k
        r = lam / lam0
        noise = lambda: float(np.exp(0.1 * rng.standard_normal()))  # noqa: E731
        deficit = 0.3 * r**1.0 * noise()
        out.append({"lam": lam, "far_mass": 0.4 * r**far_exp * noise(), "loss": 0.01 * r**loss_exp * noise(),
                    "signed_near_mass": [a * (1 - deficit) for a in A_STAR], "mean_angle": 0.05 * r**angle_exp * noise(),
                    "baseline_loss": plateau * r**base_exp * noise(), "steps": 100, "converged": True})
    snap = {"angle": [0.01, 0.5], "nearest": [0, 1], "norm": [1.0, 1.0], "a": [1.0, -2.0]}
    traj = {"step": [0, 100], "loss": [0.02, 0.01], "lam": [lam0, lam0]}
    return zg_record(out, A_STAR, traj, snap, {"plateau": plateau * 0.9, "loss_by_phase": []}, 0.02, seed=seed,
                     key=f"k{seed}", variant="test variant", config={"lam0": lam0, "near_angle": 0.2})


def _runs(records: list[ZGRecord]) -> RunSet:
    return RunSet({"zg": {32: records}})


def test_z1_confirmed_when_everything_decays() -> None:
    ev = evaluate_z1(zg_prediction("Z1"), _runs([_record(s) for s in range(4)]))
    assert ev.decision.verdict == rules.CONFIRMED, ev.decision.reason
    slope = ev.numbers["far mass"]["fit"]["slope"]
    assert slope == pytest.approx(-1.0, abs=0.1)  # far ∝ λ^1 ⇒ (λ0/λ)^-1
    assert {p.figure for p in ev.plots} == {"zg_time", "zg_neurons", "zg_mass", "loglog"}


def test_z1_refuted_when_far_mass_stays() -> None:
    ev = evaluate_z1(zg_prediction("Z1"), _runs([_record(s, far_exp=0.0) for s in range(4)]))
    assert ev.decision.verdict == rules.REFUTED and "far mass" in ev.decision.reason


def test_short_ladders_and_missing_runs_are_inconclusive() -> None:
    two_seeds = evaluate_z1(zg_prediction("Z1"), _runs([_record(s) for s in range(2)]))
    assert two_seeds.decision.verdict == rules.INCONCLUSIVE and "seeds" in two_seeds.decision.reason
    short = evaluate_z1(zg_prediction("Z1"), _runs([_record(s, phases=2) for s in range(4)]))
    assert short.decision.verdict == rules.INCONCLUSIVE
    assert evaluate_z2(zg_prediction("Z2"), RunSet({})).decision.verdict == rules.INCONCLUSIVE


def test_z2_confirmed_and_refuted() -> None:
    ok = evaluate_z2(zg_prediction("Z2"), _runs([_record(s) for s in range(6)]))
    assert ok.decision.verdict == rules.CONFIRMED, ok.decision.reason
    assert ok.numbers["baseline gap"]["lo"] > 0
    # a baseline that keeps improving like the trained network is not a plateau
    moving = evaluate_z2(zg_prediction("Z2"), _runs([_record(s, base_exp=1.5) for s in range(4)]))
    assert moving.decision.verdict == rules.REFUTED
    # angles that do not move refute "feature learning at the end"
    frozen = evaluate_z2(zg_prediction("Z2"), _runs([_record(s, angle_exp=0.0) for s in range(4)]))
    assert frozen.decision.verdict == rules.REFUTED and "mean angle" in frozen.decision.reason


def test_measurements() -> None:
    rec = _record(0)
    ph = rec.phases[0]
    expected = max(abs(m - a) / abs(a) for m, a in zip(ph.signed_near_mass, A_STAR))
    assert mass_deficit(rec, ph) == pytest.approx(expected)
    series = per_lambda([rec, _record(1)], lambda r, p: p.far_mass)
    assert list(series) == [1, 2, 4, 8, 16, 32] and all(len(v) == 2 for v in series.values())


def test_claims_and_figures(tmp_path) -> None:  # noqa: ANN001 - fixture
    assert [c.id for c in CLAIMS] == ["Z1-local", "Z2-late"] and set(LADDERS) == {"smoke", "quick", "full"}
    assert all(c.ladder("quick").seeds >= rules.MIN_SEEDS for c in CLAIMS)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ev = evaluate_z1(zg_prediction("Z1"), _runs([_record(s) for s in range(3)]))
    from verify.figures import draw

    for p in ev.plots:
        fig = plt.figure()
        draw(fig, p)  # every plot kind, [ZG] ones and the log–log fits, is drawn by verify.figures
        fig.savefig(tmp_path / f"{p.figure}.png")
        plt.close(fig)
        assert (tmp_path / f"{p.figure}.png").stat().st_size > 1000
