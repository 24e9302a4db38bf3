"""The authors' multi-step notebook ([DKLPS]; THEORY.md §3.2, §5): NB-orient.

**NB-orient** (THEORY §3.2 revision 3, §5). ``dklps-multi-step`` (hypercube initialisation, ``s_p = 1/p``,
``η̃ = 2``, six steps on fresh batches, no normalisation), both examples, ``n = d`` over a ladder of ``d``,
``p = 1024``. Step 1: per neuron the components of its step's ``(cos(G_i, e1), cos(G_i, e2))`` along
``v* = C_1/‖C_1‖`` (mean |·| Θ(1)) and along ``v⊥`` (``≍ d^{-1/2}``), fitted against ``d``. From step 2 on,
the off-line cosine has a Θ(1) limit ``c`` plus batch noise: per seed ``mean_i cos²(G_i, v⊥)`` is fitted with
``c² + b/d`` (``verify.extrapolation.fit_extrapolation``, rate 1 fixed, Student interval over seeds), and ``c`` is
decided at step 2 against ``theory.orientation.step2_orientation``'s population value (example 1: rms
0.0350, example 2: 0.1407) within ``± ORIENT_TOL·c_pred``, and over steps 3–6 (pooled per seed) as leaving the
line: ``c ≥ ORIENT_TOL·c_pred``. The negative control is the notebook's reading, "example 1 stays on the
line" (``c`` within ``± ORIENT_TOL·c_pred`` of 0 at every step from 2), decided by the same rule on the same
runs. The protocol runs dense at every size (``k_T = r + 7p > d/2``): a run takes 1.7, 2.2, 4.2, 11.9 s at
``d = 512, 1024, 2048, 4096`` (load ≈ 5); quick's 36 runs took 101 s, full's 12 more 150 s.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from sim import as_basis
from sim.giant_step.protocols import MULTI_STEP_EXAMPLES
from theory import Target
from theory.orientation import step2_orientation
from theory.subspace import complement_in
from verify import rules
from verify.claims.base import Alternative, Arm, Claim, Evaluation, Ladder, Plot, Record, RunSet, Variant
from verify.claims.common import NOISE_EXPONENT, decide_fit, fit_or_none, series
from verify.extrapolation import Extrapolation, fit_extrapolation
from verify.rules import Decision

MULTI_STEP = "dklps-multi-step"
# the multi-step notebook's examples (sim.giant_step.protocols.MULTI_STEP_EXAMPLES, in order) and the step
# from which the authors read their figures as leaving the v* line (None: stays on it; THEORY §3.2): the
# negative control of NB-orient
PUBLISHED_DEPARTURE = (None, 2)
ORIENT_TOL = 0.3  # tolerance on the off-line limit c: ± ORIENT_TOL·c_pred (and "leaves" means c ≥ it)
NOISE_RATE = 1.0  # mean cos²(G, v⊥) = c² + b/d: the batch noise's square is O(1/d)
MULTI_P = 1024
STEPS = 6
PLANE_NEURONS = 256  # neurons drawn per panel of the plane figure (evenly spaced indices)


def orient_prediction(targets: Sequence[str], steps: int, activation: str = "relu") -> dict[str, Any]:
    """``v*``, ``v⊥``, the σ-aware staircase's directions per step and the population off-line cosine of step 2,
    per target, from ``theory``.

    Parameters
    ----------
    targets : sequence of str
        Two-variable targets (the multi-step examples).
    steps : int
        Number of giant steps ``T``.
    activation : str
        σ of the σ-aware staircase (§2.8) and of the step-2 population value (relu).

    Returns
    -------
    dict
        ``examples``: per target ``v_star`` (``C_1/‖C_1‖``), ``normal`` (unit, ``⊥ v*``), ``c1``, ``dims``
        (σ-aware staircase), ``new`` (per step ``t = 1..T`` the staircase's directions ``⊥ v*`` in ``U^t``),
        ``departure`` (the first step with such a direction, or ``None``: the statement), ``c_step2``
        (``theory.orientation.step2_orientation(…).rms_cosine``) and ``tol`` (``ORIENT_TOL·c_step2``).
    """
    out = []
    for target in targets:
        g = Target.parse(target)
        if g.r != 2:
            raise ValueError(f"NB-orient needs two-variable targets; {target!r} has r = {g.r}")
        c1 = np.array([float(c) for c in g.hermite_tensor(1)], dtype=float)
        v = c1 / np.linalg.norm(c1)
        sc = g.staircase(1, activation=activation)
        new = [complement_in(as_basis(sc.level(t), g.r), v[:, None]).tolist() for t in range(1, steps + 1)]
        departure = next((t for t, b in enumerate(new, 1) if np.asarray(b).size), None)
        c2 = float(step2_orientation(target).rms_cosine)
        out.append({"target": target, "c1": c1.tolist(), "v_star": v.tolist(), "normal": [-v[1], v[0]],
                    "dims": list(sc.dims), "activation": activation, "new": new, "departure": departure,
                    "c_step2": c2, "tol": ORIENT_TOL * c2})
    return {"steps": steps, "examples": out}


def notebook_reading(pred: Mapping[str, Any]) -> dict[str, Any]:
    """Control of NB-orient: the notebook's reading of its figures (``PUBLISHED_DEPARTURE``: example 1 stays on the
    ``v*`` line, ``c = 0``), with the true prediction's tolerances."""
    return {**pred, "examples": [{**ex, "departure": dep, "c_step2": ex["c_step2"] if dep else 0.0}
                                 for ex, dep in zip(pred["examples"], PUBLISHED_DEPARTURE)]}


