"""Measured overlaps of the first layer with the teacher subspace (THEORY.md §3, "Measured overlaps").

With the teacher ``W* = [e_1 … e_r]ᵀ`` (first ``r`` axes), ``M = Ŵ W*ᵀ ∈ R^{p×r}`` is the first ``r``
columns of the row-normalised weights ``Ŵ``: ``M[i, j] = ⟨ŵ_i, e_j⟩``, neurons in index order (the first
``p/2`` have ``a_i = +1``). Its singular values say how many directions are learned; for a subspace
``V ⊆ R^r`` with orthonormal basis ``B`` (``r × m``) the mean overlap is ``(1/p) Σ_i ‖P_V M_i‖ =
(1/p) Σ_i ‖Bᵀ M_i‖`` (e.g. ``V`` a staircase level ``Target.staircase().level(t)``).
"""

from __future__ import annotations

import numpy as np
import torch


def overlap_matrix(W: torch.Tensor, r: int, normalized: bool = True) -> np.ndarray:
    """``M = Ŵ W*ᵀ`` (``p × r``, float64) from weights ``W`` (``p × d``); rows are normalised first unless
    ``normalized=False`` (then ``M = W W*ᵀ``: [DTAPZK]'s ``m = ⟨w, w*⟩/D`` with ``‖w⁰‖² = D``, THEORY §3.5)."""
    Wn = W / W.norm(dim=1, keepdim=True) if normalized else W
    return Wn[:, :r].double().cpu().numpy()


def step_cosines(before: torch.Tensor, after: torch.Tensor, r: int) -> np.ndarray:
    """``cos(G_i, e_j)`` (``p × r``, float64) of the steps ``G_i = w_i^t − w_i^{t−1}`` (THEORY §3.2, the
    multi-step notebook's measurement): ``before`` (``p × k``) and ``after`` (``p × k'``, ``k' ≥ k``; the
    reduced engine adds coordinates, on which ``before`` is zero). A neuron that did not move has cosines 0."""
    G = after.clone()
    G[:, : before.shape[1]] -= before
    norm = G.norm(dim=1, keepdim=True)
    cos = torch.where(norm > 0, G[:, :r] / torch.where(norm > 0, norm, torch.ones_like(norm)), torch.zeros_like(norm))
    return cos.double().cpu().numpy()


def singular_values(M: np.ndarray) -> list[float]:
    """Singular values of ``M`` (``min(p, r)`` of them, descending)."""
    return [float(s) for s in np.linalg.svd(np.asarray(M, dtype=float), compute_uv=False)]


def as_basis(basis: object, r: int) -> np.ndarray:
    """A basis of a subspace ``V ⊆ R^r`` as a float ``r × m`` array with orthonormal columns.

    ``basis``: numpy array, sympy Matrix (e.g. ``Target.staircase().level(t)``) or nested list, ``r × m``
    (a 1-d array is one column; an empty one is ``{0}``). ``ValueError`` in one line when it has not ``r``
    rows or its columns are not orthonormal (``theory.subspace.orthonormal`` makes such a basis from any
    spanning vectors).
    """
    B = np.asarray(basis.tolist() if hasattr(basis, "tolist") and not isinstance(basis, np.ndarray) else basis,
                   dtype=float)
    if B.size == 0:
        return np.zeros((r, 0))
    if B.ndim == 1:
        B = B[:, None]
    if B.shape[0] != r:
        raise ValueError(f"basis must be r × m with r = {r} rows (one per teacher direction); got shape {B.shape}")
    if not np.allclose(B.T @ B, np.eye(B.shape[1]), atol=1e-6):
        raise ValueError("basis columns must be orthonormal (use e.g. Target.staircase().level(t) or "
                         "theory.subspace.orthonormal)")
    return B


def subspace_overlap(M: object, basis: object) -> float:
    """Mean over neurons of ``‖P_V M_i‖`` (THEORY.md §3, "Measured overlaps").

    Parameters
    ----------
    M : array_like of shape (p, r)
        The overlaps ``M = Ŵ W*ᵀ`` of a record (``rec["overlaps"]``, a list of lists, or an array).
    basis : array_like of shape (r, m)
        Orthonormal columns spanning ``V ⊆ R^r`` (numpy array, sympy Matrix, nested list; see ``as_basis``).

    Returns
    -------
    float
        ``(1/p) Σ_i ‖Bᵀ M_i‖`` in ``[0, 1]`` for unit neurons; 0 for ``m = 0``.
    """
    Ma = np.asarray(M, dtype=float)
    if Ma.ndim != 2:
        raise ValueError(f"M must be a p × r matrix; got shape {Ma.shape}")
    B = as_basis(basis, Ma.shape[1])
    if B.shape[1] == 0:
        return 0.0
    return float(np.linalg.norm(Ma @ B, axis=1).mean())


def overlaps_by_level(M: object, levels: list[object]) -> list[float]:
    """``subspace_overlap(M, level)`` for each basis in ``levels`` (e.g. ``list(Target.staircase())``)."""
    return [subspace_overlap(M, B) for B in levels]


__all__ = ["as_basis", "overlap_matrix", "overlaps_by_level", "singular_values", "step_cosines", "subspace_overlap"]
