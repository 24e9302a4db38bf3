"""Extrapolation of a per-``d`` statistic to ``d → ∞``: ``ε(d) = ε∞ + c·d^{-γ}`` (THEORY.md §5, §5.1).

Same data layout and interval principles as ``verify.fits``: with ``γ`` fixed the limit is linear in the
per-``d`` means and its interval is Student's over seeds (``verify.fits.linear_halfwidth``); a fitted ``γ``
keeps a seeded bootstrap over seeds (a diagnostic: the ladders do not resolve ``γ``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.stats import chi2 as chi2_dist
from scipy.stats import f as f_dist

from verify.fits import (DEFAULT_BOOT, DEFAULT_LEVEL, Samples, bootstrap_interval, clean_samples, linear_halfwidth,
                         mean_ci, pairable, resample_means)


def _power_law(d: np.ndarray, eps_inf: float, c: float, gamma: float) -> np.ndarray:
    return eps_inf + c * np.power(d, -gamma)


@dataclass(frozen=True)
class Extrapolation:
    """``ε(d) = ε∞ + c·d^{-γ}`` fitted to per-``d`` means, with bootstrap intervals over seeds.

    ``ok`` is False when the point fit failed or more than 10 % of the
    bootstrap refits failed; ``failed`` counts those. ``gamma_bounds`` are the
    bounds of the fit; a ``γ`` on a bound means the ladder does not resolve the
    rate (reported, and a reason for INCONCLUSIVE in ``verify.rules``).
    ``fixed_gamma`` is True when ``γ`` was given (not fitted); ``gamma_at_bound``
    is then False. ``p_fit`` is the goodness-of-fit p-value of the weighted
    residuals (χ² with ``#d − #parameters`` degrees of freedom, seed standard
    errors as weights); ``None`` when it cannot be computed (one seed, no
    degree of freedom left). A small ``p_fit`` says the law does not describe
    the per-``d`` means (``verify.rules.extrapolated`` → INCONCLUSIVE). ``paired``: seeds were
    resampled jointly over ``d`` (module docstring).
    """

    eps_inf: float
    c: float
    gamma: float
    ci_eps_inf: tuple[float, float]
    ci_gamma: tuple[float, float]
    level: float
    dims: tuple[int, ...]
    seeds: tuple[int, ...]
    means: tuple[float, ...]
    mean_lo: tuple[float, ...]
    mean_hi: tuple[float, ...]
    gamma_bounds: tuple[float, float]
    ok: bool
    failed: int
    fixed_gamma: bool = False
    p_fit: float | None = None
    paired: bool = False

    @property
    def gamma_at_bound(self) -> bool:
        if self.fixed_gamma:
            return False
        lo, hi = self.gamma_bounds
        return bool(self.gamma <= lo * 1.0001 or self.gamma >= hi * 0.9999)

    def to_dict(self) -> dict:
        return {"eps_inf": self.eps_inf, "c": self.c, "gamma": self.gamma, "ci_eps_inf": list(self.ci_eps_inf),
                "ci_gamma": list(self.ci_gamma), "level": self.level, "dims": list(self.dims),
                "seeds": list(self.seeds), "means": list(self.means), "mean_lo": list(self.mean_lo),
                "mean_hi": list(self.mean_hi), "gamma_bounds": list(self.gamma_bounds), "ok": self.ok,
                "failed": self.failed, "fixed_gamma": self.fixed_gamma, "p_fit": self.p_fit, "paired": self.paired}


GAMMA_GRID = 41  # γ values a free-rate fit scans on its bounds before refining the best one


def _fit_power(ds: np.ndarray, means: np.ndarray, sigma: np.ndarray | None,
               bounds: tuple[float, float]) -> tuple[float, float, float] | None:
    """Weighted least squares of ``ε∞ + c·d^{-γ}`` with ``γ`` in ``bounds``, by variable projection: for a
    given ``γ`` the best ``(ε∞, c)`` is linear least squares (:func:`_fit_fixed`), so the residual is a
    function of ``γ`` alone; it is scanned on ``GAMMA_GRID`` points and the best one refined by a bounded
    scalar minimisation (the global minimum on the grid's resolution; ``curve_fit`` from one start point
    could stop in a local one, and took 80 ms a fit)."""
    def rss(gamma: float) -> float:
        fit = _fit_fixed(ds, means, sigma, gamma)
        if fit is None:
            return math.inf
        w = 1.0 / sigma if sigma is not None else 1.0
        return float(np.sum(((means - _power_law(ds, *fit)) * w) ** 2))

    lo, hi = bounds
    grid = np.geomspace(lo, hi, GAMMA_GRID) if lo > 0 else np.linspace(lo, hi, GAMMA_GRID)
    values = [rss(float(g)) for g in grid]
    k = int(np.argmin(values))
    if not math.isfinite(values[k]):
        return None
    a, b = float(grid[max(k - 1, 0)]), float(grid[min(k + 1, len(grid) - 1)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        best = minimize_scalar(rss, bounds=(a, b), method="bounded", options={"xatol": 1e-4 * (hi - lo)})
    gamma = float(best.x) if best.success and best.fun <= values[k] else float(grid[k])
    return _fit_fixed(ds, means, sigma, gamma)


def _fit_fixed(ds: np.ndarray, means: np.ndarray, sig: np.ndarray | None, gamma: float
               ) -> tuple[float, float, float] | None:
    """Weighted least squares of ``means`` on ``(1, d^{-γ})`` with ``γ`` fixed: ``(ε∞, c, γ)``."""
    x = np.power(ds, -gamma)
    w = 1.0 / sig if sig is not None else np.ones_like(x)
    A = np.column_stack([np.ones_like(x), x]) * w[:, None]
    coef, *_ = np.linalg.lstsq(A, means * w, rcond=None)
    if not np.all(np.isfinite(coef)):
        return None
    return float(coef[0]), float(coef[1]), float(gamma)


def _p_fit(ds: np.ndarray, means: np.ndarray, sig: np.ndarray | None, point: tuple[float, float, float],
           n_params: int) -> float | None:
    dof = len(ds) - n_params
    if sig is None or dof < 1:
        return None
    chi2 = float(np.sum(((means - _power_law(ds, *point)) / sig) ** 2))
    return float(chi2_dist.sf(chi2, dof))


def fit_extrapolation(values: Samples, level: float = DEFAULT_LEVEL, n_boot: int = DEFAULT_BOOT, rng_seed: int = 0,
                      gamma_bounds: tuple[float, float] = (0.2, 2.0), gamma: float | None = None,
                      paired: bool = True) -> Extrapolation:
    """Extrapolate a per-``d`` statistic to ``d → ∞`` with ``ε(d) = ε∞ + c·d^{-γ}`` (THEORY §5, T2-error).

    Fits the per-``d`` means by weighted least squares (weighted by the standard
    errors over seeds where there are at least two seeds; ``γ`` by variable
    projection, :func:`_fit_power`). Needs at least three distinct ``d``.

    With ``gamma`` given, the rate is fixed (a rate known from theory, e.g.
    the ``d^{-1/2}`` finite-size corrections of the error claims in
    ``verify.claims.errors``): ``ε∞, c`` come from weighted linear least
    squares on ``d^{-γ}``, and the interval of ``ε∞`` is Student's over seeds
    (:func:`linear_halfwidth`; the decisive fits of the error claims); still at
    least three ``d``, so that one degree of freedom is left to test the law
    (``p_fit``). With ``γ`` free, ``n_boot`` bootstrap resamples of the seeds
    give percentile intervals of ``ε∞`` and ``γ`` (a diagnostic: the ladders
    do not resolve ``γ``).

    Parameters
    ----------
    values : mapping int → sequence of float
        ``{d: [value per seed]}`` at three or more ``d``.
    level : float
        Confidence level of the intervals.
    n_boot, rng_seed : int
        Bootstrap resamples and the seed of their generator (free ``γ`` only).
    gamma_bounds : (float, float)
        Bounds of a fitted ``γ``.
    gamma : float, optional
        A fixed rate ``γ > 0`` (then only ``ε∞, c`` are fitted).
    paired : bool
        Seeds are the same at every ``d`` (used when every ``d`` has the same number; module docstring).

    Returns
    -------
    Extrapolation
        ``ok`` False when the fit (or over 10 % of the bootstrap refits) failed.
    """
    ds, groups = clean_samples(values)
    if len(ds) < 3:
        raise ValueError(f"ε(d) = ε∞ + c·d^-γ needs at least three dimensions; got {ds.astype(int).tolist()}")
    if gamma is not None and not (math.isfinite(gamma) and gamma > 0):
        raise ValueError(f"a fixed rate γ must be a positive number; got {gamma!r}")
    means = np.array([g.mean() for g in groups])
    sig = None
    if all(g.size >= 2 for g in groups):
        se = np.array([g.std(ddof=1) / math.sqrt(g.size) for g in groups])
        floor = 1e-3 * max(float(np.abs(means).max()), 1e-12)
        sig = np.maximum(se, floor)
    per = [mean_ci(g, level) for g in groups]
    common = dict(level=level, dims=tuple(int(d) for d in ds), seeds=tuple(int(g.size) for g in groups),
                  means=tuple(float(m) for m in means), mean_lo=tuple(p.lo for p in per),
                  mean_hi=tuple(p.hi for p in per), paired=paired and pairable(groups))
    if gamma is not None:
        return _extrapolate_fixed(ds, groups, means, sig, float(gamma), level, paired, common)
    point = _fit_power(ds, means, sig, gamma_bounds)
    boot = resample_means(groups, np.random.default_rng(rng_seed), n_boot, paired)
    fits = [_fit_power(ds, row, sig, gamma_bounds) for row in boot]
    good = np.array([f for f in fits if f is not None])
    failed = len(fits) - len(good)
    bounds = tuple(float(b) for b in gamma_bounds)
    if point is None or len(good) < 0.9 * n_boot:
        nan = (math.nan, math.nan)
        e, c, g = point if point is not None else (math.nan, math.nan, math.nan)
        return Extrapolation(e, c, g, nan, nan, gamma_bounds=bounds, ok=False, failed=failed, **common)
    nmin = min(g.size for g in groups)
    return Extrapolation(point[0], point[1], point[2], bootstrap_interval(good[:, 0], level, point[0], nmin),
                         bootstrap_interval(good[:, 2], level, point[2], nmin), gamma_bounds=bounds, ok=True, failed=failed,
                         p_fit=_p_fit(ds, means, sig, point, 3), **common)


def _rate_weights(ds: np.ndarray, groups: list[np.ndarray], gamma: float) -> np.ndarray:
    """Least-squares weights ``n_d·d^{2γ}``: a seed's spread is of the order of the ``d^{-γ}`` corrections it
    fluctuates around, so its variance is taken ``∝ d^{-2γ}``. Fixed by the law, not estimated: weights
    ``1/SE_d²`` from 3–4 seeds per ``d`` made the interval under-cover (0.87 at nominal 0.95)."""
    return np.array([g.size for g in groups], dtype=float) * np.power(ds, 2 * gamma)


def _extrapolate_fixed(ds: np.ndarray, groups: list[np.ndarray], means: np.ndarray, sig: np.ndarray | None,
                       gamma: float, level: float, paired: bool, common: Mapping[str, object]) -> Extrapolation:
    """``ε∞ + c·d^{-γ}`` with ``γ`` fixed: weighted least squares, linear in the means, so ``ε∞ = Σ_d a_d·mean_d``
    and its interval is :func:`linear_halfwidth` (module docstring). The goodness of fit ``p_fit`` is the χ² of the
    law's best fit with the seeds' standard errors (a test of the law, whatever weights the estimate uses)."""
    A = np.column_stack([np.ones_like(ds), np.power(ds, -gamma)])
    w = _rate_weights(ds, groups, gamma)
    solve = np.linalg.solve(A.T @ (A * w[:, None]), A.T * w[None, :])  # (2, #d): (ε∞, c) = solve @ means
    eps_inf, c = (float(v) for v in solve @ means)
    if not (math.isfinite(eps_inf) and math.isfinite(c)):
        nan = (math.nan, math.nan)
        return Extrapolation(eps_inf, c, gamma, nan, (gamma, gamma), gamma_bounds=(gamma, gamma), ok=False,
                             failed=1, fixed_gamma=True, **common)
    half = linear_halfwidth(groups, solve[0], level, paired)
    return Extrapolation(eps_inf, c, gamma, (eps_inf - half, eps_inf + half), (gamma, gamma),
                         gamma_bounds=(gamma, gamma), ok=True, failed=0, fixed_gamma=True,
                         p_fit=_p_fit(ds, means, sig, _fit_fixed(ds, means, sig, gamma) or (eps_inf, c, gamma), 2),
                         **common)


@dataclass(frozen=True)
class Pooled:
    """A statistic whose mean does not depend on ``d`` (an unbiased estimate at every ``d`` whose spread shrinks
    like ``d^{-rate}``), pooled over the ladder: ``value = Σ_d a_d·mean_d`` with ``a_d ∝ n_d·d^{2·rate}``, its
    Student interval over seeds (``verify.fits.linear_halfwidth``) and ``p_flat``, the p-value of "the same mean at
    every ``d``" (an F test with one variance law ``σ²·d^{-2·rate}`` estimated from every seed: per-``d``
    variances from 8 seeds made a χ² test reject true constants; ``None`` without a spread to estimate)."""

    value: float
    ci: tuple[float, float]
    level: float
    dims: tuple[int, ...]
    seeds: tuple[int, ...]
    means: tuple[float, ...]
    p_flat: float | None

    def to_dict(self) -> dict:
        return {"value": self.value, "ci": list(self.ci), "level": self.level, "dims": list(self.dims),
                "seeds": list(self.seeds), "means": list(self.means), "p_flat": self.p_flat}


def fit_pooled(values: Samples, rate: float = 0.5, level: float = DEFAULT_LEVEL, paired: bool = True) -> Pooled:
    """Pool a ``d``-independent mean over the ladder (:class:`Pooled`; a value claim decided from every ``d`` at
    once, THEORY §5.1).

    Parameters
    ----------
    values : mapping int → sequence of float
        ``{d: [value per seed]}``.
    rate : float
        The spread of one seed shrinks like ``d^{-rate}`` (weights ``n_d·d^{2·rate}``).
    level : float
        Confidence level.
    paired : bool
        Seeds are the same at every ``d`` (used when every ``d`` has the same number).

    Returns
    -------
    Pooled
    """
    ds, groups = clean_samples(values)
    means = np.array([g.mean() for g in groups])
    w = np.array([g.size for g in groups], dtype=float) * np.power(ds, 2 * rate)
    a = w / w.sum()
    value = float(a @ means)
    half = linear_halfwidth(groups, a, level, paired)
    p_flat = None
    dof = sum(g.size - 1 for g in groups)
    if len(ds) >= 2 and dof > 0:
        # one variance law for every d (σ² d^{-2·rate}, σ² from all seeds): F test of "the same mean at every d"
        sigma2 = sum(float(np.sum((g - g.mean()) ** 2)) * d ** (2 * rate) for d, g in zip(ds, groups)) / dof
        if sigma2 > 0:
            se2 = np.array([sigma2 * d ** (-2 * rate) / g.size for d, g in zip(ds, groups)])
            flat = float(np.sum(means / se2) / np.sum(1 / se2))
            F = float(np.sum((means - flat) ** 2 / se2)) / (len(ds) - 1)
            p_flat = float(f_dist.sf(F, len(ds) - 1, dof))
    return Pooled(value, (value - half, value + half), level, tuple(int(d) for d in ds),
                  tuple(int(g.size) for g in groups), tuple(float(m) for m in means), p_flat)


__all__ = ["Extrapolation", "Pooled", "fit_extrapolation", "fit_pooled"]
