from __future__ import annotations

import itertools

import pytest

from tests.sandbox.api.http import Http
from tests.support.sandboxes import Sandbox

_counter = itertools.count()


@pytest.fixture
def http(sandbox: Sandbox) -> Http:
    return Http(sandbox)


@pytest.fixture
def ns(http: Http) -> str:
    """A fresh namespace per test."""
    name = f"t{next(_counter)}"
    http.ok(http.post("/api/v1/namespaces", {"metadata": {"name": name}}), 201)
    return name
