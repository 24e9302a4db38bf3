"""Closed-form ReLU kernel, population loss and gradient (THEORY.md §4) against independent computations.

Independent references: Monte-Carlo over Gaussian samples, Gauss–Hermite
quadrature in the 2-d plane of (w, v), the Hermite series ``Σ μ_k² ρ^k/k!`` with
``μ_k`` from ``theory.activation`` (exact sympy), central finite differences of
the closed-form loss, and sympy differentiation of the kernel.
"""

from __future__ import annotations

from math import factorial

import numpy as np
import pytest
import sympy
from scipy.integrate import quad
from scipy.stats import norm

from theory import activation
from theory.arccos import (
    StudentTeacher,
    neuron_outputs,
    pair_expectation,
    relu_kernel,
    relu_kernel_derivative,
    relu_kernel_sympy,
    relu_numpy,
)

KMAX = 40
RHOS = np.array([-0.999, -0.9, -0.5, -0.1, 0.0, 0.2, 0.5, 0.8, 0.95, 1.0])


def _quadrature_kernel(rho: float, min_order: int) -> float:
    """``E[σ(u) σ(ρu + s v)]``, ``s = √(1−ρ²)``: inner ``E_v`` in closed form, outer by adaptive quadrature.

    ``E_v[relu(μ + s v)] = μ Φ(μ/s) + s φ(μ/s)``; removing orders < 2 subtracts ``μ0 + μ1 ρ u``.
    """
    s = np.sqrt(1 - rho**2)
    sig = relu_numpy(min_order)
    mu0, mu1 = 1 / np.sqrt(2 * np.pi), 0.5

    def inner(u: float) -> float:
        mean = rho * u
        out = mean * norm.cdf(mean / s) + s * norm.pdf(mean / s)
        if min_order >= 1:
            out -= mu0
        if min_order >= 2:
            out -= mu1 * mean
        return out

    def integrand(u: float) -> float:
        return float(sig(np.array(u))) * inner(u) * norm.pdf(u)

    left = quad(integrand, -np.inf, 0, epsabs=1e-13)[0]
    right = quad(integrand, 0, np.inf, epsabs=1e-13)[0]
    return left + right


@pytest.mark.parametrize("min_order", [0, 1, 2])
def test_kernel_matches_gaussian_quadrature(min_order: int) -> None:
    for rho in [-0.9, -0.3, 0.0, 0.4, 0.9]:
        assert relu_kernel(rho, min_order) == pytest.approx(_quadrature_kernel(rho, min_order), abs=1e-9)


def test_kernel_endpoints_and_symmetry() -> None:
    # k(1) = E[relu²] = 1/2, k(−1) = E[relu(u) relu(−u)] = 0, k(0) = E[relu]² = 1/(2π)
    assert relu_kernel(1.0) == pytest.approx(0.5, abs=1e-15)
    assert relu_kernel(-1.0) == pytest.approx(0.0, abs=1e-15)
    assert relu_kernel(0.0) == pytest.approx(1 / (2 * np.pi), abs=1e-15)
    # relu[2:] = |u|/2 − 1/√(2π) is even: k̃ even, k̃(1) = E[σ̃²] = 1/4·1 − 1/(2π)
    assert np.allclose(relu_kernel(RHOS, 2), relu_kernel(-RHOS, 2), atol=1e-15)
    assert relu_kernel(1.0, 2) == pytest.approx(0.25 - 1 / (2 * np.pi), abs=1e-15)
    # THEORY.md §4 formula for k̃ verbatim
    assert np.allclose(relu_kernel(RHOS, 2), relu_kernel(RHOS) - 1 / (2 * np.pi) - RHOS / 4, atol=1e-15)


