"""The reduced engine with §3.4's conditioning against the dense engine, in distribution (THEORY.md §3.4, §3.5).

The runs that use a batch more than once — ``batch="reuse"`` for ``T = 3`` steps, the ridge readout fitted
on the training batch, the first-Hermite estimate removed from the labels — are run ``SEEDS`` times by each
engine (independent seeds) at the prototype's size (``d = 30``, ``n = 40``, ``p = 4``); per statistic a
two-sample Kolmogorov–Smirnov test, and the configs agree when the Holm-adjusted smallest p-value over all
statistics is at least ``LEVEL``. The statistics, per step: the overlap matrix's column means signed by
``a_i`` and of ``|M_ij|``, its singular values, the batch loss; at each readout the tuned test error and
the training error (which, on the training batch, sees the batch's coordinates on the axes it created).
Power is shown, not assumed: the same test on the same dense samples rejects the wrong conditioners of
§3.4 (``sim.giant_step.conditioning.PERTURBATIONS``) ``chi-m`` and ``no-L-part``. The third,
``no-Rd-gaussians``, changes a run only through the below-diagonal of each left block's Bartlett factor
(the engine's right probes cover ``R_d`` before every left block), which 300 seeds do not resolve; it is
rejected, with the other two, by the test of the conditioner against an explicit Gaussian block — a left
block, a right probe on its answer and a second left block, whose answers' Gram matrix and projections
have the law of the same probes of an explicit ``M``.
"""

from __future__ import annotations

import time
from functools import cache

import numpy as np
import pytest
import torch
from scipy import stats

from sim import SimConfig, execution_plan, simulate
from sim.giant_step.conditioned import ConditionedEngine
from sim.giant_step.conditioning import Conditioner
from sim.giant_step.engine import engine_class
from sim.giant_step.init import second_layer_of
from tests.sim.threads import torch_threads

LEVEL = 0.01
SEEDS = 300
REDUCED_SEED0 = 10**6
TINY = dict(d=30, n_exp=1.0, n_scale=4 / 3, p=4, lr0=3.0, n_ridge=64, n_test=128, ridge_lambdas=(1e-2,),
            block_size=16, device="cpu", dtype="float64", target="x1 + x1*x2", activation="relu")
CONFIGS = {
    # one batch for three steps, hypercube initialisation, no normalisation, label noise
    "reuse": SimConfig(**TINY, steps=3, batch="reuse", init="hypercube", normalize=False, noise=0.1,
                       readout="final"),
    # the symmetric initialisation (rank p/2 first step), normalised, reused batch, every readout on it
    "reuse-symmetric": SimConfig(**TINY, steps=3, batch="reuse", readout="every_step",
                                 readout_data="train_batch"),
    # the one-step notebook's uses: Hermite estimate, ridge on the training batch with preprocessed labels,
    # two fresh batches
    "same-batch": SimConfig(**{**TINY, "ridge_lambdas": (1.0,)}, steps=2, init="gaussian", normalize=False, preprocess="hermite", ell=2,
                            readout="final", readout_data="train_batch", readout_labels="preprocessed",
                            ridge_scale="sum"),
}


def holm_min(pvalues: list[float]) -> float:
    """The smallest Holm-adjusted p-value."""
    ps = np.sort(np.asarray(pvalues))
    return float(min(1.0, (ps * (len(ps) - np.arange(len(ps)))).min()))


def statistics(rec: dict) -> list[float]:
    c = rec.config
    sign = np.sign(second_layer_of(c["init"], c["p"], rec.seed).numpy())
    out: list[float] = []
    for e in rec.per_step:
        M = np.asarray(e.overlaps)
        if e.t > 0:
            out += [*(sign[:, None] * M).mean(0), *np.abs(M).mean(0), *e.singular_values, e.batch_loss]
        if e.test_error is not None:
            out += [e.test_error, e.train_error]
    return out


def sample(cfg: SimConfig, seed0: int) -> np.ndarray:
    plan = execution_plan(cfg)
    with torch_threads(1):
        return np.array([statistics(simulate(cfg, seed0 + s, plan=plan)) for s in range(SEEDS)])


@cache
def dense_sample(name: str) -> np.ndarray:
    return sample(CONFIGS[name].replace(engine="dense"), 0)


def min_pvalue(name: str) -> tuple[float, int]:
    a, b = dense_sample(name), sample(CONFIGS[name].replace(engine="reduced"), REDUCED_SEED0)
    return holm_min([stats.ks_2samp(a[:, j], b[:, j]).pvalue for j in range(a.shape[1])]), a.shape[1]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_conditioned_engine_has_the_dense_engine_law(name: str) -> None:
    assert engine_class(CONFIGS[name].replace(engine="reduced")) is ConditionedEngine
    t0 = time.perf_counter()
    p, m = min_pvalue(name)
    print(f"{name}: Holm-adjusted min KS p = {p:.3f} over {m} statistics ({time.perf_counter() - t0:.1f} s)")
    assert m >= 12
    assert p >= LEVEL, f"{name}: Holm-adjusted min p = {p:.2e} over {m} statistics"


