"""The safe parser (THEORY.md §1): exact reading of valid input, refusal of everything else."""

import re
from pathlib import Path

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from theory import Target, activation
from theory.parse import tokenize

x1, x2, x3 = (sympy.Symbol(f"x{i}", real=True) for i in (1, 2, 3))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("x1 + x1*x2", x1 + x1 * x2),
        ("x1 + x1*x2 + x1*x2*x3", x1 + x1 * x2 + x1 * x2 * x3),
        ("(x1 + x2)**2", (x1 + x2) ** 2),
        ("x1^3 - 3*x1", x1**3 - 3 * x1),
        ("-x1**2", -(x1**2)),
        ("2**-0 * x1", x1),
        ("0.1*x1", sympy.Rational(1, 10) * x1),
        ("1e-2*x2", sympy.Rational(1, 100) * x2),
        ("x1/4 - x2/(2*3)", x1 / 4 - x2 / 6),
        ("He2(x1)", x1**2 - 1),
        ("He3(x1 + x2)", sympy.expand((x1 + x2) ** 3 - 3 * (x1 + x2))),
    ],
)
def test_valid_polynomials_parse_exactly(text: str, expected: sympy.Expr) -> None:
    assert sympy.expand(Target.parse(text).expr - expected) == 0


def test_activations_become_function_applications() -> None:
    g = Target.parse("tanh(x1) - relu(x2)/2")
    names = sorted(f.func.__name__ for f in g.expr.atoms(sympy.Function))
    assert names == ["relu", "tanh"]
    assert not g.is_polynomial and g.r == 2


@pytest.mark.parametrize(
    "text, token",
    [
        ("__import__('os').system('touch /tmp/giantstep-pwned')", "__import__"),
        ("x1.__class__", "'.'"),
        ("lambda: x1", "lambda"),
        ("eval('1')", "eval"),
        ("exp(x1)", "exp"),
        ("x1 + 'a'", "\"'\""),
        ("x1; x2", "';'"),
        ("[x1]", "'['"),
        ("x1 if x2 else x3", "if"),
        ("Symbol('x')", "Symbol"),
        ("sympify('x1')", "sympify"),
        ("x1 @ x2", "'@'"),
    ],
)
def test_injection_and_unknown_names_are_refused_by_name(text: str, token: str) -> None:
    with pytest.raises(ValueError, match=re.escape(token)):
        Target.parse(text)
    assert not Path("/tmp/giantstep-pwned").exists()


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "empty"),
        ("x1 +", "operand is missing"),
        ("(x1 + x2", "expected ')'"),
        ("x1**x2", "exponent"),
        ("x1**-1", "exponent"),
        ("x1**100", "exponent"),
        ("x1/x2", "division by a non-constant"),
        ("x1/0", "division by zero"),
        ("x0 + x1", "numbered from 1"),
        ("relu x1", "expected '('"),
        ("x1 x2", "unexpected 'x2'"),
    ],
)
def test_malformed_input_gets_one_clear_line(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)) as info:
        Target.parse(text)
    assert "\n" not in str(info.value)


def test_length_and_depth_limits() -> None:
    with pytest.raises(ValueError, match="characters long"):
        Target.parse("x1+" * 5000 + "x1")
    with pytest.raises(ValueError, match="nested deeper"):
        Target.parse("(" * 500 + "x1" + ")" * 500)


def test_r_may_add_irrelevant_coordinates_but_not_drop_used_ones() -> None:
    assert Target.parse("x1*x2", r=5).r == 5
    with pytest.raises(ValueError, match="smaller than the largest variable index"):
        Target.parse("x1*x3", r=2)


@given(st.text(max_size=40))
@settings(max_examples=300, deadline=None)
def test_arbitrary_strings_either_parse_or_raise_value_error(text: str) -> None:
    try:
        Target.parse(text)
    except ValueError:
        pass


def test_activation_specs_use_the_same_safe_parser() -> None:
    assert activation("u**3 - 3*u").hermite(3) == 6
    for bad in ("__import__('os')", "u.real", "relu[x:]", "x1**2", "foo"):
        with pytest.raises(ValueError):
            activation(bad)


def test_tokenizer_positions() -> None:
    toks = tokenize("x1 + 2.5*tanh(x2)")
    assert [(t.kind, t.text, t.pos) for t in toks[:4]] == [("name", "x1", 0), ("op", "+", 3), ("number", "2.5", 5),
                                                              ("op", "*", 8)]


# -- He_k and expansion in a sparse ring (issue 9 item 4): the very expressions sympy.expand builds -------------
_ARGS = ["x1", "x1 + x2", "2", "1/3", "x1/2 - 3", "x1/3 + x2/6 - 2/5", "(x1 + x2)**3*x3", "relu(x1)",
         "relu(x1*(x1 + 1)) + x2", "tanh(x1)*x2 - 1/7", "relu((x1 + 1)**2)**2 - x1", "He3(x1 + x2)*relu(x2)",
         "sign(relu(x1*(x2 + 1)) - x3)", "x1 - x1", "1e30*x1 + 1e-30"]


def _parsed(text: str) -> sympy.Expr:
    from theory.parse import parse_expression, target_variable
    from theory.registry import NAMED

    return parse_expression(text, target_variable, {n: sympy.Function(n) for n in NAMED}, "")


@pytest.mark.parametrize("text", _ARGS)
def test_hermite_by_the_recurrence_in_a_ring_is_sympys_expansion(text: str) -> None:
    """``He_k(arg)`` built by ``He_{j+1} = u He_j − j He_{j−1}`` in a ring is structurally the expression
    ``sympy.expand(hermite_e(k, arg))`` (same tree, ``srepr`` equal), function arguments expanded as sympy does."""
    from theory.hermite import hermite_e
    from theory.polyalgebra import expand_in_ring, hermite_of

    arg = _parsed(text)
    for k in (0, 1, 2, 3, 5, 8):
        assert sympy.srepr(hermite_of(k, arg)) == sympy.srepr(sympy.expand(hermite_e(k, arg))), k
    assert sympy.srepr(expand_in_ring(arg)) == sympy.srepr(sympy.expand(arg))


@given(st.lists(st.tuples(st.integers(-4, 4), st.integers(1, 4), st.integers(0, 3)), min_size=1, max_size=4),
       st.integers(0, 12))
@settings(max_examples=40, deadline=None)
def test_parsed_hermite_of_a_polynomial_is_sympys_expansion(terms: list, k: int) -> None:
    text = " + ".join(f"({c})*x{i}**{e}" for c, i, e in terms)
    x = {i: sympy.Symbol(f"x{i}", real=True) for i in range(1, 5)}
    arg = sum((c * x[i] ** e for c, i, e in terms), sympy.Integer(0))
    from theory.hermite import hermite_e

    assert Target.parse(f"He{k}({text})").expr == sympy.expand(hermite_e(k, arg))


def test_the_term_bound_of_hermite_counts_every_power() -> None:
    """``He_k(u) = Σ_{i ≡ k (2)} h_i u^i``: ``He64(x1+x2+x3)`` has 24,497 monomials (all degrees 0, 2, …, 64
    in three variables), over ``MAX_TERMS``, although ``(x1+x2+x3)**64`` alone has 2,145."""
    from theory.parse import MAX_TERMS

    assert len(sympy.Add.make_args(Target.parse("(x1+x2+x3)**64", r=3).engine.g.as_expr())) == 2145
    assert sum((i + 1) * (i + 2) // 2 for i in range(0, 65, 2)) == 24_497 > MAX_TERMS
    with pytest.raises(ValueError, match="24,497 terms"):
        Target.parse("He64(x1+x2+x3)")
