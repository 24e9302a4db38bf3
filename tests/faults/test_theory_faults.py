"""Faults of the ``theory`` side (issue 9 items 4, 6, 7): every bad request ends in one line, quickly, and
every accepted target is analysed within the stated budget (:mod:`theory.budget`) or refused in one line.

Representative cases through the API and through the CLI (subprocess: exit 2, one line on stderr, no
traceback), a closed output pipe, regression cases of the analysis budget (values checked against closed
forms), and a hypothesis fuzz of the target parser and of the analysis of what it accepts (``norm2``, the
staircase, the relu-aware staircase): a ``ValueError`` or success, never another exception, never more than
``CASE_SECONDS`` or ``CASE_BYTES`` per case. Time by ``perf_counter`` against a generous factor (``SLACK``, a
loaded 2-core machine) of the stated budgets; memory by the resident set's high-water mark, reset before
each case (Linux ``/proc/self/clear_refs``), or else by ``tracemalloc``'s peak (which sees sympy's objects and
numpy's buffers, but slows sympy several times: ``TRACED_SLOWDOWN``).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import tracemalloc
from math import factorial
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from theory import Target, activation
from theory.budget import BUDGET_SECONDS, MAX_POINT_OPERATIONS, MAX_TENSOR_ENTRIES, MAX_TERM_OPERATIONS, Meter, metered
from theory.hermite import double_factorial
from theory.parse import MAX_DEGREE, MAX_NUMBER_DIGITS, MAX_TERMS, MAX_VARIABLES
from theory.quadrature import GRID_FACTOR
from theory.staircase import staircase_levels

PARSE_SECONDS = 1.5  # parsing any accepted text (the expansion of MAX_TERMS terms: about 1 s on one idle core)
SLACK = 3  # a 2-core machine under load ≈ 6 does the same work about 3 times slower than an idle one
REQUESTS = 3  # norm2, staircase(), staircase(activation="relu")
CASE_SECONDS = SLACK * (PARSE_SECONDS + REQUESTS * BUDGET_SECONDS)
CASE_BYTES = 500 * 2**20
TRACED_SLOWDOWN = 5  # tracemalloc hooks every allocation: sympy-heavy work runs about 5 times slower
REFUSE_SECONDS = 1.0
_HWM = Path("/proc/self/clear_refs")


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


# -- the analysis budget (issue 9 item 4: "refused within a second ... or computed within a stated budget") ----
def _hermite_norm2(n: int, gamma2: int) -> int:
    """``E[He_n(γz)²]``, ``z ~ N(0, 1)``, from ``He_n(γx) = Σ_i γ^{n−2i} (γ²−1)^i n!/(i!(n−2i)!2^i) He_{n−2i}(x)``
    and ``E[He_j²] = j!`` (independent of the engine's Hermite algebra)."""
    return sum((factorial(n) // (factorial(i) * factorial(n - 2 * i) * 2**i)) ** 2 * gamma2 ** (n - 2 * i)
               * (gamma2 - 1) ** (2 * i) * factorial(n - 2 * i) for i in range(n // 2 + 1))


def _timed(fn: object) -> tuple[object, float]:
    start = time.perf_counter()
    return fn(), time.perf_counter() - start


@pytest.mark.parametrize("text, gamma2, n", [("He30(x1+x2+x3)", 3, 30), ("He40((x1+x2))", 2, 40)])
def test_hermite_of_sums_parse_fast_and_analyse_exactly(text: str, gamma2: int, n: int) -> None:
    """Once 3.9 s and 3.8 s to parse under load (sympy.expand of He_k of a sum); now the recurrence in a ring.
    ``x1+…+x_m = √m z``: ``‖He_n(x1+…+x_m)‖² = E[He_n(√m z)²]``; an even target has the leap-1 staircase {0}."""
    g, seconds = _timed(lambda: Target.parse(text))
    assert seconds < SLACK * PARSE_SECONDS
    norm2, seconds = _timed(g.norm2)
    assert norm2 == _hermite_norm2(n, gamma2) and seconds < SLACK * BUDGET_SECONDS
    assert g.staircase().dims == (0,) and g.staircase(activation="relu").dims == (0,)


def test_power_of_a_sum_is_computed_within_the_budget() -> None:
    """``(x1+x2+x3)**60``: 1,159,401 Hermite terms (19 s under load before); ``E[(√3 z)^120] = 3^60 · 119!!``."""
    g = Target.parse("(x1+x2+x3)**60")
    norm2, seconds = _timed(g.norm2)
    assert norm2 == 3**60 * double_factorial(119) and seconds < SLACK * BUDGET_SECONDS
    relu_of_it = Target.parse("relu((x1+x2+x3)**60)")  # kinks: factoring the argument is not attempted
    value, seconds = _timed(relu_of_it.norm2)
    assert value == pytest.approx(3**60 * double_factorial(119), rel=1e-10) and seconds < SLACK * BUDGET_SECONDS


@pytest.mark.parametrize("text, request_, limit", [
    ("He64(x1+x2+x3)", None, f"MAX_TERMS = {MAX_TERMS:,}"),  # 30 s under load before: 24,497 terms expanded
    ("(" + "*".join(f"x{i}" for i in range(1, 33)) + ")**2", "norm2", f"MAX_TERM_OPERATIONS = {MAX_TERM_OPERATIONS:,}"),
    ("tanh(x1)*He30(x2+x3+x4)", "norm2", f"MAX_POINT_OPERATIONS = {MAX_POINT_OPERATIONS:,}"),
    ("sign(x1*x2*x3*x4*x5*x6)", "norm2", f"GRID_FACTOR = {GRID_FACTOR}"),  # was a MemoryError (547 GiB)
    ("x100", "tensor", f"MAX_TENSOR_ENTRIES = {MAX_TENSOR_ENTRIES:,}"),
])
def test_oversized_analyses_are_refused_up_front(text: str, request_: str | None, limit: str) -> None:
    """Refused before the work: the Hermite expansion's 2^32 terms, a grid evaluation of 1.9 M points × 3,000
    operations, a grid of 48^6 points, a tensor of 100^4 entries."""
    with pytest.raises(ValueError) as info:
        start = time.perf_counter()
        g = Target.parse(text)  # parsing He30 of a sum is bounded on its own (above)
        start = start if request_ is None else time.perf_counter()
        _ = g.norm2() if request_ == "norm2" else g.hermite_tensor(4)
    assert time.perf_counter() - start < REFUSE_SECONDS
    assert limit in str(info.value) and "\n" not in str(info.value)


def test_a_staircase_beyond_the_budget_is_refused_when_it_reaches_it() -> None:
    """Its cost depends on the levels found on the way: each step is charged before it runs, and the request
    stops at the first one that would pass the limit (this target took 37 s under load before). Shown with a
    limit of a tenth of ``MAX_TERM_OPERATIONS`` (a full one costs ``BUDGET_SECONDS``; the fuzz meets those)."""
    g = Target.parse("(x1+x2)*(x3+x4)*(x5+x6)*(x7+x8)*(x9+x10)*(x1+x3+x5+x7+x9)**5 + x1")
    meter = Meter(MAX_TERM_OPERATIONS // 10, "MAX_TERM_OPERATIONS", "term operations", "use a smaller target")
    start = time.perf_counter()
    with pytest.raises(ValueError, match=f"MAX_TERM_OPERATIONS = {MAX_TERM_OPERATIONS // 10:,} term operations"):
        with metered(meter):
            staircase_levels(g.engine, 1, None)
    assert 0 < meter.spent <= meter.limit and time.perf_counter() - start < SLACK * BUDGET_SECONDS / 10 + 0.5


def test_the_budget_is_stated_where_users_read_it() -> None:
    """The Target docstring states the limits the meters enforce (and the message names them, above)."""
    import theory.target

    doc = " ".join(theory.target.__doc__.split())
    for stated in (f"MAX_TERM_OPERATIONS = {MAX_TERM_OPERATIONS:,}", f"MAX_POINT_OPERATIONS = {MAX_POINT_OPERATIONS:,}",
                   f"BUDGET_SECONDS = {BUDGET_SECONDS}"):
        assert stated in doc, stated


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
# targets near the limits: Hermite polynomials and powers of linear forms, products and sums of them, activations
_LINEAR = st.lists(st.tuples(st.sampled_from(["", "2*", "-", "1/3*"]), st.integers(1, 12)), min_size=1, max_size=6
                   ).map(lambda ts: "+".join(f"{c}x{i}" for c, i in ts))
_BLOCK = st.one_of(st.tuples(st.integers(0, 64), _LINEAR).map(lambda t: f"He{t[0]}({t[1]})"),
                   st.tuples(_LINEAR, st.integers(0, 64)).map(lambda t: f"({t[0]})**{t[1]}"),
                   st.tuples(st.integers(1, 12), st.integers(1, 12)).map(lambda t: f"x{t[0]}**{t[1]}"))
_SUM = st.lists(st.lists(_BLOCK, min_size=1, max_size=3).map("*".join), min_size=1, max_size=3).map("+".join)
_SIZED = st.one_of(_SUM, st.tuples(st.sampled_from(["relu", "tanh", "sign", "abs"]), _SUM).map("{0[0]}({0[1]})".format),
                   st.tuples(st.sampled_from(["relu", "tanh"]), _LINEAR, _SUM).map("{0[0]}({0[1]})*({0[2]})".format))


def _analyse(text: str) -> None:
    """Parse, then what a theorist asks first: ``‖g‖²``, the staircase, the relu-aware staircase."""
    g = Target.parse(text)
    _ = (g.degree, g.is_rational_polynomial)
    g.norm2()
    g.staircase()
    g.staircase(activation="relu")


def _measured(fn: object) -> tuple[float, int, int]:
    """``(seconds, peak bytes above the start, slowdown of the measurement)`` of ``fn()``."""
    try:
        _HWM.write_text("5")  # resets VmHWM, the resident set's high-water mark, to the current resident set
        base = _status("VmRSS")
    except OSError:
        base = None
        tracemalloc.start()
    start = time.perf_counter()
    try:
        fn()
    finally:
        elapsed = time.perf_counter() - start
        if base is None:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
    return (elapsed, _status("VmHWM") - base, 1) if base is not None else (elapsed, peak, TRACED_SLOWDOWN)


def _status(field: str) -> int:
    return int(re.search(rf"{field}:\s+(\d+) kB", Path("/proc/self/status").read_text()).group(1)) * 1024


def _check_case(text: str) -> None:
    """A ValueError of one line or success, within ``CASE_SECONDS`` and ``CASE_BYTES``."""
    def case() -> None:
        try:
            _analyse(text)
        except ValueError as exc:
            assert "\n" not in str(exc), (text, str(exc))

    elapsed, peak, slowdown = _measured(case)
    assert elapsed < slowdown * CASE_SECONDS, (text, elapsed)
    assert peak < CASE_BYTES, (text, peak)


@given(_TEXTS)
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fuzz_any_text_is_refused_or_analysed_within_the_budget(text: str) -> None:
    _check_case(text)


@given(_SIZED)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fuzz_targets_near_the_limits_are_refused_or_analysed_within_the_budget(text: str) -> None:
    _check_case(text)
