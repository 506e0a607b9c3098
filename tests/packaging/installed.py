"""The wheel built from this checkout, installed (not editable) into a fresh virtual environment, once per test session:
the files of tests/packaging that use it may run on different pytest-xdist workers at once, so the first to
ask builds and installs it under a file lock and the others find it done.

The installation is kept under the session's shared temporary directory, keyed by a hash of everything the wheel is
built from (the wheel is a function of those files): a change to the sources between two sessions never reuses an
older installation, and within one session every file tests the same wheel.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.packaging.user_path import INSTALL, ROOT, USER_PATH

READY = "ready"  # written last: an installation interrupted half-way is never reused


@dataclass(frozen=True)
class Installed:
    """The fresh virtual environment with the wheel installed, and how to run its commands."""

    venv: Path
    wheel: Path
    home: Path

    @property
    def env(self) -> dict[str, str]:
        """Nothing of this checkout or of the test run: the venv's bin first on PATH, a private HOME."""
        dropped = ("XPCHAOS_", "PYTEST_", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "KUBECONFIG")
        env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
        ours = str(Path(sys.executable).parent)
        path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != ours]
        env.update(PATH=os.pathsep.join([str(self.venv / "bin"), *path]), HOME=str(self.home),
                   VIRTUAL_ENV=str(self.venv))
        return env

    def run(self, command: str | list[str], cwd: Path, timeout: float = 120,
            **extra_env: str) -> subprocess.CompletedProcess[str]:
        """Run a command of the venv as a user types it; on a timeout its whole process group is stopped (the
        sandboxes a pytest run started included)."""
        words = shlex.split(command) if isinstance(command, str) else command
        program = shutil.which(words[0], path=self.env["PATH"])
        assert program and program.startswith(str(self.venv)), f"{words[0]} is not the venv's: {program}"
        with subprocess.Popen([program, *words[1:]], cwd=cwd, env={**self.env, **extra_env}, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True) as proc:
            try:
                out, err = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGTERM)
                out, err = proc.communicate(timeout=60)
                pytest.fail(f"{command}: still running after {timeout:.0f} s\n{out[-3000:]}\n{err[-2000:]}")
        return subprocess.CompletedProcess(words, proc.returncode, out, err)


def _inputs() -> list[Path]:
    """What the wheel is built from: pyproject.toml, README.md and every file of each folder the package maps."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    folders = {Path(folder).parts[0] for folder in pyproject["tool"]["setuptools"]["package-dir"].values()}
    files = [ROOT / "pyproject.toml", ROOT / "README.md"]
    for folder in sorted(folders):
        files += sorted(p for p in (ROOT / folder).rglob("*") if p.is_file() and not _ignored(p))
    return files


def _ignored(path: Path) -> bool:
    return "__pycache__" in path.parts or path.suffix == ".pyc"


def source_hash() -> str:
    """A hash of every input of the wheel, by path and content."""
    digest = hashlib.sha256()
    for path in _inputs():
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _source_tree(into: Path) -> Path:
    """The inputs, copied, so the build writes nothing (build/, *.egg-info) into the checkout."""
    for path in _inputs():
        target = into / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return into


def _build_and_install(work: Path) -> None:
    """The wheel, built as a user's CI would (``python -m build --wheel``), installed into a fresh venv with the
    path's first command."""
    source = _source_tree(work / "source")
    built = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(work / "dist"), str(source)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (wheel,) = (work / "dist").glob("xpchaos-*.whl")
    made = subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], capture_output=True, text=True,
                          timeout=120)
    assert made.returncode == 0, made.stderr
    (work / "home").mkdir()
    assert USER_PATH[0] == INSTALL
    install = [*shlex.split(INSTALL)[:-1], str(wheel)]  # the wheel in place of the release
    env = Installed(work / "venv", wheel, work / "home").env
    done = subprocess.run(install, cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temporary directory every worker of this session sees (a worker's own base is one level down)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def installed(tmp_path_factory: pytest.TempPathFactory, home: Path) -> Installed:
    """The session's installation of this checkout's wheel, built on first use; ``home`` is the caller's own HOME,
    so that files running at once keep their Chaos Toolkit settings and logs apart."""
    work = shared_root(tmp_path_factory) / f"xpchaos-wheel-{source_hash()}"
    work.parent.mkdir(parents=True, exist_ok=True)
    with open(work.parent / f"{work.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also when the build fails
        if not (work / READY).exists():
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            _build_and_install(work)
            (work / READY).write_text("")
    (wheel,) = (work / "dist").glob("xpchaos-*.whl")
    home.mkdir(parents=True, exist_ok=True)
    return Installed(work / "venv", wheel, home)