def step_cosines(rec: Record, step: int) -> np.ndarray:
    """``(cos(G_i, e1), cos(G_i, e2))`` per neuron for the step ``G_i`` of giant step ``step`` (``p × r``)."""
    C = rec["per_step"][step]["step_cosines"]
    if C is None:
        raise ValueError(f"record {rec.get('key', '')} has no step cosines; run it with step_cosines=True")
    return np.atleast_2d(np.asarray(C, dtype=float))


def line_component(rec: Record, step: int, direction: Sequence[float]) -> float:
    """Mean over neurons of ``|⟨(cos(G_i, e_j))_j, direction⟩|`` at ``step`` (``direction``: ``v*`` or its
    normal)."""
    return float(np.mean(np.abs(step_cosines(rec, step) @ np.asarray(direction, dtype=float))))


def example_arm(index: int) -> str:
    """The arm of example ``index`` (1-based)."""
    return f"example {index}"


def offline_square(rec: Record, steps: Sequence[int], normal: Sequence[float]) -> float:
    """Mean over neurons and over ``steps`` of ``cos²(G_i, v⊥)`` (``normal`` = ``v⊥`` in ``(e1, e2)``)."""
    u = np.asarray(normal, dtype=float)
    return float(np.mean([np.mean((step_cosines(rec, t) @ u) ** 2) for t in steps]))


def offline_limit(values: Mapping[int, Sequence[float]]) -> tuple[Extrapolation | None, tuple[float, float]]:
    """Fit ``mean cos² = c² + b/d`` and return the fit and the interval of ``c`` (the square root of the interval of
    ``c²``, clipped at 0); ``(None, (nan, nan))`` with fewer than three ``d``."""
    if len(values) < 3:
        return None, (math.nan, math.nan)
    fit = fit_extrapolation(values, gamma=NOISE_RATE)
    lo, hi = fit.ci_eps_inf
    return fit, (math.sqrt(max(lo, 0.0)), math.sqrt(max(hi, 0.0)))


def _limit_decision(fit: Extrapolation | None, ci: tuple[float, float], rule: str, target: float, tol: float,
                    what: str) -> Decision:
    """``"value"``: ``c ∈ target ± tol``; ``"leaves"``: ``c ≥ tol``; INCONCLUSIVE on a short ladder or a rejected law."""
    if fit is None:
        return Decision(rules.INCONCLUSIVE, f"{what}: fewer than three dimensions, cannot extrapolate")
    bad = rules.check_ladder(fit)
    if bad:
        return bad
    if fit.p_fit is not None and fit.p_fit < rules.P_FIT_MIN:
        return Decision(rules.INCONCLUSIVE, f"{what}: c² + b/d does not describe the means (p = {fit.p_fit:.2g})")
    if rule == "leaves":
        return rules.at_least(ci, tol, 0.0, what)
    return rules.value(ci, target, tol, what)


