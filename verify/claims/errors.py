"""Generalisation errors ([DKLPS] Thm 2, Conj 3, lazy vs feature learning; THEORY.md §2.6): T2-error, C3-error, RF-sep.

The prediction is theory's stairway ``ε_pred(U^T, κ)``; the measurement is
the tuned-λ ridge test error after ``T`` giant steps, extrapolated in ``d``
with ``ε(d) = ε∞ + c·d^{-γ}`` (``verify.fits.fit_extrapolation``). The
tolerance on ``ε∞`` is ``ERR_TOL · ‖g‖²`` (5 % of the target's variance).

``κ1 = κ2 = 1`` means ``p ≍ d`` and ``n₂ ≍ d``: here ``p = 2d`` and ``n_ridge = 8d``. T2-error and
RF-sep read the same runs (``T = 0`` is the random-features baseline, §3).
The ``stairway`` arm of T2-error (one ``d``, ``n ≍ d`` and ``d²``, ``T ≤ 3``)
only feeds the stairway figure; it is not part of any verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from theory import Target
from verify import rules
from verify.claims.base import Claim, Evaluation, Ladder, Plot, RunSet, Variant
from verify.claims.common import test_error
from verify.fits import Extrapolation, fit_extrapolation, mean_ci
from verify.rules import Decision

ERR_TOL = 0.05
ERR = dict(target="x1 + x1*x2", activation="relu", n_exp=1.0, n_scale=1.0, steps=1, lr0=2.0,
           readout="every_step", n_test=4000)
C3 = dict(target="x1 + x1*x2*x3", activation="relu", n_exp=1.0, n_scale=1.0, steps=1, lr0=2.0,
          readout="final", n_test=4000)
STAIRWAY = dict(target="x1 + x1*x2 + x1*x2*x3", activation="relu", n_scale=1.0, steps=3, lr0=2.0,
                readout="every_step", n_test=4000)


def error_prediction(target: str, steps: int, kappa: int = 1) -> dict[str, Any]:
    """``ε_pred(U^T, κ)`` for ``T = 0..steps`` (leap-1 staircase) and ``‖g‖²`` from ``theory`` (§2.6)."""
    g = Target.parse(target)
    sw = g.stairway(max_steps=steps, kappas=(kappa,), batch_exponent=1)
    return {"target": target, "kappa": kappa, "norm2": float(g.norm2()), "dims": list(sw.dims),
            "eps": [float(sw.error(T, kappa)) for T in range(steps + 1)], "stairway": sw.to_dict()}


def stairway_prediction(target: str, steps: int, exponents: tuple[int, ...]) -> dict[str, Any]:
    g = Target.parse(target)
    return {str(e): [float(g.stairway(steps, (1,), e).error(T, 1)) for T in range(steps + 1)] for e in exponents}


def _extrap(runs: RunSet, arm: str, step: int | None) -> tuple[Extrapolation | None, dict]:
    vals = runs.values(arm, lambda rec: test_error(rec, step))
    if len(vals) < 3:
        return None, vals
    return fit_extrapolation(vals), vals


def _decide(fit: Extrapolation | None, predicted: float, tol: float, what: str, lower: bool = False,
            approach: bool = False) -> Decision:
    if fit is None:
        return Decision(rules.INCONCLUSIVE, f"{what}: fewer than three dimensions, cannot extrapolate")
    return rules.extrapolated(fit, predicted, tol, what, lower_bound_only=lower, approach=approach)


def _text(fit: Extrapolation | None) -> str:
    if fit is None:
        return "not extrapolated"
    if not fit.ok:
        return f"fit failed (means {', '.join(f'{m:.3f}' for m in fit.means)})"
    return f"{fit.eps_inf:.3f} [{fit.ci_eps_inf[0]:.3f}, {fit.ci_eps_inf[1]:.3f}] (γ={fit.gamma:.2f})"


def _series(label: str, fit: Extrapolation | None, vals: Mapping[int, list[float]], predicted: float) -> dict:
    return {"label": label, "predicted": predicted, "fit": fit.to_dict() if fit else None,
            "values": {str(d): v for d, v in vals.items()}}


def _stairway_plot(pred: Mapping[str, Any], runs: RunSet) -> tuple[Plot, ...]:
    if "stairway" not in pred:
        return ()
    measured: dict[str, dict[str, Any]] = {}
    for arm, recs_by_d in runs.runs.items():
        if not arm.startswith("stairway"):
            continue
        e = arm.split("=")[-1]
        for d, recs in recs_by_d.items():
            per = {}
            for T in range(len(recs[0]["per_step"])):
                ci = mean_ci([test_error(r, T) for r in recs])
                per[str(T)] = {"mean": ci.mean, "lo": ci.lo, "hi": ci.hi}
            measured[e] = {"d": d, "errors": per}
    if not measured:
        return ()
    return (Plot("stairway", f"stairway to accuracy, g = {STAIRWAY['target']}",
                 {"predicted": pred["stairway"], "measured": measured}),)


def evaluate_t2(pred: Mapping[str, Any], runs: RunSet) -> Evaluation:
    """T2-error: ``ε∞`` after ``T`` steps inside ``ε_pred(U^T, 1) ± ERR_TOL·‖g‖²`` for each measured ``T ≥ 1``."""
    tol = ERR_TOL * pred["norm2"]
    recs = [r for rs in runs.variant("").values() for r in rs]
    T = min([len(pred["eps"]) - 1] + [len(r["per_step"]) - 1 for r in recs]) if recs else 0
    decisions, series, measured, predicted = [], [], [], []
    for t in range(1, T + 1):
        fit, vals = _extrap(runs, "", t)
        decisions.append(_decide(fit, pred["eps"][t], tol, f"ε∞(T={t})", approach=True))
        series.append(_series(f"T={t}", fit, vals, pred["eps"][t]))
        measured.append(f"T={t}: ε∞ = {_text(fit)}")
        predicted.append(f"T={t}: ε_pred = {pred['eps'][t]:.4g} ± {tol:.3g}")
    if not decisions:
        decisions.append(Decision(rules.INCONCLUSIVE, "no runs with T ≥ 1"))
    plots = (Plot("extrapolation", "test error vs d, fit ε∞ + c·d^-γ", {"series": series}),)
    return Evaluation(rules.combine(decisions), "; ".join(predicted), "; ".join(measured),
                      {"tolerance": tol, "series": series}, plots + _stairway_plot(pred, runs))


def evaluate_rf(pred: Mapping[str, Any], runs: RunSet) -> Evaluation:
    """RF-sep: lazy vs one step, decided on what a finite ``p/d``, ``n₂/d`` can show.

    (a) ``ε∞(T=0)`` against the RF baseline ``ε_pred({0}, 1)``, approached from
    above (``rules.from_above``: REFUTED only if random features beat it);
    (b) the gap ``ε(T=0) − ε(T=1)``, extrapolated: its CI must lie in
    ``(tol, gap_pred + tol]`` — a real separation no larger than predicted
    (REFUTED if the CI is below ``tol``: no separation, or above
    ``gap_pred + tol``). Equality of the gap with its prediction needs
    ``p/d, n₂/d → ∞`` and is reported, not claimed.
    """
    tol = ERR_TOL * pred["norm2"]
    rf, gap_pred = pred["eps"][0], pred["eps"][0] - pred["eps"][1]
    fit0, vals0 = _extrap(runs, "", 0)
    gaps = runs.values("", lambda rec: test_error(rec, 0) - test_error(rec, 1))
    fitg = fit_extrapolation(gaps) if len(gaps) >= 3 else None
    if fitg is None:
        dec_gap = Decision(rules.INCONCLUSIVE, "gap∞: fewer than three dimensions")
    else:
        dec_gap = rules.extrapolated(fitg, gap_pred, tol, "gap∞")
        if dec_gap.verdict != rules.INCONCLUSIVE or "CI" in dec_gap.reason:
            dec_gap = rules.interval_rule(fitg.ci_eps_inf, tol, gap_pred + tol, "gap∞")
    decisions = [_decide(fit0, rf, tol, "ε∞(T=0)", approach=True), dec_gap]
    series = [_series("T=0 (random features)", fit0, vals0, rf), _series("gap ε(T=0) − ε(T=1)", fitg, gaps, gap_pred)]
    return Evaluation(rules.combine(decisions),
                      f"RF baseline ε_pred({{0}},1) = {rf:.4g} (from above, ± {tol:.3g}); gap ∈ ({tol:.3g}, {gap_pred:.4g} + {tol:.3g}]",
                      f"ε∞(T=0) = {_text(fit0)}; gap∞ = {_text(fitg)}", {"tolerance": tol, "series": series},
                      (Plot("extrapolation", "random features vs one step: error and gap vs d", {"series": series}),))


def evaluate_c3(pred: Mapping[str, Any], runs: RunSet) -> Evaluation:
    """C3-error (evidence): ``ε∞ ≥ ε_pred(U^1, min(κ1, κ2)) − ERR_TOL·‖g‖²``."""
    tol = ERR_TOL * pred["norm2"]
    bound = pred["eps"][1]
    fit, vals = _extrap(runs, "", None)
    dec = _decide(fit, bound, tol, "ε∞(T=1)", lower=True)
    series = [_series("T=1, κ1=1, κ2=2", fit, vals, bound)]
    return Evaluation(dec, f"ε∞ ≥ ε_pred(U^1, 1) = {bound:.4g} (− {tol:.3g})", f"ε∞ = {_text(fit)}",
                      {"tolerance": tol, "series": series},
                      (Plot("extrapolation", "test error vs d with p ≍ d, n₂ ≍ d²", {"series": series}),))


def _err_arm(dims: tuple[int, ...]) -> Variant:
    return Variant("", ERR, dims, scaled={"p": (2.0, 1.0), "n_ridge": (8.0, 1.0)})


def _stairway_arms(d: int, seeds: int) -> tuple[Variant, ...]:
    return (Variant("stairway n≍d^1", {**STAIRWAY, "n_exp": 1.0}, (d,), {"p": (1.0, 1.0), "n_ridge": (4.0, 1.0)},
                    seeds),
            Variant("stairway n≍d^2", {**STAIRWAY, "n_exp": 2.0, "ell": 2}, (d,),
                    {"p": (1.0, 1.0), "n_ridge": (4.0, 1.0)}, seeds))


def _t2_predict() -> dict[str, Any]:
    out = error_prediction(ERR["target"], 1)
    out["stairway"] = stairway_prediction(STAIRWAY["target"], 3, (1, 2))
    return out


ERR_LADDERS = {"smoke": Ladder((_err_arm((32, 64)),), 2),
               "quick": Ladder((_err_arm((64, 128, 256, 512)),), 4),
               "full": Ladder((_err_arm((256, 512, 1024, 2048, 4096)),), 6)}

T2_ERROR = Claim(
    id="T2-error", source="[DKLPS] Thm 2", kind="theorem",
    statement="κ1 = κ2 = 1: test error → ε_pred(U^T, 1) (extrapolated in d)",
    predict=_t2_predict,
    ladders={"smoke": ERR_LADDERS["smoke"],
             "quick": Ladder(ERR_LADDERS["quick"].variants + _stairway_arms(64, 2), 4),
             "full": Ladder(ERR_LADDERS["full"].variants + _stairway_arms(128, 3), 6)},
    evaluate=evaluate_t2,
    statistic="tuned-λ ridge test error after T = 1 step, p = 2d, n₂ = 8d, g = x1 + x1x2, fit ε∞ + c·d^-γ",
    rule=f"bootstrap CI of ε∞ inside ε_pred ± {ERR_TOL:g}·‖g‖² (REFUTED only below; above = excess at finite p/d, n₂/d)")

RF_SEP = Claim(
    id="RF-sep", source="[DKLPS] §lazy vs feature learning", kind="theorem",
    statement="T = 0 error equals the RF baseline and exceeds the trained error by the predicted gap",
    predict=lambda: error_prediction(ERR["target"], 1),
    ladders=ERR_LADDERS,
    evaluate=evaluate_rf,
    statistic="test errors at T = 0 and T = 1 (same runs as T2-error), each extrapolated in d",
    rule=f"ε∞(T=0) within RF baseline ± {ERR_TOL:g}·‖g‖² (from above); gap CI inside (tol, predicted gap + tol]")

C3_ERROR = Claim(
    id="C3-error", source="[DKLPS] Conj 3", kind="conjecture",
    statement="κ1 ≠ κ2: error ≥ ε_pred(U, min(κ1, κ2)) — evidence, open question",
    predict=lambda: error_prediction(C3["target"], 1),
    ladders={"smoke": Ladder((Variant("", C3, (16, 32), {"p": (1.0, 1.0), "n_ridge": (0.25, 2.0)}),), 2),
             "quick": Ladder((Variant("", C3, (32, 64, 128, 256), {"p": (1.0, 1.0), "n_ridge": (0.25, 2.0)}),), 4),
             "full": Ladder((Variant("", C3, (128, 256, 512, 1024, 2048), {"p": (1.0, 1.0), "n_ridge": (0.25, 2.0)}),),
                            6)},
    evaluate=evaluate_c3,
    statistic="tuned-λ test error after one step with p = d (κ1 = 1), n₂ = d²/4 (κ2 = 2), g = x1 + x1x2x3",
    rule=f"lower CI end of ε∞ ≥ ε_pred(U^1, 1) − {ERR_TOL:g}·‖g‖²")

CLAIMS = (T2_ERROR, C3_ERROR, RF_SEP)

__all__ = ["C3_ERROR", "CLAIMS", "RF_SEP", "T2_ERROR", "error_prediction", "evaluate_c3", "evaluate_rf",
           "evaluate_t2"]
