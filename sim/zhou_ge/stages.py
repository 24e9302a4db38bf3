"""The three stages of the [ZG] algorithm and the fixed-feature baseline (THEORY.md §4).

* **stage 1** — one giant step of THEORY §3 from the symmetric initialisation (``f ≡ 0``, the
  small-initialisation limit): ``sim.giant_step.init.init_weights``, gradient of ``½E[(f* − f)²]`` for
  ``f = (1/√m) Σ a_i σ(⟨w_i,·⟩)``, ``a_i = ±1``, learning rate ``η = lr0·√m·d^{(ℓ−1)/2}`` and
  ``sim.giant_step.protocol.giant_step`` (then unit rows). The gradient is the exact population one by
  default (``stage1_gradient="population"``) or ``streamed_gradient`` on ``n = ceil(n_scale·d^ℓ)`` samples
  (``"samples"``).
* **stage 2** — second layer: ``a = argmin_a L_{λ0}(a, W¹) = (H + λ0 I)^{-1} b`` (exact population ridge),
  then (``balance=True``) each neuron is rescaled to ``|a_i| = ‖w_i‖`` keeping ``a_i‖w_i‖`` (so ``f``
  is unchanged).
* **stage 3** — phases ``k = 0..phases−1`` of plain gradient descent (constant step ``lr``) on
  ``L_{λ_k} = L + (λ_k/2)Σ_i(a_i² + ‖w_i‖²)``, ``λ_k = λ0·lam_factor^k``. A phase ends at approximate
  stationarity, ``‖∇L_λ‖ ≤ grad_tol·λ_k·‖θ‖`` (``θ = (a, W)``; relative to the size of the weight-decay
  term), checked every ``check_every`` steps, or after ``max_steps_per_phase`` steps (then
  ``converged = False`` in the phase summary). The gradient is the exact population one (default,
  ``loss="population"``) or the empirical one on ``n_samples`` fresh (``"fresh"``, new batch per step) or
  fixed (``"fixed"``) samples; the measured ``loss`` is always the exact population loss.
* **baseline** — first layer frozen at ``W¹`` (the stage-1 output), second layer optimal for each
  ``λ_k`` (exact ridge), and its plateau ``min_a L(a, W¹)`` (λ → 0): the best a fixed-feature model
  started from the same point can do.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from sim.data import Sampler
from sim.divergence import check_finite, guarded
from sim.giant_step.init import init_weights, second_layer
from sim.giant_step.protocol import giant_step, streamed_gradient
from sim.zhou_ge.config import ZGConfig
from sim.zhou_ge.loss import PopulationLoss, neuron_outputs
from sim.zhou_ge.measure import measure
from sim.zhou_ge.record import BaselineRecord, PhaseRecord
from sim.zhou_ge.teacher import Teacher
from theory import activation

Gradient = Callable[[torch.Tensor, torch.Tensor], tuple[float, torch.Tensor, torch.Tensor]]


def stage1(cfg: ZGConfig, seed: int, teacher: Teacher, dtype: torch.dtype) -> torch.Tensor:
    """One §3 giant step from the symmetric initialisation (reusing ``sim.giant_step``): ``W¹ (m, d)``, unit rows."""
    dev = str(teacher.W_star.device)
    W0 = init_weights(cfg.m, cfg.d, seed, dev).to(dtype)
    s = second_layer(cfg.m, dtype, dev)
    if not cfg.samples_stage1:
        # f ≡ 0, so ∇_{w_i} ½E[(f* − f)²] = (s_i/√m)·E[(f − f*)σ'(⟨w_i,x⟩)x] = (s_i/√m)·g_i(a=0)
        g = PopulationLoss(teacher, cfg.m).residual_correlation(torch.zeros(cfg.m, dtype=dtype, device=dev), W0)[0]
        grad = (s / math.sqrt(cfg.m))[:, None] * g
    else:
        sampler = Sampler(seed, "train", 0, cfg.stage1_n, cfg.d, cfg.block_size, dtype, dev)

        def blocks() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
            for k in range(sampler.num_blocks):
                z, _ = sampler.block(k)
                yield z, neuron_outputs(teacher.W_star, z, teacher.min_order) @ teacher.a_star

        grad, _ = streamed_gradient(W0.double(), blocks(), cfg.stage1_n, activation(cfg.activation).torch_pair(), dtype)
        grad = grad.to(dtype)
    W1 = giant_step(W0, grad, cfg.stage1_lr, True)
    check_finite(W1, "stage-1 weights", 0, f"lower stage1_lr0 (now {cfg.stage1_lr0:g}) or use --dtype float64")
    return W1


HINT_STAGE2 = "lower stage1_lr0 or raise lam0"


def stage2(loss: PopulationLoss, W: torch.Tensor, lam: float, balance: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """``a = (H + λI)^{-1} b`` (exact ridge on the population loss), then optionally ``|a_i| = ‖w_i‖``."""
    H, b = loss.gram(W)
    check_finite(H, "stage-2 feature Gram matrix", 0, HINT_STAGE2)
    with guarded("stage-2 ridge solve", 0, HINT_STAGE2):
        a = torch.linalg.solve(H + lam * torch.eye(H.shape[0], dtype=H.dtype, device=H.device), b)
    check_finite(a, "stage-2 second layer", 0, HINT_STAGE2)
    return rebalance(a, W) if balance else (a, W)


def rebalance(a: torch.Tensor, W: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rescale ``(a_i, w_i) → (a_i/c_i, c_i w_i)`` with ``|a_i|/c_i = c_i‖w_i‖`` (the function is unchanged)."""
    nw = W.norm(dim=1)
    prod = a.abs() * nw
    c = torch.where((nw > 0) & (prod > 0), torch.sqrt(prod) / torch.where(nw > 0, nw, torch.ones_like(nw)),
                    torch.zeros_like(nw))
    return torch.sign(a) * torch.sqrt(prod), W * c[:, None]


