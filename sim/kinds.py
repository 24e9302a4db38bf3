"""The registry of simulation kinds: kind name → config class, run function, resource check (one place).

A kind is one experiment of THEORY.md: ``"giant_step"`` (§3, ``sim.giant_step``) and ``"zhou_ge"`` (§4,
``sim.zhou_ge``). Everything that serves every kind — the drivers (``sim.drivers``), the store, the command
line, ``verify``'s runner — looks a kind up here instead of testing names. A config object knows its kind
(``cfg.kind``), so a job is just ``(config, seed)``. Each kind's run function has the signature
``run(cfg, seed, progress=False, plan=None)`` (plus ``dist=`` for kinds that run data-parallel) and
returns the run's record (``AnyRecord``: a giant-step ``sim.giant_step.record.RunRecord`` or a [ZG]
``sim.zhou_ge.record.ZGRecord``), whose JSON object (``sim.store.to_json``, what the store keeps) has ``kind``,
``key``, ``config``, ``seed``, ``code_version``, ``device_type`` and ``timings``; ``from_json`` turns such an
object back into its kind's record. ``make_plan(cfg)`` checks, before any compute, that the
config can run here (device, memory against its budget) and returns what ``run`` takes as ``plan`` (it has
``device``, ``device_type`` and ``budget``); ``Kind.plan`` adds the one check every kind shares: the budget
is memory the machine has (``sim.device.check_budget``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sim.device import check_budget
from sim.fields import field_names
from sim.giant_step.config import SimConfig
from sim.giant_step.plan import execution_plan as giant_step_plan
from sim.giant_step.record import RunRecord
from sim.giant_step.run import simulate
from sim.zhou_ge.config import ZGConfig
from sim.zhou_ge.plan import resource_plan as zhou_ge_plan
from sim.zhou_ge.record import ZGRecord
from sim.zhou_ge.run import run_zhou_ge

AnyRecord = RunRecord | ZGRecord  # a run's record: a giant-step RunRecord or a [ZG] ZGRecord


@dataclass(frozen=True)
class Kind:
    """One simulation kind.

    ``name``: its name (``config.kind``); ``config``: its frozen config class (``from_dict``, ``to_dict``,
    ``key_dict``); ``run``: ``run(cfg, seed, progress=False, plan=None, [dist=None]) -> record``;
    ``make_plan``: ``cfg -> plan`` (raises ``ValueError`` when it cannot run here); ``from_json``: the
    record from its JSON object (``sim.store.to_json`` is the inverse); ``data_parallel``: whether ``run`` takes
    ``dist`` (one run over several processes, ``sim.distributed``).
    """

    name: str
    config: type
    run: Callable[..., AnyRecord]
    make_plan: Callable[[Any], Any]
    from_json: Callable[[dict[str, Any]], AnyRecord]
    data_parallel: bool = False

    @property
    def fields(self) -> tuple[str, ...]:
        """The config's field names, in declaration order."""
        return field_names(self.config)

    def plan(self, cfg: Any) -> Any:
        """``make_plan(cfg)``, its memory budget checked against the machine; ``ValueError`` in one line,
        before any compute, when the config cannot run here."""
        plan = self.make_plan(cfg)
        check_budget(plan.budget, plan.device)
        return plan


KINDS: Mapping[str, Kind] = {k.name: k for k in (
    Kind(SimConfig.kind, SimConfig, simulate, giant_step_plan, RunRecord.from_json, data_parallel=True),
    Kind(ZGConfig.kind, ZGConfig, run_zhou_ge, zhou_ge_plan, ZGRecord.from_json),
)}
DEFAULT = SimConfig.kind


def kind(name: str) -> Kind:
    """The kind called ``name``; ``ValueError`` in one line naming the kinds otherwise."""
    if name not in KINDS:
        raise ValueError(f"unknown simulation kind {name!r}; use one of {', '.join(KINDS)}")
    return KINDS[name]


def kind_of(cfg: object) -> Kind:
    """The kind of a config object (``SimConfig``, ``ZGConfig``)."""
    for k in KINDS.values():
        if type(cfg) is k.config:
            return k
    names = ", ".join(k.config.__name__ for k in KINDS.values())
    raise ValueError(f"a job's config must be one of {names}; got {type(cfg).__name__}")


def make_config(name: str, data: Mapping[str, Any]) -> Any:
    """The config of kind ``name`` from a mapping of field names to values (validated; unknown fields refused)."""
    return kind(name).config.from_dict(data)


def from_json(data: Mapping[str, Any]) -> AnyRecord:
    """The record of the kind ``data["kind"]`` names, from its JSON object (inverse of ``sim.store.to_json``)."""
    return kind(str(data["kind"])).from_json(dict(data))


__all__ = ["DEFAULT", "KINDS", "AnyRecord", "Kind", "from_json", "kind", "kind_of", "make_config"]
