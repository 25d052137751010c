"""The program under mocks, stage by stage: resource types, key inputs, resource options and outputs."""

from __future__ import annotations

import ast
import json
import sys

import pytest

from tests.stack.harness import Recorded, example_config, run_program

TABLE = "aws:dynamodb/table:Table"
BUCKET = "aws:s3/bucket:Bucket"
FUNCTION = "aws:lambda/function:Function"
POLICY = "aws:iam/rolePolicy:RolePolicy"
LEGACY_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/MyTable"
NEW_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/MyNewTable"
TABLE_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
}


@pytest.fixture(scope="module")
def runs() -> dict[int, Recorded]:
    """Given the example config, when the program runs at each stage 0..4."""
    return {stage: run_program(example_config(), stage) for stage in range(5)}


def _env(recorded: Recorded) -> dict[str, str]:
    return recorded.one("hello-world", type=FUNCTION).inputs["environment"]["variables"]


def _table_statement(recorded: Recorded) -> dict:
    policy = json.loads(recorded.one("hello-world-policy", type=POLICY).inputs["policy"])
    (statement,) = [s for s in policy["Statement"] if any(a.startswith("dynamodb:") for a in s["Action"])]
    return statement


# --- every stage -------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", range(5))
def test_tables_declared_per_stage(runs, stage):
    tables = {r.name for r in runs[stage].find(type=TABLE)}
    expected = ({"table-legacy"} if stage <= 3 else set()) | ({"table-new"} if stage >= 2 else set())
    assert tables == expected


@pytest.mark.parametrize("stage", range(5))
def test_tables_are_children_of_the_component(runs, stage):
    component = runs[stage].one("table", type="table-migration:index:MigratingTable")
    for table in runs[stage].find(type=TABLE):
        assert table.parent == component.urn


@pytest.mark.parametrize("stage", range(5))
def test_export_bucket_declared_from_stage_1(runs, stage):
    assert runs[stage].has("table-export-bucket") == (stage >= 1)


# How each table is kept at each stage: (protect, retainOnDelete, AWS deletion protection); None: not declared.
# The README's table "How each table is kept"; a table a stage drops is unprotected the stage before.
PROTECTION = {
    0: {"legacy": (True, True, True), "new": None},
    1: {"legacy": (True, True, True), "new": None},
    2: {"legacy": (True, True, True), "new": (False, False, False)},
    3: {"legacy": (False, True, True), "new": (True, True, True)},
    4: {"legacy": None, "new": (True, True, True)},
}


@pytest.mark.parametrize("stage", range(5))
def test_each_stage_declares_the_protection_table_of_the_readme(runs, stage):
    for name, expected in PROTECTION[stage].items():
        found = runs[stage].find(type=TABLE, name=f"table-{name}")
        if expected is None:
            assert found == [], (stage, name)
            continue
        (table,) = found
        assert (table.protect, table.retain_on_delete, table.inputs["deletionProtectionEnabled"]) == expected, (
            stage,
            name,
        )


def test_a_table_a_stage_drops_is_unprotected_in_the_stage_before_and_retained_if_it_holds_user_data():
    # stage 4 drops legacy (`up`), stage 1 drops new (`down` 2→1): each is unprotected one stage before.
    assert PROTECTION[3]["legacy"][0] is False and PROTECTION[4]["legacy"] is None
    assert PROTECTION[2]["new"][0] is False and PROTECTION[1]["new"] is None
    # legacy holds the users' data until the end: always retained with deletion protection on.
    assert all(PROTECTION[s]["legacy"][1:] == (True, True) for s in range(4))


@pytest.mark.parametrize("stage", range(4))
def test_legacy_table_is_retained_and_deletion_protected(runs, stage):
    legacy = runs[stage].one("table-legacy", type=TABLE)
    assert legacy.retain_on_delete is True
    assert legacy.inputs["deletionProtectionEnabled"] is True
    assert legacy.inputs["name"] == "MyTable"
    assert legacy.inputs["hashKey"] == "Name"
    assert legacy.inputs["attributes"] == [{"name": "Name", "type": "S"}]
    assert legacy.inputs["billingMode"] == "PAY_PER_REQUEST"
    assert legacy.inputs["ttl"] == {"attributeName": "ExpiresAt", "enabled": True}


# The tables the consumer's role may use at each stage: both from the moment the new table exists
# until the legacy one leaves, so the cutover (and `down` 3→2) never has a moment without a grant.
GRANTED = {0: [LEGACY_ARN], 1: [LEGACY_ARN], 2: [LEGACY_ARN, NEW_ARN], 3: [LEGACY_ARN, NEW_ARN], 4: [NEW_ARN]}


