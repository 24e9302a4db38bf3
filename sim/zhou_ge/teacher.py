"""The [ZG] teacher ``f*(x) = Σ_j a*_j σ(⟨w*_j, x⟩)`` with unit ``w*_j`` (THEORY.md §4).

Directions: ``orthonormal`` (QR of a Gaussian ``d × m*`` matrix, signs fixed by ``R``'s diagonal) or
``random`` (normalised Gaussian columns); second layer ``teacher_a`` or random signs ``±1``. Drawn on the
CPU in float64 from the seed's ``"zg-teacher"`` stream (``sim.keys.stream_seed``), then moved, so the
teacher is the same on every device.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from sim.keys import stream_seed
from sim.zhou_ge.config import TeacherDirections, ZGConfig

@dataclass(frozen=True)
class Teacher:
    """``a_star: (m*,)``, ``W_star: (m*, d)`` (unit rows), on the run's device and dtype; ``min_order`` of σ."""

    a_star: torch.Tensor
    W_star: torch.Tensor
    min_order: int


def make_teacher(cfg: ZGConfig, seed: int, device: str = "cpu", dtype: torch.dtype = torch.float64) -> Teacher:
    """The teacher of ``(cfg, seed)``: drawn on the CPU in float64 from a seed-derived generator, then moved."""
    gen = torch.Generator().manual_seed(stream_seed(seed, "zg-teacher"))
    G = torch.randn(cfg.d, cfg.m_star, generator=gen, dtype=torch.float64)
    if cfg.teacher_directions is TeacherDirections.ORTHONORMAL:
        Q, R = torch.linalg.qr(G)
        W = (Q * torch.sign(torch.diagonal(R))).T
    else:
        W = (G / G.norm(dim=0)).T
    if cfg.teacher_a is None:
        a = torch.where(torch.rand(cfg.m_star, generator=gen, dtype=torch.float64) < 0.5, -1.0, 1.0)
    else:
        a = torch.tensor(cfg.teacher_a, dtype=torch.float64)
    return Teacher(a.to(device, dtype), W.contiguous().to(device, dtype), cfg.min_order)


__all__ = ["Teacher", "make_teacher"]
