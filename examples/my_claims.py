# examples/my_claims.py — run with: python -m verify --claims-file examples/my_claims.py --claims MY-single --profile quick
from verify import Alternative, Claim, Evaluation, Ladder, Variant, rules
from verify.claims.common import decide_fit, fit_or_none, overlaps, singular_value
from verify.claims.one_step import one_step_prediction

CONFIG = dict(target="x1 + x2*x3", activation="relu", n_exp=1.0, steps=1, lr0=2.0, p=64, readout="none")


def evaluate(pred, runs):
    """Only C_1 = e1 is learned: the singular value after the learned ones decays like d^-1/2."""
    m = pred["dim_learned"]                     # from theory: dim range C_1 = 1
    fit = fit_or_none(runs.values("", lambda rec: singular_value(overlaps(rec), m + 1)))
    decision = decide_fit(fit, "exponent", f"s_{m + 1}", expected=-0.5)
    measured = f"d^{fit.slope:+.2f} [{fit.ci[0]:+.2f}, {fit.ci[1]:+.2f}]" if fit else "not measured"
    return Evaluation(decision, f"s_{m + 1} ≍ d^-1/2", measured, {"fit": fit.to_dict() if fit else None})


CLAIMS = [Claim(
    id="MY-single", source="my notes", status="conjecture",
    statement="n ≍ d learns only C_1 of x1 + x2·x3",
    predict=lambda: one_step_prediction(CONFIG["target"], 1, False, CONFIG["activation"]),
    ladders={"smoke": Ladder((Variant("", CONFIG, (16, 32)),), 2),
             "quick": Ladder((Variant("", CONFIG, (64, 128, 256, 512)),), 6)},
    evaluate=evaluate,
    statistic="second singular value of M/√p", rule=f"s_2: {rules.exponent_text(-0.5)}",
    # THEORY §5.1: a false alternative the same rule must refute on the same runs ("nothing is learned": then
    # s_1 would decay like d^-1/2 too); without one a verdict cannot be CONFIRMED
    controls=(Alternative("U_1step = {0}: nothing learned", lambda pred: {**pred, "dim_learned": 0}),))]
