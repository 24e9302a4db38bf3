"""Which engine runs a giant-step config: the dense one or the exact reduced coordinates (THEORY.md §3.3).

Pure functions of the config's fields (no torch), so the choice is part of the store key and the record.

* ``reduced_unsupported(cfg)``: the one-line reason the reduced engine cannot run ``cfg`` exactly, or
  ``None``. §3.3 represents a batch by its projection on ``S_{t−1}`` and the rest of the step by a
  Bartlett factor; that is exact when every sample is used once and each sample's label and residual
  depend on its own projection only. It is not exact (and the dense engine runs) when
  - ``preprocess`` is ``"estimate"`` or ``"hermite"``: the batch estimate ``b`` (least squares) or
    ``B = mean(y z)`` has a component in all ``d − k`` remaining coordinates, and every residual
    ``y_ν − z_ν·b`` depends on it, which couples all samples through all coordinates;
  - ``reuse_batch``: from step 2 on, the batch's projection on the axes the previous step added is
    ``U R + (I − UUᵀ) G`` (conditioned on that step, ``U`` the left singular vectors of ``C``) and its
    remaining components are no longer independent of the past;
  - ``readout_data="train_batch"``: the same conditioning for the readout's batch;
  - ``bf16``: an option of the dense engine's two matrix products only.
* ``max_coordinates(cfg)``: the largest number ``k_T`` of reduced coordinates a run can reach:
  ``k_0 = r + min(p/2, d − r)`` (symmetric: the two halves share rows) or ``r + min(p, d − r)``
  (gaussian, hypercube); each step adds at most the rank of ``C Cᵀ`` — ``p/2`` at the first step from
  the symmetric initialisation (``C_{i+p/2} = −C_i``), ``p`` otherwise — and never more than ``d``.
* ``resolve_engine(cfg)``: ``(engine, reason)``. ``engine="auto"`` picks ``"reduced"`` when it is
  supported and ``k_T + p ≤ d/2`` (``AUTO_FRACTION``): then a reduced step, ``O(n·p·(k + p) + p³)``,
  costs at most about half a dense one, ``O(n·d·p)``, and draws ``k`` instead of ``d`` Gaussians per
  sample; otherwise ``"dense"``. The reason says why, in one line.
"""

from __future__ import annotations

from typing import Any

ENGINES = ("auto", "dense", "reduced")
AUTO_FRACTION = 0.5  # auto picks the reduced engine when k_T + p ≤ AUTO_FRACTION · d


def reduced_unsupported(cfg: Any) -> str | None:
    """Why the reduced engine cannot represent ``cfg`` exactly (one line), or ``None`` when it can."""
    if cfg.preprocess in ("estimate", "hermite"):
        return (f"preprocess={cfg.preprocess!r} estimates the low orders from the whole batch, which couples "
                "every residual to all d coordinates")
    if cfg.reuse_batch:
        return "reuse_batch: a reused batch is conditioned on the previous step's directions"
    if cfg.readout_data == "train_batch":
        return "readout_data='train_batch': the readout's batch is conditioned on the step it made"
    if cfg.bf16:
        return "bf16 is an option of the dense engine's matrix products"
    return None


def max_coordinates(cfg: Any) -> int:
    """The largest number of reduced coordinates ``k_T`` the run can reach (module docstring)."""
    d, p, r = cfg.d, cfg.p, cfg.r
    first = p // 2 if cfg.init == "symmetric" else p
    k = r + min(first, d - r)
    for t in range(1, cfg.steps + 1):
        k = min(d, k + (first if t == 1 else p))
    return k


def resolve_engine(cfg: Any) -> tuple[str, str]:
    """``(engine that runs cfg, one-line reason)``; ``cfg.engine`` is ``auto``, ``dense`` or ``reduced``."""
    why_not = reduced_unsupported(cfg)
    if cfg.engine == "dense":
        return "dense", "asked for (engine='dense')"
    if cfg.engine == "reduced":
        if why_not is not None:
            raise ValueError(f"engine='reduced' cannot run this config exactly: {why_not}; use engine='dense' or 'auto'")
        return "reduced", "asked for (engine='reduced')"
    if why_not is not None:
        return "dense", f"auto: dense because {why_not}"
    k = max_coordinates(cfg)
    if k + cfg.p <= AUTO_FRACTION * cfg.d:
        return "reduced", f"auto: reduced because k_T + p = {k} + {cfg.p} ≤ {AUTO_FRACTION:g}·d = {AUTO_FRACTION * cfg.d:g}"
    return "dense", f"auto: dense because k_T + p = {k} + {cfg.p} > {AUTO_FRACTION:g}·d = {AUTO_FRACTION * cfg.d:g}"


__all__ = ["AUTO_FRACTION", "ENGINES", "max_coordinates", "reduced_unsupported", "resolve_engine"]