@pytest.mark.parametrize("stage", range(5))
def test_active_table_env_and_grant(runs, stage):
    active_name = "MyTable" if stage <= 2 else "MyNewTable"
    env = _env(runs[stage])
    assert env["TABLE_NAME"] == active_name
    statement = _table_statement(runs[stage])
    assert statement["Resource"] == [arn for table in GRANTED[stage] for arn in (table, f"{table}/index/*")]
    assert set(statement["Action"]) == TABLE_ACTIONS
    policy_text = runs[stage].one("hello-world-policy").inputs["policy"]
    assert all(arn in GRANTED[stage] for arn in (LEGACY_ARN, NEW_ARN) if arn in policy_text)
    assert runs[stage].outputs["activeTableName"] == active_name


@pytest.mark.parametrize("stage", [2, 3])
def test_the_consumer_is_granted_both_tables_across_the_cutover(runs, stage):
    # No AccessDenied window: whichever of the policy and the function's environment changes first at
    # cutover (or going back 3→2), the running function may write to the table it still uses.
    resources = _table_statement(runs[stage])["Resource"]
    assert LEGACY_ARN in resources and NEW_ARN in resources


@pytest.mark.parametrize("stage", range(5))
def test_outputs_per_stage(runs, stage):
    outputs = runs[stage].outputs
    assert outputs["stage"] == stage
    assert outputs["legacyTableName"] == "MyTable"
    assert outputs["consumerFunctionName"] == "HelloWorld-dev"
    assert ("newTableName" in outputs) == (stage >= 2)
    assert ("exportBucket" in outputs) == (stage >= 1)
    assert ("legacyTableArn" in outputs) == (stage <= 3)
    if stage >= 2:
        assert outputs["newTableName"] == "MyNewTable"
    if stage >= 1:
        assert outputs["exportBucket"] == runs[stage].one("table-export-bucket").state["bucket"]


@pytest.mark.parametrize("stage", range(5))
def test_no_explicit_provider_without_endpoint(runs, stage):
    assert not runs[stage].find(type="pulumi:providers:aws")
    assert all(r.provider == "" for r in runs[stage].resources if r.custom)


# --- stage 0 ----------------------------------------------------------------------------------


def test_stage_0_legacy_has_no_pitr(runs):
    assert "pointInTimeRecovery" not in runs[0].one("table-legacy").inputs


def test_stage_0_consumer(runs):
    # Given stage 0, the consumer is the recipe's HelloWorld: Python 3.12, JSON logs, one-week log group.
    function = runs[0].one("hello-world", type=FUNCTION)
    log_group = runs[0].one("hello-world-logs", type="aws:cloudwatch/logGroup:LogGroup")
    role = runs[0].one("hello-world-role", type="aws:iam/role:Role")
    assert function.inputs["runtime"] == "python3.12"
    assert function.inputs["handler"] == "handler.handler"
    assert function.inputs["loggingConfig"] == {"logFormat": "JSON", "logGroup": "/aws/lambda/HelloWorld-dev"}
    assert log_group.inputs == {"name": "/aws/lambda/HelloWorld-dev", "retentionInDays": 7}
    assert log_group.urn in function.dependencies
    assert function.inputs["role"] == role.state["arn"]
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    assert _env(runs[0]) == {
        "TABLE_NAME": "MyTable",
        "PARTITION_KEY": "Name",
        "NAME_ATTRIBUTE": "Name",
        "NAME_TYPE": "S",
        "TTL_ATTRIBUTE": "ExpiresAt",
    }


def test_consumer_logs_only_to_its_own_group(runs):
    policy = json.loads(runs[0].one("hello-world-policy").inputs["policy"])
    (logs,) = [s for s in policy["Statement"] if s["Sid"] == "OwnLogs"]
    group_arn = runs[0].one("hello-world-logs").state["arn"]
    assert logs["Resource"] == [group_arn, f"{group_arn}:*"]
    assert set(logs["Action"]) == {"logs:CreateLogStream", "logs:PutLogEvents"}


