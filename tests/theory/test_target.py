"""Target analysis (THEORY.md §2): examples, independent checks, rotation invariance, exact vs numeric."""

from __future__ import annotations

import math
from itertools import product

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from theory import Target
from theory.hermite import multi_factorial


def proj(B: sympy.Matrix) -> sympy.Matrix:
    return sympy.simplify(B * B.T) if B.shape[1] else sympy.zeros(B.shape[0], B.shape[0])


def fproj(B: np.ndarray) -> np.ndarray:
    return B @ B.T


# -- THEORY.md examples ---------------------------------------------------------------
def test_staircase_example_dims_and_levels() -> None:
    g = Target.parse("x1 + x1*x2 + x1*x2*x3")
    sc = g.staircase()
    assert sc.dims == (0, 1, 2, 3)
    e = sympy.eye(3)
    for t in range(4):
        assert proj(sc[t]) == e[:, :t] * e[:, :t].T
    assert g.leap_index() == 1 and g.hard_directions().shape == (3, 0)


def test_x1x2_is_never_learned_with_n_d() -> None:
    g = Target.parse("x1*x2")
    assert g.staircase().dims == (0,)
    assert g.staircase().level(5).shape == (2, 0)
    assert g.leap_index() == 2
    assert proj(g.hard_directions()) == sympy.eye(2)
    assert g.one_step_subspace(1).shape == (2, 0)
    assert proj(g.one_step_subspace(2)) == sympy.eye(2)


def test_relevant_subspace_can_be_smaller_than_r() -> None:
    g = Target.parse("(x1 + x2)**2")
    assert proj(g.relevant_subspace()) == sympy.Matrix([[1, 1], [1, 1]]) / 2
    assert g.first_nonzero_order() == 2 and g.norm2() == 12


def test_predicted_error_example() -> None:
    g = Target.parse("x1 + x1*x2")
    assert g.predicted_error([], 1) == 1
    assert g.predicted_error([[1, 0]], 1) == 0
    assert g.predicted_error([[1, 0]], 0) == 1
    assert g.predicted_error([[1, 0]], 1, noise=0.25) == 0.25


def test_one_step_subspaces() -> None:
    g = Target.parse("x1 + x1*x2 + x1*x2*x3")
    e = sympy.eye(3)
    assert proj(g.one_step_subspace(1)) == e[:, :1] * e[:, :1].T
    assert proj(g.one_step_subspace(2)) == e[:, :1] * e[:, :1].T  # lowest order dominates
    assert proj(g.one_step_subspace(2, preprocess=True)) == e[:, :2] * e[:, :2].T
    assert proj(g.one_step_subspace(3, preprocess=True)) == sympy.eye(3)
    with pytest.raises(ValueError, match="ell"):
        g.one_step_subspace(0)


@pytest.mark.parametrize(
    "text, leap, hard_dim",
    [("x1*x2*x3", 3, 3), ("He3(x1)", 3, 1), ("x1 + x1*x2*x3", 2, 2), ("x1*x2 + x1*x3*x4", 2, 4),
     ("x1 + x1*x2", 1, 0), ("He4(x1) + x1*x2", 2, 2), ("3", 0, 0)],
)
def test_leap_index(text: str, leap: int, hard_dim: int) -> None:
    g = Target.parse(text)
    assert g.leap_index() == leap
    assert g.hard_directions().shape[1] == hard_dim


def test_information_exponent_of_single_index_targets() -> None:
    for k in range(1, 6):
        assert Target.parse(f"He{k}(x1)").information_exponent() == k
    assert Target.parse("7").first_nonzero_order() == math.inf


def test_transition_exponents() -> None:
    tr = Target.parse("x1 + x1*x2 + x1*x2*x3").transition_exponents(steps=3)
    assert tr[1] == (1, 2, 3) and tr[2] == (1, 2) and tr[3] == (1,)
    assert tr.dims[1] == (1, 2, 3)
    assert Target.parse("x1*x2*x3").transition_exponents(2)[2] == (3,)


def test_stairway_table() -> None:
    sw = Target.parse("x1 + x1*x2 + x1*x2*x3").stairway(max_steps=3, kappas=(0, 1, 2))
    assert sw.dims == (0, 1, 2, 3)
    assert [list(r) for r in sw.errors] == [[3, 2, 1], [2, 1, 0], [1, 0, 0], [0, 0, 0]]
    assert sw.error(1, 1) == 1
    rf = Target.parse("x1*x2").stairway(2, (1,))
    assert [r[0] for r in rf.errors] == [1, 1, 1]  # no feature learning: the RF baseline stays


