"""theory.orientation (THEORY §3.2's step-2 population prediction for dklps-multi-step) and theory.published
([DTAPZK]'s DMFT curves), checked against THEORY's numbers, hand-derived closed forms and an independent
Monte-Carlo of the population model."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy

from theory import Target, dtapzk_dmft_curve, step2_orientation


def test_step1_law_closed_forms() -> None:
    # ex1: E[g] = 1/2, ‖C1‖ = √17/2, E[g²] = 5; ex2: E[g] = 0, ‖C1‖ = 1/√2, E[g²] = 3/2 (by hand); η̃ = 2, relu
    s = 1 / sympy.sqrt(2 * sympy.pi)
    ex1, ex2 = step2_orientation(1), step2_orientation(2)
    assert ex1.kappa == sympy.Rational(4, 17) and ex2.kappa == 1
    for n in ex1.neurons:
        assert sympy.simplify(n.m - n.a * sympy.sqrt(17) / 2) == 0
        assert sympy.simplify(n.R**2 - ((1 + n.a * s) ** 2 + 10)) == 0
    for n in ex2.neurons:
        assert sympy.simplify(n.m - n.a / sympy.sqrt(2)) == 0 and n.R == 2
    # THEORY §3.2: R = 3.46 (a > 0), 3.22 (a < 0) for example 1, R = 2 for example 2
    assert [round(float(n.R), 2) for n in ex1.neurons] == [3.46, 3.22]


@pytest.mark.parametrize("example, rms, rho", [(1, 0.035, (0.062, -0.21)), (2, 0.141, (0.75, -0.75))])
def test_theory_published_predictions(example: int, rms: float, rho: tuple) -> None:
    o = step2_orientation(example)
    assert o.rms_cosine == pytest.approx(rms, abs=6e-4)
    assert o.neurons[0].rho == pytest.approx(rho[0], abs=6e-3) and o.neurons[1].rho == pytest.approx(rho[1], abs=6e-3)
    assert all(n.cosine > 0 for n in o.neurons) and o.linear and o.error < 1e-8


@pytest.mark.parametrize("example", [1, 2])
def test_stein_closed_form_equals_quadrature(example: int) -> None:
    for n in step2_orientation(example).neurons:
        assert n.offline == pytest.approx(float(n.offline_formula), rel=1e-10)


def test_population_model_by_monte_carlo() -> None:
    # the step-2 expectations sampled from the model's own variables (Y, W, S, u, ξ), not from its quadrature
    o = step2_orientation(1)
    rng = np.random.default_rng(5)
    N = 100_000
    Y, W, S, U, X = rng.standard_normal((5, N))
    vs, vp = (np.array([float(v) for v in o.v_star]), np.array([float(v) for v in o.v_perp]))
    x = np.outer(Y, vs) + np.outer(W, vp)
    y = Target.parse("(4*x1 + x1**2 + x2)/2").evaluator("numpy")(x)

    def relu_mean(mu: np.ndarray, s: float) -> np.ndarray:  # E[relu(μ + sN)] by a 60-point rule
        t, w = np.polynomial.hermite_e.hermegauss(60)
        return np.maximum(mu[:, None] + s * t[None, :], 0) @ (w / w.sum())

    f1 = 0.5 * sum(n.a * relu_mean(float(n.m) * Y + float(n.c) * S, math.hypot(float(n.b), float(n.e)))
                   for n in o.neurons)
    for n in o.neurons:
        h = float(n.m) * Y + float(n.c) * S + float(n.b) * U + float(n.e) * X
        act = (h > 0) * (y - f1)
        off = n.a * 2 * np.mean(act * W)
        comps = [np.mean(act * v) for v in (Y, W, S, U, X)]
        norm = 2 * math.sqrt(sum(c * c for c in comps) + np.mean(act**2 * (h > 0)))
        se = 2 * np.std(act * W) / math.sqrt(N)
        assert off == pytest.approx(n.offline, abs=4 * se)
        assert norm == pytest.approx(n.norm, rel=0.01)


@pytest.mark.parametrize("bad", [3, "x1*x2", "x1 + x2 + x3"])
def test_refuses(bad: object) -> None:
    with pytest.raises(ValueError):
        step2_orientation(bad)


def test_dmft_curve_provenance_and_shape() -> None:
    c = dtapzk_dmft_curve()
    assert c.dmft.shape == (7, 2, 2) == c.sim_mean.shape and c.steps == tuple(range(7))
    assert c.provenance["commit"] == "5469d413fee4ac63be4dc872e95efbd4a4370152"
    assert c.protocol["alpha"] == 3 and c.protocol["lr"] == 0.2 and c.sim_D == 5000 and c.sim_seeds == 32
    assert np.all(c.dmft[0] == 0) and c.a[0] > 0 > c.a[1]


def test_dmft_first_step_closed_form() -> None:
    # from zero overlap the pre-activation is independent of x: m_1 = lr·a_i·α·E[relu'(u)]·C_1(g)
    c = dtapzk_dmft_curve()
    C1 = np.asarray(Target.parse(c.protocol["target"]).hermite_tensor(1), dtype=float)
    for i, a in enumerate(c.a):
        expected = c.protocol["lr"] * a * c.protocol["alpha"] * 0.5 * C1
        np.testing.assert_allclose(c.dmft[1, i], expected, atol=4e-4)  # the DMFT's 10⁷-sample Monte-Carlo error


def test_dmft_and_the_authors_simulation_agree() -> None:
    c = dtapzk_dmft_curve()
    assert np.all(np.abs(c.sim_mean - c.dmft) <= 4 * c.sim_se + 1e-3)
    v = np.array([0.767832, -0.640651])  # the notebook's projection direction
    assert np.all(np.diff(c.projected(v)[:, 0]) > 0)  # the a > 0 neuron's overlap on v* grows at every step
    with pytest.raises(ValueError):
        c.projected([1, 0, 0])


def test_other_targets_by_hand() -> None:
    # x1 + x1x2: C0 = 0, ‖C1‖ = 1, E[g²] = 2 ⇒ m = 1, R_s² = 1 + η̃²E[g²]E[σ'²] = 5, ⟨G², v⊥⟩ = 2/√(2π·6)
    o = step2_orientation("x1 + x1*x2")
    assert o.kappa == 1 and o.linear and o.neurons[0].R == sympy.sqrt(5)
    assert o.neurons[0].offline == pytest.approx(2 / math.sqrt(12 * math.pi), rel=1e-12)
    # x1 + x1²x2: E[gW | Y] = −He2(Y)/(2√2), not κY; E[He2(Y) 1{mY + Rζ > 0}] = 0 by Stein, so no off-line part
    o = step2_orientation("x1 + x1**2*x2")
    assert o.kappa == 0 and not o.linear and abs(o.neurons[0].offline) < 1e-12
