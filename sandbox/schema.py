"""Structural schemas of CRDs: what the API server does to a custom resource with its version's openAPIV3Schema.

Pure functions, no I/O. On every create, update and patch of a custom resource the real apiextensions-apiserver

1. **defaults** absent fields (and non-nullable nulls) from ``default:``, recursively, inside array items and
   ``additionalProperties`` maps too (``structuraldefaulting.Default``);
2. **prunes** fields the schema does not know (not in ``properties``, no ``additionalProperties`` map, no
   ``x-kubernetes-preserve-unknown-fields: true``); ``apiVersion``, ``kind`` and ``metadata`` of the resource and
   of ``x-kubernetes-embedded-resource`` objects are kept; non-nullable nulls without a default are dropped
   (``structuralpruning.Prune``, ``PruneNonNullableNullsWithoutDefaults``);
3. **validates** the result (kube-openapi's validator, turned into field errors by ``kubeOpenAPIResultToFieldErrors``)
   plus ``x-kubernetes-list-type`` set/map uniqueness and the apiVersion/kind of embedded resources.

Causes are ``(field, message)`` pairs worded like the real server, e.g. ``("spec.forProvider.region", "Required
value")``. Field paths are the server's: openAPI value validation writes ``spec.items[0].name`` for array items and
``spec.labels.key`` for map values (kube-openapi joins map keys with a dot); list-type and embedded-resource checks
use ``spec.labels[key]``. Errors of ``anyOf``/``oneOf``/``allOf``/``not`` carry the field ``<nil>`` and the path in
the message, as the real server does.

Not covered (on purpose):

- ``x-kubernetes-validations`` (CEL rules) are **not evaluated**; neither are ``x-kubernetes-map-type`` or the
  CEL cost limits.
- ``format``: only cheap ones are checked (``date-time``, ``date``, ``byte``, ``uuid``/``uuid3``/``4``/``5``,
  ``ipv4``, ``ipv6``, ``cidr``, ``mac``); other known formats are accepted as is, unknown ones ignored (as real).
  ``int32``/``int64`` ranges are not checked.
- Regular expressions are Python's ``re``, not Go's RE2 (the same for ordinary patterns).
- When every ``anyOf``/``oneOf`` branch fails, the causes of the branch with the fewest errors are added (the
  real validator picks the "best" branch by an internal match count).
- Validation ratcheting is approximated: on updates a cause the stored object already had is not reported.
- Metadata of embedded resources is not coerced or validated beyond apiVersion and kind.
"""

from __future__ import annotations

import copy
import datetime
import decimal
import functools
import ipaddress
import json
import math
import re
from collections.abc import Iterable
from typing import Any

Schema = dict[str, Any]
Cause = tuple[str, str]

_META_FIELDS = frozenset(("apiVersion", "kind", "metadata"))
_EMBEDDED = "x-kubernetes-embedded-resource"
_PRESERVE = "x-kubernetes-preserve-unknown-fields"
_INT_OR_STRING = "x-kubernetes-int-or-string"


# defaulting --------------------------------------------------------------------------------------------------
def apply_defaults(schema: Schema | None, value: Any) -> None:
    """Set ``default:`` values for absent fields and non-nullable nulls, in place (``structuraldefaulting.Default``)."""
    if not isinstance(schema, dict):
        return
    if isinstance(value, dict):
        props: dict[str, Schema] = schema.get("properties") or {}
        for key, prop in props.items():
            default = prop.get("default")
            if default is not None and (key not in value or (value[key] is None and not prop.get("nullable"))):
                value[key] = copy.deepcopy(default)
        extra = _map_schema(schema)
        for key in value:
            sub = props.get(key)
            if sub is not None:
                apply_defaults(sub, value[key])
            elif extra is not None:
                if value[key] is None and not extra.get("nullable") and extra.get("default") is not None:
                    value[key] = copy.deepcopy(extra["default"])
                apply_defaults(extra, value[key])
    elif isinstance(value, list):
        items = schema.get("items")
        if not isinstance(items, dict):
            return
        for i, item in enumerate(value):
            if item is None and not items.get("nullable") and items.get("default") is not None:
                value[i] = copy.deepcopy(items["default"])
            apply_defaults(items, value[i])


