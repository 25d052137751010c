"""The migrator's records on AWS: one small DynamoDB table next to the data, shared by every machine.

One item per stack and kind: ``pk`` = ``<project>/<stack>``, ``sk`` = the kind (``progress``, ``lock``,
``checkpoints``), ``body`` = the entry as JSON text, ``token`` copied out of it for conditional
writes. A write is one ``PutItem`` (a few milliseconds), so a checkpoint can be saved every second
without touching the progress record; the lock is a conditional put, a true compare-and-swap.

The table is created on the first write, by the migrator, before stage 0's update: the lock and the
progress must exist before the stack declares anything. It is PAY_PER_REQUEST, encrypted at rest (the
default AWS-owned key), with deletion protection and point-in-time recovery on. Reading a table that
does not exist yet answers "no entry" and creates nothing (``migrate status`` changes nothing).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from migrator.core.errors import AwsError, NotFoundError
from migrator.core.ports import as_json, check_kind, decode
from migrator.data.aws import AwsSettings, aws_errors

DEFAULT_TABLE = "table-migration-records"
_CONDITION_FAILED = "ConditionalCheckFailedException"


class DynamoRecordStore:
    """A :class:`~migrator.core.ports.RecordStore` in a DynamoDB table, for one stack (``scope``)."""

    def __init__(self, settings: AwsSettings, *, scope: str, table: str = DEFAULT_TABLE, client: Any = None) -> None:
        self.settings = settings
        self.scope = scope
        self.table = table
        self._client = client
        self._ready = False

    @property
    def where(self) -> str:
        return f"DynamoDB table {self.table} ({self.settings.region})"

    def _dynamodb(self) -> Any:
        if self._client is None:
            self._client = self.settings.client("dynamodb")
        return self._client

    def _key(self, kind: str) -> dict[str, Any]:
        return {"pk": {"S": self.scope}, "sk": {"S": check_kind(kind)}}

    def exists(self) -> bool:
        """Whether the record table exists (DescribeTable; never creates it)."""
        if self._ready:
            return True
        try:
            with aws_errors(f"describe table {self.table}", what=f"table {self.table}"):
                self._dynamodb().describe_table(TableName=self.table)
        except NotFoundError:
            return False
        self._ready = True
        return True

    def load(self, kind: str) -> Any:
        """The entry of ``kind`` (a strongly consistent read), or None; a missing table is no entry."""
        try:
            with aws_errors(f"read the migration record {kind} of {self.scope}", what=f"table {self.table}"):
                item = self._dynamodb().get_item(TableName=self.table, Key=self._key(kind), ConsistentRead=True)
        except NotFoundError:
            return None
        body = item.get("Item", {}).get("body", {}).get("S")
        return None if body is None else decode(body)

    def save(self, kind: str, value: Mapping[str, Any]) -> None:
        """Write the entry of ``kind`` whole: one PutItem."""
        self._put(kind, value, None)

    def put_if(self, kind: str, value: Mapping[str, Any], *, current_token: str | None) -> bool:
        """Write only if the stored ``token`` is ``current_token`` (None: only if there is no entry)."""
        if current_token is None:
            condition = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "#token = :token",
                "ExpressionAttributeNames": {"#token": "token"},
                "ExpressionAttributeValues": {":token": {"S": current_token}},
            }
        return self._put(kind, value, condition)

    def delete_if(self, kind: str, *, token: str) -> bool:
        """Delete the entry only if its ``token`` is ``token``."""
        try:
            with aws_errors(f"delete the migration record {kind} of {self.scope}", what=f"table {self.table}"):
                self._dynamodb().delete_item(
                    TableName=self.table,
                    Key=self._key(kind),
                    ConditionExpression="#token = :token",
                    ExpressionAttributeNames={"#token": "token"},
                    ExpressionAttributeValues={":token": {"S": token}},
                )
        except NotFoundError:
            return False
        except AwsError as e:
            if e.code == _CONDITION_FAILED:
                return False
            raise
        return True

    def _put(self, kind: str, value: Mapping[str, Any], condition: dict[str, Any] | None) -> bool:
        item = {**self._key(kind), "body": {"S": as_json(value)}}
        self._ensure_table()
        token = value.get("token")
        if isinstance(token, str) and token:
            item["token"] = {"S": token}
        try:
            with aws_errors(f"write the migration record {kind} of {self.scope}"):
                self._dynamodb().put_item(TableName=self.table, Item=item, **(condition or {}))
        except AwsError as e:
            if e.code == _CONDITION_FAILED:
                return False
            raise
        return True

    def _ensure_table(self) -> None:
        if self._ready:
            return
        client = self._dynamodb()
        try:
            with aws_errors(f"describe table {self.table}", what=f"table {self.table}"):
                client.describe_table(TableName=self.table)
        except NotFoundError:
            self._create_table(client)
        self._ready = True

    def _create_table(self, client: Any) -> None:
        hint = f"Allow dynamodb:CreateTable on {self.table}, or create it (pk S, sk S) and name it in recordTable."
        try:
            with aws_errors(f"create the migrator's record table {self.table}", hint=hint):
                client.create_table(
                    TableName=self.table,
                    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                    AttributeDefinitions=[
                        {"AttributeName": "pk", "AttributeType": "S"},
                        {"AttributeName": "sk", "AttributeType": "S"},
                    ],
                    BillingMode="PAY_PER_REQUEST",
                    DeletionProtectionEnabled=True,
                    Tags=[{"Key": "managed-by", "Value": "table-migration"}],
                )
        except AwsError as e:
            if e.code != "ResourceInUseException":
                raise
            # another machine created it at the same moment
        with aws_errors(f"wait for table {self.table}", hint=hint):
            client.get_waiter("table_exists").wait(TableName=self.table, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
            client.update_continuous_backups(
                TableName=self.table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
