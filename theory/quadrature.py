"""Tensor-product Gaussian quadrature grids in a frame adapted to a subspace and to kinks (THEORY.md §2).

For a subspace ``V`` (coordinates ``y``) and its complement (coordinates ``w``), ``x = Q_V y + Q_W w``.
Each axis carries a 1-d rule for ``E_{u~N(0,1)}``:

* Gauss–Hermite with ``q`` nodes on an axis no kink crosses (exact for polynomials of degree ``2q − 1``);
* composite Gauss–Legendre, ``n_gl`` nodes on each piece of ``[−L, L]`` between the kink points of the
  axis, weights times ``φ`` (``L = SPLIT_RANGE``: the Gaussian mass beyond is ``< 1e-32``; with
  ``n_gl ≥ 40`` the rule integrates ``u^m φ`` on any piece to ``1e-14`` relative for ``m ≤ 24``).

A kink hyperplane ``⟨n, x⟩ = c`` is *aligned* with the frame when it is a coordinate hyperplane of it:
``n ∈ V`` along a ``y``-axis (split points fixed), or ``n`` with a non-zero ``w``-part along a ``w``-axis,
whose split point ``w_k = (c − ⟨Q_Vᵀn, y⟩)/⟨Q_Wᵀn, e_k⟩`` then moves with the ``y``-node (the
``w``-integral of a function with a kink moving linearly in ``y`` is smooth in ``y``, so the ``y``-rule
needs no split there). :func:`build_grid` aligns the frame by rotating within ``V`` and within ``V^⊥``,
which is possible when the ``V``-normals are pairwise parallel or orthogonal and so are the ``w``-parts of
the others; otherwise it reports the grid as not aligned (plain Gauss–Hermite).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from numpy.polynomial.legendre import leggauss

from theory.kinks import Hyperplane
from theory.subspace import orthonormal

SPLIT_RANGE = 12.0
ALIGN_TOL = 1e-9
GRID_FACTOR = 2  # a grid may have up to GRID_FACTOR × budget points (a split axis needs more than q points)


@lru_cache(maxsize=64)
def gauss_hermite(q: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the ``q``-point rule for ``E_{u~N(0,1)}`` (weights sum to 1)."""
    nodes, weights = hermegauss(q)
    return nodes, weights / np.sqrt(2 * np.pi)


