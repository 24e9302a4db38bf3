"""Population (``d → ∞``) orientation of the second giant step in the ``dklps-multi-step`` protocol (THEORY.md §3.2,
claim NB-orient).

Protocol: σ = relu, ``f = (1/p) Σ a_i σ(⟨w_i, z⟩)``, ``hypercube`` initialisation (rows ``N(0, I/d)``, so
``‖w_i⁰‖ → 1``; ``a_i = ±1``), fresh batches of ``n = αd`` samples, per-neuron step ``η̃``, no normalisation;
``g`` in two variables with ``C1 ≠ 0``. Coordinates ``Y = ⟨v*, x⟩``, ``W = ⟨v⊥, x⟩`` (``v* = C1/‖C1‖``,
``v⊥ ⊥ v*`` oriented so that ``κ = E[g Y W] ≥ 0``). Limits are ``d → ∞`` at fixed ``p``, then ``p → ∞``
(``f(W⁰) = O(p^{-1/2})`` and a neuron's own share of ``f`` are dropped).

**Step 1** (``f(W⁰) ≈ 0``; Stein, as in §3.1 without normalisation): a neuron with ``a_i = a`` becomes
``w_i¹ = m Y-direction + b w_i⁰ + c ĉ⊥-direction + e ξ_i``, with

* ``m = a η̃ μ1 ‖C1‖`` (its overlap on ``v*``), ``b = 1 + a η̃ μ2 C0`` (``μ_k = μ_k(relu)``, ``C0 = E[g]``),
* ``c = a η̃ μ1 √(E[g²]/α)``: the part all neurons share — ``E[σ'] = μ1`` times the batch average
  ``ĉ = (1/n) Σ y_ν z_ν``, whose part ``⊥ U*`` has squared norm ``E[g²]/α``,
* ``e = η̃ √(E[g²] (E[σ'²] − μ1²)/α)``: each neuron's own batch noise, orthogonal across neurons;

so the pre-activation of a fresh ``z`` is ``h = mY + R·N(0, 1)`` with ``R_s² = b² + c² + e² = b² + η̃² E[g²]
E[σ'²]/α`` ("the spread of the rest", dominated at ``n = d`` by step 1's batch noise). The network after
step 1 is ``f¹(Y, S) = ½ Σ_{a=±1} a F(m_a Y + c_a S; s_a)``, ``F(μ; s) = E[relu(μ + sN)] = μΦ(μ/s) + sφ(μ/s)``,
``s_a² = b_a² + e²``, ``S = ⟨ĉ⊥/‖ĉ⊥‖, z⟩``.

**Step 2** on a fresh batch: ``G_i² = a η̃ (1/n) Σ_ν (y_ν − f¹(z_ν)) σ'(h_ν) z_ν``. Its population part has
components along ``Y, W, S`` and the neuron's own ``(w⁰, ξ_i)`` plane (``E[r 1{h>0} X]`` for each), and its
batch noise has squared norm ``E[r² 1{h>0}]/α``. ``f¹`` does not depend on ``W``, so the ``v⊥`` part is
``a η̃ E[E[gW | Y] 1{h > 0}]``; when ``E[gW | Y] = κY`` (both published examples) Stein gives THEORY's

    ⟨G_i², v⊥⟩ = η̃ κ |m| / √(2π (m² + R_s²)),

and the off-line cosine is that over ``‖G_i²‖``. Everything but the closed forms is a Gauss–Hermite rule
in ``(Y, W, S)`` (``QUAD_POINTS`` per axis; the error estimate is the change from ``2/3`` of the points).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy
from numpy.polynomial.hermite_e import hermegauss
from scipy.special import ndtr

from theory.activations import as_activation
from theory.display import number_json
from theory.target import Target
from theory.validate import Interval, check_scalar

EXAMPLES = {1: "(4*x1 + x1**2 + x2)/2", 2: "(x1 + x1**2 + x2 - x2**2)/2"}  # §3.2: g = (σ1*(x1) + σ2*(x2))/2
QUAD_POINTS = 60
ACTIVATION = "relu"
MAX_ETA = 1e6  # η̃ and α beyond these (or α below 1/MAX_ALPHA) overflow float64 in the quadrature
MAX_ALPHA = 1e6
_ETA = Interval(float, 0, MAX_ETA, closed="right", what="the per-neuron step η̃, at most MAX_ETA")
_ALPHA = Interval(float, 1 / MAX_ALPHA, MAX_ALPHA, what="α = n/d, between 1/MAX_ALPHA and MAX_ALPHA")


@dataclass(frozen=True)
class NeuronStep:
    """One sign ``a`` of the second layer (module docstring for every symbol).

    Exact sympy numbers (``m``, ``b``, ``c``, ``e``, ``R``, ``offline_formula``) when the target is a rational
    polynomial and ``η̃``, ``α`` are rational; the rest are quadrature floats. ``offline`` is ``⟨G², v⊥⟩``,
    ``online`` ``⟨G², v*⟩``, ``norm`` ``‖G²‖`` (population and batch noise), ``cosine = offline/norm`` and
    ``rho = offline/online`` (the ratio of the teacher-plane components).
    """

    a: int
    m: object
    b: object
    c: object
    e: object
    R: object
    offline_formula: object
    offline: float
    online: float
    norm: float
    cosine: float
    rho: float


@dataclass(frozen=True)
class Step2Orientation:
    """The §3.2 population prediction for the second step (module docstring).

    ``neurons`` holds the ``a = +1`` and ``a = −1`` rows; ``rms_cosine`` is ``√(mean over a of cosine²)``, what
    a fit of ``mean off² = c² + b/d`` over neurons of both signs estimates; ``linear`` says whether
    ``E[gW | Y] = κY`` (then ``offline_formula`` applies); ``error`` the quadrature error estimate.
    """

    target: str
    eta: object
    alpha: object
    kappa: object
    linear: bool
    v_star: tuple
    v_perp: tuple
    neurons: tuple
    rms_cosine: float
    error: float

    @property
    def mean_cosine(self) -> float:
        """The off-line cosine averaged over the two signs (half the neurons each)."""
        return sum(n.cosine for n in self.neurons) / len(self.neurons)

    def to_dict(self) -> dict:
        """JSON-able: exact numbers as ``{"exact": str, "value": float}``, the rest floats."""
        rows = [{k: (n.a if k == "a" else number_json(getattr(n, k))) for k in NeuronStep.__dataclass_fields__}
                for n in self.neurons]
        return {"target": self.target, "eta": number_json(self.eta), "alpha": number_json(self.alpha),
                "kappa": number_json(self.kappa), "linear": self.linear, "v_star": number_json(list(self.v_star)),
                "v_perp": number_json(list(self.v_perp)), "neurons": rows, "rms_cosine": self.rms_cosine,
                "mean_cosine": self.mean_cosine, "quadrature_error": self.error}

    def __str__(self) -> str:
        rows = [f"§3.2 step-2 orientation for g = {self.target} (relu, η̃ = {self.eta}, α = {self.alpha}): "
                f"κ = {self.kappa}, v* = {self.v_star}, v⊥ = {self.v_perp}"]
        for n in self.neurons:
            formula = f"2κ|m|/√(2π(m²+R²)) = {float(n.offline_formula):.4f}" if self.linear else \
                "E[gW | Y] is not κY: no closed form"
            rows.append(f"  a = {n.a:+d}: m = {float(n.m):.4f}, R_s = {float(n.R):.4f}, ⟨G², v⊥⟩ = {n.offline:.4f} "
                        f"({formula}), ⟨G², v*⟩ = {n.online:.4f}, "
                        f"‖G²‖ = {n.norm:.4f}, cosine = {n.cosine:.4f}, ρ = {n.rho:.4f}")
        rows.append(f"  off-line cosine over both signs: rms {self.rms_cosine:.4f}, mean {self.mean_cosine:.4f} "
                    f"(quadrature error ≈ {self.error:.1e})")
        return "\n".join(rows)


def _num(x: object, name: str, constraint: Interval) -> object:
    """``x`` checked; a sympy Rational when it is one or has at most 12 decimals (``2``, ``1.5``), else a float,
    so that the closed forms stay exact for the protocol's values."""
    value = float(check_scalar(x, name, constraint))
    if isinstance(x, sympy.Rational):
        return x
    return sympy.nsimplify(value, rational=True) if value == round(value, 12) else value


