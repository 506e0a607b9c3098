"""Binds every .feature file of this directory to the step library (steps/, registered by conftest.py)."""

from pytest_bdd import scenarios

scenarios(".")
