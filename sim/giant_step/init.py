"""Initialisation of the two-layer network for the giant-step protocol (THEORY.md §3, [DKLPS] Algorithm).

Four initialisations (``SimConfig.init``, ``sim.giant_step.options.Init``); the second layer ``a`` is never trained by the steps:

* ``symmetric`` (default): ``w_i`` uniform on the unit sphere for ``i ≤ p/2``, ``w_{i+p/2} = w_i``,
  ``a_i = +1`` for the first half and ``−1`` for the second, so ``f(·; W⁰, a) ≡ 0``;
* ``gaussian``: rows of ``W⁰`` i.i.d. ``N(0, I_d/d)``, ``a_i ~ N(0, 1)`` i.i.d. (the authors' one-step
  experiments);
* ``hypercube``: rows of ``W⁰`` i.i.d. ``N(0, I_d/d)``, ``a_i = ±1`` with independent fair signs (the
  authors' multi-step experiments);
* ``orthogonal``: rows of ``W⁰`` a uniformly random orthonormal ``p``-frame orthogonal to the teacher axes
  (overlap exactly 0), ``a_i = +1`` for even ``i`` and ``−1`` for odd ``i`` (0-based) — the [DTAPZK] code
  (``set_weight`` with ``m_0 = 0``, ``a[1::2] < 0``; THEORY §3.5).

Everything is drawn on the CPU (float64) and then moved, so it is the same on every device: ``W⁰`` from
the ``"init"`` stream of ``sim.keys`` at index ``(0, 0)``, ``a`` at index ``(1, 0)`` (so ``a`` does not
depend on how ``W⁰`` is represented: the reduced engine draws its own ``W⁰``, ``sim.giant_step.bartlett``,
and the same ``a``).
"""

from __future__ import annotations

import math

import torch

from sim.data import generator
from sim.giant_step.options import Init
from sim.keys import stream_seed

WEIGHTS_INDEX = (0, 0)
SECOND_LAYER_INDEX = (1, 0)


def init_weights(p: int, d: int, seed: int, device: str) -> torch.Tensor:
    """Symmetric initialisation ``W⁰`` (``p × d``, float64, unit rows, row ``i + p/2`` = row ``i``).

    Drawn on the CPU from the ``"init"`` stream and then moved, so ``W⁰`` is the same on every device.
    """
    gen = generator(stream_seed(seed, "init", *WEIGHTS_INDEX), "cpu")
    half = torch.randn(p // 2, d, generator=gen, dtype=torch.float64)
    half = half / half.norm(dim=1, keepdim=True)
    return torch.cat([half, half]).to(device)


def gaussian_weights(p: int, d: int, seed: int, device: str) -> torch.Tensor:
    """``W⁰`` with rows i.i.d. ``N(0, I_d/d)`` (``p × d``, float64), for the ``gaussian`` and ``hypercube``
    initialisations."""
    gen = generator(stream_seed(seed, "init", *WEIGHTS_INDEX), "cpu")
    return (torch.randn(p, d, generator=gen, dtype=torch.float64) / math.sqrt(d)).to(device)


def second_layer(p: int, dtype: torch.dtype = torch.float64, device: str = "cpu") -> torch.Tensor:
    """The symmetric initialisation's ``a ∈ {±1}^p``: ``+1`` for the first ``p/2`` neurons, ``−1`` for the rest."""
    a = torch.ones(p, dtype=dtype, device=device)
    a[p // 2:] = -1
    return a


def orthogonal_weights(p: int, d: int, r: int, seed: int, device: str) -> torch.Tensor:
    """``W⁰`` with orthonormal rows orthogonal to ``e_1 … e_r`` (``p × d``, float64; needs ``p ≤ d − r``): the QR
    factor of a Gaussian ``(d − r) × p`` matrix, a uniformly random frame."""
    gen = generator(stream_seed(seed, "init", *WEIGHTS_INDEX), "cpu")
    Q, R = torch.linalg.qr(torch.randn(d - r, p, generator=gen, dtype=torch.float64))
    Q = Q * torch.sign(torch.diagonal(R))[None, :]  # the Haar-distributed frame (signs fixed by R's diagonal)
    return torch.cat([torch.zeros(p, r, dtype=torch.float64), Q.T], dim=1).to(device)


def second_layer_of(init: Init | str, p: int, seed: int, device: str = "cpu") -> torch.Tensor:
    """``a`` (``p``, float64) of the initialisation ``init``: ``±1`` halves (symmetric), ``N(0, 1)``
    (gaussian) or fair random signs (hypercube), the random ones from the ``"init"`` stream at index
    ``(1, 0)``."""
    if init == Init.SYMMETRIC:
        return second_layer(p, torch.float64, device)
    if init == Init.ORTHOGONAL:
        a = torch.ones(p, dtype=torch.float64)
        a[1::2] = -1
        return a.to(device)
    gen = generator(stream_seed(seed, "init", *SECOND_LAYER_INDEX), "cpu")
    if init == Init.GAUSSIAN:
        a = torch.randn(p, generator=gen, dtype=torch.float64)
    elif init == Init.HYPERCUBE:
        a = torch.where(torch.rand(p, generator=gen, dtype=torch.float64) < 0.5, -1.0, 1.0).double()
    else:
        raise ValueError(f"init must be one of {', '.join(Init)}; got {init!r}")
    return a.to(device)


def init_network(init: Init | str, p: int, d: int, seed: int, device: str, r: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """``(W⁰ (p × d), a (p,))``, float64 on ``device``, of the initialisation ``init`` (module docstring); ``r``
    teacher axes (``orthogonal`` avoids them)."""
    if init == Init.SYMMETRIC:
        W = init_weights(p, d, seed, device)
    elif init == Init.ORTHOGONAL:
        W = orthogonal_weights(p, d, r, seed, device)
    else:
        W = gaussian_weights(p, d, seed, device)
    return W, second_layer_of(init, p, seed, device)


__all__ = ["gaussian_weights", "init_network", "init_weights", "orthogonal_weights", "second_layer", "second_layer_of"]
