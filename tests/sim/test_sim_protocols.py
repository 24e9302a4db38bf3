"""Protocol options and the authors' named protocols (THEORY.md §3, §3.2) against direct reimplementations.

The one-step notebook's algorithm and the multi-step notebook's measurement are rewritten here in plain
numpy, in the notebooks' own conventions (``f = (1/√p) Σ a_i σ``, ``a_i ~ N(0, 1/p)``, ``η = 10·√(n·p)``),
on the same samples and initialisation as the run (materialised from their seeded streams), so a record
must equal them to rounding.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sim import SimConfig, simulate
from sim.cli import sweep_jobs
from sim.data import Sampler
from sim.giant_step.init import init_network
from sim.giant_step.protocols import MULTI_STEP_EXAMPLES, PROTOCOLS, deviations, expand

SMALL_ONE_STEP = dict(protocol="dklps-one-step", d=32, p=64, n_exp=1.5, n_test=3000, block_size=128, dtype="float64",
                      device="cpu")


def test_protocol_table_first_then_the_fields_given() -> None:
    cfg = SimConfig.from_dict({"protocol": "dklps-one-step", "d": 256, "p": 512, "n-exp": 1.65})
    table = PROTOCOLS["dklps-one-step"].fields
    assert (cfg.d, cfg.p, cfg.n_exp) == (256, 512, 1.65)
    assert cfg.n == math.floor(256**1.65) and cfg.lr_per_neuron == pytest.approx(10 * math.sqrt(cfg.n / 512))
    assert cfg.lr == pytest.approx(10 * math.sqrt(cfg.n * 512))  # the notebook's η = 10·√(n·p)
    for name in ("init", "output_scale", "preprocess", "readout_data", "readout_labels", "ridge_scale",
                 "test_estimate", "lr_rule", "normalize", "n_test", "target"):
        assert getattr(cfg, name) == table[name]
    assert cfg.ridge_lambdas == (1.0,) and cfg.protocol == "dklps-one-step"
    honest = SimConfig.from_dict({"protocol": "dklps-one-step", "test_estimate": "train"})
    assert honest.test_estimate == "train" and honest.d == 512
    # a sweep file names it the same way, and runs every case of the protocol (both examples) per grid point
    jobs = sweep_jobs({"base": {"protocol": "dklps-multi-step", "d": 64, "p": 16}, "grid": {"steps": [1, 2]}})
    assert [(c.init, c.output_scale, c.steps, c.d, c.step_cosines, c.target) for c, _ in jobs] == [
        ("hypercube", "1/p", steps, 64, True, target) for steps in (1, 2) for target in MULTI_STEP_EXAMPLES]
    one = sweep_jobs({"base": {"protocol": "dklps-multi-step", "d": 64, "p": 16, "target": "x1"}})
    assert [c.target for c, _ in one] == ["x1"]  # a field given closes the cases it varies


def test_protocol_cases_and_deviations_in_words() -> None:
    assert [c["n_exp"] for c in expand({"protocol": "dklps-one-step"})] == [2.0, 1.65, 1.3]
    assert len(expand({"protocol": "dklps-one-step", "n_exp": 1.3})) == 1
    assert [c["target"] for c in expand({"protocol": "dklps-multi-step"})] == list(MULTI_STEP_EXAMPLES)
    assert expand({"d": 8}) == [{"d": 8}]
    assert deviations(SimConfig()) == [] and deviations(SimConfig.from_dict({"protocol": "dklps-multi-step"})) == []
    cfg = SimConfig.from_dict({"protocol": "dklps-one-step", "n_exp": 1.3})
    words = deviations(cfg)
    assert len(words) == 7
    assert "n = floor(n_scale·d^n_exp) = 3326" in words[0]
    assert f"{cfg.lr_per_neuron:.6g}" in words[1] and f"{cfg.lr:.6g}" in words[1]
    assert any("A = mean(y), B = mean(y z)" in w for w in words)
    assert any("λ ∈ {1} on the sum of squares" in w for w in words)
    assert any("from the test labels themselves" in w for w in words)
    assert not any("test labels" in w for w in deviations(cfg.replace(test_estimate="train")))
    assert "λ ∈ {0.5, 2}" in " ".join(deviations(cfg.replace(ridge_lambdas=(0.5, 2.0))))
    with pytest.raises(ValueError, match="protocol must be one of dklps-one-step, dklps-multi-step"):
        SimConfig.from_dict({"protocol": "dklps-two-step"})


def _h(x: np.ndarray) -> np.ndarray:
    return x + (x**2 - 1) / 2 + (x**4 - 6 * x**2 + 3) / 24  # He1 + He2/2 + He4/24


def notebook_one_step(cfg: SimConfig, seed: int) -> float:
    """The single-step notebook in numpy: its conventions, the run's samples and initialisation."""
    n, d, p = cfg.n, cfg.d, cfg.p
    W0, a = (t.numpy() for t in init_network("gaussian", p, d, seed, "cpu"))
    a_nb = a / math.sqrt(p)  # a_i ~ N(0, 1/p)
    Z = Sampler(seed, "train", 0, n, d, cfg.block_size, torch.float64, "cpu").materialize()[0].numpy()
    y = (_h(Z[:, 0]) + _h(Z[:, 1])) / 2
    A, B = y.mean(), (y[:, None] * Z).mean(0)
    y = y - A - Z @ B
    pre = Z @ W0.T
    f = np.maximum(pre, 0) @ a_nb / math.sqrt(p)
    grad = -((y - f)[:, None] * (pre > 0) * a_nb[None, :] / math.sqrt(p)).T @ Z / n  # ∇_W of (1/2n)Σ(y − f)²
    W1 = W0 - 10 * math.sqrt(n * p) * grad
    Phi = np.maximum(Z @ W1.T, 0) / math.sqrt(p)
    theta = np.linalg.solve(Phi.T @ Phi + 1.0 * np.eye(p), Phi.T @ y)
    Zt = Sampler(seed, "test", 0, cfg.n_test, d, cfg.block_size, torch.float64, "cpu").materialize()[0].numpy()
    yt = (_h(Zt[:, 0]) + _h(Zt[:, 1])) / 2
    if cfg.test_estimate == "test":  # the notebook: A, B of the test set from its own labels
        A, B = yt.mean(), (yt[:, None] * Zt).mean(0)
    pred = A + Zt @ B + np.maximum(Zt @ W1.T, 0) / math.sqrt(p) @ theta
    return float(np.mean((pred - yt) ** 2))


