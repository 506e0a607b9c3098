"""The README's "Use it in your own repository", the CI workflow and the Dockerfile show the commands the
installed-wheel test runs (``user_path.USER_PATH``), and nothing else of xpchaos's: what they tell a user was run."""

from __future__ import annotations

from tests.packaging.user_path import (
    DOCKERFILE,
    GATE,
    INSTALL,
    README,
    USER_PATH,
    WORKFLOW,
    dockerfile_commands,
    readme_commands,
    workflow_commands,
)
from xpchaos.cli.init import NEXT_COMMANDS


def in_order(commands: list[str], path: tuple[str, ...] = USER_PATH) -> bool:
    """Every command is one of the path's, in the path's order."""
    remaining = iter(path)
    return all(command in remaining for command in commands)


def test_the_readme_section_is_the_path_the_test_runs() -> None:
    assert readme_commands(README.read_text()) == list(USER_PATH)


def test_the_workflow_installs_and_gates_with_commands_of_the_path() -> None:
    commands = workflow_commands(WORKFLOW.read_text())
    assert in_order(commands), commands
    assert commands[0] == INSTALL and GATE in commands, commands


def test_the_dockerfile_installs_xpchaos_as_the_path_does() -> None:
    assert dockerfile_commands(DOCKERFILE.read_text()) == [INSTALL]


def test_init_prints_the_next_commands_of_the_path() -> None:
    at = USER_PATH.index("xpchaos init") + 1
    assert list(NEXT_COMMANDS) == list(USER_PATH[at:at + 3])


def test_the_readers_see_a_command_that_is_not_the_paths() -> None:
    readme = ("## Use it in your own repository\n\n```sh\npip install xpchaos  # the release\n"
              "xpchaos gate --target mine.yaml\n```\n\n## Next\n```sh\nxpchaos other\n```\n")
    assert readme_commands(readme) == ["pip install xpchaos", "xpchaos gate --target mine.yaml"]
    assert not in_order(readme_commands(readme))
    workflow = ("jobs:\n  gate:\n    steps:\n      - run: pip install xpchaos\n      - run: |\n"
                "          mkdir -p ~/.kube\n          cd x && xpchaos gate --report-dir elsewhere\n")
    assert workflow_commands(workflow) == ["pip install xpchaos", "xpchaos gate --report-dir elsewhere"]
    assert not in_order(workflow_commands(workflow))
    dockerfile = ('FROM python:3.11-slim\nARG XPCHAOS=xpchaos==0.0.1\nRUN --mount=type=bind,target=/c cd /c && '
                  'pip install "$XPCHAOS"\nRUN useradd x\n')
    assert dockerfile_commands(dockerfile) == ["pip install xpchaos==0.0.1"]
    assert not in_order(["xpchaos gate", "pip install xpchaos"])  # out of order
