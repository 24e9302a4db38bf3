"""One giant step ([DKLPS] Theorem 1, THEORY.md §2.3, §3.1): T1-single, T1-curve, T1-short, T1-spec, T1-hard
(T1-curve's prediction, statistic, decision, text and figure are ``verify.claims.curve``).

Common choices, and why:

* ``lr0 = 2`` (per-neuron step ``η̃ = 2·d^{(ℓ−1)/2}``): by the §3.1 formula
  the ReLU overlap with ``v*`` for ``g = x1 + x1x2`` is ``1/√(2 + 4/α)``
  (0.41 at ``α = 1``), large against the ``d^{-1/2}`` noise floor at ``d ≥ 64``,
  and it still varies strongly with ``α`` (0.32 → 0.58 for ``α = 0.5 → 4``).
  One step from the symmetric initialisation (``f(W⁰) ≡ 0``) does not depend on
  the output scale ``s_p`` (§3: the per-neuron step is ``η̃`` under both).
* ``g = x1 + x1x2``: ``C_1 = e1`` is a single direction, ``e2`` is relevant
  but not learnable in one step — the cleanest "only ``v*``" test.
* The statistic for "how many directions" is the singular values of
  ``M/√p`` (§3): the ``k ≤ dim U_1step`` ones are Θ(1), the next one is the
  noise floor ``≍ d^{-1/2}`` (init overlap ``d^{-1/2}`` plus batch noise
  ``η̃ n^{-1/2}``).
* Every arm runs the exact reduced engine of §3.3 (``engine="reduced"``, exact
  at every ``d``): a step costs ``O(n·p·(k + p))`` whatever ``d`` (about 0.7 µs a
  sample at ``p = 16``, 2 cores), which is what puts ``n = d²`` at ``d = 4096``
  and ``n = d³`` at ``d = 256`` on a CPU. One engine at every ``d`` also means the
  same seed draws the same teacher coordinates of ``W⁰`` and the same reduced
  batches at every ``d``, so the fits resample seeds jointly over ``d``
  (``verify.fits``, paired bootstrap).
* T1-spec and T1-hard use ``p = SPEC_P = 16``: the cost of ``n ≍ d^ℓ`` samples
  grows like ``p·(k + p)`` with ``k = r + p/2``, and the statistics are means
  over neurons whose spread the seeds average.
* T1-hard uses ``σ = He3`` (``μ3 = 6``, every other ``μ_k = 0``): ReLU has
  ``μ3 = 0`` and could not learn an order-3 direction in one step whatever
  ``n`` (§2.3). Among activations with ``μ3 ≠ 0`` the pure third Hermite
  polynomial has the largest signal-to-noise ratio of the step,
  ``μ3²/E[σ'(u)²] = 2`` (erf: 0.33), so its ``n = d³`` overlap is 0.71
  instead of erf's 0.47. That matters at the reachable ``d``: the overlap's
  finite-size drifts are ``O(r/d)`` (the isotropic part of a unit neuron seen
  by the 3-dimensional ``U*``) and ``O(k/d)`` (the batch noise in the ``d − k``
  coordinates grows to its limit), relative ``∝ (1 − m²)/m²``; over
  ``d = 64 … 256`` they tilt erf's fitted exponent by about −0.07 (measured
  −0.084 [−0.139, −0.034], INCONCLUSIVE against the Θ(1) band ±0.1) and
  He3's by about −0.035.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from sim import as_basis
from theory import Target
from verify import rules
from verify.claims.base import Alternative, Claim, Evaluation, Ladder, RunSet, Status, Variant
from verify.claims.common import (NOISE_EXPONENT, Part, learned_parts, overlaps, scaling_evaluation, singular_value,
                                  space_values)
from verify.claims.curve import CONTROL_BATCH, CURVE_TOL, curve_prediction, evaluate_curve, larger_batch_curve
from verify.rules import Law

LR0 = 2.0


# ---------------------------------------------------------------------------
# predictions (all from theory)
# ---------------------------------------------------------------------------
def one_step_prediction(target: str, ell: int, preprocess: bool, act: str) -> dict[str, Any]:
    """What one giant step learns, from ``theory``: ``U_1step(ℓ)`` (§2.3, σ-aware) and ``U*_rel`` (§2.1).

    Parameters
    ----------
    target : str
        ``g*`` (THEORY.md §1).
    ell : int
        Batch exponent ``ℓ`` (``n ≍ d^ℓ``).
    preprocess : bool
        Labels with their Hermite orders ``< ℓ`` removed.
    act : str
        ``σ``; ``U_1step = {0}`` when the ``μ(σ)`` of the order that matters vanishes
        (``Target.one_step_subspace(..., activation=σ)``).

    Returns
    -------
    dict
        ``learned_basis`` (``r × dim U_1step``) and ``relevant_basis`` (``r × dim U*_rel``) as nested lists,
        their dimensions ``dim_learned``, ``dim_relevant``, the leap index and the inputs.
    """
    g = Target.parse(target)
    V = as_basis(g.one_step_subspace(ell, preprocess=preprocess, activation=act), g.r)
    U = as_basis(g.relevant_subspace(), g.r)
    return {"target": target, "r": g.r, "ell": ell, "preprocess": preprocess, "activation": act,
            "dim_learned": int(V.shape[1]), "dim_relevant": int(U.shape[1]), "leap_index": g.leap_index(),
            "learned_basis": V.tolist(), "relevant_basis": U.tolist()}


# ---------------------------------------------------------------------------
# evaluations
# ---------------------------------------------------------------------------
def _bases(pred: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """``U_1step`` and ``U*_rel`` of a :func:`one_step_prediction` as float ``r × m`` bases."""
    return as_basis(pred["learned_basis"], pred["r"]), as_basis(pred["relevant_basis"], pred["r"])


def _rank_parts(pred: Mapping[str, Any], runs: RunSet, arm: str) -> list[Part]:
    V, U = _bases(pred)
    m = V.shape[1]
    parts = []
    if m:
        parts.append(Part(f"{arm}s_min on U_1step", Law.THETA1, space_values(runs, arm, V, Law.THETA1), arm))
    for k in range(1, m + 1):
        parts.append(Part(f"{arm}s_{k}", Law.THETA1,
                          runs.values(arm, lambda rec, k=k: singular_value(overlaps(rec), k)), arm))
    if m < U.shape[1]:
        parts.append(Part(f"{arm}s_{m + 1}", Law.EXPONENT,
                          runs.values(arm, lambda rec: singular_value(overlaps(rec), m + 1)), arm))
    return parts


def evaluate_rank(pred: Mapping[str, Any], runs: RunSet) -> Evaluation:
    """T1-single / T1-spec: ``s_k`` Θ(1) for ``k ≤ m = dim U_1step``, ``s_{m+1} ≍ d^{-1/2}``, and the weakest
    direction of ``U_1step`` (``s_min`` of the overlaps on it, THEORY §5.1) Θ(1).

    Parameters
    ----------
    pred : mapping
        :func:`one_step_prediction` (``learned_basis``, ``relevant_basis``, ``dim_learned``).
    runs : RunSet
        Records of arm ``""`` with ``overlaps`` ``M`` (``p × r``) after one step.

    Returns
    -------
    Evaluation
    """
    parts = _rank_parts(pred, runs, "")
    predicted = (f"rank M = dim U_1step = {pred['dim_learned']} of dim U*_rel = {pred['dim_relevant']}: "
                 f"s_1..s_{pred['dim_learned']} ≍ d^0, s_{pred['dim_learned'] + 1} ≍ d^-1/2")
    return scaling_evaluation(parts, predicted, "singular values of M/√p and of the overlaps on U_1step vs d")


def all_relevant_learned(pred: Mapping[str, Any]) -> dict[str, Any]:
    """Control of T1-single / T1-spec (a wrong rank): ``U_1step = U*_rel``, every relevant direction learned."""
    return {**pred, "learned_basis": pred["relevant_basis"], "dim_learned": pred["dim_relevant"]}


def _learnability_parts(pred: Mapping[str, Any], runs: RunSet, arm: str) -> list[Part]:
    V, U = _bases(pred)
    return learned_parts(V, U, runs, arm, "U_1step")


def _learnability_text(pred: Mapping[str, Any], arm: str) -> str:
    m, u = pred["dim_learned"], pred["dim_relevant"]
    if m == 0:
        return f"{arm}: nothing learned (U_1step = {{0}}): overlap on U*_rel → 0"
    if m == u:
        return f"{arm}: all of U*_rel learned (dim {m}): overlap Θ(1)"
    return f"{arm}: dim {m} of {u} learned: Θ(1) on U_1step, → 0 on the rest"


def evaluate_learnability(preds: Mapping[str, Any], runs: RunSet) -> Evaluation:
    """T1-short / T1-hard: per arm, every direction of the predicted ``U_1step`` Θ(1) (its weakest, ``s_min``) and
    none of ``U*_rel ⊖ U_1step`` (its strongest, ``s_max``) → 0; every arm of the prediction is decided, an
    arm without runs is INCONCLUSIVE (THEORY §5.1).

    Parameters
    ----------
    preds : mapping
        ``{"arms": {arm: one_step_prediction(...)}}``.
    runs : RunSet
        Records per arm with ``overlaps`` ``M`` (``p × r``) after one step.

    Returns
    -------
    Evaluation
    """
    arms = dict(preds["arms"])
    parts = [part for arm, pred in arms.items() for part in _learnability_parts(pred, runs, arm)]
    predicted = "; ".join(_learnability_text(p, a) for a, p in arms.items())
    return scaling_evaluation(parts, predicted, "weakest learned / strongest unlearned direction vs d", arms=list(arms))


def learned_at_leap(preds: Mapping[str, Any]) -> dict[str, Any]:
    """Control of T1-short (a wrong level): every arm learns what ``n ≍ d^{ℓ}`` at the leap ``ℓ`` learns
    (``U_1step(ℓ)`` with orders ``< ℓ`` removed, from ``theory``)."""
    out = {}
    for arm, pred in preds["arms"].items():
        g = Target.parse(pred["target"])
        out[arm] = one_step_prediction(pred["target"], g.leap_index(), True, pred["activation"])
    return {"arms": out}


def learned_one_order_early(preds: Mapping[str, Any]) -> dict[str, Any]:
    """Control of T1-hard (a wrong exponent): each arm learns what the next batch exponent's arm learns
    (the leap-3 target already learned with ``n ≍ d²``)."""
    arms = list(preds["arms"])
    return {"arms": {a: preds["arms"][arms[min(i + 1, len(arms) - 1)]] for i, a in enumerate(arms)}}


# ---------------------------------------------------------------------------
# the claims and their ladders (profile → dims, seeds, p; times in verify/profiles.py)
# ---------------------------------------------------------------------------
HARD_SIGMA = "He3"  # μ3 = 6, μ_k = 0 for k ≠ 3: the step sees C_3 alone (module docstring)
ENGINE = "reduced"  # THEORY §3.3, exact at every d; one engine at every d of a ladder (verify.fits: paired seeds)
ONE = dict(n_exp=1.0, n_scale=1.0, steps=1, lr0=LR0, readout="none", engine=ENGINE)
SINGLE = dict(target="x1 + x1*x2", activation="relu", **ONE)
SHORT = dict(target="x1*x2", activation="relu", **ONE)
SPEC = dict(ONE, target="x1*x2 + x3", activation="relu", n_exp=2.0, ell=2, preprocess="exact")
HARD = dict(ONE, target="x1*x2*x3", activation=HARD_SIGMA, preprocess="exact")
CURVE_ALPHAS = (0.5, 1.0, 2.0, 4.0)
SHORT_EXTRA_EXP = 1.5  # T1-short's second arm: n ≍ d^1.5, still below the leap 2
SPEC_P = 16  # T1-spec, T1-hard: the cost of n ≍ d^ℓ samples is n·p·(k + p) with k ≈ r + p/2

SINGLE_DIMS = {"smoke": (32, 64), "quick": (256, 512, 1024, 2048, 4096),
               "full": (512, 1024, 2048, 4096, 8192, 16384)}
SINGLE_P = {"smoke": 32, "quick": 64, "full": 256}
CURVE_DIMS = {"smoke": (64,), "quick": (512, 1024, 2048), "full": (2048, 4096, 8192)}  # ≥ 3 d, span 4 (§5.1)
CURVE_P = {"smoke": 32, "quick": 32, "full": 64}
SPEC_DIMS = {"smoke": (16,), "quick": (128, 256, 512, 1024, 2048), "full": (256, 512, 1024, 2048, 4096)}
HARD_D2 = {"smoke": (8,), "quick": (64, 128, 256, 512, 1024), "full": (128, 256, 512, 1024, 2048, 4096)}
HARD_D3 = {"smoke": (8,), "quick": (32, 48, 64, 96, 128), "full": (48, 64, 96, 128, 192, 256)}
# n ≍ d³ is decided on s_3, the weakest of the three learned directions (THEORY §5.1): with p = 16 (8 distinct
# neurons) its spread over seeds is 25 %, so the exponent's Student CI was ±0.13 with 6 seeds over d = 64…256
# (INCONCLUSIVE); 24 seeds over d = 32…128 give ±0.05 (the means are flat from d = 32: 0.276–0.289), 39 s on this
# machine at load 5; full: 16 seeds over d = 48…256
HARD_D3_SEEDS = {"smoke": 2, "quick": 24, "full": 16}
SEEDS = {"smoke": 2, "quick": 6, "full": 8}
SPEC_SEEDS = {"smoke": 2, "quick": 12, "full": 16}  # s_{m+1} spreads over seeds: 8 left its CI straddling an edge


def batch_arm(exponent: float) -> str:
    """Name of the arm with batch ``n ≍ d^exponent``: ``"n≍d"``, ``"n≍d^1.5"``, ``"n≍d^2"``."""
    return "n≍d" if exponent == 1 else f"n≍d^{exponent:g}"


def _ladders(arms: Any, seeds: Mapping[str, int] = SEEDS) -> dict[str, Ladder]:
    """``{profile: Ladder(arms(profile), seeds[profile])}``."""
    return {prof: Ladder(tuple(arms(prof)), seeds[prof]) for prof in seeds}


def _short_arms(prof: str) -> list[Variant]:
    arms = [Variant(batch_arm(1), {**SHORT, "p": SINGLE_P[prof]}, SINGLE_DIMS[prof])]
    if prof != "smoke":  # every arm of the prediction is run where the claim is decided (THEORY §5.1)
        arms.append(Variant(batch_arm(SHORT_EXTRA_EXP), {**SHORT, "n_exp": SHORT_EXTRA_EXP, "ell": 2, "p": 64},
                            SINGLE_DIMS[prof]))
    return arms


T1_SINGLE = Claim(
    id="T1-single", source="[DKLPS] Thm 1, ℓ=1", status=Status.THEOREM,
    statement="n ≍ d, one step: only v* is learned (s_2 of M decays like d^-1/2, s_1 Θ(1))",
    predict=lambda: one_step_prediction(SINGLE["target"], 1, False, SINGLE["activation"]),
    ladders=_ladders(lambda prof: [Variant("", {**SINGLE, "p": SINGLE_P[prof]}, SINGLE_DIMS[prof])]),
    evaluate=evaluate_rank,
    statistic="singular values s_k of M/√p (M = Ŵ W*ᵀ after one step) and s_min of the overlaps on U_1step",
    rule=f"s_k, k ≤ m = dim U_1step, and s_min on U_1step: {rules.theta1_text()}; s_{{m+1}}: "
         f"{rules.exponent_text(NOISE_EXPONENT)}",
    controls=(Alternative("every relevant direction learned (U_1step = U*_rel = span(e1, e2))", all_relevant_learned),))

T1_CURVE = Claim(
    id="T1-curve", source="THEORY §3.1", status=Status.THEOREM,
    statement="one-step overlap with v* against α = n/d matches the §3.1 formula",
    predict=lambda: curve_prediction(SINGLE["target"], SINGLE["activation"], LR0, CURVE_ALPHAS),
    ladders=_ladders(lambda prof: [Variant(f"alpha={a}", {**SINGLE, "n_scale": a, "p": CURVE_P[prof]},
                                           CURVE_DIMS[prof]) for a in CURVE_ALPHAS],
                     {"smoke": 2, "quick": 16, "full": 16}),
    evaluate=evaluate_curve,
    statistic="mean over the a=+1 neurons of ⟨ŵ_i, v*⟩, per α and d, Student CI over seeds",
    rule=f"at every d of the ladder every α's CI inside predicted ± {CURVE_TOL:g}/√d (Bonferroni over the (α, d) "
         f"cells; {rules.ladder_text()} per α)",
    controls=(Alternative(f"§3.1 at {CONTROL_BATCH:g}·α (the batch-noise term divided by {CONTROL_BATCH:g})",
                          larger_batch_curve),))

T1_SHORT = Claim(
    id="T1-short", source="[DKLPS] Thm 1", status=Status.THEOREM,
    statement="n ≍ d^(ℓ−δ) below the leap: overlap with U* → 0",
    predict=lambda: {"arms": {batch_arm(e): one_step_prediction(SHORT["target"], 1, False, SHORT["activation"])
                              for e in (1.0, SHORT_EXTRA_EXP)}},
    ladders=_ladders(_short_arms),
    evaluate=evaluate_learnability,
    statistic=f"s_max of the overlaps on U*_rel after one step, g = {SHORT['target'].replace('*', '·')} (ℓ1 = 2), "
              f"arms n ≍ d and n ≍ d^{SHORT_EXTRA_EXP:g}",
    rule=f"every arm: {rules.decay_text()} (→ 0); REFUTED if the CI is above that bound",
    controls=(Alternative("learned as at the leap: U_1step(2) = span(e1, e2) with n ≍ d and d^1.5", learned_at_leap),))

T1_SPEC = Claim(
    id="T1-spec", source="[DKLPS] Thm 1, ℓ=2", status=Status.THEOREM,
    statement="n ≍ d² with orders < 2 removed: rank M = dim range(C_2)",
    predict=lambda: one_step_prediction(SPEC["target"], 2, True, SPEC["activation"]),
    ladders=_ladders(lambda prof: [Variant("", {**SPEC, "p": SPEC_P}, SPEC_DIMS[prof])], SPEC_SEEDS),
    evaluate=evaluate_rank,
    statistic=f"singular values of M/√p and s_min of the overlaps on range C_2 after one step with n = d², labels "
              f"with orders < 2 removed exactly, p = {SPEC_P}",
    rule=f"s_1..s_m and s_min on range C_2: {rules.theta1_text()} (m = dim range C_2), s_{{m+1}} "
         f"{rules.exponent_text(NOISE_EXPONENT)}",
    controls=(Alternative("every relevant direction learned (rank M = dim U*_rel = 3)", all_relevant_learned),))

T1_HARD = Claim(
    id="T1-hard", source="[DKLPS] hard directions", status=Status.THEOREM,
    statement="a leap-3 target is not learned with n ≍ d², is with n ≍ d³",
    predict=lambda: {"arms": {batch_arm(ell): one_step_prediction(HARD["target"], ell, True, HARD["activation"])
                              for ell in (2, 3)}},
    ladders=_ladders(lambda prof: [Variant(batch_arm(2), {**HARD, "n_exp": 2.0, "ell": 2, "p": SPEC_P}, HARD_D2[prof]),
                                   Variant(batch_arm(3), {**HARD, "n_exp": 3.0, "ell": 3, "p": SPEC_P}, HARD_D3[prof],
                                           seeds=HARD_D3_SEEDS[prof])]),
    evaluate=evaluate_learnability,
    statistic=f"s_max (n ≍ d²) and s_min (n ≍ d³: all three directions) of the overlaps on U*_rel after one step, "
              f"g = x1x2x3 (leap 3), σ = {HARD_SIGMA}, orders < ℓ removed, p = {SPEC_P}",
    rule=f"{batch_arm(2)}: s_max {rules.decay_text()}; {batch_arm(3)}: s_3 {rules.theta1_text()}",
    controls=(Alternative("x1x2x3 already learned with n ≍ d² (as with n ≍ d³)", learned_one_order_early),))

CLAIMS = (T1_SINGLE, T1_CURVE, T1_SHORT, T1_SPEC, T1_HARD)

__all__ = ["CLAIMS", "T1_CURVE", "T1_HARD", "T1_SHORT", "T1_SINGLE", "T1_SPEC", "all_relevant_learned", "batch_arm",
           "evaluate_learnability", "evaluate_rank", "learned_at_leap", "learned_one_order_early",
           "one_step_prediction"]
