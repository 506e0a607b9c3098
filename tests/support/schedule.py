"""The order in which ``make test`` hands test files to its workers: the longest first.

With ``--dist loadfile`` a file runs whole on one worker, so the suite takes at least as long as its longest file,
and a long file handed out last runs alone while the other workers sit idle. By default pytest-xdist queues the
files with the most tests first, which puts the long files of one or two tests (a user's whole path, a game day, a
soak) last. With ``--no-loadscope-reorder`` it queues them in collection order, and this plugin makes that order:
the files known to be long first, longest first, then the others with the most tests first, as xdist would. It only
orders: with the default queueing, or without xdist, it changes nothing.
"""

from __future__ import annotations

from collections import Counter

import pytest

# Seconds each file took in a full `make test` (its tests' setup, call and teardown, from --junitxml), longest first.
# A file missing here comes after these; a figure out of date only makes the schedule less tight, never a test wrong.
LONG_FILES = {
    "tests/packaging/test_installed_wheel.py": 240,  # the user's whole path, after building and installing the wheel
    "tests/run/test_blast_radius.py": 95,
    "tests/deploy/rbac/test_least_privilege.py": 95,
    "tests/reliability/test_verdicts_under_api_faults.py": 75,
    "tests/run/gate/test_discovered.py": 75,
    # its own work (the stock gate); queued after the file above that builds the shared installation
    "tests/packaging/test_installed_commands.py": 75,
    "tests/run/gameday/test_realistic_gameday.py": 75,
    "tests/steps/test_negative.py": 60,
    "tests/run/gate/test_dns_modes.py": 50,
}


def file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def reordered(items: list[pytest.Item]) -> list[pytest.Item]:
    """The items, file by file: the long files first, longest first, then the others by their number of tests, most
    first. The sort is stable: the order within a file, and of files that tie, is collection order."""
    counts = Counter(file_of(item.nodeid) for item in items)

    def rank(item: pytest.Item) -> tuple[int, int]:
        name = file_of(item.nodeid)
        return -LONG_FILES.get(name, 0), -counts[name]

    return sorted(items, key=rank)


@pytest.hookimpl(trylast=True)  # after the plugins that select or skip, so the order is the last word
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("loadscopereorder", default=True) is False:
        items[:] = reordered(items)
