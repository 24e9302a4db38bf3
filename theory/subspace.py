"""Subspaces of ``R^r``, exact (rational) and floating point (THEORY.md §1).

``ExactSubspace`` keeps the reduced row-echelon basis of a rational subspace,
which is canonical: two spans are equal exactly when their ``rows`` are. It is
what the exact engine computes with (projectors stay rational); users see the
orthonormal basis ``matrix()`` (a sympy Matrix, whose entries may hold square
roots). ``FloatSubspace`` keeps an orthonormal numpy basis and the rank
tolerance it was cut with.

The float helpers :func:`orthonormal` and :func:`complement_in` are the one
implementation that ``theory``, ``sim`` and ``verify`` share (plain numpy
arrays in, plain arrays out).
"""

from __future__ import annotations

import math

from dataclasses import dataclass
from fractions import Fraction
from typing import ClassVar

import numpy as np
import sympy
from sympy.polys.domains import QQ
from sympy.polys.matrices import DomainMatrix

from theory.display import compact, html_table, latex_span

Vector = tuple  # of sympy QQ elements
RANK_TOL = 1e-9


def orthonormal(vectors: np.ndarray, tol: float = RANK_TOL) -> np.ndarray:
    """Orthonormal basis of the column span of ``vectors`` (THEORY.md §1, subspaces as matrices).

    Parameters
    ----------
    vectors : array of shape (r, k)
        Any columns (dependent, zero or none at all).
    tol : float
        Relative rank cut: singular values ``s > tol · max(s_max, 1)`` are kept. The floor 1 is the scale
        of unit directions, so rounding residue of vectors that should vanish (``≈ 1e-16``) is not a direction.

    Returns
    -------
    array of shape (r, m)
        Orthonormal columns (left singular vectors), ``m`` the numerical rank; ``(r, 0)`` for ``{0}``.
    """
    vectors = np.asarray(vectors, dtype=float)
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be an r × k array (one column per vector); got shape {vectors.shape}")
    if vectors.size == 0:
        return np.zeros((vectors.shape[0], 0))
    if not np.all(np.isfinite(vectors)):
        raise ValueError("vectors must be finite to span a subspace")
    u, s, _ = np.linalg.svd(vectors, full_matrices=False)
    return u[:, s > tol * max(float(s[0]), 1.0)]


def complement_in(outer: np.ndarray, inner: np.ndarray, tol: float = RANK_TOL) -> np.ndarray:
    """Orthonormal basis of ``outer ⊖ inner``: ``outer`` projected on the orthogonal complement of ``inner``.

    Parameters
    ----------
    outer, inner : arrays of shape (r, m) and (r, k)
        Orthonormal columns (e.g. ``U*_rel`` and a staircase level, §2.4).
    tol : float
        Rank cut of :func:`orthonormal`.

    Returns
    -------
    array of shape (r, m − dim(outer ∩ inner))
        Orthonormal columns spanning ``P_{inner^⊥} outer`` (``outer ⊖ inner`` when ``inner ⊆ outer``).
    """
    outer, inner = np.asarray(outer, dtype=float), np.asarray(inner, dtype=float)
    if outer.ndim != 2 or inner.ndim != 2 or outer.shape[0] != inner.shape[0]:
        raise ValueError(f"outer and inner must be r × · arrays with the same r; got shapes {outer.shape} "
                         f"and {inner.shape}")
    return orthonormal(outer - inner @ (inner.T @ outer), tol)


def _to_qq(x: object) -> object:
    """A rational number (int, Fraction, sympy Rational, QQ element) as a QQ element."""
    if type(x) is QQ.dtype:  # already one: the common case inside the exact engine
        return x
    if isinstance(x, Fraction):
        return QQ(x.numerator, x.denominator)
    if isinstance(x, (int, np.integer)):
        return QQ(int(x))
    if isinstance(x, sympy.Basic):
        x = sympy.nsimplify(x) if not x.is_Rational else x
        if not x.is_Rational:
            raise ValueError(f"entry {x} is not rational")
        return QQ(int(x.p), int(x.q))
    return QQ.convert(x)


