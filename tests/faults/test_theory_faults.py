"""Faults of the ``theory`` side (issue 9 items 4, 6, 7): every bad request ends in one line, quickly.

Representative cases through the API and through the CLI (subprocess: exit 2, one line on stderr, no
traceback), a closed output pipe, and a hypothesis fuzz of the target parser: a ``ValueError`` or success,
never another exception, never more than ``CASE_SECONDS`` or ``CASE_BYTES`` per case (time by
``perf_counter``, memory by ``tracemalloc``'s peak, which sees sympy's objects and numpy's buffers).
"""

from __future__ import annotations

import subprocess
import sys
import time
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from theory import Target, activation
from theory.parse import MAX_DEGREE, MAX_NUMBER_DIGITS, MAX_TERMS, MAX_VARIABLES

CASE_SECONDS = 2.0
CASE_BYTES = 500 * 2**20
REFUSE_SECONDS = 1.0


@pytest.mark.parametrize("text, limit", [
    ("x1000000", f"MAX_VARIABLES = {MAX_VARIABLES}"),
    ("x1000", f"MAX_VARIABLES = {MAX_VARIABLES}"),
    ("((x1**64)**64)**64", f"MAX_DEGREE = {MAX_DEGREE}"),
    ("1e999999999", f"MAX_NUMBER_DIGITS = {MAX_NUMBER_DIGITS}"),
    ("He64(He64(He64(x1)))", f"MAX_DEGREE = {MAX_DEGREE}"),
    ("(x1+x2+x3+x4+x5+x6)**40", f"MAX_TERMS = {MAX_TERMS:,}"),
    ("(x1+x2+x3+x4+x5+x6)*" * 40 + "1", f"MAX_TERMS = {MAX_TERMS:,}"),
    ("((10**64)**64)**64", f"MAX_NUMBER_DIGITS = {MAX_NUMBER_DIGITS}"),
    ("(relu(x1)**8)**9", f"MAX_DEGREE = {MAX_DEGREE}"),
])
def test_oversized_targets_are_refused_within_a_second(text: str, limit: str) -> None:
    start = time.perf_counter()
    with pytest.raises(ValueError) as info:
        Target.parse(text)
    assert time.perf_counter() - start < REFUSE_SECONDS
    assert limit in str(info.value) and "\n" not in str(info.value)


def test_requests_inside_the_limits_are_computed() -> None:
    assert Target.parse("He64(x1)").degree == 64
    assert Target.parse("x100").staircase().dims == (0, 1)
    assert Target.parse("(x1 + x2)**8").norm2() > 0
    with pytest.raises(ValueError, match="r must be an integer in \\[1, 100\\]"):
        Target.parse("x1", r=101)


@pytest.mark.parametrize("kwargs, match", [(dict(noise=-1.0), "noise"), (dict(noise=float("nan")), "noise"),
                                           (dict(kappa=-1), "kappa")])
def test_bad_error_arguments_are_refused(kwargs: dict, match: str) -> None:
    args = dict(U=[], kappa=1) | kwargs
    with pytest.raises(ValueError, match=match):
        Target.parse("x1 + x1*x2").predicted_error(**args)


def test_overflowing_targets_are_named_not_stored() -> None:
    with pytest.raises(ValueError, match="not finite on the quadrature grid"):
        Target.parse("tanh(x1)*1e200*x1**60").norm2()


@pytest.mark.parametrize("bad", ["He65", "relu(u**2)", "relu*relu", "1e999999999*u", "u" + "**2" * 50])
def test_bad_activation_specs_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        activation(bad)


def _cli(*argv: str, stdin_text: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "theory", *argv], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("argv, fragment", [
    (["analyze", "x1000"], "MAX_VARIABLES"),
    (["staircase", "x1000000"], "MAX_VARIABLES"),
    (["leap", "((x1**64)**64)**64"], "MAX_DEGREE"),
    (["error", "x1 + x1*x2", "--noise", "-1"], "noise must be"),
    (["error", "x1 + x1*x2", "--noise", "nan"], "noise must be"),
    (["stairway", "1e999999999*x1"], "MAX_NUMBER_DIGITS"),
    (["staircase", "x1 + x1*x2", "--activation", "relu*relu"], "unknown activation"),
])
def test_cli_faults_exit_2_with_one_line(argv: list[str], fragment: str) -> None:
    proc = _cli(*argv)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and fragment in proc.stderr and "Traceback" not in proc.stderr


def test_closed_pipe_ends_quietly() -> None:
    """``python -m theory … | head -1``: the reader closes the pipe after one line of a 70 kB answer."""
    target = " + ".join(f"x{i}*x{i + 1}" for i in range(1, 40))
    proc = subprocess.Popen([sys.executable, "-m", "theory", "staircase", target, "--leap", "2", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline()
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert b"Traceback" not in err and b"BrokenPipe" not in err and proc.returncode == 0


# -- fuzz ------------------------------------------------------------------------------------------
_ATOMS = st.one_of(
    st.sampled_from(["x1", "x2", "x3", "x10", "x100", "x101", "x0", "u", "1", "0", "0.5", "1e30", "1e400", "9" * 320,
                     "relu", "tanh", "abs", "sign", "He3", "He64", "He65", "foo", "__import__"]),
    st.integers(1, 10**7).map(lambda i: f"x{i}"),
    st.integers(0, 10**9).map(lambda e: f"1e{e}"),
)
_OPS = st.sampled_from(["+", "-", "*", "/", "**", "^", "(", ")", " ", "**64", "**2", ")**64", "(x1+x2+x3)"])
_TEXTS = st.one_of(
    st.lists(st.one_of(_ATOMS, _OPS), max_size=30).map("".join),
    st.recursive(_ATOMS, lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(lambda t: f"({t[0]}{t[1]}{t[2]})"),
        st.tuples(inner, st.integers(0, 70)).map(lambda t: f"({t[0]})**{t[1]}"),
        st.tuples(st.sampled_from(["relu", "tanh", "sign", "He2", "He40", "abs"]), inner).map(lambda t: f"{t[0]}({t[1]})"),
    ), max_leaves=12),
    st.text(max_size=40),
)


@given(_TEXTS)
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fuzz_parser_value_error_or_success_within_limits(text: str) -> None:
    tracemalloc.start()
    start = time.perf_counter()
    try:
        g = Target.parse(text)
        _ = (g.degree, g.is_rational_polynomial)  # expansion, where size blows up if a limit leaks
    except ValueError as exc:
        assert "\n" not in str(exc)
    finally:
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < CASE_SECONDS, (text, elapsed)
    assert peak < CASE_BYTES, (text, peak)
