"""The dense numpy float64 baseline a user would otherwise write: one giant step + ridge readout (THEORY §3).

Everything is materialised: the batch ``Z (n×d)``, the pre-activations ``H (n×p)``, the ridge features
``Φ (n₂×p)``. Same protocol as ``sim`` (symmetric initialisation, ``η = η0·√p·d^{(ℓ−1)/2}``,
normalisation, λ path from one eigendecomposition, held-out λ, test error against the noiseless target),
for the target ``g(x) = x1 + x1·x2`` and relu.
"""

from __future__ import annotations

import math

import numpy as np


def target(Z: np.ndarray) -> np.ndarray:
    return Z[:, 0] + Z[:, 0] * Z[:, 1]


def relu(H: np.ndarray) -> np.ndarray:
    return np.maximum(H, 0.0)


def dense_step(rng: np.random.Generator, d: int, p: int, n: int, lr0: float, ell: int) -> np.ndarray:
    """Symmetric init and one dense float64 giant step on ``n`` materialised samples drawn from ``rng``
    (``Z (n×d)``, ``H (n×p)``); returns the normalised ``W¹`` (``p × d``).

    The same arithmetic as ``sim``'s step: forward ``H = Z Wᵀ``, relu, residual, backward ``Qᵀ Z``."""
    half = rng.standard_normal((p // 2, d))
    half /= np.linalg.norm(half, axis=1, keepdims=True)
    W = np.vstack([half, half])
    a = np.concatenate([np.ones(p // 2), -np.ones(p // 2)])
    eta = lr0 * math.sqrt(p) * d ** ((ell - 1) / 2)
    Z = rng.standard_normal((n, d))
    y = target(Z)
    H = Z @ W.T
    f = relu(H) @ a / math.sqrt(p)
    Q = (H > 0) * ((y - f)[:, None] * a[None, :] / math.sqrt(p))
    del H
    grad = -(Q.T @ Z) / n
    W = W - eta * grad
    return W / np.linalg.norm(W, axis=1, keepdims=True)


def giant_step(d: int, p: int, n: int, lr0: float = 1.0, ell: int = 2, seed: int = 0) -> np.ndarray:
    """``dense_step`` from a fresh generator seeded with ``seed``."""
    return dense_step(np.random.default_rng(seed), d, p, n, lr0, ell)


def single_step_ridge(d: int, p: int, n: int, n_ridge: int, n_test: int, lr0: float = 1.0, ell: int = 2,
                      lambdas: tuple[float, ...] = tuple(10.0 ** (k / 2) for k in range(-12, 3)),
                      holdout: float = 0.2, seed: int = 0) -> dict:
    """One giant step on ``n`` fresh samples, then the ridge readout; returns overlaps and errors."""
    rng = np.random.default_rng(seed)
    W = dense_step(rng, d, p, n, lr0, ell)
    # ridge readout with a λ path
    n_hold = int(round(holdout * n_ridge))
    n_fit = n_ridge - n_hold
    Zr = rng.standard_normal((n_fit, d))
    Phi = relu(Zr @ W.T) / math.sqrt(p)
    yr = target(Zr)
    del Zr
    evals, V = np.linalg.eigh(Phi.T @ Phi / n_fit)
    c = V.T @ (Phi.T @ yr / n_fit)
    del Phi
    A = V @ (c[:, None] / (evals[:, None] + np.asarray(lambdas)[None, :]))
    Zh = rng.standard_normal((n_hold, d))
    hold = ((target(Zh)[:, None] - relu(Zh @ W.T) / math.sqrt(p) @ A) ** 2).mean(0)
    del Zh
    Zt = rng.standard_normal((n_test, d))
    test = ((target(Zt)[:, None] - relu(Zt @ W.T) / math.sqrt(p) @ A) ** 2).mean(0)
    j = int(np.argmin(hold))
    return {"overlaps": W[:, :2], "test_error": float(test[j]), "lambda_best": lambdas[j]}
