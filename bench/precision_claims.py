"""The T1-curve claim (THEORY.md §3.1, §5) re-run with a numerics option, to measure its effect on the
overlaps in ``verify`` (bf16/TF32 behind an option whose effect is itself measured).

    python -m verify --claims-file bench/precision_claims.py --claims T1-curve T1-curve-bf16 --profile quick

runs every arm of T1-curve twice — as it is and with ``bf16=True`` (``GIANTSTEP_PRECISION=tf32`` gives a
``tf32=True`` copy instead, for CUDA) — with the same seeds, so the report shows both verdicts and
statistics side by side, and the runs of both are in the store for a per-run comparison, e.g.
``Store(path).records("giant_step", bf16=True, d=1024)`` against ``records("giant_step", bf16=False, d=1024)``
seed by seed.
"""

from __future__ import annotations

import dataclasses
import os

from verify.claims.one_step import T1_CURVE

OPTION = os.environ.get("GIANTSTEP_PRECISION", "bf16")
if OPTION not in ("bf16", "tf32"):
    raise ValueError(f"GIANTSTEP_PRECISION must be bf16 or tf32; got {OPTION!r}")


def _with_option(claim, option: str):  # noqa: ANN001, ANN202 - verify.Claim
    ladders = {name: dataclasses.replace(lad, variants=tuple(dataclasses.replace(v, config={**v.config, option: True})
                                                             for v in lad.variants))
               for name, lad in claim.ladders.items()}
    return dataclasses.replace(claim, id=f"{claim.id}-{option}", ladders=ladders,
                               statement=f"{claim.statement} (with {option} matrix products)")


CLAIMS = [_with_option(T1_CURVE, OPTION)]
