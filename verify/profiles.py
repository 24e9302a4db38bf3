"""Profiles: which ladder of each claim runs, where, and within what budget (issue item 3).

* ``smoke`` — a tiny CPU run for CI (< 3 minutes); ladders are too short to
  decide anything and end INCONCLUSIVE by design (``rules.check_ladder``).
* ``quick`` — the default of ``make verify``: CPU only, < 10 minutes on 2
  cores, decides the ℓ = 1 claims (T1-single, T1-curve, T1-short, C1-stair
  with two steps, RF-sep); others may end INCONCLUSIVE.
* ``full`` — GPU (device auto), ``d`` up to 4096, < 30 minutes on one H100.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    device: str
    budget_minutes: float
    description: str


PROFILES = {
    "smoke": Profile("smoke", "cpu", 3, "tiny CPU run for CI; verdicts INCONCLUSIVE by design"),
    "quick": Profile("quick", "cpu", 10, "CPU, 2 cores, decides the ℓ=1 claims"),
    "full": Profile("full", "auto", 30, "GPU, d up to 4096, decides all claims"),
}


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    return PROFILES[name]


__all__ = ["PROFILES", "Profile", "get_profile"]
