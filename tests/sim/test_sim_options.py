"""The options of THEORY §3.5 and of issue 20 on ``SimConfig``: ``batch``, ``label_transform``, ``overlap_scale``,
the ``orthogonal`` initialisation, the device-dependent block size — and that they leave stored keys alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sim import SimConfig, simulate
from sim.giant_step.bartlett import reduced_init
from sim.giant_step.init import init_network
from sim.giant_step.options import CUDA_BLOCK, DEFAULT_BLOCK, block_size_for

TINY = dict(d=24, p=4, n_exp=1.0, n_scale=2.0, steps=2, n_ridge=32, n_test=64, ridge_lambdas=(1e-2,), block_size=16,
            device="cpu", dtype="float64", init="gaussian", normalize=False, lr0=0.5)


def test_batch_is_a_field_of_the_key() -> None:
    cfg = SimConfig.from_dict({"batch": "reuse", "d": 64})
    assert cfg.batch == "reuse" and cfg.reuse_batch
    assert cfg.key_dict("cpu")["batch"] == "reuse" and SimConfig().key_dict("cpu")["batch"] == "fresh"
    key = SimConfig().key_dict("cpu")
    assert key["label_transform"] is None and key["overlap_scale"] == "normalized"  # every field, also at its default
    assert SimConfig(label_transform="tanh(y)").key_dict("cpu")["label_transform"] == "tanh(y)"
    with pytest.raises(ValueError, match="batch must be one of fresh, reuse"):
        SimConfig(batch="twice")


@pytest.mark.parametrize("text,match", [("x1**2", "unknown name 'x1'"), ("eval(y)", "unknown name 'eval'"),
                                        ("y**", "ends too early"), ("", "an expression in y")])
def test_a_label_transform_is_read_by_the_safe_parser(text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SimConfig(label_transform=text)


def test_label_transform_rules() -> None:
    with pytest.raises(ValueError, match="preprocess='exact'"):
        SimConfig(label_transform="y**3", preprocess="exact", n_exp=2.0)
    with pytest.raises(ValueError, match="use readout_labels='raw'"):
        SimConfig(label_transform="y**3", preprocess="hermite", readout_labels="preprocessed")


@pytest.mark.parametrize("engine", ["dense", "reduced"])
def test_steps_on_T_of_y_are_steps_on_the_target_T_of_g(engine: str) -> None:
    """``label_transform="y**3 - y"`` on ``g = x1 + x1*x2`` steps exactly as the target ``g³ − g`` does (same
    samples, no noise); the readout still fits ``g`` (its errors differ)."""
    g = "(x1 + x1*x2)"
    a = simulate(SimConfig(**TINY, target="x1 + x1*x2", label_transform="y**3 - y", engine=engine), 0)
    b = simulate(SimConfig(**TINY, target=f"{g}**3 - {g}", engine=engine), 0)
    for ea, eb in zip(a.per_step, b.per_step):
        assert np.allclose(ea.overlaps, eb.overlaps, rtol=1e-6, atol=1e-7)  # stored at float32 precision
        assert ea.batch_loss == pytest.approx(eb.batch_loss, rel=1e-9)
    assert a.test_error != pytest.approx(b.test_error, rel=1e-3)
    assert any("T(y) = y**3 - y" in w for w in a.deviations)


def test_block_size_default_depends_on_the_device() -> None:
    assert SimConfig(device="cpu").block_size == DEFAULT_BLOCK == 4096
    assert block_size_for("cpu", None) == 4096 and block_size_for("cpu", 128) == 128
    if torch.cuda.is_available():
        assert SimConfig(device="cuda").block_size == CUDA_BLOCK == 2**16


def test_orthogonal_initialisation() -> None:
    """Rows orthonormal and orthogonal to the teacher, a = (+1, −1, …); the reduced form is [0, I_p]."""
    W, a = init_network("orthogonal", 3, 10, 7, "cpu", r=2)
    assert torch.allclose(W @ W.T, torch.eye(3, dtype=torch.float64), atol=1e-12)
    assert torch.all(W[:, :2] == 0) and a.tolist() == [1.0, -1.0, 1.0]
    assert torch.equal(reduced_init("orthogonal", 3, 10, 2, 7), torch.cat([torch.zeros(3, 2), torch.eye(3)], 1).double())
    with pytest.raises(ValueError, match="init='orthogonal' needs p ≤ d − r"):
        SimConfig(init="orthogonal", d=5, p=6)


def test_raw_overlaps_are_unnormalised() -> None:
    cfg = SimConfig(**{**TINY, "init": "orthogonal"}, target="x1")
    cos, raw = simulate(cfg, 1), simulate(cfg.replace(overlap_scale="raw"), 1)
    assert raw.per_step[0].overlaps == [[0.0]] * 4 and "not normalised" in raw.overlap_units
    assert not np.allclose(raw.overlaps, cos.overlaps, rtol=1e-3)
