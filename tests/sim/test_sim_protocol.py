"""The network, the symmetric initialisation and the streamed giant step (THEORY.md §3)."""

from __future__ import annotations

import math

import pytest
import torch

from sim.data import Sampler, make_labels
from sim.giant_step.init import init_weights, second_layer
from sim.giant_step.protocol import Forward, Network, giant_step, streamed_gradient
from theory import activation


@pytest.mark.parametrize("act", ["relu", "tanh", "erf", "He2", "relu[2:]"])
def test_symmetric_init_output_is_exactly_zero(act: str) -> None:
    W0 = init_weights(p=64, d=40, seed=3, device="cpu")
    assert torch.equal(W0[:32], W0[32:])
    assert torch.allclose(W0.norm(dim=1), torch.ones(64, dtype=torch.float64))
    net = Network(W0, second_layer(64), 1 / 64, activation(act).torch_pair(), symmetric=True, dtype=torch.float32)
    z = torch.randn(500, 40, generator=torch.Generator().manual_seed(1))
    f = -Forward(net).residuals(z, torch.zeros(500)).res  # the residuals y − f of labels y = 0
    assert f.shape == (500,)
    assert torch.count_nonzero(f) == 0  # exactly, not up to rounding
    # the same weights as one network (not the difference of halves) are zero only up to rounding
    loose = -Forward(Network(W0, second_layer(64), 1 / 64, net.pair, False, torch.float32)).residuals(
        z, torch.zeros(500)).res
    assert float(loose.abs().max()) < 1e-5


def _autograd(W: torch.Tensor, z: torch.Tensor, y: torch.Tensor, sigma) -> tuple[torch.Tensor, float]:
    """∇_W of L = (1/2n) Σ (y − (1/√p) Σ_i a_i σ(⟨w_i, z⟩))² by torch.autograd on the whole batch."""
    W = W.clone().requires_grad_(True)
    a = second_layer(W.shape[0])
    f = sigma(z @ W.T) @ a / math.sqrt(W.shape[0])
    loss = ((y - f) ** 2).sum() / (2 * len(y))
    loss.backward()
    return W.grad, float(loss.detach())


@pytest.mark.parametrize("act,target,preprocess", [("tanh", "x1 + x1*x2", "none"), ("relu", "x1*x2 + x2**2", "exact"),
                                                   ("gelu", "1 + x1 + x3**3", "none")])
def test_streamed_gradient_equals_autograd(act: str, target: str, preprocess: str) -> None:
    d, p, n = 24, 10, 203  # 203 = 6 blocks of 32 and one of 11
    gen = torch.Generator().manual_seed(7)
    W = torch.randn(p, d, generator=gen, dtype=torch.float64)  # asymmetric: f ≠ 0, residuals matter
    W = W / W.norm(dim=1, keepdim=True)
    labels = make_labels(target, noise=0.3, preprocess=preprocess, ell=2)
    sampler = Sampler(11, "train", 0, n, d, 32, torch.float64, "cpu")
    pair = activation(act).torch_pair()
    blocks = ((z, labels.train(z, xi)) for k in range(sampler.num_blocks) for z, xi in [sampler.block(k)])
    grad, loss = streamed_gradient(W, blocks, n, pair, torch.float64)
    z, xi = sampler.materialize()
    assert z.shape == (n, d)
    y = labels.train(z, xi)
    ref, ref_loss = _autograd(W, z, y, pair[0])
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    assert torch.allclose(grad, ref, rtol=1e-10, atol=1e-13)
    assert float(ref.abs().max()) > 1e-3  # the comparison is not between two zeros


def test_first_step_from_symmetric_init_is_antisymmetric() -> None:
    """At W⁰, f ≡ 0 and a_{i+p/2} = −a_i, so the two halves receive exactly opposite gradients."""
    d, p, n = 30, 8, 100
    W0 = init_weights(p, d, seed=0, device="cpu")
    labels = make_labels("x1 + x1*x2", 0.0, "none", 1)
    sampler = Sampler(0, "train", 0, n, d, 16, torch.float32, "cpu")
    blocks = ((z, labels.train(z, xi)) for k in range(sampler.num_blocks) for z, xi in [sampler.block(k)])
    grad, loss = streamed_gradient(W0, blocks, n, activation("relu").torch_pair(), torch.float32)
    assert torch.equal(grad[: p // 2], -grad[p // 2:])
    z, xi = sampler.materialize()
    assert loss == pytest.approx(float((labels.train(z, xi).double() ** 2).mean()) / 2, rel=1e-6)


def test_giant_step_update_and_normalisation() -> None:
    gen = torch.Generator().manual_seed(0)
    W = torch.randn(6, 5, generator=gen, dtype=torch.float64)
    G = torch.randn(6, 5, generator=gen, dtype=torch.float64)
    assert torch.equal(giant_step(W, G, 0.5, normalize=False), W - 0.5 * G)
    Wn = giant_step(W, G, 0.5, normalize=True)
    assert torch.allclose(Wn, (W - 0.5 * G) / (W - 0.5 * G).norm(dim=1, keepdim=True))


def test_bf16_gradient_is_close_to_float32_and_keeps_f_w0_exact() -> None:
    """``bf16``: the step's products take bfloat16 inputs; the gradient stays within bfloat16 rounding of the
    float32 one (autograd-checked above), and the first step from W⁰ is still exactly antisymmetric."""
    d, p, n = 48, 32, 1000
    W = torch.randn(p, d, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    W = W / W.norm(dim=1, keepdim=True)
    labels = make_labels("x1 + x1*x2", 0.0, "none", 1)
    sampler = Sampler(1, "train", 0, n, d, 128, torch.float32, "cpu")

    def grad(W: torch.Tensor, bf16: bool) -> torch.Tensor:
        blocks = ((z, labels.train(z, xi)) for k in range(sampler.num_blocks) for z, xi in [sampler.block(k)])
        return streamed_gradient(W, blocks, n, activation("relu").torch_pair(), torch.float32, bf16=bf16)[0]

    ref, low = grad(W, False), grad(W, True)
    rel = float((low - ref).norm() / ref.norm())
    assert 1e-5 < rel < 3e-2  # it is bf16 (not silently float32), and close
    W0 = init_weights(p, d, seed=0, device="cpu")
    g0 = grad(W0, True)
    assert torch.equal(g0[: p // 2], -g0[p // 2:])


def test_bf16_needs_float32_without_tf32() -> None:
    from sim import SimConfig

    with pytest.raises(ValueError, match="bf16"):
        SimConfig(bf16=True, dtype="float64")
    with pytest.raises(ValueError, match="bf16"):
        SimConfig(bf16=True, tf32=True)