@pytest.mark.parametrize("min_order", [0, 2, 3])
def test_kernel_equals_hermite_series(min_order: int) -> None:
    """``k_{≥m}(ρ) = Σ_{k≥m} μ_k² ρ^k / k!`` with μ_k from the activation registry (exact, independent)."""
    mus = [float(c) for c in activation("relu").hermite_series(KMAX).coefficients]
    for rho in [-0.6, -0.2, 0.3, 0.6]:  # tail beyond KMAX < 0.6^KMAX: far below the tolerance
        series = sum(mus[k] ** 2 * rho**k / factorial(k) for k in range(min_order, KMAX + 1))
        assert relu_kernel(rho, min_order) == pytest.approx(series, abs=1e-12)


def test_kernel_derivative_matches_sympy_and_finite_differences() -> None:
    r = sympy.Symbol("rho", real=True)
    for min_order in (0, 2):
        dk = sympy.lambdify(r, sympy.diff(relu_kernel_sympy(r, min_order), r), "numpy")
        inner = RHOS[np.abs(RHOS) < 0.99]
        assert np.allclose(relu_kernel_derivative(inner, min_order), dk(inner), atol=1e-13)
        h = 1e-6
        fd = (relu_kernel(inner + h, min_order) - relu_kernel(inner - h, min_order)) / (2 * h)
        assert np.allclose(relu_kernel_derivative(inner, min_order), fd, atol=1e-8)
    # closed forms stated in the docstring: k' = (π − arccos)/(2π), k̃' = arcsin/(2π)
    assert np.allclose(relu_kernel_derivative(RHOS, 2), np.arcsin(RHOS) / (2 * np.pi), atol=1e-15)


def test_sympy_kernel_values() -> None:
    r = sympy.Symbol("rho", real=True)
    k = relu_kernel_sympy(r)
    assert sympy.simplify(k.subs(r, 0) - 1 / (2 * sympy.pi)) == 0
    assert sympy.simplify(k.subs(r, 1) - sympy.Rational(1, 2)) == 0
    for min_order in (0, 2):
        f = sympy.lambdify(sympy.Symbol("rho", real=True), relu_kernel_sympy(min_order=min_order), "numpy")
        assert np.allclose(f(RHOS), relu_kernel(RHOS, min_order), atol=1e-14)


def _problem(rng: np.random.Generator, m: int, m_star: int, d: int, min_order: int) -> tuple[StudentTeacher, np.ndarray, np.ndarray]:
    W_star = rng.standard_normal((m_star, d))
    W_star /= np.linalg.norm(W_star, axis=1, keepdims=True)
    teacher = StudentTeacher(rng.choice([-1.0, 1.0], m_star), W_star, min_order)
    W = rng.standard_normal((m, d)) * 0.7
    a = rng.standard_normal(m) * 0.5
    return teacher, a, W


@pytest.mark.parametrize("min_order", [0, 2])
def test_population_loss_matches_monte_carlo(min_order: int) -> None:
    rng = np.random.default_rng(0)
    teacher, a, W = _problem(rng, 5, 3, 6, min_order)
    n = 400_000
    x = rng.standard_normal((n, 6))
    resid = teacher.output(a, W, x)
    mc = 0.5 * np.mean(resid**2)
    se = 0.5 * np.std(resid**2) / np.sqrt(n)
    assert abs(teacher.loss(a, W) - mc) < 5 * se
    # pair expectations one by one
    H = pair_expectation(W, teacher.W_star, min_order)
    prod = neuron_outputs(W, x, min_order)[:, :, None] * neuron_outputs(teacher.W_star, x, min_order)[:, None, :]
    assert np.all(np.abs(H - prod.mean(0)) < 5 * prod.std(0) / np.sqrt(n) + 1e-12)


