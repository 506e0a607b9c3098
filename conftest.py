"""The Gherkin suites of this repository need nothing here: the step library, its fixtures and ``--target`` come
from the installed package's pytest plugin (``xpchaos.pytest_plugin``, entry point ``pytest11``), exactly as in a
platform team's own repository after ``pip install xpchaos``."""