# pruning -----------------------------------------------------------------------------------------------------
def prune(schema: Schema | None, value: Any, root: bool = True) -> list[str]:
    """Drop unknown fields and non-nullable nulls without default, in place; the paths pruned, sorted.

    ``root``: ``value`` is a whole resource, whose apiVersion, kind and metadata are never pruned.
    """
    if root:
        schema = {**(schema or {}), _EMBEDDED: True}
    pruned: list[str] = []
    _prune(schema, value, "", pruned)
    _prune_nulls(schema, value)
    return sorted(pruned)


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _prune(schema: Schema | None, value: Any, path: str, pruned: list[str]) -> None:
    if schema is not None and schema.get(_PRESERVE):
        _skip_prune(schema, value, path, pruned)
        return
    if isinstance(value, dict):
        if schema is None:
            pruned.extend(_child(path, k) for k in value)
            value.clear()
            return
        props: dict[str, Schema] = schema.get("properties") or {}
        extra = _map_schema(schema)
        embedded = schema.get(_EMBEDDED)
        for key in list(value):
            if embedded and key in _META_FIELDS:
                continue
            if key in props:
                _prune(props[key], value[key], _child(path, key), pruned)
            elif extra is not None:
                _prune(extra, value[key], _child(path, key), pruned)
            else:
                if key not in _META_FIELDS or path:
                    pruned.append(_child(path, key))
                del value[key]
    elif isinstance(value, list):
        items = schema.get("items") if schema is not None else None
        for i, item in enumerate(value):
            _prune(items if isinstance(items, dict) else None, item, f"{path}[{i}]", pruned)


def _skip_prune(schema: Schema, value: Any, path: str, pruned: list[str]) -> None:
    """Under x-kubernetes-preserve-unknown-fields: unknown fields stay, known ones are still pruned inside."""
    if isinstance(value, dict):
        props: dict[str, Schema] = schema.get("properties") or {}
        extra = _map_schema(schema)
        for key, item in value.items():
            if schema.get(_EMBEDDED) and key in _META_FIELDS:
                continue
            if key in props:
                _prune(props[key], item, _child(path, key), pruned)
            elif extra is not None:
                _prune(extra, item, _child(path, key), pruned)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                _skip_prune(items, item, f"{path}[{i}]", pruned)


def _prune_nulls(schema: Schema | None, value: Any) -> None:
    if isinstance(value, dict):
        for key in list(value):
            sub = _field_schema(schema, key)
            if value[key] is None and sub is not None and not sub.get("nullable") and sub.get("default") is None:
                del value[key]
            else:
                _prune_nulls(sub, value[key])
    elif isinstance(value, list):
        items = schema.get("items") if schema is not None else None
        for item in value:
            _prune_nulls(items if isinstance(items, dict) else None, item)


def _field_schema(schema: Schema | None, key: str) -> Schema | None:
    if schema is None:
        return None
    props = schema.get("properties") or {}
    if key in props:
        return props[key]
    return _map_schema(schema)


def _map_schema(schema: Schema) -> Schema | None:
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        return extra
    if extra is True:
        return {}
    return None


def normalize(schema: Schema | None, obj: dict[str, Any]) -> dict[str, Any]:
    """A copy of the resource ``obj``, defaulted and pruned, as the API server decodes a request body."""
    out = copy.deepcopy(obj)
    apply_defaults(schema, out)
    prune(schema, out, root=True)
    return out


# validation: the public entry points ------------------------------------------------------------------------
def validate(schema: Schema | None, value: Any, field: str = "") -> list[Cause]:
    """The causes (field, message) of ``value`` against ``schema``; ``field`` is where ``value`` sits in the
    resource (``""`` for the whole resource, ``"status"`` for the status stanza)."""
    if not isinstance(schema, dict):
        return []
    errors: list[_Error] = []
    _check(schema, value, "", errors)
    causes = [e.cause(field) for e in errors]
    structural: list[Cause] = []
    _check_structure(schema, value, field, structural, root=not field)
    return _unique(causes + structural)


