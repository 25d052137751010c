"""Reading items for verification: lean parallel Scans of a table, or the data files of an export.

A *reader* is a zero-argument callable that yields pages (lists of DynamoDB-JSON items, B as base64
text). One table gives one reader per scan segment; one export gives one reader per group of files.

Why Scan bodies are not parsed by botocore: its shape-driven parser walks every attribute of every
item in Python and dominates verification's CPU. The scan client keeps botocore for everything else
(signing, retries and throttling, the CRC32 check, error responses) but hands a successful Scan's raw
body to ``orjson``, which parses it several times faster into the very DynamoDB JSON we hash.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import orjson

from migrator.data.aws import AwsSettings, aws_errors
from migrator.data.export.files import EXPORT_AGAIN, DataFile, ExportLayout, iter_lines
from migrator.data.verify.buckets import Unreadable

Item = dict[str, Any]
Page = list[Item]
Reader = Callable[[], Iterator[Page]]
ClientFactory = Callable[[], Any]
Gate = AbstractContextManager[Any]  # a threading.Semaphore, or anything used as ``with gate:``

# Items per Scan request. Memory in flight is about (threads × page bytes), and DynamoDB's own cap is
# 1 MB of data per page (more as JSON); measured with bench/verify.py, 1000 items per page used half
# the peak RSS of uncapped pages and no more CPU. (moto's Scan walks the table from its start for
# every page, so on moto more pages cost the emulator time; DynamoDB's cost is per page read.)
PAGE_ITEMS = 1000
_RAW_BODY = "RawBody"
_HOOK_ID = "table-migration-verify-raw-scan"


def _keep_raw_scan_body(response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any) -> None:
    # Successful Scan bodies skip botocore's parser (see the module docstring); errors (throttling
    # included) are left untouched so botocore's retry logic and error parsing see them as usual.
    if response_dict.get("status_code", 500) < 300:
        customized_response_dict[_RAW_BODY] = response_dict["body"]
        response_dict["body"] = b"{}"


def raw_scan_client(source: AwsSettings | ClientFactory) -> Any:
    """A DynamoDB client whose ``scan`` returns ``{"RawBody": bytes}`` instead of parsed items.

    ``source`` is settings, or a factory that returns a *new* client (the hook is registered on it,
    so it must not be a client used elsewhere). Other operations behave as usual.
    """
    client = source.client("dynamodb") if isinstance(source, AwsSettings) else source()
    client.meta.events.register("before-parse.dynamodb.Scan", _keep_raw_scan_body, unique_id=_HOOK_ID)
    return client


def _request_key(key: Item) -> Item:
    # The raw body spells B as base64 text; botocore's serializer base64-encodes blobs itself, so a
    # LastEvaluatedKey goes back as ExclusiveStartKey with B decoded to bytes.
    return {
        name: ({"B": base64.b64decode(value["B"])} if "B" in value and isinstance(value["B"], str) else value)
        for name, value in key.items()
    }


def scan_pages(
    client: Any,
    table: str,
    *,
    segment: int,
    total_segments: int,
    consistent: bool,
    gate: Gate | None = None,
    page_items: int | None = PAGE_ITEMS,
) -> Iterator[Page]:
    """Yield the pages of one scan segment of ``table``, following LastEvaluatedKey (client from raw_scan_client).

    ``gate`` (a semaphore shared by all readers of one verification) is held from parsing a page
    until the consumer asks for the next one: waiting for Scan responses overlaps across threads,
    but only a few parsed pages (the bulk of the memory) exist at once.
    """
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": consistent}
    if page_items:
        kwargs["Limit"] = page_items
    if total_segments > 1:
        kwargs.update(Segment=segment, TotalSegments=total_segments)
    gate = gate or nullcontext()
    while True:
        with aws_errors(f"scan table {table}", what=f"table {table}"):
            response = client.scan(**kwargs)
        with gate:
            body = response.pop(_RAW_BODY, None)
            # A client without the hook (a test double) gives parsed responses: use them as they are.
            page = orjson.loads(body) if body is not None else response
            del body, response
            last = page.get("LastEvaluatedKey")
            yield page.get("Items", [])
            del page
        if not last:
            return
        kwargs["ExclusiveStartKey"] = _request_key(last)


def table_readers(
    client: Any,
    table: str,
    *,
    segments: int,
    consistent: bool = True,
    gate: Gate | None = None,
    page_items: int | None = PAGE_ITEMS,
) -> list[Reader]:
    """One reader per scan segment of ``table``."""
    total = max(1, segments)

    def reader(segment: int) -> Reader:
        return lambda: scan_pages(
            client,
            table,
            segment=segment,
            total_segments=total,
            consistent=consistent,
            gate=gate,
            page_items=page_items,
        )

    return [reader(s) for s in range(total)]


def file_pages(
    s3: Any,
    bucket: str,
    files: tuple[DataFile, ...],
    *,
    page_size: int = 1000,
    gate: Gate | None = None,
    damage_hint: str = EXPORT_AGAIN,
) -> Iterator[Page]:
    """Yield the items of export data files (lines ``{"Item": {...}}``) in pages of ``page_size``."""
    gate = gate or nullcontext()
    page: Page = []
    for data_file in files:
        for number, line in enumerate(iter_lines(s3, bucket, data_file.key, hint=damage_hint), 1):
            page.append(_item_of(line, f"s3://{bucket}/{data_file.key} line {number}"))
            if len(page) >= page_size:
                with gate:
                    yield page
                page = []
    if page:
        with gate:
            yield page


def _item_of(line: bytes, where: str) -> Any:
    """The item of one export line ``{"Item": {...}}``, or :class:`Unreadable` saying why there is none."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as e:
        return Unreadable(f"{where} is not JSON ({e})")
    if not isinstance(record, dict):
        return Unreadable(f"{where} is not a JSON object")
    return record.get("Item", record)


