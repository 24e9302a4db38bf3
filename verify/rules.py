"""Decision rules: fits and intervals → CONFIRMED / REFUTED / INCONCLUSIVE (THEORY.md §5).

Every rule returns a :class:`Decision` (verdict + one-line reason). The rules
are three-valued by construction: a claim is CONFIRMED only when the whole
confidence interval lies inside the region the claim predicts, REFUTED only
when the whole interval lies outside it, and INCONCLUSIVE otherwise — an
interval too wide to decide is never read as a pass.

Exponent bands (the tolerance on a fitted exponent ``a`` of ``stat ≍ d^a``):

* ``Θ(1)``: ``a ∈ [-THETA_BAND, +THETA_BAND]``, ``THETA_BAND = 0.1``. Finite-size
  corrections to a Θ(1) overlap are relative ``O(d^{-1/2})`` (§3.1) and move
  a fitted log-slope over ``d ∈ [64, 1024]`` by a few hundredths; a true decay
  ``d^{-0.1}`` or faster is a factor ≥ 1.3 over a ladder spanning 16×.
* ``→ 0``: ``a < -DECAY_MIN`` with ``DECAY_MIN = 0.1`` (same resolution); an
  interval entirely above ``-DECAY_MIN`` is indistinguishable from Θ(1) at the
  ladder's resolution and refutes "→ 0".
* ``≍ d^{-1/2}``: ``a ∈ [-1/2 - EXP_BAND, -1/2 + EXP_BAND]``, ``EXP_BAND = 0.15``:
  half-way (roughly) to the competing laws Θ(1)-like ``d^{-0.1}`` and ``d^{-1}``,
  and wide enough for the ``O(d^{-1/2})`` relative corrections to a
  ``d^{-1/2}`` law seen at ``d ≥ 64``.

A ladder that cannot resolve an exponent (fewer than ``MIN_DIMS`` dimensions,
``d_max/d_min < MIN_SPAN``, fewer than ``MIN_SEEDS`` seeds at some ``d``) is
INCONCLUSIVE whatever the fit says (:func:`check_ladder`).

Extrapolated limits (:func:`extrapolated`) are two-sided value rules; an
extrapolation whose law the per-``d`` means reject (χ² p-value below
``P_FIT_MIN = 0.01``) is INCONCLUSIVE.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from verify.extrapolation import Extrapolation
from verify.fits import SlopeFit

class Verdict(StrEnum):
    """A claim's verdict (THEORY §5); the members compare equal to their names."""

    CONFIRMED = "CONFIRMED"
    REFUTED = "REFUTED"
    INCONCLUSIVE = "INCONCLUSIVE"


CONFIRMED, REFUTED, INCONCLUSIVE = Verdict.CONFIRMED, Verdict.REFUTED, Verdict.INCONCLUSIVE
VERDICTS = tuple(Verdict)

THETA_BAND = 0.1
DECAY_MIN = 0.1
EXP_BAND = 0.15
MIN_DIMS = 3
MIN_SPAN = 4.0
MIN_SEEDS = 3
P_FIT_MIN = 0.01


@dataclass(frozen=True)
class Decision:
    """A verdict and the one-line reason for it."""

    verdict: str
    reason: str

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}; got {self.verdict!r}")


def _ci(ci: tuple[float, float]) -> str:
    return f"[{ci[0]:+.3f}, {ci[1]:+.3f}]"


def check_ladder(fit: SlopeFit | Extrapolation, min_dims: int = MIN_DIMS, min_span: float = MIN_SPAN,
                 min_seeds: int = MIN_SEEDS) -> Decision | None:
    """INCONCLUSIVE when the ladder is too short to resolve a law in ``d``; ``None`` when it is enough."""
    return check_points(fit.dims, fit.seeds, min_dims, min_span, min_seeds)


def check_points(dims: Sequence[int], seeds: Sequence[int], min_dims: int = MIN_DIMS, min_span: float = MIN_SPAN,
                 min_seeds: int = MIN_SEEDS) -> Decision | None:
    """The ladder rule of THEORY §5.1 on bare ``dims`` (sorted) and seed counts — for every statistic, value
    claims included: ≥ ``min_dims`` dimensions, ``d_max/d_min ≥ min_span``, ≥ ``min_seeds`` seeds at each."""
    dims = sorted(dims)
    if len(dims) < min_dims:
        return Decision(INCONCLUSIVE, f"ladder too short: {len(dims)} dimension(s) {list(dims)}, need ≥ {min_dims}")
    span = dims[-1] / dims[0]
    if span < min_span:
        return Decision(INCONCLUSIVE, f"ladder too short: d_max/d_min = {span:g} < {min_span:g}")
    if min(seeds) < min_seeds:
        return Decision(INCONCLUSIVE, f"too few seeds: {min(seeds)} at some d, need ≥ {min_seeds}")
    return None


