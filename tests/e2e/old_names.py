"""The example program as 0.2 declared it: the component's children named ``legacy``, ``export-bucket``
(with ``export-bucket-public-access``…) and ``new``, whatever the component's name.

A test applies stages with this program, then switches the same stack to the current program, whose
children are ``table-legacy``, ``table-export-bucket``… with aliases of these names.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from migrator.core.config import MigrationConfig
from migrator.program import endpoint_provider, load_config
from migrator.program.export_bucket import export_bucket
from migrator.program.plan import IMPORT_CREATE_TIMEOUT, active_spec, plan_for
from migrator.program.table_args import legacy_table_args, new_table_args

COMPONENT_TYPE = "table-migration:index:MigratingTable"


class MigratingTable02(pulumi.ComponentResource):
    """0.2's MigratingTable: the same resources, named ``legacy``, ``export-bucket``, ``new``."""

    def __init__(self, name: str, config: MigrationConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        self.config, self.plan, self.active_spec = config, plan_for(config), active_spec(config)
        child = pulumi.ResourceOptions(parent=self)
        self.legacy = self.new = None
        self.export_bucket_name = None
        if self.plan.declare_legacy:
            self.legacy = aws.dynamodb.Table(
                "legacy",
                **legacy_table_args(config.legacy, self.plan),
                opts=pulumi.ResourceOptions.merge(
                    child, pulumi.ResourceOptions(protect=self.plan.legacy_protected, retain_on_delete=True)
                ),
            )
        if self.plan.create_export_bucket:
            self.export_bucket_name = export_bucket("export-bucket", child).bucket
        if self.plan.declare_new:
            live = self.plan.new_is_live
            self.new = aws.dynamodb.Table(
                "new",
                **new_table_args(config.new, self.plan, config.import_source),  # type: ignore[arg-type]
                opts=pulumi.ResourceOptions.merge(
                    child,
                    pulumi.ResourceOptions(
                        ignore_changes=["importTable"],
                        custom_timeouts=pulumi.CustomTimeouts(create=IMPORT_CREATE_TIMEOUT),
                        protect=live,
                        retain_on_delete=live,
                    ),
                ),
            )
        active = self.new if self.plan.active == "new" else self.legacy
        assert active is not None
        self.active_table_name, self.active_table_arn = active.name, active.arn
        self.table_arns = [t.arn for t in (self.legacy, self.new) if t is not None]
        self.register_outputs({})


def main() -> None:
    """0.2's stacks/app.py main(), with 0.2's component."""
    from stacks.app import export_outputs, hello_world

    config = load_config()
    provider = endpoint_provider(config)
    opts = pulumi.ResourceOptions(providers=[provider]) if provider is not None else None
    table = MigratingTable02("table", config, opts)
    consumer = hello_world(config, table, provider)  # type: ignore[arg-type]
    export_outputs(config, table, consumer)  # type: ignore[arg-type]
