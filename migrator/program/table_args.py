"""A table spec and the stage's facts → the keyword arguments of ``aws.dynamodb.Table`` (pulumi-aws 7.x).

One mapping for both tables, so the legacy table (declared to match the live one) and the new table
(inheriting the legacy one's indexes, billing, encryption, tags…) never drift apart in how they are written.
Argument names and shapes follow pulumi_aws 7.51's ``TableArgs``; the indexes use ``key_schemas``
(``hash_key``/``range_key`` of an index are deprecated there).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pulumi_aws as aws

from migrator.core.config import ImportSource
from migrator.core.tablespec import LOAD_IMPORT, ONLINE_STREAM, Billing, GlobalIndex, LocalIndex, Projection, TableSpec
from migrator.program.plan import StagePlan


def legacy_table_args(spec: TableSpec, plan: StagePlan) -> dict[str, Any]:
    """The legacy table at ``plan``'s stage.

    Stage 0 declares the live table as recorded in config (``migrate init`` records deletion protection and
    point-in-time recovery), so that bringing a table under the stack changes nothing; unrecorded deletion
    protection is declared on. From stage 1 the table is being exported: both are on. Online, it has a
    stream from stage 1 (before the export starts): the one recorded in ``stream`` when the table already
    had one (an existing stream is never changed: another view type would disable it and enable a new
    one), else ``NEW_AND_OLD_IMAGES``.
    """
    if plan.stage == 0:
        protection = True if spec.deletion_protection is None else spec.deletion_protection
        return table_args(spec, deletion_protection=protection, pitr=spec.point_in_time_recovery)
    if plan.legacy_stream and spec.stream is None:
        spec = replace(spec, stream=ONLINE_STREAM)
    return table_args(spec, deletion_protection=True, pitr=True)


def new_table_args(spec: TableSpec, plan: StagePlan, source: ImportSource | None) -> dict[str, Any]:
    """The new table: point-in-time recovery on; deletion protection once it is live (cutover).

    Before cutover it is only a copy, and going back to stage 1 must be able to drop it.
    """
    return table_args(spec, deletion_protection=plan.new_is_live, pitr=True, import_source=source)


def table_args(
    spec: TableSpec,
    *,
    deletion_protection: bool,
    pitr: bool | None,
    import_source: ImportSource | None = None,
) -> dict[str, Any]:
    """Keyword arguments of ``aws.dynamodb.Table`` for ``spec`` (``opts`` excluded).

    ``pitr`` None leaves point-in-time recovery undeclared. ``import_source`` creates the table by
    ImportTable, unless the spec loads it by writing (``load: write``: the table is created empty).
    """
    args: dict[str, Any] = {
        "name": spec.name,
        "hash_key": spec.partition_key.name,
        "range_key": spec.sort_key.name if spec.sort_key else None,
        "attributes": [aws.dynamodb.TableAttributeArgs(name=a.name, type=a.type) for a in spec.attribute_definitions],
        **billing_args(spec.billing),
        "global_secondary_indexes": [global_index_args(i) for i in spec.global_indexes] or None,
        "local_secondary_indexes": [local_index_args(i) for i in spec.local_indexes] or None,
        "table_class": spec.table_class,
        "server_side_encryption": (
            aws.dynamodb.TableServerSideEncryptionArgs(enabled=True, kms_key_arn=spec.sse.kms_key_arn)
            if spec.sse is not None
            else None
        ),
        "tags": spec.tag_map or None,
        "ttl": (
            aws.dynamodb.TableTtlArgs(attribute_name=spec.ttl_attribute, enabled=True) if spec.ttl_attribute else None
        ),
        "stream_enabled": True if spec.stream else None,
        "stream_view_type": spec.stream,
        "deletion_protection_enabled": deletion_protection,
        "point_in_time_recovery": (
            aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=pitr) if pitr is not None else None
        ),
        "import_table": (
            import_table_args(import_source) if import_source is not None and spec.load == LOAD_IMPORT else None
        ),
    }
    return args


def billing_args(billing: Billing) -> dict[str, Any]:
    """``billing_mode`` with provisioned capacity, or on-demand with its optional caps."""
    if billing.provisioned:
        return {"billing_mode": billing.mode, "read_capacity": billing.read, "write_capacity": billing.write}
    caps = None
    if billing.max_read is not None or billing.max_write is not None:
        caps = aws.dynamodb.TableOnDemandThroughputArgs(
            max_read_request_units=billing.max_read, max_write_request_units=billing.max_write
        )
    return {"billing_mode": billing.mode, "on_demand_throughput": caps}


def _projection(projection: Projection) -> dict[str, Any]:
    return {
        "projection_type": projection.type,
        "non_key_attributes": list(projection.non_key_attributes) or None,
    }


def global_index_args(index: GlobalIndex) -> aws.dynamodb.TableGlobalSecondaryIndexArgs:
    """One global secondary index."""
    keys = [
        aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(attribute_name=index.partition_key.name, key_type="HASH")
    ]
    if index.sort_key is not None:
        keys.append(
            aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(attribute_name=index.sort_key.name, key_type="RANGE")
        )
    return aws.dynamodb.TableGlobalSecondaryIndexArgs(
        name=index.name,
        key_schemas=keys,
        read_capacity=index.read,
        write_capacity=index.write,
        **_projection(index.projection),
    )


def local_index_args(index: LocalIndex) -> aws.dynamodb.TableLocalSecondaryIndexArgs:
    """One local secondary index (it shares the table's partition key)."""
    return aws.dynamodb.TableLocalSecondaryIndexArgs(
        name=index.name, range_key=index.sort_key.name, **_projection(index.projection)
    )


def import_table_args(source: ImportSource) -> aws.dynamodb.TableImportTableArgs:
    """ImportTable from the (transformed) export's ``data/`` folder."""
    return aws.dynamodb.TableImportTableArgs(
        input_format="DYNAMODB_JSON",
        input_compression_type=source.compression,
        s3_bucket_source=aws.dynamodb.TableImportTableS3BucketSourceArgs(
            bucket=source.bucket, key_prefix=source.key_prefix
        ),
    )
