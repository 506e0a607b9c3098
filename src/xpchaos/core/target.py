"""The Target: the system under test, read from a YAML file (``--target``, default ``xpchaos.yaml``).

``xpchaos sandbox up`` writes one for the sandbox (``DIR/target.yaml``); for a real cluster users write their
own in the same shape. The file is read by the typed model of ``xpchaos.core.target_model``; any problem is one
``TargetError`` line naming the file, the field and the fix. Which kube contexts a target may change
(``allowedContexts``, or ``allowAnyContext: true``) is enforced before any change by ``xpchaos.core.kube``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from xpchaos.core import durations
from xpchaos.core.strict import one_line
from xpchaos.core.target_model import (
    DnsRecord,
    EgressRule,
    Nameserver,
    ObjectRef,
    Provider,
    Safety,
    SecretRef,
    Target,
    TargetError,
)

__all__ = ["DEFAULT_PATH", "SANDBOX_PATH", "DnsRecord", "EgressRule", "Nameserver", "ObjectRef", "Provider", "Safety",
           "SecretRef", "Target", "TargetError", "default_path", "load", "parse", "parse_duration"]

DEFAULT_PATH = Path("xpchaos.yaml")
SANDBOX_PATH = Path(".xpchaos/sandbox/target.yaml")  # what `xpchaos sandbox up` writes by default


def parse_duration(text: Any, where: str) -> float:
    """``90s``, ``1m30s``, ``1.5m``, ``500ms`` or a plain number of seconds; ``where`` names it in the error."""
    try:
        return durations.seconds(text)
    except ValueError as exc:
        raise TargetError(f"{where}: {exc}") from None


def default_path() -> Path:
    """``xpchaos.yaml`` in the working directory; else the running sandbox's target; else ``xpchaos.yaml``."""
    if not DEFAULT_PATH.exists() and SANDBOX_PATH.exists():
        return SANDBOX_PATH
    return DEFAULT_PATH


def load(path: str | Path | None = None) -> Target:
    path = Path(path) if path else default_path()
    try:
        doc = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise TargetError(f"{path}: no such target file (start the sandbox with `xpchaos sandbox up` and use "
                          "--target .xpchaos/sandbox/target.yaml, or write one for your cluster)") from None
    except yaml.YAMLError as exc:
        raise TargetError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    except UnicodeDecodeError:
        raise TargetError(f"{path}: not UTF-8 text") from None
    except IsADirectoryError:
        raise TargetError(f"{path}: a directory, not a target file") from None
    return parse(doc, path)


def parse(doc: Any, path: Path) -> Target:
    """The Target a YAML document describes (``path`` names it in errors and becomes ``Target.path``)."""
    if not isinstance(doc, dict) or doc.get("kind") != "Target":
        raise TargetError(f"{path}: kind: expected a document with kind: Target")
    try:
        target = Target.model_validate(doc)
    except ValidationError as exc:
        raise TargetError(one_line(exc, path)) from None
    if target.kubeconfig:
        target = target.model_copy(update={"kubeconfig": _beside(path, target.kubeconfig)})
    target._path = path
    return target


def _beside(path: Path, kubeconfig: str) -> str:
    """A relative kubeconfig path is read from the target file's folder, as kubectl reads the paths inside a
    kubeconfig from the kubeconfig's: the same target works from any working directory."""
    named = Path(kubeconfig).expanduser()
    return str(named if named.is_absolute() else (path.parent / named).resolve())
