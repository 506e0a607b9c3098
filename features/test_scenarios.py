"""Binds every .feature file of this directory to the step library of xpchaos (``xpchaos.steps``, registered by its
pytest plugin when xpchaos is installed): ``pytest features/``."""

from pytest_bdd import scenarios

scenarios(".")
