"""Sequential Gaussian conditioning: a batch used more than once, exactly, at a cost independent of ``d`` (THEORY.md §3.4).

A batch is ``Z = [Z_S, M]``: ``Z_S`` (``n × k``) explicit, ``M`` (``n × m``, ``m = d − k``, i.i.d. ``N(0, 1)``)
never formed. What the run has learnt of ``M`` is

* left probes: ``L`` (``n × a``, orthonormal columns) and ``A = MᵀL`` written in the coordinates of the
  *discovered right space* ``R_d`` (``dr`` orthonormal axes of ``R^m``, which the run appends to its
  coordinates);
* right probes: ``R_p`` (``dr × b``, orthonormal columns in ``R_d`` coordinates) and ``M R_p`` (``n × b``);

and, given all of it, ``M = LLᵀM + (I − LLᵀ) M R_pR_pᵀ + (I − LLᵀ) M̃ (I − R_pR_pᵀ)`` with ``M̃`` fresh.
Hence (§3.4), probes split first into their known part and an orthonormal new part:

* new left probes ``Q ⟂ L`` (``n × q``: rows of the step's ``C``, the labels ``y``): ``MᵀQ = R_p (M R_p)ᵀ Q``
  + i.i.d. ``N(0, 1)`` on the axes of ``R_d ⊖ R_p`` + on ``c = min(q, m − dr)`` new axes the Bartlett factor
  of a ``q × (m − dr)`` Gaussian matrix (``sim.giant_step.bartlett``: row ``j`` gets ``χ_{m−dr−j}`` on its
  own new axis and ``N(0, 1)`` on those of the rows before it — the one-probe rule of §3.4 applied in turn);
* new right probes ``P ⟂ R_p``, ``P ⊂ R_d`` (``dr × q``: the neurons' parts on ``R_d``, ``B``'s part):
  ``M P = L (MᵀL)ᵀ P + (I − LLᵀ) Ξ``, ``Ξ`` an ``n × q`` standard Gaussian matrix.

Everything explicit is an ``n``-vector or a coordinate on at most (number of probes) axes, so ``T`` steps of
width ``p`` cost ``O(n·(pT)²)``. New parts are found by two passes of Gram–Schmidt against the known
probes and an SVD; a direction whose singular value is below ``RANK_TOL`` times the largest probe norm is
known already (e.g. ``C_{i+p/2} = −C_i`` after the symmetric initialisation) and adds nothing.

Draws come from a ``torch.Generator`` (``n``-vectors) and a numpy ``Generator`` (Bartlett factors) seeded
from ``sim.keys.stream_seed`` by the caller, so a replayed sequence of probes gives the same bits.

``PERTURBATIONS`` are deliberately wrong variants (``Conditioner.perturb``), for the exactness tests only:
``"no-Rd-gaussians"`` (no ``N(0, 1)`` on ``R_d ⊖ R_p``, including the axes of a block's earlier probes:
the Bartlett factor's below-diagonal), ``"chi-m"`` (``χ_{m−j}`` instead of ``χ_{m−dr−j}``)
and ``"no-L-part"`` (a right probe's ``L (MᵀL)ᵀ P`` dropped).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from sim.giant_step.bartlett import bartlett

RANK_TOL = 1e-9
PERTURBATIONS = ("", "no-Rd-gaussians", "chi-m", "no-L-part")


def project_out(basis: torch.Tensor, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(coef, X⊥)`` with ``X = basis·coef + X⊥`` and ``X⊥ ⟂ basis`` (orthonormal columns; two passes)."""
    if basis.shape[1] == 0:
        return X.new_zeros(0, X.shape[1]), X
    coef = basis.T @ X
    perp = X - basis @ coef
    again = basis.T @ perp
    return coef + again, perp - basis @ again


