"""Statistics on simulation records and the evaluators shared by several claims (THEORY.md §3, §5).

Records are giant-step ``RunRecord`` s (``sim.giant_step.record``): ``rec.overlaps``
is the final ``M = Ŵ W*ᵀ`` (``p × r``, rows = neurons, the first half with
``a = +1``), ``rec.per_step[t]`` holds ``overlaps`` and ``test_error`` after ``t``
giant steps. Teacher
directions are the first ``r`` axes, so a theory basis (``r × m``, orthonormal
columns) applies to the columns of ``M`` directly (§3 "Measured overlaps").

**Statistics that match the statement (THEORY §5.1).** A space ``V`` of
dimension ``m`` is measured by the singular values ``s_1 ≥ … ≥ s_m`` of
``M B_V/√p`` (``B_V`` an orthonormal basis): "all of ``V`` is learned" is
decided on the weakest, ``s_m`` (:func:`weakest`) — a mean norm
``mean ‖P_V M_i‖`` is Θ(1) as soon as *one* direction of ``V`` is learned and
would confirm a false "all of ``V``" — and "nothing of ``V`` is learned" on the
strongest, ``s_1`` (:func:`strongest`). For ``m = 1`` both are the RMS overlap
with the direction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.giant_step.record import RunRecord
from verify import rules
from verify.claims.base import Arm, Evaluation, FigureKind, Plot, RunSet
from verify.fits import SlopeFit, fit_loglog
from verify.rules import Decision, Law

NOISE_EXPONENT = -0.5  # the d^{-1/2} law of what is not learned (init overlap, batch noise; §2.4, §3.1)


def overlaps(rec: RunRecord, step: int | None = None) -> np.ndarray:
    """``M`` (neurons × r) after ``step`` giant steps (final when ``None``)."""
    M = rec.overlaps if step is None else rec.per_step[step].overlaps
    M = np.asarray(M, dtype=float)
    return M.reshape(M.shape[0], -1)


def singular_value(M: np.ndarray, k: int) -> float:
    """``k``-th (1-based) singular value of ``M/√(rows)``: an RMS overlap per learned direction."""
    s = np.linalg.svd(M / np.sqrt(M.shape[0]), compute_uv=False)
    return float(s[k - 1]) if k <= s.size else 0.0


def space_singular_values(M: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Singular values (descending) of ``M B/√p``: the RMS overlap of the neurons with each direction of the
    space spanned by the orthonormal columns of ``B`` (``r × m``; empty for ``m = 0``)."""
    if B.shape[1] == 0:
        return np.zeros(0)
    return np.linalg.svd(M @ B / np.sqrt(M.shape[0]), compute_uv=False)


def weakest(M: np.ndarray, B: np.ndarray) -> float:
    """``s_m`` of :func:`space_singular_values`: Θ(1) only when *every* direction of the space is learned."""
    s = space_singular_values(M, B)
    return float(s[-1]) if s.size else 0.0


def strongest(M: np.ndarray, B: np.ndarray) -> float:
    """``s_1`` of :func:`space_singular_values`: → 0 only when *no* direction of the space is learned."""
    s = space_singular_values(M, B)
    return float(s[0]) if s.size else 0.0


def space_statistic(how: Law) -> Callable[[np.ndarray, np.ndarray], float]:
    """The statistic that matches a law on a space (module docstring): :func:`weakest` for Θ(1), :func:`strongest`
    for → 0 and ``≍ d^{-1/2}``."""
    return weakest if how == Law.THETA1 else strongest


def space_values(runs: RunSet, arm: str, B: np.ndarray, how: Law, step: int | None = None
                 ) -> dict[int, list[float]]:
    """``{d: [statistic per seed]}`` of the space ``B`` after ``step`` steps (final when ``None``) for rule ``how``."""
    stat = space_statistic(how)
    return runs.values(arm, lambda rec: stat(overlaps(rec, step), B))


def test_error(rec: RunRecord, step: int | None = None) -> float:
    """Tuned-λ test error ``E(f* − f)²`` after ``step`` steps (final readout when ``None``)."""
    return float(rec.test_error if step is None else rec.per_step[step].test_error)


def series(fit: SlopeFit, label: str) -> dict[str, Any]:
    """Plot/JSON data of one log–log fit."""
    return {"label": label, **fit.to_dict()}


def fit_or_none(values: Mapping[int, Sequence[float]]) -> SlopeFit | None:
    """``fit_loglog`` when there are two dimensions with positive values, else ``None``."""
    vals = {d: v for d, v in values.items() if v and min(v) > 0}
    return fit_loglog(vals) if len(vals) >= 2 else None


def decide_fit(fit: SlopeFit | None, how: Law, what: str, expected: float = NOISE_EXPONENT) -> Decision:
    """``how.decide`` on a fit (``rules.Law``: Θ(1), → 0 or ``≍ d^expected``); INCONCLUSIVE when it is missing.

    Parameters
    ----------
    fit : SlopeFit or None
        A log–log fit (``None``: fewer than two dimensions measured).
    how : Law
        The law the statement predicts.
    what : str
        Name of the statistic, for the reason.
    expected : float
        The exponent of ``Law.EXPONENT``.

    Returns
    -------
    Decision
    """
    if fit is None:
        return Decision(rules.INCONCLUSIVE, f"{what}: fewer than two dimensions measured")
    return Law(how).decide(fit, what, expected)


