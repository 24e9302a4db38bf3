"""Claims on synthetic records: correct predictions are CONFIRMED, injected wrong ones REFUTED (issue item 5)."""

import dataclasses
import functools

import numpy as np
import pytest

from sim.giant_step.record import RunRecord
from verify import rules
from verify.claims import registry
from verify.claims.base import RunSet
from verify.claims.errors import C3_ERROR, ERR, ERR_TOL
from verify.claims.curve import curve_prediction
from verify.claims.one_step import T1_CURVE, T1_SHORT, T1_SINGLE, one_step_prediction
from verify.runner import evaluate_claim, exit_status
from tests.records import run_record

DIMS = (64, 128, 256, 512, 1024)


def record(M, key):
    return run_record([{"overlaps": M.tolist()}], key=key)


def single_index_runs(level: float, seeds: int = 6, p: int = 64) -> RunSet:
    """Synthetic one-step records: every neuron has overlap ``level`` with e1, ~d^-1/2 noise on e2."""
    rng = np.random.default_rng(0)
    runs = {}
    for d in DIMS:
        recs = []
        for s in range(seeds):
            M = np.column_stack([level + 0.02 * rng.standard_normal(p), rng.standard_normal(p) / np.sqrt(d)])
            recs.append(record(M, f"k{d}-{s}"))
        runs[d] = recs
    return RunSet({"": runs})


def short_runs(seeds: int = 6, p: int = 64, arms=("n≍d", "n≍d^1.5")) -> RunSet:
    rng = np.random.default_rng(1)
    return RunSet({arm: {d: [record(rng.standard_normal((p, 2)) / np.sqrt(d), f"s{arm}{d}-{s}") for s in range(seeds)]
                         for d in DIMS} for arm in arms})


