"""The [ZG] student and its losses: exact population loss and gradient, and the empirical loss (THEORY.md §4).

Student ``f(x) = Σ_i a_i σ(⟨w_i, x⟩)`` of width ``m``, ``x ~ N(0, I_d)``, ``σ`` = relu or ``relu[2:]``
(relu with Hermite orders 0 and 1 removed, in its 1-homogeneous form ``‖w‖σ̃(⟨w/‖w‖, x⟩)``, see
``theory.arccos``). ``L = ½E[(f − f*)²]``; the kernel ``k(ρ)`` and ``k̃(ρ)`` of §4 use
``μ0(relu) = 1/√(2π)`` and ``μ1(relu) = 1/2`` from ``theory``'s activation registry.

Population gradient (``PopulationLoss``; derivation in ``theory.arccos``): with ``u_i = ŵ_i``,
``(c, v) = ((a, −a*), (W; W*))``, ``θ_ik = arccos⟨u_i, v̂_k⟩``,

    g_i = (½ − μ1²[σ̃]) Σ_k c_k v_k − (θ @ (c·v))_i/(2π) + ((sin θ @ (c‖v‖))_i/(2π) − μ0²[σ̃] Σ_k c_k‖v_k‖) u_i,
    ∂L/∂a_i = ⟨w_i, g_i⟩,  ∇_{w_i}L = a_i g_i,

two ``m × (m+m*) × d`` matrix products and three elementwise passes (clamp, acos, sin) per step.
"""

from __future__ import annotations

import math

import torch

from sim.data import Sampler
from sim.zhou_ge.teacher import Teacher
from theory import activation

_RELU = activation("relu")
MU0 = float(_RELU.hermite(0))  # μ0(relu) = 1/√(2π)
MU0_SQ = float(_RELU.hermite(0) ** 2)  # μ0(relu)² = 1/(2π)
MU1 = float(_RELU.hermite(1))  # μ1(relu) = 1/2
MU1_SQ = float(_RELU.hermite(1) ** 2)  # μ1(relu)² = 1/4
TWO_PI = 2.0 * math.pi


