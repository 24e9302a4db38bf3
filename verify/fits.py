"""Scaling-law fits with confidence intervals over seeds (THEORY.md §5, §5.1).

§5: "Θ(1)" and "→ 0" are decided by the dependence on ``d`` — a fitted
exponent with a confidence interval over seeds — never by one threshold at one
``d``. This module provides the fits; ``verify.rules`` turns them into verdicts.

Data layout everywhere: ``{d: [value for each seed]}``, the ``i``-th value at
every ``d`` from the same seed ``i`` (a ladder runs seeds ``0..n−1`` at each ``d``).
Runs with the same seed at different ``d`` are **not** independent: ``sim`` draws
some random numbers per seed whatever ``d`` is — the reduced engine's teacher
coordinates of ``W⁰`` and the batches in its ``k`` reduced coordinates, ``k``
independent of ``d`` (THEORY §3.3) — so a seed that gives a high overlap at one
``d`` gives a high one at every ``d`` (measured: T1-hard's ``n ≍ d³`` overlaps,
correlation ≈ 0.8 between ``d = 96`` and ``192``).

**Intervals (§5.1: nominal coverage).** Every decisive statistic here is a
smooth function of the per-``d`` means — a mean, the least-squares slope of
``log mean`` against ``log d``, the weighted least-squares limit ``ε∞`` of
``ε∞ + c·d^{-γ}`` with ``γ`` fixed — so it is, to first order, ``Σ_d a_d·mean_d``
(:func:`linear_halfwidth`). With the same seeds at every ``d`` (*paired*) the seeds are
the independent units: each seed contributes ``ψ_s = Σ_d a_d (x_{s,d} − mean_d)``,
and the interval is Student's ``± t_{n−1}·sd(ψ)/√n`` — valid whatever the
correlation across ``d``, exact for Gaussian seeds. With seed counts that
differ between ``d`` the ``d`` are taken as independent and the degrees of
freedom are Welch–Satterthwaite's. The former percentile bootstrap with its
``1/SE`` weights held fixed covered 0.79–0.87 at nominal 0.95 with 4–6 seeds;
these intervals are checked on synthetic data with a known answer in
``tests/verify/test_coverage.py`` (≥ 0.93 at every seed count the profiles use).
The extrapolation ``ε∞ + c·d^{-γ}`` lives in ``verify.extrapolation``; a fitted
rate ``γ`` (nonlinear) keeps a seeded bootstrap there, a diagnostic, never
decisive (``verify.claims.errors``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm
from scipy.stats import t as student_t

Samples = Mapping[int, Sequence[float]]

DEFAULT_LEVEL = 0.95
DEFAULT_BOOT = 400  # bootstrap resamples of a free-rate extrapolation (a diagnostic)


def clean_samples(values: Samples) -> tuple[np.ndarray, list[np.ndarray]]:
    ds = sorted(int(d) for d in values)
    groups = [np.asarray(values[d], dtype=float) for d in ds]
    for d, g in zip(ds, groups):
        if g.size == 0:
            raise ValueError(f"no samples at d={d}")
        if not np.all(np.isfinite(g)):
            raise ValueError(f"non-finite samples at d={d}: {g.tolist()}")
    return np.asarray(ds, dtype=float), groups


def pairable(groups: list[np.ndarray]) -> bool:
    """Whether the groups can be resampled as paired seeds: the same number of seeds at every ``d``."""
    return len({g.size for g in groups}) == 1


def resample_means(groups: list[np.ndarray], rng: np.random.Generator, n_boot: int, paired: bool = True) -> np.ndarray:
    """``(n_boot, len(groups))`` array of per-group means of resamples: of seed indices shared by every group
    (``paired`` and :func:`pairable`), else drawn within each group (stratified); module docstring."""
    out = np.empty((n_boot, len(groups)))
    shared = rng.integers(0, groups[0].size, size=(n_boot, groups[0].size)) if paired and pairable(groups) else None
    for j, g in enumerate(groups):
        idx = shared if shared is not None else rng.integers(0, g.size, size=(n_boot, g.size))
        out[:, j] = g[idx].mean(axis=1)
    return out


def bootstrap_interval(samples: np.ndarray, level: float, center: float | None = None, n: int | None = None
              ) -> tuple[float, float]:
    """Percentile interval of bootstrap ``samples``; with ``n`` (seeds per group) widened about ``center`` by
    ``t_{n-1}/z`` (used for the diagnostic free-rate fit only; decisive intervals are :func:`linear_halfwidth`)."""
    a = (1 - level) / 2
    lo, hi = np.quantile(samples, [a, 1 - a])
    if center is not None and n is not None and n >= 2:
        k = float(student_t.ppf(1 - a, n - 1) / norm.ppf(1 - a))
        lo, hi = center - k * (center - lo), center + k * (hi - center)
    return float(lo), float(hi)


def linear_halfwidth(groups: Sequence[np.ndarray], coef: Sequence[float], level: float = DEFAULT_LEVEL,
                     paired: bool = True) -> float:
    """Half-width ``t·se`` of the Student interval of a statistic ``θ`` with gradient ``a_d`` in the per-``d``
    means (``θ ≈ const + Σ_d a_d·mean_d``; module docstring).

    Parameters
    ----------
    groups : sequence of arrays
        The values per ``d`` (one array of seeds each).
    coef : sequence of float
        ``a_d``, one per group (the statistic's gradient with respect to the per-``d`` means).
    level : float
        Confidence level.
    paired : bool
        Seeds are the same at every ``d`` (used only when every group has the same size).

    Returns
    -------
    float
        ``t·se``; 0 when fewer than two seeds leave no spread to estimate.
    """
    a = np.asarray(coef, dtype=float)
    q = 1 - (1 - level) / 2
    if paired and pairable(list(groups)):
        n = groups[0].size
        if n < 2:
            return 0.0
        psi = np.column_stack([g - g.mean() for g in groups]) @ a
        se, dof = float(psi.std(ddof=1)) / math.sqrt(n), n - 1
    else:
        if min(g.size for g in groups) < 2:
            return 0.0
        v = np.array([ai * ai * float(g.var(ddof=1)) / g.size for ai, g in zip(a, groups)])
        se = float(math.sqrt(v.sum()))
        den = float(sum(vi * vi / (g.size - 1) for vi, g in zip(v, groups)))
        dof = float(v.sum() ** 2 / den) if den > 0 else float(min(g.size for g in groups) - 1)
    return float(student_t.ppf(q, dof)) * se


@dataclass(frozen=True)
class MeanCI:
    """Mean over seeds with its Student interval ``mean ± t_{n−1}·sd/√n``."""

    mean: float
    lo: float
    hi: float
    n: int
    level: float

    def to_dict(self) -> dict:
        return {"mean": self.mean, "lo": self.lo, "hi": self.hi, "n": self.n, "level": self.level}


def mean_ci(values: Sequence[float], level: float = DEFAULT_LEVEL) -> MeanCI:
    """Mean of ``values`` and its Student interval (degenerate for one value).

    Parameters
    ----------
    values : sequence of float
        One value per seed (at least one).
    level : float
        Confidence level of the interval.

    Returns
    -------
    MeanCI
    """
    g = np.asarray(values, dtype=float)
    if g.size == 0:
        raise ValueError("mean_ci needs at least one value")
    m, half = float(g.mean()), linear_halfwidth([g], [1.0], level)
    return MeanCI(m, m - half, m + half, int(g.size), level)


@dataclass(frozen=True)
class SlopeFit:
    """``log mean(d) = intercept + slope · log d`` fitted by least squares on the per-``d`` means.

    ``ci`` is the bootstrap percentile interval of the slope; ``means`` the
    per-``d`` means (in ``dims`` order) and ``mean_lo``/``mean_hi`` their own
    bootstrap intervals; ``seeds`` the number of seeds at each ``d``; ``paired``
    whether seeds were resampled jointly over ``d`` (module docstring).
    """

    slope: float
    intercept: float
    ci: tuple[float, float]
    level: float
    dims: tuple[int, ...]
    seeds: tuple[int, ...]
    means: tuple[float, ...]
    mean_lo: tuple[float, ...]
    mean_hi: tuple[float, ...]
    paired: bool = False

    @property
    def span(self) -> float:
        """Ratio ``d_max / d_min`` of the ladder."""
        return self.dims[-1] / self.dims[0] if self.dims else 1.0

    def to_dict(self) -> dict:
        return {"slope": self.slope, "intercept": self.intercept, "ci": list(self.ci), "level": self.level,
                "dims": list(self.dims), "seeds": list(self.seeds), "means": list(self.means),
                "mean_lo": list(self.mean_lo), "mean_hi": list(self.mean_hi), "paired": self.paired}


def _ols_slopes(x: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares slope and intercept of each row of ``Y`` against ``x``."""
    xc = x - x.mean()
    slope = (Y - Y.mean(axis=-1, keepdims=True)) @ xc / (xc @ xc)
    return slope, Y.mean(axis=-1) - slope * x.mean()


def fit_loglog(values: Samples, level: float = DEFAULT_LEVEL, paired: bool = True) -> SlopeFit:
    """Exponent ``a`` of ``mean statistic ≍ d^a`` with a Student CI over seeds (paired when it can be).

    The slope of ``log mean_d`` on ``log d`` is ``Σ_d w_d log mean_d``
    (``w_d`` the least-squares weights), whose first-order expansion in the
    means has coefficients ``a_d = w_d/mean_d``: its interval is
    :func:`linear_halfwidth` (module docstring). Needs at least two distinct ``d`` and
    positive values (overlaps, singular values, errors). With a single seed
    per ``d`` the interval is degenerate — ``verify.rules.check_ladder`` turns
    such ladders into INCONCLUSIVE before any exponent is trusted.

    Parameters
    ----------
    values : mapping int → sequence of float
        ``{d: [value per seed]}``, positive values.
    level : float
        Confidence level of the slope interval.
    paired : bool
        Seeds are the same at every ``d`` (used when every ``d`` has the same number); ``False``: the
        ``d`` are independent (Welch–Satterthwaite degrees of freedom).

    Returns
    -------
    SlopeFit
    """
    ds, groups = clean_samples(values)
    if len(ds) < 2:
        raise ValueError(f"a log–log fit needs at least two dimensions; got {ds.astype(int).tolist()}")
    for d, g in zip(ds, groups):
        if np.any(g <= 0):
            raise ValueError(f"a log–log fit needs positive values; got {g.min()} at d={int(d)}")
    x = np.log(ds)
    means = np.array([g.mean() for g in groups])
    slope, intercept = _ols_slopes(x, np.log(means)[None, :])
    xc = x - x.mean()
    half = linear_halfwidth(groups, xc / (xc @ xc) / means, level, paired)
    a = float(slope[0])
    per = [mean_ci(g, level) for g in groups]
    return SlopeFit(a, float(intercept[0]), (a - half, a + half), level, tuple(int(d) for d in ds),
                    tuple(int(g.size) for g in groups), tuple(float(m) for m in means),
                    tuple(p.lo for p in per), tuple(p.hi for p in per), paired and pairable(groups))


__all__ = ["DEFAULT_BOOT", "DEFAULT_LEVEL", "MeanCI", "SlopeFit", "bootstrap_interval", "clean_samples",
           "fit_loglog", "linear_halfwidth", "mean_ci", "pairable", "resample_means"]