def test_hermite_tensor_is_symmetric_and_matches_coefficients() -> None:
    g = Target.parse("2*x1*x2**2 - x3 + x1*x2*x3")
    C3 = g.hermite_tensor(3)
    assert C3[0, 1, 1] == C3[1, 0, 1] == C3[1, 1, 0] == g.hermite_coefficient((1, 2, 0)) == 4
    assert C3[0, 1, 2] == 1 and g.hermite_tensor(1)[0] == 2  # E[2 x1 x2² · x1] = 2 E[x1²] E[x2²]
    assert g.hermite_tensor(0) == 0


# -- independent checks of ε_pred ------------------------------------------------------
@st.composite
def polynomials(draw: st.DrawFn, max_r: int = 3, max_deg: int = 4) -> str:
    r = draw(st.integers(1, max_r))
    n_terms = draw(st.integers(1, 5))
    terms = []
    for _ in range(n_terms):
        exps = draw(st.lists(st.integers(0, 2), min_size=r, max_size=r).filter(lambda e: 0 < sum(e) <= max_deg))
        c = draw(st.integers(-3, 3).filter(bool))
        mono = "*".join(f"x{i + 1}**{e}" for i, e in enumerate(exps) if e)
        terms.append(f"({c})*{mono}")
    return " + ".join(terms)


def _coordinate_error(g: Target, m: int, kappa: int) -> sympy.Rational:
    """ε for U = span(e_1..e_m) straight from the Hermite coefficients: c_{α,β}(U) = c_{(α,β)}."""
    total = g.norm2()
    deg = g.degree or 0
    for alpha in product(range(deg + 1), repeat=g.r):
        if sum(alpha[m:]) <= kappa:
            total -= g.hermite_coefficient(alpha) ** 2 / multi_factorial(alpha)
    return total


@given(polynomials(), st.integers(0, 3), st.integers(0, 2))
@settings(max_examples=40, deadline=None)
def test_error_on_coordinate_subspaces_matches_hermite_coefficients(text: str, m: int, kappa: int) -> None:
    g = Target.parse(text)
    m = min(m, g.r)
    U = [[int(i == j) for i in range(g.r)] for j in range(m)]
    assert g.predicted_error(U, kappa) == _coordinate_error(g, m, kappa)


def test_norm2_by_direct_moments() -> None:
    # E[g²] from the expanded square and E[x^k] = (k-1)!!, not from Hermite coefficients
    g = Target.parse("x1**3 - 2*x1*x2 + x2**2*x3 + 1")
    xs = sympy.symbols("x1:4", real=True)
    sq = sympy.Poly(sympy.expand(g.expr.subs({sympy.Symbol(f"x{i}", real=True): xs[i - 1] for i in (1, 2, 3)}) ** 2), *xs)
    mom = lambda k: 0 if k % 2 else math.prod(range(k - 1, 0, -2))  # noqa: E731
    direct = sum(c * math.prod(mom(e) for e in m) for m, c in zip(sq.monoms(), sq.coeffs()))
    assert g.norm2() == direct


# -- rotation invariance (THEORY §1) ---------------------------------------------------
def cayley(A: sympy.Matrix) -> sympy.Matrix:
    """Rational orthogonal matrix (I − A)(I + A)⁻¹ from a skew-symmetric rational A."""
    n = A.shape[0]
    return (sympy.eye(n) - A) * (sympy.eye(n) + A).inv()


@st.composite
def rational_rotations(draw: st.DrawFn, r: int) -> sympy.Matrix:
    A = sympy.zeros(r, r)
    for i in range(r):
        for j in range(i + 1, r):
            v = sympy.Rational(draw(st.integers(-4, 4)), draw(st.integers(1, 3)))
            A[i, j], A[j, i] = v, -v
    return cayley(A)


EXAMPLES = ["x1 + x1*x2 + x1*x2*x3", "x1*x2 + x3", "(x1 + x2)**2 + x3", "x1 + x1*x2*x3", "He3(x1) + x1*x2 - x3**2"]