def _sparse(v: Vector) -> dict:
    return {i: x for i, x in enumerate(v) if x}


def _dot(a: dict, b: dict) -> object:
    if len(b) < len(a):
        a, b = b, a
    return sum((x * b[i] for i, x in a.items() if i in b), QQ(0))


def _axpy(w: dict, c: object, b: dict) -> dict:
    out = dict(w)
    for i, x in b.items():
        y = out.get(i, QQ(0)) + c * x
        if y:
            out[i] = y
        else:
            out.pop(i, None)
    return out


@dataclass(frozen=True)
class ExactSubspace:
    """A subspace of ``Q^r`` stored as its reduced row-echelon basis (canonical)."""

    r: int
    rows: tuple[Vector, ...]

    exact: ClassVar[bool] = True

    @classmethod
    def span(cls, vectors: list | tuple, r: int) -> ExactSubspace:
        """The span of rational vectors of length ``r`` (any number, any dependence)."""
        vecs = [tuple(_to_qq(v) for v in vec) for vec in vectors]
        vecs = [v for v in vecs if any(v)]
        if not vecs:
            return cls(r, ())
        for v in vecs:
            if len(v) != r:
                raise ValueError(f"vector of length {len(v)} in a subspace of R^{r}")
        rref, pivots = DomainMatrix([list(v) for v in vecs], (len(vecs), r), QQ).rref()
        rows = rref.to_list()[: len(pivots)]
        return cls(r, tuple(tuple(row) for row in rows))

    @classmethod
    def zero(cls, r: int) -> ExactSubspace:
        return cls(r, ())

    @classmethod
    def whole(cls, r: int) -> ExactSubspace:
        return cls.span([[int(i == j) for j in range(r)] for i in range(r)], r)

    @property
    def dim(self) -> int:
        return len(self.rows)

    def __add__(self, other: ExactSubspace) -> ExactSubspace:
        return ExactSubspace.span(list(self.rows) + list(other.rows), self.r)

    def __le__(self, other: ExactSubspace) -> bool:
        """Inclusion ``self ⊆ other``."""
        return (other + self).dim == other.dim

    def minus(self, other: ExactSubspace) -> ExactSubspace:
        """``self ⊖ other``: the projection of ``self`` on ``other^⊥`` (``self`` minus what ``other`` covers)."""
        if other.dim == 0 or self.dim == 0:
            return self
        ob, on = other.orthogonal_basis()
        sparse = [_sparse(b) for b in ob]
        out = []
        for v in self.rows:
            w = _sparse(v)
            for b, nb in zip(sparse, on):
                coef = _dot(w, b) / nb
                if coef:
                    w = _axpy(w, -coef, b)
            out.append(tuple(w.get(i, QQ(0)) for i in range(self.r)))
        return ExactSubspace.span(out, self.r)

    def vectors(self) -> list[list[str]]:
        """The orthonormal basis as JSON-able columns (exact entries as strings)."""
        m = self.matrix()
        return [[str(m[i, j]) for i in range(m.shape[0])] for j in range(m.shape[1])]

    def orthogonal_basis(self) -> tuple[list[Vector], list]:
        """Rational Gram–Schmidt (no normalisation): orthogonal vectors ``b_j`` and ``‖b_j‖²``."""
        sparse: list[dict] = []
        norms: list = []
        for v in self.rows:  # sparse vectors: complements of coordinate subspaces stay cheap at large r
            w = _sparse(v)
            for b, nb in zip(sparse, norms):
                coef = _dot(w, b) / nb
                if coef:
                    w = _axpy(w, -coef, b)
            sparse.append(w)
            norms.append(_dot(w, w))
        zero = QQ(0)
        return [tuple(w.get(i, zero) for i in range(self.r)) for w in sparse], norms

    def complement(self) -> ExactSubspace:
        """The orthogonal complement in ``Q^r``."""
        if self.dim == 0:
            return ExactSubspace.whole(self.r)
        null = DomainMatrix([list(v) for v in self.rows], (self.dim, self.r), QQ).nullspace()
        return ExactSubspace.span(null.to_list(), self.r)

    def matrix(self) -> sympy.Matrix:
        """Orthonormal basis as the columns of an ``r × dim`` sympy Matrix."""
        if self.dim == 0:
            return sympy.zeros(self.r, 0)
        basis, norms = self.orthogonal_basis()
        cols = []
        for b, nb in zip(basis, norms):
            scale = 1 / sympy.sqrt(QQ.to_sympy(nb))
            cols.append([sympy.radsimp(QQ.to_sympy(x) * scale) for x in b])
        return sympy.Matrix(cols).T

    def projector(self) -> sympy.Matrix:
        """The orthogonal projector ``P_V`` (rational ``r × r``)."""
        out = sympy.zeros(self.r, self.r)
        basis, norms = self.orthogonal_basis()
        for b, nb in zip(basis, norms):
            bs = sympy.Matrix([QQ.to_sympy(x) for x in b])
            out += bs * bs.T / QQ.to_sympy(nb)
        return out

    def to_float(self, tol: float = 1e-9) -> FloatSubspace:
        return FloatSubspace.span(np.array([[float(x) for x in v] for v in self.rows]).T.reshape(self.r, -1), tol)

    def __str__(self) -> str:
        return _describe(self.matrix(), self.dim, self.r)

    def __repr__(self) -> str:
        return compact([f"ExactSubspace(dim {self.dim} in R^{self.r}: {self})"], 1)

    def _repr_latex_(self) -> str:
        return f"${latex_span(self.matrix(), self.r)}$"

    def _repr_html_(self) -> str:
        return html_table(f"exact subspace of R^{self.r}", ("dim", "orthonormal basis"), [(self.dim, str(self))])