def fit_part(label: str, how: Law, values: Mapping[int, Sequence[float]], expected: float = NOISE_EXPONENT,
             what: str | None = None, missing: str | None = None) -> tuple[Decision, SlopeFit | None, dict[str, Any]]:
    """Fit one scaling statement and decide it: ``(decision, fit, JSON entry)``.

    Parameters
    ----------
    label : str
        The statement's name (``"s_2"``, ``"far mass"``).
    how : Law
        The law (:func:`decide_fit`).
    values : mapping int → sequence of float
        ``{x: [value per seed]}``; ``x`` is ``d`` (or ``λ0/λ`` for [ZG]).
    expected : float
        The exponent of ``Law.EXPONENT``.
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


def learned_parts(learned: np.ndarray, relevant: np.ndarray, runs: RunSet, arm: str, name: str,
                  rest: Law = Law.DECAY) -> list["Part"]:
    """The two statements of "``learned`` is learned, the rest of ``relevant`` is not" for one arm: ``s_min`` on
    ``learned`` Θ(1), ``s_max`` on ``relevant ⊖ learned`` by ``rest`` (module docstring); ``name`` labels the space."""
    from theory.subspace import complement_in

    parts = []
    if learned.shape[1]:
        parts.append(Part(f"{arm}: s_min on {name}", Law.THETA1, space_values(runs, arm, learned, Law.THETA1), arm))
    other = complement_in(relevant, learned)
    if other.shape[1]:
        parts.append(Part(f"{arm}: s_max on U*_rel ⊖ {name}", rest, space_values(runs, arm, other, rest), arm))
    return parts


@dataclass(frozen=True)
class Part:
    """One scaling statement of a claim: ``values`` (``{d: [value per seed]}``) decided by ``rule``.

    Parameters
    ----------
    label : str
        The statement's name (``"s_2"``, ``"t=2: U^2⊖U^1"``).
    rule : Law
        Θ(1), → 0, or ``≍ d^expected`` (:func:`decide_fit`).
    values : mapping int → list of float
        Per ``d`` the statistic of each seed.
    arm : str
        The prediction's arm the part belongs to (``""``: the claim has one).
    """

    label: str
    rule: Law
    values: Mapping[int, Sequence[float]]
    arm: str = ""


NO_RUNS = "no runs in this profile"


def arm_decisions(parts: Sequence[tuple[Part, Decision]], arms: Sequence[str]) -> tuple[Arm, ...]:
    """Every arm of a prediction with its decision (THEORY §5.1): the ``rules.combine`` of its parts, or
    INCONCLUSIVE ``NO_RUNS`` for an arm with no measured part — an arm is never dropped silently."""
    out = []
    for arm in arms:
        mine = [dec for part, dec in parts if part.arm == arm]
        measured = any(part.values for part, _ in parts if part.arm == arm)
        out.append(Arm(arm, rules.combine(mine) if measured else Decision(rules.INCONCLUSIVE, f"{arm}: {NO_RUNS}")))
    return tuple(out)


def scaling_evaluation(parts: Sequence[Part], predicted: str, title: str, expected: float = NOISE_EXPONENT,
                       arms: Sequence[str] = ("",)) -> Evaluation:
    """Decide a list of scaling statements, per arm, and plot them together.

    Parameters
    ----------
    parts : sequence of Part
        The statements (each with its arm).
    predicted : str
        What theory predicts, in words (the report's "predicted").
    title : str
        Title of the ``loglog`` plot of every fitted part.
    expected : float
        The exponent of the ``Law.EXPONENT`` parts.
    arms : sequence of str
        Every arm of the prediction; an arm without a measured part is INCONCLUSIVE (:func:`arm_decisions`).

    Returns
    -------
    Evaluation
        ``rules.combine`` of the arms; ``numbers[label]`` is each part's :func:`fit_part` entry; ``arms`` the
        per-arm decisions.
    """
    decided, plotted, numbers, measured = [], [], {}, []
    for part in parts:
        dec, fit, numbers[part.label] = fit_part(part.label, part.rule, part.values, expected)
        decided.append((part, dec))
        if fit is not None:
            plotted.append(series(fit, part.label))
            measured.append(f"{part.label}: d^{fit.slope:+.2f} [{fit.ci[0]:+.2f}, {fit.ci[1]:+.2f}]")
        else:
            measured.append(f"{part.label}: not measured")
    arm_list = arm_decisions(decided, list(dict.fromkeys([*arms, *(p.arm for p in parts)])))
    decision = rules.combine([a.decision for a in arm_list])
    return Evaluation(decision, predicted, "; ".join(measured), numbers,
                      (Plot(FigureKind.LOGLOG, title, {"series": plotted, "expected": expected}),),
                      arms=arm_list if len(arm_list) > 1 or arm_list[0].name else ())


__all__ = ["NOISE_EXPONENT", "NO_RUNS", "Part", "arm_decisions", "decide_fit", "fit_or_none", "fit_part",
           "overlaps", "scaling_evaluation", "series", "singular_value", "space_singular_values", "space_statistic",
           "space_values", "strongest", "test_error", "weakest"]
