"""Activation coefficients μ_k = E[σ He_k] (THEORY.md §1, §2.7) against closed forms and independent quadrature."""

from math import factorial

import mpmath
import numpy as np
import pytest
import sympy
import torch
from numpy.polynomial.hermite_e import hermeval
from scipy.special import erf, ndtr
from scipy.stats import norm

from theory import activation
from theory.activations import NAMED
from theory.hermite import hermite_e_coefficients, hermite_value_at_zero

SQ2PI = sympy.sqrt(2 * sympy.pi)


def test_relu_known_values() -> None:
    relu = activation("relu")
    expected = [1 / SQ2PI, sympy.Rational(1, 2), 1 / SQ2PI, 0, -1 / SQ2PI]
    for k, e in enumerate(expected):
        assert sympy.simplify(relu.hermite(k) - e) == 0


@pytest.mark.parametrize("k", range(2, 13))
def test_relu_matches_delta_formula(k: int) -> None:
    # relu'' = δ, so E[relu He_k] = E[δ He_{k−2}] = He_{k−2}(0) φ(0): independent of the half-line moments
    assert sympy.simplify(activation("relu").hermite(k) - hermite_value_at_zero(k - 2) / SQ2PI) == 0


def test_erf_mu1_closed_form() -> None:
    assert sympy.simplify(activation("erf").hermite(1) - 2 / sympy.sqrt(3 * sympy.pi)) == 0


def _independent(fn, k: int, dps: int = 40) -> mpmath.mpf:
    """E[σ He_k] by Gauss–Legendre on [−30, 30] (a different rule from the library's tanh–sinh on ℝ)."""
    he = list(reversed(hermite_e_coefficients(k)))
    with mpmath.workdps(dps):
        f = lambda u: fn(u) * mpmath.polyval(he, u) * mpmath.npdf(u)  # noqa: E731
        return mpmath.quad(f, mpmath.linspace(-30, 30, 61), method="gauss-legendre")


def test_tanh_mu1_to_30_digits() -> None:
    with mpmath.workdps(40):
        ref = _independent(mpmath.tanh, 1)
        got = mpmath.mpf(str(activation("tanh").hermite(1)))
        assert abs(got - ref) < mpmath.mpf(10) ** -30 * abs(ref)


MP = {
    "relu": lambda u: max(u, 0),
    "abs": abs,
    "sign": mpmath.sign,
    "tanh": mpmath.tanh,
    "erf": mpmath.erf,
    "sigmoid": lambda u: 1 / (1 + mpmath.exp(-u)),
    "softplus": lambda u: mpmath.log1p(mpmath.exp(u)),
    "gelu": lambda u: u * mpmath.ncdf(u),
}


@pytest.mark.parametrize("name", NAMED)
def test_every_activation_against_independent_quadrature(name: str) -> None:
    # kinked functions converge slowly under Gauss–Legendre: split at the kink (0 is a node boundary)
    act = activation(name)
    for k in range(0, 9):
        ref = _independent(MP[name], k, dps=30)
        got = act.hermite(k)
        assert abs(float(got) - float(ref)) < 1e-12 * max(1.0, abs(float(ref))), (name, k, got, ref)


def test_normalisations() -> None:
    relu = activation("relu")
    for k in range(6):
        e = relu.hermite(k)
        assert sympy.simplify(relu.hermite(k, "orthonormal") - e / sympy.sqrt(factorial(k))) == 0
        assert sympy.simplify(relu.hermite(k, "series") - e / factorial(k)) == 0
    with pytest.raises(ValueError, match="normalization"):
        relu.hermite(1, "physicists")


def test_series_reconstructs_polynomial_activation() -> None:
    act = activation("u**4 - 2*u + 1")
    series = act.hermite_series(4, "series").coefficients
    u = sympy.Symbol("u")
    from theory.hermite import hermite_e

    recon = sympy.expand(sum(c * hermite_e(k, u) for k, c in enumerate(series)))
    assert sympy.expand(recon - (u**4 - 2 * u + 1)) == 0


