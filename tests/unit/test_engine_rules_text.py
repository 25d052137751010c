"""What the engine module reads from the CLI's text and the project's files: lock holders, the cause of a
failed update, the CLI's version, the stack file's folder and the config's wire format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from semver import VersionInfo

from migrator.core.errors import PulumiNotInstalledError
from migrator.engine.backend_lock import engine_locks
from migrator.engine.config_text import decode_config, project_config_dir, set_all_json, stack_settings_file
from migrator.engine.diagnostics import cause_first, diagnostics
from migrator.engine.workspace import check_cli_version

LOCKED = (
    "error: the stack is currently locked by 2 lock(s). Either wait for the other process(es) to end or delete "
    "the lock file with `pulumi cancel`.\n"
    "  file:///s/.pulumi/locks/organization/p/dev/75c6.json?no_tmp_dir=true: created by root@vm (pid 13761) at "
    "2026-12-07T06:54:32Z\n"
    "  file:///s/.pulumi/locks/organization/p/dev/80aa.json: created by ci@runner-7 (pid 9) at 2026-12-07T07:00:00Z"
)


def test_each_lock_holder_the_backend_names_is_read() -> None:
    holders = engine_locks(LOCKED)
    assert [(h.user, h.host, h.pid, h.at) for h in holders] == [
        ("root", "vm", 13761, "2026-12-07T06:54:32Z"),
        ("ci", "runner-7", 9, "2026-12-07T07:00:00Z"),
    ]
    assert holders[0].describe() == "root@vm (pid 13761) since 2026-12-07T06:54:32Z"
    assert engine_locks("error: [409] Conflict: Another update is currently in progress.") == ()


UNREACHED = (
    "aws:dynamodb:Table (table-new): expected resource operations for "
    "urn:pulumi:dev::p::aws:dynamodb/table:Table::table-new but none were seen"
)


def test_the_cause_of_a_failed_update_comes_before_the_steps_it_left_unreached() -> None:
    lines = [UNREACHED, UNREACHED.replace("table-new", "table-x"), "aws:s3:Bucket (b): AccessDenied: no"]
    assert cause_first(lines) == [lines[2], lines[0], lines[1]]


def test_the_four_line_cap_keeps_the_cause() -> None:
    # given: an update held to a plan that failed on one resource and left five planned steps unreached
    unreached = "\n".join(
        f"  aws:dynamodb:Table (t{i}):\n    error: expected resource operations for urn:x::t{i} but none were seen"
        for i in range(5)
    )
    stdout = f"Diagnostics:\n{unreached}\n  aws:lambda:Function (f):\n    error: creating: ResourceConflict\n"
    # then the cause is listed first, within the cap
    found = diagnostics(stdout)
    assert found[0] == "aws:lambda:Function (f): creating: ResourceConflict" and len(found) == 4


@pytest.mark.parametrize(("version", "refused"), [("3.173.0", True), ("3.174.0", False), ("3.274.0", False)])
def test_a_cli_older_than_3_174_is_refused_naming_its_version(version: str, refused: bool) -> None:
    if not refused:
        check_cli_version(VersionInfo.parse(version), "/usr/bin/pulumi")
        return
    with pytest.raises(PulumiNotInstalledError) as caught:
        check_cli_version(VersionInfo.parse(version), "/usr/bin/pulumi")
    assert "version 3.173.0" in str(caught.value) and "3.174.0 or later" in str(caught.value)
    assert caught.value.exit_code == 2


def test_the_stack_file_is_found_in_the_projects_stack_config_dir(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\nstackConfigDir: config\n")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "Pulumi.dev.yaml").write_text("config: {}\n")
    assert project_config_dir(tmp_path) == "config"
    assert stack_settings_file(tmp_path, "org/p/dev", project_config_dir(tmp_path)) == tmp_path / "config" / (
        "Pulumi.dev.yaml"
    )
    # without stackConfigDir the file beside Pulumi.yaml is the one
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    assert project_config_dir(tmp_path) is None and stack_settings_file(tmp_path, "dev") is None


def test_objects_go_to_the_cli_as_object_values_and_json_text_of_0_3_is_still_read() -> None:
    payload = json.loads(set_all_json({"legacyTable": {"name": "T"}, "stage": 1, "writers": [{"function": "f"}]}))
    assert payload["table-migration:legacyTable"]["objectValue"] == {"name": "T"}
    assert payload["table-migration:writers"]["objectValue"] == [{"function": "f"}]
    assert "objectValue" not in payload["table-migration:stage"] and payload["table-migration:stage"]["value"] == "1"
    # what `get_all_config` gives for a map the CLI stored (its JSON text), and what 0.3 stored (JSON text too)
    read = decode_config({"table-migration:legacyTable": '{"name":"T"}', "aws:region": "us-east-1", "x:y": "z"})
    assert read == {"legacyTable": {"name": "T"}, "aws:region": "us-east-1"}
