"""The giant-step protocol of THEORY.md §3 ([DKLPS] Algorithm), streamed in torch, on two engines.

Modules, one concept each: ``config`` (``SimConfig``), ``protocols`` (the authors' published experiments
as named tables of fields, §3.2, and a config's deviations from §3), ``choice`` (which engine runs a
config), ``plan`` (memory budget, chunking, label-scale pre-flight), ``init`` (the symmetric, gaussian and
hypercube initialisations), ``protocol`` (the network and its streamed giant step), ``readout`` (streamed
ridge, λ path), ``evaluation`` (the readout of a run: which data and labels, held-out tuning, test error),
``overlaps`` (``M = Ŵ W*ᵀ``, subspace overlaps, step cosines), ``engine`` (the interface an engine
implements), ``common`` (the state value a step takes and returns, the construction all engines share),
``dense`` (samples in all ``d`` coordinates), ``bartlett`` (Bartlett factors of Gaussian matrices),
``reduced`` (the exact reduced coordinates of §3.3), ``conditioning`` (§3.4: what is known of a batch's
hidden coordinates, left and right probes), ``conditioned`` (the reduced engine for a batch used more than
once), ``options`` (the options as ``StrEnum`` s, block-size defaults), ``record`` (``RunRecord`` and
``StepRecord``: what a run returns and the store keeps), ``run`` (``simulate``: one run, end to end),
``tables`` (records as rows, a per-case summary over seeds, CSV).
"""

from sim.giant_step.config import KIND, SimConfig, load_config
from sim.giant_step.overlaps import as_basis, overlaps_by_level, singular_values, subspace_overlap
from sim.giant_step.plan import ExecutionPlan, execution_plan
from sim.giant_step.protocols import PROTOCOLS, deviations, expand
from sim.giant_step.record import RunRecord, StepRecord, strip_volatile
from sim.giant_step.run import simulate

__all__ = ["KIND", "PROTOCOLS", "ExecutionPlan", "SimConfig", "as_basis", "deviations", "execution_plan", "expand",
           "load_config", "overlaps_by_level", "RunRecord", "simulate", "singular_values", "StepRecord", "strip_volatile",
           "subspace_overlap"]
