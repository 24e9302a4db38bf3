"""Both engines implement the one protocol ``Target`` delegates to (issue 10 item 8; THEORY.md §2)."""

from __future__ import annotations

import inspect
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy.polys.domains import QQ

from theory import Target
from theory.budget import exact_meter, metered
from theory.engine import AnalysisEngine
from theory.exact import ExactEngine
from theory.numeric import NumericEngine
from theory.polyalgebra import gaussian_expectation, gaussian_norm2, polynomial_ring

PROTOCOL = sorted(name for name in vars(AnalysisEngine) if not name.startswith("_") and name != "r")


@pytest.mark.parametrize("cls", [ExactEngine, NumericEngine])
def test_engines_have_every_protocol_member_with_the_same_signature(cls: type) -> None:
    for name in PROTOCOL:
        assert hasattr(cls, name), (cls.__name__, name)
        proto = getattr(AnalysisEngine, name)
        if inspect.isfunction(proto):
            assert list(inspect.signature(getattr(cls, name)).parameters) == list(inspect.signature(proto).parameters)


@pytest.mark.parametrize("text, method, exact", [("x1 + x1*x2", "auto", True), ("x1 + x1*x2", "numeric", False),
                                                  ("tanh(x1) + x2", "auto", False)])
def test_target_picks_one_engine_and_caches_once(text: str, method: str, exact: bool) -> None:
    g = Target.parse(text, method=method)
    assert g.engine.exact is exact and g.engine is g.engine
    first = g.staircase()
    assert g.staircase() is first and g.norm2() == g.norm2()
    assert g.staircase(activation="relu") is g.staircase(activation="relu")


@given(st.integers(1, 4), st.lists(st.tuples(st.lists(st.integers(0, 3), min_size=4, max_size=4),
                                             st.fractions(-5, 5, max_denominator=4)), min_size=1, max_size=6),
       st.lists(st.fractions(Fraction(1, 3), 5, max_denominator=3), min_size=4, max_size=4))
@settings(max_examples=60, deadline=None)
def test_gaussian_norm2_equals_the_expectation_of_the_square(m: int, terms: list, norms: list) -> None:
    """``E[p²]`` by the heat operator (no squaring) = moments of the expanded square (independent)."""
    R = polynomial_ring(4)
    p = R.zero
    for mon, c in terms:
        p += R.from_dict({tuple(e if j < m else 0 for j, e in enumerate(mon)): QQ(c.numerator, c.denominator)})
    qn = [QQ(n.numerator, n.denominator) for n in norms]
    with metered(exact_meter()):
        assert gaussian_norm2(p, m, qn) == gaussian_expectation(p * p, [1 / n for n in qn])


# -- the exact engine's algebra, each step against a second method (issue 9 item 4 rewrote them for speed) ---
_POLY = st.lists(st.tuples(st.lists(st.integers(0, 3), min_size=3, max_size=3), st.fractions(-5, 5, max_denominator=4)),
                 min_size=1, max_size=6)
_VECTORS = st.lists(st.lists(st.integers(-2, 2), min_size=3, max_size=3), min_size=1, max_size=2)


def _ring_poly(terms: list) -> object:
    R = polynomial_ring(3)
    p = R.zero
    for mon, c in terms:
        p += R.from_dict({tuple(mon): QQ(c.numerator, c.denominator)})
    return p


@given(st.lists(st.tuples(st.lists(st.integers(0, 2), min_size=3, max_size=3), st.fractions(-5, 5, max_denominator=4)),
                min_size=1, max_size=5))
