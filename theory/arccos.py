"""ReLU arc-cosine kernel and the closed-form population loss of a ReLU student/teacher pair (THEORY.md §4).

For ``x ~ N(0, I_d)`` and the 1-homogeneous ReLU,

    E[relu(⟨w,x⟩) relu(⟨v,x⟩)] = ‖w‖‖v‖ k(ρ),   ρ = cos∠(w, v),
    k(ρ)  = (√(1−ρ²) + (π − arccos ρ)·ρ) / (2π)          (THEORY.md §4)
    k'(ρ) = (π − arccos ρ) / (2π).

Removing the Hermite orders ``< min_order`` of relu (``activation("relu[2:]")``
for ``min_order = 2``) removes the matching terms of the Hermite expansion of
the kernel, ``k(ρ) = Σ_k μ_k² ρ^k / k!`` with ``μ_k = E[relu He_k]``:

    k̃(ρ) = k(ρ) − 1/(2π) − ρ/4            (min_order = 2; THEORY.md §4)

(``μ0² = 1/(2π)``, ``μ1² = 1/4``), and in general ``k_{≥m}(ρ) = k(ρ) − Σ_{k<m} μ_k² ρ^k/k!``.
``relu[2:](u) = |u|/2 − 1/√(2π)`` is even, so ``k̃`` is even and ``w`` and
``−w`` define the same neuron.

Homogeneity convention. ``relu`` is 1-homogeneous but ``relu[2:]`` is not (its
constant ``−μ0``). The formula ``‖w‖‖v‖ k̃(ρ)`` of THEORY.md §4 holds for the
neuron ``‖w‖ σ̃(⟨w/‖w‖, x⟩) = relu(⟨w,x⟩) − μ0‖w‖ − μ1⟨w,x⟩``, i.e. relu of
``⟨w,x⟩`` with *its own* Hermite orders 0 and 1 removed (``⟨w,x⟩ ~ N(0,‖w‖²)``).
This 1-homogeneous extension is the neuron used everywhere in this module and
in ``sim.zhou_ge`` (``neuron_outputs``); for ``min_order = 0`` it is plain relu.

Networks (THEORY.md §4): student ``f(x) = Σ_i a_i σ(⟨w_i,x⟩)`` with
``a ∈ R^m``, ``W ∈ R^{m×d}`` (rows are neurons); teacher ``f*`` with
``a_star ∈ R^{m*}``, ``W_star ∈ R^{m*×d}``. With ``h(w, v) = ‖w‖‖v‖ k(ρ)``

    L(a, W) = ½ E[(f − f*)²] = ½ (aᵀ H(W,W) a − 2 aᵀ H(W,W*) a* + a*ᵀ H(W*,W*) a*),
    L_λ     = L + (λ/2) Σ_i (a_i² + ‖w_i‖²).

Gradient (used by the population gradient descent of ``sim``): with
``u_i = w_i/‖w_i‖`` and ``g_i = E[(f − f*)(x) σ'(⟨w_i,x⟩) x]``,

    g_i = Σ_k c_k [ ‖v_k‖ (k(ρ_ik) − ρ_ik k'(ρ_ik)) u_i + k'(ρ_ik) v_k ],
    ∂L/∂a_i = ⟨w_i, g_i⟩,   ∇_{w_i} L = a_i g_i,

where ``(c, v)`` runs over the student neurons ``(a_i, w_i)`` and the teacher
neurons ``(−a*_j, w*_j)``. ``k(ρ) − ρ k'(ρ) = √(1−ρ²)/(2π)`` (minus the
removed order-0 term ``μ0² = 1/(2π)`` when ``min_order ≥ 1``). A neuron with
``w_i = 0`` is given ``u_i = 0`` (the one-sided derivative of ReLU at 0 is not
defined; this convention makes ``∇_{w_i}L = a_i Σ_k c_k k'(0) v_k``).

Everything here is numpy float64; ``sim.zhou_ge`` has the same formulas in
torch. ``relu_kernel_sympy`` gives the kernel as a sympy expression.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import factorial, pi

import numpy as np
import sympy

from theory.activations import activation
from theory.validate import Interval, check_scalar

MAX_MIN_ORDER = 64


def relu_hermite_coefficient(k: int) -> float:
    """``μ_k = E[relu(u) He_k(u)]`` as a float, from the activation registry (exact closed form there)."""
    _check_min_order(k, "k")
    return float(activation("relu").hermite(k))


_MIN_ORDER = Interval(int, 0, MAX_MIN_ORDER, what="2 removes orders 0 and 1")


def _check_min_order(min_order: int, name: str = "min_order") -> int:
    return check_scalar(min_order, name, _MIN_ORDER)


def _removed_terms(min_order: int) -> list[float]:
    """Monomial coefficients ``μ_k²/k!`` of the kernel terms removed with orders ``< min_order``."""
    return [relu_hermite_coefficient(k) ** 2 / factorial(k) for k in range(min_order)]


def relu_kernel(rho: np.ndarray | float, min_order: int = 0) -> np.ndarray:
    """``k(ρ)`` (``min_order = 0``) or ``k̃(ρ)`` with relu's Hermite orders ``< min_order`` removed (THEORY.md §4).

    ``rho``: array of cosines, clipped to ``[−1, 1]``; returns an array of the same shape.
    """
    _check_min_order(min_order)
    r = np.clip(np.asarray(rho, dtype=float), -1.0, 1.0)
    out = (np.sqrt(1.0 - r * r) + (pi - np.arccos(r)) * r) / (2 * pi)
    for k, c in enumerate(_removed_terms(min_order)):
        out = out - c * r**k
    return out


def relu_kernel_derivative(rho: np.ndarray | float, min_order: int = 0) -> np.ndarray:
    """``dk/dρ = (π − arccos ρ)/(2π)`` minus the removed orders' derivative (``arcsin(ρ)/(2π)`` for ``min_order=2``)."""
    _check_min_order(min_order)
    r = np.clip(np.asarray(rho, dtype=float), -1.0, 1.0)
    out = (pi - np.arccos(r)) / (2 * pi)
    for k, c in enumerate(_removed_terms(min_order)):
        if k >= 1:
            out = out - k * c * r ** (k - 1)
    return out


