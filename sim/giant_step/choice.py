"""Which engine runs a giant-step config: the dense one or the exact reduced coordinates (THEORY.md §3.3, §3.4).

Pure functions of the config's fields (no torch), so the choice is part of the store key and the record.

* ``reduced_unsupported(cfg)``: the one-line reason the reduced engine cannot run ``cfg`` exactly, or
  ``None``. Every batch use of §3 is exact in reduced coordinates — fresh batches by §3.3, a batch used
  again by the sequential Gaussian conditioning of §3.4 — except
  - ``preprocess="estimate"``: the least-squares estimate ``b = (ZᵀZ)⁻¹Zᵀy`` needs the inverse Gram
    matrix of the batch in all ``d`` coordinates, which no finite set of probes gives (the first-Hermite
    estimate ``B = Zᵀy/n`` of ``preprocess="hermite"`` is one left probe and is exact);
  - ``bf16``: an option of the dense engine's two matrix products only.
* ``conditioning(cfg)``: why a run needs §3.4's conditioning (one line), or ``None`` when §3.3 suffices:
  ``batch="reuse"`` (one batch for every step), ``readout_data="train_batch"`` (the readout fitted on a
  batch a step used) or ``preprocess="hermite"`` (every residual depends on ``B = Zᵀy/n``).
* ``max_coordinates(cfg)``: the largest number ``k_T`` of reduced coordinates a run can reach:
  ``k_0 = r + min(p/2, d − r)`` (symmetric: the two halves share rows) or ``r + min(p, d − r)``
  (gaussian, hypercube); each step adds at most the rank of ``C Cᵀ`` — ``p/2`` at the first step from
  the symmetric initialisation (``C_{i+p/2} = −C_i``), ``p`` otherwise — plus one axis per batch for the
  estimate ``B`` (``hermite``), and never more than ``d``.
* ``resolve_engine(cfg)``: ``(engine, reason)``. ``engine="auto"`` picks ``"reduced"`` when it is
  supported and ``k_T + p ≤ d/2`` (``AUTO_FRACTION``): then a reduced step — ``O(n·p·(k + p) + p³)`` on a
  fresh batch, ``O(n·p·(k + pT))`` with conditioning (§3.4: ``O(n·(pT)²)`` for ``T`` steps) — costs at most
  about half a dense one, ``O(n·d·p)``, and draws ``k`` instead of ``d`` Gaussians per sample; otherwise
  ``"dense"`` (e.g. the published ``d = 512``, ``p = 1024``, where ``2pT ≳ d``). The reason says why, in
  one line, and names the conditioning when it is used.
"""

from __future__ import annotations

from typing import Any

from sim.data import Preprocess
from sim.giant_step.options import EngineName, ReadoutData

ENGINES = tuple(EngineName)
AUTO_FRACTION = 0.5  # auto picks the reduced engine when k_T + p ≤ AUTO_FRACTION · d


def reduced_unsupported(cfg: Any) -> str | None:
    """Why the reduced engine cannot represent ``cfg`` exactly (one line), or ``None`` when it can."""
    if cfg.preprocess == Preprocess.ESTIMATE:
        return ("preprocess='estimate' is a least-squares fit, whose inverse Gram matrix couples every residual "
                "to all d coordinates (preprocess='hermite' runs reduced)")
    if cfg.bf16:
        return "bf16 is an option of the dense engine's matrix products"
    return None


def conditioning(cfg: Any) -> str | None:
    """Why ``cfg`` uses a batch more than once (§3.4's conditioning, one line), or ``None``."""
    uses = []
    if cfg.reuse_batch:
        uses.append("batch='reuse' (one batch for every step)")
    if cfg.has_readout and cfg.readout_data == ReadoutData.TRAIN_BATCH:
        uses.append("readout_data='train_batch' (the readout fitted on a step's batch)")
    if cfg.preprocess == Preprocess.HERMITE:
        uses.append("preprocess='hermite' (every residual depends on B = Zᵀy/n)")
    return ", ".join(uses) if uses else None


def max_coordinates(cfg: Any) -> int:
    """The largest number of reduced coordinates ``k_T`` the run can reach (module docstring)."""
    d, p, r = cfg.d, cfg.p, cfg.r
    first = p // 2 if cfg.is_symmetric else p
    estimate = int(cfg.preprocess == Preprocess.HERMITE)
    k = r + min(first, d - r)
    if cfg.steps == 0:
        return min(d, k + estimate)
    # step 1 adds first + estimate, each later step p (+ estimate with fresh batches), capped at d: in closed
    # form, so that a huge --steps costs nothing here (the time estimate refuses it, sim.giant_step.plan)
    later = p + (0 if cfg.reuse_batch else estimate)
    return min(d, k + first + estimate + (cfg.steps - 1) * later)


def resolve_engine(cfg: Any) -> tuple[EngineName, str]:
    """``(engine that runs cfg, one-line reason)``; ``cfg.engine`` is ``auto``, ``dense`` or ``reduced``."""
    why_not = reduced_unsupported(cfg)
    if cfg.engine == EngineName.DENSE:
        return EngineName.DENSE, "asked for (engine='dense')"
    if cfg.engine == EngineName.REDUCED:
        if why_not is not None:
            raise ValueError(f"engine='reduced' cannot run this config exactly: {why_not}; use engine='dense' or 'auto'")
        uses = conditioning(cfg)
        return EngineName.REDUCED, "asked for (engine='reduced')" + (f" with §3.4 conditioning for {uses}" if uses else "")
    if why_not is not None:
        return EngineName.DENSE, f"auto: dense because {why_not}"
    k = max_coordinates(cfg)
    uses = conditioning(cfg)
    how = f" with §3.4 conditioning for {uses}" if uses else ""
    if k + cfg.p <= AUTO_FRACTION * cfg.d:
        return EngineName.REDUCED, (f"auto: reduced{how} because k_T + p = {k} + {cfg.p} ≤ {AUTO_FRACTION:g}·d = "
                           f"{AUTO_FRACTION * cfg.d:g}")
    return EngineName.DENSE, (f"auto: dense because k_T + p = {k} + {cfg.p} > {AUTO_FRACTION:g}·d = {AUTO_FRACTION * cfg.d:g}"
                     + (f" (the reduced engine would need §3.4 conditioning for {uses})" if uses else ""))


__all__ = ["AUTO_FRACTION", "ENGINES", "conditioning", "max_coordinates", "reduced_unsupported", "resolve_engine"]