def _steps_text(ts: Sequence[int]) -> str:
    return f"t={ts[0]}" if len(ts) == 1 else f"t={ts[0]}..{ts[-1]}"


def _example_parts(i: int, ex: Mapping[str, Any], runs: RunSet, T: int, cache: dict[str, Any]
                   ) -> list[Decision]:
    """Every decided statement of one example (module docstring); fits are cached by label in ``cache``."""
    arm = example_arm(i)
    out = []
    for how, u, where in (("theta1", ex["v_star"], "on v*"), ("exponent", ex["normal"], "⊥ v*")):
        label = f"ex{i} t=1 {where}"
        if label not in cache:
            cache[label] = fit_or_none(runs.values(arm, lambda rec, u=u: line_component(rec, 1, u)))
        out.append(decide_fit(cache[label], how, label))
    groups = [g for g in ((2,), tuple(range(3, T + 1))) if g and g[0] <= T]
    for ts in groups:
        label = f"ex{i} {_steps_text(ts)} off-line limit c"
        if label not in cache:
            vals = runs.values(arm, lambda rec, ts=ts: offline_square(rec, ts, ex["normal"]))
            cache[label] = offline_limit(vals)
        fit, ci = cache[label]
        if ex["departure"] is None:
            out.append(_limit_decision(fit, ci, "value", 0.0, ex["tol"], f"{label} (stays: 0 ± {ex['tol']:.4f})"))
        elif ts == (2,):
            out.append(_limit_decision(fit, ci, "value", ex["c_step2"], ex["tol"],
                                       f"{label} ({ex['c_step2']:.4f} ± {ex['tol']:.4f})"))
        else:
            out.append(_limit_decision(fit, ci, "leaves", 0.0, ex["tol"], f"{label} (leaves: ≥ {ex['tol']:.4f})"))
    return out


def evaluate_orient(pred: Mapping[str, Any], runs: RunSet) -> Evaluation:
    """NB-orient: step 1 on the ``v*`` line; from step 2 the off-line limit ``c`` at theory's population value
    (step 2) and away from the line (steps 3..T), per example (module docstring). Each example is an arm.

    Parameters
    ----------
    pred : mapping
        :func:`orient_prediction`.
    runs : RunSet
        Arms :func:`example_arm` with ``per_step[t]["step_cosines"]``, ``t = 1..T``.

    Returns
    -------
    Evaluation
    """
    cache: dict[str, Any] = {}
    arms = []
    for i, ex in enumerate(pred["examples"], 1):
        recs = [r for rs in runs.variant(example_arm(i)).values() for r in rs]
        if not recs:
            arms.append(Arm(example_arm(i), Decision(rules.INCONCLUSIVE, f"{example_arm(i)}: no runs in this profile")))
            continue
        T = min([pred["steps"]] + [len(r["per_step"]) - 1 for r in recs])
        arms.append(Arm(example_arm(i), rules.combine(_example_parts(i, ex, runs, T, cache))))
    measured, numbers, plotted = [], {}, []
    for label, entry in cache.items():
        if isinstance(entry, tuple):
            fit, ci = entry
            numbers[label] = {"fit": fit.to_dict() if fit else None, "c_interval": list(ci)}
            measured.append(f"{label}: " + (f"c ∈ [{ci[0]:.4f}, {ci[1]:.4f}]" if fit else "not measured"))
        else:
            numbers[label] = {"fit": entry.to_dict() if entry else None}
            measured.append(f"{label}: " + (f"d^{entry.slope:+.2f} [{entry.ci[0]:+.2f}, {entry.ci[1]:+.2f}]"
                                            if entry else "not measured"))
            if entry is not None:
                plotted.append(series(entry, label))
    predicted = "; ".join(f"ex{i}: v* = ({ex['v_star'][0]:.3f}, {ex['v_star'][1]:.3f}), leaves the line from step "
                          f"{ex['departure']} (σ-aware staircase), step-2 off-line cosine c = {ex['c_step2']:.4f} "
                          f"(population, theory.orientation)" for i, ex in enumerate(pred["examples"], 1))
    plots = (Plot("loglog", "step 1: step cosines on / off the v* line vs d",
                  {"series": plotted, "expected": NOISE_EXPONENT, "ylabel": "mean |component| of step cosines"}),)
    return Evaluation(rules.combine(a.decision for a in arms), predicted, "; ".join(measured), numbers,
                      plots + _plane(pred, runs), arms=tuple(arms))