@pytest.mark.parametrize("min_order", [0, 2])
def test_gradient_matches_monte_carlo(min_order: int) -> None:
    """``∇_{w_i} L = a_i E[(f − f*) σ'(⟨w_i,x⟩) x]`` and ``∂L/∂a_i = E[(f − f*) σ(⟨w_i,x⟩)]``."""
    rng = np.random.default_rng(1)
    teacher, a, W = _problem(rng, 4, 2, 5, min_order)
    n = 400_000
    x = rng.standard_normal((n, 5))
    resid = teacher.output(a, W, x)
    pre = x @ W.T
    # neuron relu(⟨w,x⟩) − μ0‖w‖ − μ1⟨w,x⟩ (min_order 2): value and gradient in w written out by hand
    mu0, mu1 = (1 / np.sqrt(2 * np.pi), 0.5) if min_order >= 2 else (0.0, 0.0)
    norms = np.linalg.norm(W, axis=1)
    value = np.maximum(pre, 0) - mu0 * norms - mu1 * pre
    dvalue = ((pre > 0).astype(float) - mu1)[:, :, None] * x[:, None, :] - mu0 * (W / norms[:, None])[None]
    sa = resid[:, None] * value
    sw = resid[:, None, None] * dvalue * a[None, :, None]
    ga, gw = teacher.gradient(a, W)
    assert np.all(np.abs(ga - sa.mean(0)) < 5 * sa.std(0) / np.sqrt(n))
    assert np.all(np.abs(gw - sw.mean(0)) < 5 * sw.std(0) / np.sqrt(n))


@pytest.mark.parametrize("min_order", [0, 2])
def test_gradient_matches_finite_differences(min_order: int) -> None:
    rng = np.random.default_rng(2)
    teacher, a, W = _problem(rng, 6, 3, 4, min_order)
    lam = 0.03
    ga, gw = teacher.gradient(a, W, lam)
    h = 1e-6
    for i in range(6):
        e = np.zeros(6)
        e[i] = h
        fd = (teacher.regularized_loss(a + e, W, lam) - teacher.regularized_loss(a - e, W, lam)) / (2 * h)
        assert ga[i] == pytest.approx(fd, abs=1e-7)
        for j in range(4):
            E = np.zeros_like(W)
            E[i, j] = h
            fd = (teacher.regularized_loss(a, W + E, lam) - teacher.regularized_loss(a, W - E, lam)) / (2 * h)
            assert gw[i, j] == pytest.approx(fd, abs=1e-7)


def test_teacher_is_a_zero_loss_student_and_homogeneity() -> None:
    rng = np.random.default_rng(3)
    teacher, a, W = _problem(rng, 4, 3, 5, 2)
    assert teacher.loss(teacher.a_star, teacher.W_star) == pytest.approx(0.0, abs=1e-14)
    ga, gw = teacher.gradient(teacher.a_star, teacher.W_star)
    assert np.allclose(ga, 0, atol=1e-14) and np.allclose(gw, 0, atol=1e-14)
    # splitting a neuron into two copies with the same total a·‖w‖ leaves the function unchanged
    a2 = np.concatenate([teacher.a_star * 0.3, teacher.a_star * 0.7])
    assert teacher.loss(a2, np.vstack([teacher.W_star, teacher.W_star])) == pytest.approx(0.0, abs=1e-13)
    # a·w rescaling (a/c, c·w) leaves L unchanged and the identity a ∂_a L = ⟨w, ∇_w L⟩ holds
    assert teacher.loss(a / 2.5, W * 2.5) == pytest.approx(teacher.loss(a, W), rel=1e-12)
    ga, gw = teacher.gradient(a, W)
    assert np.allclose(a * ga, np.sum(W * gw, axis=1), atol=1e-13)


def test_bad_input_is_rejected_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="min_order"):
        relu_kernel(0.3, min_order=-1)
    with pytest.raises(ValueError, match="a_star must have shape"):
        StudentTeacher(np.ones(2), np.eye(3))
    teacher = StudentTeacher(np.ones(3), np.eye(3))
    with pytest.raises(ValueError, match="d = 3 columns"):
        teacher.loss(np.ones(2), np.ones((2, 4)))
    with pytest.raises(ValueError, match="non-finite"):
        teacher.loss(np.ones(1), np.array([[np.nan, 0, 0]]))
