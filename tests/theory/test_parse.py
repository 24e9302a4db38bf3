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
