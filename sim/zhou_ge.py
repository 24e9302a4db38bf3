"""[ZG] local convergence: gradient descent with decreasing weight decay (THEORY.md §4), in torch.

Teacher ``f*(x) = Σ_j a*_j σ(⟨w*_j, x⟩)`` (unit ``w*_j``, random or orthonormal), student
``f(x) = Σ_i a_i σ(⟨w_i, x⟩)`` of width ``m``, ``x ~ N(0, I_d)``, ``σ`` = relu or ``relu[2:]`` (relu
with Hermite orders 0 and 1 removed, in its 1-homogeneous form ``‖w‖σ̃(⟨w/‖w‖, x⟩)``, see
``theory.arccos``). ``L = ½E[(f − f*)²]``, ``L_λ = L + (λ/2)Σ_i(a_i² + ‖w_i‖²)``.

The algorithm (``run_zhou_ge``; defaults are the simplest reading of §4, every other reading is an
option of ``ZGConfig`` and the record's ``variant`` says which ran):

* **stage 1** — one giant step of THEORY §3 from the symmetric initialisation (``f ≡ 0``, the
  small-initialisation limit): ``sim.protocol.init_weights``, gradient of ``½E[(f* − f)²]`` for
  ``f = (1/√m) Σ a_i σ(⟨w_i,·⟩)``, ``a_i = ±1``, learning rate ``η = lr0·√m·d^{(ℓ−1)/2}`` and
  ``sim.protocol.giant_step`` (then unit rows). The gradient is the exact population one by default
  (``stage1_gradient="population"``) or ``sim.protocol.streamed_gradient`` on ``n = ceil(n_scale·d^ℓ)``
  samples (``"samples"``).
* **stage 2** — second layer: ``a = argmin_a L_{λ0}(a, W¹) = (H + λ0 I)^{-1} b`` (exact population ridge),
  then (``balance=True``) each neuron is rescaled to ``|a_i| = ‖w_i‖`` keeping ``a_i‖w_i‖`` (so ``f``
  is unchanged).
* **stage 3** — phases ``k = 0..phases−1`` of plain gradient descent (constant step ``lr``) on
  ``L_{λ_k}``, ``λ_k = λ0·lam_factor^k`` (``lam_factor = ½``). A phase ends at approximate
  stationarity, ``‖∇L_λ‖ ≤ grad_tol·λ_k·‖θ‖`` (``θ = (a, W)``; relative to the size of the weight-decay
  term), checked every ``check_every`` steps, or after ``max_steps_per_phase`` steps (then
  ``converged = False`` in the phase summary). The loss is the exact population loss (default,
  ``loss="population"``) or the empirical loss on ``n_samples`` fresh (``"fresh"``, new batch per step)
  or fixed (``"fixed"``) samples; the recorded ``loss`` is always the exact population loss.
* **baseline** — first layer frozen at ``W¹`` (the stage-1 output), second layer optimal for each
  ``λ_k`` (exact ridge), and its plateau ``min_a L(a, W¹)`` (λ → 0): the best a fixed-feature model
  started from the same point can do.

Measured (§4), with ``mass_i = |a_i|‖w_i‖`` and the angle of neuron ``i`` to teacher ``j``
``∠(w_i, w*_j)`` (for the even ``relu[2:]``: to ``±w*_j``): the population loss; per teacher the mass
near it (neurons whose nearest teacher is ``j`` at angle ≤ ``near_angle``) against ``|a*_j|``, and the
signed sum ``Σ a_i‖w_i‖`` of those neurons against ``a*_j``; the *far mass* (angle > ``near_angle`` to
every teacher); the mass-weighted mean angle to the nearest teacher (all neurons, and near neurons
only); ``λ``; the gradient norm.

Population gradient (``population_loss_grad``; derivation in ``theory.arccos``): with ``u_i = ŵ_i``,
``(c, v) = ((a, −a*), (W; W*))``, ``θ_ik = arccos⟨u_i, v̂_k⟩``,

    g_i = (½ − μ1²[σ̃]) Σ_k c_k v_k − (θ @ (c·v))_i/(2π) + ((sin θ @ (c‖v‖))_i/(2π) − μ0²[σ̃] Σ_k c_k‖v_k‖) u_i,
    ∂L/∂a_i = ⟨w_i, g_i⟩,  ∇_{w_i}L = a_i g_i,

two ``m × (m+m*) × d`` matrix products and three elementwise passes (clamp, acos, sin) per step.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch

from sim.config import DTYPES, _as_bool, _as_float, _as_int, _choice, field_names, from_mapping
from sim.store import Store

ACTIVATIONS = {"relu": 0, "relu[2:]": 2}  # name → min_order (Hermite orders removed below it)
DIRECTIONS = ("orthonormal", "random")
LOSSES = ("population", "fresh", "fixed")
STAGE1_GRADIENTS = ("population", "samples")
MU0_SQ = 1.0 / (2.0 * math.pi)  # μ0(relu)²
MU1_SQ = 0.25  # μ1(relu)²
TWO_PI = 2.0 * math.pi


# ---------------------------------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ZGConfig:
    """One [ZG] experiment (THEORY.md §4); validated in ``__post_init__`` before any compute.

    Teacher: ``m_star`` unit directions in ``R^d`` (``teacher_directions``), second layer ``teacher_a``
    (``None``: random signs ``±1`` from the seed). Student width ``m`` (even, for the symmetric
    initialisation of stage 1). See the module docstring for the stages and the meaning of each option.
    """

    d: int = 64
    m: int = 256
    m_star: int = 4
    activation: str = "relu[2:]"
    teacher_directions: str = "orthonormal"
    teacher_a: tuple[float, ...] | None = None
    # stage 1 (THEORY §3 giant step)
    stage1_gradient: str = "population"
    stage1_lr0: float = 1.0
    stage1_ell: int | None = None
    stage1_n_scale: float = 1.0
    # stage 2 / 3
    balance: bool = True
    lam0: float = 1e-2
    lam_factor: float = 0.5
    phases: int = 6
    lr: float = 0.1
    grad_tol: float = 0.1
    check_every: int = 25
    max_steps_per_phase: int = 4000
    loss: str = "population"
    n_samples: int = 4096
    # measurement
    near_angle: float = 0.2
    record_every: int = 100
    baseline: bool = True
    device: str = "auto"
    dtype: str = "float64"
    block_size: int = 4096

    def __post_init__(self) -> None:
        def put(name: str, value: object) -> None:
            object.__setattr__(self, name, value)

        put("d", _as_int(self.d, "d", 2))
        put("m", _as_int(self.m, "m", 2))
        if self.m % 2:
            raise ValueError(f"m must be even (stage 1's symmetric initialisation pairs neuron i with i+m/2); got m={self.m}")
        put("m_star", _as_int(self.m_star, "m_star", 1))
        if self.m < self.m_star:
            raise ValueError(f"student width m={self.m} must be at least the teacher width m_star={self.m_star}")
        act = self.activation.strip() if isinstance(self.activation, str) else self.activation
        put("activation", _choice(act, "activation", tuple(ACTIVATIONS)))
        put("teacher_directions", _choice(self.teacher_directions, "teacher_directions", DIRECTIONS))
        if self.teacher_directions == "orthonormal" and self.m_star > self.d:
            raise ValueError(f"{self.m_star} orthonormal teacher directions need d ≥ m_star; got d={self.d}")
        if self.teacher_a is not None:
            ta = self.teacher_a
            if isinstance(ta, (int, float)) and not isinstance(ta, bool):
                ta = (ta,)
            if isinstance(ta, str) or not hasattr(ta, "__iter__"):
                raise ValueError(f"teacher_a must be a list of m_star={self.m_star} non-zero numbers; got {self.teacher_a!r}")
            ta = tuple(_as_float(x, "each teacher_a entry") for x in ta)
            if len(ta) != self.m_star or any(x == 0 for x in ta):
                raise ValueError(f"teacher_a must be a list of m_star={self.m_star} non-zero numbers; got {self.teacher_a!r}")
            put("teacher_a", ta)
        put("stage1_gradient", _choice(self.stage1_gradient, "stage1_gradient", STAGE1_GRADIENTS))
        put("stage1_lr0", _as_float(self.stage1_lr0, "stage1_lr0", low=0.0, what=" ≥ 0 (η0 of the stage-1 step)"))
        if self.stage1_ell is not None:
            put("stage1_ell", _as_int(self.stage1_ell, "stage1_ell", 1))
        put("stage1_n_scale", _as_float(self.stage1_n_scale, "stage1_n_scale", low=0.0, strict_low=True, what=" > 0"))
        put("balance", _as_bool(self.balance, "balance"))
        put("lam0", _as_float(self.lam0, "lam0", low=0.0, strict_low=True, what=" > 0 (the first weight decay λ0)"))
        put("lam_factor", _as_float(self.lam_factor, "lam_factor", low=0.0, strict_low=True, what=" in (0, 1)"))
        if self.lam_factor >= 1:
            raise ValueError(f"lam_factor must be in (0, 1) so that λ decreases; got {self.lam_factor!r}")
        put("phases", _as_int(self.phases, "phases", 1))
        put("lr", _as_float(self.lr, "lr", low=0.0, strict_low=True, what=" > 0 (the stage-3 step size)"))
        put("grad_tol", _as_float(self.grad_tol, "grad_tol", low=0.0, what=" ≥ 0"))
        put("check_every", _as_int(self.check_every, "check_every", 1))
        put("max_steps_per_phase", _as_int(self.max_steps_per_phase, "max_steps_per_phase", 1))
        put("loss", _choice(self.loss, "loss", LOSSES))
        put("n_samples", _as_int(self.n_samples, "n_samples", 1))
        put("near_angle", _as_float(self.near_angle, "near_angle", low=0.0, strict_low=True, what=" in (0, π/2] radians"))
        if self.near_angle > math.pi / 2:
            raise ValueError(f"near_angle must be in (0, π/2] radians; got {self.near_angle!r}")
        put("record_every", _as_int(self.record_every, "record_every", 1))
        put("baseline", _as_bool(self.baseline, "baseline"))
        if not isinstance(self.device, str) or not (self.device in ("auto", "cpu") or self.device.startswith("cuda")):
            raise ValueError(f"device must be auto, cpu, cuda or cuda:N; got {self.device!r}")
        put("dtype", _choice(self.dtype, "dtype", DTYPES))
        put("block_size", _as_int(self.block_size, "block_size", 1))
        if self.stage1_gradient == "samples" and self.stage1_n > 10**9:
            raise ValueError(f"stage-1 batch n = {self.stage1_n:.3g} is too large; lower stage1_n_scale or stage1_ell")

    # -- derived ----------------------------------------------------------------------------------
    @property
    def min_order(self) -> int:
        """Hermite orders of relu removed below this (0 for relu, 2 for relu[2:])."""
        return ACTIVATIONS[self.activation]

    @property
    def even(self) -> bool:
        """``relu[2:] = |u|/2 − 1/√(2π)`` is even: ``w`` and ``−w`` are the same neuron."""
        return self.min_order >= 2

    @property
    def stage1_ell_resolved(self) -> int:
        """ℓ of the stage-1 step: the teacher's first non-zero Hermite order (1 for relu, 2 for relu[2:])."""
        return self.stage1_ell if self.stage1_ell is not None else max(1, self.min_order)

    @property
    def stage1_lr(self) -> float:
        """``η = lr0·√m·d^{(ℓ−1)/2}`` (THEORY §3; per-neuron step ``lr0·d^{(ℓ−1)/2}``)."""
        return self.stage1_lr0 * math.sqrt(self.m) * float(self.d) ** ((self.stage1_ell_resolved - 1) / 2)

    @property
    def stage1_n(self) -> int:
        return max(1, math.ceil(round(self.stage1_n_scale * float(self.d) ** self.stage1_ell_resolved, 9)))

    @property
    def lambdas(self) -> tuple[float, ...]:
        """``λ_k = λ0·lam_factor^k``, ``k = 0..phases−1``."""
        return tuple(self.lam0 * self.lam_factor**k for k in range(self.phases))

    def variant(self) -> str:
        """One line saying which reading of §4 this config runs (printed in reports)."""
        s1 = (f"stage 1: one §3 giant step ({self.stage1_gradient} gradient, ℓ={self.stage1_ell_resolved}, "
              f"η0={self.stage1_lr0:g}{', n=' + str(self.stage1_n) if self.stage1_gradient == 'samples' else ''}, "
              f"unit rows)")
        s2 = f"stage 2: exact ridge at λ0{' + rebalance |a_i|=‖w_i‖' if self.balance else ''}"
        stop = (f"until ‖∇L_λ‖ ≤ {self.grad_tol:g}·λ·‖θ‖ (checked every {self.check_every}) or "
                f"{self.max_steps_per_phase} steps")
        s3 = (f"stage 3: GD lr={self.lr:g} on L_λ ({self.loss} loss{'' if self.loss == 'population' else ', n=' + str(self.n_samples)}), "
              f"λ0={self.lam0:g}·{self.lam_factor:g}^k for {self.phases} phases, {stop}")
        return (f"[ZG] σ={self.activation} ({'1-homogeneous, even' if self.even else 'plain relu'}), "
                f"teacher {self.m_star} {self.teacher_directions} directions; {s1}; {s2}; {s3}; "
                f"near = angle ≤ {self.near_angle:g} rad")

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        if out["teacher_a"] is not None:
            out["teacher_a"] = list(out["teacher_a"])
        return out

    def key_dict(self, device_type: str) -> dict[str, Any]:
        """What determines a result: the fields, ``device`` replaced by the device type."""
        out = self.to_dict()
        out["device"] = device_type
        out["stage1_ell"] = self.stage1_ell_resolved
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ZGConfig:
        """Build from a mapping; unknown keys are refused with the list of known ones."""
        return from_mapping(cls, data)

    def replace(self, **changes: Any) -> ZGConfig:
        return dataclasses.replace(self, **changes)


