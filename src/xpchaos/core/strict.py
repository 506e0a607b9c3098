"""Strict input models: the base of the typed models every user file is read with, and their errors as one line.

A model built on ``StrictModel`` (or a pydantic dataclass with ``CONFIG`` and ``screen_keys``) refuses a key it
does not know, naming the closest known one, so a typo cannot silently fall back to a default. A key written with
no value (YAML's ``key:``) counts as not written, as it always has. ``one_line`` turns pydantic's
``ValidationError`` into the one line xpchaos shows: ``FILE: path.to.field: problem``, never pydantic's
multi-line dump and never more of a value than its first characters.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StrictStr, StringConstraints, ValidationError, model_validator
from pydantic_core import ErrorDetails, PydanticCustomError

# for pydantic dataclasses (frozen by their decorator); StrictModel adds frozen=True
CONFIG = ConfigDict(extra="forbid", validate_by_alias=True, validate_by_name=False, hide_input_in_errors=True)
MAX_SHOWN = 60  # characters of a value an error may quote
MAX_ERRORS = 3  # problems one line names before "and N more"

Text = Annotated[StrictStr, StringConstraints(min_length=1)]  # a non-empty string, never a number made into one
AT_KEY = "at_key"  # a problem with one key of a mapping: ctx {"key", "problem"}; the key joins the path


def problem_at(key: str, problem: str) -> PydanticCustomError:
    """An error a model validator raises about one of its keys (the path shown ends with ``key``)."""
    return PydanticCustomError(AT_KEY, "{problem}", {"key": key, "problem": problem})


def known_keys(cls: type) -> list[str]:
    """The keys a model reads, as written in files (aliases)."""
    fields = getattr(cls, "__pydantic_fields__", {})
    return [info.alias or name for name, info in fields.items()]


def screen_keys(cls: type, data: Any) -> Any:
    """Refuse an unknown key (naming the closest known one); drop known keys written without a value."""
    if not isinstance(data, dict):
        return data
    known = known_keys(cls)
    for key in data:
        if key not in known:
            raise problem_at(str(key), f"unknown key; {_suggest(str(key), known)}")
    return {k: v for k, v in data.items() if v is not None}


def _suggest(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6) or \
        difflib.get_close_matches(key.lower(), [k.lower() for k in known], n=1, cutoff=0.6)
    if close:
        return f"did you mean {next(k for k in known if k.lower() == close[0].lower())!r}?"
    return f"the known keys are {', '.join(known)}"


class StrictModel(BaseModel):
    """A model of a user's file: unknown keys refused with a suggestion, frozen once read."""

    model_config = ConfigDict(**CONFIG, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _screen(cls, data: Any) -> Any:
        return screen_keys(cls, data)


# -- ValidationError -> one line --------------------------------------------------------------------------------------
_TYPE_WORDS = {
    "string_type": "expected a string", "int_type": "expected a whole number", "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number", "bool_type": "expected true or false",
    "float_type": "expected a number", "float_parsing": "expected a number",
    "dict_type": "expected a mapping", "model_type": "expected a mapping", "dataclass_type": "expected a mapping",
    "model_attributes_type": "expected a mapping", "dataclass_args_type": "expected a mapping",
    "list_type": "expected a list", "tuple_type": "expected a list", "iterable_type": "expected a list",
}
_BOUNDS = {"greater_than_equal": ("ge", "{} or more"), "greater_than": ("gt", "more than {}"),
           "less_than_equal": ("le", "{} or less"), "less_than": ("lt", "less than {}")}


def shown(value: Any) -> str:
    """A value as an error may quote it: short, and a mapping or list only by its kind."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else f"{text[:MAX_SHOWN - 3]}..."


def where(loc: tuple[int | str, ...]) -> str:
    """``('providers', 'aws', 'managedResources', 0, 'plural')`` as ``providers.aws.managedResources[0].plural``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f"{'.' if out else ''}{part}"
    return out


def _choices(expected: str) -> str:
    """pydantic's ``'primary' or 'secondary'`` as ``primary, secondary``."""
    return ", ".join(re.findall(r"'([^']*)'", expected)) or expected


def problem(error: ErrorDetails) -> tuple[str, str]:
    """(where, what is wrong and how to fix it) for one pydantic error."""
    loc, kind, ctx = tuple(error["loc"]), error["type"], error.get("ctx") or {}
    value = error.get("input")
    if loc and loc[-1] == "[key]":  # a mapping's key (whatever its type): the path ends at the key itself
        loc = (*loc[:-2], str(loc[-2])) if len(loc) > 1 else ()
    if kind == AT_KEY:
        return where((*loc, ctx["key"])), str(ctx["problem"])
    if kind == "missing":
        return where(loc), "is required"
    if kind in ("value_error", "assertion_error"):
        return where(loc), str(ctx.get("error", error["msg"]))
    if kind == "literal_error":
        return where(loc), f"{shown(value)} is not one of {_choices(str(ctx.get('expected', '')))}"
    if kind == "string_too_short":
        return where(loc), "must not be empty"
    if kind == "too_short":
        what = "mapping" if ctx.get("field_type") == "Dictionary" else "list"
        return where(loc), f"expected a non-empty {what}"
    if kind in _BOUNDS:
        name, words = _BOUNDS[kind]
        return where(loc), f"must be {words.format(ctx.get(name))}, got {shown(value)}"
    if kind in _TYPE_WORDS:
        return where(loc), f"{_TYPE_WORDS[kind]}, got {shown(value)}"
    return where(loc), error["msg"].splitlines()[0]


def one_line(exc: ValidationError, source: object) -> str:
    """``source: where: problem`` for the first few errors, joined with ``; ``."""
    errors = exc.errors(include_url=False)
    parts = []
    for error in errors[:MAX_ERRORS]:
        at, what = problem(error)
        parts.append(f"{at}: {what}" if at else what)
    more = f" (and {len(errors) - MAX_ERRORS} more)" if len(errors) > MAX_ERRORS else ""
    return f"{source}: {'; '.join(parts)}{more}"
