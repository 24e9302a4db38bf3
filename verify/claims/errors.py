"""Generalisation errors ([DKLPS] Thm 2, Conj 3, lazy vs feature learning; THEORY.md §2.6): T2-error, C3-error, RF-sep.

The prediction is theory's stairway ``ε_pred(U^T, κ)``; the measurement is
the tuned-λ ridge test error after ``T`` giant steps, extrapolated in ``d``
with ``ε(d) = ε∞ + c·d^{-γ}`` (``verify.extrapolation.fit_extrapolation``). The
tolerance on ``ε∞`` is ``ERR_TOL · ‖g‖²`` (5 % of the target's variance).

**Readout regime of T2-error and RF-sep: κ1 = κ2 = 1.5.** The readout has
``p = ⌈d^{1.5}⌉`` neurons and ``n_ridge = 4⌈d^{1.5}⌉`` samples (a fifth of them
held out to pick λ), so ``κ = ⌊min(κ1, κ2)⌋ = 1`` and the prediction is still
``ε_pred(U, 1)`` (§2.6). At fixed ratios ``p/d``, ``n₂/d`` (the former
``p = 2d``, ``n₂ = 8d``) the error converges to ``ε_pred`` *plus* a finite-ratio
excess, so no extrapolation in ``d`` can reach ``ε_pred``. With exponent 1.5
the ratios grow like ``√d`` and every leading finite-size correction is
``O(d^{-1/2})``: the ridge variance ``∝ d/n₂``, the random-features
approximation of the degree-1 part ``∝ d/p``, and the partial capture of the
degree-2 part (which a ``p, n₂ ≪ d²`` readout must not learn) ``∝ p/d², n₂/d²``;
the §3.1 overlaps also move by ``O(d^{-1/2})``. The extrapolation therefore
fixes ``γ = EXTRAP_GAMMA = 1/2`` (a free ``γ`` is not resolved by a ladder
spanning 4× in ``d``: its CI covers ``[0, 1.6]``) and checks the law with a
χ² goodness-of-fit test (``verify.rules.extrapolated``); the free-``γ`` fit
is reported alongside. Corrections of both signs are expected (excess from
above, degree-2 capture from below), so the rules are two-sided: a CI of
``ε∞`` outside ``ε_pred ± tol`` on either side refutes.

**First-layer batch: n = 256·d, η̃ = 1** (``n ≍ d``, so ``U^1 = span(v*)``
still, §2.3), symmetric initialisation. Two floors sit between the measured
error and §2.6's ``ε_pred(span e1, 1) = 0`` at a fixed ``α = n/d``:

* the *protocol floor* ``R`` of ``theory.overlap.protocol_floor`` (THEORY §2.6):
  with ``a_i = ±1`` all neurons have the same ``|⟨ŵ_i, v*⟩| = m`` (§3.1) and the
  same component ``±q`` on one common batch-noise direction ``ξ̂ ⊥ v*``, so a
  κ = 1 readout of ReLU features represents ``x1x2`` only up to ``R``
  (formula in ``theory.overlap``);
* the *estimation floor*: every neuron's step has the common part
  ``μ1(σ)·ĉ``, ``ĉ = (1/n)Σ y_ν z_ν`` the batch estimate of ``C_1``, so what is
  learned is the direction of ``ĉ``, at angle ``θ`` from ``v*`` with
  ``cos²θ = ‖C_1‖²/(‖C_1‖² + (E[g²] + Δ)/α)``, and a κ = 1 readout reaches
  ``ε_pred(span ĉ, 1)`` at best — ``sin²θ = 2/(α + 2)`` for ``x1 + x1x2``
  (``theory.overlap.estimation_angle``). ``R`` tends to it as
  ``η̃ → 0`` (``m, q → 0`` with ``q²/m² = (E[g²] + Δ)/(α‖C_1‖²)``).

With the Gaussian second layer (``init="gaussian"``) the neurons' overlaps
spread with ``a_i``, which removes the protocol part ``R − sin²θ`` but not the
estimation floor: at ``n = d``, ``η̃ = 2`` the T = 1 error extrapolates to
``ε∞ = 0.75 [0.62, 0.84]`` (``d = 45 … 181``, 3 seeds; ``sin²θ = 2/3``), so
``ε_pred(U, 1)`` is not reachable at ``n ≍ d`` with a bounded ``α`` under either
initialisation. T2-error and RF-sep therefore keep the symmetric protocol at a
large ``α``: ``α = 256``, ``η̃ = 1`` give ``R = 0.015`` (``sin²θ = 0.008``), well
inside the tolerance 0.1; the former ``α = 64``, ``η̃ = 1.4`` (``R = 0.049``) left
RF-sep's extrapolated gap at ``0.926 [0.891, 0.953]``, on the tolerance's edge.
``R`` is a diagnostic: reported with every T2-error/RF-sep evaluation, never
used for a verdict. For the old ``n = d``, ``η̃ = 2``: ``R = 0.68``.

**C3-error** (``p = d``, ``n₂ = d²/4``: ``κ1 = 1``, ``κ2 = 2``; ``g = x1 + He2(x1) + x2x3``,
``n = 16d``). A lower bound is evidence only where it lies strictly below the
untrained (random-features) error (THEORY §5.1): for the former
``g = x1 + x1x2x3`` the bound ``ε_pred(span e1, 1) = 1`` *equals* the RF level
``ε_pred({0}, 1) = 1``, so a network that learned nothing (no giant step,
ε∞ = 1.79) passed. Here the bound is ``ε_pred(span e1, 1) = ‖x2x3‖² = 1``
and the RF level ``ε_pred({0}, 1) = ‖He2(x1)‖² + ‖x2x3‖² = 3``: the step must
learn ``He2(x1)`` (a function of ``v* = e1``) to get below the RF level, and
the claim's negative control is that bound raised to the RF level, which the
trained network must violate (an untrained one would not) — ``evaluate_c3``
also refuses (INCONCLUSIVE) a bound within the tolerance of the RF level.
``α = 16`` keeps the estimation angle small (``sin²θ = 0.14``; 0.71 at
``α = 1``, where the learned direction is mostly batch noise). Its
corrections are those of T2-error's regime or faster (overlaps
``O(d^{-1/2})``, ridge variance ``p/n₂ = O(1/d)``, degree-2 capture
``p/d² = O(1/d)``), so ``γ`` is fixed at ``1/2``, the slowest: for errors that
approach their limit from above a fixed rate slower than the true one
extrapolates *below* the limit, which is conservative for a lower bound. The
free-``γ`` fit is reported beside it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from theory import Target
from theory.overlap import estimation_angle, protocol_floor
from verify import rules
from verify.claims.base import Alternative, Claim, Evaluation, FigureKind, Ladder, Plot, RunSet, Status, Variant
from verify.claims.common import test_error
from verify.extrapolation import Extrapolation, fit_extrapolation
from verify.rules import Decision

ERR_TOL = 0.05
EXTRAP_GAMMA = 0.5  # rate of the finite-size corrections at κ1 = κ2 = 1.5 (module docstring)
READOUT_EXP = 1.5  # p ≍ n_ridge ≍ d^READOUT_EXP, κ = ⌊1.5⌋ = 1
RIDGE_SCALE = 4.0  # n_ridge = RIDGE_SCALE·d^READOUT_EXP
READOUT = {"p": (1.0, READOUT_EXP), "n_ridge": (RIDGE_SCALE, READOUT_EXP)}  # Variant.scaled of the κ = 1 readout
C3_READOUT = {"p": (1.0, 1.0), "n_ridge": (0.25, 2.0)}  # p = d (κ1 = 1), n_ridge = d²/4 (κ2 = 2)
ERR = dict(target="x1 + x1*x2", activation="relu", n_exp=1.0, n_scale=256.0, steps=1, lr0=1.0,
           readout="every_step", n_test=100_000)
C3 = dict(target="x1 + x1**2 - 1 + x2*x3", activation="relu", n_exp=1.0, n_scale=16.0, steps=1, lr0=2.0,
          readout="final", n_test=4000)


def error_prediction(target: str, steps: int, kappa: int = 1) -> dict[str, Any]:
    """``ε_pred(U^T, κ)`` for ``T = 0..steps`` (leap-1 staircase) and ``‖g‖²`` from ``theory`` (§2.6)."""
    g = Target.parse(target)
    sw = g.stairway(max_steps=steps, kappas=(kappa,), batch_exponent=1)
    return {"target": target, "kappa": kappa, "norm2": float(g.norm2()), "dims": list(sw.dims),
            "eps": [float(sw.error(T, kappa)) for T in range(steps + 1)], "stairway": sw.to_dict()}


def _extrapolation_or_none(vals: Mapping[int, list[float]], gamma: float | None, n_boot: int = 400
                           ) -> Extrapolation | None:
    """``fit_extrapolation`` when there are three dimensions (its minimum), else ``None``."""
    return fit_extrapolation(vals, gamma=gamma, n_boot=n_boot) if len(vals) >= 3 else None


def _extrap(runs: RunSet, arm: str, step: int | None, gamma: float | None = EXTRAP_GAMMA
            ) -> tuple[Extrapolation | None, dict]:
    vals = runs.values(arm, lambda rec: test_error(rec, step))
    return _extrapolation_or_none(vals, gamma), vals


def _decide(fit: Extrapolation | None, predicted: float, tol: float, what: str, lower: bool = False) -> Decision:
    if fit is None:
        return Decision(rules.INCONCLUSIVE, f"{what}: fewer than three dimensions, cannot extrapolate")
    return rules.extrapolated(fit, predicted, tol, what, lower_bound_only=lower)


def _text(fit: Extrapolation | None) -> str:
    if fit is None:
        return "not extrapolated"
    if not fit.ok:
        return f"fit failed (means {', '.join(f'{m:.3f}' for m in fit.means)})"
    rate = f"γ={fit.gamma:.2f}" + (" fixed" if fit.fixed_gamma else "")
    gof = f", p_fit={fit.p_fit:.2g}" if fit.p_fit is not None else ""
    return f"{fit.eps_inf:.3f} [{fit.ci_eps_inf[0]:.3f}, {fit.ci_eps_inf[1]:.3f}] ({rate}{gof})"


def _series(label: str, fit: Extrapolation | None, vals: Mapping[int, list[float]], predicted: float) -> dict:
    """Plot/JSON data of one error series: the decisive fit and, for the record, the free-γ fit (diagnostic only)."""
    free = _extrapolation_or_none(vals, None, n_boot=100) if fit is not None and fit.fixed_gamma else None
    return {"label": label, "predicted": predicted, "fit": fit.to_dict() if fit else None,
            "free_gamma_fit": free.to_dict() if free else None,
            "means": {str(d): float(sum(v) / len(v)) for d, v in vals.items()},
            "values": {str(d): v for d, v in vals.items()}}


def _floor(pred: Mapping[str, Any]) -> dict[str, float] | None:
    return pred.get("protocol_floor")


def _floor_text(fl: Mapping[str, float]) -> str:
    """The two floors of the module docstring, as diagnostics."""
    return (f"protocol floor R = {fl['R']:.3f}, estimation angle sin²θ = {fl['sin2_theta']:.3f}: "
            "diagnostics, not predictions")


def evaluate_t2(pred: Mapping[str, Any], runs: RunSet) -> Evaluation:
    """T2-error: ``ε∞`` after ``T`` steps inside ``ε_pred(U^T, 1) ± ERR_TOL·‖g‖²`` for each measured ``T ≥ 1``.

    Two-sided (``rules.value`` on the extrapolated CI, ``γ = 1/2`` fixed, see
    the module docstring): REFUTED when the CI lies wholly above or below.

    Parameters
    ----------
    pred : mapping
        :func:`error_prediction` (``eps``, ``norm2``), optionally ``protocol_floor``.
    runs : RunSet
        Records of arm ``""`` with ``per_step[t].test_error``.

    Returns
    -------
    Evaluation
    """
    tol = ERR_TOL * pred["norm2"]
    recs = [r for rs in runs.variant("").values() for r in rs]
    T = min([len(pred["eps"]) - 1] + [len(r.per_step) - 1 for r in recs]) if recs else 0
    decisions, series, measured, predicted = [], [], [], []
    for t in range(1, T + 1):
        fit, vals = _extrap(runs, "", t)
        decisions.append(_decide(fit, pred["eps"][t], tol, f"ε∞(T={t})"))
        series.append(_series(f"T={t}", fit, vals, pred["eps"][t]))
        measured.append(f"T={t}: ε∞ = {_text(fit)}")
        predicted.append(f"T={t}: ε_pred = {pred['eps'][t]:.4g} ± {tol:.3g}")
    if not decisions:
        decisions.append(Decision(rules.INCONCLUSIVE, "no runs with T ≥ 1"))
    fl = _floor(pred)
    if fl is not None:
        measured.append(f"({_floor_text(fl)})")
    plots = (Plot(FigureKind.EXTRAPOLATION, "test error vs d, fit ε∞ + c·d^-γ", {"series": series}),)
    return Evaluation(rules.combine(decisions), "; ".join(predicted), "; ".join(measured),
                      {"tolerance": tol, "series": series, "protocol_floor": fl}, plots)


def evaluate_rf(pred: Mapping[str, Any], runs: RunSet) -> Evaluation:
    """RF-sep: lazy vs one step, both limits two-sided.

    (a) ``ε∞(T=0)`` inside the RF baseline ``ε_pred({0}, 1) ± tol``;
    (b) the gap ``ε(T=0) − ε(T=1)`` (per seed, same runs), extrapolated, inside
    ``ε_pred({0}, 1) − ε_pred(U^1, 1) ± tol``. Either CI wholly outside its
    band, above or below, refutes (module docstring: at κ1 = κ2 = 1.5 the
    finite-ratio excess is part of the fitted ``c·d^{-1/2}``, not of ``ε∞``).

    Parameters
    ----------
    pred : mapping
        :func:`error_prediction` (``eps[0]``, ``eps[1]``, ``norm2``), optionally ``protocol_floor``.
    runs : RunSet
        Records of arm ``""`` with ``per_step[0]`` and ``per_step[1]`` test errors.

    Returns
    -------
    Evaluation
    """
    tol = ERR_TOL * pred["norm2"]
    rf, gap_pred = pred["eps"][0], pred["eps"][0] - pred["eps"][1]
    fit0, vals0 = _extrap(runs, "", 0)
    gaps = runs.values("", lambda rec: test_error(rec, 0) - test_error(rec, 1))
    fitg = _extrapolation_or_none(gaps, EXTRAP_GAMMA)
    decisions = [_decide(fit0, rf, tol, "ε∞(T=0)"), _decide(fitg, gap_pred, tol, "gap∞")]
    series = [_series("T=0 (random features)", fit0, vals0, rf), _series("gap ε(T=0) − ε(T=1)", fitg, gaps, gap_pred)]
    fl = _floor(pred)
    extra = f"; for ε(T=1): {_floor_text(fl)}" if fl else ""
    return Evaluation(rules.combine(decisions),
                      f"RF baseline ε_pred({{0}},1) = {rf:.4g} ± {tol:.3g}; gap = {gap_pred:.4g} ± {tol:.3g}",
                      f"ε∞(T=0) = {_text(fit0)}; gap∞ = {_text(fitg)}{extra}",
                      {"tolerance": tol, "series": series, "protocol_floor": fl},
                      (Plot(FigureKind.EXTRAPOLATION, "random features vs one step: error and gap vs d",
                            {"series": series}),))


def evaluate_c3(pred: Mapping[str, Any], runs: RunSet) -> Evaluation:
    """C3-error (evidence): ``ε∞ ≥ ε_pred(U^1, min(κ1, κ2)) − ERR_TOL·‖g‖²``.

    ``ε∞`` is extrapolated with the rate fixed at ``EXTRAP_GAMMA = 1/2`` (module docstring, "C3-error"): the
    slowest correction of the regime, so for errors that approach their limit from above the fixed-rate
    limit is an underestimate — conservative for a lower bound. The free-``γ`` fit is reported beside it.

    Parameters
    ----------
    pred : mapping
        :func:`error_prediction` (``eps[1]``, ``norm2``).
    runs : RunSet
        Records of arm ``""`` with the final ``test_error``.

    Returns
    -------
    Evaluation
    """
    tol = ERR_TOL * pred["norm2"]
    bound, untrained = pred["eps"][1], pred["eps"][0]
    fit, vals = _extrap(runs, "", None)
    dec = _decide(fit, bound, tol, "ε∞(T=1)", lower=True)
    if not pred.get("informative", bound < untrained - tol):
        dec = Decision(rules.INCONCLUSIVE, f"uninformative: the bound {bound:.4g} is not below the untrained (RF) "
                                           f"error {untrained:.4g} by more than the tolerance {tol:.3g}, so a network "
                                           f"that learned nothing passes (THEORY §5.1); the rule said: {dec.reason}")
    series = [_series("T=1, κ1=1, κ2=2", fit, vals, bound)]
    return Evaluation(dec, f"ε∞ ≥ ε_pred(U^1, 1) = {bound:.4g} (− {tol:.3g}), below the RF level {untrained:.4g}",
                      f"ε∞ = {_text(fit)}",
                      {"tolerance": tol, "series": series},
                      (Plot(FigureKind.EXTRAPOLATION, "test error vs d with p ≍ d, n₂ ≍ d²",
                            {"series": series}),))


def nothing_learned(pred: Mapping[str, Any]) -> dict[str, Any]:
    """Control of T2-error (a wrong level): the error of ``U^0 = {0}`` at every ``T`` — the random-features
    level ``ε_pred({0}, 1)``, from ``theory``."""
    return {**pred, "eps": [pred["eps"][0]] * len(pred["eps"])}


def no_gap(pred: Mapping[str, Any]) -> dict[str, Any]:
    """Control of RF-sep (a wrong value): one step gains nothing, ``ε_pred(U^1, 1) = ε_pred({0}, 1)``."""
    return {**pred, "eps": [pred["eps"][0], pred["eps"][0], *pred["eps"][2:]]}


def bound_at_untrained(pred: Mapping[str, Any]) -> dict[str, Any]:
    """Control of C3-error (what an untrained network passes): the bound raised to the random-features level
    ``ε_pred({0}, 1)``; the trained network must fall below it (and is then refuted), an untrained one would not.
    ``informative`` is the true bound's (:func:`c3_prediction`)."""
    return {**pred, "eps": [pred["eps"][0], pred["eps"][0], *pred["eps"][2:]]}


