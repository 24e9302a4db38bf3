"""σ-aware predictions (THEORY.md §2.3, §2.8): examples, ⊆ generic, = generic when every μ_k ≠ 0, rotations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from theory import Target, activation
from tests.theory.test_target import cayley, polynomials, proj, rational_rotations

STAIR = "x1 + x1*x2 + x1*x2*x3"
# Σ_k He_k: μ_k = k! ≠ 0 for every k ≤ 8, the highest order a test target reaches
ALL_ORDERS = " + ".join(f"He{k}" for k in range(9))
ACTIVATIONS = ["relu", "erf", "abs", "sign", "tanh", "relu + He3/6", "He2", "u**3", "relu[2:]"]


def included(A: sympy.Matrix, B: sympy.Matrix) -> bool:
    """span A ⊆ span B (orthonormal columns, exact)."""
    return sympy.simplify(proj(B) * A - A) == sympy.zeros(*A.shape)


@pytest.mark.parametrize("sigma, dims, blocked", [
    ("relu", [0, 1, 2, 2], [(3, 3, [0, 0, 1])]),
    ("erf", [0, 1, 1, 1], [(2, 2, [0, 1, 0])]),
    ("relu + He3/6", [0, 1, 2, 3], []),
    (None, [0, 1, 2, 3], []),
])
def test_section_2_8_examples(sigma: str | None, dims: list[int], blocked: list) -> None:
    """THEORY §2.8: x1 + x1x2 + x1x2x3 needs μ1, μ2, μ3 at steps 1, 2, 3; μ3(relu) = 0, μ2(erf) = 0."""
    sc = Target.parse(STAIR).staircase(activation=sigma)
    assert [sc.space(t).dim for t in range(4)] == dims
    got = [(b.step, b.order, [sympy.nsimplify(x) for x in b.space.matrix()[:, 0]]) for b in sc.blocked]
    assert got == blocked
    if sigma is not None:
        assert activation(sigma).vanishes(3) == (sigma == "relu") and activation(sigma).vanishes(2) == (sigma == "erf")
        text = str(sc)
        for step, order, _ in blocked:
            assert f"step {step}: μ_{order}({sigma}) = 0 blocks" in text


def test_blocked_is_serialised_as_step_direction_order() -> None:
    data = Target.parse(STAIR).staircase(activation="relu").to_dict()
    assert data["blocked"] == [{"step": 3, "direction": ["0", "0", "1"], "order": 3}]
    assert data["activation"] == "relu" and data["dims"] == [0, 1, 2]


def test_shifted_activation_sees_every_order() -> None:
    """A bias breaks the parity zeros (§2.8, 'any σ with a bias'): tanh(u + 1/2) climbs the whole staircase."""
    sigma = activation("tanh(u + 0.5)")
    assert not any(sigma.vanishes(k) for k in range(1, 7))
    assert Target.parse(STAIR).staircase(activation=sigma).dims == (0, 1, 2, 3)


@given(polynomials(max_r=3, max_deg=4))
@settings(max_examples=25, deadline=None)
def test_sigma_aware_equals_generic_when_no_coefficient_vanishes(text: str) -> None:
    g = Target.parse(text)
    for leap in (1, 2):
        generic, aware = g.staircase(leap), g.staircase(leap, ALL_ORDERS)
        assert aware.dims == generic.dims and not aware.blocked
        for t in range(len(generic)):
            assert proj(aware[t]) == proj(generic[t])
    assert g.leap_index(ALL_ORDERS) == g.leap_index()


@given(polynomials(max_r=3, max_deg=4), st.sampled_from(ACTIVATIONS), st.integers(1, 2))
@settings(max_examples=40, deadline=None)
def test_sigma_aware_is_inside_generic(text: str, sigma: str, leap: int) -> None:
    """U^t_σ ⊆ U^t at every t (the generic step is monotone in the conditioning subspace)."""
    g = Target.parse(text)
    generic, aware = g.staircase(leap), g.staircase(leap, sigma)
    for t in range(max(len(generic), len(aware))):
        assert included(aware.level(t), generic.level(t))
    for b in aware.blocked:  # blocked directions are ones the generic staircase does reach
        assert activation(sigma).vanishes(b.order) and included(b.space.matrix(), generic.limit)
    assert g.leap_index(sigma) >= g.leap_index()


@pytest.mark.parametrize("text, sigma", [(STAIR, "relu"), (STAIR, "erf"), ("x1*x2 + x3 + x3*x1**2", "abs")])
@given(data=st.data())
@settings(max_examples=3, deadline=None)
def test_sigma_aware_rotation_invariance(text: str, sigma: str, data: st.DataObject) -> None:
    g = Target.parse(text)
    R = data.draw(rational_rotations(g.r))
    h = g.compose(R)
    sg, sh = g.staircase(activation=sigma), h.staircase(activation=sigma)
    assert sg.dims == sh.dims
    for t in range(len(sg)):
        assert proj(sh[t]) == sympy.simplify(R.T * proj(sg[t]) * R)
    assert [(b.step, b.order, b.space.dim) for b in sg.blocked] == [(b.step, b.order, b.space.dim) for b in sh.blocked]
    for bg, bh in zip(sg.blocked, sh.blocked):
        assert proj(bh.space.matrix()) == sympy.simplify(R.T * proj(bg.space.matrix()) * R)


def test_float_rotation_numeric_path_matches_exact() -> None:
    g = Target.parse(STAIR)
    R, _ = np.linalg.qr(np.random.default_rng(3).standard_normal((3, 3)))
    h = g.compose(R)
    assert not h.exact
    for sigma in ("relu", "erf", "relu + He3/6"):
        sg, sh = g.staircase(activation=sigma), h.staircase(activation=sigma)
        assert sg.dims == sh.dims
        for t in range(len(sg)):
            np.testing.assert_allclose(sh[t] @ sh[t].T, R.T @ np.array(proj(sg[t]), dtype=float) @ R, atol=1e-8)
        assert [(b.step, b.order) for b in sh.blocked] == [(b.step, b.order) for b in sg.blocked]


def test_one_step_subspace_needs_the_order_to_be_seen() -> None:
    """§2.3: U_1step = {0} when μ_{ℓ1}(σ) = 0 (without preprocessing) or μ_ℓ(σ) = 0 (with it)."""
    g = Target.parse("x1*x2*x3")
    assert g.one_step_subspace(3, preprocess=True, activation="relu").shape == (3, 0)  # μ3(relu) = 0
    assert proj(g.one_step_subspace(3, preprocess=True, activation="erf")) == sympy.eye(3)
    assert g.one_step_subspace(3, activation="erf").shape == (3, 3)  # ℓ1 = 3 ≤ ℓ
    h = Target.parse(STAIR)
    assert h.one_step_subspace(2, preprocess=True, activation="erf").shape == (3, 0)  # μ2(erf) = 0
    assert h.one_step_subspace(2, preprocess=True, activation="relu").shape == (3, 2)
    assert h.one_step_subspace(1, activation="sign").shape == (3, 1)
    assert Target.parse("x1**2 - 1").one_step_subspace(2, activation="tanh").shape == (1, 0)  # μ2(tanh) = 0


def test_leap_index_hard_directions_transitions_with_sigma() -> None:
    g = Target.parse("x1*x2*x3")
    assert g.leap_index() == 3 and g.leap_index("erf") == 3
    assert g.leap_index("relu") == math.inf  # relu never sees order 3, and order 4 is absent
    assert proj(g.hard_directions("relu")) == sympy.eye(3)
    h = Target.parse(STAIR)
    assert proj(h.hard_directions("relu")) == sympy.diag(0, 0, 1)
    assert h.hard_directions().shape == (3, 0)
    tr = h.transition_exponents(3, "relu")
    assert tr.dims[3][0] == 2 and tr.activation == "relu" and "σ = relu" in str(tr)


def test_sigma_aware_stairway() -> None:
    sw = Target.parse(STAIR).stairway(3, (0, 1), activation="erf")
    assert sw.dims == (0, 1, 1, 1) and sw.activation == "erf"
    # U = span(e1) forever: ε(span e1, 0) = ‖g‖² − E[E[g|x1]²] = 3 − 1 and ε(span e1, 1) = 1 (x1x2x3 is order 2 given x1)
    assert [list(r) for r in sw.errors] == [[3, 2], [2, 1], [2, 1], [2, 1]]
    assert "σ-aware (σ = erf)" in str(sw)


def test_symmetric_initialisation_bound_is_reported() -> None:
    """A step after the first that adds 3 directions exceeds what two shared overlaps can give (§2.8)."""
    sc = Target.parse("x1 + x1*x2 + x1**2*x3 + He3(x1)*x4").staircase()  # given x1: x1, x1², He3(x1) independent
    assert sc.dims == (0, 1, 4) and sc.symmetric_bound == (2,)
    assert "at most 2, so U^2 is an upper bound" in str(sc)
    assert Target.parse(STAIR).staircase().symmetric_bound == ()


def test_numeric_target_sigma_aware() -> None:
    g = Target.parse("tanh(x1) + relu(x2)*x3")
    assert g.staircase().dims == (0, 1, 3)
    aware = g.staircase(activation="erf")  # even orders blocked: the step-2 directions need μ2
    assert aware.dims[:2] == (0, 1) and all(b.order % 2 == 0 for b in aware.blocked)
    limit_g = g.staircase().limit
    assert np.allclose(limit_g @ limit_g.T @ aware.limit, aware.limit, atol=1e-8)
