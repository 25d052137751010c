"""``MigratingTable``: the legacy table, the export bucket and the new table of one migration, as a component.

Any Pulumi Python program can declare one (``from migrator.program import MigratingTable``). Its
consumers use :attr:`MigratingTable.active_table_name` / ``active_table_arn`` (and ``table_arns`` for
their grants) and never pick a table themselves, so the cutover (stage 3) moves them all at once.

Children are named from the component's name, as Pulumi components do (``orders-legacy``,
``orders-export-bucket``, ``orders-new``), so a program can hold other components beside it. Until
0.2 they were called ``legacy``, ``export-bucket`` and ``new``: each child carries an ``Alias`` of
its old name, so a stack made then keeps its tables and bucket (the engine matches the new URN to the
old state entry: no create, no delete, no replacement).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from migrator.core.config import MigrationConfig, TableSpec
from migrator.core.urns import COMPONENT_TYPE, EXPORT_BUCKET, LEGACY, NEW, child_name
from migrator.program.config import load_config
from migrator.program.export_bucket import export_bucket
from migrator.program.plan import IMPORT_CREATE_TIMEOUT, StagePlan, active_spec, plan_for
from migrator.program.table_args import legacy_table_args, new_table_args

# Options of the legacy table that the migration decides per stage; ``legacy_opts`` cannot change them.
MIGRATION_OWNED_OPTIONS = ("parent", "protect", "retain_on_delete", "import_")


class MigratingTable(pulumi.ComponentResource):
    """The tables and bucket of a migration at the config's stage (the README's "Stages").

    ``config``: the migration (``None``: the stack's ``table-migration:`` config, read with
    :func:`~migrator.program.load_config`; or a :class:`MigrationConfig` built in code).

    ``legacy_aliases``: the legacy table's URN before it moved under this component, so that the
    engine keeps the table instead of creating one and deleting the other; for a top-level
    ``aws.dynamodb.Table("orders", …)``: ``[pulumi.Alias(name="orders", parent=pulumi.ROOT_STACK_RESOURCE)]``.

    ``legacy_opts``: resource options passed through to the legacy table (``provider``,
    ``ignore_changes`` (e.g. ``["readCapacity", "writeCapacity"]`` under auto scaling),
    ``custom_timeouts``, ``depends_on``, ``aliases``…). The migration's own options win: ``parent``
    (this component), ``protect`` and ``retain_on_delete`` (declared per stage: the legacy table is
    always retained and protected while consumers use it) and ``import_`` (from ``legacyTable.adopt``)
    are never taken from ``legacy_opts``; setting one logs a warning saying it is ignored.

    Children: ``<name>-legacy`` (stages 0-3), ``<name>-export-bucket`` (stage 1+, unless ``exportBucket``
    is configured), ``<name>-new`` (stage 2+). Pass an explicit provider with ``opts.providers``.
    One per stack: ``migrate`` refuses a program that declares two.
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
    config: MigrationConfig

    def __init__(
        self,
        name: str,
        config: MigrationConfig | None = None,
        *,
        legacy_aliases: Sequence[pulumi.Input[str] | pulumi.Alias] | None = None,
        legacy_opts: pulumi.ResourceOptions | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        # Read (and validate) before registering anything: bad config stops the program with the key and the fix.
        config = config if config is not None else load_config()
        super().__init__(COMPONENT_TYPE, name, None, opts)
        self.config = config
        self.plan = plan_for(config)
        self.active_spec = active_spec(config)
        child = pulumi.ResourceOptions(parent=self)

        legacy = self._legacy_options(name, child, legacy_aliases, legacy_opts)
        self.legacy = self._legacy_table(name, legacy) if self.plan.declare_legacy else None
        self.bucket = None
        self.export_bucket_name = None
        if self.plan.create_export_bucket:
            self.bucket = export_bucket(
                child_name(name, EXPORT_BUCKET), child, old_name=EXPORT_BUCKET, tls_only=config.endpoint is None
            )
            self.export_bucket_name = self.bucket.bucket
        elif self.plan.export_bucket:
            self.export_bucket_name = pulumi.Output.from_input(config.export_bucket or "")
        self.new = self._new_table(name, child) if self.plan.declare_new else None

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

    def _legacy_options(
        self,
        name: str,
        child: pulumi.ResourceOptions,
        aliases: Sequence[pulumi.Input[str] | pulumi.Alias] | None,
        user: pulumi.ResourceOptions | None,
    ) -> pulumi.ResourceOptions:
        """The user's ``legacy_opts`` under the migration's own options (see the class docstring)."""
        passed = copy.copy(user) if user is not None else pulumi.ResourceOptions()
        ignored = [option for option in MIGRATION_OWNED_OPTIONS if getattr(passed, option, None) is not None]
        for option in ignored:
            setattr(passed, option, None)
        if ignored:
            pulumi.log.warn(
                f"MigratingTable {name}: legacy_opts {', '.join(ignored)} ignored: the migration declares the legacy "
                "table's parent, protect, retain_on_delete and import itself, per stage (see the README).",
                resource=self,
            )
        adopt = self.plan.stage == 0 and self.config.legacy.adopt
        own = pulumi.ResourceOptions(
            # The table holds the data being migrated: while consumers use it (stages 0-2) no update may
            # delete or replace it. From cutover it is declared unprotected so that stage 4 can drop it
            # as a normal, previewed update; it stays retained (it leaves the stack, never AWS) and AWS
            # deletion protection stays on, so no update can delete its data.
            protect=self.plan.legacy_protected,
            retain_on_delete=True,
            # Its name until 0.2, and wherever the user's program declared it before.
            aliases=[pulumi.Alias(name=LEGACY), *(aliases or ())],
            # legacyTable.adopt: stage 0 takes over a table Pulumi does not manage yet (its name is its id).
            import_=self.config.legacy.name if adopt else None,
        )
        return pulumi.ResourceOptions.merge(pulumi.ResourceOptions.merge(child, passed), own)

    def _legacy_table(self, name: str, opts: pulumi.ResourceOptions) -> aws.dynamodb.Table:
        return aws.dynamodb.Table(
            child_name(name, LEGACY), **legacy_table_args(self.config.legacy, self.plan), opts=opts
        )

    def _new_table(self, name: str, child: pulumi.ResourceOptions) -> aws.dynamodb.Table:
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
            aliases=[pulumi.Alias(name=NEW)],  # its name until 0.2
            # A stage 2 killed while the engine created the table: AWS made it (the import ran on), the state
            # never got it; the migrator's rerun declares it for import (by name, its id), so it is adopted.
            import_=spec.name if self.config.adopt_new_table == spec.name else None,
        )
        return aws.dynamodb.Table(
            child_name(name, NEW),
            **new_table_args(spec, self.plan, source),
            opts=pulumi.ResourceOptions.merge(child, options),
        )
