"""verify.fits on synthetic data with known exponents and noise (THEORY §5)."""

import numpy as np
import pytest

from verify.extrapolation import fit_extrapolation
from verify.fits import fit_loglog, mean_ci

DIMS = (64, 128, 256, 512, 1024)


def synthetic(a: float, c: float, noise: float, seeds: int, rng: np.random.Generator) -> dict[int, list[float]]:
    """c·d^a with multiplicative log-normal noise per seed."""
    return {d: list(c * d**a * np.exp(noise * rng.standard_normal(seeds))) for d in DIMS}


@pytest.mark.parametrize("a", [-1.0, -0.5, 0.0, 0.3])
def test_loglog_recovers_exponent(a):
    rng = np.random.default_rng(1)
    fit = fit_loglog(synthetic(a, 0.7, 0.05, 8, rng))
    assert fit.ci[0] <= a <= fit.ci[1]
    assert abs(fit.slope - a) < 0.05
    assert fit.ci[1] - fit.ci[0] < 0.15


def test_loglog_exact_power_law_has_zero_width():
    fit = fit_loglog({d: [3.0 * d**-0.5] * 4 for d in DIMS})
    assert fit.slope == pytest.approx(-0.5, abs=1e-12)
    assert fit.ci[1] - fit.ci[0] < 1e-12
    assert fit.intercept == pytest.approx(np.log(3.0))


def test_loglog_ci_coverage_is_sane():
    """The 95 % bootstrap CI covers the true exponent in most of 60 independent experiments."""
    rng = np.random.default_rng(7)
    covered = 0
    for k in range(60):
        fit = fit_loglog(synthetic(-0.5, 1.0, 0.2, 6, rng))
        covered += fit.ci[0] <= -0.5 <= fit.ci[1]
    assert 45 <= covered <= 60  # nominal 57; percentile bootstrap with 6 seeds is a little narrow


def test_loglog_rejects_bad_input():
    with pytest.raises(ValueError, match="two dimensions"):
        fit_loglog({64: [1.0, 2.0]})
    with pytest.raises(ValueError, match="positive"):
        fit_loglog({64: [1.0], 128: [-1.0]})
    with pytest.raises(ValueError, match="no samples"):
        fit_loglog({64: [1.0], 128: []})


def test_mean_ci_brackets_mean():
    ci = mean_ci([1.0, 2.0, 3.0, 4.0])
    assert ci.mean == 2.5 and ci.lo < 2.5 < ci.hi and ci.n == 4
    assert mean_ci([5.0]).lo == mean_ci([5.0]).hi == 5.0


@pytest.mark.parametrize("eps_inf,gamma", [(0.3, 0.5), (1.0, 1.0), (0.0, 0.7)])
def test_extrapolation_recovers_limit(eps_inf, gamma):
    rng = np.random.default_rng(3)
    vals = {d: list(eps_inf + 2.0 * d**-gamma + 0.003 * rng.standard_normal(6)) for d in DIMS}
    fit = fit_extrapolation(vals, n_boot=200)
    assert fit.ok
    assert fit.ci_eps_inf[0] <= eps_inf <= fit.ci_eps_inf[1]
    assert abs(fit.eps_inf - eps_inf) < 0.05
    assert fit.ci_gamma[0] <= gamma <= fit.ci_gamma[1]


def test_extrapolation_with_fixed_rate():
    rng = np.random.default_rng(4)
    vals = {d: list(0.2 + 1.5 * d**-0.5 + 0.005 * rng.standard_normal(4)) for d in (64, 91, 128, 181, 256)}
    fit = fit_extrapolation(vals, n_boot=200, gamma=0.5)
    assert fit.ok and fit.fixed_gamma and fit.gamma == 0.5 and fit.ci_gamma == (0.5, 0.5)
    assert fit.ci_eps_inf[0] <= 0.2 <= fit.ci_eps_inf[1] and abs(fit.c - 1.5) < 0.3
    assert fit.p_fit is not None and fit.p_fit > 0.01
    wrong = fit_extrapolation(vals, n_boot=200, gamma=2.0)  # a wrong rate misfits the same data
    assert wrong.p_fit is not None and wrong.p_fit < 0.01
    with pytest.raises(ValueError, match="positive"):
        fit_extrapolation(vals, gamma=0.0)


def test_extrapolation_needs_three_dims():
    with pytest.raises(ValueError, match="three dimensions"):
        fit_extrapolation({64: [1.0, 1.1], 128: [0.9, 0.8]})


def seed_correlated(a: float, shared: float, noise: float, seeds: int, rng: np.random.Generator) -> dict[int, list[float]]:
    """d^a with a per-seed factor shared by every d (the reduced engine's common random numbers) and a small
    independent one."""
    u = shared * rng.standard_normal(seeds)
    return {d: list(d**a * np.exp(u + noise * rng.standard_normal(seeds))) for d in DIMS}


def test_paired_bootstrap_credits_common_random_numbers():
    """Seeds shared over d: resampling seeds jointly gives a narrow CI that still covers the exponent in most
    experiments; resampling within each d (paired=False) counts the shared factor at every d and is wider."""
    rng = np.random.default_rng(11)
    covered, ratio = 0, []
    for k in range(40):
        vals = seed_correlated(-0.5, 0.3, 0.03, 6, rng)
        paired, strat = fit_loglog(vals), fit_loglog(vals, paired=False)
        assert paired.paired and not strat.paired
        covered += paired.ci[0] <= -0.5 <= paired.ci[1]
        ratio.append((paired.ci[1] - paired.ci[0]) / (strat.ci[1] - strat.ci[0]))
    assert covered >= 32  # nominal 38
    assert np.median(ratio) < 0.3  # the shared factor (0.3) dominates the independent noise (0.03)


def test_paired_needs_equal_seed_counts():
    rng = np.random.default_rng(12)
    vals = seed_correlated(0.0, 0.2, 0.05, 5, rng)
    vals[DIMS[0]] = vals[DIMS[0]][:4]
    fit = fit_loglog(vals)
    assert not fit.paired and fit.seeds[0] == 4
    ext = fit_extrapolation({d: [0.1 + x for x in v] for d, v in vals.items()}, n_boot=100, gamma=0.5)
    assert not ext.paired
