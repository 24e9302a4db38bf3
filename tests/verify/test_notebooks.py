"""NB-one-step and NB-orient on synthetic records with known answers; their figures (THEORY.md §3.2, §5)."""

import math

import matplotlib
import numpy as np
import pytest

from verify import rules
from verify.claims import registry
from verify.claims.base import RunSet
from verify.claims.notebooks import (NB_ONE_STEP, NB_ORIENT, PUBLISHED_DEPARTURE, PUBLISHED_ERRORS, PUBLISHED_SIZE,
                                     evaluate_one_step, evaluate_orient, example_arm, kappa_arm, line_component,
                                     one_step_prediction, orient_prediction, prediction_interval,
                                     step_groups)
from verify.figures import draw, figure_size

matplotlib.use("Agg")

T_975_2 = 0.95 / math.sqrt(2 * 0.975 * 0.025)  # Student t_2 quantile 0.975, closed form (2q − 1)/√(2q(1 − q))


def test_prediction_interval_closed_form():
    lo, hi = prediction_interval([1.0, 2.0, 3.0], 0.95)  # mean 2, sd 1, n = 3
    half = T_975_2 * 1.0 * math.sqrt(1 + 1 / 3)
    assert lo == pytest.approx(2 - half, rel=1e-12) and hi == pytest.approx(2 + half, rel=1e-12)
    with pytest.raises(ValueError, match="at least 2"):
        prediction_interval([1.0], 0.95)


# ---------------------------------------------------------------------------
# NB-one-step
# ---------------------------------------------------------------------------
def one_step_runs(shift: float = 0.0, seeds: int = 6, sd: float = 0.01, size=PUBLISHED_SIZE,
                  honest_seeds: int = 2) -> RunSet:
    """Errors around each published mean (+ shift) with a full-seed spread ``sd``."""
    rng = np.random.default_rng(3)
    runs = {}
    for kappa, (mean, _) in PUBLISHED_ERRORS.items():
        for arm, n in ((kappa_arm(kappa), seeds), (kappa_arm(kappa, honest=True), honest_seeds)):
            z = rng.standard_normal(n)
            z = (z - z.mean()) / z.std(ddof=1) if n > 1 else z * 0
            runs[arm] = {size["d"]: [{"key": f"{arm}-{s}", "config": dict(size), "test_error": mean + shift + sd * z[s]}
                                     for s in range(n)]}
    return RunSet(runs)


def test_one_step_confirmed_when_published_means_are_typical():
    ev = evaluate_one_step(one_step_prediction(), one_step_runs())
    assert ev.decision.verdict == rules.CONFIRMED, ev.decision.reason
    row = ev.numbers["2"]
    assert row["full_seeds"]["n"] == 6 and row["honest"]["n"] == 2
    assert row["full_seeds"]["std"] == pytest.approx(0.01)
    lo, hi = row["interval"]
    level = 1 - (1 - NB_ONE_STEP.predict()["level"]) / 3
    assert row["level"] == pytest.approx(level)
    assert lo < PUBLISHED_ERRORS[2.0][0] < hi


def test_one_step_refuted_when_a_published_mean_is_far_outside():
    # sample mean shifted by 5 sd; the 98.3 % interval with 6 seeds is mean ± t_5·sd·√(7/6) ≈ ± 3.3 sd
    ev = evaluate_one_step(one_step_prediction(), one_step_runs(shift=0.05))
    assert ev.decision.verdict == rules.REFUTED
    assert "outside" in ev.decision.reason


def test_one_step_inconclusive_with_too_few_seeds_or_the_wrong_size():
    few = evaluate_one_step(one_step_prediction(), one_step_runs(seeds=rules.MIN_SEEDS - 1))
    assert few.decision.verdict == rules.INCONCLUSIVE and "need ≥" in few.decision.reason
    small = evaluate_one_step(one_step_prediction(), one_step_runs(size={"d": 32, "p": 64}))
    assert small.decision.verdict == rules.INCONCLUSIVE
    assert small.numbers["2"]["other_size_records"] == 6
    empty = evaluate_one_step(one_step_prediction(), RunSet({}))
    assert empty.decision.verdict == rules.INCONCLUSIVE and "--claims NB-one-step" in empty.decision.reason