def test_removed_orders() -> None:
    act = activation("relu[2:]")
    assert act.hermite(0) == 0 and act.hermite(1) == 0
    assert act.hermite(2) == activation("relu").hermite(2)
    fn = act.numpy()
    u = np.linspace(-3, 3, 7)
    np.testing.assert_allclose(fn(u), np.maximum(u, 0) - 1 / np.sqrt(2 * np.pi) - u / 2, atol=1e-12)


@pytest.mark.parametrize("spec", list(NAMED) + ["He3", "u**3 - u", "relu[2:]", "tanh[1:]"])
def test_torch_derivative_matches_autograd_and_numpy(spec: str) -> None:
    act = activation(spec)
    fn, dfn = act.torch_pair()
    u = torch.linspace(-3.1, 2.9, 41, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(fn(u).sum(), u)
    torch.testing.assert_close(dfn(u.detach()), grad, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(act.numpy()(u.detach().numpy()), fn(u).detach().numpy(), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("spec", ["relu", "abs", "tanh", "erf", "sigmoid", "softplus", "gelu", "He2", "relu[2:]"])
def test_derivative_norm2_against_quadrature(spec: str) -> None:
    _, dfn = activation(spec).torch_pair()
    nodes, weights = np.polynomial.hermite_e.hermegauss(200)
    u = torch.tensor(nodes, dtype=torch.float64)
    approx = float(np.sum(weights / np.sqrt(2 * np.pi) * dfn(u).numpy() ** 2))
    tol = 1e-9 if spec not in ("relu", "abs", "relu[2:]") else 2e-2  # jumps converge slowly
    assert abs(float(activation(spec).derivative_norm2()) - approx) < tol


def test_methods_are_reported() -> None:
    assert activation("relu").method(3).startswith("exact")
    assert activation("tanh").method(2) == "exact (symmetry)"
    assert "quadrature" in activation("softplus").method(2)
    assert "quadrature" in str(activation("tanh").hermite_series(3))


@pytest.mark.parametrize("bad", ["", "relu2", "tanh(", "He", "relu[:2]", 3])
def test_unknown_activation_is_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        activation(bad)  # type: ignore[arg-type]


# -- sums, shifts and scales (issue 11 item 3) ---------------------------------------------------
def test_sum_with_a_hermite_polynomial_is_exact() -> None:
    """relu + He3/6: μ_k(relu) + δ_k3 (E[He3 He3]/6 = 1), exact; E σ'² = 1/2 + E[1_{u>0}(u²−1)] + E[(u²−1)²]/4 = 1."""
    act = activation("relu + He3/6")
    relu = activation("relu")
    for k in range(7):
        assert sympy.simplify(act.hermite(k) - relu.hermite(k) - (k == 3)) == 0
        assert act.method(k).startswith("exact")
    assert act.derivative_norm2() == 1
    assert not act.vanishes(3) and act.vanishes(5) and not act.smooth


@pytest.mark.parametrize("spec, fn", [
    ("relu(u + 1/2)", lambda u: np.maximum(u + 0.5, 0)),
    ("relu(2*u - 1)", lambda u: np.maximum(2 * u - 1, 0)),
    ("abs(1 - u)", lambda u: np.abs(1 - u)),
    ("sign(u + 0.25)", lambda u: np.sign(u + 0.25)),
    ("erf(u + 1/2)", lambda u: erf(u + 0.5)),
    ("erf(3*u/2 - 1)", lambda u: erf(1.5 * u - 1)),
    ("tanh(u + 0.5)", lambda u: np.tanh(u + 0.5)),
    ("2*relu(u - 1) - relu", lambda u: 2 * np.maximum(u - 1, 0) - np.maximum(u, 0)),
    ("gelu(u + 1) + u**2/3", lambda u: (u + 1) * ndtr(u + 1) + u**2 / 3),
])
def test_affine_arguments_and_sums_against_independent_quadrature(spec: str, fn) -> None:  # noqa: ANN001
    """Closed forms (piecewise polynomials via truncated moments; erf by completing the square) and 50-digit
    tanh–sinh, against numpy Gauss–Legendre (200 points per piece of [−12, 12] split at the kinks: another rule)."""
    act = activation(spec)
    x, w = np.polynomial.legendre.leggauss(200)
    points = [-12.0, *act.kinks(), 12.0]
    for k in range(7):
        ref = 0.0
        for lo, hi in zip(points[:-1], points[1:]):
            u = (hi - lo) / 2 * x + (hi + lo) / 2
            ref += float(np.sum((hi - lo) / 2 * w * fn(u) * hermeval(u, np.eye(k + 1)[k]) * norm.pdf(u)))
        assert abs(float(act.hermite(k)) - ref) < 1e-12 * max(1.0, abs(ref)), (spec, k)
    if "tanh" not in spec and "gelu" not in spec:
        assert all(act.method(k).startswith("exact") for k in range(4))


def test_shifted_activation_has_no_symmetry_zeros_and_reports_quadrature_digits() -> None:
    act = activation("tanh(u + 0.5)")
    assert "quadrature" in act.method(2) and int(act.method(2).split("~")[1].split()[0]) >= 30
    assert not any(act.vanishes(k) for k in range(8))
    assert activation("tanh").vanishes(2) and not activation("tanh").vanishes(3)


@pytest.mark.parametrize("spec", ["relu + He3/6", "tanh(u + 0.5)", "relu(2*u - 1) - u/4", "erf(u/2 + 1)", "gelu(u - 1)",
                                  "(relu + He3/6)[2:]", "softplus(u + 1) + sigmoid(2*u)"])
def test_new_forms_torch_numpy_and_derivative(spec: str) -> None:
    act = activation(spec)
    fn, dfn = act.torch_pair()
    u = torch.linspace(-3.1, 2.9, 41, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(fn(u).sum(), u)
    torch.testing.assert_close(dfn(u.detach()), grad, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(act.numpy()(u.detach().numpy()), fn(u).detach().numpy(), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(act.numpy_derivative()(u.detach().numpy()), grad.numpy(), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("spec", ["relu + He3/6", "relu(u + 1/2)", "tanh(u + 0.5)", "erf(u + 1/2)"])
def test_derivative_norm2_of_new_forms(spec: str) -> None:
    """E σ'² against Gauss–Legendre split at the kinks, with σ' from autograd of the torch form (independent)."""
    act = activation(spec)
    _, dfn = act.torch_pair()
    x, w = np.polynomial.legendre.leggauss(200)
    total = 0.0
    points = [-12.0, *act.kinks(), 12.0]
    for lo, hi in zip(points[:-1], points[1:]):
        u = (hi - lo) / 2 * x + (hi + lo) / 2
        d = dfn(torch.tensor(u, dtype=torch.float64)).numpy()
        total += float(np.sum((hi - lo) / 2 * w * d**2 * np.exp(-u * u / 2) / np.sqrt(2 * np.pi)))
    assert abs(float(act.derivative_norm2()) - total) < 1e-12


@pytest.mark.parametrize("bad", ["relu*relu", "relu(u**2)", "tanh(relu)", "relu(0*u + 1)", "x1", "u*tanh", "He65",
                                 "relu(u)**2"])
def test_forms_outside_the_grammar_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="activation"):
        activation(bad)


def test_a_plain_base_function_is_returned_as_it_is() -> None:
    """sim takes the in-place relu paths when σ is torch.relu (sim.giant_step.protocol.Forward, readout)."""
    sigma, dsigma = activation("relu").torch_pair()
    assert sigma is torch.relu
    u = torch.tensor([-1.5, 0.0, 2.0], dtype=torch.float64)
    assert torch.equal(dsigma(u), torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64))
    assert activation("2*relu").torch_pair()[0] is not torch.relu  # a coefficient makes it a composite
    assert torch.equal(activation("2*relu").torch_pair()[0](u), 2 * torch.relu(u))
