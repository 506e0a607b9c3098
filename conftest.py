"""pytest wiring for the Gherkin suites (features/ with steps/).

The step library and the target/sandbox fixtures for scenarios arrive with the experiments; the project's own
tests keep their fixtures in tests/conftest.py.
"""
