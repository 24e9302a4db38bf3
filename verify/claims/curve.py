"""T1-curve ([DKLPS] Theorem 1 at ``n ≍ d``, THEORY.md §3.1, §5.1): the one-step overlap ``⟨ŵ, v*⟩`` of the
``a_i = +1`` neurons against ``α = n/d``, decided from its deviation at every ``d`` of the ladder.

One function per part: the prediction from ``theory`` (:func:`curve_prediction`), the statistic per
``(α, d)`` cell (:func:`curve_table`), the decisions (``_curve_decisions`` per ``α``, ``_curve_verdict``
overall), the report's text (``_curve_texts``) and the figure (``_curve_plot``); :func:`evaluate_curve` puts
them together. The claim and its ladder are in ``verify.claims.one_step``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from theory.overlap import OneStepOverlap
from verify import rules
from verify.claims.base import Arm, Evaluation, FigureKind, Plot, RunSet
from verify.claims.common import overlaps
from verify.fits import mean_ci
from verify.rules import Decision

CURVE_TOL = 1.0      # T1-curve tolerance tol(d) = CURVE_TOL / √d
CURVE_RESOLUTION = 0.15  # tol(d_max) must be ≤ this fraction of the smallest predicted overlap
FAMILY_ERROR = 0.05  # T1-curve: family-wise error rate over the (α, d) cells (Bonferroni)
CONTROL_BATCH = 2.0  # T1-curve's control: the §3.1 formula at CONTROL_BATCH·α (batch noise term divided by it)
CurveTable = Mapping[str, Mapping[int, Mapping[str, float]]]  # curve_table: α → d → mean, CI, tol, deviation


def curve_prediction(target: str, act: str, lr0: float, alphas: tuple[float, ...], noise: float = 0.0
                     ) -> dict[str, Any]:
    """T1-curve's prediction: §3.1's overlap ``⟨ŵ, v*⟩`` of an ``a_i = +1`` neuron at each ``α`` (from ``theory``).

    Parameters
    ----------
    target, act : str
        ``g*`` and ``σ``.
    lr0 : float
        The per-neuron step ``η̃`` (``n ≍ d``, so ``η̃ = lr0``).
    alphas : tuple of float
        The ratios ``α = n/d`` of the ladder's arms.
    noise : float
        Label-noise variance ``Δ``.

    Returns
    -------
    dict
        ``overlap`` (``{str(α): float}``), ``v_star`` (length ``r``), ``one_step`` (the §3.1 ingredients,
        ``theory.overlap.OneStepOverlap.to_dict()``) and ``_one_step`` (the object itself, for the figure).
    """
    ov = OneStepOverlap.of(target, act, lr0, noise)
    return {"target": target, "activation": act, "one_step": ov.to_dict(), "_one_step": ov,
            "v_star": [float(v) for v in ov.v_star], "overlap": {str(a): float(ov.value(a)) for a in alphas}}


def _curve_stat(v: np.ndarray) -> Any:
    """Mean over the ``a = +1`` neurons (the first half) of ``⟨ŵ_i, v*⟩``, per record."""
    def stat(rec: Any) -> float:
        M = overlaps(rec)
        return float((M[: M.shape[0] // 2] @ v).mean())
    return stat


def curve_table(pred: Mapping[str, Any], runs: RunSet) -> dict[str, dict[int, dict[str, float]]]:
    """Per arm ``α`` and ``d``: mean, Student CI at the Bonferroni level over every ``(α, d)`` cell, seeds, the
    tolerance ``tol(d) = CURVE_TOL/√d`` and the deviation from §3.1."""
    stat = _curve_stat(np.array(pred["v_star"], dtype=float))
    values = {a: runs.values(f"alpha={a}", stat) for a in pred["overlap"]}
    level = 1 - FAMILY_ERROR / max(sum(len(v) for v in values.values()), 1)
    table: dict[str, dict[int, dict[str, float]]] = {}
    for a, vals in values.items():
        table[a] = {}
        for d, xs in vals.items():
            ci = mean_ci(xs, level)
            table[a][d] = {"mean": ci.mean, "lo": ci.lo, "hi": ci.hi, "seeds": ci.n, "level": level,
                           "tol": CURVE_TOL / math.sqrt(d), "deviation": ci.mean - pred["overlap"][a]}
    return table


def _curve_decisions(pred: Mapping[str, Any], table: CurveTable) -> tuple[Arm, ...]:
    """Per ``α``: the ladder rule (every statistic, THEORY §5.1) and every ``d``'s CI inside ``predicted ± tol(d)``."""
    arms = []
    for a, rows in table.items():
        name = f"alpha={a}"
        if not rows:
            arms.append(Arm(name, Decision(rules.INCONCLUSIVE, f"{name}: no runs in this profile")))
            continue
        short = rules.check_points(list(rows), [r["seeds"] for r in rows.values()])
        cells = [rules.value((r["lo"], r["hi"]), pred["overlap"][a], r["tol"], f"α={a} at d={d}")
                 for d, r in sorted(rows.items())]
        arms.append(Arm(name, rules.combine(([short] if short else []) + cells)))
    return tuple(arms)


