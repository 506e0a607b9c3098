"""Scenarios that must FAIL, run by tests/steps/test_negative.py in a pytest of their own (this module's name
does not match test_*.py, so the suite does not collect it)."""

from pytest_bdd import scenarios

scenarios(".")