def validate_resource(schema: Schema | None, obj: dict[str, Any], status_apart: bool) -> list[Cause]:
    """A whole custom resource; with a status subresource, its status is left to ``validate_status``."""
    if not isinstance(schema, dict):
        return []
    if status_apart:
        props = {k: v for k, v in (schema.get("properties") or {}).items() if k != "status"}
        schema = {**schema, "properties": props, "required": [r for r in schema.get("required") or [] if r != "status"]}
        obj = {k: v for k, v in obj.items() if k != "status"}
    return validate(schema, obj)


def validate_status(schema: Schema | None, obj: dict[str, Any]) -> list[Cause]:
    """The status stanza of a status-subresource write (absent: nothing to validate)."""
    if not isinstance(schema, dict) or "status" not in obj:
        return []
    status_schema = (schema.get("properties") or {}).get("status")
    if status_schema is None:
        return []
    return validate(status_schema, obj["status"], "status")


def _unique(causes: Iterable[Cause]) -> list[Cause]:
    seen: set[Cause] = set()
    out = []
    for cause in causes:
        if cause not in seen:
            seen.add(cause)
            out.append(cause)
    return out


# validation: kube-openapi's checks, one schema node at a time ------------------------------------------------
class _Error:
    """One kube-openapi validation error: its kind, where (kube-openapi's name), the bad value, its message."""

    __slots__ = ("kind", "message", "name", "valid", "value")

    def __init__(self, kind: str, name: str, value: Any = "", message: str = "", valid: Any = None) -> None:
        self.kind, self.name, self.value, self.message, self.valid = kind, name, value, message, valid

    def cause(self, field: str) -> Cause:
        if self.kind == "composite":  # not a *Validation: the real server gives it the prefix path, or <nil>
            return (field or "<nil>", f'Invalid value: "": {self.message}')
        path = field
        if self.name and self.name != ".":
            name = self.name[1:] if self.name.startswith(".") else self.name
            path = f"{field}.{name}" if field else name
        path = path or "<nil>"
        if self.kind == "required":
            return (path, "Required value")
        if self.kind == "enum":
            allowed = ", ".join(_go_quote(v if isinstance(v, str) else _go_json(v)) for v in self.valid)
            return (path, f"Unsupported value: {_go_value(self.value)}: supported values: {allowed}")
        if self.kind == "too_long":
            unit = "byte" if self.valid == 1 else "bytes"
            return (path, f"Too long: may not be more than {self.valid} {unit}")
        if self.kind == "too_many":
            unit = "item" if self.valid == 1 else "items"
            return (path, f"Too many: {self.value}: must have at most {self.valid} {unit}")
        return (path, f"Invalid value: {_go_value(self.value)}: {self.message}")


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null" if value is None else type(value).__name__


_SUPPORTED_STRING_FORMATS = frozenset((
    "bsonobjectid", "uri", "email", "hostname", "ipv4", "ipv6", "cidr", "mac", "uuid", "uuid3", "uuid4", "uuid5",
    "isbn", "isbn10", "isbn13", "creditcard", "ssn", "hexcolor", "rgbcolor", "byte", "password", "date",
    "duration", "datetime", "k8s-short-name", "k8s-long-name",
))


def _types(schema: Schema) -> list[str]:
    if schema.get(_INT_OR_STRING):
        return ["integer", "string"]
    return [schema["type"]] if schema.get("type") else []


def _format(schema: Schema, types: list[str]) -> str:
    """The format the server keeps (``StripUnsupportedFormatsPostProcessor``): unknown ones are dropped."""
    fmt = schema.get("format") or ""
    if not fmt:
        return ""
    kind = types[0] if len(types) == 1 else ""
    if kind in ("", "string"):
        return fmt if fmt.replace("-", "") in _SUPPORTED_STRING_FORMATS or fmt in _SUPPORTED_STRING_FORMATS else ""
    if kind == "integer":
        return fmt if fmt in ("int32", "int64") else ""
    if kind == "number":
        return fmt if fmt in ("float", "double") else ""
    return ""


def _type_error(name: str, expected: str, actual: Any) -> _Error:
    """errors.InvalidType: a string ``actual`` is quoted into the message, and is the bad value."""
    if isinstance(actual, str):
        return _Error("type", name, actual, f"{name} in body must be of type {expected}: {_go_quote(actual)}")
    return _Error("type", name, actual, f"{name} in body must be of type {expected}")


