"""Gaussian samples and labels, generated block by block from a per-block seed (THEORY.md §1, §3).

Inputs ``z ~ N(0, I_d)``; the teacher is ``W* = [e_1 … e_r]ᵀ`` — the first ``r``
coordinate axes, no loss of generality since the data are rotation invariant —
so ``x = W* z = z[:, :r]``. Labels ``y = g*(x) + √Δ·ξ`` with ``ξ ~ N(0, 1)``.

Reproducibility: the samples of a data set are cut into blocks of
``block_size`` rows; block ``k`` of stream ``s`` at step ``t`` is drawn from a
``torch.Generator`` seeded with ``sim.keys.stream_seed(seed, s, t, k)`` (a stable hash),
first ``z`` (``block_size × d``) then ``ξ`` (``block_size``), and a short last
block keeps the first rows. A sample therefore depends on (seed, stream, step,
index) only — never on the chunking, and the first ``n`` samples of a stream do
not depend on ``n``. The streams are the step batches (``"train"``, one per step,
or step 0 for every step with ``batch="reuse"``), the ridge fit (``"ridge"``), the
held-out split (``"holdout"``), the test set (``"test"``) and the initialisation
(``"init"``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum

import torch

from sim.keys import stream_seed


def generator(seed: int, device: str) -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded with ``seed``."""
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen


@dataclass(frozen=True)
class Sampler:
    """Draws the blocks of one data set: ``n`` samples of ``stream`` at ``step``, dimension ``d``.

    ``blocks(start, stop)`` yields ``(k, z, ξ)`` for block indices ``start ≤ k < stop`` with
    ``z`` of shape ``(rows_k, d)`` and ``ξ`` of shape ``(rows_k,)`` on ``device`` in ``dtype``.
    """

    seed: int
    stream: str
    step: int
    n: int
    d: int
    block_size: int
    dtype: torch.dtype
    device: str

    @property
    def num_blocks(self) -> int:
        return max(1, math.ceil(self.n / self.block_size))

    def rows(self, k: int) -> int:
        return min(self.block_size, self.n - k * self.block_size)

    def block(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Block ``k``: ``(z (rows, d), ξ (rows,))``."""
        gen = generator(stream_seed(self.seed, self.stream, self.step, k), self.device)
        z = torch.randn(self.block_size, self.d, generator=gen, dtype=self.dtype, device=self.device)
        xi = torch.randn(self.block_size, generator=gen, dtype=self.dtype, device=self.device)
        m = self.rows(k)
        return z[:m], xi[:m]

    def chunks(self, chunk_blocks: int, start: int = 0, stop: int | None = None
               ) -> Iterator[list[tuple[int, torch.Tensor, torch.Tensor]]]:
        """Consecutive chunks of ``chunk_blocks`` whole blocks (the last may hold fewer), in block order,
        over the block indices ``start ≤ k < stop`` (default: all; a process of a data-parallel run asks
        for its own range, ``sim.distributed.shard_range``).

        The blocks of a chunk are drawn into one work space that is reused for the next chunk (fresh large
        tensors per block cost page faults), so a consumer must be done with a chunk before asking for the
        next one. Each block is bitwise the same as ``block(k)``.
        """
        stop = self.num_blocks if stop is None else min(stop, self.num_blocks)
        if start >= stop:
            return
        c = min(chunk_blocks, stop - start)
        zbuf = torch.empty(c, self.block_size, self.d, dtype=self.dtype, device=self.device)
        xbuf = torch.empty(c, self.block_size, dtype=self.dtype, device=self.device)
        for first in range(start, stop, c):
            out = []
            for i, k in enumerate(range(first, min(first + c, stop))):
                gen = generator(stream_seed(self.seed, self.stream, self.step, k), self.device)
                torch.randn(self.block_size, self.d, generator=gen, out=zbuf[i])
                torch.randn(self.block_size, generator=gen, out=xbuf[i])
                m = self.rows(k)
                out.append((k, zbuf[i, :m], xbuf[i, :m]))
            yield out

    def materialize(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The whole data set ``(z (n, d), ξ (n,))`` in one piece — for tests and small baselines only."""
        parts = [self.block(k) for k in range(self.num_blocks)]
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])


TorchFn = Callable[[torch.Tensor], torch.Tensor]


