"""Ridge readout of the second layer, λ path, held-out tuning and test error (THEORY.md §3, §2.6).

Features ``φ(z) = σ(W z)/√p`` (``p``-dimensional). For each ``λ`` of a list the readout minimises
``(1/n₂) Σ_ν (y_ν − φ(z_ν)ᵀa)² + λ‖a‖²`` on ``n₂ = n_fit`` samples, all ``λ`` from one
eigendecomposition:

* primal (``n_fit ≥ p``): ``A = ΦᵀΦ/n₂``, ``b = Φᵀy/n₂`` streamed (per-block partials added in block
  order, float64); ``A = VΛVᵀ``, ``a_λ = V (Λ+λ)⁻¹ Vᵀ b``;
* dual (``n_fit < p``): ``K = ΦΦᵀ`` (``n₂×n₂``) ``= USUᵀ``, ``a_λ = Φᵀ U (S + n₂λ)⁻¹ Uᵀ y``.

The tuned ``λ`` minimises the mean squared error on a held-out split (noisy labels, as an
experimenter has them); the test error ``E[(f*(z) − f(z))²]`` is measured against the noiseless
target on fresh samples, for every ``λ``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch

from sim.giant_step.options import RidgeMode

TorchFn = Callable[[torch.Tensor], torch.Tensor]
Reduce = Callable[[list[torch.Tensor]], None]


def features(z: torch.Tensor, W: torch.Tensor, sigma: TorchFn) -> torch.Tensor:
    """``Φ = σ(z Wᵀ)/√p``: ``(b, d), (p, d) → (b, p)``."""
    return raw_features(z, W, sigma) / math.sqrt(W.shape[0])


def raw_features(z: torch.Tensor, W: torch.Tensor, sigma: TorchFn, out: torch.Tensor | None = None
                 ) -> torch.Tensor:
    """``σ(z Wᵀ)`` (``(b, p)``), without the ``1/√p``; relu is applied in place (in ``out`` if given,
    a contiguous ``(b, p)`` work space reused across blocks)."""
    H = torch.mm(z, W.T, out=out) if out is not None else z @ W.T
    return H.relu_() if sigma is torch.relu else sigma(H)


class _Workspace:
    """A ``(rows, p)`` buffer grown on demand and reused for every block (fresh large tensors cost page faults)."""

    def __init__(self, p: int, dtype: torch.dtype, device: torch.device) -> None:
        self.p, self.dtype, self.device = p, dtype, device
        self.buf: torch.Tensor | None = None

    def rows(self, b: int) -> torch.Tensor:
        if self.buf is None or self.buf.shape[0] < b:
            self.buf = torch.empty(b, self.p, dtype=self.dtype, device=self.device)
        return self.buf[:b]


@dataclass(frozen=True)
class RidgeFit:
    """Ridge weights for each λ: ``weights`` is ``p × L`` (float64); ``train_error[j]`` is the mean squared
    training residual at ``lambdas[j]``; ``mode`` says how it was solved."""

    lambdas: tuple[float, ...]
    weights: torch.Tensor
    train_error: tuple[float, ...]
    mode: RidgeMode


def fit_ridge(blocks: Iterable[tuple[torch.Tensor, torch.Tensor]], n: int, W: torch.Tensor, sigma: TorchFn,
              lambdas: tuple[float, ...], dual: bool, reduce: Reduce | None = None) -> RidgeFit:
    """Fit the readout for every ``λ`` on ``n`` streamed samples ``(z (b, d), y (b,))`` with weights ``W``.

    ``reduce`` (primal only; data-parallel runs, ``sim.distributed``): called once with this process's
    float64 sums ``[ΦᵀΦ (p×p), Φᵀy (p,), yᵀy ()]``, it replaces them in place by their sums over all
    processes. The dual needs every sample in one process and takes no ``reduce``.
    """
    p = W.shape[0]
    dev = W.device
    lam = torch.tensor(lambdas, dtype=torch.float64, device=dev)
    if not dual:
        gram = torch.zeros(p, p, dtype=torch.float64, device=dev)
        rhs = torch.zeros(p, dtype=torch.float64, device=dev)
        yy = torch.zeros((), dtype=torch.float64, device=dev)
        ws = _Workspace(p, W.dtype, dev)
        gbuf = torch.empty(p, p, dtype=W.dtype, device=dev)
        for z, y in blocks:
            phi = raw_features(z, W, sigma, ws.rows(z.shape[0]))  # the 1/√p of φ is applied to the sums below
            gram.add_(torch.mm(phi.T, phi, out=gbuf))
            rhs += (phi.T @ y).double()
            yy += (y @ y).double()
        if reduce is not None:
            reduce([gram, rhs, yy])
        gram /= p
        rhs /= math.sqrt(p)
        evals, V = torch.linalg.eigh(gram / n)
        evals = evals.clamp_min(0.0)
        c = V.T @ (rhs / n)  # (p,)
        inv = 1.0 / (evals[:, None] + lam[None, :])  # (p, L)
        weights = V @ (c[:, None] * inv)
        train = yy / n - 2 * (c[:, None] ** 2 * inv).sum(0) + (evals[:, None] * (c[:, None] * inv) ** 2).sum(0)
        train = train.clamp_min(0.0)
        return RidgeFit(tuple(lambdas), weights, tuple(train.tolist()), RidgeMode.PRIMAL)
    phis, ys = [], []
    for z, y in blocks:
        phis.append(features(z, W, sigma).double())
        ys.append(y.double())
    Phi = torch.cat(phis)  # (n, p)
    yv = torch.cat(ys)
    K = Phi @ Phi.T
    S, U = torch.linalg.eigh(K)
    S = S.clamp_min(0.0)
    u = U.T @ yv
    shrink = 1.0 / (S[:, None] + n * lam[None, :])  # (n, L)
    weights = Phi.T @ (U @ (u[:, None] * shrink))
    train = ((n * lam[None, :] * shrink) ** 2 * u[:, None] ** 2).sum(0) / n
    return RidgeFit(tuple(lambdas), weights, tuple(train.tolist()), RidgeMode.DUAL)


def mean_squared_errors(blocks: Iterable[tuple[torch.Tensor, torch.Tensor]], n: int, W: torch.Tensor,
                        sigma: TorchFn, weights: torch.Tensor, reduce: Reduce | None = None) -> list[float]:
    """``(1/n) Σ_ν (t_ν − φ(z_ν)ᵀ a_λ)²`` for every column ``a_λ`` of ``weights`` (``p × L``); blocks are
    ``(z (b, d), t (b,))``; per-block partial sums are added in block order in float64 (and, with
    ``reduce``, then summed over the processes of a data-parallel run)."""
    L = weights.shape[1]
    total = torch.zeros(L, dtype=torch.float64, device=W.device)
    wc = (weights / math.sqrt(W.shape[0])).to(W.dtype)  # φᵀa = σ(Wz)ᵀ(a/√p)
    ws = _Workspace(W.shape[0], W.dtype, W.device)
    for z, t in blocks:
        pred = raw_features(z, W, sigma, ws.rows(z.shape[0])) @ wc
        total += ((t[:, None] - pred) ** 2).sum(0).double()
    if reduce is not None:
        reduce([total])
    return (total / n).tolist()


def best_lambda(holdout_errors: list[float]) -> int:
    """Index of the λ with the smallest held-out error (the first one on ties; NaNs never win)."""
    best, arg = math.inf, 0
    for j, e in enumerate(holdout_errors):
        if e < best:
            best, arg = e, j
    return arg