@pytest.mark.slow
@pytest.mark.parametrize("perturb", ["chi-m", "no-L-part"])
def test_a_wrong_conditioner_fails_the_same_test(perturb: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ConditionedEngine, "perturb", perturb)
    p, m = min_pvalue("reuse")
    print(f"{perturb}: Holm-adjusted min KS p = {p:.2e} over {m} statistics")
    assert p < LEVEL, f"{perturb}: not rejected (Holm-adjusted min p = {p:.3f})"


PROBE_N, PROBE_M, PROBE_REPS = 6, 5, 1000


def probe_statistics(M: torch.Tensor | None, gen: torch.Generator, perturb: str = "") -> list[float]:
    """A left block, a right probe on its answer, a second left block on a known and a new vector — on an
    explicit Gaussian ``M`` (``M`` given) or through the ``Conditioner`` — and rotation-invariant statistics:
    the Gram matrix of the four left answers and the right answer's projections on the fixed ``n``-vectors."""
    n = PROBE_N
    U1 = torch.eye(n, 2, dtype=torch.float64) + 0.5
    u3 = torch.linspace(-1, 1, n, dtype=torch.float64)[:, None]
    if M is not None:
        a1 = M.T @ U1
        b1 = M @ a1[:, :1]
        a2 = M.T @ torch.cat([b1, u3], dim=1)
    else:
        npgen = np.random.default_rng(int(torch.randint(2**62, (1,), generator=gen)))
        cond = Conditioner.empty(n, PROBE_M, perturb=perturb)
        a1, cond = cond.left(U1, gen, npgen)
        b1, cond = cond.right(a1[:, :1], gen)
        a2, cond = cond.left(torch.cat([b1, u3], dim=1), gen, npgen)
        a1 = torch.cat([a1, a1.new_zeros(a2.shape[0] - a1.shape[0], 2)])
    A = torch.cat([a1, a2], dim=1)
    G = A.T @ A
    iu = torch.triu_indices(4, 4)
    return [*G[iu[0], iu[1]].tolist(), float(b1[:, 0] @ u3[:, 0]), float(b1[:, 0] @ U1[:, 1])]


@cache
def dense_probes() -> np.ndarray:
    gen = torch.Generator().manual_seed(5)
    return np.array([probe_statistics(torch.randn(PROBE_N, PROBE_M, generator=gen, dtype=torch.float64), gen)
                     for _ in range(PROBE_REPS)])


def probe_pvalue(perturb: str) -> float:
    gen = torch.Generator().manual_seed(6)
    b = np.array([probe_statistics(None, gen, perturb) for _ in range(PROBE_REPS)])
    a = dense_probes()
    return holm_min([stats.ks_2samp(a[:, j], b[:, j]).pvalue for j in range(a.shape[1])])


def test_conditioner_has_the_law_of_an_explicit_gaussian_block() -> None:
    p = probe_pvalue("")
    print(f"conditioner vs explicit M: Holm-adjusted min KS p = {p:.3f}")
    assert p >= LEVEL


@pytest.mark.parametrize("perturb", ["no-Rd-gaussians", "chi-m", "no-L-part"])
def test_a_wrong_conditioner_fails_the_explicit_block_test(perturb: str) -> None:
    p = probe_pvalue(perturb)
    print(f"{perturb} vs explicit M: Holm-adjusted min KS p = {p:.2e}")
    assert p < LEVEL


def test_conditioner_reproduces_a_dense_block_in_law() -> None:
    """Left then right probes on an explicit Gaussian ``M`` against the conditioner: ``‖Mᵀu‖²`` is χ²_m and
    ``uᵀ M v`` for ``v`` on the discovered axis is ``Mᵀu``'s own coordinate (a deterministic identity)."""
    n, m, reps = 12, 7, 2000
    gen, npgen = torch.Generator().manual_seed(0), np.random.default_rng(0)
    norms = []
    for _ in range(reps):
        cond = Conditioner.empty(n, m)
        u = torch.randn(n, 1, generator=gen, dtype=torch.float64)
        u /= u.norm()
        Mtu, cond = cond.left(u, gen, npgen)
        Mv, cond = cond.right(Mtu / Mtu.norm(), gen)
        assert torch.allclose(u.T @ Mv, Mtu.norm().reshape(1, 1), atol=1e-10)  # uᵀM(Mᵀu/‖Mᵀu‖) = ‖Mᵀu‖
        norms.append(float(Mtu.norm() ** 2))
    assert stats.kstest(norms, stats.chi2(m).cdf).pvalue > LEVEL


def test_rank_deficient_probes_add_no_axes() -> None:
    """``C_{i+p/2} = −C_i`` (the symmetric first step): the mirrored probes are known already."""
    gen, npgen = torch.Generator().manual_seed(1), np.random.default_rng(1)
    U = torch.randn(20, 2, generator=gen, dtype=torch.float64)
    out, cond = Conditioner.empty(20, 50).left(torch.cat([U, -U], dim=1), gen, npgen)
    assert cond.dr == 2 and torch.allclose(out[:, 2:], -out[:, :2])
    again, same = cond.left(U @ torch.tensor([[1.0], [2.0]], dtype=torch.float64), gen, npgen)
    assert same is cond and torch.allclose(again[:, 0], out[:, 0] + 2 * out[:, 1])


def test_a_wrong_perturbation_name_is_refused() -> None:
    with pytest.raises(ValueError, match="perturb must be one of"):
        Conditioner.empty(3, 3, perturb="chi")
