"""Symbolic side of the suite: Hermite coefficients, leap indices, staircases, predicted errors.

THEORY.md §1–§3.1. ``theory`` never imports torch at import time.

>>> from theory import Target, activation
>>> g = Target.parse("x1 + x1*x2 + x1*x2*x3")
>>> g.staircase().dims, g.staircase(activation="relu").dims
((0, 1, 2, 3), (0, 1, 2))
"""

from theory.exits import guard_startup

guard_startup()  # python -m …: Ctrl-C while the package imports ends in one line (theory.exits)

from theory.activations import Activation, HermiteSeries, activation
from theory.arccos import StudentTeacher, relu_kernel, relu_kernel_derivative
from theory.generative import GenerativeExponent, LabelExponent, generative_exponent, label_exponent
from theory.orientation import Step2Orientation, step2_orientation
from theory.overlap import OneStepOverlap, ProtocolFloor, estimation_angle, one_step_overlap, protocol_floor
from theory.published import DmftCurve, dtapzk_dmft_curve
from theory.reuse import ReuseReach, reuse_reach
from theory.staircase import Blocked, Staircase, Transitions
from theory.stairway import Stairway
from theory.subspace import complement_in, orthonormal
from theory.target import Target

__all__ = ["Activation", "Blocked", "DmftCurve", "GenerativeExponent", "HermiteSeries", "LabelExponent",
           "OneStepOverlap", "ProtocolFloor", "ReuseReach", "Staircase", "Stairway", "Step2Orientation",
           "StudentTeacher", "Target", "Transitions", "activation", "complement_in", "dtapzk_dmft_curve",
           "estimation_angle", "generative_exponent", "label_exponent", "one_step_overlap", "orthonormal",
           "protocol_floor", "relu_kernel", "relu_kernel_derivative", "reuse_reach", "step2_orientation"]
