"""No silent wrong answer and no leaked exception in ``theory`` (issue 19 item 2).

Digits of other scripts and look-alike letters are refused, never read as numbers (hypothesis over the
Unicode categories); huge shifts of kinked activations give the answer of the constant they are (or a
one-line refusal), never a wrong one; Python's own errors (``OverflowError``, sympy's ``CoercionFailed``, the
int-string limit) never reach the user; ``--json`` stays strict JSON with an infinite value.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sim.cli import main as sim_main
from sim.exits import EXIT_BAD_INPUT
from tests.faults.clis import call, failure_line
from theory import Target, activation
from theory.activations import MAX_ORDER, MAX_SCALE, MAX_SHIFT
from theory.cli import json_safe
from theory.cli import main as theory_main
from theory.kinks import FAR_KINK
from theory.validate import Interval, check_scalar

# characters that look like or stand for a digit, a letter or an operator but are not ASCII
NON_ASCII_DIGITS = st.characters(categories=["Nd", "No", "Nl"]).filter(lambda c: not c.isascii())
LOOK_ALIKES = st.sampled_from(["х", "Х", "ｘ", "𝑥", "⁴", "₁", "①", "Ⅳ", "٫", "−", "∗", "＋", "\u00a0", "\u2009",
                               "\u200b", "е"])
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(c=st.one_of(NON_ASCII_DIGITS, LOOK_ALIKES), where=st.sampled_from(["x1 + {}*x2", "x{}", "{}", "x1**{}",
                                                                            "He{}(x1)", "relu(x1 - {})"]))
def test_non_ascii_digits_and_look_alikes_are_refused_in_targets(c: str, where: str) -> None:
    with pytest.raises(ValueError) as info:
        Target.parse(where.format(c))
    assert f"U+{ord(c):04X}" in str(info.value) or "unknown name" in str(info.value), str(info.value)


@SETTINGS
@given(c=st.one_of(NON_ASCII_DIGITS, LOOK_ALIKES), where=st.sampled_from(["relu + {}*u", "u**{}", "He{}",
                                                                            "relu[{}:]", "tanh(u + {})"]))
def test_non_ascii_digits_are_refused_in_activations(c: str, where: str) -> None:
    with pytest.raises(ValueError, match="unknown activation"):
        activation(where.format(c))


@SETTINGS
@given(c=NON_ASCII_DIGITS)
def test_non_ascii_digits_are_refused_as_numbers(c: str) -> None:
    for constraint in (Interval(float, 0, None), Interval(int, 0, None)):
        with pytest.raises(ValueError, match="must be"):
            check_scalar(c, "x", constraint)


@pytest.mark.parametrize("main, argv", [
    (theory_main, ["hermite", "relu", "--kmax", "৪"]),
    (theory_main, ["error", "x1", "--kappa", "２"]),
    (theory_main, ["error", "x1", "--noise", "٠.5"]),
    (theory_main, ["analyze", "x1 + ৪*x2"]),
    (sim_main, ["run", "--d", "৪৪", "--device", "cpu"]),
    (sim_main, ["run", "--lr0", "１.5", "--device", "cpu"]),
    (sim_main, ["run", "--seeds", "৪", "--device", "cpu"]),
])
def test_non_ascii_digits_on_the_command_line_exit_2(main, argv: list[str], capsys) -> None:  # noqa: ANN001
    res = call(main, argv, capsys)
    failure_line(res, EXIT_BAD_INPUT, "ASCII")


SHIFT = st.one_of(st.floats(FAR_KINK + 0.5, 1e300), st.sampled_from([10.0, 1e6, 1e300]))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(c=SHIFT, sign=st.sampled_from([1, -1]), f=st.sampled_from(["sign", "relu", "abs"]))
@example(c=1e300, sign=1, f="sign").via("the issue's example")
@example(c=10.0, sign=1, f="sign").via("the issue's example")
@example(c=1e6, sign=-1, f="relu")
@example(c=12.5, sign=-1, f="abs")
def test_a_huge_shift_gives_the_right_answer_or_a_refusal(c: float, sign: int, f: str) -> None:
    """``f(x1 − c)`` with ``|c| > FAR_KINK`` is constant or linear where the Gaussian has any mass at float64
    precision, so ``f(x1 − c) + x2`` has one relevant direction and leap index 1 (``x2``, ``x1 + x2`` or
    ``x2 − x1``) — never the leap index 6 and dimension 2 that a kink at 1e300 gave (issue 19) — or is refused
    in one line naming a limit (a number beyond float64's digits, a target too large to square)."""
    shift = sign * c
    try:
        g = Target.parse(f"{f}(x1 - ({shift!r})) + x2")
        dim, leap = g.relevant_subspace().shape[1], g.leap_index()
    except ValueError as exc:
        assert "MAX_" in str(exc) and "\n" not in str(exc), str(exc)
        return
    assert (dim, leap) == (1, 1), (shift, f, dim, leap)


def test_the_issue_example_is_answered_not_refused() -> None:
    g = Target.parse("sign(x1 - 1e300) + x2")
    assert (g.relevant_subspace().shape[1], g.leap_index()) == (1, 1)
    assert abs(float(g.norm2()) - 2.0) < 1e-9  # sign(x1 − 1e300) = −1: ‖−1 + x2‖² = 2


@pytest.mark.parametrize("spec, limit", [
    ("sign(u - 1e300)", "MAX_SHIFT"), ("relu(u - 1e300)", "MAX_SHIFT"), ("gelu(u + 1e300)", "MAX_SHIFT"),
    ("relu(1e-300*u - 1)", "MAX_SCALE"), ("abs(1e300*u - 1)", "MAX_SCALE"), ("tanh(1e7*u)", "MAX_SCALE"),
    ("relu[100000000:]", "MAX_ORDER"), ("relu[" + "9" * 5000 + ":]", "MAX_ORDER"),
])
def test_activation_arguments_past_their_limits_are_refused(spec: str, limit: str) -> None:
    with pytest.raises(ValueError, match=limit) as info:
        activation(spec).hermite(1)
    assert "\n" not in str(info.value)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(b=st.integers(-int(MAX_SHIFT), int(MAX_SHIFT)),
       a=st.sampled_from([1 / MAX_SCALE, 1e-3, 0.5, 1.0, 7.0, MAX_SCALE]),
       f=st.sampled_from(["sign", "relu", "abs", "erf"]))
def test_activation_arguments_within_their_limits_give_finite_coefficients(b: int, a: float, f: str) -> None:
    act = activation(f"{f}({a!r}*u + ({a * b!r}))")
    for k in range(3):
        assert math.isfinite(float(act.hermite(k)))


@pytest.mark.parametrize("basis", [[[math.nan, 0]], [[math.inf, 1]], [[0, -math.inf]], [["1", 0]], [[None, 0]]])
def test_a_non_finite_subspace_is_a_value_error(basis: list) -> None:
    with pytest.raises(ValueError, match="not a finite real number"):
        Target.parse("x1 + x1*x2").predicted_error(basis, 1)


def test_python_errors_never_reach_the_user() -> None:
    with pytest.raises(ValueError, match="MAX_ORDER"):
        Target.parse("x1").hermite_tensor(10**6)  # was: the int-string limit
    with pytest.raises(ValueError, match="MAX_SHIFT"):
        activation("sign(u - 1e300)")  # was: OverflowError
    with pytest.raises(ValueError, match=f"{MAX_ORDER}"):
        activation("relu").hermite(10**7)


def test_json_stays_strict_with_an_infinite_value(capsys) -> None:
    res = call(theory_main, ["analyze", "1e300*x1", "--json"], capsys)  # ‖g‖² = 1e600 is inf as a float
    assert res.status == 0, res.err
    data = json.loads(res.out)
    assert data["norm2"]["value"] == "inf" and data["norm2"]["exact"].startswith("1" + "0" * 600)
    assert json_safe({"a": [math.inf, -math.inf, math.nan, 1.5]}) == {"a": ["inf", "-inf", "nan", 1.5]}