def _check(schema: Schema, value: Any, name: str, out: list[_Error]) -> None:
    """kube-openapi's SchemaValidator: type, anyOf/oneOf/allOf/not, string, format, number, array, enum, object."""
    types = _types(schema)
    fmt = _format(schema, types)
    if value is None:
        if types and "null" not in types and not schema.get("nullable"):
            out.append(_type_error(name, ",".join(types), "null"))
        if schema.get("enum"):
            out.append(_enum_error(schema["enum"], value, name))
        return
    _check_type(types, fmt, value, name, out)
    _check_combinators(schema, value, name, out)
    if isinstance(value, str):
        _check_string(schema, value, name, out)
        if fmt and not _format_ok(fmt, value):
            out.append(_type_error(name, fmt, value))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        _check_number(schema, value, name, out)
    elif isinstance(value, list):
        _check_array(schema, value, name, out)
    enum = schema.get("enum")
    if enum and not any(_enum_equal(value, e) for e in enum):
        out.append(_enum_error(enum, value, name))
    if isinstance(value, dict):
        _check_object(schema, value, name, out)


def _check_type(types: list[str], fmt: str, value: Any, name: str, out: list[_Error]) -> None:
    if not types and not fmt:
        return
    actual = _type_name(value)
    value_format = {"integer": "int64", "number": "float64"}.get(actual, "")
    float_int = actual == "number" and float(value).is_integer() and "integer" in types
    int_float = actual == "integer" and "number" in types
    if actual not in ("string", "array") and fmt and not (
            actual in types or value_format == fmt or float_int or int_float):
        out.append(_type_error(name, fmt, value_format))
        return
    if fmt and actual in ("string", "array") and not ("number" in types or "integer" in types):
        return
    if not (actual in types or float_int or int_float):
        out.append(_type_error(name, ",".join(types), actual))


def _check_combinators(schema: Schema, value: Any, name: str, out: list[_Error]) -> None:
    quoted = _go_quote(name)
    any_of = schema.get("anyOf")
    if any_of:
        results = [_sub_errors(s, value, name) for s in any_of]
        if all(results):
            out.append(_Error("composite", name, message=f"{quoted} must validate at least one schema (anyOf)"))
            out.extend(_fewest(results))
    one_of = schema.get("oneOf")
    if one_of:
        results = [_sub_errors(s, value, name) for s in one_of]
        valid = sum(1 for r in results if not r)
        if valid != 1:
            detail = "Found none valid" if valid == 0 else f"Found {valid} valid alternatives"
            out.append(_Error("composite", name,
                              message=f"{quoted} must validate one and only one schema (oneOf). {detail}"))
            if valid == 0:
                out.extend(_fewest(results))
    all_of = schema.get("allOf")
    if all_of:
        results = [_sub_errors(s, value, name) for s in all_of]
        for result in results:
            out.extend(result)
        failed = sum(1 for r in results if r)
        if failed:
            detail = ". None validated" if failed == len(results) else ""
            out.append(_Error("composite", name, message=f"{quoted} must validate all the schemas (allOf){detail}"))
    not_schema = schema.get("not")
    if isinstance(not_schema, dict) and not _sub_errors(not_schema, value, name):
        out.append(_Error("composite", name, message=f"{quoted} must not validate the schema (not)"))


def _fewest(results: list[list[_Error]]) -> list[_Error]:
    """The failures of the branch that came closest (the first with the fewest errors)."""
    best = results[0]
    for result in results[1:]:
        if len(result) < len(best):
            best = result
    return best


def _sub_errors(schema: Any, value: Any, name: str) -> list[_Error]:
    errors: list[_Error] = []
    if isinstance(schema, dict):
        _check(schema, value, name, errors)
    return errors