def curve_runs(pred, shift: float = 0.0, seeds: int = 8, p: int = 32) -> RunSet:
    """Overlaps equal to the formula (+ shift) with O(d^-1/2) scatter, first half a=+1, second half a=−1."""
    rng = np.random.default_rng(2)
    runs = {}
    for a, val in pred["overlap"].items():
        runs[f"alpha={a}"] = {}
        for d in (256, 512, 1024):
            recs = []
            for s in range(seeds):
                x = val + shift + 0.3 / np.sqrt(d) * rng.standard_normal() + 0.01 * rng.standard_normal(p // 2)
                M = np.column_stack([np.r_[x, -x], rng.standard_normal(p) / np.sqrt(d)])
                recs.append(record(M, f"c{a}-{d}-{s}"))
            runs[f"alpha={a}"][d] = recs
    return RunSet(runs)


def test_registry_has_the_dklps_claims_with_kinds():
    claims = {c.id: c for c in registry()}
    assert set(claims) >= {"T1-single", "T1-curve", "T1-short", "T1-spec", "T1-hard", "C1-stair", "T2-error",
                           "C3-error", "RF-sep"}
    assert claims["C1-stair"].status == claims["C3-error"].status == "conjecture"
    assert claims["T1-single"].status == claims["T2-error"].status == claims["RF-sep"].status == "theorem"
    for c in claims.values():
        assert {"smoke", "quick", "full"} <= set(c.ladders)


def test_predictions_come_from_theory():
    p = T1_SINGLE.predict()
    assert p["dim_learned"] == 1 and p["learned_basis"] == [[1.0], [0.0]]  # C_1(x1 + x1x2) = e1
    c = T1_CURVE.predict()
    # §3.1 with relu (μ1 = 1/2, E σ'² = 1/2), C0 = 0, ‖C1‖ = 1, E g² = 2, η̃ = 2: 1/√(2 + 4/α)
    for a, v in c["overlap"].items():
        assert abs(v - 1 / np.sqrt(2 + 4 / float(a))) < 1e-12


def test_single_confirmed_on_matching_data_refuted_with_injected_prediction():
    runs = single_index_runs(0.4)
    good = evaluate_claim(T1_SINGLE, T1_SINGLE.predict(), runs)
    assert good.verdict == rules.CONFIRMED, good.evaluation.decision.reason
    wrong = one_step_prediction("x1 + x1*x2", 2, True, "relu")  # claims both directions are learned
    assert wrong["dim_learned"] == 2
    bad = evaluate_claim(T1_SINGLE, wrong, runs)
    assert bad.verdict == rules.REFUTED
    assert exit_status([bad]) == 1 and exit_status([good]) == 0
    assert bad.run_keys and all(k.startswith("k") for k in bad.run_keys)


def test_single_refuted_when_the_data_learn_nothing():
    out = evaluate_claim(T1_SINGLE, T1_SINGLE.predict(), single_index_runs(0.0))
    assert out.verdict in (rules.REFUTED, rules.INCONCLUSIVE)
    assert out.verdict != rules.CONFIRMED


def test_short_confirmed_and_refuted_with_injected_prediction():
    runs = short_runs()
    good = evaluate_claim(T1_SHORT, T1_SHORT.predict(), runs)
    assert good.verdict == rules.CONFIRMED, good.evaluation.decision.reason
    injected = dataclasses.replace(T1_SHORT, predict=lambda: {"arms": {"n≍d": one_step_prediction("x1*x2", 2, True,
                                                                                                     "relu")}})
    bad = evaluate_claim(injected, injected.predict(), runs)
    assert bad.verdict == rules.REFUTED
    # every arm is decided: without the n ≍ d^1.5 runs the claim is INCONCLUSIVE, never decided on half of it
    half = evaluate_claim(T1_SHORT, T1_SHORT.predict(), short_runs(arms=("n≍d",)))
    assert half.verdict == rules.INCONCLUSIVE and "n≍d^1.5: no runs in this profile" in half.evaluation.decision.reason
    assert [a.name for a in half.evaluation.arms] == ["n≍d", "n≍d^1.5"]


def test_curve_confirmed_and_refuted_with_injected_prediction():
    pred = T1_CURVE.predict()
    good = evaluate_claim(T1_CURVE, pred, curve_runs(pred))
    assert good.verdict == rules.CONFIRMED, good.evaluation.decision.reason
    wrong = curve_prediction("x1 + x1*x2", "relu", 1.0, (0.5, 1.0, 2.0, 4.0))  # wrong learning rate
    bad = evaluate_claim(T1_CURVE, wrong, curve_runs(pred))
    assert bad.verdict == rules.REFUTED


def test_curve_figure_draws_the_theory_formula(tmp_path):
    """verify.figures draws the T1-curve plot from the prediction's OneStepOverlap; an unknown figure kind is
    refused."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from verify import FigureKind, Plot
    from verify.figures import RENDERERS, draw

    pred = T1_CURVE.predict()
    (plot,) = evaluate_claim(T1_CURVE, pred, curve_runs(pred)).evaluation.plots
    assert plot.figure == "curve"
    alphas = [float(a) for a in pred["overlap"]]
    assert np.allclose(plot.data["_formula"].evaluate(alphas), list(pred["overlap"].values()), rtol=1e-12)
    fig = plt.figure()
    draw(fig, plot)
    fig.savefig(tmp_path / "curve.png")
    plt.close(fig)
    assert (tmp_path / "curve.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="a plot's figure kind must be one of loglog, .*; got 'pie'"):
        Plot("pie", "", {})
    assert set(RENDERERS) == set(FigureKind)  # every figure kind has its renderer
    plt.close("all")


def test_too_few_seeds_is_inconclusive_not_confirmed():
    out = evaluate_claim(T1_SINGLE, T1_SINGLE.predict(), single_index_runs(0.4, seeds=2))
    assert out.verdict == rules.INCONCLUSIVE


def test_conjecture_refuted_exits_zero_unless_strict():
    stair = next(c for c in registry() if c.id == "C1-stair")
    out = dataclasses.replace(evaluate_claim(T1_SINGLE, one_step_prediction("x1 + x1*x2", 2, True, "relu"),
                                             single_index_runs(0.4)), status=stair.status)
    assert out.verdict == rules.REFUTED
    assert exit_status([out]) == 0 and exit_status([out], strict=True) == 1


# ---------------------------------------------------------------------------
# error claims (T2-error, RF-sep): two-sided rules on synthetic errors
# ---------------------------------------------------------------------------
ERR_DIMS = (64, 91, 128, 181, 256)


def error_runs(eps0: float, eps1: float, seeds: int = 4, c0: float = 0.7, c1: float = 0.7) -> RunSet:
    """Records whose T=0 / T=1 errors approach ``eps0`` / ``eps1`` like ``c·d^-1/2`` with small seed noise."""
    rng = np.random.default_rng(5)
    runs = {}
    for d in ERR_DIMS:
        recs = []
        for s in range(seeds):
            e0 = eps0 + c0 * d**-0.5 + 0.005 * rng.standard_normal()
            e1 = eps1 + c1 * d**-0.5 + 0.005 * rng.standard_normal()
            recs.append(run_record([{"test_error": e0}, {"test_error": e1}], key=f"e{d}-{s}"))
        runs[d] = recs
    return RunSet({"": runs})


@functools.cache
def _err_claims():
    claims = {c.id: c for c in registry()}
    return claims["T2-error"], claims["RF-sep"]


@functools.cache
def _pred(claim_id: str):
    t2, rf = _err_claims()
    return (t2 if claim_id == t2.id else rf).predict()


def test_error_claims_confirmed_when_the_limits_match_theory():
    t2, rf = _err_claims()
    runs = error_runs(1.0, 0.0)
    for claim in (t2, rf):
        out = evaluate_claim(claim, _pred(claim.id), runs)
        assert out.verdict == rules.CONFIRMED, out.evaluation.decision.reason


@pytest.mark.parametrize("eps0,eps1", [(1.3, 0.0), (0.7, 0.0), (1.0, 0.3)])
def test_rf_sep_refuted_from_either_side(eps0, eps1):
    """A random-features limit above or below the baseline, or a gap short of the prediction, refutes."""
    _, rf = _err_claims()
    out = evaluate_claim(rf, _pred(rf.id), error_runs(eps0, eps1))
    assert out.verdict == rules.REFUTED, out.evaluation.decision.reason
    assert exit_status([out]) == 1


@pytest.mark.parametrize("eps1", [0.3, -0.3])
def test_t2_refuted_above_and_below(eps1):
    t2, _ = _err_claims()
    out = evaluate_claim(t2, _pred(t2.id), error_runs(1.0, eps1))
    assert out.verdict == rules.REFUTED, out.evaluation.decision.reason


def test_rf_sep_refuted_with_an_injected_wrong_prediction():
    _, rf = _err_claims()
    wrong = {**_pred(rf.id), "eps": [0.5, 0.0]}  # a wrong RF baseline
    out = evaluate_claim(rf, wrong, error_runs(1.0, 0.0))
    assert out.verdict == rules.REFUTED


def test_error_claims_inconclusive_with_two_dimensions_or_two_seeds():
    _, rf = _err_claims()
    runs = error_runs(1.0, 0.0)
    two = RunSet({"": {d: runs.variant("")[d] for d in (64, 128)}})
    assert evaluate_claim(rf, _pred(rf.id), two).verdict == rules.INCONCLUSIVE
    assert evaluate_claim(rf, _pred(rf.id), error_runs(1.0, 0.0, seeds=2)).verdict == rules.INCONCLUSIVE


def test_error_ladder_is_in_the_kappa_1_5_regime():
    """p and n_ridge grow like d^1.5 (κ = ⌊1.5⌋ = 1), the first-layer batch like d."""
    from sim import SimConfig

    _, rf = _err_claims()
    for d in sorted({d for _, d, _, _ in rf.ladder("quick").runs()})[::4]:
        cfg = next(c for v, dd, s, c in rf.ladder("quick").runs() if dd == d)
        sc = SimConfig(**cfg)
        assert sc.p == pytest.approx(d**1.5, rel=0.01) and sc.n_ridge == pytest.approx(4 * d**1.5, rel=0.01)
        assert sc.n == ERR["n_scale"] * d and sc.init == "symmetric"
    dims = sorted({d for _, d, _, _ in rf.ladder("quick").runs()})
    assert len(dims) >= 3 and dims[-1] / dims[0] >= 4


@pytest.mark.parametrize("limit,verdict,control", [(1.35, rules.CONFIRMED, True), (0.6, rules.REFUTED, True),
                                                   (3.1, rules.INCONCLUSIVE, False)])
def test_c3_lower_bound_from_the_fixed_rate_extrapolation(limit, verdict, control):
    """C3-error: ε∞ of ε(d) = ε∞ + c·d^-1/2 against the bound ε_pred(U^1, 1) = 1 from below only; a limit at
    the random-features level 3 (a network that learned nothing) passes the bound but not its control."""
    rng = np.random.default_rng(6)
    runs = RunSet({"": {d: [run_record([{"test_error": limit + 0.5 * d**-0.5 + 0.01 * rng.standard_normal()}],
                                       key=f"c{d}-{s}") for s in range(4)] for d in (128, 181, 256, 362, 512)}})
    pred = C3_ERROR.predict()
    # g = x1 + He2(x1) + x2x3: ε_pred(span e1, 1) = ‖x2x3‖² = 1, ε_pred({0}, 1) = ‖He2‖² + ‖x2x3‖² = 3
    assert pred["eps"] == [3.0, 1.0] and pred["informative"]
    out = evaluate_claim(C3_ERROR, pred, runs)
    assert out.verdict == verdict, out.evaluation.decision.reason
    assert [c.refuted for c in out.evaluation.controls] == [control]
    assert out.evaluation.numbers["series"][0]["fit"]["fixed_gamma"]


def test_c3_is_uninformative_where_the_bound_is_the_random_features_level():
    """Issue 17: for x1 + x1x2x3 the bound ε_pred(U^1, 1) = 1 equals the RF level; a network that learned nothing
    (ε∞ = 1.79) passed. Such a bound is INCONCLUSIVE now."""
    from verify.claims.errors import c3_prediction, evaluate_c3

    pred = c3_prediction("x1 + x1*x2*x3")
    assert pred["eps"] == [1.0, 1.0] and not pred["informative"]
    rng = np.random.default_rng(7)
    runs = RunSet({"": {d: [run_record([{"test_error": 1.79 + 0.5 * d**-0.5 + 0.01 * rng.standard_normal()}],
                                       key=f"u{d}-{s}") for s in range(4)] for d in (128, 181, 256, 362, 512)}})
    ev = evaluate_c3(pred, runs)
    assert ev.decision.verdict == rules.INCONCLUSIVE and "uninformative" in ev.decision.reason


def relu_protocol_floor(lr0, alpha):
    """The floor R the error claims carry in their prediction (theory.overlap.protocol_floor, THEORY §2.6)."""
    from theory.overlap import protocol_floor

    return protocol_floor("x1 + x1*x2", "relu", lr0, alpha).to_dict()


def test_protocol_floor_matches_monte_carlo():
    """R = 1 − m²/arcsin(m²+q²): residual of x1 projected on span{1, Φ((m x1 + q y)/c')} (errors docstring)."""
    from scipy.stats import norm

    carried = _pred("RF-sep")["protocol_floor"]  # the report's
    assert {k: carried[k] for k in ("m", "q2", "R")} == relu_protocol_floor(ERR["lr0"], ERR["n_scale"])
    assert carried["sin2_theta"] == pytest.approx(2 / (ERR["n_scale"] + 2), rel=1e-14)  # x1 + x1x2: 2/(α + 2)
    for lr0, alpha in ((2.0, 1.0), (ERR["lr0"], ERR["n_scale"])):
        f = relu_protocol_floor(lr0, alpha)
        m2, q2 = f["m"] ** 2, f["q2"]
        rng = np.random.default_rng(0)
        x, y = rng.standard_normal((2, 400_000))
        F = norm.cdf((np.sqrt(m2) * x + np.sqrt(q2) * y) / np.sqrt(1 - m2 - q2))
        A = np.column_stack([np.ones_like(F), F])
        resid = np.mean((x - A @ np.linalg.lstsq(A, x, rcond=None)[0]) ** 2)
        assert abs(resid - f["R"]) < 5e-3
    assert relu_protocol_floor(ERR["lr0"], ERR["n_scale"])["R"] < 0.2 * ERR_TOL * 2  # well inside the tolerance


# ---------------------------------------------------------------------------
# multi-step claims (C1-stair, C1-σ, C1-stair-p): σ-aware staircase on synthetic records
# ---------------------------------------------------------------------------
STAIR_DIMS = (256, 512, 1024, 2048, 4096)


def stair_record(dims_t: tuple[int, ...], d: int, rng: np.random.Generator, p: int = 64, key: str = "") -> RunRecord:
    """A 3-step record of ``x1 + x1x2 + x1x2x3``: after ``t`` steps the first ``dims_t[t]`` axes carry Θ(1)
    overlap (0.5), the others ``d^-1/2`` noise."""
    steps = []
    for t, m in enumerate(dims_t):
        M = rng.standard_normal((p, 3)) / np.sqrt(d)
        M[:, :m] = 0.5 + 0.01 * rng.standard_normal((p, m))
        steps.append({"overlaps": M.tolist()})
    return run_record(steps, key=key)


def stair_runs(arms: dict[str, tuple[int, ...]], seeds: int = 8) -> RunSet:
    rng = np.random.default_rng(9)
    return RunSet({arm: {d: [stair_record(dims, d, rng, key=f"{arm}{d}-{s}") for s in range(seeds)]
                         for d in STAIR_DIMS} for arm, dims in arms.items()})


@functools.cache
def _stair_claims():
    claims = {c.id: c for c in registry()}
    return claims["C1-stair"], claims["C1-σ"], claims["C1-stair-p"]


def test_staircase_predictions_are_sigma_aware():
    """Each arm's levels come from theory's σ-aware staircase (§2.8): relu stops at dim 2 (μ3 = 0 blocks e3
    at step 3), the stair activation climbs 0, 1, 2, 3; C1-stair and C1-stair-p run that activation."""
    from verify.claims.staircase import BLIND_SIGMA, STAIR_SIGMA

    stair, sigma, wide = _stair_claims()
    pred = sigma.predict()["arms"]
    assert pred[BLIND_SIGMA]["dims"] == [0, 1, 2, 2] and pred[STAIR_SIGMA]["dims"] == [0, 1, 2, 3]
    (blocked,) = pred[BLIND_SIGMA]["blocked"]
    assert blocked["step"] == 3 and blocked["order"] == 3 and np.allclose(np.abs(blocked["basis"]), [[0], [0], [1]])
    assert pred[STAIR_SIGMA]["blocked"] == [] and pred[STAIR_SIGMA]["generic_dims"] == [0, 1, 2, 3]
    assert stair.predict()["dims"] == wide.predict()["dims"] == [0, 1, 2, 3]
    for claim in (stair, wide):
        for prof in ("quick", "full"):
            (arm,) = claim.ladder(prof).variants
            assert arm.config["activation"] == STAIR_SIGMA and arm.config["steps"] == 3
    assert all(v.config["p"] >= 256 for prof in ("quick", "full") for v in wide.ladder(prof).variants)


def test_c1_sigma_confirmed_when_only_the_sigma_arm_climbs_and_refuted_otherwise():
    from verify.claims.staircase import BLIND_SIGMA, STAIR_SIGMA

    _, sigma, _ = _stair_claims()
    pred = sigma.predict()
    good = stair_runs({BLIND_SIGMA: (0, 1, 2, 2), STAIR_SIGMA: (0, 1, 2, 3)})
    out = evaluate_claim(sigma, pred, good)
    assert out.verdict == rules.CONFIRMED, out.evaluation.decision.reason
    assert any("relu t=1: e3" in k for k in out.evaluation.numbers)  # the blocked direction, followed at step 1
    stuck = stair_runs({BLIND_SIGMA: (0, 1, 2, 2), STAIR_SIGMA: (0, 1, 2, 2)})  # e3 never learned by either
    assert evaluate_claim(sigma, pred, stuck).verdict == rules.REFUTED
    climbs = stair_runs({BLIND_SIGMA: (0, 1, 2, 3), STAIR_SIGMA: (0, 1, 2, 3)})  # relu learning e3 refutes
    assert evaluate_claim(sigma, pred, climbs).verdict == rules.REFUTED


def test_c1_stair_uses_its_activations_staircase():
    stair, _, _ = _stair_claims()
    runs = stair_runs({"": (0, 1, 2, 3)})
    out = evaluate_claim(stair, stair.predict(), runs)
    assert out.verdict == rules.CONFIRMED, out.evaluation.decision.reason
    assert any(p.figure == "plane" for p in out.evaluation.plots)
    relu = evaluate_claim(stair, stair.predict(), stair_runs({"": (0, 1, 2, 2)}))  # what relu would do
    assert relu.verdict == rules.REFUTED
