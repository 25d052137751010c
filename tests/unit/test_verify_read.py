"""Lean Scan reading for verification, with a scripted client (no HTTP)."""

from __future__ import annotations

import threading

import orjson
import pytest

from migrator.data.verify.read import _keep_raw_scan_body, consume, scan_pages


class ScriptedClient:
    """Answers scan calls with raw bodies, as raw_scan_client's hook hands them over; records the requests."""

    def __init__(self, pages: list[dict]) -> None:
        self.pages = list(pages)
        self.requests: list[dict] = []

    def scan(self, **kwargs):
        self.requests.append(kwargs)
        return {"RawBody": orjson.dumps(self.pages.pop(0)), "ResponseMetadata": {}}


def test_successful_scan_bodies_skip_the_parser_and_errors_do_not():
    # Given a 200 and a throttling 400 response as botocore hands them to before-parse handlers
    ok, ok_custom = {"status_code": 200, "body": b'{"Items":[]}'}, {}
    throttled, throttled_custom = {"status_code": 400, "body": b'{"__type":"Throttling"}'}, {}
    _keep_raw_scan_body(response_dict=ok, customized_response_dict=ok_custom)
    _keep_raw_scan_body(response_dict=throttled, customized_response_dict=throttled_custom)
    # Then the 200's body goes aside untouched and the parser sees {}; the error stays for botocore
    assert ok_custom == {"RawBody": b'{"Items":[]}'} and ok["body"] == b"{}"
    assert throttled_custom == {} and throttled["body"] == b'{"__type":"Throttling"}'


def test_pages_follow_last_evaluated_key_with_binary_decoded():
    client = ScriptedClient(
        [
            {"Items": [{"K": {"S": "a"}}], "LastEvaluatedKey": {"K": {"B": "AAE="}, "S": {"N": "1"}}},
            {"Items": [{"K": {"S": "b"}}]},
        ]
    )
    pages = list(scan_pages(client, "T", segment=1, total_segments=3, consistent=True))
    assert pages == [[{"K": {"S": "a"}}], [{"K": {"S": "b"}}]]
    assert client.requests[0] == {
        "TableName": "T",
        "ConsistentRead": True,
        "Limit": 1000,
        "Segment": 1,
        "TotalSegments": 3,
    }
    assert client.requests[1]["ExclusiveStartKey"] == {"K": {"B": b"\x00\x01"}, "S": {"N": "1"}}


def test_the_page_gate_is_released_when_the_consumer_fails():
    # Given a one-slot gate and a consumer that fails on the first page
    gate = threading.Semaphore(1)
    client = ScriptedClient([{"Items": [{"K": {"S": "a"}}], "LastEvaluatedKey": {"K": {"S": "a"}}}])

    def fail(pages):
        for _ in pages:
            raise RuntimeError("boom")

    task = consume(lambda: scan_pages(client, "T", segment=0, total_segments=1, consistent=False, gate=gate), fail)
    with pytest.raises(RuntimeError):
        task()
    # Then the slot is free again for the other readers
    assert gate.acquire(blocking=False)