def c3_prediction(target: str) -> dict[str, Any]:
    """:func:`error_prediction` at ``T = 1``, with ``informative``: the bound ``ε_pred(U^1, 1)`` lies below the
    random-features level ``ε_pred({0}, 1)`` by more than the tolerance (THEORY §5.1)."""
    pred = error_prediction(target, 1)
    return {**pred, "informative": pred["eps"][1] < pred["eps"][0] - ERR_TOL * pred["norm2"]}


def _err_arm(dims: tuple[int, ...]) -> Variant:
    """``p = d^1.5``, ``n_ridge = 4·d^1.5``: κ1 = κ2 = 1.5 (module docstring)."""
    return Variant("", ERR, dims, scaled=READOUT)


def _err_predict() -> dict[str, Any]:
    out = error_prediction(ERR["target"], ERR["steps"])
    floor = protocol_floor(ERR["target"], ERR["activation"], ERR["lr0"], ERR["n_scale"]).to_dict()
    out["protocol_floor"] = {**floor, "sin2_theta": float(estimation_angle(ERR["target"], ERR["n_scale"]))}
    return out


def _first_layer_text() -> str:
    return f"n = {ERR['n_scale']:g}d, η̃ = {ERR['lr0']:g}"


def _readout_text() -> str:
    return (f"p = d^{READOUT_EXP:g}, n₂ = {RIDGE_SCALE:g}d^{READOUT_EXP:g} "
            f"(κ1 = κ2 = {READOUT_EXP:g}, κ = {math.floor(READOUT_EXP)})")


