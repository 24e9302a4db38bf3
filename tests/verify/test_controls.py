"""Every built-in claim has power (THEORY.md §5.1): on synthetic runs that follow theory's prediction its rule
CONFIRMS the claim and REFUTES its negative control; and the false statements that the former rules confirmed
(issue 17) are not CONFIRMED any more.

Synthetic records: each neuron's overlap is ``level`` (random sign) on every direction theory says is learned
and ``N(0, 1)/√d`` on the rest, so learned directions are Θ(1) and the others ``≍ d^{-1/2}``; errors approach
their predicted limits like ``c·d^{-1/2}``; [ZG] statistics follow power laws in ``λ0/λ``.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import as_basis
from sim.giant_step.record import RunRecord
from sim.zhou_ge.record import ZGRecord
from verify import rules
from verify.claims import registry
from verify.claims.base import RunSet
from verify.claims.one_step import evaluate_learnability, one_step_prediction
from verify.claims.staircase import BLIND_SIGMA, STAIR_SIGMA, one_step_ahead
from tests.records import run_record, zg_record

DIMS = (256, 512, 1024, 2048)
CLAIMS = {c.id: c for c in registry()}


def overlap_matrix(rng, learned: np.ndarray, r: int, d: int, p: int, level: float = 0.4) -> np.ndarray:
    """``p × r`` overlaps: ``level`` with random signs along each column of ``learned`` (``r × m``), noise elsewhere."""
    M = rng.standard_normal((p, r)) / np.sqrt(d)
    for j in range(learned.shape[1]):
        M += np.outer(level * np.sign(rng.standard_normal(p)) * (1 + 0.1 * rng.standard_normal(p)), learned[:, j])
    return M


def record(key: str, per_step: list[np.ndarray], errors: list[float] | None = None) -> RunRecord:
    steps = [{"overlaps": M.tolist(), "test_error": None if errors is None else errors[t]}
             for t, M in enumerate(per_step)]
    return run_record(steps, key=key)


def one_step_runs(arms: dict[str, np.ndarray], r: int, seeds: int = 6, p: int = 32, dims=DIMS) -> RunSet:
    """One-step records per arm: ``arms[name]`` is the ``r × m`` basis of what that arm learns."""
    rng = np.random.default_rng(0)
    out = {}
    for name, learned in arms.items():
        out[name] = {d: [record(f"{name}{d}-{s}", [overlap_matrix(rng, np.zeros((r, 0)), r, d, p),
                                                   overlap_matrix(rng, learned, r, d, p)]) for s in range(seeds)]
                     for d in dims}
    return RunSet(out)


def staircase_runs(levels_by_arm: dict[str, list], r: int, seeds: int = 6, p: int = 32) -> RunSet:
    """Several-step records per arm: ``levels_by_arm[arm][t]`` is ``U^t`` (``r × dim``)."""
    rng = np.random.default_rng(1)
    out = {}
    for arm, levels in levels_by_arm.items():
        bases = [as_basis(L, r) for L in levels]
        out[arm] = {d: [record(f"{arm}{d}-{s}", [overlap_matrix(rng, B, r, d, p) for B in bases])
                        for s in range(seeds)] for d in DIMS}
    return RunSet(out)


def judged(claim_id: str, runs: RunSet, prediction=None):
    claim = CLAIMS[claim_id]
    return claim.judge(claim.predict() if prediction is None else prediction, runs)


def assert_power(ev) -> None:
    assert ev.decision.verdict == rules.CONFIRMED, ev.decision.reason
    assert ev.controls and all(c.refuted for c in ev.controls), [c.text() for c in ev.controls]


@pytest.mark.parametrize("claim_id", ["T1-single", "T1-spec"])
def test_rank_claims_have_power(claim_id):
    pred = CLAIMS[claim_id].predict()
    runs = one_step_runs({"": as_basis(pred["learned_basis"], pred["r"])}, pred["r"])
    assert_power(judged(claim_id, runs, pred))


def test_t1_short_has_power():
    pred = CLAIMS["T1-short"].predict()
    runs = one_step_runs({arm: np.zeros((2, 0)) for arm in pred["arms"]}, 2)
    assert_power(judged("T1-short", runs, pred))


def test_t1_hard_has_power():
    pred = CLAIMS["T1-hard"].predict()
    runs = one_step_runs({arm: as_basis(p["learned_basis"], p["r"]) for arm, p in pred["arms"].items()}, 3)
    assert_power(judged("T1-hard", runs, pred))


def test_t1_curve_has_power():
    pred = CLAIMS["T1-curve"].predict()
    rng = np.random.default_rng(2)
    runs = {}
    for a, val in pred["overlap"].items():
        runs[f"alpha={a}"] = {}
        for d in (512, 1024, 2048):
            recs = []
            for s in range(8):
                x = val + 0.3 / np.sqrt(d) * rng.standard_normal() + 0.01 * rng.standard_normal(16)
                M = np.column_stack([np.r_[x, -x], rng.standard_normal(32) / np.sqrt(d)])
                recs.append(record(f"c{a}-{d}-{s}", [M]))
            runs[f"alpha={a}"][d] = recs
    ev = judged("T1-curve", RunSet(runs), pred)
    assert_power(ev)
    # issue 17: a "ladder" d = 2000, 2048 (span 1.02) does not decide a value claim
    short = RunSet({arm: {d: runs[arm][1024] for d in (2000, 2048)} for arm in runs})
    assert judged("T1-curve", short, pred).decision.verdict == rules.INCONCLUSIVE


@pytest.mark.parametrize("claim_id", ["C1-stair", "C1-stair-p"])
def test_staircase_claims_have_power(claim_id):
    pred = CLAIMS[claim_id].predict()
    assert_power(judged(claim_id, staircase_runs({"": pred["levels"]}, pred["r"]), pred))


def test_c1_sigma_has_power():
    pred = CLAIMS["C1-σ"].predict()
    runs = staircase_runs({arm: p["levels"] for arm, p in pred["arms"].items()}, 3)
    ev = judged("C1-σ", runs, pred)
    assert_power(ev)
    assert [a.name for a in ev.arms] == [BLIND_SIGMA, STAIR_SIGMA]


def error_runs(eps: list[float], seeds: int = 4, dims=(45, 64, 91, 128, 181)) -> RunSet:
    rng = np.random.default_rng(3)
    return RunSet({"": {d: [run_record([{"test_error": e + 0.7 * d ** -0.5 + 0.005 * rng.standard_normal()}
                                        for e in eps], key=f"e{d}-{s}") for s in range(seeds)] for d in dims}})


@pytest.mark.parametrize("claim_id", ["T2-error", "RF-sep"])
def test_error_claims_have_power(claim_id):
    pred = CLAIMS[claim_id].predict()
    assert_power(judged(claim_id, error_runs(pred["eps"]), pred))


def zg_run(seed: int, phases: int = 6) -> ZGRecord:
    """Far mass, loss, deficit and angle decay like λ/λ0; the baseline is flat and ends above the loss."""
    rng = np.random.default_rng(seed)
    lam0, a_star = 0.01, [1.0, -2.0]
    out = []
    for k in range(phases):
        r = 0.5 ** k
        noise = lambda: float(np.exp(0.05 * rng.standard_normal()))  # noqa: E731
        deficit = 0.3 * r * noise()
        out.append({"lam": lam0 * r, "far_mass": 0.4 * r * noise(), "loss": 0.01 * r ** 1.5 * noise(),
                    "signed_near_mass": [a * (1 - deficit) for a in a_star], "mean_angle": 0.05 * r * noise(),
                    "baseline_loss": 0.05 * noise(), "steps": 100, "converged": True})
    snap = {"angle": [0.01, 0.5], "nearest": [0, 1], "norm": [1.0, 1.0], "a": a_star}
    traj = {"step": [0, 1], "loss": [1, 1], "lam": [lam0, lam0]}
    return zg_record(out, a_star, traj, snap, {"plateau": 0.045, "loss_by_phase": []}, 0.02, seed=seed,
                     key=f"z{seed}", variant="v", config={"lam0": lam0, "near_angle": 0.2})


@pytest.mark.parametrize("claim_id", ["Z1-local", "Z2-late"])
def test_zhou_ge_claims_have_power(claim_id):
    assert_power(judged(claim_id, RunSet({"zg": {32: [zg_run(s) for s in range(5)]}})))


def test_every_built_in_claim_declares_a_control():
    assert all(c.controls for c in CLAIMS.values()), [c.id for c in CLAIMS.values() if not c.controls]


def test_a_claim_without_a_refuted_control_is_not_confirmed():
    """judge: the same runs CONFIRM C1-stair, but if its control were true too the verdict is INCONCLUSIVE; a
    claim with no control at all cannot be CONFIRMED."""
    import dataclasses

    from verify import Alternative

    claim = CLAIMS["C1-stair"]
    pred = claim.predict()
    runs = staircase_runs({"": pred["levels"]}, pred["r"])
    weak = dataclasses.replace(claim, controls=(Alternative("the claim itself", lambda p: p),))
    ev = weak.judge(pred, runs)
    assert ev.decision.verdict == rules.INCONCLUSIVE and "power not shown" in ev.decision.reason
    none = dataclasses.replace(claim, controls=()).judge(pred, runs)
    assert none.decision.verdict == rules.INCONCLUSIVE and "no negative control" in none.decision.reason


# ---------------------------------------------------------------------------
# issue 17: false statements the former rules CONFIRMED on real-like runs
# ---------------------------------------------------------------------------
def test_all_of_v_is_not_confirmed_when_one_direction_is_learned():
    """He3(x1) + x2x3, orders < 3 removed, n ≍ d³: only e1 is learned. "All of span(e1, e2, e3) learned" with
    T1-hard's rule was CONFIRMED on the mean norm; on s_min it is REFUTED."""
    runs = one_step_runs({"n≍d^3": np.eye(3)[:, :1]}, 3)
    false = {"arms": {"n≍d^3": {**one_step_prediction("x1*x2*x3", 3, True, "He3"), "target": "He3(x1) + x2*x3"}}}
    assert false["arms"]["n≍d^3"]["dim_learned"] == 3
    ev = evaluate_learnability(false, runs)
    assert ev.decision.verdict == rules.REFUTED and "s_min" in ev.decision.reason


