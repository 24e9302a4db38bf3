"""[ZG] measurements (THEORY.md §4): per-neuron snapshots, masses near and far from the teachers, and the
trajectory of stage 3.

With ``mass_i = |a_i|‖w_i‖`` and the angle of neuron ``i`` to teacher ``j`` ``∠(w_i, w*_j)`` (for the even
``relu[2:]``: to ``±w*_j``): per teacher the mass near it (neurons whose nearest teacher is ``j`` at angle
≤ ``near_angle``) against ``|a*_j|``, and the signed sum ``Σ a_i‖w_i‖`` of those neurons against ``a*_j``;
the *far mass* (angle > ``near_angle`` to every teacher); the mass-weighted mean angle to the nearest
teacher (all neurons, and near neurons only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from sim.zhou_ge.loss import unit_rows
from sim.zhou_ge.record import TRAJECTORY, SnapshotRecord, Trajectory
from sim.zhou_ge.teacher import Teacher


@dataclass(frozen=True)
class Snapshot:
    """Per-neuron state: angle to the nearest teacher (rad), index of that teacher, ``‖w_i‖``, ``a_i``."""

    angle: np.ndarray
    nearest: np.ndarray
    norm: np.ndarray
    a: np.ndarray

    def to_record(self) -> SnapshotRecord:
        """As plain lists: the snapshot the run record keeps (``sim.zhou_ge.record``)."""
        return SnapshotRecord(self.angle.tolist(), self.nearest.tolist(), self.norm.tolist(), self.a.tolist())

    @classmethod
    def from_record(cls, rec: SnapshotRecord) -> Snapshot:
        """Inverse of ``to_record``."""
        return cls(np.asarray(rec.angle, dtype=float), np.asarray(rec.nearest, dtype=int),
                   np.asarray(rec.norm, dtype=float), np.asarray(rec.a, dtype=float))


def snapshot(a: torch.Tensor, W: torch.Tensor, teacher: Teacher, even: bool) -> Snapshot:
    """The ``Snapshot`` of a student ``(a (m,), W (m, d))``; ``even``: ``w`` and ``−w`` are the same neuron."""
    nw, U = unit_rows(W)
    _, Us = unit_rows(teacher.W_star)
    C = U @ Us.T
    if even:
        C = C.abs()
    best, idx = C.max(dim=1)
    ang = torch.acos(best.clamp(-1.0, 1.0))
    return Snapshot(ang.double().cpu().numpy(), idx.cpu().numpy(), nw.double().cpu().numpy(),
                    a.double().cpu().numpy())


def mass_summary(snap: Snapshot, m_star: int, near_angle: float) -> dict[str, Any]:
    """Far mass, mass and signed mass near each teacher, weighted mean angles (THEORY §4 measurements).

    A mean angle over no mass (every ``|a_i|‖w_i‖ = 0``, or no neuron near any teacher) is undefined and
    given as ``None``, so that a record holds finite numbers only (``sim.store`` refuses NaN).
    """
    mass = np.abs(snap.a) * snap.norm
    near = snap.angle <= near_angle
    near_mass = np.bincount(snap.nearest[near], weights=mass[near], minlength=m_star)
    signed = np.bincount(snap.nearest[near], weights=(snap.a * snap.norm)[near], minlength=m_star)
    total = float(mass.sum())
    mean_angle = float((mass * snap.angle).sum() / total) if total > 0 else None  # undefined without mass
    nm = float(mass[near].sum())
    near_mean = float((mass[near] * snap.angle[near]).sum() / nm) if nm > 0 else None
    return {"far_mass": float(mass[~near].sum()), "near_mass": near_mass.tolist(), "signed_near_mass": signed.tolist(),
            "total_mass": total, "mean_angle": mean_angle, "near_mean_angle": near_mean,
            "n_far": int((~near & (mass > 0)).sum())}


def trajectory(rows: list[dict[str, Any]]) -> Trajectory:
    """The rows of ``measure`` as columns, one list per name of ``TRAJECTORY``."""
    return Trajectory.from_rows(rows)


def measure(step: int, phase: int, lam: float, loss: float, grad_norm: float, a: torch.Tensor, W: torch.Tensor,
            teacher: Teacher, even: bool, near_angle: float) -> dict[str, Any]:
    """One row of the trajectory: the state after ``step`` steps in ``phase`` (weight decay ``lam``), with its
    population ``loss``, ``L_λ = loss + (λ/2)(‖a‖² + ‖W‖²)``, the gradient norm and ``mass_summary``."""
    summary = mass_summary(snapshot(a, W, teacher, even), teacher.a_star.shape[0], near_angle)
    return {"step": step, "phase": phase, "lam": lam, "loss": loss,
            "reg_loss": loss + 0.5 * lam * (float(a @ a) + float((W * W).sum())), "grad_norm": grad_norm, **summary}


__all__ = ["Snapshot", "TRAJECTORY", "mass_summary", "measure", "snapshot", "trajectory"]