def _plane(pred: Mapping[str, Any], runs: RunSet) -> tuple[Plot, ...]:
    """The neurons' step cosines in the ``(e1, e2)`` plane after each step, largest ``d``, seed 0 (the authors'
    figure), with the ``±v*`` line and the staircase's new directions."""
    rows = []
    for i, ex in enumerate(pred["examples"], 1):
        arm = runs.variant(example_arm(i))
        if not arm:
            continue
        d = max(arm)
        rec = arm[d][0]
        panels = []
        for t in range(1, len(rec["per_step"])):
            C = step_cosines(rec, t)
            pick = np.unique(np.linspace(0, C.shape[0] - 1, min(PLANE_NEURONS, C.shape[0])).astype(int))
            new = np.asarray(ex["new"][min(t, len(ex["new"])) - 1], dtype=float).reshape(2, -1)
            panels.append({"t": t, "x": C[pick, 0].tolist(), "y": C[pick, 1].tolist(), "new": new.T.tolist()})
        rows.append({"label": f"example {i}: g = {ex['target']}", "d": d, "seed": rec.get("seed", 0),
                     "v_star": ex["v_star"], "steps": panels})
    if not rows:
        return ()
    return (Plot("step_plane", "neurons' step cosines (cos e1, cos e2) after each step, ≤ "
                               f"{PLANE_NEURONS} neurons drawn; dashed ±v*, dotted: the staircase's new direction",
                 {"rows": rows}),)


def _orient_arms(dims: tuple[int, ...], p: int, steps: int) -> tuple[Variant, ...]:
    return tuple(Variant(example_arm(i), {"protocol": MULTI_STEP, "target": t, "p": p, "steps": steps}, dims)
                 for i, t in enumerate(MULTI_STEP_EXAMPLES, 1))


NB_ORIENT = Claim(
    id="NB-orient", source="THEORY §3.2, [DKLPS] multiple_steps notebook", kind="conjecture",
    statement="dklps-multi-step: step 1 on the v* line (off-line ≍ d^-1/2); from step 2 both examples leave it, "
              "the off-line cosine's limit c at theory's population value (ex1 ≈ 0.035, ex2 ≈ 0.14); the notebook's "
              "\"example 1 stays\" is refuted",
    predict=lambda: orient_prediction(MULTI_STEP_EXAMPLES, STEPS),
    ladders={"smoke": Ladder(_orient_arms((32, 64), 64, STEPS), 2),
             "quick": Ladder(_orient_arms((512, 1024, 2048), MULTI_P, STEPS), 6),
             "full": Ladder(_orient_arms((512, 1024, 2048, 4096), MULTI_P, STEPS), 6)},
    evaluate=evaluate_orient,
    statistic=f"step 1: mean over neurons of |component| of the step's (cos e1, cos e2) along v* and ⊥ v*; from step "
              f"2: c, the limit of mean cos²(G_i, v⊥) = c² + b/d (step 2, and steps 3..{STEPS} pooled per seed); "
              f"n = d, p = {MULTI_P}",
    rule=f"step 1 on v*: {rules.theta1_text()}, ⊥ v*: {rules.exponent_text(NOISE_EXPONENT)}; step 2: CI of c inside "
         f"c_pred ± {ORIENT_TOL:g}·c_pred; steps 3..{STEPS}: CI of c ≥ {ORIENT_TOL:g}·c_pred ({rules.ladder_text()})",
    controls=(Alternative("the notebook's reading: example 1 stays on the v* line (c = 0 from step 2)",
                          notebook_reading),))

__all__ = ["MULTI_P", "NB_ORIENT", "ORIENT_TOL", "PUBLISHED_DEPARTURE", "STEPS", "evaluate_orient", "example_arm",
           "line_component", "notebook_reading", "offline_limit", "offline_square", "orient_prediction",
           "step_cosines"]
