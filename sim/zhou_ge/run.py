"""One [ZG] run, end to end: teacher, stages 1–3, baseline, record (THEORY.md §4; stages in ``sim.zhou_ge.stages``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import torch

from sim.divergence import guarded
from sim.keys import check_seed, run_key
from sim.version import code_version
from sim.zhou_ge.config import KIND, Stage3Loss, ZGConfig
from sim.zhou_ge.loss import EmpiricalLoss, PopulationLoss, unit_rows
from sim.zhou_ge.measure import snapshot, trajectory
from sim.zhou_ge.plan import ResourcePlan, resource_plan
from sim.zhou_ge.record import PhaseRecord, Snapshots, Stage1Summary, Stage2Summary, TeacherSummary, ZGRecord
from sim.zhou_ge.stages import Student, fixed_feature_baseline, stage1, stage2, stage3
from sim.zhou_ge.teacher import Teacher, make_teacher


def run_zhou_ge(cfg: ZGConfig, seed: int = 0, progress: bool = False,
                on_phase: Callable[[PhaseRecord], None] | None = None,
                plan: ResourcePlan | None = None) -> ZGRecord:
    """Stages 1–3 and the fixed-feature baseline for ``(cfg, seed)`` (THEORY.md §4).

    Parameters
    ----------
    cfg : ZGConfig
        The experiment: teacher (``m_star`` directions in ``R^d``), student width ``m``, the options of
        each stage (``cfg.variant()`` says which reading of §4 they make).
    seed : int
        Seed of the teacher, stage 1's initialisation and batches, and stage 3's samples.
    progress : bool
        A progress bar (stage-3 steps) on stderr.
    on_phase : callable, optional
        Called with each phase's ``PhaseRecord`` as soon as its phase ends (without ``baseline_loss``).
    plan : ResourcePlan, optional
        Where to run, with its memory checked (``sim.zhou_ge.plan.resource_plan(cfg)`` when ``None``).

    Returns
    -------
    ZGRecord
        The run's record (``sim.zhou_ge.record`` says what each field is); ``to_json()`` is what the store
        keeps.

    Raises
    ------
    sim.divergence.Diverged
        When a stage's weights, Gram matrix, loss or gradient stops being finite (named, with the step and
        what to change); decompositions of such inputs never surface as ``torch.linalg`` tracebacks.
    """
    seed = check_seed(seed)
    where = plan or resource_plan(cfg)
    bar = _bar(progress, cfg, seed)
    try:
        with torch.no_grad():
            return _run(cfg, seed, where, bar.update if bar is not None else _no_tick, on_phase)
    finally:
        if bar is not None:
            bar.close()


def _run(cfg: ZGConfig, seed: int, where: ResourcePlan, tick: Callable[[int], None],
         on_phase: Callable[[PhaseRecord], None] | None) -> ZGRecord:
    """The stages of ``run_zhou_ge`` on ``where.device`` (``tick(1)`` after each stage-3 step), and the record."""
    dtype = getattr(torch, cfg.dtype)
    t0 = time.perf_counter()
    teacher = make_teacher(cfg, seed, where.device, dtype)
    pop = PopulationLoss(teacher, cfg.m)
    W1 = stage1(cfg, seed, teacher, dtype)
    with guarded("teacher directions (QR)", 0, "check teacher_directions"):
        basis = torch.linalg.qr(unit_rows(teacher.W_star)[1].T)[0]
    stage1_overlap = float((W1 @ basis).norm(dim=1).mean())
    a, W = stage2(pop, W1, cfg.lam0, cfg.balance)
    t1 = time.perf_counter()
    stage2_loss = pop(a, W)[0]
    gradient = EmpiricalLoss(teacher, cfg.n_samples, seed, cfg.loss is Stage3Loss.FRESH, cfg.block_size) \
        if cfg.empirical_loss else pop
    start = snapshot(a, W, teacher, cfg.even)
    end, rows, phases = stage3(cfg, pop, gradient, Student(a, W), teacher, tick, on_phase)
    last = snapshot(end.a, end.W, teacher, cfg.even)
    t2 = time.perf_counter()
    baseline = fixed_feature_baseline(pop, W1, cfg.lambdas) if cfg.baseline else None
    if baseline is not None:
        phases = [replace(ph, baseline_loss=bl) for ph, bl in zip(phases, baseline.loss_by_phase)]
    t3 = time.perf_counter()
    return ZGRecord(
        kind=KIND, key=run_key(cfg, seed, where.device_type), config=cfg.to_dict(), seed=seed,
        code_version=code_version(), device=where.device, device_type=where.device_type,
        device_name=where.device_name, variant=cfg.variant(), teacher=_teacher_summary(teacher),
        stage1=Stage1Summary(cfg.stage1_lr, cfg.stage1_ell_resolved, str(cfg.stage1_gradient), stage1_overlap),
        stage2=Stage2Summary(stage2_loss, cfg.lam0), trajectory=trajectory(rows), phases=tuple(phases),
        snapshots=Snapshots(start.to_record(), last.to_record()), baseline=baseline, steps=end.step,
        timings={"stages12": t1 - t0, "stage3": t2 - t1, "baseline": t3 - t2, "total": t3 - t0},
        created=time.time(),
    )


def _teacher_summary(teacher: Teacher) -> TeacherSummary:
    """``a_star`` and the cosines between the teacher directions, as plain lists."""
    _, Us = unit_rows(teacher.W_star)
    return TeacherSummary(teacher.a_star.double().cpu().tolist(), (Us @ Us.T).double().cpu().tolist())


def _no_tick(k: int) -> None:
    """No progress bar."""


def _bar(progress: bool, cfg: ZGConfig, seed: int):  # noqa: ANN202 - tqdm or None
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=cfg.phases * cfg.max_steps_per_phase, unit="step", delay=2.0, leave=False,
                dynamic_ncols=True, desc=f"[ZG] d={cfg.d} m={cfg.m} m*={cfg.m_star} seed={seed}")


__all__ = ["run_zhou_ge"]
