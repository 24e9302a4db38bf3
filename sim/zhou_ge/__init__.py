"""[ZG] local convergence: gradient descent with decreasing weight decay (THEORY.md §4), in torch.

Teacher ``f*(x) = Σ_j a*_j σ(⟨w*_j, x⟩)`` (unit ``w*_j``, random or orthonormal), student
``f(x) = Σ_i a_i σ(⟨w_i, x⟩)`` of width ``m``, ``x ~ N(0, I_d)``, ``σ`` = relu or ``relu[2:]``;
``L = ½E[(f − f*)²]``, ``L_λ = L + (λ/2)Σ_i(a_i² + ‖w_i‖²)``. Modules, one concept each: ``config``
(``ZGConfig``), ``teacher``, ``loss`` (exact population loss and gradient, empirical loss), ``measure``
(snapshots, masses, angles), ``stages`` (stages 1–3 and the fixed-feature baseline), ``run``
(``run_zhou_ge``), ``record`` (``ZGRecord``, the run's record, and its parts), ``cli`` (``python -m sim zg``).
"""

from sim.zhou_ge.config import KIND, ZGConfig
from sim.zhou_ge.loss import EmpiricalLoss, PopulationLoss, kernel, neuron_outputs
from sim.zhou_ge.measure import Snapshot, mass_summary, snapshot
from sim.zhou_ge.record import (
    BaselineRecord,
    PhaseRecord,
    SnapshotRecord,
    Snapshots,
    Stage1Summary,
    Stage2Summary,
    TeacherSummary,
    Trajectory,
    ZGRecord,
)
from sim.zhou_ge.run import run_zhou_ge
from sim.zhou_ge.stages import fixed_feature_baseline, rebalance, stage1, stage2, stage3
from sim.zhou_ge.teacher import Teacher, make_teacher

__all__ = ["KIND", "BaselineRecord", "EmpiricalLoss", "PhaseRecord", "PopulationLoss", "Snapshot", "SnapshotRecord",
           "Snapshots", "Stage1Summary", "Stage2Summary", "Teacher", "TeacherSummary", "Trajectory", "ZGConfig",
           "ZGRecord", "fixed_feature_baseline", "kernel", "make_teacher", "mass_summary", "neuron_outputs",
           "rebalance", "run_zhou_ge", "snapshot", "stage1", "stage2", "stage3"]