def split_rule(breaks: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss–Legendre rule for ``E_{u~N(0,1)}`` split at ``breaks`` (shape ``(..., P)``).

    Returns nodes and weights of shape ``(..., (P + 1)·n)``; pieces outside ``[−L, L]`` get zero weight.
    """
    x, w = leggauss(n)
    b = np.clip(np.sort(np.asarray(breaks, dtype=float), axis=-1), -SPLIT_RANGE, SPLIT_RANGE)
    lo = np.concatenate([np.full(b.shape[:-1] + (1,), -SPLIT_RANGE), b], axis=-1)
    hi = np.concatenate([b, np.full(b.shape[:-1] + (1,), SPLIT_RANGE)], axis=-1)
    half = (hi - lo)[..., None] / 2
    nodes = half * x + ((hi + lo)[..., None] / 2)
    weights = half * w * np.exp(-nodes**2 / 2) / np.sqrt(2 * np.pi)
    shape = b.shape[:-1] + (-1,)
    return nodes.reshape(shape), weights.reshape(shape)


@dataclass(frozen=True)
class Grid:
    """Quadrature in the frame ``x = QV y + QW w``: ``Y`` (``Ny × m``) with weights ``wy``; per ``w``-axis
    ``k`` nodes ``W[k]`` and weights ``Om[k]`` of shape ``(Ny or 1, n_k)`` (per ``y``-node when split)."""

    QV: np.ndarray
    QW: np.ndarray
    Y: np.ndarray
    wy: np.ndarray
    W: tuple[np.ndarray, ...]
    Om: tuple[np.ndarray, ...]
    aligned: bool

    @property
    def shape(self) -> tuple[int, ...]:
        """``(Ny, n_1, …, n_s)``."""
        return (self.Y.shape[0],) + tuple(w.shape[1] for w in self.W)

    @property
    def lead(self) -> int:
        """The axis :meth:`points` slices: the ``y``-nodes (0), or the first ``w``-axis (1) when there is one
        ``y``-node."""
        return 0 if self.Y.shape[0] > 1 or not self.W else 1

    def points(self, part: slice = slice(None)) -> np.ndarray:
        """The quadrature points with index ``part`` on axis :attr:`lead`, shape ``(Ny, n_1, …, n_s, r)`` sliced."""
        s = self.QW.shape[1]
        Y = self.Y[part] if self.lead == 0 else self.Y
        W = [w[part] if self.lead == 0 and w.shape[0] > 1 else w for w in self.W]
        if self.lead == 1:
            W[0] = W[0][:, part]
        X = (Y @ self.QV.T).reshape((Y.shape[0],) + (1,) * s + (self.QV.shape[0],))
        for k in range(s):
            shape = [W[k].shape[0]] + [1] * s + [1]
            shape[1 + k] = W[k].shape[1]
            X = X + W[k].reshape(shape) * self.QW[:, k]
        return X

    @property
    def size(self) -> int:
        return self.Y.shape[0] * int(np.prod([w.shape[1] for w in self.W]))


def _directions(vectors: list[np.ndarray]) -> list[np.ndarray] | None:
    """Distinct directions (up to sign) among unit vectors, or ``None`` if two are neither parallel nor orthogonal."""
    out: list[np.ndarray] = []
    for v in vectors:
        dots = [abs(float(v @ d)) for d in out]
        if any(abs(t - 1) < ALIGN_TOL for t in dots):
            continue
        if any(t > ALIGN_TOL for t in dots):
            return None
        out.append(v)
    return out


def _rotate(Q: np.ndarray, dirs: list[np.ndarray]) -> np.ndarray:
    """``Q`` rotated within its span so that its first columns are ``Q @ dirs``."""
    if not dirs:
        return Q
    D = np.stack(dirs, axis=1)
    rest = orthonormal(np.eye(Q.shape[1]) - D @ D.T)
    return Q @ np.hstack([D, rest])


def _product_rule(rules: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    if not rules:
        return np.zeros((1, 0)), np.ones(1)
    nodes = np.stack(np.meshgrid(*[r[0] for r in rules], indexing="ij"), axis=-1).reshape(-1, len(rules))
    w = np.ones(1)
    for r in rules:
        w = np.outer(w, r[1]).ravel()
    return nodes, w


def build_grid(QV: np.ndarray, QW: np.ndarray, planes: tuple[Hyperplane, ...] | None, q: int, n_gl: int,
               budget: int) -> Grid:
    """The grid for conditioning on ``span QV`` (module docstring); ``planes = ()`` for a smooth target.

    Refused (``ValueError``) before any product rule is formed when it would have more than
    ``GRID_FACTOR × budget`` points.
    """
    unknown, planes = planes is None, planes or ()
    in_v = [p for p in planes if np.linalg.norm(QW.T @ np.array(p.normal)) < ALIGN_TOL]
    in_w = [p for p in planes if p not in in_v]
    dv = _directions([QV.T @ np.array(p.normal) / np.linalg.norm(QV.T @ np.array(p.normal)) for p in in_v])
    dw = _directions([QW.T @ np.array(p.normal) / np.linalg.norm(QW.T @ np.array(p.normal)) for p in in_w])
    aligned = not unknown and dv is not None and dw is not None
    if not aligned or not planes:
        _check_size([q] * (QV.shape[1] + QW.shape[1]), budget)
        gh = gauss_hermite(q)
        Y, wy = _product_rule([gh] * QV.shape[1])
        return Grid(QV, QW, Y, wy, tuple(gh[0][None, :] for _ in range(QW.shape[1])),
                    tuple(gh[1][None, :] for _ in range(QW.shape[1])), aligned)
    QV, QW = _rotate(QV, dv), _rotate(QW, dw)
    y_rules = []
    for i in range(QV.shape[1]):
        breaks = [p.offset / float(QV[:, i] @ np.array(p.normal)) for p in in_v
                  if abs(float(QV[:, i] @ np.array(p.normal))) > ALIGN_TOL]
        y_rules.append(split_rule(np.array(breaks), n_gl) if breaks else gauss_hermite(q))
    crossing = [[p for p in in_w if abs(float(QW[:, k] @ np.array(p.normal))) > ALIGN_TOL] for k in range(QW.shape[1])]
    _check_size([len(rule[0]) for rule in y_rules] + [(len(c) + 1) * n_gl if c else q for c in crossing], budget)
    Y, wy = _product_rule(y_rules)
    W, Om = [], []
    for k, planes_k in enumerate(crossing):
        rows = [(p.offset - Y @ (QV.T @ np.array(p.normal))) / float(QW[:, k] @ np.array(p.normal)) for p in planes_k]
        if rows:
            nodes, weights = split_rule(np.stack(rows, axis=1), n_gl)
        else:
            nodes, weights = (a[None, :] for a in gauss_hermite(q))
        W.append(nodes)
        Om.append(weights)
    return Grid(QV, QW, Y, wy, tuple(W), tuple(Om), True)


def _check_size(axis_points: list[int], budget: int) -> None:
    """Refuse a grid with more than ``GRID_FACTOR × budget`` points (the product of its per-axis counts)."""
    size = int(np.prod([float(n) for n in axis_points]))
    if size > GRID_FACTOR * budget:
        raise ValueError(f"the quadrature grid would have {size:,} points ({' × '.join(map(str, axis_points))} per "
                         f"axis), more than GRID_FACTOR = {GRID_FACTOR} times budget = {budget:,} quadrature points; "
                         "raise budget= or use a target with fewer variables or kinks")


__all__ = ["GRID_FACTOR", "Grid", "SPLIT_RANGE", "build_grid", "gauss_hermite", "split_rule"]