def new_directions(perp: torch.Tensor, ref: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(Q (rows × q'), coef (q' × q))`` with orthonormal ``Q`` and ``perp ≈ Q coef``, keeping the singular
    values above ``RANK_TOL · ref``."""
    if perp.shape[1] == 0 or ref <= 0.0:
        return perp.new_zeros(perp.shape[0], 0), perp.new_zeros(0, perp.shape[1])
    U, S, Vh = torch.linalg.svd(perp, full_matrices=False)
    keep = S > RANK_TOL * ref
    return U[:, keep], S[keep, None] * Vh[keep]


def _pad_rows(X: torch.Tensor, rows: int) -> torch.Tensor:
    return torch.cat([X, X.new_zeros(rows - X.shape[0], X.shape[1])]) if rows > X.shape[0] else X


@dataclass(frozen=True)
class Conditioner:
    """What is known of the hidden block ``M`` (``n × m``) of one batch (module docstring); a value — each
    probe returns its answer and the new ``Conditioner``.

    Attributes
    ----------
    m : int
        Columns of ``M`` (``d − k`` when the batch was drawn in ``k`` coordinates).
    L, A : torch.Tensor
        Left probes (``n × a``) and ``MᵀL`` in ``R_d`` coordinates (``dr × a``), float64.
    Rp, MR : torch.Tensor
        Right probes (``dr × b``) and ``M R_p`` (``n × b``), float64.
    dr : int
        Axes of the discovered right space ``R_d`` (appended to the run's coordinates).
    perturb : str
        ``""``, or one of the wrong variants of ``PERTURBATIONS`` (tests only).
    """

    m: int
    L: torch.Tensor
    A: torch.Tensor
    Rp: torch.Tensor
    MR: torch.Tensor
    dr: int = 0
    perturb: str = ""

    @classmethod
    def empty(cls, n: int, m: int, device: str | torch.device = "cpu", perturb: str = "") -> Conditioner:
        """Nothing known yet of an ``n × m`` block."""
        if perturb not in PERTURBATIONS:
            raise ValueError(f"perturb must be one of {PERTURBATIONS}; got {perturb!r}")
        z = lambda r, c: torch.zeros(r, c, dtype=torch.float64, device=device)  # noqa: E731
        return cls(m, z(n, 0), z(0, 0), z(0, 0), z(n, 0), 0, perturb)

    @property
    def n(self) -> int:
        return int(self.L.shape[0])

    def left(self, U: torch.Tensor, gen: torch.Generator, npgen: np.random.Generator
             ) -> tuple[torch.Tensor, Conditioner]:
        """``MᵀU`` (``dr' × q``, ``R_d`` coordinates after the call) for ``U`` (``n × q``, float64)."""
        coef, perp = project_out(self.L, U)
        Q, cq = new_directions(perp, float(U.norm(dim=0).max()) if U.numel() else 0.0)
        known = self.A @ coef  # dr × q
        q = Q.shape[1]
        if q == 0:
            return known, self
        part = self.Rp @ (self.MR.T @ Q)  # dr × q: R_p (M R_p)ᵀ Q
        free = self.dr - self.Rp.shape[1]
        if free > 0 and self.perturb != "no-Rd-gaussians":
            E = torch.linalg.qr(self.Rp, mode="complete")[0][:, self.Rp.shape[1]:] if self.Rp.shape[1] else \
                torch.eye(self.dr, dtype=torch.float64, device=U.device)
            part = part + E @ torch.randn(free, q, generator=gen, dtype=torch.float64, device="cpu").to(U.device)
        unseen = self.m - self.dr
        c = min(q, max(unseen, 0))
        D = self.m if self.perturb == "chi-m" else unseen
        new = torch.from_numpy(bartlett(q, max(D, 0), npgen)[:, :c]).to(U.device)  # q × c
        if self.perturb == "no-Rd-gaussians":  # also the N(0, 1) on the axes of the block's earlier probes
            new = new * torch.eye(q, c, dtype=new.dtype, device=new.device)
        dr = self.dr + c
        MtQ = torch.cat([part, new.T])  # dr' × q
        out = _pad_rows(known, dr) + MtQ @ cq
        cond = replace(self, L=torch.cat([self.L, Q], dim=1), A=torch.cat([_pad_rows(self.A, dr), MtQ], dim=1),
                       Rp=_pad_rows(self.Rp, dr), dr=dr)
        return out, cond

    def right(self, V: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, Conditioner]:
        """``M V`` (``n × q``) for ``V`` (``dr × q`` or fewer rows, ``R_d`` coordinates, float64)."""
        V = _pad_rows(V, self.dr)
        coef, perp = project_out(self.Rp, V)
        P, cp = new_directions(perp, float(V.norm(dim=0).max()) if V.numel() else 0.0)
        known = self.MR @ coef
        q = P.shape[1]
        if q == 0:
            return known, self
        xi = torch.randn(self.n, q, generator=gen, dtype=torch.float64, device="cpu").to(V.device)
        MP = xi - self.L @ (self.L.T @ xi)
        if self.perturb != "no-L-part":
            MP = MP + self.L @ (self.A.T @ P)
        cond = replace(self, Rp=torch.cat([self.Rp, P], dim=1), MR=torch.cat([self.MR, MP], dim=1))
        return known + MP @ cp, cond

    def coordinates(self, V: torch.Tensor) -> torch.Tensor:
        """``R_pᵀ V``: ``V`` (``dr × q``, in the span of ``R_p``) in right-probe coordinates (``b × q``)."""
        return self.Rp.T @ _pad_rows(V, self.dr)


__all__ = ["PERTURBATIONS", "RANK_TOL", "Conditioner", "new_directions", "project_out"]