@dataclass(frozen=True, eq=False)
class FloatSubspace:
    """A subspace of ``R^r`` with an orthonormal basis (columns of ``basis``, ``r × dim``)."""

    basis: np.ndarray
    tol: float

    exact: ClassVar[bool] = False

    @classmethod
    def span(cls, vectors: np.ndarray, tol: float) -> FloatSubspace:
        """Span of the columns of ``vectors`` (``r × k``), keeping singular values ``> tol · max(1, σ_max)``."""
        return cls(_canonical_signs(orthonormal(vectors, tol)), tol)

    @classmethod
    def zero(cls, r: int, tol: float) -> FloatSubspace:
        return cls(np.zeros((r, 0)), tol)

    @property
    def r(self) -> int:
        return self.basis.shape[0]

    @property
    def dim(self) -> int:
        return self.basis.shape[1]

    def __add__(self, other: FloatSubspace) -> FloatSubspace:
        return FloatSubspace.span(np.hstack([self.basis, other.basis]), 1e-8)

    def __le__(self, other: FloatSubspace) -> bool:
        resid = self.basis - other.basis @ (other.basis.T @ self.basis)
        return bool(np.all(np.linalg.norm(resid, axis=0) < 1e-6))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FloatSubspace) and self.dim == other.dim and self <= other

    __hash__ = None  # type: ignore[assignment]

    def minus(self, other: FloatSubspace) -> FloatSubspace:
        """``self ⊖ other``: the projection of ``self`` on ``other^⊥`` (:func:`complement_in`)."""
        return FloatSubspace(_canonical_signs(complement_in(self.basis, other.basis, 1e-8)), self.tol)

    def vectors(self) -> list[list[float]]:
        """The orthonormal basis as JSON-able columns."""
        return [[float(x) for x in self.basis[:, j]] for j in range(self.dim)]

    def complement(self) -> FloatSubspace:
        if self.dim == 0:
            return FloatSubspace(np.eye(self.r), self.tol)
        u, _, _ = np.linalg.svd(self.basis, full_matrices=True)
        return FloatSubspace(u[:, self.dim:], self.tol)

    def matrix(self) -> np.ndarray:
        return self.basis.copy()

    def projector(self) -> np.ndarray:
        return self.basis @ self.basis.T

    def to_float(self, tol: float | None = None) -> FloatSubspace:
        return self

    def __str__(self) -> str:
        return _describe(np.round(self.basis, 6), self.dim, self.r)

    def __repr__(self) -> str:
        return compact([f"FloatSubspace(dim {self.dim} in R^{self.r}, tol {self.tol:g}: {self})"], 1)

    def _repr_latex_(self) -> str:
        return f"${latex_span(self.basis, self.r)}$"

    def _repr_html_(self) -> str:
        return html_table(f"floating-point subspace of R^{self.r} (rank tolerance {self.tol:g})",
                          ("dim", "orthonormal basis (6 digits)"), [(self.dim, str(self))])