def zg_field_names() -> tuple[str, ...]:
    return field_names(ZGConfig)


# ---------------------------------------------------------------------------------------------------
# teacher, network, population loss
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Teacher:
    """``a_star: (m*,)``, ``W_star: (m*, d)`` (unit rows), on the run's device and dtype; ``min_order`` of σ."""

    a_star: torch.Tensor
    W_star: torch.Tensor
    min_order: int


def make_teacher(cfg: ZGConfig, seed: int, device: str = "cpu", dtype: torch.dtype = torch.float64) -> Teacher:
    """The teacher of ``(cfg, seed)``: drawn on the CPU in float64 from a seed-derived generator, then moved."""
    gen = torch.Generator().manual_seed(_derived_seed(seed, "zg-teacher"))
    G = torch.randn(cfg.d, cfg.m_star, generator=gen, dtype=torch.float64)
    if cfg.teacher_directions == "orthonormal":
        Q, R = torch.linalg.qr(G)
        W = (Q * torch.sign(torch.diagonal(R))).T
    else:
        W = (G / G.norm(dim=0)).T
    if cfg.teacher_a is None:
        a = torch.where(torch.rand(cfg.m_star, generator=gen, dtype=torch.float64) < 0.5, -1.0, 1.0)
    else:
        a = torch.tensor(cfg.teacher_a, dtype=torch.float64)
    return Teacher(a.to(device, dtype), W.contiguous().to(device, dtype), cfg.min_order)


