"""The giant-step protocol of THEORY.md §3 ([DKLPS] Algorithm), streamed in torch.

Modules, one concept each: ``config`` (``SimConfig``), ``plan`` (memory budget and chunking), ``init``
(symmetric initialisation), ``protocol`` (the network and its streamed giant step), ``readout`` (streamed
ridge, λ path, held-out tuning, test error), ``overlaps`` (``M = Ŵ W*ᵀ`` and subspace overlaps),
``engine`` (the interface a step engine implements), ``dense`` (the streamed dense engine), ``run``
(``simulate``: one run, end to end, and its record).
"""

from sim.giant_step.config import KIND, SimConfig, load_config
from sim.giant_step.overlaps import as_basis, overlaps_by_level, singular_values, subspace_overlap
from sim.giant_step.plan import Plan, make_plan
from sim.giant_step.run import simulate, strip_volatile

__all__ = ["KIND", "Plan", "as_basis", "SimConfig", "load_config", "make_plan", "overlaps_by_level", "simulate",
           "singular_values", "strip_volatile", "subspace_overlap"]
