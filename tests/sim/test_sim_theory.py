"""Simulated overlaps against THEORY.md: the §3.1 formula and what n ≍ d cannot learn (§2.3)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim import SimConfig, simulate, subspace_overlap
from theory import Target, activation


def overlap_31(target: str, act: str, alpha: float, eta: float, s: int, noise: float = 0.0) -> float:
    """THEORY §3.1: ⟨ŵ¹_i, v*⟩ → s η̃ μ1‖C1‖ / sqrt((1 + s η̃ μ2 C0)² + η̃² μ1² ‖C1‖² + η̃² (E[g²]+Δ) E[σ'²]/α)."""
    g = Target.parse(target)
    C0 = float(g.hermite_coefficient((0,) * g.r))
    C1 = np.array([float(c) for c in g.hermite_tensor(1)])
    A = activation(act)
    mu1, mu2, ds2 = float(A.hermite(1)), float(A.hermite(2)), float(A.derivative_norm2())
    c1 = float(np.linalg.norm(C1))
    den = (1 + s * eta * mu2 * C0) ** 2 + eta**2 * mu1**2 * c1**2 + eta**2 * (float(g.norm2()) + noise) * ds2 / alpha
    return s * eta * mu1 * c1 / math.sqrt(den)


@pytest.mark.parametrize("engine", ["dense", "reduced"])
@pytest.mark.parametrize("target,act,alpha,lr0,noise", [("1 + x1", "relu", 2.0, 1.0, 0.0),
                                                         ("x1 + x1*x2", "tanh", 4.0, 2.0, 0.5)])
def test_one_step_overlap_matches_section_3_1(target: str, act: str, alpha: float, lr0: float,
                                              noise: float, engine: str) -> None:
    """d = 1000, n = αd, mean over each half of the neurons (s = ±1), averaged over 8 seeds.

    Per seed the half-means fluctuate by about η̃·sqrt(E[g²]E[σ'²]/n)/‖w¹‖ ≈ 0.02 (the batch noise shared by
    all neurons); the mean of 8 seeds by about 0.008; finite-d bias is O(d^{-1/2}) with a small constant.
    Tolerance 0.03. Directions of U* orthogonal to v* = e1 get only O(d^{-1/2}) overlap."""
    d = 1000
    cfg = SimConfig(target=target, activation=act, d=d, p=200, n_exp=1.0, n_scale=alpha, steps=1, lr0=lr0,
                    noise=noise, readout="none", block_size=1024, engine=engine)
    assert cfg.n == int(alpha * d) and cfg.lr_per_neuron == lr0  # η̃ = lr0 for ℓ = 1, under any output scale
    plus, minus, ortho = [], [], []
    for seed in range(8):
        M = np.array(simulate(cfg, seed).overlaps)
        plus.append(M[:100, 0].mean())
        minus.append(M[100:, 0].mean())
        ortho.append(subspace_overlap(M, np.eye(M.shape[1])[:, 1:]) if M.shape[1] > 1 else 0.0)
    for s, values in ((+1, plus), (-1, minus)):
        predicted = overlap_31(target, act, alpha, lr0, s, noise)
        assert abs(predicted) > 0.25  # a Θ(1) prediction, so the comparison has teeth
        assert np.mean(values) == pytest.approx(predicted, abs=0.03)
    assert np.mean(ortho) < 3 / math.sqrt(d)


def test_x1x2_is_not_learned_with_n_equal_d() -> None:
    """g = x1 x2 has C1 = 0 (ℓ1 = 2): one step with n = d leaves the overlap with U* = span(e1, e2) at the
    random level ≈ sqrt(π/2)/√d, while g = x1 + x1 x2 (ℓ1 = 1) is learned along e1 in the same setting."""
    d = 400
    cfg = SimConfig(target="x1*x2", d=d, p=200, n_exp=1.0, steps=1, lr0=2.0, readout="none", block_size=512)
    both = np.eye(2)
    hard = [subspace_overlap(simulate(cfg, s).overlaps, both) for s in range(3)]
    easy = [subspace_overlap(simulate(cfg.replace(target="x1 + x1*x2"), s).overlaps, both) for s in range(3)]
    assert np.mean(hard) < 2 / math.sqrt(d)  # 0.1; random unit vectors give ≈ 0.063
    assert np.mean(easy) > 0.4


@pytest.mark.parametrize("preprocess", ["exact", "estimate"])
def test_second_order_specialises_only_with_preprocessing(preprocess: str) -> None:
    """§2.3 with n = d², ℓ = 2: without preprocessing the order-1 part dominates and a single direction
    (v* = e1) is learned; with orders < 2 removed (exactly, or estimated from the batch) the neurons learn
    range C_2 = span(e1, e2) of g = x1 + x1 x2 — two comparable singular values of M."""
    cfg = SimConfig(target="x1 + x1*x2", d=64, p=128, n_exp=2.0, steps=1, readout="none", block_size=1024)
    plain = simulate(cfg, 0).singular_values
    spec = simulate(cfg.replace(preprocess=preprocess), 0).singular_values
    assert cfg.ell_resolved == 2 and cfg.n == 64**2
    assert plain[1] / plain[0] < 0.3
    assert spec[1] / spec[0] > 0.6
