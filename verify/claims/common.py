"""Statistics on simulation records and the evaluators shared by several claims (THEORY.md §3, §5).

Records are the dicts ``sim`` stores: ``overlaps`` is the final ``M = Ŵ W*ᵀ``
(``p × r``, rows = neurons, the first half with ``a = +1``), ``per_step[t]``
holds ``overlaps`` and ``test_error`` after ``t`` giant steps. Teacher
directions are the first ``r`` axes, so a theory basis (``r × m``, orthonormal
columns) applies to the columns of ``M`` directly (§3 "Measured overlaps").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from verify import rules
from verify.claims.base import Evaluation, Plot, Record, RunSet
from verify.fits import SlopeFit, fit_loglog
from verify.rules import Decision

NOISE_EXPONENT = -0.5  # the d^{-1/2} law of what is not learned (init overlap, batch noise; §2.4, §3.1)


def overlaps(rec: Record, step: int | None = None) -> np.ndarray:
    """``M`` (neurons × r) after ``step`` giant steps (final when ``None``)."""
    M = rec["overlaps"] if step is None else rec["per_step"][step]["overlaps"]
    M = np.asarray(M, dtype=float)
    return M.reshape(M.shape[0], -1)


def singular_value(M: np.ndarray, k: int) -> float:
    """``k``-th (1-based) singular value of ``M/√(rows)``: an RMS overlap per learned direction."""
    s = np.linalg.svd(M / np.sqrt(M.shape[0]), compute_uv=False)
    return float(s[k - 1]) if k <= s.size else 0.0


def test_error(rec: Record, step: int | None = None) -> float:
    """Tuned-λ test error ``E(f* − f)²`` after ``step`` steps (final readout when ``None``)."""
    if step is None:
        return float(rec["test_error"])
    return float(rec["per_step"][step]["test_error"])


def series(fit: SlopeFit, label: str) -> dict[str, Any]:
    """Plot/JSON data of one log–log fit."""
    return {"label": label, **fit.to_dict()}


def fit_or_none(values: Mapping[int, Sequence[float]]) -> SlopeFit | None:
    """``fit_loglog`` when there are two dimensions with positive values, else ``None``."""
    vals = {d: v for d, v in values.items() if v and min(v) > 0}
    return fit_loglog(vals) if len(vals) >= 2 else None


def decide_fit(fit: SlopeFit | None, how: str, what: str, expected: float = NOISE_EXPONENT) -> Decision:
    """Apply ``rules.theta1`` / ``rules.decays`` / ``rules.exponent`` to a fit (INCONCLUSIVE when missing).

    Parameters
    ----------
    fit : SlopeFit or None
        A log–log fit (``None``: fewer than two dimensions measured).
    how : {"theta1", "decay", "exponent"}
        The rule: Θ(1), → 0, or ``≍ d^expected``.
    what : str
        Name of the statistic, for the reason.
    expected : float
        The exponent of the ``"exponent"`` rule.

    Returns
    -------
    Decision
    """
    if fit is None:
        return Decision(rules.INCONCLUSIVE, f"{what}: fewer than two dimensions measured")
    if how == "theta1":
        return rules.theta1(fit, what=what)
    if how == "decay":
        return rules.decays(fit, what=what)
    if how == "exponent":
        return rules.exponent(fit, expected, what=what)
    raise ValueError(f"unknown fit rule {how!r}; use theta1, decay or exponent")


def fit_part(label: str, how: str, values: Mapping[int, Sequence[float]], expected: float = NOISE_EXPONENT,
             what: str | None = None, missing: str | None = None) -> tuple[Decision, SlopeFit | None, dict[str, Any]]:
    """Fit one scaling statement and decide it: ``(decision, fit, JSON entry)``.

    Parameters
    ----------
    label : str
        The statement's name (``"s_2"``, ``"far mass"``).
    how : {"theta1", "decay", "exponent"}
        The rule (:func:`decide_fit`).
    values : mapping int → sequence of float
        ``{x: [value per seed]}``; ``x`` is ``d`` (or ``λ0/λ`` for [ZG]).
    expected : float
        The exponent of the ``"exponent"`` rule.
    what : str, optional
        The statistic's name in the reason (default ``label``).
    missing : str, optional
        The reason when fewer than two ``x`` have positive values (default: :func:`decide_fit`'s).

    Returns
    -------
    decision : Decision
    fit : SlopeFit or None
    entry : dict
        ``rule``, ``verdict``, ``reason``, ``fit`` (``SlopeFit.to_dict()`` or ``None``) and ``values``.
    """
    fit = fit_or_none(values)
    if fit is None and missing is not None:
        dec = Decision(rules.INCONCLUSIVE, missing)
    else:
        dec = decide_fit(fit, how, label if what is None else what, expected)
    entry = {"rule": how, "verdict": dec.verdict, "reason": dec.reason, "fit": fit.to_dict() if fit else None,
             "values": {str(x): list(v) for x, v in values.items()}}
    return dec, fit, entry


def scaling_evaluation(parts: Sequence[tuple[str, str, Mapping[int, Sequence[float]]]], predicted: str,
                       title: str, expected: float = NOISE_EXPONENT) -> Evaluation:
    """Decide a list of ``(label, rule, {d: values})`` scaling statements and plot them together.

    Parameters
    ----------
    parts : sequence of (label, rule, values)
        ``rule`` is ``"theta1"`` (Θ(1)), ``"decay"`` (→ 0) or ``"exponent"`` (``≍ d^expected``);
        ``values`` is ``{d: [value per seed]}``.
    predicted : str
        What theory predicts, in words (the report's "predicted").
    title : str
        Title of the ``loglog`` plot of every fitted part.
    expected : float
        The exponent of the ``"exponent"`` parts.

    Returns
    -------
    Evaluation
        ``rules.combine`` of the parts; ``numbers[label]`` is each part's :func:`fit_part` entry.
    """
    decisions, plotted, numbers, measured = [], [], {}, []
    for label, how, values in parts:
        dec, fit, numbers[label] = fit_part(label, how, values, expected)
        decisions.append(dec)
        if fit is not None:
            plotted.append(series(fit, label))
            measured.append(f"{label}: d^{fit.slope:+.2f} [{fit.ci[0]:+.2f}, {fit.ci[1]:+.2f}]")
        else:
            measured.append(f"{label}: not measured")
    return Evaluation(rules.combine(decisions), predicted, "; ".join(measured), numbers,
                      (Plot("loglog", title, {"series": plotted, "expected": expected}),))


__all__ = ["NOISE_EXPONENT", "decide_fit", "fit_or_none", "fit_part",
           "overlaps", "scaling_evaluation", "series", "singular_value", "test_error"]
