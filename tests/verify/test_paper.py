"""The paper-style stairway figures: the plateau mapping on known targets, the run grid, the renderer, and
``python -m verify figures`` end to end on the smoke profile (THEORY.md §2.5, §2.6, §2.8)."""

import json

import matplotlib
import numpy as np
import pytest

from sim.giant_step.config import SimConfig
from verify.claims.base import RunSet
from verify.figures import draw, figure_size
from verify.paper import (GRID, LR0, READOUT, SIZES, STAIRWAY_FIGURES, STEPS, StairwayFigure, leap, main, plateaus,
                          readout_kappa)
from verify.profiles import PROFILES
from tests.records import run_record

matplotlib.use("Agg")


def test_grid_is_dense_and_covers_the_paper_range():
    assert len(GRID) >= 12 and min(GRID) == 0.5 and max(GRID) == 2.25
    assert list(GRID) == sorted(GRID)


def test_leap_and_readout_kappa():
    assert [leap(x) for x in (0.5, 0.999, 1.0, 1.875, 2.0, 2.25)] == [0, 0, 1, 1, 2, 2]
    assert readout_kappa() == 1  # p ≍ d^1, n₂ ≍ d^1.5
    assert readout_kappa({"p": (1.0, 2.0), "n_ridge": (1.0, 2.5)}) == 2
    assert readout_kappa({"p": (1.0, 0.5), "n_ridge": (1.0, 2.0)}) == 0


def test_plateaus_of_a_two_index_staircase_by_hand():
    # g = x1 + x1x2 + He2(x2)/2, ‖g‖² = 1 + 1 + 1/2; κ = 1 keeps degree ≤ 1 in the unlearned coordinates:
    # {0}: the linear part x1 is kept → 3/2; span e1: x1 + x1x2 kept, He2(x2)/2 lost → 1/2; R²: 0.
    # ℓ = 1: e1 at T = 1 (C_1), e2 at T = 2 (E[g x2 | x1] = x1, needs μ2(relu) ≠ 0); ℓ = 2: C_2 has rank 2.
    segs = plateaus("x1 + x1*x2 + He2(x2)/2", "relu", GRID, 4, 1)
    assert [(s["from"], s["to"], s["leap"]) for s in segs] == [(0.5, 1.0, 0), (1.0, 2.0, 1), (2.0, 2.25, 2)]
    assert [segs[0]["errors"][str(T)] for T in range(5)] == pytest.approx([1.5] * 5)
    assert [segs[1]["errors"][str(T)] for T in range(5)] == pytest.approx([1.5, 0.5, 0, 0, 0])
    assert [segs[2]["errors"][str(T)] for T in range(5)] == pytest.approx([1.5, 0, 0, 0, 0])


def test_plateaus_are_sigma_aware():
    # g = x1 + x1x2 + x1x2x3, κ = 0 (functions of x_U only): the third stair needs μ3(σ) ≠ 0 (§2.8); relu has
    # μ3 = 0 and stops at span(e1, e2), so x1x2x3 (‖·‖² = 1) stays; relu + He3/6 climbs it
    relu = plateaus("x1 + x1*x2 + x1*x2*x3", "relu", (1.0, 1.5), 3, 0)[0]["errors"]
    climbs = plateaus("x1 + x1*x2 + x1*x2*x3", "relu + He3/6", (1.0, 1.5), 3, 0)[0]["errors"]
    assert [relu[str(T)] for T in range(4)] == pytest.approx([3, 2, 1, 1])
    assert [climbs[str(T)] for T in range(4)] == pytest.approx([3, 2, 1, 0])


def test_single_index_target_needs_the_second_leap():
    segs = plateaus("He2(x1)/2 + He3(x1)/6", "relu", GRID, 4, 1)
    # ‖g‖² = 2/4 + 6/36 = 2/3, no degree ≤ 1 part: the κ = 1 baseline is all of it, until ℓ = 2 learns e1
    assert [s["errors"]["4"] for s in segs] == pytest.approx([2 / 3, 2 / 3, 0.0])
    assert [s["errors"]["0"] for s in segs] == pytest.approx([2 / 3] * 3)


