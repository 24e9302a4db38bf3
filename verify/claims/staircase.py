"""Several giant steps with ``n ≍ d`` ([DKLPS] Conjecture 1, THEORY.md §2.4): C1-stair.

Target ``x1 + x1x2 + x1x2x3`` (staircase dims 0, 1, 2, 3). After ``t`` steps
the overlap on each new level ``U^s ⊖ U^{s−1}`` (``s ≤ t``) must stay Θ(1) as
``d`` grows and the overlap on ``U*_rel ⊖ U^t`` must decay like ``d^{-1/2}``.

Width: ``p = 16`` at every ``d``. With THEORY §3's output ``(1/√p) Σ a_i σ``
and ``a_i = ±1`` fixed, the network after one giant step is ``f = O(√p)``
(all neurons moved coherently towards ``±v*``), so at step 2 the residual
``y − f`` is dominated by ``−f``, a function of ``x1`` alone, and the step's
component along ``e2`` is suppressed by ``1/√p`` after normalisation. A
width that stays ``O(1)`` keeps ``f = O(1)`` and tests the staircase itself;
the effect of growing ``p`` is reported as a finding, not hidden (see README).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from sim import as_basis, subspace_overlap
from theory import Target
from theory.subspace import complement_in
from verify import rules
from verify.claims.base import Claim, Evaluation, Ladder, Plot, RunSet, Variant
from verify.claims.common import NOISE_EXPONENT, overlaps, scaling_evaluation

STAIR = dict(target="x1 + x1*x2 + x1*x2*x3", activation="relu", n_exp=1.0, n_scale=4.0, lr0=2.0, p=16,
             readout="none")


def staircase_prediction(target: str, steps: int) -> dict[str, Any]:
    """Leap-1 staircase levels ``U^0..U^steps`` and ``U*_rel`` from ``theory`` (§2.4)."""
    g = Target.parse(target)
    sc = g.staircase(1)
    return {"target": target, "r": g.r, "steps": steps, "dims": [sc.space(t).dim for t in range(steps + 1)],
            "levels": [as_basis(sc.level(t), g.r).tolist() for t in range(steps + 1)],
            "relevant_basis": as_basis(g.relevant_subspace(), g.r).tolist()}


def evaluate_staircase(pred: Mapping[str, Any], runs: RunSet) -> Evaluation:
    """Per step ``t``: Θ(1) on ``U^s ⊖ U^{s−1}`` for ``s ≤ t`` with a new direction; ``d^{-1/2}`` on ``U*_rel ⊖ U^t``.

    Parameters
    ----------
    pred : mapping
        :func:`staircase_prediction` (``levels``, ``relevant_basis``, ``dims``).
    runs : RunSet
        Records of arm ``""`` with ``per_step[t]["overlaps"]`` after ``t`` steps.

    Returns
    -------
    Evaluation
    """
    r = pred["r"]
    recs = [rec for recs in runs.variant("").values() for rec in recs]
    T = min([pred["steps"]] + [len(rec["per_step"]) - 1 for rec in recs])
    levels = [as_basis(L, r) for L in pred["levels"]]
    U = as_basis(pred["relevant_basis"], r)
    parts = []
    for t in range(1, T + 1):
        for s in range(1, t + 1):
            new = complement_in(levels[s], levels[s - 1])
            if new.shape[1]:
                parts.append((f"t={t}: U^{s}⊖U^{s - 1}", "theta1",
                              runs.values("", lambda rec, t=t, B=new: subspace_overlap(overlaps(rec, t), B))))
        rest = complement_in(U, levels[t])
        if rest.shape[1]:
            parts.append((f"t={t}: U*⊖U^{t}", "exponent",
                          runs.values("", lambda rec, t=t, B=rest: subspace_overlap(overlaps(rec, t), B))))
    predicted = f"dims U^t = {pred['dims'][:T + 1]}: Θ(1) on each new level, d^-1/2 on U*_rel ⊖ U^t"
    ev = scaling_evaluation(parts, predicted, "overlaps per staircase level vs d")
    return Evaluation(ev.decision, ev.predicted, ev.measured, ev.numbers, ev.plots + _plane(pred, runs, levels, U))


def _plane(pred: Mapping[str, Any], runs: RunSet, levels: list[np.ndarray], U: np.ndarray) -> tuple[Plot, ...]:
    """Neurons' overlaps in the (v*, v⊥) plane after each step, largest ``d``, seed 0 ([DKLPS] multi-step figures)."""
    arm = runs.variant("")
    if not arm:
        return ()
    d = max(arm)
    rec = arm[d][0]
    v1 = levels[1][:, 0] if levels[1].shape[1] else U[:, 0]
    second = complement_in(levels[2] if len(levels) > 2 else U, v1[:, None])
    v2 = second[:, 0] if second.shape[1] else np.zeros_like(v1)
    steps = []
    for t in range(len(rec["per_step"])):
        M = overlaps(rec, t)
        steps.append({"t": t, "x": (M @ v1).tolist(), "y": (M @ v2).tolist()})
    return (Plot("plane", f"neurons in the (v*, v⊥) plane, d={d}, seed {rec.get('seed', 0)}",
                 {"d": d, "key": rec.get("key", ""), "v_star": v1.tolist(), "v_perp": v2.tolist(), "steps": steps}),)


def _arm(dims: tuple[int, ...], steps: int) -> Variant:
    return Variant("", {**STAIR, "steps": steps}, dims)


def _predict(steps: int):  # noqa: ANN202 - a closure
    return lambda: staircase_prediction(STAIR["target"], steps)


C1_STAIR = Claim(
    id="C1-stair", source="[DKLPS] Conj 1", kind="conjecture",
    statement="T steps, n ≍ d: overlap on U^t stays Θ(1) as d grows, on U*_rel ⊖ U^t decays with exponent ≈ −1/2",
    predict=_predict(3),
    ladders={"smoke": Ladder((_arm((32, 64), 2),), 2),
             "quick": Ladder((_arm((128, 256, 512, 1024, 2048), 2),), 16),
             "full": Ladder((_arm((256, 512, 1024, 2048, 4096, 8192), 3),), 24)},
    evaluate=evaluate_staircase,
    statistic=f"mean ‖P_V M_i‖ after t steps for V = U^s ⊖ U^{{s−1}} (s ≤ t) and V = U*_rel ⊖ U^t; "
              f"p = {STAIR['p']}, α = n/d = {STAIR['n_scale']:g}",
    rule=f"new levels: {rules.theta1_text()}; U*_rel ⊖ U^t: {rules.exponent_text(NOISE_EXPONENT)}")

CLAIMS = (C1_STAIR,)

__all__ = ["C1_STAIR", "CLAIMS", "evaluate_staircase", "staircase_prediction"]