def _derived_seed(seed: int, stream: str) -> int:
    digest = hashlib.blake2b(f"giantstep/{seed}/{stream}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & (2**63 - 1)


def _unit_rows(W: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
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
        out = out - math.sqrt(MU0_SQ) * W.norm(dim=1)[None, :]
    if min_order >= 2:
        out = out - 0.5 * pre
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
        nstar, self._Ustar = _unit_rows(teacher.W_star)
        self._nstar = nstar
        self._cst = 0.5 - (MU1_SQ if teacher.min_order >= 2 else 0.0)
        self._s0 = MU0_SQ if teacher.min_order >= 1 else 0.0
        Kss = kernel(self._Ustar @ self._Ustar.T, teacher.min_order) * nstar[:, None] * nstar[None, :]
        self.teacher_norm2 = float(teacher.a_star @ Kss @ teacher.a_star)  # E[f*²]

    def residual_correlation(self, a: torch.Tensor, W: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(g (m, d), student–teacher cosines (m, m*), ‖w_i‖ (m,))`` with ``g_i = E[(f − f*)σ'(⟨w_i,x⟩)x]``."""
        t, m = self.teacher, self.m
        nw, U = _unit_rows(W)
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
        nw, U = _unit_rows(W)
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
        from sim.data import Sampler

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
        dpre = (pre > 0).to(x.dtype) - (0.5 if mo >= 2 else 0.0)
        G = (dpre * r[:, None]).T @ x / n  # Σ r σ'(⟨w,x⟩) x / n
        if mo >= 1:
            _, U = _unit_rows(W)
            G = G - math.sqrt(MU0_SQ) * r.mean() * U
        return 0.5 * float(r @ r) / n, grad_a, a[:, None] * G


# ---------------------------------------------------------------------------------------------------
# measurements
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Snapshot:
    """Per-neuron state: angle to the nearest teacher (rad), index of that teacher, ``‖w_i‖``, ``a_i``."""

    angle: np.ndarray
    nearest: np.ndarray
    norm: np.ndarray
    a: np.ndarray

    def to_dict(self) -> dict[str, list]:
        return {"angle": self.angle.tolist(), "nearest": self.nearest.tolist(), "norm": self.norm.tolist(),
                "a": self.a.tolist()}


def snapshot(a: torch.Tensor, W: torch.Tensor, teacher: Teacher, even: bool) -> Snapshot:
    nw, U = _unit_rows(W)
    _, Us = _unit_rows(teacher.W_star)
    C = U @ Us.T
    if even:
        C = C.abs()
    best, idx = C.max(dim=1)
    ang = torch.acos(best.clamp(-1.0, 1.0))
    return Snapshot(ang.double().cpu().numpy(), idx.cpu().numpy(), nw.double().cpu().numpy(),
                    a.double().cpu().numpy())


def mass_summary(snap: Snapshot, m_star: int, near_angle: float) -> dict[str, Any]:
    """Far mass, mass and signed mass near each teacher, weighted mean angles (THEORY §4 measurements)."""
    mass = np.abs(snap.a) * snap.norm
    near = snap.angle <= near_angle
    near_mass = np.bincount(snap.nearest[near], weights=mass[near], minlength=m_star)
    signed = np.bincount(snap.nearest[near], weights=(snap.a * snap.norm)[near], minlength=m_star)
    total = float(mass.sum())
    mean_angle = float((mass * snap.angle).sum() / total) if total > 0 else float("nan")
    nm = float(mass[near].sum())
    near_mean = float((mass[near] * snap.angle[near]).sum() / nm) if nm > 0 else float("nan")
    return {"far_mass": float(mass[~near].sum()), "near_mass": near_mass.tolist(), "signed_near_mass": signed.tolist(),
            "total_mass": total, "mean_angle": mean_angle, "near_mean_angle": near_mean,
            "n_far": int((~near & (mass > 0)).sum())}


# ---------------------------------------------------------------------------------------------------
# stages
# ---------------------------------------------------------------------------------------------------
def stage1(cfg: ZGConfig, seed: int, teacher: Teacher, dtype: torch.dtype) -> torch.Tensor:
    """One §3 giant step from the symmetric initialisation (reusing ``sim.protocol``): ``W¹ (m, d)``, unit rows."""
    from sim.protocol import giant_step, init_weights, second_layer, streamed_gradient

    dev = str(teacher.W_star.device)
    W0 = init_weights(cfg.m, cfg.d, seed, dev).to(dtype)
    s = second_layer(cfg.m, dtype, dev)
    if cfg.stage1_gradient == "population":
        # f ≡ 0, so ∇_{w_i} ½E[(f* − f)²] = (s_i/√m)·E[(f − f*)σ'(⟨w_i,x⟩)x] = (s_i/√m)·g_i(a=0)
        g = PopulationLoss(teacher, cfg.m).residual_correlation(torch.zeros(cfg.m, dtype=dtype, device=dev), W0)[0]
        grad = (s / math.sqrt(cfg.m))[:, None] * g
    else:
        from sim.data import Sampler
        from theory import activation

        sampler = Sampler(seed, "train", 0, cfg.stage1_n, cfg.d, cfg.block_size, dtype, dev)

        def blocks() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
            for k in range(sampler.num_blocks):
                z, _ = sampler.block(k)
                yield z, neuron_outputs(teacher.W_star, z, teacher.min_order) @ teacher.a_star

        grad, _ = streamed_gradient(W0.double(), blocks(), cfg.stage1_n, activation(cfg.activation).torch_pair(), dtype)
        grad = grad.to(dtype)
    return giant_step(W0, grad, cfg.stage1_lr, True)


def stage2(loss: PopulationLoss, W: torch.Tensor, lam: float, balance: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """``a = (H + λI)^{-1} b`` (exact ridge on the population loss), then optionally ``|a_i| = ‖w_i‖``."""
    H, b = loss.gram(W)
    a = torch.linalg.solve(H + lam * torch.eye(H.shape[0], dtype=H.dtype, device=H.device), b)
    return rebalance(a, W) if balance else (a, W)


def rebalance(a: torch.Tensor, W: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rescale ``(a_i, w_i) → (a_i/c_i, c_i w_i)`` with ``|a_i|/c_i = c_i‖w_i‖`` (the function is unchanged)."""
    nw = W.norm(dim=1)
    prod = a.abs() * nw
    c = torch.where((nw > 0) & (prod > 0), torch.sqrt(prod) / torch.where(nw > 0, nw, torch.ones_like(nw)),
                    torch.zeros_like(nw))
    return torch.sign(a) * torch.sqrt(prod), W * c[:, None]


def fixed_feature_baseline(loss: PopulationLoss, W: torch.Tensor, lambdas: Sequence[float]) -> dict[str, Any]:
    """First layer frozen at ``W``: population loss of the exact ridge readout per ``λ``, and ``min_a L`` (plateau)."""
    H, b = loss.gram(W)
    eye = torch.eye(H.shape[0], dtype=H.dtype, device=H.device)
    out = []
    for lam in lambdas:
        a = torch.linalg.solve(H + lam * eye, b)
        out.append(_quadratic_loss(H, b, a, loss.teacher_norm2))
    evals, evecs = torch.linalg.eigh(H)
    keep = evals > evals.max() * 1e-12
    proj = evecs[:, keep].T @ b
    plateau = 0.5 * (loss.teacher_norm2 - float((proj**2 / evals[keep]).sum()))
    return {"loss_by_phase": out, "plateau": max(plateau, 0.0)}


def _quadratic_loss(H: torch.Tensor, b: torch.Tensor, a: torch.Tensor, c: float) -> float:
    return 0.5 * (float(a @ H @ a) - 2 * float(a @ b) + c)


# ---------------------------------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------------------------------
def resolve(cfg: ZGConfig) -> tuple[str, str, str]:
    """``(device, device type, device name)`` with the rules of ``sim.plan`` (auto = CUDA when available)."""
    from sim.plan import cpu_name, resolve_device

    device, dtype = resolve_device(cfg.device)
    name = torch.cuda.get_device_name(torch.device(device)) if dtype == "cuda" else cpu_name()
    return device, dtype, name


def run_key(cfg: ZGConfig, seed: int, device_type: str, version: str | None = None) -> str:
    from sim.version import code_version

    payload = {"kind": "zhou_ge", "config": cfg.key_dict(device_type), "seed": int(seed),
               "code_version": version or code_version()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


def run_zhou_ge(cfg: ZGConfig, seed: int = 0, progress: bool = False,
                on_phase: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Stages 1–3 and the fixed-feature baseline for ``(cfg, seed)``; returns a JSON-serialisable record.

    Record: ``kind="zhou_ge"``, ``key``, ``config``, ``seed``, ``code_version``, ``device*``, ``variant`` (one
    line), ``teacher`` (``a_star``, cosines between teacher directions), ``stage1`` (``lr``, ``ell``,
    mass-weighted overlap with the teacher span), ``stage2`` (loss), ``trajectory`` (columns: ``step``,
    ``phase``, ``lam``, ``loss``, ``reg_loss``, ``grad_norm``, ``far_mass``, ``near_mass``,
    ``signed_near_mass``, ``total_mass``, ``mean_angle``, ``near_mean_angle``), ``phases`` (one summary
    per λ at its end, with ``steps``, ``converged`` and the baseline's loss at that λ), ``snapshots``
    (``start`` of stage 3 and ``end``: per-neuron angle, nearest teacher, ‖w‖, a), ``baseline``
    (``loss_by_phase``, ``plateau``), ``timings``, ``created``.
    """
    from sim.runner import check_seed
    from sim.version import code_version

    seed = check_seed(seed)
    device, device_type, device_name = resolve(cfg)
    dtype = getattr(torch, cfg.dtype)
    t0 = time.perf_counter()
    with torch.no_grad():
        teacher = make_teacher(cfg, seed, device, dtype)
        pop = PopulationLoss(teacher, cfg.m)
        W1 = stage1(cfg, seed, teacher, dtype)
        span = _unit_rows(teacher.W_star)[1]
        Q = torch.linalg.qr(span.T)[0]
        stage1_overlap = float((W1 @ Q).norm(dim=1).mean())
        a, W = stage2(pop, W1, cfg.lam0, cfg.balance)
        t1 = time.perf_counter()
        stage2_loss = pop(a, W)[0]
        grad_fn = pop if cfg.loss == "population" else EmpiricalLoss(teacher, cfg.n_samples, seed, cfg.loss == "fresh",
                                                                      cfg.block_size)
        start = snapshot(a, W, teacher, cfg.even)
        traj: dict[str, list] = {k: [] for k in ("step", "phase", "lam", "loss", "reg_loss", "grad_norm", "far_mass",
                                                 "near_mass", "signed_near_mass", "total_mass", "mean_angle",
                                                 "near_mean_angle")}
        phases: list[dict[str, Any]] = []
        bar = _bar(progress, cfg, seed)
        step = 0

        def measure(k: int, lam: float, gnorm: float) -> dict[str, Any]:
            loss = pop(a, W)[0] if cfg.loss != "population" else last_loss
            summ = mass_summary(snapshot(a, W, teacher, cfg.even), cfg.m_star, cfg.near_angle)
            row = {"step": step, "phase": k, "lam": lam, "loss": loss,
                   "reg_loss": loss + 0.5 * lam * (float(a @ a) + float((W * W).sum())), "grad_norm": gnorm, **summ}
            for key in traj:
                traj[key].append(row[key])
            return row

        for k, lam in enumerate(cfg.lambdas):
            converged, n_phase, row = False, 0, None
            while n_phase < cfg.max_steps_per_phase:
                last_loss, ga, gW = grad_fn(a, W)
                if not math.isfinite(last_loss):
                    raise ValueError(f"stage 3 diverged at step {step} (λ={lam:g}); lower lr (now {cfg.lr:g})")
                ga = ga + lam * a
                gW = gW + lam * W
                check = n_phase % cfg.check_every == 0
                if check or step % cfg.record_every == 0:
                    gnorm = math.sqrt(float(ga @ ga) + float((gW * gW).sum()))
                    if step % cfg.record_every == 0:
                        measure(k, lam, gnorm)
                    if check and gnorm <= cfg.grad_tol * lam * math.sqrt(float(a @ a) + float((W * W).sum())):
                        converged = True
                        break
                a = a - cfg.lr * ga
                W = W - cfg.lr * gW
                step += 1
                n_phase += 1
                if bar is not None:
                    bar.update(1)
            last_loss, ga, gW = pop(a, W)
            gnorm = math.sqrt(float((ga + lam * a) @ (ga + lam * a)) + float(((gW + lam * W) ** 2).sum()))
            row = measure(k, lam, gnorm)
            summary = {**row, "steps": n_phase, "converged": converged}
            phases.append(summary)
            if on_phase is not None:
                on_phase(summary)
        if bar is not None:
            bar.close()
        end = snapshot(a, W, teacher, cfg.even)
        t2 = time.perf_counter()
        baseline = fixed_feature_baseline(pop, W1, cfg.lambdas) if cfg.baseline else None
        if baseline is not None:
            for ph, bl in zip(phases, baseline["loss_by_phase"]):
                ph["baseline_loss"] = bl
        t3 = time.perf_counter()
    _, Us = _unit_rows(teacher.W_star)
    return {
        "kind": "zhou_ge", "key": run_key(cfg, seed, device_type), "config": cfg.to_dict(), "seed": seed,
        "code_version": code_version(), "device": device, "device_type": device_type, "device_name": device_name,
        "variant": cfg.variant(),
        "teacher": {"a_star": teacher.a_star.double().cpu().tolist(),
                    "cosines": (Us @ Us.T).double().cpu().tolist()},
        "stage1": {"lr": cfg.stage1_lr, "ell": cfg.stage1_ell_resolved, "gradient": cfg.stage1_gradient,
                   "span_overlap": stage1_overlap},
        "stage2": {"loss": stage2_loss, "lam": cfg.lam0},
        "trajectory": traj, "phases": phases,
        "snapshots": {"start": start.to_dict(), "end": end.to_dict()},
        "baseline": baseline, "steps": step,
        "timings": {"stages12": t1 - t0, "stage3": t2 - t1, "baseline": t3 - t2, "total": t3 - t0},
        "created": time.time(),
    }


def _bar(progress: bool, cfg: ZGConfig, seed: int):  # noqa: ANN202 - tqdm or None
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=cfg.phases * cfg.max_steps_per_phase, unit="step", delay=2.0, leave=False,
                dynamic_ncols=True, desc=f"[ZG] d={cfg.d} m={cfg.m} m*={cfg.m_star} seed={seed}")


# ---------------------------------------------------------------------------------------------------
# store: the shared ``sim.store.Store`` (records carry ``kind = "zhou_ge"``)
# ---------------------------------------------------------------------------------------------------
def run_or_load(cfg: ZGConfig, seed: int, store: Store, force: bool = False,
                progress: bool = False) -> tuple[dict[str, Any], bool]:
    """``(record, from_store)``: the stored record of ``(cfg, seed)`` for this code version and device type, or a
    fresh run (written to the store)."""
    _, device_type, _ = resolve(cfg)
    if not force:
        rec = store.get_key(run_key(cfg, seed, device_type))
        if rec is not None:
            return rec, True
    rec = run_zhou_ge(cfg, seed, progress=progress)
    store.put(rec)
    return rec, False


# ---------------------------------------------------------------------------------------------------
# command line: ``python -m sim.zhou_ge …`` (and ``python -m sim zg …`` once ``sim.cli`` calls add_subparser)
# ---------------------------------------------------------------------------------------------------
_CHOICES = {"activation": tuple(ACTIVATIONS), "teacher_directions": DIRECTIONS, "loss": LOSSES,
            "stage1_gradient": STAGE1_GRADIENTS, "dtype": DTYPES}
_BOOLS = ("balance", "baseline")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Every ``ZGConfig`` field as a flag of the same name, plus ``--config``, ``--seeds``, ``--seed0``, ``--json``,
    ``--force``, ``--store``, ``--no-progress``."""
    types = {f.name: f.type for f in fields(ZGConfig)}
    for name in zg_field_names():
        flag = "--" + name.replace("_", "-")
        kw: dict[str, Any] = {"dest": name, "default": argparse.SUPPRESS}
        if name in _BOOLS:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, **kw)
        elif name in _CHOICES:
            parser.add_argument(flag, choices=_CHOICES[name], **kw)
        elif name == "teacher_a":
            parser.add_argument(flag, nargs="+", type=float, metavar="A", **kw)
        else:
            t = str(types[name])
            conv = int if "int" in t else float if "float" in t else str
            parser.add_argument(flag, type=conv, metavar=name.upper(), **kw)
    parser.add_argument("--config", help="YAML/JSON file with ZGConfig fields (flags override it)")
    parser.add_argument("--seeds", type=int, default=1, help="number of seeds (default 1)")
    parser.add_argument("--seed0", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--json", action="store_true", help="one JSON record per run and line on stdout")
    parser.add_argument("--force", action="store_true", help="recompute even if the store has the run")
    parser.add_argument("--store", default=None, help="SQLite results file (default runs/results.sqlite)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def add_subparser(sub: Any) -> argparse.ArgumentParser:
    """Register ``zg`` on ``sim.cli``'s subparsers; its ``main`` dispatches ``command == "zg"`` to ``main_ns``."""
    p = sub.add_parser("zg", help="[ZG] GD with decreasing weight decay (THEORY.md §4)")
    add_arguments(p)
    return p


def summary_lines(rec: Mapping[str, Any]) -> list[str]:
    """Human-readable lines: the variant, then one line per λ phase."""
    out = [rec["variant"], f"seed {rec['seed']}: stage-2 loss {rec['stage2']['loss']:.3e}, "
           f"stage-1 span overlap {rec['stage1']['span_overlap']:.3f}, a* = {rec['teacher']['a_star']}"]
    out.append("    λ        steps conv  loss       far mass   mean ∠    near ∠    Σ a‖w‖ near teachers    baseline")
    for p in rec["phases"]:
        near = " ".join(f"{v:+.3f}" for v in p["signed_near_mass"])
        base = f"{p['baseline_loss']:.3e}" if "baseline_loss" in p else "-"
        out.append(f"  {p['lam']:.3e} {p['steps']:6d} {'yes' if p['converged'] else 'no ':4s} {p['loss']:.3e}  "
                   f"{p['far_mass']:.3e}  {p['mean_angle']:.3e} {p['near_mean_angle']:.3e} [{near}]  {base}")
    if rec.get("baseline"):
        out.append(f"  fixed-feature plateau min_a L(a, W¹) = {rec['baseline']['plateau']:.3e}")
    return out


def main_ns(ns: argparse.Namespace) -> int:
    """Run the ``zg`` command for parsed arguments; 2 with one line on stderr for bad input."""
    from sim.config import read_mapping

    try:
        if ns.seeds < 1 or ns.seed0 < 0:
            raise ValueError("--seeds must be ≥ 1 and --seed0 ≥ 0")
        data = read_mapping(ns.config) if ns.config else {}
        data.update({k: getattr(ns, k) for k in zg_field_names() if hasattr(ns, k)})
        if isinstance(data.get("teacher_a"), list):
            data["teacher_a"] = tuple(data["teacher_a"])
        cfg = ZGConfig.from_dict(data)
        resolve(cfg)
        store = Store(ns.store) if ns.store else Store()
        for s in range(ns.seed0, ns.seed0 + ns.seeds):
            rec, cached = run_or_load(cfg, s, store, force=ns.force, progress=not ns.no_progress)
            if ns.json:
                sys.stdout.write(json.dumps(rec) + "\n")
                sys.stdout.flush()
            else:
                print("\n".join(summary_lines(rec)) + f"\n  ({'from store' if cached else 'ran'}, "
                      f"{rec['timings']['total']:.1f} s, {rec['steps']} steps)")
    except ValueError as exc:
        sys.stderr.write(f"python -m sim zg: error: {' '.join(str(exc).split())}\n")
        return 2
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.zhou_ge",
                                     description="[ZG] GD with decreasing weight decay (THEORY.md §4)")
    add_arguments(parser)
    return main_ns(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