def test_run_grid_maps_x_to_leap_step_and_preprocessing():
    fig = STAIRWAY_FIGURES[1]
    cfgs = {x: SimConfig.from_dict({**fig.config(x), "d": 64}) for x in (0.75, 1.875, 2.0)}
    assert (cfgs[0.75].ell, cfgs[0.75].preprocess) == (1, "none")
    assert (cfgs[1.875].ell, cfgs[1.875].preprocess) == (1, "none")  # round(1.875) = 2 would be the default
    assert (cfgs[2.0].ell, cfgs[2.0].preprocess) == (2, "exact")
    assert cfgs[2.0].lr_per_neuron == pytest.approx(LR0 * 8)  # η̃ = η0·d^((ℓ−1)/2), √64 = 8
    assert cfgs[2.0].n == 64 ** 2 and cfgs[2.0].init == "gaussian" and cfgs[2.0].output_scale == "1/p"
    ladder = fig.ladder("quick")
    d = SIZES["quick"].d
    assert len(ladder.variants) == len(GRID) and ladder.seeds == SIZES["quick"].seeds
    cfg = ladder.variants[0].config_at(d)
    assert (cfg["p"], cfg["n_ridge"]) == (round(READOUT["p"][0] * d), round(READOUT["n_ridge"][0] * d ** 1.5))
    assert set(SIZES) == set(PROFILES) and SIZES["full"].d > SIZES["quick"].d


def synthetic_runs(fig: StairwayFigure, d: int, seeds: int = 2) -> RunSet:
    rng = np.random.default_rng(0)
    runs = {}
    for x in GRID:
        runs[fig.arm(x)] = {d: [run_record([{"test_error": 1.5 - 0.3 * T * (x > 1) + 0.01 * rng.standard_normal()}
                                            for T in range(STEPS + 1)], key=f"{x}-{s}")
                                for s in range(seeds)]}
    return RunSet(runs)


def test_plot_data_and_renderer(tmp_path):
    import matplotlib.pyplot as plt

    fig = STAIRWAY_FIGURES[1]
    runs = synthetic_runs(fig, SIZES["quick"].d)
    del runs.runs[fig.arm(GRID[3])]  # a grid point whose runs diverged: a gap, not a crash
    plot = fig.plot(runs, "quick")
    data = plot.data
    assert data["kappa"] == 1 and data["seeds"] == 2 and data["boundaries"] == [1.0, 2.0]
    assert data["measured"]["0"]["mean"][3] is None
    assert data["measured"]["2"]["mean"][-1] == pytest.approx(0.9, abs=0.05)
    m = data["measured"]["2"]
    assert all(lo <= mu <= hi for lo, mu, hi in zip(m["lo"], m["mean"], m["hi"]) if mu is not None)
    json.dumps(data, allow_nan=False)  # stored as plain, finite JSON
    f = plt.figure(figsize=figure_size(plot.figure))
    draw(f, plot)
    f.savefig(tmp_path / "s.png")
    plt.close(f)
    assert (tmp_path / "s.png").stat().st_size > 10_000


def test_figures_command_runs_then_draws_from_the_store(tmp_path, capsys, monkeypatch):
    import verify.paper as paper

    monkeypatch.setattr(paper, "GRID", GRID[::7])  # three exponents keep the test fast; the mechanics are the same
    runs = len(paper.GRID)
    args = ["--profile", "smoke", "--only", STAIRWAY_FIGURES[1].name, "--store", str(tmp_path / "s.sqlite"),
            "--out", str(tmp_path / "out"), "--no-progress"]
    assert main(args) == 0
    first = capsys.readouterr().out
    png = tmp_path / "out" / "smoke" / f"{STAIRWAY_FIGURES[1].name}.png"
    assert png.stat().st_size > 10_000
    data = json.loads(png.with_suffix(".json").read_text())
    assert data["grid"] == list(paper.GRID) and data["d"] == SIZES["smoke"].d
    assert f"{runs} runs ({runs} simulated)" in first
    assert main(args) == 0
    assert f"{runs} runs (0 simulated)" in capsys.readouterr().out
    assert main(args + ["--list"]) == 0
    assert f"{runs} runs, {runs} stored" in capsys.readouterr().out


@pytest.mark.parametrize("bad", [["--only", "nope"], ["--profile", "huge"], ["--bogus"]])
def test_figures_command_bad_input_is_one_line_exit_2(tmp_path, capsys, bad):
    assert main(bad + ["--store", str(tmp_path / "s.sqlite"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("python -m verify figures: error:")
