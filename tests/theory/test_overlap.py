"""THEORY.md §3.1 (one-step overlap for any a_i) and the κ = 1 protocol floor, against independent computations.

The Monte-Carlo check simulates one giant step with numpy, written here and independent of ``sim``: unit
``w_i⁰``, ``f(W⁰) ≡ 0`` (so the residual is the label), ``w_i¹ = w_i⁰ + a_i η̃ (1/n) Σ_ν y_ν σ'(⟨w_i⁰, z_ν⟩) z_ν``,
then ``⟨w_i¹/‖w_i¹‖, e_1⟩`` (``v* = e1`` for the targets used).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
from scipy.integrate import quad
from scipy.special import ndtr
from scipy.stats import norm

from theory import OneStepOverlap, Target, activation, estimation_angle, one_step_overlap, protocol_floor


def test_exact_value_matches_the_hand_derived_closed_form() -> None:
    """relu on x1 + x1x2, η̃ = 2: μ1 = 1/2, μ2 C0 = 0, ‖C1‖ = 1, E g² = 2, E σ'² = 1/2 ⇒ 1/√(2 + 4/α)."""
    ov = OneStepOverlap.of("x1 + x1*x2", "relu", 2)
    for alpha in (sympy.Rational(1, 2), 1, 4):
        assert ov.value(alpha) == sympy.radsimp(1 / sympy.sqrt(2 + 4 / sympy.Rational(alpha)))
    assert ov.value(1, a=-1) == -ov.value(1)
    assert isinstance(ov.value(1.0), float) and ov.value(1.0) == pytest.approx(float(ov.value(1)), rel=1e-15)
    assert ov.v_star == (1, 0) and ov.exact
    np.testing.assert_allclose(ov.evaluate([0.5, 1.0, 4.0]), [1 / math.sqrt(2 + 4 / a) for a in (0.5, 1, 4)],
                               rtol=1e-14)
    np.testing.assert_allclose(ov.evaluate(2.0, [-1.0, 0.0, 1.0]), [-0.5, 0.0, 0.5], rtol=1e-14)


def test_constant_term_enters_through_mu2() -> None:
    """g = 1 + x1 with relu: (1 + a η̃ μ2)² in the denominator, different for a = ±1."""
    eta, alpha = 1.0, 2.0
    mu2 = 1 / math.sqrt(2 * math.pi)
    for a in (1, -1):
        den = (1 + a * eta * mu2) ** 2 + eta**2 * 0.25 + eta**2 * 2 * 0.5 / alpha
        assert one_step_overlap("1 + x1", "relu", eta, alpha, a) == pytest.approx(a * eta * 0.5 / math.sqrt(den), rel=1e-14)


def test_gaussian_mean_against_gauss_hermite() -> None:
    ov = OneStepOverlap.of("1 + x1", "tanh", 1.5, noise=0.25)
    nodes, weights = np.polynomial.hermite_e.hermegauss(120)
    weights = weights / math.sqrt(2 * math.pi)
    for alpha in (0.5, 3.0):
        vals = ov.evaluate(alpha, nodes)
        assert float(ov.gaussian_mean(alpha)) == pytest.approx(float(weights @ vals), abs=1e-12)
        absolute = sum(quad(lambda a: abs(float(ov.evaluate(alpha, a))) * norm.pdf(a), lo, hi, epsabs=1e-13)[0]
                       for lo, hi in ((-np.inf, 0), (0, np.inf)))  # |overlap| has its kink at a = 0
        assert float(ov.gaussian_mean(alpha, absolute=True)) == pytest.approx(absolute, abs=1e-10)
    odd = OneStepOverlap.of("x1 + x1*x2", "relu", 2)  # C0 = 0: the overlap is odd in a
    assert float(odd.gaussian_mean(1.0)) == pytest.approx(0.0, abs=1e-15)


def test_str_and_json() -> None:
    ov = OneStepOverlap.of("x1 + x1*x2", "relu", 2)
    assert "μ1 = 1/2" in str(ov) and "E σ'² = 1/2" in str(ov) and "‖C1‖ = 1" in str(ov)
    data = ov.to_dict()
    assert data["mu1"] == {"exact": "1/2", "value": 0.5} and data["v_star"][0]["value"] == 1.0
    numeric = OneStepOverlap.of("tanh(x1) + x1*x2", "tanh", 2).to_dict()
    assert isinstance(numeric["norm_C1"], float)