@pytest.mark.parametrize("test_estimate", ["test", "train"])
def test_one_step_protocol_is_the_notebook(test_estimate: str) -> None:
    cfg = SimConfig.from_dict({**SMALL_ONE_STEP, "test_estimate": test_estimate})
    rec = simulate(cfg, 3)
    assert rec.engine == "dense" and "hermite" in rec.engine_reason
    assert rec.protocol == "dklps-one-step" and rec.init == "gaussian" and rec.output_scale == "1/p"
    assert sorted(rec.protocol_overrides) == sorted(["d", "p", "n_exp", "n_test", "block_size", "dtype", "device"]
                                                        + (["test_estimate"] if test_estimate == "train" else []))
    assert rec.deviations == deviations(cfg) and rec.n_fit == cfg.n == math.floor(32**1.5)
    ref = notebook_one_step(cfg, 3)
    assert rec.test_error == pytest.approx(ref, rel=1e-8)
    assert 0.05 < ref < 2.0  # a real learning curve point, not a degenerate value


def test_multi_step_protocol_records_the_notebooks_step_cosines() -> None:
    """Two steps of ``dklps-multi-step`` at a small size against the plain update ``w_i ← w_i + η̃ a_i (1/n)
    Σ r σ' z`` with ``f = (1/p) Σ a_i σ``, hypercube ``a``, ``η̃ = 2``, fresh batches, no normalisation."""
    cfg = SimConfig.from_dict({"protocol": "dklps-multi-step", "d": 48, "p": 12, "steps": 2, "block_size": 16,
                               "dtype": "float64", "device": "cpu", "engine": "dense"})
    rec = simulate(cfg, 1)
    W, a = (t.numpy() for t in init_network("hypercube", cfg.p, cfg.d, 1, "cpu"))
    assert set(np.unique(a)) == {-1.0, 1.0} and cfg.lr_per_neuron == 2.0
    for t in (1, 2):
        Z = Sampler(1, "train", t - 1, cfg.n, cfg.d, cfg.block_size, torch.float64, "cpu").materialize()[0].numpy()
        y = (4 * Z[:, 0] + Z[:, 0] ** 2 + Z[:, 1]) / 2
        pre = Z @ W.T
        r = y - np.maximum(pre, 0) @ a / cfg.p
        G = 2.0 * a[:, None] * ((r[:, None] * (pre > 0)).T @ Z) / cfg.n
        W = W + G
        cos = G[:, :2] / np.linalg.norm(G, axis=1, keepdims=True)
        assert np.allclose(rec.per_step[t].step_cosines, cos, atol=1e-6)
        assert rec.per_step[t].batch_loss == pytest.approx(float(r @ r) / (2 * cfg.n), rel=1e-10)
    assert np.abs(np.asarray(rec.per_step[1].step_cosines)).max() > 0.3  # the steps do point at U*
    assert rec.per_step[0].step_cosines is None and rec.test_error is None


