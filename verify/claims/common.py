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

RANK_TOL = 1e-9


def as_basis(mat: object, r: int) -> np.ndarray:
    """A theory subspace (sympy Matrix / numpy / nested list, ``r × m``) as a float ``r × m`` array."""
    if mat is None:
        return np.zeros((r, 0))
    arr = np.array(np.asarray(mat.tolist() if hasattr(mat, "tolist") else mat, dtype=object), dtype=float)
    if arr.size == 0:
        return np.zeros((r, 0))
    return arr.reshape(r, -1)


def orthonormal(vectors: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the column span of ``vectors`` (SVD, relative rank tolerance ``RANK_TOL``)."""
    if vectors.size == 0:
        return np.zeros((vectors.shape[0], 0))
    u, s, _ = np.linalg.svd(vectors, full_matrices=False)
    keep = s > RANK_TOL * max(float(s.max()), 1.0)
    return u[:, keep]


def complement(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """Basis of ``outer ⊖ inner``: ``outer`` projected on the orthogonal complement of ``inner``."""
    P = np.eye(outer.shape[0]) - inner @ inner.T
    return orthonormal(P @ outer)


def overlaps(rec: Record, step: int | None = None) -> np.ndarray:
    """``M`` (neurons × r) after ``step`` giant steps (final when ``None``)."""
    M = rec["overlaps"] if step is None else rec["per_step"][step]["overlaps"]
    M = np.asarray(M, dtype=float)
    return M.reshape(M.shape[0], -1)


def subspace_overlap(M: np.ndarray, basis: np.ndarray) -> float:
    """Mean over neurons of ``‖P_V M_i‖`` for ``V`` with orthonormal ``basis`` (``r × m``), §3."""
    if basis.shape[1] == 0:
        return 0.0
    return float(np.linalg.norm(M @ basis, axis=1).mean())


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


def decide_fit(fit: SlopeFit | None, how: str, what: str, expected: float = -0.5) -> Decision:
    """Apply ``rules.theta1`` / ``rules.decays`` / ``rules.exponent`` to a fit (INCONCLUSIVE when missing)."""
    if fit is None:
        return Decision(rules.INCONCLUSIVE, f"{what}: fewer than two dimensions measured")
    if how == "theta1":
        return rules.theta1(fit, what=what)
    if how == "decay":
        return rules.decays(fit, what=what)
    if how == "exponent":
        return rules.exponent(fit, expected, what=what)
    raise ValueError(f"unknown fit rule {how!r}")


def scaling_evaluation(parts: Sequence[tuple[str, str, Mapping[int, Sequence[float]]]], predicted: str,
                       title: str, expected: float = -0.5) -> Evaluation:
    """Decide a list of ``(label, rule, {d: values})`` scaling statements and plot them together.

    ``rule`` is ``"theta1"`` (Θ(1)), ``"decay"`` (→ 0) or ``"exponent"`` (``≍ d^expected``).
    """
    decisions, plotted, numbers, measured = [], [], {}, []
    for label, how, values in parts:
        fit = fit_or_none(values)
        dec = decide_fit(fit, how, label, expected)
        decisions.append(dec)
        numbers[label] = {"rule": how, "verdict": dec.verdict, "reason": dec.reason,
                          "fit": fit.to_dict() if fit else None,
                          "values": {str(d): list(v) for d, v in values.items()}}
        if fit is not None:
            plotted.append(series(fit, label))
            measured.append(f"{label}: d^{fit.slope:+.2f} [{fit.ci[0]:+.2f}, {fit.ci[1]:+.2f}]")
        else:
            measured.append(f"{label}: not measured")
    return Evaluation(rules.combine(decisions), predicted, "; ".join(measured), numbers,
                      (Plot("loglog", title, {"series": plotted, "expected": expected}),))


def empty_runs(runs: RunSet) -> bool:
    return not any(recs for v in runs.runs.values() for recs in v.values())


__all__ = ["as_basis", "complement", "decide_fit", "empty_runs", "fit_or_none", "orthonormal", "overlaps",
           "scaling_evaluation", "series", "singular_value", "subspace_overlap", "test_error"]