@pytest.mark.parametrize("bad, match", [(dict(eta=0), "eta"), (dict(eta=float("nan")), "eta"),
                                        (dict(noise=-1), "noise")])
def test_bad_inputs_are_refused(bad: dict, match: str) -> None:
    args = dict(eta=1.0, noise=0.0) | bad
    with pytest.raises(ValueError, match=match):
        OneStepOverlap.of("x1", "relu", **args)
    with pytest.raises(ValueError, match="alpha"):
        OneStepOverlap.of("x1", "relu", 1).value(0)
    with pytest.raises(ValueError, match="alpha"):
        OneStepOverlap.of("x1", "relu", 1).evaluate([1.0, -1.0])


def _one_step_overlaps(target: str, act: str, eta: float, d: int, n: int, a: np.ndarray, seed: int) -> np.ndarray:
    """⟨ŵ_i¹, e1⟩ after one step of §3 on a fresh batch (module docstring), numpy float64."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((a.size, d))
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    Z = rng.standard_normal((n, d))
    y = Target.parse(target).evaluator("numpy")(Z[:, :2])
    dsig = activation(act).numpy_derivative()(Z @ W.T)  # (n, p)
    G = (dsig * y[:, None]).T @ Z / n
    W1 = W + eta * a[:, None] * G
    return W1[:, 0] / np.linalg.norm(W1, axis=1)


@pytest.mark.parametrize("target, act, eta, alpha", [("x1 + x1*x2", "relu", 2.0, 2.0), ("1 + x1 + x1*x2", "tanh(u + 0.5)", 1.5, 1.0)])
def test_section_3_1_against_a_direct_monte_carlo_of_one_step(target: str, act: str, eta: float, alpha: float) -> None:
    """d = 600, n = αd, 12 seeds; a_i = ±1 (symmetric) and a_i ~ N(0, 1) (Gaussian second layer).

    The per-seed half means fluctuate by the batch noise all neurons share, ≈ η̃ √(E g² E σ'²/n)/‖w¹‖ ≈ 0.03;
    over 12 seeds ≈ 0.01; the finite-d bias is O(d^{-1/2}). Tolerance 0.035 on Θ(1) predictions."""
    d, p = 600, 64
    n = int(alpha * d)
    ov = OneStepOverlap.of(target, act, eta)
    sym = np.repeat([1.0, -1.0], p // 2)
    plus, minus, gauss_err = [], [], []
    for seed in range(12):
        m = _one_step_overlaps(target, act, eta, d, n, sym, seed)
        plus.append(m[: p // 2].mean())
        minus.append(m[p // 2:].mean())
        a = np.random.default_rng(1000 + seed).standard_normal(p)
        gauss_err.append(np.mean(_one_step_overlaps(target, act, eta, d, n, a, 1000 + seed) - ov.evaluate(alpha, a)))
    for a_i, measured in ((1, plus), (-1, minus)):
        predicted = float(ov.value(alpha, a_i))
        assert abs(predicted) > 0.3
        assert np.mean(measured) == pytest.approx(predicted, abs=0.035)
    assert abs(np.mean(gauss_err)) < 0.035


def test_protocol_floor_matches_the_verify_numbers_and_an_independent_projection() -> None:
    """R for x1 + x1x2, relu, η̃ = 2, α = 1: m = 1/√6, q² = 1/3 (from §3.1); R = 1 − m²/arcsin(m² + q²) = 0.6817.

    Independently: project x1 on span{1, Φ(t/c')}, t = m x1 + q ξ, c'² = 1 − m² − q², by 2-d Gauss–Hermite."""
    fl = protocol_floor("x1 + x1*x2", "relu", 2, 1)
    assert fl.m == pytest.approx(1 / math.sqrt(6), rel=1e-14) and fl.q2 == pytest.approx(1 / 3, rel=1e-14)
    nodes, weights = np.polynomial.hermite_e.hermegauss(200)
    weights = weights / math.sqrt(2 * math.pi)
    x1, xi = np.meshgrid(nodes, nodes, indexing="ij")
    w = np.outer(weights, weights)
    c = math.sqrt(1 - fl.m**2 - fl.q2)
    F = ndtr((fl.m * x1 + math.sqrt(fl.q2) * xi) / c)
    basis = np.stack([np.ones_like(F), F]).reshape(2, -1)
    gram = (basis * w.ravel()) @ basis.T
    coef = np.linalg.solve(gram, (basis * w.ravel()) @ x1.ravel())
    residual = float(np.sum(w.ravel() * (x1.ravel() - coef @ basis) ** 2))
    assert fl.R == pytest.approx(residual, abs=1e-10)
    assert protocol_floor("x1 + x1*x2", "relu", 1.4, 64).R == pytest.approx(0.0487423, abs=1e-7)


def test_protocol_floor_scales_with_the_product_coefficient_and_is_basis_free() -> None:
    base = protocol_floor("x1 + x1*x2", "relu", 2, 1)
    rotated = protocol_floor("(3*x1 + 4*x2)/5 + (3*x1 + 4*x2)*(4*x1 - 3*x2)/25", "relu", 2, 1)
    assert rotated.R == pytest.approx(base.R, rel=1e-12)
    scaled = protocol_floor("2*x1 + 3*x1*x2", "relu", 1, 2)
    ov = OneStepOverlap.of("2*x1 + 3*x1*x2", "relu", 1)
    m = float(ov.value(2))
    q2 = 1 * 0.25 * 13 / 2 / (1 * 0.5 * 2 / m) ** 2
    assert scaled.R == pytest.approx(9 * (1 - m**2 / math.asin(m**2 + q2)), rel=1e-12)


@pytest.mark.parametrize("target, act", [("x1*x2 + x1*x3", "relu"), ("x1 + x1*x2", "tanh"), ("1 + x1 + x1*x2", "relu"),
                                         ("x1 + x1**2", "relu"), ("x1 + x1*x2 + x1*x2*x3", "relu")])
def test_protocol_floor_refuses_what_it_was_not_derived_for(target: str, act: str) -> None:
    with pytest.raises(ValueError, match="derived for σ = relu"):
        protocol_floor(target, act, 2, 1)


def test_estimation_angle_closed_form_and_exactness() -> None:
    """x1 + x1x2: E g² = 2, ‖C1‖² = 1, so sin²θ = 2/(α + 2); with noise Δ: (2 + Δ)/(α + 2 + Δ)."""
    assert estimation_angle("x1 + x1*x2", 256) == sympy.Rational(2, 258)
    assert estimation_angle("x1 + x1*x2", 1) == sympy.Rational(2, 3)
    assert estimation_angle("x1 + x1*x2", sympy.Rational(1, 2), noise=1) == sympy.Rational(6, 7)
    assert estimation_angle("x1 + x1*x2", 4.0) == pytest.approx(1 / 3, rel=1e-15)
    # basis free: the same target in a rotated frame
    rotated = "(3*x1 + 4*x2)/5 + (3*x1 + 4*x2)*(4*x1 - 3*x2)/25"
    assert estimation_angle(rotated, 3) == sympy.Rational(2, 5)
    # the limit of the protocol floor as η̃ → 0 (module docstring): R → c² sin²θ, here c = 1
    assert protocol_floor("x1 + x1*x2", "relu", 1e-4, 8).R == pytest.approx(float(estimation_angle("x1 + x1*x2", 8)),
                                                                             rel=1e-6)
    with pytest.raises(ValueError, match="C1 ≠ 0"):
        estimation_angle("x1*x2", 2)
    with pytest.raises(ValueError, match="alpha"):
        estimation_angle("x1", 0)


@pytest.mark.parametrize("target, noise", [("x1 + x1*x2", 0.0), ("tanh(x1) + x2*x3", 0.5)])
def test_estimation_angle_against_the_batch_estimate(target: str, noise: float) -> None:
    """The angle of ĉ = (1/n) Σ y z with C1, simulated directly (numpy, d = 400, α = 3, 40 batches)."""
    g = Target.parse(target)
    f = g.evaluator("numpy")
    C1 = np.asarray(g.hermite_tensor(1), dtype=float).reshape(g.r)
    d, alpha = 400, 3
    rng = np.random.default_rng(0)
    sin2 = []
    for _ in range(40):
        z = rng.standard_normal((alpha * d, d))
        y = f(z[:, : g.r]) + math.sqrt(noise) * rng.standard_normal(alpha * d)
        c = z.T @ y / (alpha * d)
        sin2.append(1 - (c[: g.r] @ C1) ** 2 / (c @ c) / (C1 @ C1))
    predicted = float(estimation_angle(target, alpha, noise))
    # per batch sd ≈ 0.02; finite-d corrections O(r/d)
    assert np.mean(sin2) == pytest.approx(predicted, abs=0.01)
