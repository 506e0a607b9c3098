"""The project's own docs: everything they point at is in the repository, and what they name exists.

- No file of the repository cites a design document that is not part of it, or a path outside the checkout.
- Every relative link of README.md and docs/ leads to a file of the repository, and an anchor to a heading there.
- Every ``xpchaos.*`` module docs/architecture.md names can be found.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIPPED_DIRS = {".git", ".venv", "build", "reports", ".xpchaos", "__pycache__", ".pytest_cache", ".mypy_cache",
                ".ruff_cache"}  # not the repository's files: tools, output, caches
# spelled in pieces so that this file does not match itself
EXTERNAL_DOCS = [re.compile(r"\b" + name + r"\.md\b") for name in ("ARCHITECTURE", "CROSSPLANE")]
OUTSIDE_PATHS = [
    re.compile(r"\.\./" + "shared" + r"\b"),  # the checkout's sibling folder, relatively
    re.compile(r"\b" + "shared" + r"/(?:upstream|seeds|tools|hooks)\b"),  # ... or by its content
    re.compile(r"""["']""" + "shared" + r"""["']\s*/"""),  # ... or joined with pathlib
]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")  # [text](target "title")
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.MULTILINE)  # [label]: target
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")
MODULE = re.compile(r"`(xpchaos(?:\.[a-z_]+)*)`")


def repository_files() -> list[Path]:
    """The files git would see (tracked, or new and not ignored); without git, a walk that skips tool folders."""
    if shutil.which("git") and (ROOT / ".git").exists():
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                             capture_output=True, check=True).stdout.decode()
        return [ROOT / name for name in out.split("\0") if name and (ROOT / name).is_file()]
    return [p for p in ROOT.rglob("*") if p.is_file() and not SKIPPED_DIRS & set(p.relative_to(ROOT).parts)
            and not any(part.endswith(".egg-info") for part in p.relative_to(ROOT).parts)]


def text_of(path: Path) -> str | None:
    data = path.read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def findings(patterns: list[re.Pattern[str]]) -> list[str]:
    found = []
    for path in repository_files():
        text = text_of(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if any(p.search(line) for p in patterns):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


def test_no_file_cites_a_design_document_outside_the_repository() -> None:
    found = findings(EXTERNAL_DOCS)
    assert not found, "cite docs/architecture.md or docs/crossplane.md instead:\n" + "\n".join(found)


def test_no_file_points_outside_the_checkout() -> None:
    found = findings(OUTSIDE_PATHS)
    assert not found, "these name paths outside the repository:\n" + "\n".join(found)


def test_the_checks_see_what_they_look_for() -> None:
    """The patterns above match the forms they exist for (the searches would pass vacuously otherwise)."""
    cited = "(" + "CROSSPLANE" + ".md §1)", "see " + "ARCHITECTURE" + ".md."
    outside = ["../" + "shared/README.md", "/work/shared/" + "upstream/SOURCES.md",
               'parents[2].parent / "sha' + 'red" / "upstream"']
    assert all(any(p.search(line) for p in EXTERNAL_DOCS) for line in cited)
    assert all(any(p.search(line) for p in OUTSIDE_PATHS) for line in outside)
    fine = ["docs/architecture.md", "docs/crossplane.md, 'Detection latency'", "what the others share"]
    assert not any(p.search(line) for p in EXTERNAL_DOCS + OUTSIDE_PATHS for line in fine)
    assert len(repository_files()) > 100 and ROOT / "pyproject.toml" in repository_files()


# links -----------------------------------------------------------------------------------------------------------
def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def prose(text: str) -> str:
    """The text without code blocks and code spans, where brackets are not links."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def links(text: str) -> Iterator[str]:
    body = prose(text)
    yield from LINK.findall(body)
    yield from REFERENCE.findall(body)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", FENCE.sub("", path.read_text(encoding="utf-8")),
                              re.MULTILINE):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.add(base if count == 0 else f"{base}-{count}")
    return out


def broken_link(source: Path, target: str) -> str | None:
    """Why ``target``, linked from ``source``, does not resolve inside the repository; None when it does."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # http:, https:, mailto:
        return None
    path_part, _, anchor = target.partition("#")
    resolved = (source.parent / path_part).resolve() if path_part else source
    if not resolved.is_relative_to(ROOT):
        return "leads outside the repository"
    if not resolved.exists():
        return "no such file"
    if anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
        return f"no heading with the anchor #{anchor} in {resolved.relative_to(ROOT)}"
    return None


@pytest.mark.parametrize("source", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(source: Path) -> None:
    targets = list(links(source.read_text(encoding="utf-8")))
    broken = [f"{t}: {why}" for t in targets if (why := broken_link(source, t))]
    assert not broken, f"{source.relative_to(ROOT)}:\n" + "\n".join(broken)


def test_the_docs_link_to_each_other_and_the_readme_links_to_both() -> None:
    readme = set(links((ROOT / "README.md").read_text(encoding="utf-8")))
    assert {"docs/architecture.md", "docs/crossplane.md"} <= {t.partition("#")[0] for t in readme}
    architecture = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert any(t.startswith("crossplane.md") for t in links(architecture))


def test_the_link_check_finds_what_is_broken() -> None:
    page = ROOT / "docs" / "crossplane.md"
    assert broken_link(page, "architecture.md") is None
    assert broken_link(page, "#detection-latency") is None
    assert broken_link(page, "../sandbox/crossplane/README.md") is None
    assert broken_link(page, "architecture.md#the-undo-log-and-restore") is None
    assert broken_link(page, "nothing-here.md") == "no such file"
    assert broken_link(page, "#no-such-heading") == "no heading with the anchor #no-such-heading in docs/crossplane.md"
    assert broken_link(page, "../../" + "shared/README.md") == "leads outside the repository"
    assert list(links("a [link](x.md) and `[not](y.md)` and\n```\n[nor](z.md)\n```\n[ref]: w.md\n")) == [
        "x.md", "w.md"]
    assert slug("Managed resources: events") == "managed-resources-events"
    assert slug("The `xpchaos` data path") == "the-xpchaos-data-path"


# what the architecture names ---------------------------------------------------------------------------------------
def _findable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def test_every_module_the_architecture_names_exists() -> None:
    named = set(MODULE.findall((ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")))
    assert len(named) > 20  # the data path names the module of each stage
    missing = sorted(name for name in named if not _findable(name))
    assert not missing, f"docs/architecture.md names modules that do not exist: {', '.join(missing)}"


def test_the_layers_are_the_ones_the_contract_enforces() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    block = FENCE.search(section)
    assert block is not None, "docs/architecture.md, 'Layers': the stack of layers is missing"
    documented = [" | ".join(f"xpchaos.{name.strip()}" for name in re.split(r"\s{2,}", line.strip())[0].split("|"))
                  for line in block.group(0).splitlines()[1:-1] if line.strip()]
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    layers = next(c["layers"] for c in contracts["contracts"] if c["type"] == "layers")
    assert documented == layers