def fixed_feature_baseline(loss: PopulationLoss, W: torch.Tensor, lambdas: Sequence[float]) -> BaselineRecord:
    """First layer frozen at ``W``: population loss of the exact ridge readout per ``λ``, and ``min_a L`` (plateau)."""
    H, b = loss.gram(W)
    check_finite(H, "baseline feature Gram matrix", 0, HINT_STAGE2)
    eye = torch.eye(H.shape[0], dtype=H.dtype, device=H.device)
    out = []
    with guarded("baseline ridge solve", 0, HINT_STAGE2):
        for lam in lambdas:
            a = torch.linalg.solve(H + lam * eye, b)
            out.append(_quadratic_loss(H, b, a, loss.teacher_norm2))
        evals, evecs = torch.linalg.eigh(H)
    keep = evals > evals.max() * 1e-12
    proj = evecs[:, keep].T @ b
    plateau = 0.5 * (loss.teacher_norm2 - float((proj**2 / evals[keep]).sum()))
    return BaselineRecord(out, max(plateau, 0.0))


def _quadratic_loss(H: torch.Tensor, b: torch.Tensor, a: torch.Tensor, c: float) -> float:
    return 0.5 * (float(a @ H @ a) - 2 * float(a @ b) + c)


@dataclass(frozen=True)
class Student:
    """The student's parameters ``a (m,)``, ``W (m, d)`` and the number of stage-3 steps taken so far."""

    a: torch.Tensor
    W: torch.Tensor
    step: int = 0


def _norm(a: torch.Tensor, W: torch.Tensor) -> float:
    """``‖(a, W)‖`` (Euclidean over all entries)."""
    return math.sqrt(float(a @ a) + float((W * W).sum()))


def stage3(cfg: ZGConfig, loss: PopulationLoss, gradient: Gradient, start: Student, teacher: Teacher,
           tick: Callable[[int], None], on_phase: Callable[[PhaseRecord], None] | None = None
           ) -> tuple[Student, list[dict[str, Any]], list[PhaseRecord]]:
    """Gradient descent on ``L_λ`` for every ``λ`` of ``cfg.lambdas`` (module docstring), from ``start``.

    ``gradient(a, W) -> (L, ∂L/∂a, ∇_W L)`` is the loss descended (``loss`` itself, or an ``EmpiricalLoss``);
    ``loss`` (the exact population loss) is what is measured. ``tick(1)`` after every step.
    Returns the final student, the trajectory rows (``sim.zhou_ge.measure.measure``, every
    ``record_every`` steps and at the end of each phase) and one ``PhaseRecord`` per phase (its last row with
    ``steps`` and ``converged``; no ``baseline_loss``), each also passed to ``on_phase``.
    """
    student, rows, phases = start, [], []
    for k, lam in enumerate(cfg.lambdas):
        student, summary, phase_rows = phase(cfg, k, lam, loss, gradient, student, teacher, tick)
        rows += phase_rows
        phases.append(summary)
        if on_phase is not None:
            on_phase(summary)
    return student, rows, phases


def phase(cfg: ZGConfig, k: int, lam: float, loss: PopulationLoss, gradient: Gradient, student: Student,
          teacher: Teacher, tick: Callable[[int], None]) -> tuple[Student, PhaseRecord, list[dict[str, Any]]]:
    """Phase ``k`` of stage 3 at weight decay ``lam``: ``(student at its end, summary, trajectory rows)``."""
    a, W, step = student.a, student.W, student.step
    population = not cfg.empirical_loss
    rows: list[dict[str, Any]] = []
    converged, n = False, 0
    while n < cfg.max_steps_per_phase:
        value, ga, gW = gradient(a, W)
        hint = f"lower lr (now {cfg.lr:g}; λ = {lam:g})"
        check_finite(value, "stage-3 loss", step, hint)
        check_finite(gW, "stage-3 gradient", step, hint)
        ga = ga + lam * a
        gW = gW + lam * W
        check = n % cfg.check_every == 0
        if check or step % cfg.record_every == 0:
            gnorm = _norm(ga, gW)
            if step % cfg.record_every == 0:
                measured = value if population else loss(a, W)[0]
                rows.append(measure(step, k, lam, measured, gnorm, a, W, teacher, cfg.even, cfg.near_angle))
            if check and gnorm <= cfg.grad_tol * lam * _norm(a, W):
                converged = True
                break
        a = a - cfg.lr * ga
        W = W - cfg.lr * gW
        step += 1
        n += 1
        tick(1)
    value, ga, gW = loss(a, W)
    row = measure(step, k, lam, value, _norm(ga + lam * a, gW + lam * W), a, W, teacher, cfg.even, cfg.near_angle)
    rows.append(row)
    return Student(a, W, step), PhaseRecord(**row, steps=n, converged=converged), rows



__all__ = ["Student", "fixed_feature_baseline", "phase", "rebalance", "stage1", "stage2", "stage3"]