def _relu_F(mu: np.ndarray, s: float) -> np.ndarray:
    """``E[relu(μ + sN)] = μΦ(μ/s) + sφ(μ/s)``."""
    t = mu / s
    return mu * ndtr(t) + s * np.exp(-t**2 / 2) / math.sqrt(2 * math.pi)


def _quadrature(fn: object, vs: np.ndarray, vp: np.ndarray, pars: dict, alpha: float, q: int) -> dict:
    """The step-2 expectations for both signs on a ``q³`` Gauss–Hermite rule in ``(Y, W, S)``."""
    x, w = hermegauss(q)
    w = w / w.sum()
    Y, W, S = (a.ravel() for a in np.meshgrid(x, x, x, indexing="ij"))
    wt = (w[:, None, None] * w[None, :, None] * w[None, None, :]).ravel()
    y = np.asarray(fn(np.outer(Y, vs) + np.outer(W, vp)), dtype=float)
    f1 = 0.5 * sum(a * _relu_F(p["m"] * Y + p["c"] * S, p["s"]) for a, p in pars.items())
    r = y - f1
    out = {}
    for a, p in pars.items():
        A = p["m"] * Y + p["c"] * S
        P, dens = ndtr(A / p["s"]), np.exp(-(A / p["s"]) ** 2 / 2) / math.sqrt(2 * math.pi)
        comps = [np.sum(wt * r * P * X) for X in (Y, W, S)] + [np.sum(wt * r * dens)]  # Y, W, S, (w⁰, ξ) plane
        noise = np.sum(wt * r**2 * P) / alpha
        out[a] = (comps, math.sqrt(sum(v * v for v in comps) + noise))
    return out


