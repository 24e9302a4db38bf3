"""[ZG] simulator (THEORY.md §4): the torch population loss against theory's numpy closed form and autograd,
the empirical loss against autograd and the population, stage 1 against ``sim.giant_step.protocol`` on samples, the
measurements on hand-made states, a small end-to-end run, config validation, store and CLI."""

from __future__ import annotations

import math

import json

import numpy as np
import pytest
import torch

from sim import run_many, run_or_load
from sim.store import Store
from sim.zhou_ge import (
    EmpiricalLoss,
    PopulationLoss,
    Snapshot,
    ZGConfig,
    ZGRecord,
    fixed_feature_baseline,
    kernel,
    make_teacher,
    mass_summary,
    neuron_outputs,
    rebalance,
    run_zhou_ge,
    snapshot,
    stage1,
)
from sim.cli import main
from theory.arccos import StudentTeacher

F64 = torch.float64


def _state(seed: int, m: int, d: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(m, generator=g, dtype=F64) * 0.5, torch.randn(m, d, generator=g, dtype=F64) * 0.6


@pytest.mark.parametrize("activation", ["relu", "relu[2:]"])
def test_population_loss_matches_theory_and_autograd(activation: str) -> None:
    cfg = ZGConfig(d=6, m=8, m_star=3, activation=activation, teacher_directions="random")
    t = make_teacher(cfg, 0)
    a, W = _state(1, 8, 6)
    loss, ga, gW = PopulationLoss(t, 8)(a, W)
    ref = StudentTeacher(t.a_star.numpy(), t.W_star.numpy(), cfg.min_order)
    ga_ref, gW_ref = ref.gradient(a.numpy(), W.numpy())
    assert loss == pytest.approx(ref.loss(a.numpy(), W.numpy()), abs=1e-13)
    assert np.allclose(ga.numpy(), ga_ref, atol=1e-13) and np.allclose(gW.numpy(), gW_ref, atol=1e-13)

    # autograd of the loss written directly as ½(aᵀHa − 2aᵀH*a* + a*ᵀH**a*) with H from the kernel
    a_, W_ = a.clone().requires_grad_(), W.clone().requires_grad_()

    def H(X: torch.Tensor, Y: torch.Tensor, same: bool = False) -> torch.Tensor:
        nx, ny = X.norm(dim=1), Y.norm(dim=1)
        P = (X / nx[:, None]) @ (Y / ny[:, None]).T
        if same:  # ρ = 1 on the diagonal, where arccos has no derivative: E[σ(⟨w,x⟩)²] = ‖w‖² k(1)
            eye = torch.eye(P.shape[0], dtype=P.dtype)
            K = kernel(P * (1 - eye), cfg.min_order) * (1 - eye) + kernel(torch.ones((), dtype=F64), cfg.min_order) * eye
        else:
            K = kernel(P, cfg.min_order)
        return nx[:, None] * ny[None, :] * K

    L = 0.5 * (a_ @ H(W_, W_, True) @ a_ - 2 * a_ @ H(W_, t.W_star) @ t.a_star + t.a_star @ H(t.W_star, t.W_star) @ t.a_star)
    L.backward()
    assert float(L.detach()) == pytest.approx(loss, abs=1e-13)
    assert torch.allclose(a_.grad, ga, atol=1e-10) and torch.allclose(W_.grad, gW, atol=1e-10)


@pytest.mark.parametrize("activation", ["relu", "relu[2:]"])
def test_empirical_loss_matches_autograd_and_population(activation: str) -> None:
    cfg = ZGConfig(d=5, m=6, m_star=2, activation=activation)
    t = make_teacher(cfg, 3)
    a, W = _state(4, 6, 5)
    emp = EmpiricalLoss(t, 100_000, seed=0, fresh=False, block_size=4096)
    loss, ga, gW = emp(a, W)
    x, y = emp._fixed
    a_, W_ = a.clone().requires_grad_(), W.clone().requires_grad_()
    L = 0.5 * ((neuron_outputs(W_, x, cfg.min_order) @ a_ - y) ** 2).mean()
    L.backward()
    assert float(L.detach()) == pytest.approx(loss, rel=1e-10)
    assert torch.allclose(a_.grad, ga, atol=1e-10) and torch.allclose(W_.grad, gW, atol=1e-10)
    # the batch average estimates the population values (n = 1e5: a few standard errors of ~1e-2)
    pl, pga, pgW = PopulationLoss(t, 6)(a, W)
    assert abs(loss - pl) < 0.05 * max(pl, 1.0)
    assert float((ga - pga).abs().max()) < 0.05 and float((gW - pgW).abs().max()) < 0.05


def test_population_stage1_matches_sampled_giant_step() -> None:
    """The exact-population stage-1 step and ``sim.giant_step.protocol``'s streamed step on many samples agree."""
    base = dict(d=8, m=8, m_star=2, activation="relu", stage1_lr0=2.0)
    pop_cfg = ZGConfig(**base)
    smp_cfg = ZGConfig(**base, stage1_gradient="samples", stage1_n_scale=20000.0)  # n = 160 000
    t = make_teacher(pop_cfg, 0)
    W_pop, W_smp = stage1(pop_cfg, 0, t, F64), stage1(smp_cfg, 0, t, F64)
    assert torch.allclose(W_pop.norm(dim=1), torch.ones(8, dtype=F64))
    cos = (W_pop * W_smp).sum(dim=1)
    assert float(cos.min()) > 0.99
    # and the step moved the neurons: overlap with the teacher span grew
    from sim.giant_step.init import init_weights

    W0 = init_weights(8, 8, 0, "cpu")
    span = t.W_star.T  # orthonormal columns
    assert float((W_pop @ span).norm(dim=1).mean()) > float((W0 @ span).norm(dim=1).mean()) + 0.1


def test_rebalance_and_baseline() -> None:
    cfg = ZGConfig(d=6, m=10, m_star=2)
    t = make_teacher(cfg, 0)
    a, W = _state(2, 10, 6)
    pop = PopulationLoss(t, 10)
    a2, W2 = rebalance(a, W)
    assert torch.allclose(a2.abs(), W2.norm(dim=1)) and torch.allclose(a2 * W2.norm(dim=1), a * W.norm(dim=1))
    assert pop(a2, W2)[0] == pytest.approx(pop(a, W)[0], abs=1e-13)
    base = fixed_feature_baseline(pop, W, [1e-2, 1e-3])
    # plateau = min_a L(a, W): compare with numpy least squares on the theory Gram matrices
    ref = StudentTeacher(t.a_star.numpy(), t.W_star.numpy(), cfg.min_order)
    from theory.arccos import pair_expectation

    Hn = pair_expectation(W.numpy(), W.numpy(), cfg.min_order)
    bn = pair_expectation(W.numpy(), t.W_star.numpy(), cfg.min_order) @ t.a_star.numpy()
    a_ls = np.linalg.lstsq(Hn, bn, rcond=None)[0]
    assert base.plateau == pytest.approx(ref.loss(a_ls, W.numpy()), abs=1e-9)
    assert base.plateau <= base.loss_by_phase[1] <= base.loss_by_phase[0]


def test_measurements_on_a_hand_made_state() -> None:
    cfg = ZGConfig(d=3, m=4, m_star=2, activation="relu")
    t = make_teacher(cfg, 0)
    w1, w2 = t.W_star[0], t.W_star[1]
    other = torch.linalg.cross(w1, w2)
    tilt = math.cos(0.1) * w1 + math.sin(0.1) * other  # 0.1 rad from teacher 1
    W = torch.stack([2 * w1, tilt, -w2, other])
    a = torch.tensor([0.5, 1.0, 3.0, 0.25], dtype=F64)
    snap = snapshot(a, W, t, even=False)
    assert snap.angle[0] == pytest.approx(0.0, abs=1e-7) and snap.angle[1] == pytest.approx(0.1, abs=1e-12)
    assert snap.angle[2] == pytest.approx(math.pi / 2, abs=1e-12)  # −w2 is at π from w2, π/2 from w1 (plain relu)
    s = mass_summary(snap, 2, near_angle=0.2)
    assert s["near_mass"] == pytest.approx([0.5 * 2 + 1.0, 0.0])
    assert s["far_mass"] == pytest.approx(3.0 + 0.25)
    # even activation: −w2 is teacher 2 itself
    s_even = mass_summary(snapshot(a, W, t, even=True), 2, near_angle=0.2)
    assert s_even["near_mass"] == pytest.approx([2.0, 3.0]) and s_even["far_mass"] == pytest.approx(0.25)
    assert s_even["mean_angle"] == pytest.approx((1.0 * 0.1 + 0.25 * math.pi / 2) / 5.25)
    hand = Snapshot(np.array([0.05, 1.0]), np.array([1, 0]), np.array([1.0, 2.0]), np.array([-2.0, 1.0]))
    s = mass_summary(hand, 2, 0.1)
    assert s["signed_near_mass"] == pytest.approx([0.0, -2.0]) and s["near_mean_angle"] == pytest.approx(0.05)


def test_small_run_recovers_the_teacher() -> None:
    """d=12, m=32, m*=2: stage 3 lowers loss and far mass phase by phase, mass near teachers → a*, beats baseline."""
    cfg = ZGConfig(d=12, m=32, m_star=2, teacher_a=(1.0, -1.0), lam0=1e-2, phases=4, max_steps_per_phase=1000,
                   record_every=50, device="cpu")
    rec = run_zhou_ge(cfg, seed=0)
    ph = rec.phases
    losses = [p.loss for p in ph]
    far = [p.far_mass for p in ph]
    assert all(b < a for a, b in zip(losses, losses[1:])) and losses[-1] < 0.1 * rec.stage2.loss
    assert far[-1] < far[0]
    assert np.allclose(ph[-1].signed_near_mass, [1.0, -1.0], atol=0.15)
    assert rec.baseline.plateau > 10 * losses[-1]
    assert [p.baseline_loss for p in ph] == rec.baseline.loss_by_phase
    assert ph[-1].mean_angle < ph[0].mean_angle
    traj = rec.trajectory
    assert len(traj.step) == len(traj.loss) == len(traj.lam) and traj.step == sorted(traj.step)
    assert len(rec.snapshots.end.angle) == 32
    assert "relu[2:]" in rec.variant and "population" in rec.variant
    assert ZGRecord.from_json(json.loads(json.dumps(rec.to_json()))) == rec  # the JSON object holds the record


@pytest.mark.parametrize("bad, message", [
    ({"m": 7}, "m must be even"),
    ({"m": 2, "m_star": 4}, "at least the teacher width"),
    ({"activation": "tanh"}, "activation must be one of"),
    ({"lam_factor": 1.5}, "lam_factor must be in"),
    ({"teacher_a": (1.0,)}, "teacher_a must be a list of m_star=4"),
    ({"near_angle": 3.0}, "near_angle must be in"),
    ({"loss": "sampled"}, "loss must be one of"),
    ({"lr": 0}, "lr must be"),
])
def test_bad_config_is_refused_with_one_line(bad: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ZGConfig(**bad)


def test_store_roundtrip_and_cli(tmp_path, capsys) -> None:  # noqa: ANN001 - pytest fixtures
    cfg = ZGConfig(d=8, m=8, m_star=2, phases=2, max_steps_per_phase=20, record_every=10, device="cpu")
    store = Store(str(tmp_path / "r.sqlite"))
    flags: list[bool] = []  # run_many says for each job whether it came from the store
    rec = run_many([(cfg, 1)], store, progress=False, on_record=lambda r, c: flags.append(c))[0]
    again = run_many([(cfg, 1)], store, progress=False, on_record=lambda r, c: flags.append(c))[0]
    cached, cached2 = flags
    assert not cached and cached2 and again.phases == rec.phases and len(store) == 1
    assert isinstance(again, ZGRecord) and again.to_json() == rec.to_json()
    code = main(["zg", "--d", "8", "--m", "8", "--m-star", "2", "--phases", "2", "--max-steps-per-phase", "20",
                 "--record-every", "10", "--store", str(tmp_path / "r.sqlite"), "--no-progress", "--device", "cpu",
                 "--seed0", "1"])
    out = capsys.readouterr().out
    assert code == 0 and "from store" in out and "λ" in out
    assert main(["zg", "--m", "7", "--store", str(tmp_path / "r.sqlite")]) == 2
    assert "m must be even" in capsys.readouterr().err


def test_one_store_holds_both_kinds(tmp_path) -> None:  # noqa: ANN001 - pytest fixture
    from sim import SimConfig

    store = Store(tmp_path / "both.sqlite")
    zg = run_or_load(ZGConfig(d=8, m=8, m_star=2, phases=2, max_steps_per_phase=20, record_every=10,
                              device="cpu"), 3, store)
    gs = run_or_load(SimConfig(target="x1", d=8, p=8, n_exp=1.0, steps=1, n_ridge=64, n_test=64,
                               readout="final", device="cpu"), 3, store)
    assert set(store.keys()) == {zg.key, gs.key}
    assert [r["key"] for r in store.records("zhou_ge", m=8)] == [zg.key]
    assert store.records("giant_step", p=8) == [gs.to_json()]
    assert json.dumps(store.get_key(zg.key)["phases"]) == json.dumps(zg.to_json()["phases"])  # NaN-safe comparison
    with pytest.raises(ValueError, match="unknown config field 'p'"):
        store.records("zhou_ge", p=8)
