"""Speed of the symbolic side (staircase, leap index and stairway of a degree-6 polynomial in
6 variables with ~20 terms in < 2 s on one core, generic and σ-aware (THEORY.md §2.8); 12 Hermite
coefficients of every activation in < 1 s each; the analysis budget of ``theory.budget`` —
what a full budget costs in seconds, and the cases that once took tens of seconds).

Run with ``make bench``. Each benchmark builds a fresh ``Target`` per round so no cached analysis is reused.
"""

from __future__ import annotations

import random

import pytest

from theory import Target
from theory.activations import NAMED, _cached_raw, activation
from theory.budget import BUDGET_SECONDS, MAX_POINT_OPERATIONS, MAX_TERM_OPERATIONS, metered
from theory.registry import _quadrature
from theory.staircase import staircase_levels


def random_polynomial(seed: int, r: int = 6, degree: int = 6, terms: int = 20) -> str:
    rng = random.Random(seed)
    monomials: set[tuple[int, ...]] = set()
    while len(monomials) < terms:
        m = [0] * r
        for _ in range(rng.randint(1, degree)):
            m[rng.randrange(r)] += 1
        monomials.add(tuple(m))
    parts = []
    for m in sorted(monomials):
        c = rng.choice([-5, -3, -2, -1, 1, 2, 3, 4])
        parts.append(f"({c})*" + "*".join(f"x{i + 1}**{e}" for i, e in enumerate(m) if e))
    return " + ".join(parts)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bench_staircase_leap_stairway(benchmark, seed: int) -> None:
    text = random_polynomial(seed)

    def analyse() -> tuple:
        g = Target.parse(text)
        return g.staircase().dims, g.leap_index(), g.stairway(max_steps=3, kappas=(1, 2)).errors

    dims, leap, _ = benchmark(analyse)
    benchmark.extra_info.update({"target_terms": 20, "staircase_dims": dims, "leap": leap})
    assert benchmark.stats.stats.median < 2.0


