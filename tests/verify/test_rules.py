"""Decision rules (verify.rules): Θ(1), decay, exponent band, value match, too-short ladders (THEORY §5)."""

import numpy as np
import pytest

from verify import rules
from verify.extrapolation import fit_extrapolation
from verify.fits import fit_loglog

DIMS = (64, 128, 256, 512, 1024)


def power(a, seeds=6, noise=0.03, dims=DIMS, seed=0):
    rng = np.random.default_rng(seed)
    return fit_loglog({d: list(0.5 * d**a * np.exp(noise * rng.standard_normal(seeds))) for d in dims})


def test_theta1():
    assert rules.theta1(power(0.0)).verdict == rules.CONFIRMED
    assert rules.theta1(power(-0.5)).verdict == rules.REFUTED


def test_decay():
    assert rules.decays(power(-0.5)).verdict == rules.CONFIRMED
    assert rules.decays(power(0.0)).verdict == rules.REFUTED


def test_exponent_band():
    assert rules.exponent(power(-0.5), -0.5).verdict == rules.CONFIRMED
    assert rules.exponent(power(-1.0), -0.5).verdict == rules.REFUTED
    assert rules.exponent(power(0.0), -0.5).verdict == rules.REFUTED


def test_noisy_data_straddling_an_edge_is_inconclusive():
    fit = power(-0.35, seeds=4, noise=0.4, seed=3)
    assert fit.ci[0] < -0.35 < fit.ci[1]
    assert rules.exponent(fit, -0.5).verdict == rules.INCONCLUSIVE


@pytest.mark.parametrize("dims,seeds", [((256, 512), 6), ((256, 512, 768), 6), (DIMS, 2)])
def test_too_short_ladder_is_inconclusive_even_when_the_point_estimate_matches(dims, seeds):
    fit = power(-0.5, seeds=seeds, noise=0.0, dims=dims)
    assert fit.slope == pytest.approx(-0.5)  # the fit itself is perfect …
    for dec in (rules.exponent(fit, -0.5), rules.decays(fit), rules.theta1(power(0.0, seeds, 0.0, dims))):
        assert dec.verdict == rules.INCONCLUSIVE  # … but the ladder cannot resolve a law in d
        assert "too" in dec.reason


def test_value_and_bounds():
    assert rules.value((0.98, 1.02), 1.0, 0.05).verdict == rules.CONFIRMED
    assert rules.value((1.2, 1.3), 1.0, 0.05).verdict == rules.REFUTED
    assert rules.value((0.9, 1.2), 1.0, 0.05).verdict == rules.INCONCLUSIVE
    assert rules.at_least((0.97, 1.3), 1.0, 0.05).verdict == rules.CONFIRMED
    assert rules.at_least((0.5, 0.9), 1.0, 0.05).verdict == rules.REFUTED
    assert rules.value((float("nan"), 1.0), 1.0, 0.1).verdict == rules.INCONCLUSIVE


def test_extrapolated_rule():
    rng = np.random.default_rng(0)
    vals = {d: list(0.5 + d**-0.5 + 0.002 * rng.standard_normal(5)) for d in DIMS}
    fit = fit_extrapolation(vals, n_boot=150)
    assert rules.extrapolated(fit, 0.5, 0.05).verdict == rules.CONFIRMED
    assert rules.extrapolated(fit, 0.0, 0.05).verdict == rules.REFUTED
    short = fit_extrapolation({d: vals[d] for d in (64, 128, 256)}, n_boot=50)  # span 4 but …
    short = fit_extrapolation({d: vals[64 * 2 ** k] for k, d in enumerate((64, 80, 96))}, n_boot=50)  # span 1.5
    assert rules.extrapolated(short, 0.5, 0.05).verdict == rules.INCONCLUSIVE


@pytest.mark.parametrize("limit,verdict", [(1.0, rules.CONFIRMED), (1.3, rules.REFUTED), (0.7, rules.REFUTED)])
def test_extrapolated_rule_is_two_sided_with_fixed_rate(limit, verdict):
    """A limit wholly above the prediction refutes as surely as one below (no 'approach from above' excuse)."""
    rng = np.random.default_rng(1)
    dims = (64, 91, 128, 181, 256)
    vals = {d: list(limit + 0.7 * d**-0.5 + 0.01 * rng.standard_normal(4)) for d in dims}
    fit = fit_extrapolation(vals, n_boot=200, gamma=0.5)
    assert fit.fixed_gamma and not fit.gamma_at_bound and fit.p_fit is not None
    assert rules.extrapolated(fit, 1.0, 0.1).verdict == verdict


def test_extrapolated_rule_inconclusive_when_the_law_is_rejected():
    """Means that a c·d^-1/2 law cannot describe (a dip) give no ε∞ at all, whatever the CI says."""
    rng = np.random.default_rng(2)
    dims = (64, 91, 128, 181, 256)
    shape = {64: 0.3, 91: 0.0, 128: 0.3, 181: 0.0, 256: 0.3}
    vals = {d: list(1.0 + shape[d] + 0.005 * rng.standard_normal(4)) for d in dims}
    fit = fit_extrapolation(vals, n_boot=100, gamma=0.5)
    assert fit.p_fit is not None and fit.p_fit < rules.P_FIT_MIN
    dec = rules.extrapolated(fit, 1.0, 0.1)
    assert dec.verdict == rules.INCONCLUSIVE and "does not describe" in dec.reason


def test_combine():
    c, r, i = (rules.Decision(v, v.lower()) for v in (rules.CONFIRMED, rules.REFUTED, rules.INCONCLUSIVE))
    assert rules.combine([c, c]).verdict == rules.CONFIRMED
    assert rules.combine([c, i]).verdict == rules.INCONCLUSIVE
    assert rules.combine([c, i, r]).verdict == rules.REFUTED
    assert rules.combine([]).verdict == rules.INCONCLUSIVE
    with pytest.raises(ValueError):
        rules.Decision("PASSED", "")


def test_rule_texts_are_built_from_the_constants():
    """A claim's rule in words states the bands the rules apply, not a copy typed next to them."""
    from verify.claims import registry

    assert rules.theta1_text() == f"exponent CI in ±{rules.THETA_BAND:g}"
    assert rules.decay_text(0.25) == "exponent CI < −0.25"
    assert rules.exponent_text(-0.5, 0.2) == "exponent CI in −1/2 ± 0.2"
    assert rules.fraction_text(-1 / 3) == "−1/3" and rules.fraction_text(0.1) == "0.1"
    assert rules.ladder_text() == (f"≥ {rules.MIN_DIMS} dimensions, d_max/d_min ≥ {rules.MIN_SPAN:g}, "
                                   f"≥ {rules.MIN_SEEDS} seeds")
    claims = {c.id: c for c in registry()}
    assert rules.theta1_text() in claims["T1-single"].rule
    assert rules.exponent_text(-0.5) in claims["C1-stair"].rule
    assert rules.decay_text() in claims["Z1-local"].rule and rules.ladder_text("phases", "λ span") in claims[
        "Z1-local"].rule
