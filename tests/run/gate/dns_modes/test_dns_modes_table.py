"""Binds dns_modes.feature to the step library, for ``xpchaos gate --features tests/run/gate/dns_modes``
(tests/run/gate/test_dns_modes.py, tests/reliability/test_dns_mode_table.py). The feature is tagged @slow: the
suite collects its rows and skips them unless ``-m`` selects slow."""

from pytest_bdd import scenarios

scenarios("dns_modes.feature")
