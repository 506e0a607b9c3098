"""The game-day suite file (``kind: GameDay``), read by a typed model: every key it may hold is named here only.

An unknown key is refused with the closest known one, durations are read once (``xpchaos.core.durations``), and
each experiment file must exist (beside the suite, else in the working directory, else among the built-in ones
shipped with xpchaos). Any problem is one ``SuiteError`` line naming the file, the field and the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    Field,
    PrivateAttr,
    StrictStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from xpchaos.core.durations import Duration, DurationText
from xpchaos.core.errors import InputError
from xpchaos.core.strict import StrictModel, Text, one_line, screen_keys, shown
from xpchaos.run import sources

MAX_SUITE_BYTES = 1 << 20
KINDS = "one of experiment: FILE, scenarios: TAGS or pause: DURATION"


class SuiteError(InputError):
    """The suite file is wrong; one line naming the file and the field."""


def _marker_expression(value: str) -> str:
    if not value.strip():
        raise ValueError("expected tags as a marker expression, e.g. 'gameday and aws'")
    return value


class Step(StrictModel):
    """One step: an experiment (with its provider and SLO), tagged Gherkin scenarios, or a pause."""

    experiment: Path | None = None
    provider: Text | None = None  # the experiment's xpchaos_provider: a provider name or role
    slo: DurationText | None = None  # the experiment's xpchaos_slo, passed on as written
    pause: Duration = 0.0
    scenarios: Annotated[StrictStr, AfterValidator(_marker_expression)] | None = None  # a pytest -m expression

    @field_validator("experiment", mode="before")
    @classmethod
    def _find(cls, value: Any, info: ValidationInfo) -> Path:
        if not isinstance(value, str) or not value:
            raise ValueError(f"expected a file name, got {shown(value)}")
        beside = (info.context or {}).get("directory", Path("."))
        shipped = sources.experiment(value)  # a built-in experiment the working directory has no copy of
        chosen = next((p for p in (beside / value, Path(value)) if p.is_file()), None) or \
            (shipped.path if shipped.shipped else None)
        if chosen is None:
            raise ValueError(f"no such experiment file {value!r} (looked beside the suite, in the working "
                             "directory and among the experiments shipped with xpchaos)")
        return chosen

    @model_validator(mode="before")
    @classmethod
    def _screen(cls, data: Any) -> Any:
        data = screen_keys(cls, data)
        if not isinstance(data, dict) or len({"experiment", "pause", "scenarios"} & set(data)) != 1:
            raise ValueError(f"expected a mapping with {KINDS}")
        return data

    @model_validator(mode="after")
    def _options_of_experiments(self) -> Step:
        if self.experiment is None and (self.provider is not None or self.slo is not None):
            raise ValueError("provider and slo belong to an experiment: step")
        return self

    def describe(self) -> str:
        if self.scenarios is not None:
            return f"scenarios -m {self.scenarios!r}"
        if self.experiment is None:
            return f"pause {self.pause:g} s"
        extra = "".join(f" {k}={v}" for k, v in (("provider", self.provider), ("slo", self.slo)) if v)
        return f"experiment {self.experiment}{extra}"


def _some_steps(steps: tuple[Step, ...]) -> tuple[Step, ...]:
    if not steps:  # checked once the steps are read: a wrong step is not also "no steps"
        raise ValueError("expected a non-empty list")
    return steps


class Metadata(StrictModel):
    name: Text | None = None


class SteadyState(StrictModel):
    timeout: Duration = 300.0  # how long to wait for the steady state before each step (and at the end)


class Suite(StrictModel):
    """A game day: experiments, scenarios and pauses in order, each from the steady state."""

    api_version: Literal["xpchaos.io/v1alpha1"] | None = Field(default=None, alias="apiVersion")
    kind: Literal["GameDay"]
    metadata: Metadata = Metadata()
    steady_state: SteadyState = Field(default=SteadyState(), alias="steadyState")
    steps: Annotated[tuple[Step, ...], AfterValidator(_some_steps)]
    _path: Path = PrivateAttr(Path("suite.yaml"))

    @property
    def path(self) -> Path:
        return self._path

    @property
    def name(self) -> str:
        return self.metadata.name or self._path.stem

    @property
    def steady_timeout(self) -> float:
        return self.steady_state.timeout


def load(path: str | Path) -> Suite:
    path = Path(path)
    try:
        if path.stat().st_size > MAX_SUITE_BYTES:
            raise SuiteError(f"{path}: larger than {MAX_SUITE_BYTES // 1024} KiB; not a game-day suite")
        doc = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise SuiteError(f"{path}: no such suite file") from None
    except IsADirectoryError:
        raise SuiteError(f"{path}: a directory, not a suite file") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SuiteError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict) or doc.get("kind") != "GameDay":
        raise SuiteError(f"{path}: kind: expected a document with kind: GameDay")
    try:
        suite = Suite.model_validate(doc, context={"directory": path.parent})
    except ValidationError as exc:
        raise SuiteError(one_line(exc, path)) from None
    suite._path = path
    return suite