def test_one_step_ladders_run_the_named_protocol_at_the_published_size():
    full = NB_ONE_STEP.ladder("full")
    runs = list(full.runs())
    assert {cfg["protocol"] for _, _, _, cfg in runs} == {"dklps-one-step"}
    assert {(d, cfg["p"]) for _, d, _, cfg in runs} == {(PUBLISHED_SIZE["d"], PUBLISHED_SIZE["p"])}
    assert {cfg["n_exp"] for _, _, _, cfg in runs} == set(PUBLISHED_ERRORS)
    assert {cfg.get("test_estimate", "test") for _, _, _, cfg in runs} == {"test", "train"}
    # the quick profile runs it only when named (it does not fit the quick budget), the same ladder as full
    assert NB_ONE_STEP.ladder("quick") == NB_ONE_STEP.ladder("full")
    assert not NB_ONE_STEP.by_default("quick") and NB_ONE_STEP.by_default("full")


# ---------------------------------------------------------------------------
# NB-orient
# ---------------------------------------------------------------------------
def test_v_star_is_the_first_hermite_direction_of_each_example():
    pred = NB_ORIENT.predict()
    ex1, ex2 = pred["examples"]
    # example 1: μ1(4z + z²) = 4, μ1(z) = 1 (the target's 1/2 scales both): v* = (4, 1)/√17
    assert np.allclose(ex1["v_star"], np.array([4, 1]) / math.sqrt(17))
    assert np.allclose(ex1["c1"], [2, 0.5])
    # example 2: μ1(z + z²) = μ1(z − z²) = 1: v* = (1, 1)/√2
    assert np.allclose(ex2["v_star"], np.array([1, 1]) / math.sqrt(2))
    for ex in (ex1, ex2):
        assert abs(np.dot(ex["v_star"], ex["normal"])) < 1e-12 and np.isclose(np.linalg.norm(ex["normal"]), 1)
        # σ-aware (relu) staircase: U^1 = v*, U^2 = R² (given y = ⟨v*, x⟩: x1²/2 holds −4yw/17 in example 1,
        # (x1² − x2²)/2 = −yw in example 2: linear in w ⊥ v*)
        assert ex["dims"] == [0, 1, 2] and ex["staircase_departure"] == 2
        assert ex["new"][0] == [[], []]
        assert abs(abs(np.dot(np.ravel(ex["new"][1]), ex["normal"])) - 1) < 1e-12
    assert (ex1["published_departure"], ex2["published_departure"]) == PUBLISHED_DEPARTURE == (None, 2)


def test_orient_prediction_stays_on_the_line_for_a_target_without_a_linear_connection():
    # g = x1 + He2(x2): v* = e1 and, given x1, g is even in x2 (E[g x2 | x1] = 0): the leap-1 staircase stops
    pred = orient_prediction(["x1 + He2(x2)"], [None], 3)["examples"][0]
    assert pred["staircase_departure"] is None and pred["dims"] == [0, 1]
    assert np.allclose(pred["v_star"], [1, 0]) and all(np.asarray(b).size == 0 for b in pred["new"])


def test_step_groups():
    assert step_groups(None, 6) == [("exponent", (1,)), ("exponent", (2, 3, 4, 5, 6))]
    assert step_groups(2, 6) == [("exponent", (1,)), ("theta1", (2,)), ("theta1", (3, 4, 5, 6))]
    assert step_groups(4, 6) == [("exponent", (1,)), ("exponent", (2, 3)), ("theta1", (4,)), ("theta1", (5, 6))]
    assert step_groups(6, 6) == [("exponent", (1,)), ("exponent", (2, 3, 4, 5)), ("theta1", (6,))]
    assert step_groups(None, 1) == [("exponent", (1,))]


def test_line_component_hand_value():
    rec = {"per_step": [{"step_cosines": None}, {"step_cosines": [[0.6, 0.8], [-0.6, 0.0]]}]}
    assert line_component(rec, 1, [1.0, 0.0]) == pytest.approx(0.6)
    assert line_component(rec, 1, [0.0, 1.0]) == pytest.approx(0.4)
    with pytest.raises(ValueError, match="step_cosines"):
        line_component(rec, 0, [1.0, 0.0])


