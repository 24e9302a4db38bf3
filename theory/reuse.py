"""Which directions a second gradient step on a **reused** batch can reach (THEORY.md §3.5, [DTAPZK]).

**Derivation.** Step 1 on a batch of ``n = αd`` samples gives ``w_i¹ = w_i⁰ + η̃ a_i (1/n) Σ_μ y_μ σ'(u_μ) z_μ``.
On the *same* batch, sample ``ν``'s step-2 pre-activation contains its own term,
``⟨w_i¹, z_ν⟩ ∋ η̃ a_i (‖z_ν‖²/n) y_ν σ'(u_ν) → (η̃ a_i/α) y_ν σ'(u_ν)``, so the step-2 gradient
``a_i (1/n) Σ_ν r_ν σ'(⟨w_i¹, z_ν⟩) z_ν`` weights ``z_ν`` by a function ``Ψ(y, x_U, u, …)`` of the label, of the
learned coordinates ``x_U`` (``U = U^t``) and of variables independent of ``x``. Its component along ``v ⊥ U``
is ``E[Ψ z_v] = E[Ψ · E[x_v | y, x_U]]``: Θ(1) at ``n ≍ d`` for a generic ``Ψ`` iff ``E[x_v | y, x_U] ≢ 0``.
Fresh batches see only ``Ψ`` linear in ``y`` — §2.4's ``E[g x_⊥ | x_U]``. So a second reused step reaches

    R(U) = span{ E[G(y, x_U) x_⊥] : G } = span of the values of E[x_⊥ | y, x_U]      (⊆ U^⊥),

the directions of ``U*_rel ⊖ U`` that are not *conditionally mean-zero* given ``(y, x_U)``. For a single-index
link and ``U = {0}`` this is ``k* = 1`` (:mod:`theory.generative`): ``He3(x1)`` is reached (``k* = 1``) while
``He2``, ``He4``, ``|x1|`` are not (``k* = 2``). THEORY §3.5's wording "unless the law of ``(y, z_U)`` is
invariant under ``z_v → −z_v``" is sufficient, not necessary: for ``g = x1³ − 3x1x2² = Re((x1 + i x2)³)``
the flip ``x1 → −x1`` changes ``g``, yet ``E[x1 | y] = 0`` — each of the three mirrors of ``g`` (normals
``(0, 1)``, ``(√3, ±1)/2``) kills the conditional mean along its normal, and the normals span the plane; a
chiral ``g`` keeping only the rotation by 120° has ``E[x | y] = 0`` with no mirror at all.

**Method.** *Reachable* directions are certified by witnesses ``G = y^j He_α(x_U)``: the vectors
``E[g^j He_α(x_U) x_⊥]`` are the §2.4 directions of the target ``g^j`` given ``U`` (``j = 1`` is the
fresh-batch staircase), computed exactly for rational polynomials, by quadrature otherwise, for
``j = 1..max_power``. *Forbidden* directions are certified by a symmetry: the flip ``x_W → −x_W`` of the
remaining ``W`` (fixing ``x_U``) or a reflection ``x_b → −x_b`` of one basis vector ``b`` of ``W``, when ``g``
is invariant (checked exactly by expansion for rational polynomials; at random points to 1e-9 otherwise); in
a remaining plane, every mirror of ``g`` (found exactly for small rational polynomials, :func:`_mirror_normals`)
— two independent mirror normals forbid the whole plane — or a rotation by ``2π/k`` (which fixes no vector);
directions outside ``U*_rel`` are irrelevant. For a polynomial ``g`` with ``dim(U*_rel ⊖ U) = 1`` the decision
is exact whatever the witnesses: ``s ↦ g(x_U + s w)`` is, for almost every ``x_U``, either even (forbidden) or
not (then ``E[s | y, x_U] ≢ 0``, the proof of :mod:`theory.generative`). What is left is *undecided*.

The reach is the generic (σ-agnostic) one, like §2.4: with reuse, the signal is second order in the step
(``∝ η̃²/α``) and small (THEORY §3.5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np
import sympy

from theory.engine import Subspace
from theory.polyalgebra import expand_in_ring
from theory.target import Target
from theory.validate import Interval, check_scalar

MAX_POWER = 4
SYMMETRY_POINTS = 64
SYMMETRY_TOL = 1e-9
MIRROR_MAX_DEGREE = 8
MIRROR_MAX_TERMS = 60
MAX_ROTATION_ORDER = 12
_POWER = Interval(int, 1, 16, what="the largest power j of the witnesses G = y^j He_α(x_U)")


class Reason(Enum):
    """Why a direction is (not) reached by a second reused step (module docstring)."""

    WITNESS = "reached: E[y^j He_α(x_U) x_v] ≠ 0 (a polynomial witness)"
    ODD_PART = "reached: g(x_U + s·w) has an odd part in s, so E[s | y, x_U] ≢ 0 (exact for polynomials)"
    FLIP = "forbidden: g is invariant under x_W → −x_W with x_U fixed, so E[x_W | y, x_U] = 0"
    REFLECTION = "forbidden: g is invariant under the reflection x_b → −x_b, so E[x_b | y, x_U] = 0"
    IRRELEVANT = "forbidden: g does not depend on these directions (outside U*_rel)"
    ROTATION = "forbidden: g is invariant under a rotation of the plane W (fixing x_U), which fixes no vector of W"
    UNDECIDED = "undecided: no witness up to the largest power and no reflection or rotation symmetry found"


@dataclass(frozen=True)
class ReuseReach:
    """What a second step on a reused batch adds to the learned subspace ``U`` (THEORY.md §3.5).

    ``learned`` is ``U``; ``reachable`` the new directions ``R(U) ⊥ U`` (orthonormal bases as elsewhere:
    sympy when exact, numpy otherwise); ``fresh`` what a fresh batch adds (§2.4, the ``j = 1`` witnesses);
    ``parts`` lists ``(Reason, subspace, detail)`` for every part of ``R^r ⊖ U`` (detail: the power ``j``
    that found a witness, the reflected vector, …); ``after`` is ``U ⊕ R(U)``.
    """

    target: str
    learned: Subspace
    reachable: Subspace
    fresh: Subspace
    parts: tuple
    max_power: int

    @property
    def after(self) -> Subspace:
        return self.learned + self.reachable

    @property
    def undecided(self) -> bool:
        return any(reason is Reason.UNDECIDED for reason, _, _ in self.parts)

    def to_dict(self) -> dict:
        """JSON-able: orthonormal bases as lists of columns (exact entries as strings)."""
        return {"target": self.target, "learned": self.learned.vectors(), "reachable": self.reachable.vectors(),
                "fresh": self.fresh.vectors(), "after_dim": self.after.dim, "max_power": self.max_power,
                "parts": [{"reason": reason.name, "meaning": reason.value, "space": space.vectors(), "detail": detail}
                          for reason, space, detail in self.parts]}

    def __str__(self) -> str:
        rows = [f"second reused step for g = {self.target}: learned U = {self.learned} → reaches "
                f"{self.reachable} (fresh batch: {self.fresh}); dims {self.learned.dim} → {self.after.dim}"]
        rows += [f"  {space}: {reason.value}{f' ({detail})' if detail else ''}" for reason, space, detail in self.parts]
        return "\n".join(rows)


def _invariant(g: Target, M: object) -> bool:
    """``g(Mx) = g(x)`` — exact expansion for rational polynomials, else at ``SYMMETRY_POINTS`` random points."""
    if g.exact and not isinstance(M, np.ndarray) and all(x.is_Rational for x in sympy.Matrix(M)):
        return expand_in_ring(g.compose(sympy.Matrix(M)).expr - g.expr) == 0
    fn = g.evaluator("numpy")
    X = np.random.default_rng(0).standard_normal((SYMMETRY_POINTS, g.r))
    A = np.asarray(sympy.Matrix(M).evalf(), dtype=float) if not isinstance(M, np.ndarray) else M
    a, b = np.asarray(fn(X), dtype=float), np.asarray(fn(X @ A.T), dtype=float)
    return bool(np.max(np.abs(a - b)) <= SYMMETRY_TOL * max(1.0, float(np.max(np.abs(a)))))


def _reflection(g: Target, W: Subspace) -> object:
    """``I − 2 P_W`` in the kind of ``W`` (rational for an exact subspace)."""
    return sympy.eye(g.r) - 2 * W.projector() if W.exact else np.eye(g.r) - 2 * W.projector()


def _mirror_normals(g: Target, W: Subspace) -> list | None:
    """Every normal ``b`` in the plane ``W`` (dim 2) of a reflection ``x ↦ x − 2(b·x)b/‖b‖²`` that leaves ``g``
    invariant, exactly (``b = b1 + t b2`` with ``t`` a real root of the gcd of the coefficients, in ``x``, of the
    cleared ``g(reflected x) − g(x)``, and ``b = b2``). ``None`` when ``g`` is not a rational polynomial or is
    larger than ``MIRROR_MAX_DEGREE`` / ``MIRROR_MAX_TERMS`` (the search is then skipped, not metered)."""
    if not (W.exact and g.exact) or (g.degree or 0) > MIRROR_MAX_DEGREE or len(g.expr.args) > MIRROR_MAX_TERMS:
        return None
    (c1, c2), _ = W.orthogonal_basis()
    b1, b2 = (sympy.Matrix([sympy.Rational(int(x.numerator), int(x.denominator)) for x in c]) for c in (c1, c2))
    t = sympy.Symbol("t", real=True)
    xs = sympy.Matrix([sympy.Symbol(f"x{i}", real=True) for i in range(1, g.r + 1)])
    b = b1 + t * b2
    bb = (b.T * b)[0]
    y = xs * bb - 2 * b * (b.T * xs)[0]  # bb × the reflected x
    D = g.degree or 0
    cleared = sympy.expand(sympy.cancel(g.expr.xreplace(dict(zip(xs, y / bb))) * bb**D) - g.expr * bb**D)
    coeffs = sympy.Poly(cleared, *xs).coeffs() if cleared != 0 else []
    common = sympy.Integer(0)
    for c in coeffs:
        common = sympy.gcd(common, sympy.Poly(c, t).as_expr())
    roots = [] if common == 0 else sympy.Poly(common, t).real_roots() if sympy.Poly(common, t).degree() > 0 else []
    normals = [tuple(b1 + r * b2) for r in sorted(set(roots), key=float)] if coeffs else None
    if normals is None:  # g(reflected x) = g(x) for every t: any normal in W (already the flip case)
        return [tuple(b1), tuple(b2)]
    if _invariant(g, sympy.eye(g.r) - 2 * b2 * b2.T / (b2.T * b2)[0]):
        normals.append(tuple(b2))
    return normals


def _rotation_order(g: Target, W: Subspace) -> int | None:
    """The smallest ``k ≤ MAX_ROTATION_ORDER`` such that ``g`` is invariant under the rotation by ``2π/k`` of the
    plane ``W`` (at random points, :func:`_invariant`), or ``None``. Such a rotation ``O`` gives
    ``E[x_W | y, x_U] = O E[x_W | y, x_U]``, hence 0."""
    B = np.asarray(sympy.Matrix(W.matrix()).evalf(), dtype=float) if W.exact else W.matrix()
    w1, w2 = B[:, 0], B[:, 1]
    for k in range(3, MAX_ROTATION_ORDER + 1):
        c, s = math.cos(2 * math.pi / k), math.sin(2 * math.pi / k)
        O = (np.eye(g.r) + (c - 1) * (np.outer(w1, w1) + np.outer(w2, w2)) + s * (np.outer(w2, w1) - np.outer(w1, w2)))
        if _invariant(g, O):
            return k
    return None


def _span_of(g: Target, vectors: list) -> Subspace:
    return g.engine.subspace(vectors)


def _power(g: Target, j: int) -> Target:
    expr = g.expr**j if j > 1 else g.expr
    if j > 1 and g.exact:
        expr = expand_in_ring(expr)
    return Target(expr, g.r, g.method, g.tol, g.kmax, g.budget, f"({g.label})^{j}")


def reuse_reach(target: str | Target, learned: object = None, max_power: int = MAX_POWER) -> ReuseReach:
    """The directions a second gradient step on a reused batch (``n ≍ d``) can reach (THEORY.md §3.5).

    Parameters
    ----------
    target : str or Target
        ``g*`` (THEORY.md §1).
    learned : matrix, list of vectors, subspace or None
        ``U`` learned before the second step; ``None``: ``U^1`` of §2.4 (one giant step at ``n ≍ d``, the same
        with fresh or reused batches), ``[]``: ``{0}``.
    max_power : int
        Largest ``j`` of the witnesses ``G = y^j He_α(x_U)``.

    Returns
    -------
    ReuseReach

    >>> reuse_reach("He3(x1)").reachable.dim, reuse_reach("He2(x1)").reachable.dim
    (1, 0)
    """
    g = target if isinstance(target, Target) else Target.parse(target)
    max_power = check_scalar(max_power, "max_power", _POWER)
    U = g.staircase().space(1) if learned is None else g.engine.subspace(learned)
    relevant = g.engine.relevant()
    parts: list[tuple] = []
    reached = g.engine.zero()
    fresh = g.engine.zero()
    for j in range(1, max_power + 1):
        if (U + reached + relevant).dim == (U + reached).dim:
            break
        gj = g if j == 1 else _power(g, j)
        V = gj.engine.subspace(U.matrix())
        new = gj.engine.directions(V, (1,))
        new = (new if new.exact == reached.exact else _span_of(g, new.matrix())).minus(U + reached)
        if j == 1:
            fresh = new
        if new.dim:
            parts.append((Reason.WITNESS, new, f"j = {j}"))
            reached = reached + new
    rest = relevant.minus(U + reached)
    if rest.dim == 1 and reached.dim == 0 and g.exact and not _invariant(g, _reflection(g, rest)):
        parts.append((Reason.ODD_PART, rest, ""))
        reached, rest = reached + rest, g.engine.zero()
    if rest.dim and _invariant(g, _reflection(g, rest)):
        parts.append((Reason.FLIP, rest, ""))
    elif rest.dim:
        normals = _mirror_normals(g, rest) if rest.dim == 2 else None
        if normals is not None and len(normals) >= 2:  # two independent mirror normals span the plane
            parts.append((Reason.REFLECTION, rest, "normals b ∝ " + ", ".join(str(tuple(b)) for b in normals)))
            rest = g.engine.zero()
        else:
            basis = rest.matrix()
            flipped = [basis[:, i] for i in range(rest.dim)
                       if _invariant(g, _reflection(g, _span_of(g, [list(basis[:, i])])))]
            if flipped:
                sym = _span_of(g, [list(b) for b in flipped])
                parts.append((Reason.REFLECTION, sym, "b in " + str(sym)))
                rest = rest.minus(sym)
        order = _rotation_order(g, rest) if rest.dim == 2 else None
        if order is not None:
            parts.append((Reason.ROTATION, rest, f"by 2π/{order}"))
        elif rest.dim:
            parts.append((Reason.UNDECIDED, rest, f"j ≤ {max_power}"))
    irrelevant = relevant.complement().minus(U)
    if irrelevant.dim:
        parts.append((Reason.IRRELEVANT, irrelevant, ""))
    return ReuseReach(g.label, U, reached, fresh, tuple(parts), max_power)


__all__ = ["Reason", "ReuseReach", "reuse_reach"]
