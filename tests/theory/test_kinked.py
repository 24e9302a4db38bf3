"""Targets built from relu, abs, sign (split at their kinks) and smooth non-polynomial targets, against
closed forms and independent quadrature (THEORY.md §1, §2; issue: sign(0) on a Gauss–Hermite centre node)."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import norm

from theory import Target, activation

PHI1 = 1 / math.sqrt(2 * math.pi)


def _estimate(g: Target) -> float:
    """The error estimate stated by ``describe_method`` (``estimated error X``)."""
    text = g.describe_method()
    return float(text.split("estimated error ")[1].split(" ")[0])


def test_sign_of_a_product() -> None:
    """sign(x1x2x3) = Π sign(x_i): ‖g‖² = 1, c_{(1,1,1)} = E|x|³ = (2/π)^{3/2}, every other c_α with |α| ≤ 6 is 0."""
    g = Target.parse("sign(x1*x2*x3)")
    assert g.norm2() == pytest.approx(1.0, abs=1e-12)
    assert g.hermite_tensor(3)[0, 1, 2] == pytest.approx((2 / math.pi) ** 1.5, abs=1e-12)
    for alpha, c in g.engine.hermite.items():
        if alpha != (1, 1, 1) and not (all(a % 2 for a in alpha)):
            assert abs(c) < 1e-12, (alpha, c)
    # c_α = Π E[sign He_{α_i}] (independent: the exact 1-d coefficients of sign)
    assert g.hermite_coefficient((3, 1, 1)) == pytest.approx(float(activation("sign").hermite(3) * 2 / math.pi), abs=1e-12)
    assert g.first_nonzero_order() == 3 and g.leap_index() == 3 and g.staircase().dims == (0,)
    assert _estimate(g) < 1e-12 and "split at the kinks" in g.describe_method()


def test_tanh_plus_relu_times_x3() -> None:
    """C_1 = (μ1(tanh), 0, E relu) with E relu = 1/√(2π); ‖g‖² = E tanh² + E relu² = E tanh² + 1/2."""
    g = Target.parse("tanh(x1) + relu(x2)*x3")
    C1 = g.hermite_tensor(1)
    assert C1[2] == pytest.approx(PHI1, abs=1e-10)
    assert C1[0] == pytest.approx(float(activation("tanh").hermite(1)), abs=1e-10)  # mpmath 50-digit quadrature
    assert abs(C1[1]) < 1e-12
    with mpmath.workdps(30):
        tanh2 = float(mpmath.quad(lambda u: mpmath.tanh(u) ** 2 * mpmath.npdf(u), [-mpmath.inf, 0, mpmath.inf]))
    assert g.norm2() == pytest.approx(tanh2 + 0.5, abs=1e-10)
    assert g.predicted_error([], 1) == pytest.approx(tanh2 + 0.5 - float(C1 @ C1), abs=1e-10)
    assert _estimate(g) < 1e-8


def _legendre(n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre on [−12, 12] with the Gaussian density folded into the weights (not the library's rule)."""
    x, w = np.polynomial.legendre.leggauss(n)
    return 12 * x, 12 * w * norm.pdf(12 * x)


def _conditional_error(a: float, b: float) -> float:
    """ε_pred(span v, 1) for g = tanh(x1) + relu(x2)x3, v = (a, 0, b), reduced by hand to smooth 2-d integrals.

    With y = ⟨v, x⟩, w = b x1 − a x3 (so x1 = a y + b w, x3 = b y − a w) and x2 (relu's moments in closed form):
    E[g|y] = T0(y) + b y/√(2π), E[g w|y] = T1(y) − a/√(2π), E[g x2|y] = b y/2, T_j(y) = E_w[tanh(a y + b w) w^j];
    ε = ‖g‖² − E_y[E[g|y]² + E[g w|y]² + E[g x2|y]²] (orders |β| ≤ 1 of the complement).
    """
    u, wu = _legendre()
    Y, Wv = np.meshgrid(u, u, indexing="ij")
    th = np.tanh(a * Y + b * Wv)
    T0, T1 = th @ wu, (th * Wv) @ wu
    captured = wu @ ((T0 + b * u * PHI1) ** 2 + (T1 - a * PHI1) ** 2 + (b * u / 2) ** 2)
    return float(wu @ np.tanh(u) ** 2) + 0.5 - float(captured)


