"""The README's "Embedding" code runs as printed, against the engine double and moto in place of Pulumi and AWS,
and ``migrator.api`` holds every name the section names."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import pytest

import migrator.api
import migrator.program
from migrator.api import PulumiWorkspace
from tests.conftest import Moto
from tests.e2e.conftest import LEGACY, NEW, example_config, missing_from_new, seed_legacy
from tests.e2e.mock_engine import MockEngineStack, program_under_mocks

README = Path(__file__).resolve().parents[2] / "README.md"


def embedding_section() -> str:
    """The text of README's "## Embedding" section, up to the next section."""
    return README.read_text(encoding="utf-8").split("\n## Embedding\n", 1)[1].split("\n## ", 1)[0]


def embedding_code() -> str:
    """The section's one Python code block."""
    blocks = re.findall(r"```python\n(.*?)\n```", embedding_section(), flags=re.DOTALL)
    assert len(blocks) == 1, blocks
    return blocks[0]


def test_the_embedding_code_runs_as_printed(
    moto: Moto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    # Given stack "prod" at stage 0 on the engine double (the example config, on moto) with 50 legacy items,
    stack = MockEngineStack("prod", example_config(moto.endpoint), program_under_mocks)
    stack.up()
    items = seed_legacy(moto.dynamodb, 50)
    opened: list[dict[str, Any]] = []

    def open_stack(**kwargs: Any) -> MockEngineStack:
        opened.append(kwargs)
        return stack

    # opened by the snippet's PulumiWorkspace.open, and this test's own folder for the machine's file lock
    monkeypatch.setattr(PulumiWorkspace, "open", open_stack)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    # when the README's code runs
    exec(compile(embedding_code(), f"{README}#Embedding", "exec"), {"__name__": "readme_embedding"})

    # then it opened "prod", printed the plan, moved the stack to stage 3 and printed its status.
    assert opened == [{"stack": "prod", "work_dir": Path("/src/table-migration")}]
    out = capsys.readouterr().out
    assert "Plan for stack prod" in out
    assert stack.get_config()["stage"] == "3" and stack.outputs()["activeTableName"] == NEW
    assert missing_from_new(moto.dynamodb, items) == ([], [])
    assert out.rstrip().splitlines()[-1].startswith("{") and f"'{LEGACY}'" in out


def _names(text: str) -> set[str]:
    """Every `Name` or `snake_name` written in ``text``, besides methods and arguments (a class or function)."""
    named = set(re.findall(r"`([A-Z][A-Za-z]+|[a-z]+_[a-z_]+)(?:\(\))?`", text))
    return named - {"discard_new_writes", "catch_up", "stages_run", "exit_code", "to_dict"}


def test_every_name_the_section_uses_is_in_migrator_api_or_migrator_program() -> None:
    embedding, own_program = embedding_section().split("A Pulumi program of your own", 1)
    assert sorted(n for n in _names(embedding) if not hasattr(migrator.api, n)) == []
    public = set(migrator.api.__all__) | set(migrator.program.__all__)
    assert sorted(_names(own_program) - public) == []
    assert set(migrator.api.__all__) <= set(dir(migrator.api))
