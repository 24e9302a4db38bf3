"""Symbolic side of the suite: Hermite coefficients, leap indices, staircases, predicted errors.

THEORY.md §1–§2. ``theory`` never imports torch at import time.

>>> from theory import Target, activation
>>> Target.parse("x1 + x1*x2 + x1*x2*x3").staircase().dims
(0, 1, 2, 3)
"""

from theory.activations import Activation, HermiteSeries, activation
from theory.arccos import StudentTeacher, relu_kernel, relu_kernel_derivative
from theory.staircase import Staircase, Transitions
from theory.stairway import Stairway
from theory.target import Target

__all__ = ["Activation", "HermiteSeries", "Staircase", "Stairway", "StudentTeacher", "Target", "Transitions", "activation",
           "relu_kernel", "relu_kernel_derivative"]