def export_readers(s3: Any, layout: ExportLayout, *, workers: int, gate: Gate | None = None) -> list[Reader]:
    """Readers over the export's data files, spread over ``workers`` readers by size."""
    groups: list[list[DataFile]] = [[] for _ in range(max(1, min(workers, len(layout.files))))]
    sizes = [0] * len(groups)
    for data_file in sorted(layout.files, key=lambda f: -f.size):
        smallest = sizes.index(min(sizes))
        groups[smallest].append(data_file)
        sizes[smallest] += data_file.size

    def reader(files: tuple[DataFile, ...]) -> Reader:
        return lambda: file_pages(s3, layout.bucket, files, gate=gate, damage_hint=layout.damage_hint)

    return [reader(tuple(group)) for group in groups if group]


def table_facts(client: Any, table: str) -> tuple[tuple[str, ...], int | None]:
    """The key attribute names of ``table`` (partition key first) and its item count as DescribeTable
    gives it (AWS updates it about every six hours: an estimate), from one describe_table."""
    with aws_errors(f"describe table {table}", what=f"table {table}"):
        described = client.describe_table(TableName=table)["Table"]
    ordered = sorted(described["KeySchema"], key=lambda k: 0 if k["KeyType"] == "HASH" else 1)
    count = described.get("ItemCount")
    return tuple(k["AttributeName"] for k in ordered), int(count) if count is not None else None


def key_names(client: Any, table: str) -> tuple[str, ...]:
    """The key attribute names of ``table`` (partition key first), from describe_table."""
    return table_facts(client, table)[0]


def consume(reader: Reader, fn: Callable[[Iterator[Page]], Any]) -> Callable[[], Any]:
    """A task that runs ``fn`` over the reader's pages and closes them after, even when ``fn`` raised."""

    def task() -> Any:
        pages = reader()
        try:
            return fn(pages)
        finally:
            pages.close()  # releases the page gate at once (see scan_pages)

    return task


def run_all(tasks: Sequence[Callable[[], Any]], *, name: str) -> list[Any]:
    """Run ``tasks`` on a thread each (they overlap the waits for Scan pages and S3 reads); their results in order."""
    with ThreadPoolExecutor(max_workers=max(1, len(tasks)), thread_name_prefix=name) as pool:
        futures = [pool.submit(task) for task in tasks]
        return [f.result() for f in futures]
