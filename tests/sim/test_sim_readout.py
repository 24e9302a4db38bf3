"""Ridge readout, λ path and preprocessing against direct dense computations (THEORY.md §3, §2.3)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sim import SimConfig, simulate
from sim.data import Sampler, linear_fit, make_labels
from sim.giant_step.readout import best_lambda, fit_ridge, mean_squared_errors
from theory import activation

LAMBDAS = (1e-4, 1e-2, 1.0)


def _data(n: int, d: int, stream: str = "ridge") -> tuple[Sampler, np.ndarray, np.ndarray]:
    s = Sampler(3, stream, 0, n, d, 16, torch.float64, "cpu")
    z, xi = s.materialize()
    return s, z.numpy(), xi.numpy()


def _blocks(s: Sampler, fn):
    for k in range(s.num_blocks):
        z, xi = s.block(k)
        yield z, fn(z, xi)


@pytest.mark.parametrize("n,dual", [(90, False), (25, True)])
def test_ridge_path_equals_dense_solve(n: int, dual: bool) -> None:
    d, p = 12, 40
    W = torch.randn(p, d, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    labels = make_labels("x1 + tanh(x2)", noise=0.2, preprocess="none", ell=1)
    s, z, xi = _data(n, d)
    sigma = activation("relu").torch_pair()[0]
    fit = fit_ridge(_blocks(s, labels.noisy), n, W, sigma, LAMBDAS, dual=dual)
    assert fit.mode == ("dual" if dual else "primal")
    Phi = np.maximum(z @ W.numpy().T, 0) / np.sqrt(p)
    y = labels.noisy(torch.from_numpy(z), torch.from_numpy(xi)).numpy()
    for j, lam in enumerate(LAMBDAS):
        a = np.linalg.solve(Phi.T @ Phi / n + lam * np.eye(p), Phi.T @ y / n)
        np.testing.assert_allclose(fit.weights[:, j].numpy(), a, rtol=1e-7, atol=1e-9)
        assert fit.train_error[j] == pytest.approx(np.mean((y - Phi @ a) ** 2), rel=1e-7, abs=1e-12)
    st, zt, _ = _data(50, d, "test")
    errs = mean_squared_errors(_blocks(st, lambda z, xi: labels.clean(z)), 50, W, sigma, fit.weights)
    yt = labels.clean(torch.from_numpy(zt)).numpy()
    Phit = np.maximum(zt @ W.numpy().T, 0) / np.sqrt(p)
    ref = [np.mean((yt - Phit @ fit.weights[:, j].numpy()) ** 2) for j in range(len(LAMBDAS))]
    np.testing.assert_allclose(errs, ref, rtol=1e-10)


def test_best_lambda_picks_the_smallest_holdout_error() -> None:
    assert best_lambda([3.0, 1.0, 2.0, 1.0]) == 1
    assert best_lambda([float("nan"), 2.0]) == 1


def test_estimated_linear_fit_equals_least_squares() -> None:
    d, n = 6, 300
    labels = make_labels("1 + 2*x1 + x1*x2 + x3**2", noise=0.5, preprocess="estimate", ell=2)
    s = Sampler(1, "train", 0, n, d, 32, torch.float64, "cpu")
    m, b = linear_fit(s, labels, chunk_blocks=3)
    z, xi = s.materialize()
    y = labels.noisy(z, xi).numpy()
    X = np.hstack([np.ones((n, 1)), z.numpy()])
    coef = np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose([float(m), *b.numpy()], coef, rtol=1e-9, atol=1e-10)
    resid = labels.train(z, xi, (m, b)).numpy()
    assert abs(resid.mean()) < 1e-10 and np.abs(z.numpy().T @ resid).max() < 1e-8  # orders 0, 1 removed


def test_exact_preprocessing_removes_orders_below_ell() -> None:
    labels = make_labels("2 + x1 + x1*x2 + x2**2", noise=0.0, preprocess="exact", ell=2)
    z = torch.randn(50, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x1, x2 = z[:, 0], z[:, 1]
    # orders < 2: the constant 2 + E[x2²] = 3 and the linear part x1; left: x1 x2 + He_2(x2)
    assert torch.allclose(labels.train(z, torch.zeros(50, dtype=torch.float64)), x1 * x2 + x2**2 - 1)


def test_record_readout_entries_and_rf_baseline() -> None:
    """t = 0 is the random-features baseline: 16 random relu features of a 20-dimensional input fit
    g = x1 poorly; one giant step with n = 20·d aligns the two halves with ±e1 and the tuned error drops.
    Each record entry is consistent: the tuned error is the test error at the λ with least held-out error."""
    cfg = SimConfig(target="x1", d=20, p=16, n_exp=1.0, n_scale=20, steps=1, n_ridge=2000, n_test=2000,
                    lr0=2.0, ridge_lambdas=(1e-6, 1e-3, 1e-1, 10.0), block_size=256)
    rec = simulate(cfg, 0)
    for e in rec.per_step:
        j = cfg.ridge_lambdas.index(e.lambda_best)
        assert e.test_error == e.test_error_by_lambda[j]
        assert e.holdout_error_by_lambda[j] == min(e.holdout_error_by_lambda)
    rf, trained = rec.per_step[0].test_error, rec.per_step[1].test_error
    assert rf > 0.5 and trained < 0.25 * rf
    assert rec.test_error == trained and rec.overlaps == rec.per_step[1].overlaps
