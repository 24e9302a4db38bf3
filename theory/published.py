"""Published ``d → ∞`` curves that a claim compares with: [DTAPZK]'s DMFT overlaps (THEORY.md §3.5, BR-dmft).

The numbers are read from the authors' public repository ``IdePHICS/benefit-reusing-batch`` (commit
``5469d413fee4ac63be4dc872e95efbd4a4370152``, 2024-02-06; files ``data/DMFT_A3_T7_P2_sym=TEST_lambda0.0_lr0.2_
samples10000000.npz`` and ``data/simulations_A3_p2_k2_D5000_T7_sym=offline_learn_lambda0.0_lr0.2_onlineFalse.npz``,
the two files their ``result.ipynb`` plots) and stored, with that provenance, in ``theory/reference/
dtapzk_dmft.json``; no code is copied. Protocol (``dtapzk-reuse``, §3.5): ``g = tanh(z1 + He3(z2))``,
``α = n/D = 3``, ``lr = 0.2``, ``T = 7`` points (steps 0…6), ``p = 2`` relu neurons with ``a = (1, −1)/√2``,
one batch reused at every step, loss ``½Σ_ν`` (a sum), no weight decay, initial overlap 0.

Units: ``m[t, i, k] = ⟨w_i^t, w*_k⟩ / D`` with teacher rows of norm ``√D`` and student rows of initial norm
``√D`` (so ``m`` is a cosine at ``t = 0`` and a scaled overlap after; the students' norms grow,
``q[t, i, i] = ‖w_i^t‖²/D`` of the simulation). Neuron ``i = 0`` has ``a = +1/√2``, ``i = 1`` has ``a = −1/√2``;
direction ``k = 0`` is ``z1`` (the linear argument), ``k = 1`` is ``z2`` (the ``He3`` argument).

Check (tests): the first DMFT step equals the closed form ``m[1, i] = lr·a_i·α·E[relu'(u)]·C_1(g) =
lr·a_i·α·C_1/2`` (the step from zero overlap sees ``h ⊥ z``), ``C_1`` computed by ``theory`` — within the
DMFT's own Monte-Carlo error (10⁷ samples).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np

from theory.validate import Options, check_scalar

DTAPZK_FILE = Path(__file__).parent / "reference" / "dtapzk_dmft.json"


class Source(StrEnum):
    """Which of the published curves: the DMFT solution or the authors' finite-``D`` simulation mean."""

    DMFT = "dmft"
    SIM = "sim"


@dataclass(frozen=True)
class DmftCurve:
    """[DTAPZK]'s DMFT overlaps per step and the authors' own finite-``D`` simulation (module docstring).

    ``dmft[t, i, k]`` and ``sim_mean[t, i, k]`` (± ``sim_se``, over ``sim_seeds`` seeds at ``D = sim_D``) are
    ``⟨w_i^t, w*_k⟩/D`` after ``t = steps[t]`` reused full-batch steps. ``a`` are the second-layer weights,
    ``protocol`` and ``provenance`` the stored descriptions (repository, commit, file, array).
    """

    steps: tuple[int, ...]
    dmft: np.ndarray
    sim_mean: np.ndarray
    sim_se: np.ndarray
    sim_D: int
    sim_seeds: int
    a: tuple[float, ...]
    protocol: dict
    provenance: dict

    def projected(self, direction: object, source: Source = Source.DMFT) -> np.ndarray:
        """``Σ_k m[t, i, k] u_k`` for a direction ``u`` of the teacher plane (e.g. ``v* = C1/‖C1‖``), shape
        ``(steps, neurons)``; ``source`` is ``"dmft"`` or ``"sim"`` (the simulation's mean)."""
        u = np.asarray(direction, dtype=float).reshape(-1)
        if u.shape != (self.dmft.shape[2],) or not np.all(np.isfinite(u)):
            raise ValueError(f"direction must be {self.dmft.shape[2]} finite numbers; got {direction!r}")
        source = check_scalar(source, "source", Options(tuple(Source)))
        return (self.dmft if source is Source.DMFT else self.sim_mean) @ u

    def __str__(self) -> str:
        rows = [f"[DTAPZK] DMFT, {self.protocol['target']}, α = {self.protocol['alpha']}, lr = {self.protocol['lr']}, "
                f"p = {self.protocol['p']} (a = ±1/√2); m[t, i, k] = ⟨w_i, w*_k⟩/D; "
                f"{self.provenance['repository']} @ {self.provenance['commit'][:10]}"]
        for t in self.steps:
            rows.append(f"  t = {t}: " + "; ".join(
                f"neuron {i}: ({self.dmft[t, i, 0]:+.5f}, {self.dmft[t, i, 1]:+.5f})" for i in range(self.dmft.shape[1])))
        return "\n".join(rows)


def dtapzk_dmft_curve() -> DmftCurve:
    """[DTAPZK]'s published DMFT overlap curves for their ``simulation.py`` experiment (THEORY.md §3.5).

    Returns
    -------
    DmftCurve
        ``dmft`` of shape ``(7, 2, 2)`` (steps 0…6 × neurons × teacher directions), the authors' simulation mean
        and standard error at ``D = 5000`` (32 seeds), and the provenance (repository, commit, files).

    >>> c = dtapzk_dmft_curve()
    >>> c.dmft.shape, c.steps[-1], round(float(c.dmft[1, 0, 0]), 4)
    ((7, 2, 2), 6, 0.0758)
    """
    raw = json.loads(DTAPZK_FILE.read_text())
    sim = raw["simulation"]
    return DmftCurve(tuple(raw["steps"]), np.array(raw["dmft_m"], dtype=float), np.array(sim["m_mean"], dtype=float),
                     np.array(sim["m_standard_error"], dtype=float), int(sim["D"]), int(sim["seeds"]),
                     tuple(raw["protocol"]["a"]), raw["protocol"], raw["provenance"])


__all__ = ["DTAPZK_FILE", "DmftCurve", "Source", "dtapzk_dmft_curve"]
