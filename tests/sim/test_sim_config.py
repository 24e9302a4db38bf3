"""SimConfig validation, derived sizes, files and keys (issue item 5)."""

from __future__ import annotations

import math

import pytest

from sim import SimConfig, load_config, execution_plan, run_key
from sim.giant_step.config import parse_memory


def test_derived_sizes_and_learning_rate() -> None:
    cfg = SimConfig(target="x1*x2", d=100, p=50, n_exp=2.0, n_scale=0.5, lr0=0.3, output_scale="1/sqrt(p)")
    assert cfg.n == 5000 and cfg.ell_resolved == 2 and cfg.r == 2
    assert cfg.lr == pytest.approx(0.3 * math.sqrt(50) * 100 ** 0.5)
    # the per-neuron step η̃ = lr0·d^((ℓ−1)/2) is the same under both output scales; η = η̃/s_p
    mean_field = cfg.replace(output_scale="1/p")
    assert cfg.lr_per_neuron == mean_field.lr_per_neuron == pytest.approx(0.3 * 10)
    assert mean_field.lr == pytest.approx(0.3 * 10 * 50) and mean_field.scale == 1 / 50
    assert SimConfig().output_scale == "1/p" and SimConfig().init == "symmetric"
    # the one-step notebook's rule: η̃ = lr0·√(n/p), n = ⌊d^κ⌋
    nb = SimConfig(d=512, p=1024, n_exp=1.3, n_round="floor", lr_rule="sqrt(n/p)", lr0=10.0)
    assert nb.n == 3326 and nb.replace(n_round="ceil").n == 3327
    assert nb.lr_per_neuron == pytest.approx(10 * math.sqrt(3326 / 1024)) and nb.lr == pytest.approx(10 * math.sqrt(3326 * 1024))
    assert cfg.n_ridge_resolved == 5000 and cfg.n_holdout == 1000 and cfg.n_fit == 4000
    assert SimConfig(d=1000, n_exp=1.5).n == math.ceil(1000**1.5)
    assert SimConfig(d=64, n_exp=1.4, ell=3).ell_resolved == 3
    assert SimConfig(d=64, n_exp=0.4).ell_resolved == 1


@pytest.mark.parametrize("kwargs,needle", [
    (dict(p=63), "p must be even"),
    (dict(output_scale="1/d"), "output_scale must be one of 1/p, 1/sqrt(p)"),
    (dict(init="uniform"), "init must be one of symmetric, gaussian, hypercube"),
    (dict(engine="fast"), "engine must be one of auto, dense, reduced"),
    (dict(protocol="dklps"), "protocol must be one of dklps-one-step, dklps-multi-step"),
    (dict(engine="reduced", preprocess="estimate", ell=2), "engine='reduced' cannot run this config exactly"),
    (dict(engine="reduced", bf16=True), "use engine='dense' or 'auto'"),
    (dict(readout_labels="preprocessed"), "set preprocess"),
    (dict(test_estimate="test", preprocess="exact", readout_labels="preprocessed"), "test_estimate='test'"),
    (dict(preprocess="hermite", ell=3), "needs preprocess='exact'"),
    (dict(target="x1 + x5", d=4), "d=4 is smaller than the target's r=5"),
    (dict(activation="swish"), "unknown activation 'swish'"),
    (dict(lr0=float("nan")), "lr0 must be a finite number"),
    (dict(lr0=float("inf")), "lr0 must be a finite number"),
    (dict(lr0=1e300, ell=40, d=10**6), "not finite"),
    (dict(preprocess="estimate", ell=3), "needs preprocess='exact'"),
    (dict(preprocess="magic"), "preprocess must be one of none, exact, estimate, hermite"),
    (dict(noise=-1), "noise must be a finite number ≥ 0"),
    (dict(ridge_lambdas=(0.1, 0.0)), "each ridge λ must be a finite number > 0"),
    (dict(ridge_lambdas=()), "at least one positive λ"),
    (dict(holdout=1.0), "holdout must be a fraction in (0, 1)"),
    (dict(n_ridge=3, holdout=0.05), "empty fit or held-out split"),
    (dict(device="tpu"), "device must be auto, cpu, cuda or cuda:N"),
    (dict(dtype="float16"), "dtype must be one of float32, float64"),
    (dict(d=2.5), "d must be an integer"),
    (dict(normalize="yes"), "normalize must be true or false"),
    (dict(max_memory="lots"), "max_memory must be a size"),
    (dict(target="__import__('os')"), "cannot be read"),
    (dict(n_exp=9.0, d=10**4), "beyond any budget"),
])
def test_invalid_input_fails_with_one_clear_line(kwargs: dict, needle: str) -> None:
    with pytest.raises(ValueError) as exc:
        SimConfig(**kwargs)
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_memory_budget_is_checked_before_any_compute() -> None:
    cfg = SimConfig(d=512, p=1024, block_size=4096, max_memory="10MB")
    with pytest.raises(ValueError, match="max_memory=10.0 MiB is too small.*raise --max-memory to at least"):
        execution_plan(cfg)
    assert execution_plan(cfg.replace(max_memory="1GB")).chunk_blocks >= 1


def test_cuda_request_without_cuda_fails_clearly() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ValueError, match="CUDA is not available here; use --device cpu or auto"):
        execution_plan(SimConfig(device="cuda"))


def test_parse_memory_units() -> None:
    assert parse_memory("512MB") == 512 * 2**20
    assert parse_memory("1.5g") == int(1.5 * 2**30)
    assert parse_memory(1000) == 1000 and parse_memory(None) is None


def test_yaml_json_and_overrides(tmp_path) -> None:
    y = tmp_path / "c.yaml"
    y.write_text("target: x1 + x1*x2\nd: 64\np: 32\nridge_lambdas: [0.1, 1]\nnormalize: false\n")
    cfg = load_config(y, d=128)
    assert cfg.d == 128 and cfg.p == 32 and cfg.ridge_lambdas == (0.1, 1.0) and cfg.normalize is False
    j = tmp_path / "c.json"
    j.write_text('{"target": "x1", "lr": 2}')
    with pytest.raises(ValueError, match="unknown config field 'lr'"):
        load_config(j)
    assert SimConfig.from_dict(cfg.to_dict()) == cfg


def test_key_depends_on_results_not_on_memory_budget() -> None:
    cfg = SimConfig(target="x1", d=64, p=32)
    k = run_key(cfg, 0, "cpu")
    assert run_key(cfg.replace(max_memory="3GB"), 0, "cpu") == k
    assert run_key(cfg.replace(n_ridge=cfg.n), 0, "cpu") == k  # default resolved: same experiment
    assert len({k, run_key(cfg, 1, "cpu"), run_key(cfg, 0, "cuda"), run_key(cfg.replace(lr0=2.0), 0, "cpu"),
                run_key(cfg, 0, "cpu", version="other")}) == 5
