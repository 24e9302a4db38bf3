"""theory.reuse: the directions a second step on a reused batch reaches (THEORY §3.5), checked against THEORY's
predictions, the generative exponent, hand-derived conditional means and rotated targets."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from theory import Target, generative_exponent, reuse_reach
from theory.reuse import Reason


def _reasons(reach) -> set:
    return {reason for reason, _, _ in reach.parts}


def test_he3_is_reached_by_reuse_not_by_fresh_batches() -> None:
    reach = reuse_reach("He3(x1)")
    assert reach.learned.dim == 0  # step 1 at n ≍ d learns nothing: C1 = 0 (information exponent 3)
    assert reach.reachable.dim == 1 and reach.fresh.dim == 0
    assert (Reason.WITNESS, reach.reachable, "j = 3") in reach.parts  # E[He3(x1)^3 x1] = 324 ≠ 0


@pytest.mark.parametrize("target", ["He2(x1)", "He4(x1)", "abs(x1)", "x1*x2"])
def test_even_links_stay_unreached(target: str) -> None:
    reach = reuse_reach(target)
    assert reach.reachable.dim == 0 and reach.after.dim == 0
    assert _reasons(reach) == {Reason.FLIP}


@pytest.mark.parametrize("link", ["He3(x1)", "He2(x1)", "He4(x1)", "x1**3", "(x1 - 1)**2", "abs(x1)", "tanh(x1)",
                                  "relu(x1) - x1/2"])
def test_single_index_reach_is_generative_exponent_one(link: str) -> None:
    assert (reuse_reach(link, learned=[]).reachable.dim == 1) == (generative_exponent(link).k_star == 1)


def test_staircase_target_fresh_and_reuse_agree() -> None:
    reach = reuse_reach("x1 + x1*x2")
    assert reach.learned.matrix() == sympy.Matrix([[1], [0]])
    assert reach.reachable.matrix() == sympy.Matrix([[0], [1]]) == reach.fresh.matrix()


def test_conditionally_symmetric_block_is_forbidden() -> None:
    # y = x1 + x2 x3 given x1: (x2, x3) → (−x2, −x3) keeps y, so E[(x2, x3) | y, x1] = 0
    reach = reuse_reach("x1 + x2*x3")
    assert reach.learned.dim == 1 and reach.reachable.dim == 0
    assert [r for r, s, _ in reach.parts] == [Reason.FLIP] and reach.parts[0][1].dim == 2


def test_reuse_adds_what_the_fresh_staircase_cannot() -> None:
    # He3(x1) + x2: step 1 learns x2; given x2, y − x2 = He3(x1) has E[x1 | y, x2] ≢ 0 but E[g x1 | x2] = 0
    g = Target.parse("He3(x1) + x2")
    reach = reuse_reach(g)
    assert reach.fresh.dim == 0 and reach.after.dim == 2
    assert g.staircase().dims == (0, 1)


def test_rotation_covariance() -> None:
    Q = sympy.Matrix([[sympy.Rational(3, 5), sympy.Rational(4, 5)], [sympy.Rational(-4, 5), sympy.Rational(3, 5)]])
    g = Target.parse("He3(x1) + x2")
    reach, rotated = reuse_reach(g), reuse_reach(g.compose(Q))
    assert rotated.learned.projector() == Q.T * reach.learned.projector() * Q
    assert rotated.reachable.dim == 1 and rotated.reachable.projector() == Q.T * reach.reachable.projector() * Q


def test_three_mirrors_forbid_a_direction_no_single_flip_forbids() -> None:
    # x1³ − 3x1x2² = Re((x1 + i x2)³): x1 → −x1 changes g, yet E[x1 | y] = 0 — the mirrors x2 → −x2 and its
    # rotations by ±120° (normals (0, 1), (1, ±1/√3)) each kill one component, and they span R²
    reach = reuse_reach("x1**3 - 3*x1*x2**2", learned=[])
    assert reach.reachable.dim == 0 and not reach.undecided
    (reason, space, detail), = reach.parts
    assert reason is Reason.REFLECTION and space.dim == 2 and detail.count("0.866025") == 2
    # Monte-Carlo: E[x1 T(y)] = 0 for a non-polynomial T, while E[x1 T(y)] ≠ 0 for a target that breaks the mirrors
    x = np.random.default_rng(1).standard_normal((2, 400_000))
    y = x[0] ** 3 - 3 * x[0] * x[1] ** 2
    assert abs(np.mean(x[0] * np.tanh(y))) < 4 * np.std(x[0] * np.tanh(y)) / np.sqrt(x.shape[1])
    assert abs(np.mean(x[0] * np.tanh(y + x[0]))) > 0.05


def test_a_chiral_rotation_symmetry_is_a_certificate_too() -> None:
    # Re(z³) + |z|² Im(z³) keeps the 120° rotation and loses every mirror; without the rotation test it would be
    # undecided; adding x2 breaks the symmetry and a witness (j = 3) finds x1
    g = "x1**3 - 3*x1*x2**2 + (x1**2 + x2**2)*(3*x1**2*x2 - x2**3)"
    reach = reuse_reach(g, learned=[])
    assert [(r, d) for r, _, d in reach.parts] == [(Reason.ROTATION, "by 2π/3")]
    assert reuse_reach(g + " + x2", learned=[]).after.dim == 2


def test_dtapzk_target_reaches_the_plane() -> None:
    reach = reuse_reach("tanh(x1 + He3(x2))")
    assert reach.learned.dim == 1 and reach.after.dim == 2
    v = np.asarray(reach.learned.matrix(), dtype=float).ravel()
    assert abs(v @ np.array([0.767832, -0.640651])) == pytest.approx(1, abs=1e-4)  # the authors' notebook's v*


def test_irrelevant_directions() -> None:
    reach = reuse_reach("He3(x1)", learned=[])
    assert reach.after.dim == 1
    reach = reuse_reach(Target.parse("He2(x1)", r=2))
    assert {r for r, _, _ in reach.parts} == {Reason.FLIP, Reason.IRRELEVANT}


def test_bad_power() -> None:
    with pytest.raises(ValueError, match="max_power"):
        reuse_reach("He3(x1)", max_power=0)


def test_cli_generative_reuse_orientation(capsys: pytest.CaptureFixture) -> None:
    import json

    from theory.cli import main

    assert main(["generative", "He3(x1)", "--label-transform", "y**3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["generative"]["k_star"] == 1 and data["label"]["coefficients"][0] == "324"
    assert main(["reuse", "x1*x2", "--learned", "", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["after_dim"] == 0 and data["parts"][0]["reason"] == "FLIP"
    assert main(["orientation", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rms_cosine"] == pytest.approx(0.1407, abs=1e-4)
    assert main(["generative", "x1*x2"]) == 2 and "single-index" in capsys.readouterr().err


def test_symmetry_overrules_a_quadrature_witness_below_its_error() -> None:
    # tanh(Re z³): quadrature gives C1 ≈ −1e-4 ≠ 0 (its estimated error is 1.5e-3), but the mirrors of g certify
    # E[x | y] = 0, so neither U^1 nor the reach may contain a direction
    reach = reuse_reach("tanh(x1**3 - 3*x1*x2**2)")
    assert reach.learned.dim == 0 and reach.after.dim == 0
    assert [r for r, _, _ in reach.parts] == [Reason.REFLECTION]
