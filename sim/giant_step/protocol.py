"""The two-layer network and its giant steps (THEORY.md §3, [DKLPS] Algorithm).

``f(z; W, a) = s_p Σ_i a_i σ(⟨w_i, z⟩)`` with output scale ``s_p`` (``1/p`` or ``1/√p``) and the second
layer ``a`` of ``sim.giant_step.init`` (never trained by the steps): a ``Network`` value, which ``Forward``
evaluates block by block. A giant step on a batch of ``n``
samples is, per neuron (§3),

    ``w_i ← w_i + η̃ a_i (1/n) Σ_ν r_ν σ'(⟨w_i, z_ν⟩) z_ν``,  ``r_ν = y_ν − f(z_ν)``,

i.e. ``w_i ← w_i − η ∇_{w_i} L`` for ``L = (1/2n) Σ_ν r_ν²`` and ``η = η̃/s_p``, followed (by default) by
``w_i ← w_i/‖w_i‖``.

With the symmetric initialisation (``a = ±1`` halves) the network is evaluated as the difference of its
two halves, each with its own identically shaped matrix product, so ``f(W⁰) = 0`` holds exactly in
floating point (not only up to rounding) and the first step is exactly antisymmetric. The step is
streamed: per block of samples the partial sums ``Σ_ν r_ν σ'(⟨w_i, z_ν⟩) z_ν`` are formed in the compute
dtype and added to a float64 accumulator in block order, so the result does not depend on how blocks are
grouped into chunks. In a data-parallel run (``sim.distributed``) each process sums its own contiguous
range of blocks this way and the float64 sums are then added across processes (one ``all_reduce``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch

from sim.giant_step.init import second_layer

TorchFn = Callable[[torch.Tensor], torch.Tensor]
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


@dataclass(frozen=True)
class Network:
    """The network ``f(z) = s_p Σ_i a_i σ(⟨w_i, z⟩)`` of §3 and how it is computed.

    ``W`` (``p × k``: ``k = d``, or reduced coordinates, §3.3) and ``a`` (``p``); ``scale`` is ``s_p``; ``pair``
    is ``(σ, σ')`` (``theory.Activation.torch_pair``); ``symmetric``: ``a`` is the ``±1`` halves and ``f`` is
    evaluated as their difference (exact zero at ``W⁰``); ``dtype`` is the compute dtype of the products and
    the element-wise work; ``bf16``: both products take bfloat16 inputs (``mm_bf16``).
    """

    W: torch.Tensor
    a: torch.Tensor
    scale: float
    pair: tuple[TorchFn, TorchFn]
    symmetric: bool
    dtype: torch.dtype
    bf16: bool = False


@dataclass
class Residuals:
    """The backward factors of one block: ``parts`` — ``(first neuron, Q)`` with ``Q[ν, j] =
    r_ν σ'(⟨w_{first+j}, z_ν⟩)`` (two halves for the symmetric network, one part otherwise), ``res`` the
    residuals ``r = y − f`` (``b``), ``z`` the block as the backward product takes it (bfloat16 with
    ``bf16``)."""

    parts: list[tuple[int, torch.Tensor]]
    res: torch.Tensor
    z: torch.Tensor


class Forward:
    """The forward pass of one ``Network`` over blocks, with work spaces reused across blocks.

    With ``net.symmetric`` ``f`` is the difference of the two halves' sums (exact zero at ``W⁰``); with
    ``net.bf16`` both products take bfloat16 inputs (``mm_bf16``); element-wise work stays in ``net.dtype``.
    """

    def __init__(self, net: Network) -> None:
        W, dtype, symmetric, bf16 = net.W, net.dtype, net.symmetric, net.bf16
        self.sigma, self.dsigma = net.pair
        self.p, self.k = W.shape
        self.scale, self.dtype, self.bf16, self.symmetric = net.scale, dtype, bf16, symmetric
        Wc = W.to(dtype)
        h = self.p // 2
        self.starts = (0, h) if symmetric else (0,)
        self.mats = (Wc[:h], Wc[h:]) if symmetric else (Wc,)
        self.low = tuple(m.bfloat16() for m in self.mats) if bf16 else None
        self.a = net.a.to(device=W.device, dtype=dtype)
        self.is_relu = self.sigma is torch.relu
        self.hbuf: list[torch.Tensor] = []
        self.zlow: torch.Tensor | None = None

    def _work(self, b: int) -> list[torch.Tensor]:
        if not self.hbuf or self.hbuf[0].shape[0] < b:
            self.hbuf = [torch.empty(b, m.shape[0], dtype=self.dtype, device=m.device) for m in self.mats]
            self.zlow = torch.empty(b, self.k, dtype=torch.bfloat16, device=self.mats[0].device) if self.bf16 else None
        return [hb[:b] for hb in self.hbuf]

    def residuals(self, z: torch.Tensor, y: torch.Tensor) -> Residuals:
        """The backward factors of the block ``(z (b, k), y (b,))``."""
        b = z.shape[0]
        work = self._work(b)
        if self.low is not None and self.zlow is not None:
            zb = self.zlow[:b].copy_(z)
            H = [mm_bf16(zb, m.T, out) for m, out in zip(self.low, work)]
        else:
            zb = z
            H = [torch.mm(z, m.T, out=out) for m, out in zip(self.mats, work)]
        S = [Hh.relu_() for Hh in H] if self.is_relu else [self.sigma(Hh) for Hh in H]
        if self.symmetric:
            f = (S[0].sum(dim=1) - S[1].sum(dim=1)) * self.scale
        else:
            f = (S[0] @ self.a) * self.scale
        res = y - f
        if self.is_relu:  # in place: S ← 1{H>0}·r (σ'(u) = 1{u>0}, exactly the same values)
            Q = [Sh.gt_(0).mul_(res[:, None]) for Sh in S]
        else:
            Q = [self.dsigma(Hh) * res[:, None] for Hh in H]
        return Residuals(list(zip(self.starts, Q)), res, zb)


def streamed_correlation(net: Network, blocks: Iterable[tuple[torch.Tensor, torch.Tensor]],
                         reduce: Reduce | None = None) -> tuple[torch.Tensor, float]:
    """``(Σ_ν r_ν σ'(⟨w_i, z_ν⟩) z_ν (p × d, float64), Σ_ν r_ν²)`` over blocks ``(z (b×d), y (b,))`` (§3).

    Per block each part's sum is one matrix product, added to the float64 accumulator in block order.
    ``reduce`` (data-parallel runs, ``sim.distributed``): called once with the float64 sums ``[Σ partials
    (p×d), Σ r² ()]`` of this process's blocks, it must replace them in place by their sums over all
    processes; ``None`` (one process) leaves them alone, so the result is bitwise the single-process one.
    """
    W, dtype = net.W, net.dtype
    p, d = W.shape
    fwd = Forward(net)
    acc = torch.zeros(p, d, dtype=torch.float64, device=W.device)
    sq = torch.zeros((), dtype=torch.float64, device=W.device)
    gbufs = {start: torch.empty(m.shape[0], d, dtype=dtype, device=W.device) for start, m in zip(fwd.starts, fwd.mats)}
    qlow: torch.Tensor | None = None
    for z, y in blocks:
        rb = fwd.residuals(z, y)
        sq += (rb.res @ rb.res).double()
        for start, Q in rb.parts:
            out = gbufs[start]
            if net.bf16:
                if qlow is None or qlow.shape[0] < Q.shape[0] or qlow.shape[1] != Q.shape[1]:
                    qlow = torch.empty(Q.shape, dtype=torch.bfloat16, device=W.device)
                part = mm_bf16(qlow[:Q.shape[0]].copy_(Q).T, rb.z, out)
            else:
                part = torch.mm(Q.T, z, out=out)
            acc[start:start + Q.shape[1]].add_(part)
    if reduce is not None:
        reduce([acc, sq])
    return acc, float(sq)


def streamed_gradient(W: torch.Tensor, blocks: Iterable[tuple[torch.Tensor, torch.Tensor]], n: int,
                      pair: tuple[TorchFn, TorchFn], dtype: torch.dtype, bf16: bool = False,
                      reduce: Reduce | None = None, a: torch.Tensor | None = None,
                      scale: float | None = None) -> tuple[torch.Tensor, float]:
    """``(∇_W L (p×d, float64), L)`` for ``L = (1/2n) Σ_ν (y_ν − f(z_ν))²`` over blocks ``(z (b×d), y (b,))``.

    ``∇_{w_i} L = −(s_p a_i/n) Σ_ν (y_ν − f(z_ν)) σ'(⟨w_i, z_ν⟩) z_ν`` (§3), from ``streamed_correlation``.
    ``a = None``: the symmetric ``±1`` network (halves, exact ``f(W⁰) = 0``); ``scale = None``: ``s_p = 1/√p``.
    """
    p = W.shape[0]
    symmetric = a is None
    a = second_layer(p, torch.float64, str(W.device)) if a is None else a.to(torch.float64)
    s = 1.0 / math.sqrt(p) if scale is None else scale
    acc, sq = streamed_correlation(Network(W, a, s, pair, symmetric, dtype, bf16), blocks, reduce)
    return acc * (-(a * s) / n)[:, None], sq / (2 * n)


def neuron_step(W: torch.Tensor, corr: torch.Tensor, a: torch.Tensor, n: int, eta: float,
                normalize: bool) -> torch.Tensor:
    """``w_i + η̃ a_i (1/n) corr_i`` (``corr = Σ_ν r_ν σ'(⟨w_i,z_ν⟩) z_ν``, §3), rows normalised if
    ``normalize``; ``W`` and ``corr`` are ``p × k`` float64."""
    W = W + corr * (eta * a / n)[:, None]
    if normalize:
        W = W / W.norm(dim=1, keepdim=True)
    return W


def giant_step(W: torch.Tensor, grad: torch.Tensor, eta: float, normalize: bool) -> torch.Tensor:
    """``W − η ∇_W L``, rows normalised to the unit sphere if ``normalize`` (float64, ``p × d``)."""
    W = W - eta * grad
    if normalize:
        W = W / W.norm(dim=1, keepdim=True)
    return W


__all__ = ["Forward", "Network", "Residuals", "giant_step", "mm_bf16", "neuron_step", "streamed_correlation",
           "streamed_gradient"]
