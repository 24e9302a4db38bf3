"""theory.generative: the generative exponent k* and the information exponent of a transformed label (THEORY §3.5),
checked against THEORY's examples, closed forms derived by hand and independent quadrature."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from numpy.polynomial.hermite_e import hermegauss, hermeval

from theory import Target, generative_exponent, label_exponent
from theory.generative import level_integrals, parse_transform, power_witness


def _gauss(f, q: int = 80) -> float:
    """E[f(z)] by a q-point Gauss–Hermite rule (exact for polynomials of degree < 2q)."""
    x, w = hermegauss(q)
    return float(np.sum(w * f(x)) / np.sum(w))


def _he(k: int, x: np.ndarray) -> np.ndarray:
    return hermeval(x, [0] * k + [1])


@pytest.mark.parametrize("link, k_star, even", [
    ("He3(x1)", 1, False), ("He2(x1)", 2, True), ("He4(x1)", 2, True), ("x1", 1, False),
    ("x1**3", 1, False), ("(x1 - 1)**2", 1, False), ("x1**2 + x1**4", 2, True), ("He3(x1) + He2(x1)", 1, False),
])
def test_polynomial_links_exact(link: str, k_star: int, even: bool) -> None:
    ge = generative_exponent(link)
    assert (ge.k_star, ge.even) == (k_star, even)
    k, j, value = ge.witness
    # the witness E[σ*^j He_k] is recomputed by Gauss–Hermite quadrature (exact for these degrees)
    fn = Target.parse(link).evaluator("numpy")
    assert k == k_star and value != 0
    assert _gauss(lambda x: fn(x[:, None]) ** j * _he(k, x)) == pytest.approx(float(value), rel=1e-9)


def test_theory_example_he3_witness_324_and_information_exponent_3() -> None:
    ge = generative_exponent("He3(x1)")
    assert ge.information_exponent == 3 and ge.k_star == 1
    assert ge.witness == (1, 3, 324)  # THEORY §3.5: E[He3(z)^3 z] = 324
    assert power_witness("He3(x1)", 1, max_power=2) is None  # E[He3 z] = E[He3² z] = 0


def test_constant_link_has_no_exponent() -> None:
    assert generative_exponent("3").k_star == math.inf


@pytest.mark.parametrize("link, k_star", [("abs(x1)", 2), ("relu(x1)", 1), ("tanh(x1)", 1), ("sign(x1)", 1),
                                          ("relu(x1) - x1/2", 2), ("abs(He3(x1))", 2), ("tanh(x1)**2", 2)])
def test_numeric_links(link: str, k_star: int) -> None:
    assert generative_exponent(link).k_star == k_star


@pytest.mark.parametrize("link", ["He3(x1)", "He4(x1)", "(x1 - 1)**2"])
def test_numeric_path_agrees_with_the_exact_theorem(link: str) -> None:
    exact = generative_exponent(link)
    numeric = generative_exponent(Target.parse(link, method="numeric"))
    assert numeric.k_star == exact.k_star and numeric.even == exact.even


def test_level_integrals_closed_forms() -> None:
    # |z|: E[He_2 1{|z| > t}] = 2tφ(t); relu: E[He_1 1{relu(z) > t}] = φ(t) for t > 0; odd orders vanish for |z|
    F, levels = level_integrals(Target.parse("abs(x1)").evaluator("numpy"), 3)
    phi = np.exp(-levels**2 / 2) / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(F[1], 2 * levels * phi, atol=1e-12)
    assert np.max(np.abs(F[0])) < 1e-12 and np.max(np.abs(F[2])) < 1e-12
    F, levels = level_integrals(Target.parse("relu(x1)").evaluator("numpy"), 1)
    np.testing.assert_allclose(F[0], np.exp(-levels**2 / 2) / math.sqrt(2 * math.pi), atol=1e-12)


def test_level_integrals_against_a_riemann_sum() -> None:
    fn = Target.parse("tanh(He3(x1))").evaluator("numpy")
    F, levels = level_integrals(fn, 2)
    z = np.linspace(-12, 12, 2_000_001)
    dens = np.exp(-z**2 / 2) / math.sqrt(2 * math.pi) * (z[1] - z[0])
    y = fn(z[:, None])
    for li in (5, 31, 50):
        for k in (1, 2):
            assert np.sum(dens * _he(k, z) * (y > levels[li])) == pytest.approx(F[k - 1, li], abs=2e-5)


def test_label_transform_cube_is_exact() -> None:
    le = label_exponent("He3(x1)", "y**3")
    assert le.exact and le.exponent == 1 and le.coefficients[0] == 324
    fn = Target.parse("He3(x1)").evaluator("numpy")
    assert _gauss(lambda x: fn(x[:, None]) ** 3 * _he(3, x)) == pytest.approx(float(le.coefficients[2]))


def test_label_transform_tanh_of_standardized_he3() -> None:
    le = label_exponent("He3(x1)", "tanh(y)", standardize=True)
    assert le.exponent == 1 and not le.exact
    # independent: mpmath quadrature of E[tanh(He3(z)/√6) z], split at the roots of He3
    ref = mpmath.quad(lambda z: mpmath.tanh((z**3 - 3 * z) / mpmath.sqrt(6)) * z * mpmath.npdf(z),
                      [-mpmath.inf, -mpmath.sqrt(3), 0, mpmath.sqrt(3), mpmath.inf])
    assert float(le.coefficients[0]) == pytest.approx(float(ref), abs=1e-4)
    assert float(le.coefficients[0]) == pytest.approx(-0.204, abs=5e-4)  # THEORY §3.5


def test_even_link_no_transform_beats_order_two() -> None:
    for T in ("tanh(y)", "y**3", "relu(y - 1)"):
        le = label_exponent("He2(x1)", T)
        assert le.exponent == 2


def test_raw_label_exponent_is_the_information_exponent() -> None:
    assert label_exponent("He3(x1)", "y").exponent == 3 == Target.parse("He3(x1)").information_exponent()


@pytest.mark.parametrize("bad", ["x1", "z", "__import__('os')", "y**-1", "foo(y)"])
def test_transform_parser_refuses(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_transform(bad)


def test_single_index_only() -> None:
    with pytest.raises(ValueError, match="single-index"):
        generative_exponent("x1*x2")
    with pytest.raises(ValueError, match="MAX_DEGREE"):
        label_exponent("He8(x1)", "y**9")


def test_kinked_transform_of_a_standardized_link() -> None:
    # relu(He3(z)/√6): kinks at the roots of He3 although the argument has an irrational constant
    le = label_exponent("He3(x1)", "relu(y)", standardize=True, kmax=3)
    ref = mpmath.quad(lambda z: max((z**3 - 3 * z) / mpmath.sqrt(6), 0) * (z**2 - 1) * mpmath.npdf(z),
                      [-mpmath.inf, -mpmath.sqrt(3), 0, mpmath.sqrt(3), mpmath.inf])
    assert le.exponent == 2 and float(le.coefficients[1]) == pytest.approx(float(ref), abs=1e-8)
    assert "kinks" in le.method
