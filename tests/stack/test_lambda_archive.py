"""The consumer's Lambda archive runs with what a Lambda runtime has: the standard library and boto3.

The archive is unpacked into a folder and the handler is imported in a fresh interpreter whose
``sys.path`` holds that folder, boto3 and its own dependencies, and the standard library: nothing
else of this environment (no orjson, no xxhash, no pulumi). It then keys an item for the new table
with the derive rules, which is the code path that needs ``migrator.core.derive``.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.stack.harness import Recorded, asset_paths, example_config, project_program, run_program

# boto3 and what it imports; a Lambda Python runtime ships exactly these besides the standard library.
BOTO3_DISTRIBUTION = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")

PROBE = """
import json, sys
import handler
settings = handler.Settings.from_env({
    "TABLE_NAME": "MyNewTable", "PARTITION_KEY": "UUID", "NAME_ATTRIBUTE": "Name",
    "KEY_DERIVE": json.dumps({"UUID": "uuid5(Name)"}),
})
item = handler.build_item(settings, {"name": "alice"}, now=0)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("orjson", "xxhash", "isal", "pulumi", "typer"))
print(json.dumps({"uuid": item["UUID"]["S"], "thirdParty": loaded}))
"""


def _unpack(assets: dict, dest: Path) -> None:
    for archive_path, asset in assets.items():
        target = dest / archive_path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(asset.path, target)


def _boto3_only(dest: Path) -> None:
    for name in BOTO3_DISTRIBUTION:
        spec = importlib.util.find_spec(name)
        if spec is None:
            continue
        if spec.submodule_search_locations:
            (dest / name).symlink_to(Path(next(iter(spec.submodule_search_locations))))
        else:
            (dest / Path(spec.origin).name).symlink_to(Path(spec.origin))


def test_the_handler_imports_and_derives_with_the_standard_library_and_boto3_only(tmp_path: Path) -> None:
    from stacks.app import function_code

    archive, deps = tmp_path / "archive", tmp_path / "deps"
    archive.mkdir()
    deps.mkdir()
    _unpack(function_code().assets, archive)
    _boto3_only(deps)
    # -I: no PYTHON* variables, no user site, no cwd on sys.path; -S: no site-packages at all.
    code = f"import sys; sys.path[:0] = [{str(archive)!r}, {str(deps)!r}]\n" + PROBE
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["uuid"] == str(uuid.uuid5(uuid.NAMESPACE_URL, "alice"))
    assert result["thirdParty"] == []


def test_the_probe_fails_when_the_archive_lacks_a_module(tmp_path: Path) -> None:
    """The check above can fail: without ``migrator/core/derive.py`` the handler does not import."""
    from stacks.app import function_code

    archive, deps = tmp_path / "archive", tmp_path / "deps"
    archive.mkdir()
    deps.mkdir()
    assets = {k: v for k, v in function_code().assets.items() if k != "migrator/core/derive.py"}
    _unpack(assets, archive)
    _boto3_only(deps)
    code = f"import sys; sys.path[:0] = [{str(archive)!r}, {str(deps)!r}]\n" + PROBE
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert done.returncode != 0
    assert "migrator.core.derive" in done.stderr


# --- the engine hashes every asset at registration: each file must exist where the program runs ------


def _assets(recorded: Recorded) -> list[tuple[str, str, str]]:
    return [
        (r.name, kind, path) for r in recorded.resources for _, v in r.inputs.items() for kind, path in asset_paths(v)
    ]


@pytest.mark.parametrize("stage", range(5))
def test_every_file_the_program_registers_as_an_asset_exists(stage: int) -> None:
    recorded = run_program(example_config(), stage)

    assets = _assets(recorded)
    assert {name for name, _, _ in assets} == {"hello-world"}
    assert [a for a in assets if not Path(a[2]).is_file()] == []


def test_a_copy_of_the_project_registers_only_files_that_exist(tmp_path: Path) -> None:
    # Given the project copied the way `migrate demo` copies it (no migrator/ folder in the copy)
    from migrator.demo.project import write_project

    project = write_project(tmp_path / "project")
    assert not (project / "migrator").exists()

    # when its own __main__.py runs, from its folder, as the engine runs it
    recorded = run_program(example_config(), 3, program=project_program(project))

    # then every asset file exists: the handler from the copy, the derive code from the installed package.
    assets = {
        Path(path).relative_to(project).as_posix() if Path(path).is_relative_to(project) else path
        for _, _, path in _assets(recorded)
    }
    assert "functions/hello_world/handler.py" in assets
    assert all((project / a if not Path(a).is_absolute() else Path(a)).is_file() for a in assets)