def interval_rule(ci: tuple[float, float], lo: float, hi: float, what: str) -> Decision:
    """CONFIRMED if ``ci ⊂ [lo, hi]``, REFUTED if disjoint from it, INCONCLUSIVE if it straddles an edge."""
    a, b = ci
    if not (math.isfinite(a) and math.isfinite(b)):
        return Decision(INCONCLUSIVE, f"{what}: no finite interval")
    region = f"[{lo:+.3f}, {hi:+.3f}]"
    if lo <= a and b <= hi:
        return Decision(CONFIRMED, f"{what} CI {_ci(ci)} inside {region}")
    if b < lo or a > hi:
        return Decision(REFUTED, f"{what} CI {_ci(ci)} outside {region}")
    return Decision(INCONCLUSIVE, f"{what} CI {_ci(ci)} straddles an edge of {region}")


def theta1(fit: SlopeFit, band: float = THETA_BAND, what: str = "exponent") -> Decision:
    """"Θ(1)": fitted exponent CI inside ``[-band, band]`` (REFUTED when it lies outside)."""
    return check_ladder(fit) or interval_rule(fit.ci, -band, band, f"{what} (Θ(1) band)")


def decays(fit: SlopeFit, minimum: float = DECAY_MIN, what: str = "exponent") -> Decision:
    """"→ 0": fitted exponent CI below ``-minimum``; REFUTED when the CI is above ``-minimum``."""
    bad = check_ladder(fit)
    if bad:
        return bad
    a, b = fit.ci
    if b < -minimum:
        return Decision(CONFIRMED, f"{what} CI {_ci(fit.ci)} < {-minimum:+.2f}: decays")
    if a > -minimum:
        return Decision(REFUTED, f"{what} CI {_ci(fit.ci)} > {-minimum:+.2f}: does not decay at this resolution")
    return Decision(INCONCLUSIVE, f"{what} CI {_ci(fit.ci)} straddles {-minimum:+.2f}")


def exponent(fit: SlopeFit, expected: float, band: float = EXP_BAND, what: str = "exponent") -> Decision:
    """Fitted exponent CI inside ``[expected - band, expected + band]``."""
    return check_ladder(fit) or interval_rule(fit.ci, expected - band, expected + band, what)


class Law(StrEnum):
    """The law in ``d`` a statement predicts for a statistic (module docstring): Θ(1), → 0, or ``≍ d^expected``."""

    THETA1 = "theta1"
    DECAY = "decay"
    EXPONENT = "exponent"

    def decide(self, fit: SlopeFit, what: str, expected: float = -0.5) -> Decision:
        """The rule of this law on a log–log fit (:func:`theta1`, :func:`decays`, :func:`exponent`)."""
        if self is Law.THETA1:
            return theta1(fit, what=what)
        if self is Law.DECAY:
            return decays(fit, what=what)
        return exponent(fit, expected, what=what)


def value(ci: tuple[float, float], predicted: float, tol: float, what: str = "value") -> Decision:
    """A measured (or extrapolated) quantity's CI inside ``predicted ± tol``."""
    return interval_rule(ci, predicted - tol, predicted + tol, what)


def at_least(ci: tuple[float, float], bound: float, tol: float, what: str = "value") -> Decision:
    """"≥ bound" up to ``tol``: CONFIRMED if ``ci[0] ≥ bound - tol``, REFUTED if ``ci[1] < bound - tol``."""
    a, b = ci
    if not (math.isfinite(a) and math.isfinite(b)):
        return Decision(INCONCLUSIVE, f"{what}: no finite interval")
    edge = bound - tol
    if a >= edge:
        return Decision(CONFIRMED, f"{what} CI {_ci(ci)} ≥ {edge:+.3f}")
    if b < edge:
        return Decision(REFUTED, f"{what} CI {_ci(ci)} < {edge:+.3f}")
    return Decision(INCONCLUSIVE, f"{what} CI {_ci(ci)} straddles {edge:+.3f}")