def relu_kernel_sympy(rho: sympy.Expr | None = None, min_order: int = 0) -> sympy.Expr:
    """The kernel as an exact sympy expression in ``rho`` (a symbol ``rho`` by default), THEORY.md §4."""
    _check_min_order(min_order)
    r = sympy.Symbol("rho", real=True) if rho is None else rho
    expr = (sympy.sqrt(1 - r**2) + (sympy.pi - sympy.acos(r)) * r) / (2 * sympy.pi)
    act = activation("relu")  # exact μ_k (sympy)
    for k in range(min_order):
        expr -= act.hermite(k) ** 2 * r**k / factorial(k)
    return expr


def pair_expectation(w: np.ndarray, v: np.ndarray, min_order: int = 0) -> np.ndarray:
    """``E[σ(⟨w_i,x⟩) σ(⟨v_k,x⟩)] = ‖w_i‖‖v_k‖ k(ρ_ik)`` for ``w: (m, d)``, ``v: (n, d)`` → ``(m, n)`` (THEORY.md §4).

    ``σ`` is relu with Hermite orders ``< min_order`` removed. Zero rows give 0.
    """
    w, v = _as_matrix(w, "w"), _as_matrix(v, "v")
    if w.shape[1] != v.shape[1]:
        raise ValueError(f"w and v must have the same number of columns (dimension d), got {w.shape} and {v.shape}")
    nw, nv = np.linalg.norm(w, axis=1), np.linalg.norm(v, axis=1)
    uw, uv = _unit(w, nw), _unit(v, nv)
    return nw[:, None] * nv[None, :] * relu_kernel(uw @ uv.T, min_order)