def step2_orientation(target: str | Target | int, eta: float = 2, alpha: float = 1) -> Step2Orientation:
    """The population off-line component and cosine of the second step in ``dklps-multi-step`` (THEORY.md §3.2).

    Parameters
    ----------
    target : str, Target or int
        ``g`` in ``x1, x2`` with ``C1 ≠ 0``; ``1`` or ``2`` name §3.2's examples (:data:`EXAMPLES`).
    eta : float
        Per-neuron step ``η̃ > 0`` (the protocol: 2).
    alpha : float
        ``n/d > 0`` for both steps (the protocol: 1).

    Returns
    -------
    Step2Orientation

    >>> round(step2_orientation(2).rms_cosine, 3), round(float(step2_orientation(2).neurons[0].R), 6)
    (0.141, 2.0)
    """
    text = EXAMPLES.get(target) if isinstance(target, int) and not isinstance(target, bool) else None
    if isinstance(target, int) and text is None:
        raise ValueError(f"example must be one of {sorted(EXAMPLES)}; got {target!r}")
    g = target if isinstance(target, Target) else Target.parse(text or target, r=2)
    if g.r != 2:
        raise ValueError(f"the step-2 orientation is derived for targets in x1, x2; {g.label!r} has r = {g.r}")
    eta_, alpha_ = _num(eta, "eta", _ETA), _num(alpha, "alpha", _ALPHA)
    sigma = as_activation(ACTIVATION)
    mu1, mu2, ds2 = sigma.hermite(1), sigma.hermite(2), sigma.derivative_norm2()
    C1 = [sympy.nsimplify(c) if g.exact else float(c) for c in np.asarray(g.hermite_tensor(1), dtype=object).ravel()]
    sq = sympy.sqrt if g.exact else math.sqrt
    nC1 = sq(C1[0] ** 2 + C1[1] ** 2)
    if float(nC1) == 0:
        raise ValueError(f"the step-2 orientation needs C1 ≠ 0; {g.label!r} has no first-order part")
    C0, norm2 = g.hermite_coefficient((0, 0)), g.norm2()
    vs = [sympy.radsimp(c / nC1) if g.exact else c / nC1 for c in C1]
    vp = [-vs[1], vs[0]]
    fn = g.evaluator("numpy")
    fvs, fvp = np.array([float(v) for v in vs]), np.array([float(v) for v in vp])
    x, w = hermegauss(QUAD_POINTS)
    w = w / w.sum()
    Yg, Wg = (a.ravel() for a in np.meshgrid(x, x, indexing="ij"))
    wt2 = np.outer(w, w).ravel()
    gYW = np.asarray(fn(np.outer(Yg, fvs) + np.outer(Wg, fvp)), dtype=float)
    kappa_f = float(np.sum(wt2 * gYW * Yg * Wg))
    if kappa_f < 0:
        vp, fvp = [-v for v in vp], -fvp
    if g.exact:  # κ = E[g Y W] = v*ᵀ C2 v⊥ (x_i x_j = He_{e_i + e_j} + δ_ij and v* ⊥ v⊥)
        C2 = g.hermite_tensor(2)
        kappa = abs(sympy.radsimp(sum(vs[i] * C2[i, j] * vp[j] for i in range(2) for j in range(2))))
    else:
        kappa = abs(kappa_f)
    # E[gW | Y] = κY iff E[gW He_k(Y)] = 0 for every k ≠ 1 (the W-linear part of g given Y)
    linear = all(abs(float(np.sum(wt2 * gYW * Wg * np.polynomial.hermite_e.hermeval(Yg, [0] * k + [1])))) < 1e-9
                 for k in (0, 2, 3, 4, 5, 6))
    pars, exact_rows = {}, {}
    for a in (1, -1):
        m = a * eta_ * mu1 * nC1
        b = 1 + a * eta_ * mu2 * C0
        c = a * eta_ * mu1 * sq(norm2 / alpha_)
        e = eta_ * sq(norm2 * (ds2 - mu1**2) / alpha_)
        R = sq(b**2 + c**2 + e**2)
        formula = eta_ * kappa * abs(m) / sq(2 * sympy.pi * (m**2 + R**2)) if g.exact else \
            float(eta_) * kappa * abs(float(m)) / math.sqrt(2 * math.pi * (float(m) ** 2 + float(R) ** 2))
        exact_rows[a] = (m, b, c, e, R, formula if not isinstance(formula, sympy.Basic) or formula.has(sympy.Float)
                                         else sympy.radsimp(formula))
        pars[a] = {"m": float(m), "c": float(c), "s": math.sqrt(float(b) ** 2 + float(e) ** 2)}
    fine = _quadrature(fn, fvs, fvp, pars, float(alpha_), QUAD_POINTS)
    coarse = _quadrature(fn, fvs, fvp, pars, float(alpha_), 2 * QUAD_POINTS // 3)
    neurons = []
    for a in (1, -1):
        (cY, cW, _, _), nrm = fine[a]
        off, on = a * float(eta_) * cW, a * float(eta_) * cY
        neurons.append(NeuronStep(a, *exact_rows[a], off, on, float(eta_) * nrm, off / (float(eta_) * nrm), cW / cY))
    err = max(abs(fine[a][1] - coarse[a][1]) + abs(fine[a][0][1] - coarse[a][0][1]) for a in (1, -1))
    rms = math.sqrt(sum(n.cosine**2 for n in neurons) / 2)
    return Step2Orientation(g.label, eta_, alpha_, kappa, linear, tuple(vs), tuple(vp), tuple(neurons), rms, err)


__all__ = ["EXAMPLES", "NeuronStep", "Step2Orientation", "step2_orientation"]
