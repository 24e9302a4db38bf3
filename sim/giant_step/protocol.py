"""The two-layer network and its giant steps (THEORY.md §3, [DKLPS] Algorithm).

``f(z; W, a) = (1/√p) Σ_i a_i σ(⟨w_i, z⟩)`` with the symmetric initialisation of
``sim.giant_step.init`` (``a_i = +1`` for the first ``p/2`` neurons, ``−1`` for the rest, ``f(·; W⁰, a) ≡ 0``).
The second layer ``a`` is never trained by the steps. A giant step on a batch of ``n`` samples is

    ``w_i ← w_i − η ∇_{w_i} L``,  ``L = (1/2n) Σ_ν (y_ν − f(z_ν))²``,

followed (by default) by ``w_i ← w_i/‖w_i‖``.

The network is evaluated as the difference of its two halves, each with its own
identically shaped matrix product, so ``f(W⁰) = 0`` holds exactly in floating point
(not only up to rounding). The gradient is streamed: per block of samples the
partial sums ``Σ_ν r_ν σ'(⟨w_i, z_ν⟩) z_ν`` (``r = y − f``) are formed in the compute
dtype and added to a float64 accumulator in block order, so the result does not
depend on how blocks are grouped into chunks. In a data-parallel run (``sim.distributed``) each
process sums its own contiguous range of blocks this way and the float64 sums are then added across
processes (one ``all_reduce``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch

from sim.giant_step.init import second_layer

TorchFn = Callable[[torch.Tensor], torch.Tensor]


def network_output(z: torch.Tensor, W: torch.Tensor, sigma: TorchFn) -> torch.Tensor:
    """``f(z) = (1/√p)(Σ_{i≤p/2} σ(⟨w_i,z⟩) − Σ_{i>p/2} σ(⟨w_i,z⟩))`` for ``z`` of shape ``(n, d)`` → ``(n,)``."""
    h = W.shape[0] // 2
    plus = sigma(z @ W[:h].T).sum(dim=1)
    minus = sigma(z @ W[h:].T).sum(dim=1)
    return (plus - minus) / math.sqrt(W.shape[0])


Reduce = Callable[[list[torch.Tensor]], None]


def mm_bf16(a: torch.Tensor, b: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``out ← a @ b`` for bfloat16 ``a (m×k)``, ``b (k×n)`` into float32 ``out (m×n)``; the products are
    accumulated in float32 by the backend. On CUDA the float32 result is kept (``out_dtype``); where that
    is not supported (the CPU) the product's output is bfloat16 and is widened into ``out``."""
    if a.is_cuda:
        try:
            return out.copy_(torch.mm(a, b, out_dtype=torch.float32))
        except (TypeError, RuntimeError, NotImplementedError):
            pass
    return out.copy_(torch.mm(a, b))


def streamed_gradient(W: torch.Tensor, blocks: Iterable[tuple[torch.Tensor, torch.Tensor]], n: int,
                      pair: tuple[TorchFn, TorchFn], dtype: torch.dtype, bf16: bool = False,
                      reduce: Reduce | None = None) -> tuple[torch.Tensor, float]:
    """``(∇_W L (p×d, float64), L)`` for ``L = (1/2n) Σ_ν (y_ν − f(z_ν))²`` over blocks ``(z (b×d), y (b,))``.

    ``∇_{w_i} L = −(a_i/(n√p)) Σ_ν (y_ν − f(z_ν)) σ'(⟨w_i, z_ν⟩) z_ν`` (§3). Per block the two halves of
    ``Σ_ν r_ν σ'(⟨w_i,z_ν⟩) z_ν`` are single matrix products; block partials are added in block order.
    ``bf16``: both products take bfloat16 inputs (float32 accumulation, see ``mm_bf16``); the element-wise
    work stays in ``dtype``. ``reduce`` (data-parallel runs, ``sim.distributed``): called once with the
    float64 sums ``[Σ partials (p×d), Σ r² ()]`` of this process's blocks, it must replace them in place by
    their sums over all processes; ``None`` (one process) leaves them alone, so the result is bitwise the
    single-process one.
    """
    sigma, dsigma = pair
    p, d = W.shape
    h = p // 2
    Wc = W.to(dtype)
    halves = (Wc[:h], Wc[h:])
    low = (Wc[:h].bfloat16(), Wc[h:].bfloat16()) if bf16 else None
    acc = torch.zeros(p, d, dtype=torch.float64, device=W.device)
    sq = torch.zeros((), dtype=torch.float64, device=W.device)
    scale = 1.0 / math.sqrt(p)
    is_relu = sigma is torch.relu
    hbuf: torch.Tensor | None = None  # reused work space: fresh large tensors per block cost page faults
    zlow: torch.Tensor | None = None
    qlow: torch.Tensor | None = None
    gbuf = torch.empty(h, d, dtype=dtype, device=W.device)
    for z, y in blocks:
        b = z.shape[0]
        if hbuf is None or hbuf.shape[1] < b:
            hbuf = torch.empty(2, b, h, dtype=dtype, device=W.device)
            zlow = torch.empty(b, d, dtype=torch.bfloat16, device=W.device) if bf16 else None
            qlow = torch.empty(b, h, dtype=torch.bfloat16, device=W.device) if bf16 else None
        if low is not None and zlow is not None:
            zb = zlow[:b].copy_(z)
            H = [mm_bf16(zb, Wh.T, hbuf[i, :b]) for i, Wh in enumerate(low)]  # (b, p/2) each
        else:
            H = [torch.mm(z, Wh.T, out=hbuf[i, :b]) for i, Wh in enumerate(halves)]
        if is_relu:  # in place: H ← relu(H) → f; then H ← 1{H>0}·r (σ'(u) = 1{u>0}, exactly the same values)
            S = [Hh.relu_() for Hh in H]
            f = (S[0].sum(dim=1) - S[1].sum(dim=1)) * scale
            res = y - f
            Q = [Sh.gt_(0).mul_(res[:, None]) for Sh in S]
        else:
            f = (sigma(H[0]).sum(dim=1) - sigma(H[1]).sum(dim=1)) * scale
            res = y - f
            Q = [dsigma(Hh) * res[:, None] for Hh in H]
        sq += (res @ res).double()
        for i, Qh in enumerate(Q):  # per-block partial Σ_ν r_ν σ'(⟨w_i,z_ν⟩) z_ν, added in block order
            if low is not None and qlow is not None:
                acc[i * h:(i + 1) * h].add_(mm_bf16(qlow[:b].copy_(Qh).T, zb, gbuf))
            else:
                acc[i * h:(i + 1) * h].add_(torch.mm(Qh.T, z, out=gbuf))
    if reduce is not None:
        reduce([acc, sq])
    a = second_layer(p, torch.float64, str(W.device))
    grad = acc * (-(a * scale) / n)[:, None]
    return grad, float(sq) / (2 * n)


def giant_step(W: torch.Tensor, grad: torch.Tensor, eta: float, normalize: bool) -> torch.Tensor:
    """``W − η ∇_W L``, rows normalised to the unit sphere if ``normalize`` (float64, ``p × d``)."""
    W = W - eta * grad
    if normalize:
        W = W / W.norm(dim=1, keepdim=True)
    return W