def _as_matrix(x: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-d array (neurons × d), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite values")
    return arr


def _unit(w: np.ndarray, norms: np.ndarray) -> np.ndarray:
    safe = np.where(norms > 0, norms, 1.0)
    return np.where(norms[:, None] > 0, w / safe[:, None], 0.0)


@dataclass(frozen=True)
class StudentTeacher:
    """A ReLU teacher of THEORY.md §4: ``f*(x) = Σ_j a_star[j] σ(⟨W_star[j], x⟩)``, σ = relu with orders ``< min_order`` removed.

    ``a_star``: shape ``(m*,)``; ``W_star``: shape ``(m*, d)`` (unit rows in §4; any rows are accepted).
    The methods take a student ``(a, W)`` with ``a: (m,)`` and ``W: (m, d)``.
    """

    a_star: np.ndarray
    W_star: np.ndarray
    min_order: int = 0

    def __post_init__(self) -> None:
        _check_min_order(self.min_order)
        W_star = _as_matrix(self.W_star, "W_star")
        a_star = np.asarray(self.a_star, dtype=float)
        if a_star.shape != (W_star.shape[0],):
            raise ValueError(f"a_star must have shape ({W_star.shape[0]},) to match W_star, got {a_star.shape}")
        object.__setattr__(self, "W_star", W_star)
        object.__setattr__(self, "a_star", a_star)

    @property
    def d(self) -> int:
        return self.W_star.shape[1]

    def _check(self, a: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        W = _as_matrix(W, "W")
        a = np.asarray(a, dtype=float)
        if W.shape[1] != self.d:
            raise ValueError(f"student W must have d = {self.d} columns like the teacher, got {W.shape}")
        if a.shape != (W.shape[0],):
            raise ValueError(f"student a must have shape ({W.shape[0]},) to match W, got {a.shape}")
        return a, W

    def teacher_norm2(self) -> float:
        """``E[f*²] = a*ᵀ H(W*, W*) a*``."""
        return float(self.a_star @ pair_expectation(self.W_star, self.W_star, self.min_order) @ self.a_star)

    def loss(self, a: np.ndarray, W: np.ndarray) -> float:
        """``L = ½ E[(f − f*)²]`` in closed form (THEORY.md §4)."""
        a, W = self._check(a, W)
        ss = a @ pair_expectation(W, W, self.min_order) @ a
        st = a @ pair_expectation(W, self.W_star, self.min_order) @ self.a_star
        return float(0.5 * (ss - 2 * st + self.teacher_norm2()))

    def regularized_loss(self, a: np.ndarray, W: np.ndarray, lam: float) -> float:
        """``L_λ = L + (λ/2) Σ_i (a_i² + ‖w_i‖²)`` (THEORY.md §4)."""
        a, W = self._check(a, W)
        return self.loss(a, W) + 0.5 * lam * float(a @ a + np.sum(W * W))

    def gradient(self, a: np.ndarray, W: np.ndarray, lam: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """``(∂L_λ/∂a, ∇_W L_λ)`` with shapes ``(m,)`` and ``(m, d)``, exact (module docstring formula)."""
        a, W = self._check(a, W)
        V = np.vstack([W, self.W_star])
        c = np.concatenate([a, -self.a_star])
        nw, nv = np.linalg.norm(W, axis=1), np.linalg.norm(V, axis=1)
        U, Vh = _unit(W, nw), _unit(V, nv)
        P = np.clip(U @ Vh.T, -1.0, 1.0)
        kp = relu_kernel_derivative(P, self.min_order)
        s = relu_kernel(P, self.min_order) - P * kp  # k − ρ k'
        G = U * (s @ (c * nv))[:, None] + kp @ (c[:, None] * V)
        grad_a = np.sum(W * G, axis=1) + lam * a
        grad_W = a[:, None] * G + lam * W
        return grad_a, grad_W

    def output(self, a: np.ndarray, W: np.ndarray, x: np.ndarray) -> np.ndarray:
        """``f(x) − f*(x)`` on samples ``x: (n, d)`` → ``(n,)`` (for Monte-Carlo checks)."""
        a, W = self._check(a, W)
        return (neuron_outputs(W, x, self.min_order) @ a
                - neuron_outputs(self.W_star, x, self.min_order) @ self.a_star)


def neuron_outputs(W: np.ndarray, x: np.ndarray, min_order: int = 0) -> np.ndarray:
    """``‖w_i‖ σ(⟨w_i/‖w_i‖, x_n⟩)`` for ``W: (m, d)``, ``x: (n, d)`` → ``(n, m)`` (the 1-homogeneous neuron, see module doc)."""
    W = _as_matrix(W, "W")
    norms = np.linalg.norm(W, axis=1)
    return relu_numpy(min_order)(np.asarray(x, dtype=float) @ _unit(W, norms).T) * norms[None, :]


def relu_numpy(min_order: int = 0):  # noqa: ANN201 - returns a numpy function
    """relu with Hermite orders ``< min_order`` removed, as a numpy function (float64): ``Activation.numpy()``."""
    _check_min_order(min_order)
    return activation(f"relu[{min_order}:]" if min_order else "relu").numpy()