def test_tanh_plus_relu_times_x3_error_after_one_step() -> None:
    """ε_pred(U^1, 1) with U^1 = span(v*) oblique to the axes: the kink x2 = 0 is a w-axis of the aligned frame."""
    g = Target.parse("tanh(x1) + relu(x2)*x3")
    U1 = g.staircase()[1]
    a, _, b = U1[:, 0] * np.sign(U1[0, 0])
    assert g.predicted_error(U1, 1) == pytest.approx(_conditional_error(a, b), abs=1e-8)


def test_relu_of_a_sum_and_nested_kinks() -> None:
    """relu(x1 + x2) = √2 relu(t): ‖g‖² = 1, E g = 1/√π, C_1 = (1/2, 1/2) (kink oblique to the axes).
    relu(relu(x1) − 1)·x2 (kinks x1 = 0 and x1 = 1): c_{(0,1)} = E relu(x1 − 1) = φ(1) − (1 − Φ(1))."""
    g = Target.parse("relu(x1 + x2)")
    assert g.norm2() == pytest.approx(1.0, abs=1e-12)
    assert g.hermite_coefficient((0, 0)) == pytest.approx(1 / math.sqrt(math.pi), abs=1e-12)
    np.testing.assert_allclose(g.hermite_tensor(1), [0.5, 0.5], atol=1e-12)
    h = Target.parse("relu(relu(x1) - 1)*x2")
    assert h.hermite_coefficient((0, 1)) == pytest.approx(norm.pdf(1) - norm.sf(1), abs=1e-12)
    assert "x1 = 1" in h.describe_method() and "x1 = 0" in h.describe_method()


def test_kinks_not_on_hyperplanes_are_said() -> None:
    """relu(x1x2 − 1): the kink is a hyperbola. Reference: for x2 = s > 0 the x1-integral over x1 > t = 1/s is
    s² M2(t) − 2s M1(t) + M0(t) with M0 = 1 − Φ, M1 = φ, M2 = tφ + 1 − Φ; x2 < 0 mirrors it."""
    g = Target.parse("relu(x1*x2 - 1)")
    assert "not on hyperplanes" in g.describe_method() and g.rank_tol == 1e-3

    def inner(s: float) -> float:
        t = 1 / s
        return (s * s * (t * norm.pdf(t) + norm.sf(t)) - 2 * s * norm.pdf(t) + norm.sf(t)) * norm.pdf(s)

    ref = 2 * quad(inner, 1e-9, 40, epsabs=1e-13, limit=200)[0]
    est = _estimate(g)
    assert abs(g.norm2() - ref) < max(20 * est, 1e-6)  # the stated estimate is of the right size


@pytest.mark.parametrize("text", ["tanh(x1)*x2 + erf(x1 + x2)", "sigmoid(x1 - x2)*x1"])
def test_smooth_non_polynomial_targets_meet_their_stated_error(text: str) -> None:
    """‖g‖² against tensor Gauss–Legendre on [−12, 12]² (another rule); the error is within the stated estimate."""
    g = Target.parse(text)
    u, w = _legendre()
    X = np.stack(np.meshgrid(u, u, indexing="ij"), axis=-1).reshape(-1, 2)
    ref = float(np.outer(w, w).ravel() @ g.evaluator("numpy")(X) ** 2)  # tensor Gauss–Legendre, 160,000 points
    est = _estimate(g)
    assert est < 1e-8
    assert abs(g.norm2() - ref) < max(10 * est, 1e-10)


def test_rotated_kinked_target_has_the_rotated_subspaces() -> None:
    g = Target.parse("relu(x2)*x1 + x2")
    R = np.array([[0.6, -0.8], [0.8, 0.6]])
    h = g.compose(R)  # relu(0.8 x1 + 0.6 x2)(0.6 x1 − 0.8 x2) + …: kinks oblique to the axes
    assert h.norm2() == pytest.approx(g.norm2(), abs=1e-10)
    sg, sh = g.staircase(), h.staircase()
    assert sg.dims == sh.dims == (0, 1, 2)
    np.testing.assert_allclose(sh[1] @ sh[1].T, R.T @ (sg[1] @ sg[1].T) @ R, atol=1e-8)
    eg = np.array(g.stairway(2, (0, 1)).errors, dtype=float)
    np.testing.assert_allclose(np.array(h.stairway(2, (0, 1)).errors, dtype=float), eg, atol=1e-8)