def extrapolated(fit: Extrapolation, predicted: float, tol: float, what: str = "ε∞",
                 lower_bound_only: bool = False) -> Decision:
    """Decide an extrapolated limit ``ε∞``: ``predicted ± tol`` (two-sided), or ``≥`` with ``lower_bound_only``.

    INCONCLUSIVE before any comparison when the ladder is too short
    (:func:`check_ladder`), the fit failed, a fitted rate ``γ`` sits on a bound
    (the ladder does not resolve the approach), or the law does not describe
    the per-``d`` means (goodness-of-fit p-value below ``P_FIT_MIN``): an
    extrapolation from a model the data reject is no measurement of ``ε∞``.
    The value rule is symmetric — a CI wholly above *or* below
    ``predicted ± tol`` refutes; that is right when the finite-size corrections
    are captured by the fitted ``c·d^{-γ}`` (see ``verify.claims.errors`` for why
    the error ladders are built so that they are). ``lower_bound_only`` is for
    statements that are bounds (C3-error).
    """
    bad = check_ladder(fit)
    if bad:
        return bad
    if not fit.ok:
        return Decision(INCONCLUSIVE, f"{what}: the fit ε∞ + c·d^-γ did not converge ({fit.failed} bootstrap failures)")
    if fit.gamma_at_bound:
        return Decision(INCONCLUSIVE, f"{what}: fitted rate γ = {fit.gamma:.2f} on a bound {list(fit.gamma_bounds)}, "
                                      "the ladder does not resolve the approach to the limit")
    if fit.p_fit is not None and fit.p_fit < P_FIT_MIN:
        return Decision(INCONCLUSIVE, f"{what}: ε∞ + c·d^-{fit.gamma:.2f} does not describe the means "
                                      f"(goodness of fit p = {fit.p_fit:.2g} < {P_FIT_MIN:g})")
    if lower_bound_only:
        return at_least(fit.ci_eps_inf, predicted, tol, what)
    return value(fit.ci_eps_inf, predicted, tol, what)


# ---------------------------------------------------------------------------
# the rules in words, for a claim's ``rule`` text (built from the constants above, never typed)
# ---------------------------------------------------------------------------
def fraction_text(x: float) -> str:
    """An exponent for a text: typographic minus, a simple fraction as one (``-0.5`` → ``−1/2``; ``0.1`` stays)."""
    frac = Fraction(x).limit_denominator(8)
    text = f"{frac.numerator}/{frac.denominator}" if frac.denominator > 1 and float(frac) == x else f"{x:g}"
    return text.replace("-", "−")


def theta1_text(band: float = THETA_BAND) -> str:
    """The Θ(1) rule in words: ``"exponent CI in ±0.1"``."""
    return f"exponent CI in ±{band:g}"


def decay_text(minimum: float = DECAY_MIN) -> str:
    """The → 0 rule in words: ``"exponent CI < −0.1"``."""
    return f"exponent CI < −{minimum:g}"


def exponent_text(expected: float, band: float = EXP_BAND) -> str:
    """The ``≍ d^expected`` rule in words: ``"exponent CI in −1/2 ± 0.15"``."""
    return f"exponent CI in {fraction_text(expected)} ± {band:g}"


def ladder_text(points: str = "dimensions", span: str = "d_max/d_min") -> str:
    """What :func:`check_ladder` needs, in words: ``"≥ 3 dimensions, d_max/d_min ≥ 4, ≥ 3 seeds"``."""
    return f"≥ {MIN_DIMS} {points}, {span} ≥ {MIN_SPAN:g}, ≥ {MIN_SEEDS} seeds"


def combine(decisions: Iterable[Decision]) -> Decision:
    """All parts of a claim: REFUTED if any part is, CONFIRMED if all are, else INCONCLUSIVE."""
    parts = list(decisions)
    if not parts:
        return Decision(INCONCLUSIVE, "nothing was measured")
    refuted = [p for p in parts if p.verdict == REFUTED]
    if refuted:
        return Decision(REFUTED, "; ".join(p.reason for p in refuted))
    if all(p.verdict == CONFIRMED for p in parts):
        return Decision(CONFIRMED, "; ".join(p.reason for p in parts))
    return Decision(INCONCLUSIVE, "; ".join(p.reason for p in parts if p.verdict == INCONCLUSIVE))


__all__ = ["CONFIRMED", "DECAY_MIN", "Decision", "EXP_BAND", "INCONCLUSIVE", "Law", "Verdict", "MIN_DIMS", "MIN_SEEDS", "MIN_SPAN",
           "P_FIT_MIN", "REFUTED", "THETA_BAND", "VERDICTS", "at_least", "check_ladder", "check_points", "combine", "decay_text",
           "decays", "exponent", "exponent_text", "extrapolated", "fraction_text", "interval_rule", "ladder_text",
           "theta1", "theta1_text", "value"]
