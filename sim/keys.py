"""Seeds and run keys: what makes a simulation reproducible and findable (THEORY.md §3 reproducibility).

The lowest module of ``sim``: the store, every simulation kind and the drivers import it, it imports no
kind. Three things, each written once:

* ``check_seed``: a seed is an integer ≥ 0 (``theory.validate``);
* ``stream_seed(seed, stream, *index)``: a 63-bit ``torch.Generator`` seed, the blake2b hash of
  ``"giantstep/{seed}/{stream}/{i1}/{i2}…"``. The giant-step data use ``(stream, step, block)``
  (``sim.data``); the [ZG] teacher uses ``("zg-teacher",)`` with no index;
* ``run_key(cfg, seed, device_type)``: the store key, sha256 (24 hex digits) of the JSON payload
  ``{"kind": cfg.kind, "config": cfg.key_dict(device_type), "seed", "code_version"}``, the same for every
  kind. The code version (``sim.version``) hashes the source of ``sim`` and ``theory``, so a record is
  found again only by the code that wrote it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Protocol

from sim.version import code_version
from theory.validate import Interval, check_scalar

SEED = Interval(int, 0, None)
STREAMS = ("init", "train", "ridge", "holdout", "test", "zg-teacher")


class Keyed(Protocol):
    """What a config class offers for its key: its kind and ``key_dict``."""

    kind: str

    def key_dict(self, device_type: str) -> dict[str, Any]: ...


def check_seed(seed: object) -> int:
    """``seed`` as an ``int`` ≥ 0 (numpy integers accepted); ``ValueError`` with one line otherwise."""
    return int(check_scalar(seed, "seed", SEED))


def stream_seed(seed: int, stream: str, *index: int) -> int:
    """A 63-bit generator seed for ``stream`` at ``index`` (e.g. ``step, block``): blake2b of the parts.

    >>> stream_seed(0, "train", 0, 0) == stream_seed(0, "train", 0, 0) != stream_seed(0, "train", 0, 1)
    True
    """
    if stream not in STREAMS:
        raise ValueError(f"unknown stream {stream!r}; streams are {', '.join(STREAMS)}")
    text = "/".join(["giantstep", str(seed), stream, *(str(i) for i in index)])
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & (2**63 - 1)


def run_key(cfg: Keyed, seed: int, device_type: str, version: str | None = None) -> str:
    """Store key of ``(cfg, seed)`` on ``device_type`` for code ``version`` (default: this code's).

    Parameters
    ----------
    cfg
        A config of any kind (``SimConfig``, ``ZGConfig``): its ``key_dict`` says what determines a result.
    seed
        The run's seed (an integer ≥ 0).
    device_type
        ``"cpu"`` or ``"cuda"``: results differ between them, so keys do.
    version
        Code version (``sim.version.code_version``); ``None`` for the running code.

    Returns
    -------
    str
        24 hex digits.
    """
    payload = {"kind": cfg.kind, "config": cfg.key_dict(device_type), "seed": check_seed(seed),
               "code_version": version or code_version()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


__all__ = ["STREAMS", "check_seed", "run_key", "stream_seed"]
