"""The reduced-coordinate engine (THEORY.md §3.3) against the dense engine, in distribution.

Two-sample tests, fixed seeds (so a test is deterministic): for each config, ``SEEDS`` runs of each engine
(independent seeds) and, per statistic, a two-sample Kolmogorov–Smirnov test; the configs agree when the
Holm-adjusted smallest p-value over all statistics is at least ``LEVEL`` (family-wise level 1 %). The
statistics, per step ``t = 1..T``: the overlap matrix's column means signed by ``a_i`` and of ``|M_ij|``,
its singular values, the batch loss (and with ``step_cosines`` the column means of ``|cos(G_i, e_j)|``);
at the end the tuned test error. Power is shown, not assumed: the same test, on the same dense samples,
rejects a deliberately perturbed reduced engine — the step's Bartlett factor drawn for ``d − r`` instead of
``d − k`` remaining coordinates (a wrong factor ``√(d−k)``), without its below-diagonal Gaussians (missing
degrees of freedom), or with the diagonal of ``C Cᵀ`` in place of its factor (a wrong covariance).
The Bartlett factor's own law is tested against an independent method (the QR decomposition of Gaussian
matrices) and against ``χ²_D`` row norms, with an off-by-one in the χ degrees of freedom caught the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

import numpy as np
import pytest
import torch
from scipy import stats

import sim.giant_step.reduced as reduced
from sim import SimConfig, execution_plan, simulate, strip_volatile
from sim.giant_step.bartlett import bartlett, reduced_init
from sim.giant_step.choice import max_coordinates, resolve_engine
from sim.giant_step.init import init_network, second_layer_of
from tests.sim.threads import torch_threads

LEVEL = 0.01
SEEDS = 400
REDUCED_SEED0 = 10**6  # the reduced engine's seeds: independent of the dense ones
SMALL = dict(n_exp=1.0, n_scale=2.0, lr0=2.0, readout="final", n_ridge=128, n_test=256, ridge_lambdas=(1e-2,),
             block_size=64, device="cpu", dtype="float64")
CONFIGS = {
    # symmetric initialisation, s_p = 1/p, relu, normalised, three steps of a staircase target
    "symmetric": SimConfig(target="x1 + x1*x2 + x1*x2*x3", activation="relu", d=32, p=8, steps=3, **SMALL),
    # gaussian initialisation, s_p = 1/√p, a non-polynomial σ, label noise, no normalisation (k reaches d)
    "gaussian": SimConfig(target="x1 + x1*x2", activation="tanh", d=32, p=8, steps=3, init="gaussian",
                          output_scale="1/sqrt(p)", noise=0.5, normalize=False, **SMALL),
    # hypercube initialisation, exact preprocessing, step cosines (the multi-step notebook's measurement)
    "hypercube": SimConfig(target="x1 + x2 + x1*x2", activation="relu", d=40, p=6, steps=3, init="hypercube",
                           preprocess="exact", ell=2, noise=0.1, normalize=False, step_cosines=True,
                           **{**SMALL, "lr0": 0.5}),
}


def holm_min(pvalues: list[float]) -> float:
    """The smallest Holm-adjusted p-value (family-wise: reject the family when it is below the level)."""
    ps = np.sort(np.asarray(pvalues))
    return float(min(1.0, (ps * (len(ps) - np.arange(len(ps)))).min()))


def statistics(rec: dict) -> list[float]:
    """The statistics of one record (module docstring)."""
    c = rec.config
    sign = np.sign(second_layer_of(c["init"], c["p"], rec.seed).numpy())
    out: list[float] = []
    for e in rec.per_step[1:]:
        M = np.asarray(e.overlaps)
        out += [*(sign[:, None] * M).mean(0), *np.abs(M).mean(0), *e.singular_values, e.batch_loss]
        if e.step_cosines is not None:
            out += list(np.abs(np.asarray(e.step_cosines)).mean(0))
    return out + [rec.test_error]


def sample(cfg: SimConfig, seed0: int, seeds: int = SEEDS) -> np.ndarray:
    plan = execution_plan(cfg)
    with torch_threads(1):  # tiny matrices: one thread is fastest and load-independent
        return np.array([statistics(simulate(cfg, seed0 + s, plan=plan)) for s in range(seeds)])


@cache
def dense_sample(name: str) -> np.ndarray:
    return sample(CONFIGS[name].replace(engine="dense"), 0)


def min_pvalue(name: str) -> tuple[float, int]:
    """Holm-adjusted smallest two-sample KS p-value of the reduced engine against the dense one, and the
    number of statistics."""
    a, b = dense_sample(name), sample(CONFIGS[name].replace(engine="reduced"), REDUCED_SEED0)
    ps = [stats.ks_2samp(a[:, j], b[:, j]).pvalue for j in range(a.shape[1])]
    return holm_min(ps), len(ps)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_reduced_engine_has_the_dense_engine_law(name: str) -> None:
    cfg = CONFIGS[name]
    assert resolve_engine(cfg.replace(engine="reduced"))[0] == "reduced"
    p, m = min_pvalue(name)
    assert m >= 20  # every step's overlaps, singular values and loss, and the test error
    assert p >= LEVEL, f"{name}: Holm-adjusted min p = {p:.2e} over {m} statistics"


def _wrong_dimension(m: int, D: int, gen: np.random.Generator) -> np.ndarray:  # √(d−r) in place of √(d−k)
    cfg = CONFIGS["symmetric"]
    return bartlett(m, cfg.d - cfg.r, gen)[:, : min(m, D)]


def _no_below_diagonal(m: int, D: int, gen: np.random.Generator) -> np.ndarray:  # missing degrees of freedom
    return bartlett(m, D, gen) * np.eye(m, min(m, D))


def _diagonal_covariance(CC: torch.Tensor, tol: float = reduced.TOL) -> torch.Tensor:  # wrong covariance
    return torch.diag(CC.diagonal().clamp_min(0).sqrt())


PERTURBED = [("symmetric", "bartlett", _wrong_dimension), ("symmetric", "bartlett", _no_below_diagonal),
             ("gaussian", "covariance_factor", _diagonal_covariance)]


@pytest.mark.slow
@pytest.mark.parametrize("name,attribute,wrong", PERTURBED, ids=["sqrt(d-r)", "no-below-diagonal", "diag-covariance"])
def test_a_perturbed_reduced_engine_fails_the_same_test(name: str, attribute: str, wrong: Callable,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    dense_sample(name)  # drawn with the true engine
    monkeypatch.setattr(reduced, attribute, wrong)
    p, m = min_pvalue(name)
    assert p < LEVEL, f"{name} with {wrong.__name__}: Holm-adjusted min p = {p:.2e} over {m} statistics"


def _lq_factor(m: int, D: int, gen: np.random.Generator) -> np.ndarray:
    """The lower factor of ``Ξ = L Q`` for an ``m × D`` Gaussian ``Ξ`` by QR of ``Ξᵀ`` (positive diagonal)."""
    Q, R = np.linalg.qr(gen.standard_normal((m, D)).T)
    return (R * np.sign(np.diag(R))[:, None]).T  # m × min(m, D)


@pytest.mark.parametrize("m,D", [(4, 7), (6, 3)])
def test_bartlett_factor_has_the_law_of_the_lq_factor(m: int, D: int) -> None:
    """Entry by entry, ``bartlett`` against the LQ factor of Gaussian matrices (KS, Holm at 1 %); every row
    norm² is ``χ²_D`` (its row of ``Ξ`` rotated); ``E[L Lᵀ] = D·I`` (Wishart). An off-by-one in the χ
    degrees of freedom fails the same tests."""
    draws = 4000
    gen = np.random.default_rng(1)
    ours = np.array([bartlett(m, D, gen) for _ in range(draws)])
    ref = np.array([_lq_factor(m, D, gen) for _ in range(draws)])
    assert ours.shape == ref.shape == (draws, m, min(m, D))
    assert np.all(np.triu(ours, 1) == 0) and np.all(np.diagonal(ours, axis1=1, axis2=2) > 0)
    rows, cols = np.tril_indices(m, 0, min(m, D))
    entry_p = [stats.ks_2samp(ours[:, i, j], ref[:, i, j]).pvalue for i, j in zip(rows, cols)]
    norm_p = [stats.kstest((ours[:, i] ** 2).sum(1), stats.chi2(D).cdf).pvalue for i in range(m)]
    assert holm_min(entry_p + norm_p) >= LEVEL
    gram = np.einsum("sij,skj->ik", ours, ours) / draws
    assert np.allclose(gram, D * np.eye(m), atol=5 * math.sqrt(2 * D / draws))
    off_by_one = ours.copy()
    c = min(m, D)
    off_by_one[:, range(c), range(c)] = np.sqrt(gen.chisquare(np.arange(D, D - c, -1) - 0.999, size=(draws, c)))
    wrong_p = [stats.kstest((off_by_one[:, i] ** 2).sum(1), stats.chi2(D).cdf).pvalue for i in range(m)]
    assert holm_min(wrong_p) < LEVEL


@pytest.mark.parametrize("init", ["symmetric", "gaussian", "hypercube"])
def test_reduced_initialisation_has_the_dense_law(init: str) -> None:
    """``W⁰`` in reduced coordinates: the overlaps with the teacher axes, the row norms and the Gram matrix
    of the rows have the law of the dense ``W⁰`` (KS over 300 seeds, Holm at 1 %); the symmetric one has
    ``k₀ = r + p/2`` coordinates and duplicated rows."""
    p, d, r = 6, 12, 2
    dense, red = [], []
    for s in range(300):
        for W, out in ((init_network(init, p, d, s, "cpu")[0], dense), (reduced_init(init, p, d, r, 10**6 + s), red)):
            G = (W @ W.T).numpy()
            out.append([*W[:, :r].flatten().tolist(), *np.diag(G), *G[np.triu_indices(p, 1)]])
    k0 = reduced_init(init, p, d, r, 0).shape[1]
    assert k0 == r + (p // 2 if init == "symmetric" else p)
    if init == "symmetric":
        W = reduced_init(init, p, d, r, 0)
        assert torch.equal(W[:3], W[3:]) and torch.allclose(W.norm(dim=1), torch.ones(p, dtype=torch.float64))
    a, b = np.array(dense), np.array(red)
    ps = [stats.ks_2samp(a[:, j], b[:, j]).pvalue for j in range(a.shape[1]) if a[:, j].std() > 0]
    assert holm_min(ps) >= LEVEL


def test_first_step_from_the_symmetric_initialisation_adds_p_over_2_coordinates() -> None:
    """``C_{i+p/2} = −C_i`` at ``W⁰``: ``C Cᵀ`` has rank exactly ``p/2`` and so does the new block; later steps
    add ``p``; ``k_t`` never exceeds ``d`` (then the step is a rotated dense step) nor ``max_coordinates``."""
    cfg = SimConfig(target="x1 + x1*x2", d=30, p=8, n_exp=1.0, n_scale=3, steps=4, readout="none",
                    block_size=32, engine="reduced", normalize=False)
    rec = simulate(cfg, 0)
    ks = [e.coordinates for e in rec.per_step]
    assert ks == [2 + 4, 2 + 8, 2 + 16, 2 + 24, 30] and rec.coordinates == 30 == max_coordinates(cfg)
    assert rec.engine == "reduced"


def test_engine_choice_rule_and_record() -> None:
    """auto: reduced when supported and k_T + p ≤ d/2, dense otherwise; the record names the engine and why."""
    base = SimConfig(target="x1", d=400, p=16, steps=2, n_test=64, block_size=64, readout="final")
    assert max_coordinates(base) == 1 + 8 + 8 + 16
    assert resolve_engine(base)[0] == "reduced" and "≤ 0.5·d" in resolve_engine(base)[1]
    assert resolve_engine(base.replace(d=80))[0] == "dense"  # 33 + 16 > 40
    for why in (dict(preprocess="estimate", ell=2), dict(bf16=True)):
        name, reason = resolve_engine(base.replace(**why))
        assert name == "dense" and reason.startswith("auto: dense because")
    for why in (dict(batch="reuse"), dict(readout_data="train_batch"), dict(preprocess="hermite", ell=2)):
        name, reason = resolve_engine(base.replace(**why))  # §3.4: the reduced engine conditions on the batch
        assert name == "reduced" and "§3.4 conditioning for" in reason and next(iter(why)) in reason
    rec = simulate(base, 0)
    assert rec.engine == "reduced" and rec.engine_reason == resolve_engine(base)[1]
    assert base.key_dict("cpu")["engine"] == "reduced" == base.replace(engine="reduced").key_dict("cpu")["engine"]


# a run in several chunks: gelu, noise, gaussian initialisation, two steps, ridge readout
CHUNKED = SimConfig(target="x1 + x1*x2", activation="gelu", d=200, p=10, n_exp=1.0, n_scale=1.3, steps=2, noise=0.1,
                    n_ridge=150, n_test=100, block_size=32, ridge_lambdas=(1e-3, 1e-1), init="gaussian",
                    engine="reduced")


def test_reduced_engine_is_deterministic_and_chunk_invariant() -> None:
    from sim.giant_step.plan import memory_estimate

    cfg = CHUNKED
    fixed, block, resident, _ = memory_estimate(cfg)
    with torch_threads(1):
        one = simulate(cfg.replace(max_memory=fixed + block + resident), 3)
        three = simulate(cfg.replace(max_memory=fixed + block + 3 * resident), 3)
        again, other = simulate(cfg, 3), simulate(cfg, 4)
    assert one.chunk_blocks == 1 and three.chunk_blocks == 3 and one.engine == "reduced"
    assert strip_volatile(one) == strip_volatile(three) == strip_volatile(again)
    assert other.overlaps != one.overlaps


@pytest.mark.gpu
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_reduced_engine_on_cuda_has_the_dense_engine_law(name: str) -> None:
    """The reduced engine on CUDA (its own random streams) against the CPU dense engine, same test."""
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA (none on this machine): the CUDA path of the same code is covered on the CPU")
    a = dense_sample(name)
    b = sample(CONFIGS[name].replace(engine="reduced", device="cuda"), REDUCED_SEED0)
    p = holm_min([stats.ks_2samp(a[:, j], b[:, j]).pvalue for j in range(a.shape[1])])
    assert p >= LEVEL, f"{name} on CUDA: Holm-adjusted min p = {p:.2e}"


@pytest.mark.gpu
def test_reduced_engine_on_cuda_is_deterministic_and_chunk_invariant() -> None:
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA (none on this machine)")
    from sim.giant_step.plan import memory_estimate

    cfg = CHUNKED.replace(device="cuda")
    fixed, block, resident, _ = memory_estimate(cfg)
    one = simulate(cfg.replace(max_memory=fixed + block + resident), 3)
    three = simulate(cfg.replace(max_memory=fixed + block + 3 * resident), 3)
    assert one.device.startswith("cuda") and one.engine == "reduced"
    assert strip_volatile(one) == strip_volatile(three) == strip_volatile(simulate(cfg, 3))
