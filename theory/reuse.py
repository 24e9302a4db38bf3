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
a remaining plane, every mirror of ``g`` (found by an angle scan and Brent's method, :func:`_mirror_normals`)
— two independent mirror normals forbid the whole plane — or a rotation by ``2π/k`` (which fixes no vector);
directions outside ``U*_rel`` are irrelevant. Certificates are checked on ``U*_rel ⊖ U`` before the witnesses
and overrule them (a quadrature coefficient below its error is no witness), then again on what is left. For a polynomial ``g`` with ``dim(U*_rel ⊖ U) = 1`` the decision
is exact whatever the witnesses: ``s ↦ g(x_U + s w)`` is, for almost every ``x_U``, either even (forbidden) or
not (then ``E[s | y, x_U] ≢ 0``, the proof of :mod:`theory.generative`). What is left is *undecided*.

The reach is the generic (σ-agnostic) one, like §2.4: with reuse, the signal is second order in the step
(``∝ η̃²/α``) and small (THEORY §3.5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import Enum

import numpy as np
import sympy

from theory.budget import expression_operations, numeric_meter
from theory.engine import Subspace
from theory.polyalgebra import expand_in_ring
from theory.target import Target
from theory.validate import Interval, check_scalar

MAX_POWER = 4
SYMMETRY_POINTS = 64
SYMMETRY_TOL = 1e-9
MIRROR_ANGLES = 2048
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


def _plane_basis(W: Subspace) -> tuple[np.ndarray, np.ndarray]:
    B = np.asarray(sympy.Matrix(W.matrix()).evalf(), dtype=float) if W.exact else W.matrix()
    return B[:, 0], B[:, 1]


def _mirror_normals(g: Target, W: Subspace) -> list[np.ndarray]:
    """Unit normals ``b`` in the plane ``W`` of the reflections ``x ↦ x − 2(b·x)b`` that leave ``g`` invariant.

    ``b(θ) = cos θ w1 + sin θ w2``: the signed residual ``g(S_θ x0) − g(x0)`` at one random point changes sign at
    every mirror; its sign changes on ``MIRROR_ANGLES`` angles of ``[0, π)`` are refined by Brent's method
    (to 1e-15 in ``θ``) and kept when ``g`` is invariant at ``SYMMETRY_POINTS`` random points
    (:func:`_invariant`, relative 1e-9)."""
    from scipy.optimize import brentq

    w1, w2 = _plane_basis(W)
    numeric_meter().charge(4 * MIRROR_ANGLES * expression_operations(g.expr) * g.r, f"{MIRROR_ANGLES} mirror angles")
    fn = g.evaluator("numpy")
    x0 = np.random.default_rng(1).standard_normal(g.r)
    g0 = float(np.asarray(fn(x0[None, :]), dtype=float)[0])

    def reflect(theta: float) -> np.ndarray:
        b = math.cos(theta) * w1 + math.sin(theta) * w2
        return np.eye(g.r) - 2 * np.outer(b, b)

    thetas = np.linspace(0, math.pi, MIRROR_ANGLES, endpoint=False)
    b = np.cos(thetas)[:, None] * w1 + np.sin(thetas)[:, None] * w2
    moved = x0[None, :] - 2 * (b @ x0)[:, None] * b
    res = np.asarray(fn(moved), dtype=float) - g0
    res = np.append(res, res[0])  # θ = π is θ = 0
    def residual(theta: float) -> float:
        return float(np.asarray(fn((reflect(theta) @ x0)[None, :]), dtype=float)[0]) - g0

    found: dict[float, np.ndarray] = {}
    for i in np.nonzero(res[:-1] * res[1:] <= 0)[0]:
        hi = float(thetas[i + 1]) if i + 1 < len(thetas) else math.pi
        theta = float(thetas[i]) if res[i] == 0 else hi if res[i + 1] == 0 else brentq(
            residual, float(thetas[i]), hi, xtol=1e-15)
        if _invariant(g, reflect(theta)):
            found.setdefault(round(theta % math.pi, 9), math.cos(theta) * w1 + math.sin(theta) * w2)
    return list(found.values())


def _rotation_order(g: Target, W: Subspace) -> int | None:
    """The smallest ``k ≤ MAX_ROTATION_ORDER`` such that ``g`` is invariant under the rotation by ``2π/k`` of the
    plane ``W`` (at random points, :func:`_invariant`), or ``None``. Such a rotation ``O`` gives
    ``E[x_W | y, x_U] = O E[x_W | y, x_U]``, hence 0."""
    w1, w2 = _plane_basis(W)
    for k in range(3, MAX_ROTATION_ORDER + 1):
        c, s = math.cos(2 * math.pi / k), math.sin(2 * math.pi / k)
        O = (np.eye(g.r) + (c - 1) * (np.outer(w1, w1) + np.outer(w2, w2)) + s * (np.outer(w2, w1) - np.outer(w1, w2)))
        if _invariant(g, O):
            return k
    return None


def _forbidden(g: Target, W: Subspace) -> list[tuple]:
    """The parts of ``W`` a symmetry of ``g`` (fixing ``W^⊥``) certifies unreachable (module docstring): the flip
    of ``W``; in a plane, two mirrors or a rotation; else reflections along the basis vectors of ``W``."""
    if W.dim == 0:
        return []
    if _invariant(g, _reflection(g, W)):
        return [(Reason.FLIP, W, "")]
    if W.dim == 2:
        normals = _mirror_normals(g, W)
        if len(normals) >= 2:  # two mirror normals (distinct lines of a plane) span it
            return [(Reason.REFLECTION, W, "normals b = " + ", ".join(
                "(" + ", ".join(f"{v:.6g}" for v in b) + ")" for b in normals))]
        order = _rotation_order(g, W)
        if order is not None:
            return [(Reason.ROTATION, W, f"by 2π/{order}")]
    basis = W.matrix()
    flipped = [list(basis[:, i]) for i in range(W.dim) if _invariant(g, _reflection(g, _span_of(g, [list(basis[:, i])])))]
    return [(Reason.REFLECTION, _span_of(g, flipped), "b = basis vectors of W")] if flipped else []


def _span_of(g: Target, vectors: list) -> Subspace:
    return g.engine.subspace(vectors)


def _power(g: Target, j: int) -> Target:
    expr = g.expr**j if j > 1 else g.expr
    if j > 1 and g.exact:
        expr = expand_in_ring(expr)
    return replace(g, expr=expr, text=f"({g.label})^{j}")


def reuse_reach(target: str | Target, learned: object = None, max_power: int = MAX_POWER) -> ReuseReach:
    """The directions a second gradient step on a reused batch (``n ≍ d``) can reach (THEORY.md §3.5).

    Parameters
    ----------
    target : str or Target
        ``g*`` (THEORY.md §1).
    learned : matrix, list of vectors, subspace or None
        ``U`` learned before the second step; ``None``: ``U^1`` of §2.4 (one giant step at ``n ≍ d``, the same
        with fresh or reused batches; for a numeric target less what a symmetry certifies ``E[x | y] = 0`` on,
        which a quadrature ``C1`` below its error can contain), ``[]``: ``{0}``.
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
    relevant = g.engine.relevant()
    U = g.engine.subspace(learned) if learned is not None else g.staircase().space(1) if g.exact else \
        g.staircase().space(1).minus(sum((s for _, s, _ in _forbidden(g, relevant)), g.engine.zero()))
    pre = _forbidden(g, relevant.minus(U))  # symmetries first: they overrule a quadrature witness below its error
    blocked = sum((space for _, space, _ in pre), g.engine.zero())
    parts: list[tuple] = []
    reached = g.engine.zero()
    fresh = g.engine.zero()
    for j in range(1, max_power + 1):
        if (U + reached + blocked + relevant).dim == (U + reached + blocked).dim:
            break
        gj = g if j == 1 else _power(g, j)
        new = gj.engine.directions(gj.engine.subspace(U.matrix()), (1,))
        new = (new if new.exact == reached.exact else _span_of(g, new.matrix())).minus(U + reached + blocked)
        if j == 1:
            fresh = new
        if new.dim:
            parts.append((Reason.WITNESS, new, f"j = {j}"))
            reached = reached + new
    rest = relevant.minus(U + reached + blocked)
    if rest.dim == 1 and reached.dim == 0 and blocked.dim == 0 and g.exact and \
            not _invariant(g, _reflection(g, rest)):
        parts.append((Reason.ODD_PART, rest, ""))
        reached, rest = reached + rest, g.engine.zero()
    post = _forbidden(g, rest)
    rest = rest.minus(sum((space for _, space, _ in post), g.engine.zero()))
    parts += pre + post
    if rest.dim:
        parts.append((Reason.UNDECIDED, rest, f"j ≤ {max_power}"))
    irrelevant = relevant.complement().minus(U)
    if irrelevant.dim:
        parts.append((Reason.IRRELEVANT, irrelevant, ""))
    return ReuseReach(g.label, U, reached, fresh, tuple(parts), max_power)


__all__ = ["Reason", "ReuseReach", "reuse_reach"]