@pytest.mark.parametrize("sigma", ["relu", "tanh", "relu + He3/6"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bench_sigma_aware_staircase_stairway(benchmark, seed: int, sigma: str) -> None:
    """σ-aware staircase and stairway (§2.8) of the same random polynomials, fresh ``Target`` per round."""
    text = random_polynomial(seed)
    activation(sigma).hermite_series(6)  # μ_k are computed once per activation, not per target

    def analyse() -> tuple:
        g = Target.parse(text)
        sc = g.staircase(activation=sigma)
        return sc.dims, len(sc.blocked), g.stairway(max_steps=3, kappas=(1, 2), activation=sigma).errors

    dims, blocked, _ = benchmark(analyse)
    benchmark.extra_info.update({"target_terms": 20, "activation": sigma, "dims_sigma": dims, "blocked": blocked})
    assert benchmark.stats.stats.median < 2.0


@pytest.mark.parametrize("name", list(NAMED) + ["He5", "relu[2:]"])
def test_bench_twelve_coefficients(benchmark, name: str) -> None:
    def coefficients() -> tuple:
        _quadrature.cache_clear()
        _cached_raw.cache_clear()
        activation.cache_clear()
        return activation(name).hermite_series(11).coefficients

    coeffs = benchmark.pedantic(coefficients, rounds=3, iterations=1)
    assert len(coeffs) == 12
    assert benchmark.stats.stats.median < 12 * 1.0


def _integrate_coefficients(text: str, kmax: int) -> list:
    """Baseline a user might write: c_α = ∫ g He_α φ by sympy's symbolic integration."""
    import sympy

    from theory.hermite import hermite_e

    x1, x2 = sympy.symbols("x1 x2", real=True)
    g = Target.parse(text).expr.subs({sympy.Symbol("x1", real=True): x1, sympy.Symbol("x2", real=True): x2})
    phi = sympy.exp(-(x1**2 + x2**2) / 2) / (2 * sympy.pi)
    out = []
    for a in range(kmax + 1):
        for b in range(kmax + 1 - a):
            f = g * hermite_e(a, x1) * hermite_e(b, x2) * phi
            out.append(sympy.integrate(f, (x1, -sympy.oo, sympy.oo), (x2, -sympy.oo, sympy.oo)))
    return out


@pytest.mark.parametrize("method", ["moment_algebra", "sympy_integrate_baseline"])
def test_bench_hermite_coefficients_vs_symbolic_integration(benchmark, method: str) -> None:
    text, kmax = "x1**3*x2 - 2*x1*x2 + x2**2 + 1", 3
    if method == "moment_algebra":
        run = lambda: [Target.parse(text).hermite_coefficient((a, b))  # noqa: E731
                       for a in range(kmax + 1) for b in range(kmax + 1 - a)]
        coeffs = benchmark(run)
    else:
        coeffs = benchmark.pedantic(lambda: _integrate_coefficients(text, kmax), rounds=1, iterations=1)
    expected = [Target.parse(text).hermite_coefficient((a, b)) for a in range(kmax + 1) for b in range(kmax + 1 - a)]
    assert [c - e for c, e in zip(coeffs, expected)] == [0] * len(expected)


# -- the analysis budget ----------------------------------------------------------------------------
BUDGET_REQUESTS = [  # requests that spend a large part of a full budget, exact and numeric
    ("(x1+x2+x3)**60", "norm2"),
    ("He36(x1+x2+x3)", "norm2"),
    ("He19(x1+x2+x3+x4)", "staircase"),
    ("x1 + He12(x1+x2+x3+x4+x5)*x6", "staircase"),
    ("(x1+x2+x3)**41", "staircase"),
    ("tanh(x1+x2+x3+x4+x5+x6)", "staircase"),
    ("relu(x1)*relu(x2)*relu(x3)", "staircase"),
]


@pytest.mark.parametrize("text, request_", BUDGET_REQUESTS)
def test_bench_budget_calibration(benchmark, text: str, request_: str) -> None:
    """Seconds a full budget (``MAX_TERM_OPERATIONS`` or ``MAX_POINT_OPERATIONS``) costs, from requests near it:
    ``seconds · limit / spent``; the budget's docstring states about ``BUDGET_SECONDS``."""
    spent = []

    def setup() -> tuple:
        g = Target.parse(text)  # parsing is not part of the request
        _ = g.engine
        return (g,), {}

    def run(g: Target) -> None:
        with metered(g.engine.meter()) as meter:
            if request_ == "norm2":
                g.engine.expansion() if g.engine.exact else g.norm2()
            else:
                staircase_levels(g.engine, 1, None)
        spent.append(meter)

    benchmark.pedantic(run, setup=setup, rounds=2, iterations=1)
    meter = spent[-1]
    full = MAX_TERM_OPERATIONS if meter.unit == "term operations" else MAX_POINT_OPERATIONS
    seconds = benchmark.stats.stats.median * full / max(meter.spent, 1)
    benchmark.extra_info.update({"spent": meter.spent, "unit": meter.unit, "seconds_per_full_budget": seconds})
    assert seconds < 2 * BUDGET_SECONDS


@pytest.mark.parametrize("text, request_", [("He30(x1+x2+x3)", "parse"), ("He40((x1+x2))", "parse"),
                                            ("(x1+x2+x3)**60", "norm2"), ("He30(x1+x2+x3)", "norm2")])
def test_bench_cases_that_once_took_tens_of_seconds(benchmark, text: str, request_: str) -> None:
    """Under load ≈ 6 before: parse of He30(x1+x2+x3) 3.9 s, He40((x1+x2)) 3.8 s; ``norm2`` of (x1+x2+x3)**60
    19 s, of He30(x1+x2+x3) 3.1 s. Now parse by the recurrence in a ring, ``norm2`` by the integer expansion."""
    if request_ == "parse":
        benchmark.pedantic(lambda: Target.parse(text), rounds=3, iterations=1)
    else:
        benchmark.pedantic(lambda: Target.parse(text).norm2(), rounds=3, iterations=1)
    assert benchmark.stats.stats.median < BUDGET_SECONDS
