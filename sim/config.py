"""The configs of every kind, one import away: ``SimConfig`` and ``load_config`` (THEORY.md §3, defined in
``sim.giant_step.config``) and ``ZGConfig`` (§4, ``sim.zhou_ge.config``). Kept for imports written
before the kinds became packages; new code imports from ``sim``."""

from sim.giant_step.config import SimConfig, load_config
from sim.zhou_ge.config import ZGConfig

__all__ = ["SimConfig", "ZGConfig", "load_config"]