def _check_string(schema: Schema, value: str, name: str, out: list[_Error]) -> None:
    """The first of maxLength, minLength, pattern that fails (lengths in characters, as Go's rune count)."""
    max_length, min_length, pattern = schema.get("maxLength"), schema.get("minLength"), schema.get("pattern")
    if max_length is not None and len(value) > max_length:
        out.append(_Error("too_long", name, value, valid=max_length))
    elif min_length is not None and len(value) < min_length:
        out.append(_Error("invalid", name, value, f"{name} in body should be at least {min_length} chars long"))
    elif pattern:
        try:
            matched = _regex(pattern).search(value) is not None
            shown = pattern
        except re.error as exc:
            matched, shown = False, f"{pattern}, but pattern is invalid: {exc}"
        if not matched:
            out.append(_Error("invalid", name, value, f"{name} in body should match '{shown}'"))


@functools.lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _check_number(schema: Schema, value: int | float, name: str, out: list[_Error]) -> None:
    """multipleOf, minimum, maximum; integers compare with integer bounds (Go truncates them), as kube-openapi."""
    is_int = isinstance(value, int)

    def bound(b: float) -> int | float:
        return int(b) if is_int else float(b)

    multiple = schema.get("multipleOf")
    if multiple is not None:
        factor = bound(multiple)
        if factor <= 0:
            out.append(_Error("invalid", name, factor,
                              f"factor MultipleOf declared for {name} must be positive: {_go_value(factor)}"))
        elif (value % factor != 0) if is_int else not _is_integral(value / factor if factor >= 1
                                                                    else 1 / factor * value):
            out.append(_Error("invalid", name, value, f"{name} in body should be a multiple of {_go_value(factor)}"))
    minimum = schema.get("minimum")
    if minimum is not None:
        low, exclusive = bound(minimum), bool(schema.get("exclusiveMinimum"))
        if value < low or (exclusive and value == low):
            relation = "greater than" if exclusive else "greater than or equal to"
            out.append(_Error("invalid", name, value, f"{name} in body should be {relation} {_go_value(low)}"))
    maximum = schema.get("maximum")
    if maximum is not None:
        high, exclusive = bound(maximum), bool(schema.get("exclusiveMaximum"))
        if value > high or (exclusive and value == high):
            relation = "less than" if exclusive else "less than or equal to"
            out.append(_Error("invalid", name, value, f"{name} in body should be {relation} {_go_value(high)}"))


def _is_integral(number: float) -> bool:
    return math.isfinite(number) and float(number).is_integer()


def _check_array(schema: Schema, value: list[Any], name: str, out: list[_Error]) -> None:
    items = schema.get("items")
    if isinstance(items, dict):
        for i, item in enumerate(value):
            _check(items, item, f"{name}[{i}]", out)
    size = len(value)
    min_items, max_items = schema.get("minItems"), schema.get("maxItems")
    if min_items is not None and size < min_items:
        out.append(_Error("invalid", name, size, f"{name} in body should have at least {min_items} items"))
    if max_items is not None and size > max_items:
        out.append(_Error("too_many", name, size, valid=max_items))
    if schema.get("uniqueItems") and _has_duplicates(value):
        out.append(_Error("invalid", name, "", f"{name} in body shouldn't contain duplicates"))


def _has_duplicates(values: list[Any]) -> bool:
    seen: set[str] = set()
    for value in values:
        key = _canonical(value)
        if key in seen:
            return True
        seen.add(key)
    return False


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _enum_equal(value: Any, allowed: Any) -> bool:
    if isinstance(value, bool) or isinstance(allowed, bool):
        return isinstance(value, bool) and isinstance(allowed, bool) and value == allowed
    if isinstance(value, (dict, list)) or isinstance(allowed, (dict, list)):
        return _canonical(value) == _canonical(allowed)
    return bool(value == allowed)


def _enum_error(enum: list[Any], value: Any, name: str) -> _Error:
    return _Error("enum", name, value, valid=enum)