ERR_DIMS = {"smoke": (16, 32), "quick": (45, 64, 91, 128, 181), "full": (64, 91, 128, 181, 256)}
ERR_SEEDS = {"smoke": 2, "quick": 4, "full": 4}
ERR_LADDERS = {prof: Ladder((_err_arm(ERR_DIMS[prof]),), ERR_SEEDS[prof]) for prof in ERR_DIMS}
C3_DIMS = {"smoke": (16, 32), "quick": (128, 181, 256, 362, 512), "full": (128, 181, 256, 362, 512, 724, 1024)}
C3_SEEDS = {"smoke": 2, "quick": 6, "full": 6}

T2_ERROR = Claim(
    id="T2-error", source="[DKLPS] Thm 2", status=Status.THEOREM,
    statement="κ = 1 readout: test error → ε_pred(U^T, 1) (extrapolated in d)",
    predict=_err_predict,
    ladders=ERR_LADDERS,
    evaluate=evaluate_t2,
    statistic=f"tuned-λ ridge test error after T = {ERR['steps']} step (symmetric initialisation, "
              f"{_first_layer_text()}), {_readout_text()}, "
              f"g = {ERR['target'].replace('*', '')}, fit ε∞ + c·d^-{rules.fraction_text(EXTRAP_GAMMA)}",
    rule=f"Student CI of ε∞ inside ε_pred ± {ERR_TOL:g}·‖g‖² (two-sided; INCONCLUSIVE if the "
         f"d^-{rules.fraction_text(EXTRAP_GAMMA)} law is rejected, p_fit < {rules.P_FIT_MIN:g})",
    controls=(Alternative("nothing learned: ε = ε_pred({0}, 1) at every T", nothing_learned),))

