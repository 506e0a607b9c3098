"""The path a platform team takes with xpchaos in its own repository: one list of commands, which the installed-wheel
test runs and which the README's "Use it in your own repository", the CI workflow and the Dockerfile must show.

Also the readers that take those commands out of each document, so every test compares the same things.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
WORKFLOW = ROOT / "deploy" / "ci" / "resilience-gate.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
SECTION = "## Use it in your own repository"

INSTALL = "pip install xpchaos"  # the installed-wheel test installs the wheel it built in place of the release
GATE = "xpchaos gate --target .xpchaos/sandbox/target.yaml --report-dir reports/gate"
USER_PATH = (
    INSTALL,
    "xpchaos init",
    "xpchaos sandbox up --detach --speed fast",
    "pytest features/ -m ci",
    GATE,
    "chaos run experiments/revoke-credentials.json",
    "chaos discover --no-install xpchaos",
    "xpchaos restore",
    "xpchaos sandbox down",
)
PROGRAMS = ("pip", "python", "xpchaos", "pytest", "chaos")  # what counts as a command of the path in a document


def ours(command: str) -> bool:
    """A command of xpchaos's path, as opposed to shell plumbing (mkdir, printf, useradd, cd)."""
    words = shlex.split(command)
    return bool(words) and words[0] in PROGRAMS


def readme_commands(text: str) -> list[str]:
    """The commands of the first shell block of the README's section, without their trailing comments."""
    if SECTION not in text:
        return []
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    if block is None:
        return []
    lines = (line.split(" #", 1)[0].strip() for line in block.group(1).splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def workflow_commands(text: str) -> list[str]:
    """Every command of the workflow's ``run:`` steps that is one of the path's programs, in order."""
    doc = yaml.safe_load(text)
    found = []
    for job in doc["jobs"].values():
        for step in job["steps"]:
            for line in str(step.get("run", "")).splitlines():
                found.extend(part.strip() for part in line.split("&&") if ours(part.strip()))
    return found


def dockerfile_commands(text: str) -> list[str]:
    """Every command of the Dockerfile's ``RUN`` instructions that is one of the path's programs, with the ``ARG``
    defaults put in (``pip install "$XPCHAOS"`` with ``ARG XPCHAOS=xpchaos`` reads ``pip install xpchaos``)."""
    joined = re.sub(r"\\\n\s*", " ", text)
    instructions = [line.strip() for line in joined.splitlines() if line.strip() and not line.startswith("#")]
    args = dict(line.split(None, 1)[1].split("=", 1) for line in instructions
                if line.startswith("ARG ") and "=" in line)
    found = []
    for line in instructions:
        if not line.startswith("RUN "):
            continue
        script = re.sub(r"^RUN\s+(--\S+\s+)*", "", line)
        for name, value in args.items():
            script = script.replace(f'"${name}"', value).replace(f"${{{name}}}", value).replace(f"${name}", value)
        found.extend(part.strip() for part in script.split("&&") if ours(part.strip()))
    return found