@pytest.mark.parametrize("text", EXAMPLES)
@given(data=st.data())
@settings(max_examples=4, deadline=None)
def test_exact_rotation_invariance(text: str, data: st.DataObject) -> None:
    g = Target.parse(text)
    R = data.draw(rational_rotations(g.r))
    assert sympy.simplify(R.T * R) == sympy.eye(g.r)
    h = g.compose(R)
    assert h.exact  # rational rotation keeps the exact path
    assert h.norm2() == g.norm2()
    assert h.first_nonzero_order() == g.first_nonzero_order()
    assert h.leap_index() == g.leap_index()
    # subspaces of g∘R are Rᵀ times those of g
    assert proj(h.relevant_subspace()) == sympy.simplify(R.T * proj(g.relevant_subspace()) * R)
    sg, sh = g.staircase(), h.staircase()
    assert sg.dims == sh.dims
    for t in range(len(sg)):
        assert proj(sh[t]) == sympy.simplify(R.T * proj(sg[t]) * R)
    assert proj(h.hard_directions()) == sympy.simplify(R.T * proj(g.hard_directions()) * R)
    C2g, C2h = sympy.Matrix(g.hermite_tensor(2).tolist()), sympy.Matrix(h.hermite_tensor(2).tolist())
    assert sympy.simplify(C2h - R.T * C2g * R) == sympy.zeros(g.r, g.r)
    assert h.stairway(3, (1, 2)).errors == g.stairway(3, (1, 2)).errors


@pytest.mark.parametrize("text", EXAMPLES[:3])
def test_float_rotation_invariance_on_numeric_path(text: str) -> None:
    g = Target.parse(text)
    rng = np.random.default_rng(7)
    R, _ = np.linalg.qr(rng.standard_normal((g.r, g.r)))
    h = g.compose(R)
    assert not h.exact
    assert abs(h.norm2() - float(g.norm2())) < 1e-9
    sg, sh = g.staircase(), h.staircase()
    assert sg.dims == sh.dims
    for t in range(len(sg)):
        np.testing.assert_allclose(fproj(sh[t]), R.T @ np.array(proj(sg[t]), dtype=float) @ R, atol=1e-8)
    eg = np.array(g.stairway(2, (0, 1, 2)).errors, dtype=float)
    np.testing.assert_allclose(np.array(h.stairway(2, (0, 1, 2)).errors), eg, atol=1e-8)


# -- exact vs numeric ---------------------------------------------------------------------
@given(polynomials())
@settings(max_examples=25, deadline=None)
def test_exact_and_numeric_paths_agree(text: str) -> None:
    ge, gn = Target.parse(text), Target.parse(text, method="numeric")
    assert ge.exact and not gn.exact
    assert abs(float(ge.norm2()) - gn.norm2()) < 1e-8 * max(1.0, float(ge.norm2()))
    assert ge.first_nonzero_order() == gn.first_nonzero_order()
    assert ge.staircase().dims == gn.staircase().dims
    assert ge.leap_index() == gn.leap_index()
    assert ge.relevant_subspace().shape == gn.relevant_subspace().shape
    np.testing.assert_allclose(np.array(ge.stairway(2, (0, 1, 2)).errors, dtype=float),
                               np.array(gn.stairway(2, (0, 1, 2)).errors), atol=1e-7 * max(1.0, float(ge.norm2())))
    k = ge.first_nonzero_order()
    if k <= (ge.degree or 0):
        np.testing.assert_allclose(np.array(ge.hermite_tensor(k).tolist(), dtype=float), gn.hermite_tensor(k), atol=1e-8)


# -- properties of staircases ----------------------------------------------------------------
@given(polynomials(max_r=4, max_deg=3), st.integers(1, 3))
@settings(max_examples=30, deadline=None)
def test_staircases_are_nested_orthonormal_and_inside_the_relevant_subspace(text: str, leap: int) -> None:
    g = Target.parse(text)
    sc = g.staircase(leap)
    P_rel = proj(g.relevant_subspace())
    prev = sympy.zeros(g.r, g.r)
    for t in range(len(sc)):
        B = sc[t]
        assert sympy.simplify(B.T * B) == sympy.eye(B.shape[1])
        P = proj(B)
        assert sympy.simplify(P * prev - prev) == sympy.zeros(g.r, g.r)  # U^{t-1} ⊆ U^t
        assert sympy.simplify(P_rel * P - P) == sympy.zeros(g.r, g.r)  # U^t ⊆ U_rel
        prev = P
    assert list(sc.dims) == sorted(set(sc.dims))  # strictly increasing until it stops
    # errors never increase with steps or with κ, and vanish once everything is learned with κ ≥ degree
    sw = g.stairway(len(sc), (0, 1, 2))
    for row in sw.errors:
        assert all(a >= b for a, b in zip(row, row[1:]))
    for k in range(3):
        col = [row[k] for row in sw.errors]
        assert all(a >= b for a, b in zip(col, col[1:]))
    assert g.predicted_error(g.relevant_subspace(), 0) == 0