def _canonical_signs(u: np.ndarray) -> np.ndarray:
    """Flip columns so that each one's largest-magnitude entry is positive (stable printing)."""
    if u.size == 0:
        return u
    idx = np.argmax(np.abs(u), axis=0)
    signs = np.sign(u[idx, np.arange(u.shape[1])])
    signs[signs == 0] = 1
    return u * signs


def _describe(m: object, dim: int, r: int) -> str:
    if dim == 0:
        return "{0}"
    if dim == r:
        return f"R^{r}"
    cols = [", ".join(str(x) for x in list(m[:, j])) for j in range(dim)]
    return "span{" + "; ".join(f"({c})" for c in cols) + "}"


def _finite_entry(x: object) -> bool:
    """``x`` is a finite real number (an int, a float, a numpy or sympy number); a huge exact integer counts."""
    if isinstance(x, (bool, np.bool_, str, bytes)):
        return False
    if isinstance(x, (int, np.integer)):
        return True
    if isinstance(x, sympy.Basic):
        return bool(x.is_number and x.is_finite and x.is_extended_real)
    try:
        return math.isfinite(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return False


def as_subspace(U: object, r: int, exact: bool, tol: float) -> ExactSubspace | FloatSubspace:
    """Interpret a user-supplied subspace: a basis (columns of a sympy Matrix or array ``r × m``),
    a list of vectors, or an existing subspace. Exact when every entry is rational or the
    projector it spans is rational; otherwise floating point.
    """
    if isinstance(U, (ExactSubspace, FloatSubspace)):
        if U.r != r:
            raise ValueError(f"subspace lives in R^{U.r} but the target has r={r} variables")
        return U
    if isinstance(U, sympy.MatrixBase):
        M = U
    elif isinstance(U, np.ndarray):
        M = U
    elif isinstance(U, (list, tuple)):  # a list of direction vectors
        if len(U) == 0:
            return ExactSubspace.zero(r) if exact else FloatSubspace.zero(r, tol)
        M = np.array([list(v) for v in U], dtype=object).T
    else:
        raise ValueError(f"a subspace must be a basis matrix (r × m), a list of vectors or a staircase level; got {type(U).__name__}")
    shape = tuple(M.shape)
    if not all(_finite_entry(x) for x in (M if isinstance(M, sympy.MatrixBase) else np.asarray(M).ravel())):
        raise ValueError("subspace basis has an entry that is not a finite real number (NaN, ±inf or not a number)")
    if len(shape) != 2 or shape[0] != r:
        raise ValueError(f"basis must have r={r} rows (one column per direction); got shape {shape}")
    if shape[1] == 0:
        return ExactSubspace.zero(r) if exact else FloatSubspace.zero(r, tol)
    if exact:
        try:
            if isinstance(M, sympy.MatrixBase):
                if all(x.is_Rational for x in M):
                    return ExactSubspace.span([list(M[:, j]) for j in range(M.shape[1])], r)
                P = sympy.simplify(M * (M.T * M).inv() * M.T)
                return ExactSubspace.span([list(P[:, j]) for j in range(r)], r)
            if M.dtype == object or np.issubdtype(M.dtype, np.integer):
                return ExactSubspace.span([list(M[:, j]) for j in range(M.shape[1])], r)
        except (ValueError, TypeError, ZeroDivisionError):
            pass
    F = np.array(M.tolist() if isinstance(M, sympy.MatrixBase) else M, dtype=float)
    if not np.all(np.isfinite(F)):
        raise ValueError("subspace basis has non-finite entries")
    return FloatSubspace.span(F, 1e-9)
