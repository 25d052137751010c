"""Run moto's server for the verify benchmark, with a faster Scan response writer.

moto 5.2 writes every Scan response through its shape-driven serializer, about 1 ms per item: at
200k items one table scan takes minutes, all of it in the server, none in the process being measured.
This launcher keeps moto's Scan logic (segments, pagination, 1 MB pages, LastEvaluatedKey) and only
writes the resulting JSON with orjson (B values as base64 text, as DynamoDB's wire format has them).
``--plain`` runs moto unchanged.

    python bench/verify_moto_server.py [--plain] -H 127.0.0.1 -p PORT
"""

from __future__ import annotations

import base64
import sys
from functools import wraps
from typing import Any

import orjson


def _default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(type(value).__name__)


def speed_up_scan() -> None:
    """Make DynamoHandler.scan return its result as a JSON string instead of an ActionResult."""
    from moto.core.responses import ActionResult
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.scan

    @wraps(original)
    def scan(self: Any) -> Any:
        result = original(self)
        if isinstance(result, ActionResult) and isinstance(result.result, dict):
            return orjson.dumps(result.result, default=_default).decode()
        return result

    DynamoHandler.scan = scan


def main() -> None:
    argv = sys.argv[1:]
    if "--plain" in argv:
        argv.remove("--plain")
    else:
        speed_up_scan()
    from moto.server import main as moto_main

    moto_main(argv)


if __name__ == "__main__":
    main()