RF_SEP = Claim(
    id="RF-sep", source="[DKLPS] §lazy vs feature learning", status=Status.THEOREM,
    statement="T = 0 error equals the RF baseline and exceeds the trained error by the predicted gap",
    predict=_err_predict,
    ladders=ERR_LADDERS,
    evaluate=evaluate_rf,
    statistic="test errors at T = 0 and T = 1 (same runs as T2-error: symmetric initialisation, "
              f"{_first_layer_text()}), ε(T=0) and the per-seed gap each "
              f"extrapolated with ε∞ + c·d^-{rules.fraction_text(EXTRAP_GAMMA)}",
    rule=f"ε∞(T=0) within RF baseline ± {ERR_TOL:g}·‖g‖² and gap∞ within predicted gap ± {ERR_TOL:g}·‖g‖² "
         "(both two-sided)",
    controls=(Alternative("no gap: one step gains nothing over random features", no_gap),))

C3_ERROR = Claim(
    id="C3-error", source="[DKLPS] Conj 3", status=Status.CONJECTURE,
    statement="κ1 ≠ κ2: error ≥ ε_pred(U, min(κ1, κ2)) — evidence, open question",
    predict=lambda: c3_prediction(C3["target"]),
    ladders={prof: Ladder((Variant("", C3, C3_DIMS[prof], C3_READOUT),), C3_SEEDS[prof]) for prof in C3_DIMS},
    evaluate=evaluate_c3,
    statistic=f"tuned-λ test error after one step (symmetric initialisation, n = {C3['n_scale']:g}d, "
              f"η̃ = {C3['lr0']:g}) with p = d (κ1 = 1), n₂ = d²/4 (κ2 = 2), g = {C3['target'].replace('*', '')}, "
              f"fit ε∞ + c·d^-{rules.fraction_text(EXTRAP_GAMMA)}",
    rule=f"lower CI end of ε∞ ≥ ε_pred(U^1, 1) − {ERR_TOL:g}·‖g‖² (INCONCLUSIVE if the "
         f"d^-{rules.fraction_text(EXTRAP_GAMMA)} law is rejected, p_fit < {rules.P_FIT_MIN:g}, or if the bound is "
         "not below the random-features level by more than the tolerance)",
    controls=(Alternative("the bound at the random-features level ε_pred({0}, 1) (what an untrained network "
                          "passes)", bound_at_untrained),))

CLAIMS = (T2_ERROR, C3_ERROR, RF_SEP)

__all__ = ["C3_ERROR", "CLAIMS", "EXTRAP_GAMMA", "RF_SEP", "T2_ERROR", "bound_at_untrained", "c3_prediction",
           "error_prediction", "evaluate_c3", "evaluate_rf", "evaluate_t2", "no_gap", "nothing_learned"]
