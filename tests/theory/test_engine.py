"""Both engines implement the one protocol ``Target`` delegates to (issue 10 item 8; THEORY.md §2)."""

from __future__ import annotations

import inspect
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy.polys.domains import QQ

from theory import Target
from theory.budget import exact_meter
from theory.engine import Engine
from theory.exact import ExactEngine
from theory.numeric import NumericEngine
from theory.polyalgebra import gaussian_expectation, gaussian_norm2, polynomial_ring

PROTOCOL = sorted(name for name in vars(Engine) if not name.startswith("_") and name != "r")


@pytest.mark.parametrize("cls", [ExactEngine, NumericEngine])
def test_engines_have_every_protocol_member_with_the_same_signature(cls: type) -> None:
    for name in PROTOCOL:
        assert hasattr(cls, name), (cls.__name__, name)
        proto = getattr(Engine, name)
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
    assert gaussian_norm2(p, m, qn, exact_meter()) == gaussian_expectation(p * p, [1 / n for n in qn])
