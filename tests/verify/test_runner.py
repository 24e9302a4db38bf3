"""``verify.runner`` isolates claims: a prediction or evaluation that breaks is that claim's
INCONCLUSIVE with the reason; a ladder that cannot run is named by claim and arm before any compute."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from verify import Claim, Ladder, Variant
from verify.claims.base import Evaluation, RunSet
from verify.profiles import get_profile
from verify.rules import CONFIRMED, INCONCLUSIVE, REFUTED, Decision
from theory.exits import EXIT_REFUTED
from verify.runner import (
    evaluate_claim,
    exit_status,
    make_run_plan,
    predict_claim,
    verify,
)

SMOKE = get_profile("smoke")
TINY = dict(target="x1", p=8, n_test=64, block_size=16)


def _claim(id: str = "C", predict=lambda: {"x": 1.0}, evaluate=None, variants=(Variant("", TINY, (16,)),),
           seeds: int = 1, status: str = "theorem") -> Claim:  # noqa: ANN001 - callables of a claim
    evaluate = evaluate or (lambda p, r: Evaluation(Decision(CONFIRMED, "fine"), "", ""))
    return Claim(id=id, source="test", statement="s", status=status, predict=predict,
                 ladders={"smoke": Ladder(tuple(variants), seeds)}, evaluate=evaluate)


def test_predictions_that_break_are_reasons() -> None:
    assert predict_claim(_claim(predict=lambda: {"x": 1.0, "_obj": math.nan})) == ({"x": 1.0, "_obj": math.nan},
                                                                                 None)
    for predict, reason in [(lambda: 1 / 0, "ZeroDivisionError: division by zero"),
                            (lambda: {"a": [0.5, math.inf]}, "non-finite number at a[1]"),
                            (lambda: {"a": {"b": -math.inf}}, "non-finite number at a.b"),
                            (lambda: (1.0,), "returned tuple, not a mapping")]:
        pred, why = predict_claim(_claim(predict=predict))
        assert pred == {} and why is not None and reason in why and why.startswith("prediction failed")


@pytest.mark.parametrize("evaluate, reason", [
    (lambda p, r: [1], "evaluation returned list"),
    (lambda p, r: Evaluation("CONFIRMED", "", ""), "evaluation returned an Evaluation whose decision is str"),
    (lambda p, r: Evaluation(Decision("PROBABLY", "hm"), "", ""), "ValueError: verdict must be one of"),
    (lambda p, r: {}["missing"], "evaluation failed: KeyError: 'missing'"),
])
def test_evaluations_that_break_are_inconclusive(evaluate, reason: str) -> None:  # noqa: ANN001
    out = evaluate_claim(_claim(evaluate=evaluate), {}, RunSet({}))
    assert out.verdict == INCONCLUSIVE and reason in out.evaluation.decision.reason


def test_ladder_errors_name_the_claim_and_the_arm() -> None:
    claim = _claim("MINE", variants=(Variant("fine", TINY, (16,)), Variant("wide", {**TINY, "p": 9}, (16, 32))))
    with pytest.raises(ValueError, match=r"^claim MINE, arm wide \(d=16\): p must be even"):
        make_run_plan([claim], SMOKE)
    small = _claim("TIGHT", variants=(Variant("", {**TINY, "p": 4096, "max_memory": "1MB"}, (512,)),))
    with pytest.raises(ValueError, match=r"^claim TIGHT, arm main \(d=512\): max_memory=1.0 MiB is too small"):
        make_run_plan([small], SMOKE)
    odd_kind = _claim("KIND", variants=(Variant("k", {"d": 4}, (8,), kind="nope"),))
    with pytest.raises(ValueError, match=r"^claim KIND, arm k \(d=8\): unknown simulation kind 'nope'"):
        make_run_plan([odd_kind], SMOKE)


def test_oversized_ladder_is_refused_without_listing_it() -> None:
    from sim.drivers import MAX_RUNS

    huge = _claim("HUGE", seeds=10**9)
    start = time.perf_counter()
    with pytest.raises(ValueError, match=f"claim HUGE's ladder asks for 1,000,000,000 runs.*{MAX_RUNS:,}"):
        make_run_plan([huge], SMOKE)
    assert time.perf_counter() - start < 1.0


def test_a_failed_prediction_runs_nothing(tmp_path: Path) -> None:
    outcomes, stats = verify([_claim(predict=lambda: 1 / 0)], SMOKE, str(tmp_path / "s.sqlite"), progress=False,
                             log=lambda s: None)
    assert stats["runs"] == 0 and outcomes[0].verdict == INCONCLUSIVE and not outcomes[0].run_keys


def test_exit_status_counts_refuted_theorems_only() -> None:
    def outcome(status: str, verdict: str):  # noqa: ANN202
        c = _claim(status=status, evaluate=lambda p, r: Evaluation(Decision(verdict, "x"), "", ""))
        return evaluate_claim(c, {}, RunSet({}))

    assert exit_status([outcome("theorem", REFUTED)]) == EXIT_REFUTED
    assert exit_status([outcome("conjecture", REFUTED), outcome("theorem", CONFIRMED)]) == 0
    assert exit_status([outcome("theorem", INCONCLUSIVE)], strict=True) == EXIT_REFUTED


def test_the_plan_keeps_the_runs_of_the_claims_kept() -> None:
    """One run asked for by two claims is planned once; ``only`` drops the runs no kept claim asks for and
    points the kept slots at the same configs and seeds."""
    a = _claim("A", variants=(Variant("", TINY, (16, 32)),), seeds=2)
    b = _claim("B", variants=(Variant("", TINY, (32, 64)),), seeds=2)
    plan = make_run_plan([a, b], SMOKE)
    assert len(plan.runs) == len(plan.specs) == 6  # d = 32 shared
    assert [(s.d, s.seed) for s in plan.slots["B"]][:2] == [(32, 0), (32, 1)]
    kept = plan.only(["B"])
    assert len(kept.runs) == 4 and set(kept.slots) == {"B"}
    for old, new in zip(plan.slots["B"], kept.slots["B"]):
        assert kept.runs[new.run] == plan.runs[old.run] and kept.specs[new.run] == plan.specs[old.run]
    assert {(spec.config.d, spec.seed) for spec in kept.specs} == {(32, 0), (32, 1), (64, 0), (64, 1)}
