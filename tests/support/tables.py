"""Tables with streams on moto, and a replayer over them."""

from __future__ import annotations

from typing import Any

from migrator.core.replay_map import ItemMap
from migrator.data.stream.reader import streams_client, table_stream
from migrator.data.stream.replay import Replayer, ReplaySource


def stream_table(dynamodb: Any, name: str, keys: list[tuple[str, str]], view: str = "NEW_AND_OLD_IMAGES") -> str:
    """Create an on-demand table with (name, type) keys and a stream of ``view``; return the stream ARN."""
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": n, "KeyType": "HASH" if i == 0 else "RANGE"} for i, (n, _) in enumerate(keys)],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in keys],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": view},
    )
    return dynamodb.describe_table(TableName=name)["Table"]["LatestStreamArn"]


def make_replayer(moto: Any, source: str, target: str, item_map: ItemMap, **kwargs: Any) -> Replayer:
    """A replayer of ``source``'s current stream onto ``target`` (``export_time`` and Replayer options in kwargs)."""
    info = table_stream(moto.dynamodb, source)
    assert info is not None, f"{source} has no stream"
    export_time = kwargs.pop("export_time", None)
    streams = kwargs.pop("streams", None) or streams_client(moto.settings)
    spec = ReplaySource(source, target, info.arn, info.view_type, item_map, export_time)
    return Replayer(spec, dynamodb=kwargs.pop("dynamodb", moto.dynamodb), streams=streams, **kwargs)


def scan_all(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    """Every item of ``table`` (boto3's parsed form), following pages."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = dynamodb.scan(**kwargs)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