def _check_object(schema: Schema, value: dict[str, Any], name: str, out: list[_Error]) -> None:
    size = len(value)
    min_props, max_props = schema.get("minProperties"), schema.get("maxProperties")
    if min_props is not None and size < min_props:
        out.append(_Error("invalid", name, size, f"{name} in body should have at least {min_props} properties"))
    if max_props is not None and size > max_props:
        out.append(_Error("too_many", name, size, valid=max_props))
    props: dict[str, Schema] = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    for key, item in value.items():
        prop = props.get(key)
        if prop is not None:
            _check(prop, item, f"{name}.{key}" if name else key, out)
        elif isinstance(extra, dict):
            _check(extra, item, f"{name}.{key}", out)  # kube-openapi: a leading dot at the root, trimmed later
    for key in schema.get("required") or ():
        if key not in value:
            out.append(_Error("required", f"{name}.{key}"))


# formats -----------------------------------------------------------------------------------------------------
_DATE_TIME = re.compile(r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_BASE64 = re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$")
_UUID = {
    "uuid": re.compile(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$"),
    "uuid3": re.compile(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$"),
    "uuid4": re.compile(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$"),
    "uuid5": re.compile(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$"),
}
_MAC = re.compile(r"^([0-9A-Fa-f]{2}[:-]){5}([0-9A-Fa-f]{2})$|^([0-9A-Fa-f]{4}\.){2}([0-9A-Fa-f]{4})$|"
                  r"^([0-9A-Fa-f]{2}[:-]){7}([0-9A-Fa-f]{2})$|^([0-9A-Fa-f]{4}\.){3}([0-9A-Fa-f]{4})$|"
                  r"^([0-9A-Fa-f]{2}[:-]){19}([0-9A-Fa-f]{2})$|^([0-9A-Fa-f]{4}\.){9}([0-9A-Fa-f]{4})$")


def _is_date(text: str) -> bool:
    match = _DATE.match(text)
    if not match:
        return False
    try:
        datetime.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return False
    return True


def _is_date_time(text: str) -> bool:
    if len(text) < 4:
        return False
    parts = text.lower().split("t")
    if len(parts) < 2 or not _is_date(parts[0]):
        return False
    match = _DATE_TIME.match(parts[1])
    return match is not None and match[1] <= "23" and match[2] <= "59" and match[3] <= "59"


def _is_ip(text: str, version: int) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return address.version == version


def _is_cidr(text: str) -> bool:
    if "/" not in text:
        return False
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True


def _format_ok(fmt: str, value: str) -> bool:
    name = fmt.replace("-", "")
    if name == "datetime":
        return _is_date_time(value)
    if name == "date":
        return _is_date(value)
    if name == "byte":
        return bool(_BASE64.match(value))
    if name in _UUID:
        return bool(_UUID[name].match(value))
    if name == "ipv4":
        return _is_ip(value, 4)
    if name == "ipv6":
        return _is_ip(value, 6)
    if name == "cidr":
        return _is_cidr(value)
    if name == "mac":
        return bool(_MAC.match(value))
    return True  # known to the server but not checked here


# list types and embedded resources: field.Path-style paths (map keys in brackets) ---------------------------
_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex "
                "used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")


def _check_structure(schema: Schema, value: Any, path: str, out: list[Cause], root: bool = False) -> None:
    if isinstance(value, dict):
        if schema.get(_EMBEDDED) and not root:
            _check_embedded(value, path, out)
        props: dict[str, Schema] = schema.get("properties") or {}
        extra = _map_schema(schema)
        for key, item in value.items():
            if key in props:
                _check_structure(props[key], item, _child(path, key), out)
            elif extra is not None:
                _check_structure(extra, item, f"{path}[{key}]", out)
    elif isinstance(value, list):
        list_type = schema.get("x-kubernetes-list-type")
        if list_type == "set":
            for i in _repeated(value):
                out.append((f"{path}[{i}]", f"Duplicate value: {_go_value(value[i])}"))
        elif list_type == "map":
            _check_list_map(schema, value, path, out)
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                _check_structure(items, item, f"{path}[{i}]", out)


def _repeated(values: list[Any]) -> list[int]:
    """Indexes of the second occurrence of each repeated value (listtype.validateListSet)."""
    counts: dict[str, int] = {}
    repeated = []
    for i, value in enumerate(values):
        key = _canonical(value)
        counts[key] = counts.get(key, 0) + 1
        if counts[key] == 2:
            repeated.append(i)
    return repeated


def _check_list_map(schema: Schema, value: list[Any], path: str, out: list[Cause]) -> None:
    for i, item in enumerate(value):
        if item is not None and not isinstance(item, dict):
            out.append((f"{path}[{i}]", f"Invalid value: {_go_value(item)}: must be an object for an array of "
                                        "list-type map"))
            return
    keys = schema.get("x-kubernetes-list-map-keys") or []
    entries = [{k: item[k] for k in keys if k in item} if isinstance(item, dict) else {} for item in value]
    for i in _repeated(entries):
        out.append((f"{path}[{i}]", f"Duplicate value: {_go_json(entries[i])}"))


def _check_embedded(value: dict[str, Any], path: str, out: list[Cause]) -> None:
    for key in ("apiVersion", "kind"):
        if key not in value:
            out.append((_child(path, key), "Required value"))
    api_version = value.get("apiVersion")
    if "apiVersion" in value:
        if not isinstance(api_version, str):
            out.append((_child(path, "apiVersion"), f"Invalid value: {_go_value(api_version)}: must be a string"))
        elif not api_version:
            out.append((_child(path, "apiVersion"), 'Invalid value: "": must not be empty'))
        elif api_version != "/" and api_version.count("/") > 1:
            out.append((_child(path, "apiVersion"), f"Invalid value: {_go_quote(api_version)}: unexpected "
                                                    f"GroupVersion string: {api_version}"))
    kind = value.get("kind")
    if "kind" in value:
        if not isinstance(kind, str):
            out.append((_child(path, "kind"), f"Invalid value: {_go_value(kind)}: must be a string"))
        elif not kind:
            out.append((_child(path, "kind"), 'Invalid value: "": must not be empty'))
        else:
            problems = []
            if len(kind) > 63:
                problems.append("must be no more than 63 characters")
            if not _DNS1035.match(kind.lower()):
                problems.append(_DNS1035_MSG)
            if problems:
                out.append((_child(path, "kind"), f"Invalid value: {_go_quote(kind)}: may have mixed case, but "
                                                  f"should otherwise match: {','.join(problems)}"))


# Go's rendering of values in messages ------------------------------------------------------------------------
_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
               '"': '\\"', "\\": "\\\\"}


def _go_quote(text: str) -> str:
    """strconv.Quote (Go's %q)."""
    out = ['"']
    for ch in text:
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) > 0xFFFF:
            out.append(f"\\U{ord(ch):08x}")
        else:
            out.append(f"\\u{ord(ch):04x}")
    out.append('"')
    return "".join(out)


def _go_float(number: float, json_style: bool = False) -> str:
    """Go's %v of a float64 (shortest repr, exponent from 1e+06), or encoding/json's (exponent from 1e21)."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    if number == 0:
        return "-0" if math.copysign(1, number) < 0 and not json_style else "0"
    sign, digits, exponent = decimal.Decimal(repr(number)).as_tuple()
    assert isinstance(exponent, int)
    figures = list(digits)
    while len(figures) > 1 and figures[-1] == 0:
        figures.pop()
        exponent += 1
    text = "".join(map(str, figures))
    point = len(text) + exponent  # digits before the decimal point
    sci = point - 1
    scientific = (sci < -6 or sci >= 21) if json_style else (sci < -4 or sci >= 6)
    prefix = "-" if sign else ""
    if scientific:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        exp_text = f"{abs(sci):02d}" if not json_style else str(abs(sci))
        return f"{prefix}{mantissa}e{'-' if sci < 0 else '+'}{exp_text}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{text}"
    if point >= len(text):
        return f"{prefix}{text}{'0' * (point - len(text))}"
    return f"{prefix}{text[:point]}.{text[point:]}"


def _go_json(value: Any) -> str:
    """encoding/json.Marshal: sorted keys, no spaces, <, > and & escaped."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value, json_style=True)
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
                .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    if isinstance(value, list):
        return "[" + ",".join(_go_json(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{_go_json(str(k))}:{_go_json(v)}" for k, v in sorted(value.items())) + "}"
    return _go_json(str(value))


def _go_value(value: Any) -> str:
    """How field.Error.ErrorBody prints a bad value: %v for numbers and booleans, %q for strings, else JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, str):
        return _go_quote(value)
    return _go_json(value)