def unit_rows(W: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(norms (m,), unit rows (m, d))``; zero rows stay zero (convention of ``theory.arccos``)."""
    n = W.norm(dim=1)
    return n, W / torch.where(n > 0, n, torch.ones_like(n))[:, None]


def kernel(P: torch.Tensor, min_order: int) -> torch.Tensor:
    """``k(ρ)`` or ``k̃(ρ)`` (THEORY §4) elementwise, torch (``theory.relu_kernel`` is the numpy reference)."""
    P = P.clamp(-1.0, 1.0)
    out = (torch.sqrt(1 - P * P) + (math.pi - torch.acos(P)) * P) / TWO_PI
    if min_order >= 1:
        out = out - MU0_SQ
    if min_order >= 2:
        out = out - MU1_SQ * P
    return out


def neuron_outputs(W: torch.Tensor, x: torch.Tensor, min_order: int) -> torch.Tensor:
    """``‖w_i‖σ(⟨ŵ_i, x_n⟩)`` → ``(n, m)``: relu(⟨w,x⟩) minus ``μ0‖w‖ + μ1⟨w,x⟩`` for the removed orders."""
    pre = x @ W.T
    out = torch.relu(pre)
    if min_order >= 1:
        out = out - MU0 * W.norm(dim=1)[None, :]
    if min_order >= 2:
        out = out - MU1 * pre
    return out


class PopulationLoss:
    """Exact ``(L, ∂L/∂a, ∇_W L)`` for a student of width ``m`` against ``teacher`` (THEORY §4).

    Holds preallocated ``m × (m+m*)`` work buffers (one per instance; not shared between runs).
    Shapes: ``a (m,)``, ``W (m, d)`` → ``(float, (m,), (m, d))``.
    """

    def __init__(self, teacher: Teacher, m: int) -> None:
        self.teacher = teacher
        self.m = m
        ms = teacher.a_star.shape[0]
        like = teacher.W_star
        self._P = torch.empty(m, m + ms, dtype=like.dtype, device=like.device)
        self._T = torch.empty_like(self._P)
        nstar, self._Ustar = unit_rows(teacher.W_star)
        self._nstar = nstar
        self._cst = 0.5 - (MU1_SQ if teacher.min_order >= 2 else 0.0)
        self._s0 = MU0_SQ if teacher.min_order >= 1 else 0.0
        Kss = kernel(self._Ustar @ self._Ustar.T, teacher.min_order) * nstar[:, None] * nstar[None, :]
        self.teacher_norm2 = float(teacher.a_star @ Kss @ teacher.a_star)  # E[f*²]

    def residual_correlation(self, a: torch.Tensor, W: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(g (m, d), student–teacher cosines (m, m*), ‖w_i‖ (m,))`` with ``g_i = E[(f − f*)σ'(⟨w_i,x⟩)x]``."""
        t, m = self.teacher, self.m
        nw, U = unit_rows(W)
        Vh = torch.cat([U, self._Ustar])
        V = torch.cat([W, t.W_star])
        c = torch.cat([a, -t.a_star])
        cn = c * torch.cat([nw, self._nstar])
        cV = c[:, None] * V
        P, T = self._P, self._T
        torch.mm(U, Vh.T, out=P)
        P.clamp_(-1.0, 1.0)
        Pst = P[:, m:].clone()  # student–teacher cosines, for the loss
        torch.acos(P, out=T)
        g = self._cst * cV.sum(dim=0)[None, :] - (T @ cV) / TWO_PI
        torch.sin(T, out=P)
        s = (P @ cn) / TWO_PI - self._s0 * cn.sum()
        return g + s[:, None] * U, Pst, nw

    def __call__(self, a: torch.Tensor, W: torch.Tensor) -> tuple[float, torch.Tensor, torch.Tensor]:
        t = self.teacher
        g, Pst, nw = self.residual_correlation(a, W)
        grad_a = (W * g).sum(dim=1)
        grad_W = a[:, None] * g
        h_st = nw[:, None] * kernel(Pst, t.min_order) * self._nstar[None, :]
        loss = 0.5 * (float(a @ grad_a) - float(a @ (h_st @ t.a_star)) + self.teacher_norm2)
        return loss, grad_a, grad_W

    def gram(self, W: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(H (m×m), b (m,))``: ``H_ii' = E[σ_i σ_i']``, ``b_i = E[σ_i f*]`` (for the ridge of stage 2)."""
        nw, U = unit_rows(W)
        H = kernel(U @ U.T, self.teacher.min_order) * nw[:, None] * nw[None, :]
        Hst = kernel(U @ self._Ustar.T, self.teacher.min_order) * nw[:, None] * self._nstar[None, :]
        return H, Hst @ self.teacher.a_star


class EmpiricalLoss:
    """``(L̂, ∂L̂/∂a, ∇_W L̂)`` of ``L̂ = (1/2n)Σ_ν (f(x_ν) − f*(x_ν))²`` on a batch (fresh per call or fixed)."""

    def __init__(self, teacher: Teacher, n: int, seed: int, fresh: bool, block_size: int) -> None:
        self.teacher, self.n, self.seed, self.fresh = teacher, n, seed, fresh
        self.block_size = block_size
        self.calls = 0
        self._fixed = None if fresh else self._batch(0)

    def _batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        t = self.teacher
        x, _ = Sampler(self.seed, "train", step, self.n, t.W_star.shape[1], self.block_size, t.W_star.dtype,
                       str(t.W_star.device)).materialize()
        return x, neuron_outputs(t.W_star, x, t.min_order) @ t.a_star

    def __call__(self, a: torch.Tensor, W: torch.Tensor) -> tuple[float, torch.Tensor, torch.Tensor]:
        x, y = self._fixed if self._fixed is not None else self._batch(self.calls + 1)
        self.calls += 1
        mo = self.teacher.min_order
        pre = x @ W.T
        phi = neuron_outputs(W, x, mo)
        r = phi @ a - y
        n = x.shape[0]
        grad_a = phi.T @ r / n
        dpre = (pre > 0).to(x.dtype) - (MU1 if mo >= 2 else 0.0)
        G = (dpre * r[:, None]).T @ x / n  # Σ r σ'(⟨w,x⟩) x / n
        if mo >= 1:
            _, U = unit_rows(W)
            G = G - MU0 * r.mean() * U
        return 0.5 * float(r @ r) / n, grad_a, a[:, None] * G


__all__ = ["EmpiricalLoss", "MU0", "MU0_SQ", "MU1", "MU1_SQ", "PopulationLoss", "kernel", "neuron_outputs", "unit_rows"]