def test_x1_plus_x1x2_does_not_learn_span_e1_e2_at_n_d():
    pred = one_step_prediction("x1 + x1*x2", 1, False, "relu")
    runs = one_step_runs({"": as_basis(pred["learned_basis"], 2)}, 2)
    false = one_step_prediction("x1 + x1*x2", 2, True, "relu")  # span(e1, e2)
    assert CLAIMS["T1-single"].evaluate(false, runs).decision.verdict == rules.REFUTED
    arms = evaluate_learnability({"arms": {"n≍d": false}}, RunSet({"n≍d": runs.variant("")}))
    assert arms.decision.verdict == rules.REFUTED


def test_c1_stair_u1_is_not_span_e1_e2():
    pred = CLAIMS["C1-stair"].predict()
    runs = staircase_runs({"": pred["levels"]}, pred["r"])
    ev = CLAIMS["C1-stair"].evaluate(one_step_ahead(pred), runs)
    assert ev.decision.verdict == rules.REFUTED and "t=1" in ev.decision.reason


# ---------------------------------------------------------------------------
# issue 20: reused batches, transformed labels, the authors' DMFT
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("claim_id", ["BR-reuse", "BR-even", "GE-labels"])
def test_reuse_and_label_claims_have_power(claim_id):
    pred = CLAIMS[claim_id].predict()
    runs = one_step_runs({arm: as_basis(p["learned_basis"], p["r"]) for arm, p in pred["arms"].items()},
                         max(p["r"] for p in pred["arms"].values()))
    if claim_id == "BR-even":  # x1*x2 has r = 2, the single-index links r = 1: one run set per arm's r
        runs = RunSet({arm: one_step_runs({arm: np.zeros((p["r"], 0))}, p["r"]).variant(arm)
                       for arm, p in pred["arms"].items()})
    ev = judged(claim_id, runs, pred)
    assert_power(ev)
    assert [a.name for a in ev.arms] == list(pred["arms"])


