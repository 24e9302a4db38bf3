"""Several giant steps with ``n ≍ d`` ([DKLPS] Conjecture 1, THEORY.md §2.4, §2.8): C1-stair, C1-σ, C1-stair-p.

Target ``g = x1 + x1x2 + x1x2x3``. After ``t`` steps the overlap on each new level
``U^s_σ ⊖ U^{s−1}_σ`` (``s ≤ t``) must stay Θ(1) as ``d`` grows and the overlap on ``U*_rel ⊖ U^t_σ``
must decay like ``d^{-1/2}``. The levels are **σ-aware** (§2.8, ``Target.staircase(activation=σ)``): a
step adds the direction of order ``k`` only when ``μ_k(σ) ≠ 0``. For this ``g`` step 1 needs ``μ1``,
step 2 ``μ2``, step 3 ``μ3``, so relu (``μ3 = 0``) climbs ``0, 1, 2, 2`` and never learns ``e3``.

* **C1-stair** runs ``σ = STAIR_SIGMA = "relu + He3/6"`` (``μ1 = 1/2``, ``μ2 = 1/√(2π)``, ``μ3 = 1``),
  which climbs all three stairs (dims ``0, 1, 2, 3``), for ``T = 3`` steps at width ``p = 16``.
* **C1-σ** runs the same experiment with relu and with ``STAIR_SIGMA`` side by side: the direction relu
  cannot reach (theory's ``blocked`` list, ``e3``) decays like ``d^{-1/2}`` at every step with relu and
  is Θ(1) from step 3 on with ``STAIR_SIGMA``. Its ``STAIR_SIGMA`` arm is C1-stair's ladder (shared runs).
* **C1-stair-p** is C1-stair at the width of the authors' code, ``p = WIDE_P = 256``.

Protocol (THEORY §3, defaults): symmetric initialisation, output scale ``s_p = 1/p``. With the former
``1/√p`` the network after one giant step is ``O(√p)``: the second step's residual is dominated by
``−f`` (a function of ``x1``) and the staircase is suppressed for ``p ≳ 100`` — why C1-stair used to run
at ``p = 16`` only. With ``1/p`` the network stays ``O(1)`` at every width (C1-stair-p checks it).

Batch ``n = 16d`` (``α = 16``), ``η̃ = 2``: the staircase is a statement about ``d`` at fixed ``α``, and
``α`` only sets the constants. The ``e3`` overlap after step 3 is of order ``μ3·m1·m2`` (§2.8:
``F_3(m) = μ3 c_{(1,1,1)} m1 m2``) with ``m1 m2`` the product of the first two levels' overlaps, about
0.1 at ``α = 16`` (measured 0.11 at ``d = 2048``; 0.05 at the former ``α = 4``, where the batch noise
``≍ (αd)^{-1/2}`` at ``d = 256`` is as large, so a fit over the ladder could not call it Θ(1)).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from sim import as_basis
from theory import Target
from theory.subspace import complement_in
from verify import rules
from verify.rules import Law
from verify.claims.base import Alternative, Claim, Evaluation, FigureKind, Ladder, Plot, RunSet, Status, Variant
from verify.claims.common import NOISE_EXPONENT, Part, overlaps, scaling_evaluation, space_values

STAIR_TARGET = "x1 + x1*x2 + x1*x2*x3"
STAIR_SIGMA = "relu + He3/6"  # μ1 μ2 μ3 ≠ 0: climbs every stair of STAIR_TARGET (§2.8)
BLIND_SIGMA = "relu"  # μ3 = 0: blocked at step 3
STEPS = 3
WIDE_P = 256
STAIR = dict(target=STAIR_TARGET, activation=STAIR_SIGMA, n_exp=1.0, n_scale=16.0, lr0=2.0, p=16, steps=STEPS,
             readout="none", engine="reduced")  # THEORY §3.3, exact at every d (verify.fits: paired seeds)


def staircase_prediction(target: str, steps: int, activation: str | None) -> dict[str, Any]:
    """The σ-aware staircase ``U^0_σ..U^steps_σ``, what σ blocks, and ``U*_rel``, from ``theory`` (§2.8).

    Parameters
    ----------
    target : str
        ``g*``.
    steps : int
        Number of giant steps ``T``.
    activation : str or None
        ``σ`` (``Target.staircase(activation=σ)``); ``None``: the generic staircase of §2.4 (no ``μ_k(σ)``
        vanishes).

    Returns
    -------
    dict
        ``dims`` (``dim U^t_σ``, ``t = 0..T``), ``levels`` (``r × dim`` bases as nested lists),
        ``blocked`` (``[{"step", "order", "basis"}]``: directions the generic staircase adds at ``step`` but
        ``μ_order(σ) = 0`` blocks), ``generic_dims`` (§2.4's), ``relevant_basis`` and the inputs.
    """
    g = Target.parse(target)
    sc = g.staircase(1, activation=activation)
    blocked = [{"step": b.step, "order": b.order, "basis": as_basis(b.space.matrix(), g.r).tolist()}
               for b in sc.blocked]
    return {"target": target, "activation": activation, "r": g.r, "steps": steps,
            "dims": list(sc.dims_until(steps)), "generic_dims": list(g.staircase(1).dims_until(steps)),
            "levels": [as_basis(sc.level(t), g.r).tolist() for t in range(steps + 1)],
            "blocked": blocked, "relevant_basis": as_basis(g.relevant_subspace(), g.r).tolist()}


def _same_space(A: np.ndarray, B: np.ndarray) -> bool:
    return A.shape == B.shape and bool(np.allclose(A @ A.T, B @ B.T, atol=1e-9))


def _steps_measured(pred: Mapping[str, Any], runs: RunSet, arm: str) -> int:
    recs = [rec for recs in runs.variant(arm).values() for rec in recs]
    return min([pred["steps"]] + [len(rec.per_step) - 1 for rec in recs])


def staircase_parts(pred: Mapping[str, Any], runs: RunSet, arm: str = "",
                    extra: tuple[np.ndarray, ...] = ()) -> list[Part]:
    """The scaling statements of one arm: per step ``t``, Θ(1) on each new level ``U^s_σ ⊖ U^{s−1}_σ``
    (``s ≤ t``; its weakest direction, THEORY §5.1), ``d^{-1/2}`` on ``U*_rel ⊖ U^t_σ`` (its strongest); and for
    each direction of ``extra`` (e.g. what another σ blocks) not already one of those spaces, Θ(1) when it lies
    in ``U^t_σ`` and ``d^{-1/2}`` otherwise.

    Parameters
    ----------
    pred : mapping
        :func:`staircase_prediction` of the arm's σ.
    runs : RunSet
        Records of ``arm`` with ``per_step[t].overlaps`` (``p × r``) after ``t`` steps.
    arm : str
        The arm's name (``""`` for a claim with one arm); prefixes the labels.
    extra : tuple of arrays
        ``r × m`` orthonormal bases of further directions to follow at every step.

    Returns
    -------
    list of Part
        For :func:`verify.claims.common.scaling_evaluation`.
    """
    r = pred["r"]
    T = _steps_measured(pred, runs, arm)
    levels = [as_basis(L, r) for L in pred["levels"]]
    U = as_basis(pred["relevant_basis"], r)
    head = f"{arm} " if arm else ""
    parts = []

    def part(label: str, how: Law, t: int, B: np.ndarray) -> Part:
        return Part(f"{head}t={t}: {label}", how, space_values(runs, arm, B, how, t), arm)

    for t in range(1, T + 1):
        stated = []
        for s in range(1, t + 1):
            new = complement_in(levels[s], levels[s - 1])
            if new.shape[1]:
                parts.append(part(f"U^{s}⊖U^{s - 1}", Law.THETA1, t, new))
                stated.append(new)
        rest = complement_in(U, levels[t])
        if rest.shape[1]:
            parts.append(part(f"U*⊖U^{t}", Law.EXPONENT, t, rest))
            stated.append(rest)
        for B in extra:
            if any(_same_space(B, S) for S in stated):
                continue
            inside = complement_in(B, levels[t]).shape[1] == 0
            parts.append(part(_name(B), Law.THETA1 if inside else Law.EXPONENT, t, B))
    return parts


def _name(B: np.ndarray) -> str:
    """``e3`` for a coordinate axis, else ``span of m directions``."""
    if B.shape[1] == 1 and np.isclose(np.abs(B[:, 0]).max(), 1.0):
        return f"e{int(np.abs(B[:, 0]).argmax()) + 1}"
    return f"{B.shape[1]}-dim blocked space"


def _dims_text(pred: Mapping[str, Any], T: int) -> str:
    return ", ".join(str(x) for x in pred["dims"][:T + 1])


def evaluate_staircase(pred: Mapping[str, Any], runs: RunSet) -> Evaluation:
    """C1-stair, C1-stair-p: :func:`staircase_parts` of arm ``""``, decided together (``rules.combine``).

    Parameters
    ----------
    pred : mapping
        :func:`staircase_prediction` (``levels``, ``relevant_basis``, ``dims``).
    runs : RunSet
        Records of arm ``""`` with ``per_step[t].overlaps`` after ``t`` steps.

    Returns
    -------
    Evaluation
    """
    T = _steps_measured(pred, runs, "")
    predicted = (f"σ = {pred['activation']}: dims U^t_σ = {_dims_text(pred, T)}; Θ(1) on each new level, "
                 "d^-1/2 on U*_rel ⊖ U^t_σ")
    ev = scaling_evaluation(staircase_parts(pred, runs), predicted, "overlaps per staircase level vs d")
    levels = [as_basis(L, pred["r"]) for L in pred["levels"]]
    return Evaluation(ev.decision, ev.predicted, ev.measured, ev.numbers,
                      ev.plots + _plane(runs, "", levels, as_basis(pred["relevant_basis"], pred["r"])))


def evaluate_sigma(preds: Mapping[str, Any], runs: RunSet) -> Evaluation:
    """C1-σ: per arm (one σ each), the σ-aware staircase of :func:`staircase_parts`, following at every
    step the directions any arm's σ blocks (``e3`` for relu): ``d^{-1/2}`` in an arm whose staircase does
    not contain them, Θ(1) from the step one does.

    Parameters
    ----------
    preds : mapping
        ``{"arms": {arm: staircase_prediction(...)}}``.
    runs : RunSet
        Records per arm with ``per_step[t].overlaps``.

    Returns
    -------
    Evaluation
    """
    arms = preds["arms"]
    blocked = tuple(as_basis(b["basis"], p["r"]) for p in arms.values() for b in p["blocked"])
    parts, texts = [], []
    for arm, pred in arms.items():
        parts += staircase_parts(pred, runs, arm, blocked)
        T = _steps_measured(pred, runs, arm)
        why = "; ".join(f"μ_{b['order']} = 0 blocks {_name(as_basis(b['basis'], pred['r']))} at step {b['step']}"
                        for b in pred["blocked"]) or "nothing blocked"
        texts.append(f"{arm}: dims U^t_σ = {_dims_text(pred, T)} ({why})")
    return scaling_evaluation(parts, "; ".join(texts), "overlaps per σ-aware staircase level vs d, per σ",
                              arms=list(arms))


def one_step_ahead(pred: Mapping[str, Any]) -> dict[str, Any]:
    """Control of C1-stair / C1-stair-p (a wrong level): the staircase one step ahead, ``U^t := U^{t+1}_σ``
    (e.g. ``U^1 = span(e1, e2)`` after one step), from the same ``theory`` levels."""
    levels = pred["levels"]
    ahead = [levels[min(t + 1, len(levels) - 1)] for t in range(len(levels))]
    return {**pred, "levels": ahead, "dims": [np.asarray(L).reshape(pred["r"], -1).shape[1] for L in ahead]}


def generic_for_blind(preds: Mapping[str, Any]) -> dict[str, Any]:
    """Control of C1-σ (a wrong staircase): the σ-blind arm climbs the generic staircase of §2.4 (``μ_3(relu) =
    0`` ignored, so ``e3`` is learned at step 3), from ``theory``."""
    arms = dict(preds["arms"])
    blind = arms[BLIND_SIGMA]
    arms[BLIND_SIGMA] = {**staircase_prediction(blind["target"], blind["steps"], None), "activation": BLIND_SIGMA}
    return {"arms": arms}


def _plane(runs: RunSet, arm: str, levels: list[np.ndarray], U: np.ndarray) -> tuple[Plot, ...]:
    """Neurons' overlaps in the (v*, v⊥) plane after each step, largest ``d``, seed 0 ([DKLPS] multi-step figures)."""
    recs = runs.variant(arm)
    if not recs:
        return ()
    d = max(recs)
    rec = recs[d][0]
    v1 = levels[1][:, 0] if levels[1].shape[1] else U[:, 0]
    second = complement_in(levels[2] if len(levels) > 2 else U, v1[:, None])
    v2 = second[:, 0] if second.shape[1] else np.zeros_like(v1)
    steps = []
    for t in range(len(rec.per_step)):
        M = overlaps(rec, t)
        steps.append({"t": t, "x": (M @ v1).tolist(), "y": (M @ v2).tolist()})
    return (Plot(FigureKind.PLANE, f"neurons in the (v*, v⊥) plane, d={d}, seed {rec.seed}",
                 {"d": d, "key": rec.key, "v_star": v1.tolist(), "v_perp": v2.tolist(), "steps": steps}),)


# ---------------------------------------------------------------------------
# ladders (times: README "Verification", verify/profiles.py)
# ---------------------------------------------------------------------------
SMOKE_DIMS = (32, 64)
QUICK_DIMS = (256, 512, 1024, 2048, 4096)
FULL_DIMS = (512, 1024, 2048, 4096, 8192, 16384)
SEEDS = {"smoke": 2, "quick": 12, "full": 16}
# C1-stair-p's e3 level at step 3 approaches its limit from above (means 0.123, 0.112, 0.108, 0.104 at d = 256…2048,
# 12 seeds): over 256…2048 its exponent CI was [−0.10, −0.05], on the Θ(1) band's edge; quick starts at 512
WIDE_DIMS = {"smoke": (32, 64), "quick": (512, 1024, 2048, 4096), "full": (512, 1024, 2048, 4096, 8192)}
DIMS = {"smoke": SMOKE_DIMS, "quick": QUICK_DIMS, "full": FULL_DIMS}


def _arm(name: str, dims: tuple[int, ...], **fields: Any) -> Variant:
    return Variant(name, {**STAIR, **fields}, dims)


def _ladders(p: int, dims: Mapping[str, tuple[int, ...]]) -> dict[str, Ladder]:
    return {prof: Ladder((_arm("", dims[prof], p=p),), SEEDS[prof]) for prof in dims}


def _sigma_ladders() -> dict[str, Ladder]:
    return {prof: Ladder((_arm(BLIND_SIGMA, DIMS[prof], activation=BLIND_SIGMA),
                          _arm(STAIR_SIGMA, DIMS[prof], activation=STAIR_SIGMA)), SEEDS[prof]) for prof in DIMS}


def _predict() -> dict[str, Any]:
    return staircase_prediction(STAIR_TARGET, STEPS, STAIR_SIGMA)


def _predict_sigma() -> dict[str, Any]:
    return {"arms": {s: staircase_prediction(STAIR_TARGET, STEPS, s) for s in (BLIND_SIGMA, STAIR_SIGMA)}}


def _statistic(p: int) -> str:
    return (f"singular values of the overlaps on V after t steps: s_min for V = U^s_σ ⊖ U^{{s−1}}_σ (s ≤ t), s_max "
            f"for V = U*_rel ⊖ U^t_σ; "
            f"σ = {STAIR_SIGMA}, p = {p}, α = n/d = {STAIR['n_scale']:g}, η̃ = {STAIR['lr0']:g}, s_p = 1/p")


STAIR_RULE = f"new levels: {rules.theta1_text()}; U*_rel ⊖ U^t_σ: {rules.exponent_text(NOISE_EXPONENT)}"

C1_STAIR = Claim(
    id="C1-stair", source="[DKLPS] Conj 1, THEORY §2.8", status=Status.CONJECTURE,
    statement="T steps, n ≍ d: overlap on U^t stays Θ(1) as d grows, on U*_rel ⊖ U^t decays with exponent ≈ −1/2",
    predict=_predict,
    ladders=_ladders(STAIR["p"], DIMS),
    evaluate=evaluate_staircase,
    statistic=_statistic(STAIR["p"]),
    rule=STAIR_RULE,
    controls=(Alternative("the staircase one step ahead (U^t = U^{t+1}_σ: U^1 = span(e1, e2))", one_step_ahead),))

C1_STAIR_P = Claim(
    id="C1-stair-p", source="THEORY §3, §2.4", status=Status.CONJECTURE,
    statement=f"C1-stair at width p = {WIDE_P} with s_p = 1/p (the network scale of the authors' code)",
    predict=_predict,
    ladders=_ladders(WIDE_P, WIDE_DIMS),
    evaluate=evaluate_staircase,
    statistic=_statistic(WIDE_P),
    rule=STAIR_RULE,
    controls=(Alternative("the staircase one step ahead (U^t = U^{t+1}_σ: U^1 = span(e1, e2))", one_step_ahead),))

C1_SIGMA = Claim(
    id="C1-σ", source="THEORY §2.8", status=Status.CONJECTURE,
    statement=f"g = {STAIR_TARGET.replace('*', '')}, {STEPS} steps, n ≍ d: with {BLIND_SIGMA} (μ3 = 0) the e3 overlap "
              f"decays like d^-1/2 at every step; with {STAIR_SIGMA} (μ1μ2μ3 ≠ 0) it is Θ(1) from step 3 on",
    predict=_predict_sigma,
    ladders=_sigma_ladders(),
    evaluate=evaluate_sigma,
    statistic=f"per σ: the staircase overlaps of C1-stair (p = {STAIR['p']}) and the overlap on the directions "
              f"{BLIND_SIGMA} blocks (e3) at every step",
    rule=f"Θ(1) parts: {rules.theta1_text()}; d^-1/2 parts: {rules.exponent_text(NOISE_EXPONENT)}",
    controls=(Alternative(f"{BLIND_SIGMA} climbs the generic staircase (e3 learned at step 3)", generic_for_blind),))

CLAIMS = (C1_STAIR, C1_SIGMA, C1_STAIR_P)

__all__ = ["BLIND_SIGMA", "C1_SIGMA", "C1_STAIR", "C1_STAIR_P", "CLAIMS", "STAIR_SIGMA", "evaluate_sigma",
           "evaluate_staircase", "generic_for_blind", "one_step_ahead", "staircase_parts", "staircase_prediction"]