# -- non-polynomial targets (numeric path) ----------------------------------------------------
def test_numeric_target_norm_and_structure() -> None:
    from scipy.integrate import quad

    g = Target.parse("tanh(x1) + relu(x2)")
    tanh2 = quad(lambda u: np.tanh(u) ** 2 * np.exp(-u * u / 2) / np.sqrt(2 * np.pi), -np.inf, np.inf)[0]
    assert abs(g.norm2() - (tanh2 + 0.5)) < 1e-6  # E[tanh] = 0, E[relu²] = 1/2
    assert g.first_nonzero_order() == 1 and g.leap_index() == 1
    assert g.staircase().dims == (0, 1, 2)
    v = g.staircase()[1][:, 0]
    mu1 = np.array([0.6057055096021588, 0.5])  # μ1(tanh), μ1(relu): C_1 direction
    assert abs(abs(v @ mu1) / np.linalg.norm(mu1) - 1) < 1e-6


def test_numeric_relu_of_a_sum_has_one_relevant_direction() -> None:
    g = Target.parse("relu(x1 + x2)")
    B = g.relevant_subspace()
    assert B.shape == (2, 1) and abs(abs(B[0, 0]) - 2**-0.5) < 1e-6
    assert g.staircase().dims == (0, 1)
    assert g.predicted_error(g.staircase()[1], 1) < 1e-9


def test_numeric_leap_two() -> None:
    g = Target.parse("erf(x1)*x2 + x3", budget=200_000)
    assert g.leap_index() == 2 and g.staircase().dims == (0, 1)
    assert g.hard_directions().shape == (3, 2)


# -- validation ---------------------------------------------------------------------------------
def test_bad_arguments_are_refused() -> None:
    g = Target.parse("x1 + x1*x2")
    with pytest.raises(ValueError, match="kappa"):
        g.predicted_error([], -1)
    with pytest.raises(ValueError, match="rows"):
        g.predicted_error(sympy.Matrix([[1, 0, 0]]).T, 1)
    with pytest.raises(ValueError, match="method"):
        Target.parse("x1", method="fast")
    with pytest.raises(ValueError, match="exact"):
        Target.parse("tanh(x1)", method="exact")
    with pytest.raises(ValueError, match="2×2"):
        g.compose(sympy.eye(3))
    with pytest.raises(ValueError, match="leap"):
        g.staircase(0)


def test_orders_below_removes_exactly_the_low_orders() -> None:
    g = Target.parse("x1 + x1*x2 + x1**2 + 3")
    high = Target(sympy.expand(g.expr - g.orders_below(2).expr), g.r)
    for alpha in product(range(3), repeat=2):
        if sum(alpha) < 2:
            assert high.hermite_coefficient(alpha) == 0
        else:
            assert high.hermite_coefficient(alpha) == g.hermite_coefficient(alpha)


def test_predicted_error_accepts_staircase_levels_with_square_roots() -> None:
    g = Target.parse("(x1 + x2)*x3 + x1 + x2")
    sc = g.staircase()
    assert any(not x.is_Rational for x in sc[1])  # (1, 1, 0)/√2
    assert g.predicted_error(sc[1], 1) == g.stairway(1, (1,)).error(1, 1)


def test_printing() -> None:
    g = Target.parse("x1 + x1*x2")
    assert repr(g) == "Target('x1 + x1*x2', r=2)" and "x_{1}" in g._repr_latex_()
    assert "U^1: dim 1" in str(g.staircase()) and g.staircase()._repr_latex_().startswith("$")
    assert g.stairway(1, (1,))._repr_latex_().startswith("$")