def orient_runs(pred, off_level, dims=(256, 512, 1024, 2048), seeds=4, p=64, steps=6) -> RunSet:
    """Step cosines: on-line Θ(1) at every step; off-line ``off_level(example, t, d)`` plus d^-1/2 scatter."""
    rng = np.random.default_rng(5)
    runs = {}
    for i, ex in enumerate(pred["examples"], 1):
        v, u = np.asarray(ex["v_star"]), np.asarray(ex["normal"])
        runs[example_arm(i)] = {}
        for d in dims:
            recs = []
            for s in range(seeds):
                per = [{"step_cosines": None}]
                for t in range(1, steps + 1):
                    on = 0.5 * np.sign(rng.standard_normal(p))
                    off = (off_level(i, t, d) + 0.1 * rng.standard_normal() / np.sqrt(d)
                           + rng.standard_normal(p) / np.sqrt(d))
                    per.append({"step_cosines": (np.outer(on, v) + np.outer(off, u)).tolist()})
                recs.append({"key": f"o{i}-{d}-{s}", "seed": s, "per_step": per})
            runs[example_arm(i)][d] = recs
    return RunSet(runs)


def test_orient_confirmed_when_the_published_reading_holds():
    pred = NB_ORIENT.predict()
    ev = evaluate_orient(pred, orient_runs(pred, lambda i, t, d: 0.3 if (i == 2 and t >= 2) else 0.0))
    assert ev.decision.verdict == rules.CONFIRMED, ev.decision.reason
    parts = ev.numbers["parts"]
    assert parts["ex1 t=2..6 ⊥ v*"]["published"]["rule"] == "exponent"
    assert parts["ex2 t=2 ⊥ v*"]["published"]["rule"] == parts["ex2 t=3..6 ⊥ v*"]["published"]["rule"] == "theta1"
    assert parts["ex1 t=2 ⊥ v*"]["staircase"]["rule"] == "theta1" and "published" not in parts["ex1 t=2 ⊥ v*"]
    # the staircase says example 1 leaves at step 2 too: its reading is refuted by these records
    assert ev.numbers["staircase"]["verdict"] == rules.REFUTED
    assert {p.kind for p in ev.plots} == {"loglog", "step_plane"}


def test_orient_refuted_when_example_1_leaves_the_line():
    pred = NB_ORIENT.predict()
    ev = evaluate_orient(pred, orient_runs(pred, lambda i, t, d: 0.3 if t >= 2 else 0.0))
    assert ev.decision.verdict == rules.REFUTED
    assert "ex1 t=2..6 ⊥ v*" in ev.decision.reason
    assert ev.numbers["staircase"]["verdict"] == rules.CONFIRMED


def test_orient_inconclusive_on_a_short_ladder():
    pred = NB_ORIENT.predict()
    ev = evaluate_orient(pred, orient_runs(pred, lambda i, t, d: 0.0, dims=(256, 512)))
    assert ev.decision.verdict == rules.INCONCLUSIVE
    assert evaluate_orient(pred, RunSet({})).decision.verdict == rules.INCONCLUSIVE


def test_orient_ladders_run_the_multi_step_protocol_with_n_equal_d():
    from sim.giant_step.config import SimConfig

    ladder = NB_ORIENT.ladder("full")
    assert max(v.dims[-1] for v in ladder.variants) == 4096  # the published size
    for _, d, _, cfg in ladder.runs():
        c = SimConfig.from_dict(cfg)
        assert (c.protocol, c.n, c.p, c.steps, c.init, c.step_cosines) == ("dklps-multi-step", d, 1024, 6,
                                                                           "hypercube", True)


# ---------------------------------------------------------------------------
# figures
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["one_step", "orient"])
def test_notebook_figures_are_drawn(tmp_path, which):
    import matplotlib.pyplot as plt

    if which == "one_step":
        plots = evaluate_one_step(one_step_prediction(), one_step_runs()).plots
    else:
        pred = NB_ORIENT.predict()
        plots = evaluate_orient(pred, orient_runs(pred, lambda i, t, d: 0.0, seeds=3)).plots
    for plot in plots:
        fig = plt.figure(figsize=figure_size(plot.kind))
        draw(fig, plot)
        path = tmp_path / f"{plot.kind}.png"
        fig.savefig(path)
        plt.close(fig)
        assert path.stat().st_size > 5000


def test_registered_with_all_profiles():
    claims = {c.id: c for c in registry()}
    for cid in ("NB-one-step", "NB-orient"):
        assert {"smoke", "quick", "full"} <= set(claims[cid].ladders)
        assert claims[cid].kind == "conjecture"