def evaluate_curve(pred: Mapping[str, Any], runs: RunSet) -> Evaluation:
    """T1-curve (§3.1): the ``a = +1`` neurons' mean overlap with ``v*`` against the formula, per ``α``, across the
    whole ladder (THEORY §5.1: a value claim is decided from its deviation at every ``d``, not at ``d_max``).

    Every ``(α, d)`` cell's Student interval over seeds (Bonferroni level ``1 − FAMILY_ERROR/#cells``) must lie
    inside ``prediction ± tol(d)``, ``tol(d) = CURVE_TOL/√d`` (finite-``d`` corrections are ``O(n^{-1/2})``,
    §3.1, so the tolerance shrinks like the deviation it allows); each ``α`` needs the ladder rule (≥ 3
    dimensions, ``d_max/d_min ≥ 4``, ≥ 3 seeds). CONFIRMED when every cell is inside (and ``tol(d_max)`` is at
    most ``CURVE_RESOLUTION`` of the smallest prediction), REFUTED when one cell lies wholly outside, else
    INCONCLUSIVE.

    Parameters
    ----------
    pred : mapping
        :func:`curve_prediction` (``overlap`` per ``α``, ``v_star``, ``one_step``).
    runs : RunSet
        Records of the arms ``"alpha=<α>"`` (first ``p/2`` neurons ``a = +1``).

    Returns
    -------
    Evaluation
    """
    table = curve_table(pred, runs)
    arms = _curve_decisions(pred, table)
    predicted, measured = _curve_texts(pred, table)
    numbers = {"tol_constant": CURVE_TOL, "table": {a: {str(d): r for d, r in rows.items()} for a, rows in table.items()}}
    return Evaluation(_curve_verdict(pred, table, arms), predicted, measured, numbers,
                      (_curve_plot(pred, numbers["table"]),), arms=arms)


def _curve_verdict(pred: Mapping[str, Any], table: CurveTable, arms: tuple[Arm, ...]) -> Decision:
    """T1-curve's decision: every ``α``'s arm combined, INCONCLUSIVE when ``tol(d_max)`` is coarser than
    ``CURVE_RESOLUTION`` of the smallest prediction or when nothing ran."""
    dims = sorted({d for rows in table.values() for d in rows})
    if not dims:
        return Decision(rules.INCONCLUSIVE, "no runs")
    decisions = [arm.decision for arm in arms]
    if CURVE_TOL / math.sqrt(dims[-1]) > CURVE_RESOLUTION * min(pred["overlap"].values()):
        decisions.append(Decision(rules.INCONCLUSIVE, f"tol(d_max) = {CURVE_TOL / math.sqrt(dims[-1]):.3f} too "
                                                      "coarse for the predicted overlaps"))
    return rules.combine(decisions)


def _curve_texts(pred: Mapping[str, Any], table: CurveTable) -> tuple[str, str]:
    """The report's predicted and measured summaries: the §3.1 value per ``α``; the mean per ``α`` at
    ``d_max`` and the cell farthest from the prediction in units of its ``tol(d)``."""
    alphas, dims = sorted(pred["overlap"], key=float), sorted({d for rows in table.values() for d in rows})
    predicted = "; ".join(f"α={a}: {pred['overlap'][a]:.4f}" for a in alphas)
    measured = "; ".join(f"α={a}: {table[a][dims[-1]]['mean']:.4f}" for a in alphas if dims and dims[-1] in table[a])
    cells = [(a, d, r) for a in alphas for d, r in table[a].items()]
    worst = max(cells, key=lambda c: abs(c[2]["deviation"]) / c[2]["tol"], default=None)
    if worst is not None:
        a, d, r = worst
        measured += (f" (d={dims[-1]}); largest |measured − predicted|/tol(d) over the ladder {dims}: "
                     f"{abs(r['deviation']) / r['tol']:.2f} at α={a}, d={d} (|deviation| {abs(r['deviation']):.4f}, "
                     f"measured {'above' if r['deviation'] > 0 else 'below'})")
    return predicted, measured or "not measured"


def _curve_plot(pred: Mapping[str, Any], measured: Mapping[str, Any]) -> Plot:
    """The ``curve`` figure: the §3.1 formula (``pred["_one_step"]``) and the measured table (JSON keys)."""
    return Plot(FigureKind.CURVE, "one-step overlap with v* against α = n/d (§3.1)",
                {"predicted": {a: pred["overlap"][a] for a in sorted(pred["overlap"], key=float)}, "measured": measured,
                 "formula": pred["one_step"], "_formula": pred["_one_step"]})


def larger_batch_curve(pred: Mapping[str, Any]) -> dict[str, Any]:
    """Control of T1-curve (a wrong value): §3.1 evaluated at ``CONTROL_BATCH·α`` — the batch-noise term of the
    formula divided by ``CONTROL_BATCH`` (from ``theory.overlap.OneStepOverlap``)."""
    ov = pred["_one_step"]
    return {**pred, "overlap": {a: float(ov.value(CONTROL_BATCH * float(a))) for a in pred["overlap"]}}


__all__ = ["CONTROL_BATCH", "CURVE_RESOLUTION", "CURVE_TOL", "FAMILY_ERROR", "CurveTable", "curve_prediction",
           "curve_table", "evaluate_curve", "larger_batch_curve"]
