"""Overlap measurements (THEORY.md §3): M = Ŵ W*ᵀ, its singular values, mean overlap on a subspace."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.giant_step.overlaps import overlap_matrix, singular_values, subspace_overlap
from theory import Target


def test_overlap_matrix_is_first_r_columns_of_normalised_rows() -> None:
    W = torch.tensor([[3.0, 4.0, 0.0], [0.0, 0.0, 2.0], [1.0, 1.0, 1.0]], dtype=torch.float64)
    M = overlap_matrix(W, 2)
    s3 = 1 / np.sqrt(3)
    np.testing.assert_allclose(M, [[0.6, 0.8], [0.0, 0.0], [s3, s3]])
    np.testing.assert_allclose(singular_values(M), np.linalg.svd(M, compute_uv=False))


def test_subspace_overlap_hand_computed_and_with_a_staircase_level() -> None:
    M = [[0.6, 0.8, 0.0], [0.0, 0.0, 1.0]]
    assert subspace_overlap(M, [[1], [0], [0]]) == pytest.approx((0.6 + 0.0) / 2)
    assert subspace_overlap(M, np.eye(3)[:, :2]) == pytest.approx((1.0 + 0.0) / 2)
    assert subspace_overlap(M, np.zeros((3, 0))) == 0.0
    level = Target.parse("x1 + x1*x2 + x1*x2*x3").staircase().level(2)  # sympy basis of span(e1, e2)
    assert subspace_overlap(M, level) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="orthonormal"):
        subspace_overlap(M, [[1], [1], [0]])
    with pytest.raises(ValueError, match="r = 3 rows"):
        subspace_overlap(M, [[1], [0]])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), m=st.integers(1, 4))
def test_subspace_overlap_depends_on_the_subspace_not_its_basis(seed: int, m: int) -> None:
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((7, 4))
    B = np.linalg.qr(rng.standard_normal((4, m)))[0]
    R = np.linalg.qr(rng.standard_normal((m, m)))[0]
    assert subspace_overlap(M, B @ R) == pytest.approx(subspace_overlap(M, B), rel=1e-10)
    assert subspace_overlap(M, B) <= subspace_overlap(M, np.eye(4)) + 1e-12