def test_output_scale_changes_only_what_follows_the_first_step() -> None:
    """From the symmetric initialisation ``f(W⁰) ≡ 0``: the first step is the same under both output scales
    (same η̃); the second is not (``f`` is ``O(√p)`` larger with ``1/√p``)."""
    cfg = SimConfig(target="x1 + x1*x2", d=40, p=16, steps=2, readout="none", block_size=32, engine="dense")
    mf, ntk = simulate(cfg, 0), simulate(cfg.replace(output_scale="1/sqrt(p)"), 0)
    assert mf.per_step[1].overlaps == ntk.per_step[1].overlaps
    assert mf.per_step[1].batch_loss == ntk.per_step[1].batch_loss
    assert mf.per_step[2].batch_loss < ntk.per_step[2].batch_loss
    assert mf.lr == pytest.approx(cfg.lr_per_neuron * 16) and ntk.lr == pytest.approx(cfg.lr_per_neuron * 4)


def authors_reuse_run(d: int, alpha: float, steps: int, lr: float, seed: int) -> np.ndarray:
    """[DTAPZK]'s batch-reuse run in numpy, in their conventions as THEORY §3.5 lists them: an orthonormal
    teacher scaled by √D, p = 2 student rows orthonormal, orthogonal to it and of norm √D, pre-activations
    w·x/√D, f = Σ a_p relu(h_p) with a = (1, −1)/√2, W ← W − lr·∇ ½Σ_ν(y − f)² on one batch of αD samples;
    returns m = W W*ᵀ/D (steps + 1, 2, 2)."""
    rng = np.random.default_rng(seed)
    n = int(alpha * d)
    teacher = np.linalg.qr(rng.standard_normal((d, 2)))[0].T * np.sqrt(d)
    W = rng.standard_normal((2, d))
    W -= (W @ teacher.T) @ teacher / d
    W = np.linalg.qr(W.T)[0].T * np.sqrt(d)
    a = np.array([1.0, -1.0]) / np.sqrt(2)
    X = rng.standard_normal((n, d))
    hs = X @ teacher.T / np.sqrt(d)
    y = np.tanh(hs[:, 0] + hs[:, 1] ** 3 - 3 * hs[:, 1])
    out = []
    for t in range(steps + 1):
        out.append(W @ teacher.T / d)
        if t < steps:
            h = X @ W.T / np.sqrt(d)
            r = y - np.maximum(h, 0) @ a
            W = W + lr * ((r[:, None] * a[None, :] * (h > 0)).T @ X) / np.sqrt(d)
    return np.array(out)


@pytest.mark.slow
def test_dtapzk_reuse_protocol_has_the_law_of_the_authors_run() -> None:
    """``dtapzk-reuse`` (reduced engine, §3.4 conditioning, our units) against the authors' conventions in numpy
    (dense, their units) at d = 30: the overlaps m of every step agree in distribution (KS, Holm)."""
    from scipy import stats

    cfg = SimConfig.from_dict({"protocol": "dtapzk-reuse", "d": 30, "steps": 3})
    assert cfg.engine_resolved == "reduced" and cfg.n == 90 and math.isclose(cfg.lr_per_neuron, 0.2 * 3 / math.sqrt(2))
    words = " ".join(deviations(cfg))
    assert "one batch of 90 samples for all 3 steps" in words and "orthogonal to the teacher" in words
    seeds = 300
    theirs = np.array([authors_reuse_run(30, 3.0, 3, 0.2, s)[1:].ravel() for s in range(seeds)])
    recs = [simulate(cfg, 10**6 + s) for s in range(seeds)]
    assert recs[0].per_step[0].overlaps == [[0.0, 0.0], [0.0, 0.0]] and "not normalised" in recs[0].overlap_units
    ours = np.array([np.ravel([e.overlaps for e in rec.per_step[1:]]) for rec in recs])
    ps = np.sort([stats.ks_2samp(theirs[:, j], ours[:, j]).pvalue for j in range(ours.shape[1])])
    assert min(1.0, float((ps * (len(ps) - np.arange(len(ps)))).min())) >= 0.01
    assert abs(theirs[:, -4].mean()) > 5 * theirs[:, -4].std() / np.sqrt(seeds)  # the overlap did grow
