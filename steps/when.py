"""When: run an experiment file, or inject one fault directly, through chaoslib in the main thread.

Before the run the step takes a snapshot of everything the faults can touch (``xpchaos.run.snapshot``), so a Then
step can tell that the cluster was left exactly as before. Bad input (a missing experiment file, an invalid
target, an unknown provider) fails the step before any fault, with the one-line message saying what to fix.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import parsers, when

from xpchaos.core.target import TargetError
from xpchaos.run import adhoc, runner, snapshot, sources

from .world import NAME, World


def _experiment_path(name: str) -> Path:
    """The path as written; else ``experiments/NAME`` in the working directory; else the copy shipped with xpchaos."""
    return sources.experiment(name).path


def _run(world: World, experiment: Path | dict[str, Any], provider: str,
         overrides: dict[str, Any] | None = None) -> None:
    try:
        _prepared, target = runner.prepare(experiment, world.target.path, overrides)  # bad input: before any fault
        target.provider(provider)
    except (runner.ExperimentError, TargetError) as exc:
        pytest.fail(f"nothing was run: {exc}", pytrace=False)
    world.before = snapshot.take(world.target)
    world.started_at = time.time()
    world.result = runner.run(experiment, world.target.path, overrides, journal_path=world.journal_path,
                              undo_log=world.undo_log.path)


@when(parsers.parse('the experiment "{name}" runs against {provider:Name} with an SLO of {seconds:g} seconds',
                    extra_types=NAME))
def experiment_runs_with_slo(world: World, name: str, provider: str, seconds: float) -> None:
    """Run an experiment of experiments/ (or a path) against ``provider``, with every step's deadline set to
    ``seconds`` instead of the target's SLO.

    Example: When the experiment "revoke-credentials.json" runs against aws with an SLO of 10 seconds
    """
    _run(world, _experiment_path(name), provider,
         {"xpchaos_provider": provider, "xpchaos_slo": f"{seconds:g}s"})


@when(parsers.parse('the experiment "{name}" runs against {provider:Name}', extra_types=NAME))
def experiment_runs(world: World, name: str, provider: str) -> None:
    """Run an experiment of experiments/ (or a path) against ``provider`` (a name, or the role primary).

    Example: When the experiment "block-provider-api.json" runs against aws
    """
    _run(world, _experiment_path(name), provider, {"xpchaos_provider": provider})


@when(parsers.parse("the ProviderConfig of {provider:Name} is deleted {how}", extra_types=NAME))
def provider_config_deleted(world: World, provider: str, how: str) -> None:
    """Delete the provider's ProviderConfig directly: ``without force`` shows the in-use protection, ``with
    force`` removes the finalizers once the deletion is blocked.

    Example: When the ProviderConfig of aws is deleted without force
    """
    if how not in ("with force", "without force"):
        raise ValueError(f"say 'with force' or 'without force', not {how!r}")
    _run(world, adhoc.fault_experiment("delete-providerconfig", provider, {"force": how == "with force"}), provider)


@when(parsers.parse("the {provider:Name} provider is cut off its cloud API", extra_types=NAME))
def provider_cut_off(world: World, provider: str) -> None:
    """Block the provider pods' egress to their cloud API directly (a NetworkPolicy).

    Example: When the aws provider is cut off its cloud API
    """
    _run(world, adhoc.fault_experiment("block-provider-api", provider), provider)


@when(parsers.parse("the credentials of {provider:Name} are revoked", extra_types=NAME))
def credentials_revoked(world: World, provider: str) -> None:
    """Replace the provider's credential by a well-formed invalid one, directly.

    Example: When the credentials of azure are revoked
    """
    _run(world, adhoc.fault_experiment("revoke-credentials", provider), provider)