class Preprocess(StrEnum):
    """What a giant step removes from its labels (THEORY §2.3, §3.2): nothing, the target's exact Hermite orders
    ``< ℓ``, or a batch estimate of the orders ``< 2`` — least squares (``estimate``) or the first-Hermite
    estimate (``hermite``)."""

    NONE = "none"
    EXACT = "exact"
    ESTIMATE = "estimate"
    HERMITE = "hermite"


LOW_ESTIMATES = (Preprocess.ESTIMATE, Preprocess.HERMITE)  # the preprocessings estimated on a data set


@dataclass(frozen=True)
class Labels:
    """Label maps of a target ``g*`` with ``r`` variables (THEORY §1, §2.3 preprocessing).

    ``clean(z) = g*(z[:, :r])`` (shape ``(rows,)``); ``noisy(z, ξ) = clean + √Δ ξ``;
    ``step(z, ξ) = T(noisy)`` are the labels a giant step sees (``transform`` ``T``, THEORY §3.5; the identity
    by default); ``train(z, ξ, fit)`` is ``step`` minus the Hermite orders ``< ℓ``: exactly (``low``, the
    target's orders below ``ℓ``) or, for ``preprocess="estimate"`` or ``"hermite"``, a batch estimate
    ``fit = (m, b)`` of the mean and linear part, ``y − m − z·b``; ``clean_preprocessed(z, fit)`` does the
    same to the noiseless labels (the test target of a readout fitted to preprocessed labels).
    """

    g: TorchFn
    r: int
    noise: float
    low: TorchFn | None = None
    transform: TorchFn | None = None

    def clean(self, z: torch.Tensor) -> torch.Tensor:
        return self.g(z[:, : self.r])

    def noisy(self, z: torch.Tensor, xi: torch.Tensor) -> torch.Tensor:
        y = self.clean(z)
        return y + math.sqrt(self.noise) * xi if self.noise > 0 else y

    def step(self, z: torch.Tensor, xi: torch.Tensor) -> torch.Tensor:
        y = self.noisy(z, xi)
        return self.transform(y) if self.transform is not None else y

    def train(self, z: torch.Tensor, xi: torch.Tensor,
              fit: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        return self.remove_low(self.step(z, xi), z, fit)

    def clean_preprocessed(self, z: torch.Tensor, fit: tuple[torch.Tensor, torch.Tensor] | None = None
                           ) -> torch.Tensor:
        return self.remove_low(self.clean(z), z, fit)

    def remove_low(self, y: torch.Tensor, z: torch.Tensor,
                   fit: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """``y − low(z) − (m + z·b)`` (each part only where it is given)."""
        if self.low is not None:
            y = y - self.low(z[:, : self.r])
        if fit is not None:
            m, b = fit
            y = y - (z @ b.to(z.dtype) + m.to(z.dtype))
        return y


def label_transform(text: str) -> TorchFn:
    """``T`` of a label transformation written in ``y`` (THEORY §3.5: ``"y**3"``, ``"tanh(y)"``, ``"He3(y)"``),
    read as ``theory`` reads it (``theory.generative.parse_transform``: the safe parser of ``theory.parse``,
    never ``eval``). Returns ``y (rows,) ↦ T(y) (rows,)`` for torch tensors; ``ValueError`` in one line for
    text it cannot read."""
    import sympy

    from theory.evaluate import compile_expression
    from theory.generative import parse_transform

    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"label_transform must be an expression in y such as 'y**3' or 'tanh(y)'; got {text!r}")
    try:
        expr = parse_transform(text)
    except ValueError as exc:
        raise ValueError(f"label_transform {text!r} cannot be read: {exc}") from None
    fn = compile_expression(expr, [sympy.Symbol("y", real=True)], "torch")
    return lambda v: fn(v[:, None]) if expr.free_symbols else torch.full_like(v, float(expr))


def make_labels(target: str, noise: float, preprocess: Preprocess | str, ell: int,
                transform: str | None = None) -> Labels:
    """``Labels`` for a target string; ``preprocess="exact"`` subtracts ``Target.orders_below(ell)``;
    ``transform`` is the label transformation ``T`` (``label_transform``) the giant steps see."""
    from theory import Target

    tgt = Target.parse(target)
    low = tgt.orders_below(ell).evaluator("torch") if preprocess == Preprocess.EXACT and ell > 1 else None
    return Labels(tgt.evaluator("torch"), tgt.r, float(noise), low,
                  label_transform(transform) if transform is not None else None)


Label = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Reduce = Callable[[list[torch.Tensor]], None]


def linear_fit(sampler: Sampler, labels: Labels, chunk_blocks: int,
               tick: Callable[[int], None] | None = None, blocks: tuple[int, int] | None = None,
               reduce: Reduce | None = None, label: Label | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Least-squares fit ``y ≈ m + z·b`` on the batch, as an experimenter estimates the orders ``< 2`` (§2.3).

    One streamed pass: the ``(d+1)×(d+1)`` Gram matrix of ``[1, z]`` and its product with ``y`` are summed
    per block, in block order, in float64; the fit is the minimum-norm solution (pseudo-inverse).
    Returns ``(m (scalar tensor), b (d,))`` in float64, NaN when the sums are not finite (a diverged run:
    the caller's ``sim.divergence.check_finite`` names it; no decomposition sees them). ``y = label(z, ξ)``
    (default the noisy labels).
    ``blocks = (start, stop)`` restricts the pass to those block indices and ``reduce`` then sums the Gram
    matrix and right-hand side over the processes of a data-parallel run (``sim.distributed``).
    """
    d = sampler.d
    label = label or labels.noisy
    gram = torch.zeros(d + 1, d + 1, dtype=torch.float64, device=sampler.device)
    rhs = torch.zeros(d + 1, dtype=torch.float64, device=sampler.device)
    start, stop = blocks if blocks is not None else (0, sampler.num_blocks)
    for chunk in sampler.chunks(chunk_blocks, start, stop):
        for _, z, xi in chunk:
            y = label(z, xi)
            X = torch.cat([torch.ones(z.shape[0], 1, dtype=z.dtype, device=z.device), z], dim=1)
            gram += (X.T @ X).double()
            rhs += (X.T @ y).double()
        if tick:
            tick(len(chunk))
    if reduce is not None:
        reduce([gram, rhs])
    if not bool(torch.isfinite(gram).all() and torch.isfinite(rhs).all()):
        return torch.tensor(math.nan, dtype=torch.float64), torch.full((d,), math.nan, dtype=torch.float64)
    coef = torch.linalg.pinv(gram, hermitian=True) @ rhs
    return coef[0], coef[1:]


def hermite_fit(sampler: Sampler, label: Label, chunk_blocks: int, tick: Callable[[int], None] | None = None,
                blocks: tuple[int, int] | None = None, reduce: Reduce | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """The first-Hermite estimate of the labels' orders ``< 2`` on a data set (THEORY §3.2, the one-step
    notebook): ``A = mean(y)``, ``B = mean(y z)`` (not a least-squares fit), ``y = label(z, ξ)``.

    One streamed pass, per-block sums added in block order in float64 (``blocks``, ``reduce`` as in
    ``linear_fit``). Returns ``(A (scalar tensor), B (d,))`` in float64.
    """
    total = torch.zeros(sampler.d + 1, dtype=torch.float64, device=sampler.device)
    start, stop = blocks if blocks is not None else (0, sampler.num_blocks)
    for chunk in sampler.chunks(chunk_blocks, start, stop):
        for _, z, xi in chunk:
            y = label(z, xi)
            total[0] += y.double().sum()
            total[1:] += (z.T @ y).double()
        if tick:
            tick(len(chunk))
    if reduce is not None:
        reduce([total])
    total /= sampler.n
    return total[0], total[1:]


def low_estimate(kind: Preprocess | str, sampler: Sampler, labels: Labels, label: Label, chunk_blocks: int,
                 tick: Callable[[int], None] | None = None, blocks: tuple[int, int] | None = None,
                 reduce: Reduce | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(m, b)`` of ``y = label(z, ξ)`` on ``sampler``'s data set: least squares (``kind="estimate"``) or the
    first-Hermite estimate (``"hermite"``)."""
    if kind == Preprocess.ESTIMATE:
        return linear_fit(sampler, labels, chunk_blocks, tick, blocks, reduce, label)
    if kind == Preprocess.HERMITE:
        return hermite_fit(sampler, label, chunk_blocks, tick, blocks, reduce)
    raise ValueError(f"a low-order estimate is one of {', '.join(LOW_ESTIMATES)}; got {kind!r}")
