"""One giant step in the proportional regime: the overlap of THEORY.md §3.1 and the κ = 1 protocol floor (§2.6).

**§3.1.** With ``n = αd``, per-neuron step ``η̃``, ``f(W⁰) ≡ 0``, unit ``w_i⁰`` and normalisation after the
step, as ``d → ∞`` a neuron with second-layer weight ``a_i = a`` has

    ⟨ŵ_i¹, v*⟩ → a η̃ μ1 ‖C1‖ / √( (1 + a η̃ μ2 C0)² + a² η̃² μ1² ‖C1‖² + a² η̃² (E[g²] + Δ) E[σ'(u)²] / α )

with ``C0 = E[g]``, ``C1 = C_1(g)``, ``v* = C1/‖C1‖``, ``μ_k = E[σ He_k]``. (Derivation: the step is
``a η̃ (1/n) Σ_ν y_ν σ'(u_ν) z_ν``; its mean is ``a η̃ (μ2 C0 w⁰ + μ1 C1)`` by Stein's lemma, its fluctuation
has squared norm ``η̃² (E g² + Δ) E σ'² d/n``.) ``a = ±1`` is the symmetric initialisation of §3; for the
Gaussian second layer ``a ~ N(0, 1)`` (:meth:`OneStepOverlap.gaussian_mean`) the formula holds per neuron
when ``f(W⁰) → 0``, i.e. with the mean-field scale ``s_p = 1/p``.

**Protocol floor (κ = 1, a_i = ±1, σ = relu).** After the step every ``a = +1`` neuron is
``ŵ = m v* + q ξ̂ + c' u_i`` (``a = −1``: ``−m, −q``): ``ξ̂ ⊥ v*`` is the direction of the batch average
``(1/n) Σ y_ν z_ν`` that all neurons share (the ``E[σ']² = μ1²`` part of §3.1's noise term),
``q² = η̃² μ1² (E g² + Δ)/α / D`` (``D`` the squared denominator above), and ``u_i`` is each neuron's own
random direction, ``c'² = 1 − m² − q²``. A ``κ = 1`` readout of the features ``relu(s t + c' u_i)``,
``t = m x_{v*} + q ξ̂·z``, represents any linear function of ``z`` times ``F(t)`` with
``F ∈ span{1, Φ(t/c')}`` (the two signs give ``Φ(±t/c')``). For ``g = b·x_v + c·x_v x_w`` (``v = v*``,
``w ⊥ v`` unit; e.g. ``x1 + x1x2``) the part ``b x_v`` is represented exactly and ``c x_v x_w`` only
through ``x_w F(t)``; projecting ``x_v`` on ``span{1, Φ(t/c')}`` (``E[x_v Φ(t/c')] = m/√(2π)``,
``Var Φ(t/c') = arcsin(m² + q²)/(2π)``) leaves the floor

    R = c² (1 − m² / arcsin(m² + q²)),

instead of §2.6's ``ε_pred(span v*, 1) = 0`` (THEORY.md §2.6); other targets and
activations are refused.

**Estimation angle (any σ, any a_i).** The part of every neuron's step that all neurons share is ``μ1``
times the batch estimate ``ĉ = (1/n) Σ_ν y_ν z_ν`` of ``C1``, not ``C1`` itself: ``ĉ = C1 + ζ`` with
``E‖ζ‖² = (E[y²‖z‖²] − ‖C1‖²)/n → (E[g²] + Δ)/α`` and ``ζ`` asymptotically orthogonal to ``C1``, so the
direction a step can learn is at angle ``θ`` from ``v*`` with

    sin²θ = (E[g²] + Δ) / (α‖C1‖² + E[g²] + Δ)        (``2/(α + 2)`` for ``x1 + x1x2``),

whatever the initialisation: with a Gaussian second layer the neurons' overlaps spread with ``a_i`` and the
protocol part of ``R`` goes, but not this. As ``η̃ → 0`` (``m, q → 0`` with ``q²/m² = tan²θ``) the floor
``R → c² sin²θ``. Both are diagnostics at a bounded ``α``; §2.6's ``ε_pred`` is the ``α → ∞`` limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import sympy

from theory.activations import Activation, as_activation
from theory.display import (compact, html_table, is_exact, latex_number, latex_rows, latex_text, number_json,
                            number_text)
from theory.target import Target
from theory.validate import Interval, check_array, check_scalar

_ETA = Interval(float, 0, None, closed="neither", what="the per-neuron step η̃")
_ALPHA = Interval(float, 0, None, closed="neither", what="α = n/d")
_NOISE = Interval(float, 0, None, what="the label-noise variance Δ")
_A = Interval(float, what="the second-layer weight a_i")
GAUSS_DPS = 30


def _number(value: object, name: str, constraint: Interval) -> sympy.Expr | float:
    """``value`` checked; kept exact (sympy Rational) when it is an int, Fraction or sympy rational."""
    checked = check_scalar(value, name, constraint)
    if isinstance(value, (int, Fraction)) and not isinstance(value, bool):
        return sympy.Rational(value)
    if isinstance(value, sympy.Basic) and value.is_Rational:
        return value
    return float(checked)


@dataclass(frozen=True)
class OneStepOverlap:
    """The ingredients of THEORY.md §3.1 for one target, activation, step ``η̃`` and noise ``Δ``.

    Fields are exact sympy numbers when the target is a rational polynomial and ``σ``'s coefficients have
    closed forms, floats otherwise. ``v_star`` is ``C1/‖C1‖`` (length ``r``; zeros when ``C1 = 0``).
    """

    target: str
    activation: str
    mu1: Any
    mu2: Any
    dsigma2: Any
    norm_C1: Any
    C0: Any
    norm2: Any
    noise: Any
    eta: Any
    v_star: tuple

    @classmethod
    def of(cls, target: str | Target, activation: str | Activation, eta: float, noise: float = 0) -> OneStepOverlap:
        """Collect ``μ1, μ2, E σ'², ‖C1‖, C0, E g²`` from ``theory`` (§3.1).

        Parameters
        ----------
        target : str or Target
            ``g*`` (THEORY.md §1).
        activation : str or Activation
            ``σ`` (any spec :func:`theory.activation` accepts).
        eta : float
            ``η̃ > 0``, the per-neuron step of §3.
        noise : float
            Label-noise variance ``Δ ≥ 0``.

        Returns
        -------
        OneStepOverlap
        """
        g = target if isinstance(target, Target) else Target.parse(target)
        s = as_activation(activation)
        eta_ = _number(eta, "eta", _ETA)
        noise_ = _number(noise, "noise", _NOISE)
        C1 = g.hermite_tensor(1)
        exact = g.exact
        if exact:
            comps = [sympy.nsimplify(c) for c in C1]
            norm_C1 = sympy.sqrt(sum(c**2 for c in comps))
            v_star = tuple(sympy.radsimp(c / norm_C1) if norm_C1 != 0 else sympy.Integer(0) for c in comps)
        else:
            comps = [float(c) for c in np.asarray(C1, dtype=float)]
            norm_C1 = float(np.linalg.norm(comps))
            v_star = tuple(c / norm_C1 if norm_C1 > 0 else 0.0 for c in comps)
        C0 = g.hermite_coefficient((0,) * g.r)
        return cls(g.label, str(s), s.hermite(1), s.hermite(2), s.derivative_norm2(), norm_C1,
                   C0 if exact else float(C0), g.norm2() if exact else float(g.norm2()), noise_, eta_, v_star)

    # -- the formula -----------------------------------------------------------------------
    def _overlap(self, alpha: Any, a: Any, sqrt: Any) -> Any:
        """§3.1 written once; ``sqrt`` is ``sympy.sqrt`` (exact) or ``np.sqrt`` (floats, vectorised)."""
        num = a * self.eta * self.mu1 * self.norm_C1
        den2 = ((1 + a * self.eta * self.mu2 * self.C0) ** 2 + a**2 * self.eta**2 * self.mu1**2 * self.norm_C1**2
                + a**2 * self.eta**2 * (self.norm2 + self.noise) * self.dsigma2 / alpha)
        return num / sqrt(den2)

    def _floats(self) -> OneStepOverlap:
        conv = {k: float(getattr(self, k)) for k in ("mu1", "mu2", "dsigma2", "norm_C1", "C0", "norm2", "noise", "eta")}
        return OneStepOverlap(self.target, self.activation, v_star=tuple(float(v) for v in self.v_star), **conv)

    @property
    def exact(self) -> bool:
        """True when every field is an exact sympy number."""
        return all(is_exact(getattr(self, k)) for k in ("mu1", "mu2", "dsigma2", "norm_C1", "C0", "norm2",
                                                          "noise", "eta"))

    def value(self, alpha: float, a: float = 1) -> Any:
        """The §3.1 limit of ``⟨ŵ_i¹, v*⟩`` for ``α = n/d`` and ``a_i = a``.

        Parameters
        ----------
        alpha : float
            ``α = n/d > 0``.
        a : float
            The neuron's second-layer weight (``±1`` for the symmetric initialisation).

        Returns
        -------
        sympy.Expr or float
            Exact when every input (and every field) is exact, else a float.
        """
        alpha_ = _number(alpha, "alpha", _ALPHA)
        a_ = _number(a, "a", _A)
        if self.exact and is_exact(alpha_) and is_exact(a_):
            return sympy.radsimp(self._overlap(alpha_, a_, sympy.sqrt))
        return float(self._floats()._overlap(float(alpha_), float(a_), math.sqrt))

    def evaluate(self, alpha: Any, a: Any = 1) -> np.ndarray:
        """:meth:`value` as float64, vectorised over ``alpha`` and/or ``a`` (numpy broadcasting).

        Parameters
        ----------
        alpha : array_like
            ``α > 0``, any shape.
        a : array_like
            Second-layer weights, broadcastable against ``alpha``.

        Returns
        -------
        numpy.ndarray
            The broadcast shape of ``alpha`` and ``a``.
        """
        al, av = check_array(alpha, "alpha", _ALPHA), check_array(a, "a", _A)
        return self._floats()._overlap(al, av, np.sqrt)

    def gaussian_mean(self, alpha: Any, absolute: bool = False) -> np.ndarray:
        """``E_{a~N(0,1)}[⟨ŵ¹, v*⟩]`` for the Gaussian second layer of §3; ``absolute=True``: ``E|⟨ŵ¹, v*⟩|``.

        The signed mean vanishes when ``C0 = 0`` (the overlap is odd in ``a``); the absolute mean is the
        average overlap magnitude a measurement over neurons sees.

        mpmath Gauss–Hermite-weighted quadrature (``mpmath.quad`` on ``(−∞, 0, ∞)``) at ``GAUSS_DPS = 30``
        digits: the signed integrand is analytic (the squared denominator is a quadratic in ``a`` with a
        positive ``a²`` coefficient) and ``|·|`` has its only kink at the breakpoint ``a = 0``, so the float
        result is correct to rounding (checked in the tests to 1e-12 against a 120-point Gauss–Hermite rule
        and against scipy's adaptive quadrature).

        Parameters
        ----------
        alpha : array_like
            ``α > 0``.
        absolute : bool
            Average ``|overlap|`` instead of the signed overlap.

        Returns
        -------
        numpy.ndarray
            Same shape as ``alpha`` (a 0-d array for a scalar).
        """
        import mpmath

        al = check_array(alpha, "alpha", _ALPHA)
        f = self._floats()
        out = np.empty(al.shape)
        with mpmath.workdps(GAUSS_DPS):
            for idx, x in np.ndenumerate(al):
                def integrand(a: mpmath.mpf, x: float = float(x)) -> mpmath.mpf:
                    v = f._overlap(mpmath.mpf(x), a, mpmath.sqrt)
                    return (abs(v) if absolute else v) * mpmath.npdf(a)

                out[idx] = float(mpmath.quad(integrand, [-mpmath.inf, 0, mpmath.inf]))
        return out

    # -- display ----------------------------------------------------------------------------
    def __str__(self) -> str:
        show = number_text
        return (f"§3.1 one-step overlap for g = {self.target}, σ = {self.activation}:\n"
                "  ⟨ŵ, v*⟩ = a η̃ μ1 ‖C1‖ / √((1 + a η̃ μ2 C0)² + a² η̃² μ1² ‖C1‖² + a² η̃² (E g² + Δ) E σ'² / α)\n"
                f"  η̃ = {show(self.eta)}, μ1 = {show(self.mu1)}, μ2 = {show(self.mu2)}, E σ'² = {show(self.dsigma2)}, "
                f"‖C1‖ = {show(self.norm_C1)}, C0 = {show(self.C0)}, E g² = {show(self.norm2)}, Δ = {show(self.noise)}, "
                f"v* = ({', '.join(show(v) for v in self.v_star)})")

    def __repr__(self) -> str:
        head, formula, values = str(self).split("\n")
        parts = values.strip().split(", ")
        return compact([head, formula, "  " + ", ".join(parts[:4]), "  " + ", ".join(parts[4:])])

    def _repr_latex_(self) -> str:
        nums = {k: latex_number(getattr(self, k)) for k in ("eta", "mu1", "mu2", "dsigma2", "norm_C1", "C0",
                                                             "norm2", "noise")}
        formula = (r"\langle \hat w^1, v^*\rangle \to \frac{a\tilde\eta\mu_1\|C_1\|}{\sqrt{(1 + a\tilde\eta\mu_2 C_0)^2"
                   r" + a^2\tilde\eta^2\mu_1^2\|C_1\|^2 + a^2\tilde\eta^2(\mathbb{E}g^2 + \Delta)\,"
                   r"\mathbb{E}\sigma'^2/\alpha}}")
        values = (rf"\tilde\eta = {nums['eta']},\ \mu_1 = {nums['mu1']},\ \mu_2 = {nums['mu2']},\ "
                  rf"\mathbb{{E}}\sigma'^2 = {nums['dsigma2']},\ \|C_1\| = {nums['norm_C1']},\ C_0 = {nums['C0']},\ "
                  rf"\mathbb{{E}}g^2 = {nums['norm2']},\ \Delta = {nums['noise']}")
        return latex_rows([(latex_text(f"§3.1, g = {self.target}, σ = {self.activation}"), r"\colon " + formula),
                           ("", r"\phantom{\colon} " + values)])

    def _repr_html_(self) -> str:
        head, formula, _ = str(self).split("\n")
        names = {"eta": "η̃", "mu1": "μ1", "mu2": "μ2", "dsigma2": "E σ'²", "norm_C1": "‖C1‖", "C0": "C0",
                 "norm2": "E g²", "noise": "Δ"}
        rows = [(names[k], number_text(getattr(self, k))) for k in names]
        rows.append(("v*", "(" + ", ".join(number_text(v) for v in self.v_star) + ")"))
        return html_table(head, ("quantity", "value"), rows, [formula.strip()])

    def to_dict(self) -> dict:
        """JSON-able fields (exact numbers as ``{"exact": str, "value": float}``)."""
        out = {"target": self.target, "activation": self.activation}
        for k in ("eta", "mu1", "mu2", "dsigma2", "norm_C1", "C0", "norm2", "noise", "v_star"):
            out[k] = number_json(getattr(self, k))
        return out


def one_step_overlap(target: str | Target, activation: str | Activation, eta: float, alpha: float, a: float = 1,
                     noise: float = 0) -> Any:
    """``OneStepOverlap.of(target, activation, eta, noise).value(alpha, a)`` (THEORY.md §3.1)."""
    return OneStepOverlap.of(target, activation, eta, noise).value(alpha, a)


@dataclass(frozen=True)
class ProtocolFloor:
    """The κ = 1 floor of the ``a_i = ±1`` protocol (module docstring): overlap ``m``, shared noise ``q²``,
    floor ``R`` (an excess test error over ``ε_pred``)."""

    m: float
    q2: float
    R: float

    def to_dict(self) -> dict:
        return {"m": self.m, "q2": self.q2, "R": self.R}

    def __repr__(self) -> str:
        return str(self)

    def __str__(self) -> str:
        return f"κ = 1 protocol floor: m = {self.m:.6g}, q² = {self.q2:.6g}, R = c²(1 − m²/arcsin(m² + q²)) = {self.R:.6g}"


FLOOR_ACTIVATION = "relu"
FLOOR_TARGETS = "b·x_v + c·x_v·x_w with v ⊥ w unit vectors, b ≠ 0 (e.g. x1 + x1*x2)"


def _floor_shape(g: Target) -> tuple[float, float]:
    """``(b, c)`` when ``g = b x_v + c x_v x_w`` (``v ⊥ w`` unit), else ``ValueError`` (basis-free check)."""
    refuse = ValueError(f"the protocol floor is derived for σ = {FLOOR_ACTIVATION} and targets {FLOOR_TARGETS}; "
                        f"got {g.label!r}")
    if not g.is_polynomial or (g.degree or 0) > 2:
        raise refuse
    C0 = float(g.hermite_coefficient((0,) * g.r))
    C1 = np.asarray(g.hermite_tensor(1), dtype=float).reshape(g.r)
    C2 = np.asarray(g.hermite_tensor(2).tolist() if hasattr(g.hermite_tensor(2), "tolist") else g.hermite_tensor(2),
                    dtype=float).reshape(g.r, g.r)
    b = float(np.linalg.norm(C1))
    if abs(C0) > 1e-12 or b == 0:
        raise refuse
    v = C1 / b
    cw = C2 @ v  # = c·w
    if abs(v @ cw) > 1e-12 or np.max(np.abs(C2 - np.outer(v, cw) - np.outer(cw, v))) > 1e-12:
        raise refuse
    return b, float(np.linalg.norm(cw))


def protocol_floor(target: str | Target, activation: str | Activation, eta: float, alpha: float,
                   noise: float = 0) -> ProtocolFloor:
    """The κ = 1 error floor ``R = c²(1 − m²/arcsin(m² + q²))`` of the symmetric ``a_i = ±1`` protocol.

    Parameters
    ----------
    target : str or Target
        ``g = b·x_v + c·x_v·x_w`` (``v ⊥ w``), e.g. ``"x1 + x1*x2"``; other targets raise ``ValueError``.
    activation : str or Activation
        Must be ``relu``.
    eta, alpha, noise : float
        ``η̃ > 0``, ``α = n/d > 0``, ``Δ ≥ 0`` as in §3.1.

    Returns
    -------
    ProtocolFloor
        ``m`` = §3.1's overlap for ``a = +1``, ``q2`` the shared batch-noise component, ``R`` the floor.
    """
    g = target if isinstance(target, Target) else Target.parse(target)
    s = as_activation(activation)
    if not s.same_function(as_activation(FLOOR_ACTIVATION)):
        raise ValueError(f"the protocol floor is derived for σ = {FLOOR_ACTIVATION} and targets {FLOOR_TARGETS}; "
                         f"got σ = {s}")
    _, c = _floor_shape(g)
    ov = OneStepOverlap.of(g, s, eta, noise)._floats()
    al = float(check_scalar(alpha, "alpha", _ALPHA))
    m = float(ov._overlap(al, 1.0, math.sqrt))
    den2 = (ov.eta * ov.mu1 * ov.norm_C1 / m) ** 2
    q2 = ov.eta**2 * ov.mu1**2 * (ov.norm2 + ov.noise) / al / den2
    return ProtocolFloor(m, q2, c**2 * (1.0 - m**2 / math.asin(min(1.0, m**2 + q2))))


def estimation_angle(target: str | Target, alpha: float, noise: float = 0) -> Any:
    """``sin²θ`` between ``v*`` and the batch estimate ``ĉ = (1/n) Σ y_ν z_ν`` at ``α = n/d`` (module docstring).

    Parameters
    ----------
    target : str or Target
        ``g*`` with ``C1 ≠ 0`` (THEORY.md §1); otherwise ``ValueError``.
    alpha : float
        ``α = n/d > 0``; an int, Fraction or sympy rational keeps the answer exact.
    noise : float
        Label-noise variance ``Δ ≥ 0``.

    Returns
    -------
    sympy.Expr or float
        ``(E[g²] + Δ) / (α‖C1‖² + E[g²] + Δ)`` as ``d → ∞`` — exact (sympy) when the target is a rational
        polynomial and ``alpha``, ``noise`` are exact, a float otherwise.
    """
    g = target if isinstance(target, Target) else Target.parse(target)
    al, de = _number(alpha, "alpha", _ALPHA), _number(noise, "noise", _NOISE)
    C1 = g.hermite_tensor(1)
    if g.exact and is_exact(al) and is_exact(de):
        c1sq, norm2 = sum(sympy.nsimplify(c) ** 2 for c in C1), g.norm2()
    else:
        c1sq, norm2 = float(np.sum(np.asarray(C1, dtype=float) ** 2)), float(g.norm2())
        al, de = float(al), float(de)
    if c1sq == 0:
        raise ValueError(f"the estimation angle needs C1 ≠ 0; {g.label!r} has no first-order part")
    return (norm2 + de) / (al * c1sq + norm2 + de)


__all__ = ["OneStepOverlap", "ProtocolFloor", "estimation_angle", "one_step_overlap", "protocol_floor"]
