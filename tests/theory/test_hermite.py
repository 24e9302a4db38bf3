"""Hermite algebra (THEORY.md §1) against numpy.polynomial.hermite_e and Gauss–Hermite quadrature."""

from fractions import Fraction
from math import factorial

import numpy as np
import pytest
from numpy.polynomial import hermite_e as H

from theory.hermite import (
    count_multi_indices,
    gaussian_moment,
    hermite_e_coefficients,
    hermite_value_at_zero,
    monomial_to_hermite,
    multi_indices,
    polynomial_hermite_coefficients,
)


@pytest.mark.parametrize("k", range(0, 16))
def test_he_coefficients_match_numpy(k: int) -> None:
    basis = np.zeros(k + 1)
    basis[k] = 1
    np.testing.assert_allclose(hermite_e_coefficients(k), H.herme2poly(basis), rtol=0, atol=0)


@pytest.mark.parametrize("m", range(0, 16))
def test_monomial_to_hermite_matches_numpy(m: int) -> None:
    mono = np.zeros(m + 1)
    mono[m] = 1
    np.testing.assert_allclose(monomial_to_hermite(m), H.poly2herme(mono), rtol=1e-12)


def test_orthogonality_and_moments_by_quadrature() -> None:
    nodes, weights = H.hermegauss(40)
    weights = weights / np.sqrt(2 * np.pi)
    for m in range(0, 20):
        assert np.isclose(np.sum(weights * nodes**m), gaussian_moment(m), rtol=1e-10)
    for j in range(10):
        for k in range(10):
            hj = H.hermeval(nodes, np.eye(10)[j])
            hk = H.hermeval(nodes, np.eye(10)[k])
            assert np.isclose(np.sum(weights * hj * hk), factorial(k) * (j == k), atol=1e-8)


def test_value_at_zero() -> None:
    for k in range(14):
        assert hermite_value_at_zero(k) == H.hermeval(0.0, np.eye(14)[k])


def test_polynomial_hermite_coefficients_by_quadrature() -> None:
    coeffs = [Fraction(3), Fraction(-1, 2), Fraction(0), Fraction(2), Fraction(1, 3)]
    exact = polynomial_hermite_coefficients(coeffs)
    nodes, weights = H.hermegauss(20)
    weights = weights / np.sqrt(2 * np.pi)
    p = np.polyval([float(c) for c in reversed(coeffs)], nodes)
    for k, c in enumerate(exact):
        assert np.isclose(float(c), np.sum(weights * p * H.hermeval(nodes, np.eye(5)[k])), atol=1e-12)


def test_multi_indices_are_complete_and_counted() -> None:
    for r in range(1, 5):
        for k in range(0, 5):
            idx = multi_indices(r, k)
            assert len(idx) == len(set(idx)) == count_multi_indices(r, k)
            assert all(sum(a) == k and len(a) == r for a in idx)
