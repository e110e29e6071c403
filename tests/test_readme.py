"""The README's first hour: its set-up and Everyday use commands work as written, in order."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, copy_sample

README = ROOT / "README.md"
MAKEFILE = ROOT / "Makefile"


def everyday_commands() -> list[str]:
    """The lines of the sh block under '## Everyday use', exactly as a reader pastes them."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Everyday use\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None, "the Everyday use section has no sh block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def demo_recipe() -> list[str]:
    """The commands `make demo` runs once the virtualenv exists, with $(BIN) spelled out."""
    lines = MAKEFILE.read_text(encoding="utf-8").split("\ndemo:", 1)[1].splitlines()[1:]
    recipe = []
    for line in lines:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip().replace("$(BIN)", ".venv/bin"))
    return recipe


def run_script(folder: Path, lines: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``lines`` with bash in ``folder`` as a new shell would: no virtualenv on the PATH."""
    script = "set -euo pipefail\n" + "\n".join(lines) + "\n"
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(folder),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
    }
    return subprocess.run(
        ["bash", "-c", script],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


class TestEverydayUse:
    """What a newcomer pastes from the README works on a copy of the sample campaign."""

    @pytest.mark.skipif(
        not (Path(sys.prefix) / "bin" / "activate").is_file(),
        reason="the tests do not run in a virtualenv such as make demo creates",
    )
    def test_the_set_up_then_the_everyday_commands_succeed(self, tmp_path: Path) -> None:
        """After make demo's commands, the Everyday use block runs, pasted in order, exit 0."""
        copy_sample(tmp_path)
        # The virtualenv `make demo` would create: the one running these tests.
        os.symlink(Path(sys.prefix), tmp_path / ".venv")
        commands = everyday_commands()
        assert any(line.startswith("campaign ") for line in commands)
        result = run_script(tmp_path, [*demo_recipe(), *commands])
        assert result.returncode == 0, result.stderr[-3000:]
        assert "command not found" not in result.stderr
        assert (tmp_path / "letter.html").is_file()
        assert (tmp_path / "letters.csv").is_file()
        assert (tmp_path / "out" / "letters.jsonl").is_file()
        assert len(list((tmp_path / "out").glob("*.eml"))) == 12
        assert len(list((tmp_path / "out").glob("*.txt"))) == 12

    def test_a_new_shell_has_no_campaign_command(self, tmp_path: Path) -> None:
        """The README's way in is needed: without it a fresh shell finds no campaign."""
        result = run_script(tmp_path, ["command -v campaign"])
        assert result.returncode != 0

    def test_every_everyday_command_is_one_the_readme_explains(self) -> None:
        """Each line runs campaign (or sets it up); no command is there unexplained."""
        for line in everyday_commands():
            assert line.startswith(("campaign ", ". .venv/bin/activate")), line
