"""Initialisation of the two-layer network for the giant-step protocol (THEORY.md §3, [DKLPS] Algorithm).

Symmetric initialisation: ``w_i`` uniform on the unit sphere for ``i ≤ p/2``, ``w_{i+p/2} = w_i``,
``a_i = +1`` for the first half and ``−1`` for the second, so ``f(·; W⁰, a) ≡ 0``. The second layer ``a``
is never trained by the steps. ``W⁰`` is drawn on the CPU from the ``"init"`` stream of ``sim.keys``
and then moved, so it is the same on every device.
"""

from __future__ import annotations

import torch

from sim.data import generator
from sim.keys import stream_seed


def init_weights(p: int, d: int, seed: int, device: str) -> torch.Tensor:
    """Symmetric initialisation ``W⁰`` (``p × d``, float64, unit rows, row ``i + p/2`` = row ``i``).

    Drawn on the CPU from the ``"init"`` stream and then moved, so ``W⁰`` is the same on every device.
    """
    gen = generator(stream_seed(seed, "init", 0, 0), "cpu")
    half = torch.randn(p // 2, d, generator=gen, dtype=torch.float64)
    half = half / half.norm(dim=1, keepdim=True)
    return torch.cat([half, half]).to(device)


def second_layer(p: int, dtype: torch.dtype = torch.float64, device: str = "cpu") -> torch.Tensor:
    """``a ∈ {±1}^p``: ``+1`` for the first ``p/2`` neurons, ``−1`` for the rest."""
    a = torch.ones(p, dtype=dtype, device=device)
    a[p // 2:] = -1
    return a
