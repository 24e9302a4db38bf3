"""Profiles: which ladder of each claim runs, where, and within what budget.

Every profile runs on the CPU unless a GPU is there (``device``: ``auto`` picks CUDA when available); the
ladders are sized for a 2-core CPU, with the exact reduced engine of THEORY §3.3 wherever the claims'
configs allow it (one-step and multi-step overlaps: a step costs ``O(n·p·(k + p))`` whatever ``d``) and the
conditioned engine of §3.4 for a reused batch. Cost per run, measured on this 2-core AMD EPYC with one
thread under load ≈ 3–5 (an idle machine with two threads is faster): 0.7–1.2 µs per sample at ``p = 16``;
a ridge readout of ``p = d^1.5`` features at ``d = 181`` about 29 s, at ``d = 256`` about 80 s; C3-error's
``p = d``, ``n₂ = d²/4`` readout 9 s at ``d = 724``, 31 s at ``d = 1024``; two reused steps at
``d = 2^20`` 6 s.

* ``smoke`` — a tiny CPU run for CI (< 3 minutes); ladders are too short to decide anything and end
  INCONCLUSIVE by design (``rules.check_ladder``).
* ``quick`` — the default of ``make verify``; every claim but NB-one-step (which runs at its published size
  when named: ``--claims NB-one-step``). Ladders (claim: ``d``, seeds; runs of its own):

  ===========  ==========================================================  =====
  T1-single    ``n = d``, ``p = 64``: ``d = 256 … 4096``, 6 seeds              30
  T1-curve     4 ``α``, ``p = 32``: ``d = 512 … 2048``, 16 seeds              192
  T1-short     ``n = d`` and ``n = d^1.5``: ``d = 256 … 4096``, 6 seeds        60
  T1-spec      ``n = d²``, ``p = 16``: ``d = 128 … 2048``, 12 seeds             60
  T1-hard      He3, ``p = 16``: ``n = d²``, ``d = 64 … 1024``, 6 seeds;
               ``n = d³``, ``d = 32 … 128``, 24 seeds                         150
  C1-stair     3 steps, ``n = 16d``, ``p = 16``: ``d = 256 … 4096``, 12 seeds   60
  C1-σ         relu arm + C1-stair's runs                                     60
  C1-stair-p   ``p = 256``: ``d = 512 … 4096``, 12 seeds                       48
  T2-error     ``n = 256d``, readout ``p = d^1.5``: ``d = 45 … 181``, 4 seeds   20
  RF-sep       T2-error's runs                                                 0
  C3-error     ``p = d``, ``n₂ = d²/4``: ``d = 128 … 512``, 6 seeds             30
  Z1, Z2       ``d = 32``, ``m = 128``, ``m* = 4``, 6 phases, 3 seeds           3
  NB-orient    both examples, ``d = 512 … 2048``, 10 seeds                     60
  BR-reuse     reuse and fresh, ``d = 2^16 … 2^18``, 16 seeds                  96
  BR-even      3 targets, ``d = 2^12 … 2^16``, 6 seeds                         90
  GE-labels    3 arms, ``d = 2^11 … 2^15``, 6 seeds                            90
  BR-dmft      [DTAPZK] protocol, ``d = 1e5 … 4e5``, 8 seeds                   24
  ===========  ==========================================================  =====

  Measured (fresh store, 2-core AMD EPYC under load ≈ 4, one thread): 1073 runs in 11 min 11 s, every
  claim CONFIRMED with its negative control REFUTED.
* ``full`` — ``python -m verify --profile full`` (a GPU only makes it faster), every claim decided:

  ===========  ==========================================================  =====
  T1-single    ``p = 256``: ``d = 512 … 16384``, 8 seeds                       48
  T1-curve     4 ``α``, ``p = 64``: ``d = 2048 … 8192``, 16 seeds             192
  T1-short     ``n = d`` and ``n = d^1.5``: ``d = 512 … 16384``, 8 seeds       96
  T1-spec      ``n = d²``, ``p = 16``: ``d = 256 … 4096``, 16 seeds             80
  T1-hard      ``n = d²``: ``d = 128 … 4096``, 8 seeds; ``n = d³``:
               ``d = 48 … 256``, 16 seeds                                    144
  C1-stair     ``d = 512 … 16384``, 16 seeds                                   96
  C1-σ         relu arm + C1-stair's runs                                     96
  C1-stair-p   ``p = 256``: ``d = 512 … 8192``, 16 seeds                       80
  T2-error     ``d = 64 … 256``, 4 seeds                                       20
  RF-sep       T2-error's runs                                                 0
  C3-error     ``d = 128 … 1024``, 6 seeds                                     42
  Z1, Z2       ``d = 64``, ``m = 256``, ``m* = 8``, 8 phases, 5 seeds           5
  NB-one-step  published size (``d = 512``, ``p = 1024``), 3 ``κ``, 10 seeds
               and 3 of the honest variant                                    39
  NB-orient    both examples, ``d = 512 … 4096``, 10 seeds                     80
  BR-reuse     reuse and fresh, ``d = 2^16 … 2^20``, 16 seeds                 160
  BR-even      3 targets, ``d = 2^12 … 2^18``, 8 seeds                        168
  GE-labels    3 arms, ``d = 2^11 … 2^17``, 8 seeds                           168
  BR-dmft      [DTAPZK] protocol, ``d = 1e5 … 8e5``, 12 seeds                  48
  ===========  ==========================================================  =====

  Measured (fresh store, 2-core AMD EPYC under load ≈ 4, one thread): 1562 runs in 37 min 28 s, every
  claim CONFIRMED with its negative control REFUTED. Each claim's module states its ladders (``*_DIMS``,
  ``*_SEEDS``) and why; README "Verification" has the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """A profile: its ``name``, the default ``device`` of its runs, the ``budget_minutes`` its ladders are
    sized for (on an idle 2-core CPU) and a one-line ``description``."""

    name: str
    device: str
    budget_minutes: float
    description: str


PROFILES = {
    "smoke": Profile("smoke", "cpu", 3, "tiny CPU run for CI; verdicts INCONCLUSIVE by design"),
    "quick": Profile("quick", "cpu", 10, "CPU, 2 cores, ≤ 10 min: decides every claim but NB-one-step"),
    "full": Profile("full", "auto", 60, "CPU (2 cores) or GPU, ≤ 60 min on the CPU: decides every claim"),
}


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    return PROFILES[name]


__all__ = ["PROFILES", "Profile", "get_profile"]