@settings(max_examples=25, deadline=None)
def test_hermite_expansion_in_integers_equals_gaussian_moments(terms: list) -> None:
    """``c_α`` of the integer expansion = ``E[g He_α]`` from moments of the expanded product (a second method)."""
    from theory.hermite import hermite_e_coefficients, multi_indices
    from theory.polyalgebra import hermite_expansion

    g = _ring_poly(terms)
    R = g.ring
    with metered(exact_meter()):
        coeffs = hermite_expansion(g, 3)
    for k in range(sum(max(m) for m, _ in terms) + 2):
        for alpha in multi_indices(3, k):
            he = R.one
            for j, a in enumerate(alpha):
                he *= R.from_dict({tuple(n if i == j else 0 for i in range(3)): QQ(h)
                                   for n, h in enumerate(hermite_e_coefficients(a)) if h})
            assert coeffs.get(alpha, QQ(0)) == gaussian_expectation(g * he, [QQ(1)] * 3), alpha


@given(_POLY, _VECTORS)
@settings(max_examples=40, deadline=None)
def test_conditioning_by_the_backward_heat_along_v_is_the_heat_along_its_complement(terms: list, rows: list) -> None:
    """``h = exp(−½ Σ_j ∂²_{b_j}/‖b_j‖²) exp(½Δ) g`` (the engine) = ``exp(½ Σ_a ∂²_{c_a}/‖c_a‖²) g`` (THEORY §2.4)."""
    from theory.polyalgebra import heat
    from theory.subspace import ExactSubspace

    g = _ring_poly(terms)
    V = ExactSubspace.span(rows, 3)
    engine = ExactEngine(g, 3, ())
    C, norms = V.complement().orthogonal_basis()
    with metered(exact_meter()):
        assert engine.frame(V).h == heat(g, C, norms)


@given(_POLY, _VECTORS)
@settings(max_examples=40, deadline=None)
def test_substitution_in_integers_is_sympys_substitution(terms: list, rows: list) -> None:
    """``p(By)`` by shared prefix products in integers = sympy's ``compose`` of the generators (a second method)."""
    from theory.polyalgebra import LinearSubstitution, integral
    from theory.subspace import ExactSubspace

    p = _ring_poly(terms)
    R = p.ring
    basis, _ = integral(ExactSubspace.span(rows, 3).orthogonal_basis()[0])
    forms = [sum((R.gens[j] * b[i] for j, b in enumerate(basis)), R.zero) for i in range(3)]
    with metered(exact_meter()):
        assert LinearSubstitution.from_basis(R, basis)(p) == p.compose(list(zip(R.gens, forms)))


def test_meter_refuses_before_the_step_that_would_pass_its_limit() -> None:
    from theory.budget import Meter, hermite_terms

    meter = Meter(10, "LIMIT", "units", "do less")
    meter.charge(6, "a")
    meter.charge(4, "b")
    with pytest.raises(ValueError, match=r"^analysis refused before c: .* more than LIMIT = 10 units .*; do less$"):
        meter.charge(1, "c")
    assert meter.spent == 10
    # Σ_m Π_j (⌊m_j/2⌋ + 1): x1^4 x2^3 → He_{4,2,0} × He_{3,1} = 6 terms, x3^1 → 1
    assert hermite_terms([(4, 3, 0), (0, 0, 1)]) == 7


def test_the_open_meter_is_ambient_and_a_request_joins_one_of_its_limit() -> None:
    """``charge`` counts against the meter open in the block; a request inside a request of the same limit is
    part of it (one staircase, one budget), of another limit a request of its own; outside any, ``charge`` is a
    programming error."""
    from theory.budget import Meter, charge, exact_meter, numeric_meter, request

    with pytest.raises(RuntimeError, match="outside a request"):
        charge(1, "a")
    outer = Meter(10, "MAX_TERM_OPERATIONS", "units", "do less")
    with metered(outer):
        with request(exact_meter) as joined:
            charge(4, "a")
        with request(numeric_meter) as other:
            charge(7, "b")
        with pytest.raises(ValueError, match="^analysis refused before c: .*MAX_TERM_OPERATIONS = 10 units"):
            charge(7, "c")
    assert joined is outer and outer.spent == 4 and other is not outer and other.spent == 7
    with pytest.raises(RuntimeError):
        charge(1, "d")