def test_reuse_predictions_come_from_theory():
    arms = CLAIMS["BR-reuse"].predict()["arms"]
    assert (arms["reuse"]["dim_learned"], arms["fresh"]["dim_learned"]) == (1, 0)  # E[y³ x1] ≠ 0; leap 3
    assert all(p["dim_learned"] == 0 for p in CLAIMS["BR-even"].predict()["arms"].values())  # the flip symmetry
    labels = CLAIMS["GE-labels"].predict()["arms"]
    assert [labels[a]["dim_learned"] for a in ("He3 tanh", "He3 raw", "He2 tanh")] == [1, 0, 0]


def dmft_runs(shift: float = 0.0, dims=(100_000, 200_000, 400_000), seeds: int = 8) -> RunSet:
    """dtapzk-reuse-like records: m[t, i, k] = DMFT + shift + N(0, (0.4/√d)²) per seed."""
    m = np.asarray(CLAIMS["BR-dmft"].predict()["m"])
    rng = np.random.default_rng(4)
    return RunSet({"": {d: [run_record([{"overlaps": (m[t] + shift * (t > 0) + 0.4 / np.sqrt(d)
                                                       * rng.standard_normal(m[t].shape)).tolist()}
                                        for t in range(m.shape[0])], key=f"m{d}-{s}") for s in range(seeds)]
                        for d in dims}})


def test_br_dmft_has_power_and_refutes_a_shifted_curve():
    assert_power(judged("BR-dmft", dmft_runs()))
    assert judged("BR-dmft", dmft_runs(shift=0.02)).decision.verdict == rules.REFUTED
    short = judged("BR-dmft", dmft_runs(dims=(100_000, 200_000)))
    assert short.decision.verdict == rules.INCONCLUSIVE and "ladder too short" in short.decision.reason
