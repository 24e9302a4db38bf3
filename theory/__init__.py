"""Symbolic side of the suite: Hermite coefficients, leap indices, staircases, predicted errors.

THEORY.md §1–§3.1. ``theory`` never imports torch at import time.

>>> from theory import Target, activation
>>> g = Target.parse("x1 + x1*x2 + x1*x2*x3")
>>> g.staircase().dims, g.staircase(activation="relu").dims
((0, 1, 2, 3), (0, 1, 2))
"""

from theory.activations import Activation, HermiteSeries, activation
from theory.arccos import StudentTeacher, relu_kernel, relu_kernel_derivative
from theory.overlap import OneStepOverlap, ProtocolFloor, estimation_angle, one_step_overlap, protocol_floor
from theory.staircase import Blocked, Staircase, Transitions
from theory.stairway import Stairway
from theory.subspace import complement_in, orthonormal
from theory.target import Target

__all__ = ["Activation", "Blocked", "HermiteSeries", "OneStepOverlap", "ProtocolFloor", "Staircase", "Stairway",
           "StudentTeacher", "Target", "Transitions", "activation", "complement_in", "estimation_angle",
           "one_step_overlap",
           "orthonormal", "protocol_floor", "relu_kernel", "relu_kernel_derivative"]
