"""``MigratingTable``: the legacy table, the export bucket and the new table of one migration.

Consumers use :attr:`MigratingTable.active_table_name` / ``active_table_arn`` / ``active_spec`` and
never pick a table themselves, so the cutover (stage 3) moves them all at once.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from ..core.config import MigrationConfig, TableSpec
from .export_bucket import export_bucket
from .plan import IMPORT_CREATE_TIMEOUT, StagePlan, active_spec, plan_for
from .table_args import legacy_table_args, new_table_args

COMPONENT_TYPE = "table-migration:index:MigratingTable"


class MigratingTable(pulumi.ComponentResource):
    """The tables and bucket of a migration at the config's stage (design.md §3).

    Children: ``legacy`` (stages 0-3), ``export-bucket`` (stage 1+, unless ``exportBucket`` is
    configured), ``new`` (stage 2+). Pass an explicit provider with ``opts.providers``.
    """

    legacy: aws.dynamodb.Table | None
    new: aws.dynamodb.Table | None
    bucket: aws.s3.Bucket | None
    export_bucket_name: pulumi.Output[str] | None
    active_table_name: pulumi.Output[str]
    active_table_arn: pulumi.Output[str]
    table_arns: list[pulumi.Output[str]]
    active_spec: TableSpec
    plan: StagePlan

    def __init__(self, name: str, config: MigrationConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        self.config = config
        self.plan = plan_for(config)
        self.active_spec = active_spec(config)
        child = pulumi.ResourceOptions(parent=self)

        self.legacy = self._legacy_table(child) if self.plan.declare_legacy else None
        self.bucket = None
        self.export_bucket_name = None
        if self.plan.create_export_bucket:
            self.bucket = export_bucket("export-bucket", child)
            self.export_bucket_name = self.bucket.bucket
        elif self.plan.export_bucket:
            self.export_bucket_name = pulumi.Output.from_input(config.export_bucket or "")
        self.new = self._new_table(child) if self.plan.declare_new else None

        active = self.new if self.plan.active == "new" else self.legacy
        assert active is not None  # the active table is declared at every stage
        self.active_table_name = active.name
        self.active_table_arn = active.arn
        # Every table the stack declares: legacy (0-3) and new (2-4), both across the cutover.
        self.table_arns = [t.arn for t in (self.legacy, self.new) if t is not None]
        self.register_outputs(
            {
                "activeTableName": self.active_table_name,
                "activeTableArn": self.active_table_arn,
                "exportBucket": self.export_bucket_name,
            }
        )

    def _legacy_table(self, child: pulumi.ResourceOptions) -> aws.dynamodb.Table:
        return aws.dynamodb.Table(
            "legacy",
            **legacy_table_args(self.config.legacy, self.plan),
            # The table holds the data being migrated: while consumers use it (stages 0-2) no update may
            # delete or replace it. From cutover it is declared unprotected so that stage 4 can drop it
            # as a normal, previewed update; it stays retained (it leaves the stack, never AWS) and AWS
            # deletion protection stays on, so no update can delete its data.
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(protect=self.plan.legacy_protected, retain_on_delete=True)
            ),
        )

    def _new_table(self, child: pulumi.ResourceOptions) -> aws.dynamodb.Table:
        spec, source = self.config.new, self.config.import_source
        assert spec is not None and source is not None  # parse_config requires both from stage 2
        live = self.plan.new_is_live
        options = pulumi.ResourceOptions(
            # The import source is create-only (ForceNew upstream): a later change or removal of
            # importSource must not replace a table that by then holds live data.
            ignore_changes=["importTable"],
            custom_timeouts=pulumi.CustomTimeouts(create=IMPORT_CREATE_TIMEOUT),
            # Before cutover the table is only a copy and going back to stage 1 must drop it;
            # from cutover it is the live table.
            protect=live,
            retain_on_delete=live,
        )
        return aws.dynamodb.Table(
            "new",
            **new_table_args(spec, self.plan, source),
            opts=pulumi.ResourceOptions.merge(child, options),
        )
