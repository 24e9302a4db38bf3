"""Float subspace helpers shared by theory, sim and verify (THEORY.md §1): ``orthonormal``, ``complement_in``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory.subspace import complement_in, orthonormal


def proj(B: np.ndarray) -> np.ndarray:
    return B @ B.T


def test_orthonormal_rank_and_span() -> None:
    V = np.array([[1.0, 2.0, 0.0], [0.0, 0.0, 0.0], [1.0, 2.0, 3.0]])  # rank 2: col 2 = 2·col 1
    B = orthonormal(V)
    assert B.shape == (3, 2)
    np.testing.assert_allclose(B.T @ B, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(proj(B) @ V, V, atol=1e-12)  # every column lies in the span
    assert orthonormal(np.zeros((4, 0))).shape == (4, 0)
    assert orthonormal(np.zeros((4, 3))).shape == (4, 0)
    assert orthonormal(np.full((3, 1), 1e-17)).shape == (3, 0)  # rounding residue is not a direction


def test_complement_in_known_case() -> None:
    e = np.eye(4)
    B = complement_in(e[:, :3], e[:, :1])
    np.testing.assert_allclose(proj(B), proj(e[:, 1:3]), atol=1e-12)
    assert complement_in(e[:, :2], e[:, :2]).shape == (4, 0)
    assert complement_in(e[:, :2], np.zeros((4, 0))).shape == (4, 2)


@pytest.mark.parametrize("bad", [np.ones(3), np.array([[np.nan, 1.0]])])
def test_bad_input_is_refused(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        orthonormal(bad)
    with pytest.raises(ValueError, match="same r"):
        complement_in(np.eye(3), np.eye(2))


@given(st.integers(2, 6), st.integers(0, 5), st.integers(0, 10_000))
@settings(max_examples=40, deadline=None)
def test_complement_is_orthogonal_and_completes_the_span(r: int, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    outer = orthonormal(rng.standard_normal((r, min(k + 1, r))))
    inner = orthonormal(outer @ rng.standard_normal((outer.shape[1], min(k, outer.shape[1]))))  # inner ⊆ outer
    C = complement_in(outer, inner)
    assert C.shape[1] == outer.shape[1] - inner.shape[1]
    np.testing.assert_allclose(inner.T @ C, 0, atol=1e-10)
    np.testing.assert_allclose(proj(inner) + proj(C), proj(outer), atol=1e-10)