def test_lambda_archive_ships_the_handler_and_the_derive_code():
    from stacks.app import function_code

    assets = function_code().assets
    assert set(assets) == {
        "handler.py",
        "migrator/__init__.py",
        "migrator/core/__init__.py",
        "migrator/core/errors.py",
        "migrator/core/derive.py",
    }
    # The Lambda runtime has the standard library and boto3; the shipped migrator modules need nothing else.
    for path, asset in assets.items():
        with open(asset.path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {
            n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module and not n.level
        }
        allowed = (
            set(sys.stdlib_module_names) | {"__future__", "migrator"} | ({"boto3"} if path == "handler.py" else set())
        )
        assert imported <= allowed, (path, imported - allowed)


# --- stage 1 ----------------------------------------------------------------------------------


def test_stage_1_turns_pitr_on_for_legacy(runs):
    assert runs[1].one("table-legacy").inputs["pointInTimeRecovery"] == {"enabled": True}


def test_stage_1_export_bucket_is_private_encrypted_tls_only_and_kept(runs):
    rec = runs[1]
    bucket = rec.one("table-export-bucket", type=BUCKET)
    assert bucket.inputs.get("forceDestroy") is False
    assert bucket.retain_on_delete is True
    access = rec.one("table-export-bucket-public-access", type="aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert access.inputs == {
        "bucket": bucket.id,
        "blockPublicAcls": True,
        "blockPublicPolicy": True,
        "ignorePublicAcls": True,
        "restrictPublicBuckets": True,
    }
    ownership = rec.one("table-export-bucket-ownership", type="aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    encryption = rec.one(
        "table-export-bucket-encryption",
        type="aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    )
    assert encryption.inputs["rules"] == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]
    policy_res = rec.one("table-export-bucket-tls-only", type="aws:s3/bucketPolicy:BucketPolicy")
    (statement,) = json.loads(policy_res.inputs["policy"])["Statement"]
    arn = bucket.state["arn"]
    assert statement["Effect"] == "Deny"
    assert statement["Resource"] == [arn, f"{arn}/*"]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert access.urn in policy_res.dependencies
    for child in (access, ownership, encryption, policy_res):
        assert child.inputs["bucket"] == bucket.id
        assert child.retain_on_delete is True


def test_against_an_emulator_the_bucket_stays_private_and_encrypted_without_the_tls_policy():
    # Given an endpoint (a local emulator, which enforces a Deny but cannot tell TLS), when stage 1 runs,
    rec = run_program({**example_config(), "endpoint": "http://127.0.0.1:5000"}, 1)
    # then the bucket is private, owner-enforced and encrypted as on AWS, and only the TLS-only policy is left out
    assert rec.one("table-export-bucket-public-access").inputs["restrictPublicBuckets"] is True
    assert rec.one("table-export-bucket-ownership").inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    assert rec.has("table-export-bucket-encryption")
    assert not rec.find(type="aws:s3/bucketPolicy:BucketPolicy")


def test_stage_1_has_no_new_table_and_consumer_stays_on_legacy(runs):
    assert not runs[1].has("table-new")
    assert "KEY_DERIVE" not in _env(runs[1])


def test_configured_export_bucket_is_used_not_created():
    # Given exportBucket in config, when stage 1 runs, no bucket is declared and its name is the output.
    config = {**example_config(), "exportBucket": "existing-exports"}
    rec = run_program(config, 1)
    assert not rec.find(type=BUCKET)
    assert not [r for r in rec.resources if r.type.startswith("aws:s3/")]
    assert rec.outputs["exportBucket"] == "existing-exports"
    assert rec.one("table-legacy").inputs["pointInTimeRecovery"] == {"enabled": True}


# --- stage 2 ----------------------------------------------------------------------------------


def test_stage_2_new_table_is_imported_from_import_source(runs):
    new = runs[2].one("table-new", type=TABLE)
    assert new.inputs["name"] == "MyNewTable"
    assert new.inputs["hashKey"] == "UUID"
    assert new.inputs["attributes"] == [{"name": "UUID", "type": "S"}]
    assert new.inputs["billingMode"] == "PAY_PER_REQUEST"
    assert new.inputs["pointInTimeRecovery"] == {"enabled": True}
    assert new.inputs["ttl"] == {"attributeName": "ExpiresAt", "enabled": True}
    assert new.inputs["importTable"] == {
        "inputFormat": "DYNAMODB_JSON",
        "inputCompressionType": "GZIP",
        "s3BucketSource": {"bucket": "exports-bucket", "keyPrefix": "transformed/dev/MyNewTable/data/"},
    }


def test_stage_2_new_table_options_keep_the_way_back_open(runs):
    new = runs[2].one("table-new")
    assert new.ignore_changes == ("importTable",)
    assert new.custom_timeouts["create"] == "12h"
    assert (new.protect, new.retain_on_delete) == (False, False)
    assert new.inputs["deletionProtectionEnabled"] is False


def test_stage_2_uses_the_recorded_compression():
    config = example_config()
    config["importSource"] = {**config["importSource"], "compression": "ZSTD"}
    new = run_program(config, 2).one("table-new")
    assert new.inputs["importTable"]["inputCompressionType"] == "ZSTD"


# --- stage 3 and 4 ------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", [3, 4])
def test_from_cutover_new_table_is_protected_retained_and_deletion_protected(runs, stage):
    new = runs[stage].one("table-new")
    assert (new.protect, new.retain_on_delete) == (True, True)
    assert new.inputs["deletionProtectionEnabled"] is True
    assert new.ignore_changes == ("importTable",)
    assert new.custom_timeouts["create"] == "12h"


@pytest.mark.parametrize("online", [True, False])
@pytest.mark.parametrize("stage", [3, 4])
def test_from_cutover_consumer_keys_items_for_the_new_table(runs, stage, online):
    from tests.support.consumer import load_handler

    recorded = runs[stage] if online else run_program({**example_config(), "online": False}, stage)
    env = _env(recorded)
    assert env["TABLE_NAME"] == "MyNewTable"
    # (online, stage 3 names both tables' schemas in TABLE_SCHEMAS; the handler keys by TABLE_NAME's entry)
    settings = load_handler().Settings.from_env(env)
    assert settings.key_names == ("UUID",) and settings.name_attribute == "Name"
    assert [str(rule) for rule in settings.deriver.rules] == ["UUID=uuid5(Name)"]
    if not online or stage == 4:
        assert env["PARTITION_KEY"] == "UUID"
        assert json.loads(env["KEY_DERIVE"]) == {"UUID": "uuid5(Name)"}


def test_stage_4_keeps_legacy_name_output_without_declaring_it(runs):
    assert not runs[4].has("table-legacy")
    assert runs[4].outputs["legacyTableName"] == "MyTable"
    assert runs[4].outputs["activeTableArn"] == NEW_ARN


# --- schemas and the endpoint -------------------------------------------------------------------


def test_sort_keys_become_range_keys_and_reach_the_consumer():
    config = example_config()
    config["legacyTable"] = {**config["legacyTable"], "sortKey": {"name": "Created", "type": "N"}}
    config["newTable"] = {**config["newTable"], "sortKey": {"name": "Created", "type": "N"}}
    rec = run_program(config, 3)
    for name in ("table-legacy", "table-new"):
        table = rec.one(name)
        assert table.inputs["rangeKey"] == "Created"
        assert {"name": "Created", "type": "N"} in table.inputs["attributes"]
    assert _env(rec)["SORT_KEY"] == "Created"


def test_endpoint_sends_every_resource_through_one_explicit_provider():
    # Given an endpoint, when stage 2 runs, one aws provider points every service the program uses there.
    rec = run_program({**example_config(), "endpoint": "http://127.0.0.1:5000"}, 2)
    (provider,) = rec.find(type="pulumi:providers:aws")
    assert provider.inputs["region"] == "us-east-1"
    for flag in ("skipCredentialsValidation", "skipRequestingAccountId", "skipMetadataApiCheck", "s3UsePathStyle"):
        assert provider.inputs[flag] in (True, "true")
    endpoints = provider.inputs["endpoints"]
    (endpoints,) = json.loads(endpoints) if isinstance(endpoints, str) else endpoints
    for service in ("dynamodb", "s3", "lambda", "iam", "sts", "cloudwatchlogs"):
        assert endpoints[service] == "http://127.0.0.1:5000"
    customs = [r for r in rec.resources if r.custom and not r.type.startswith("pulumi:providers:")]
    assert len(customs) >= 10
    for resource in customs:
        assert resource.provider.startswith(provider.urn + "::"), resource.name


def test_function_name_is_per_stack_and_valid_for_lambda():
    from stacks.app import function_name

    assert function_name("dev") == "HelloWorld-dev"
    assert function_name("org/proj.prod") == "HelloWorld-org-proj-prod"
    assert len(function_name("s" * 100)) == 64
    rec = run_program(example_config(), 0, stack="prod")
    assert rec.outputs["consumerFunctionName"] == "HelloWorld-prod"
    assert rec.one("hello-world-logs").inputs["name"] == "/aws/lambda/HelloWorld-prod"


def test_pulumi_entry_point_runs_the_app():
    # Given Pulumi.yaml's program (__main__.py), when it runs, it declares the example app.
    import runpy
    from pathlib import Path

    main_py = Path(__file__).resolve().parents[2] / "__main__.py"
    rec = run_program(example_config(), 3, program=lambda: runpy.run_path(str(main_py), run_name="__main__"))
    assert {r.name for r in rec.find(type=TABLE)} == {"table-legacy", "table-new"}
    assert rec.outputs["activeTableName"] == "MyNewTable"


def test_the_new_table_is_declared_for_import_only_while_the_migrator_recovers_it():
    # Given stage 2 whose update was killed after AWS made the table, when the migrator sets adoptNewTable,
    recovering = run_program({**example_config(), "adoptNewTable": "MyNewTable"}, 2)
    # then the new table is imported by its name, and otherwise never
    assert recovering.one("table-new").import_id == "MyNewTable"
    assert not run_program(example_config(), 2).one("table-new").import_id
