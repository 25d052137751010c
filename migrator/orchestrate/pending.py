"""The export bucket's pending creates after an interrupted stage 1: cleared, and an empty bucket removed.

Stage 1's update creates the export bucket and its settings (public access block, ownership,
encryption, policy) while it updates the legacy table; killed meanwhile, the state keeps a pending
create of each step that had started. A setting's create writes the whole setting onto the bucket, so
the rerun's create of it gives the same result: its pending create is simply dropped. The bucket's
name was chosen by the engine for that create (auto-naming), so the rerun makes a bucket of another
name: the one the dead update made, when it exists, is removed if it is empty (the export starts only
after the update, so nothing of the migration's is in it); one that holds objects is left to the user.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from migrator.core.errors import PulumiError
from migrator.core.ports import PendingCreate, Progress
from migrator.core.urns import EXPORT_BUCKET, is_export_bucket_setting, role_of


def export_bucket_creates(pending: Sequence[PendingCreate]) -> list[PendingCreate]:
    """The pending creates of the migration's export bucket and of its settings."""
    return [p for p in pending if role_of(p.urn) == EXPORT_BUCKET or is_export_bucket_setting(p.urn)]


def remove_unused_bucket(s3: Any, create: PendingCreate, stack: str, progress: Progress) -> None:
    """Remove the bucket an interrupted create made when it is empty; refuse when it holds objects."""
    name = create.physical_name
    if role_of(create.urn) != EXPORT_BUCKET or not name:
        return
    try:
        listing = s3.list_objects_v2(Bucket=name, MaxKeys=1)
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") in ("NoSuchBucket", "404"):
            progress(f"  an interrupted update left bucket {name} pending: it does not exist, it is created anew")
            return
        raise
    if listing.get("KeyCount", 0) or listing.get("Contents"):
        raise PulumiError(
            f"An interrupted update of stack {stack} left a pending create of bucket {name}, which exists and "
            "holds objects. The pending create was dropped from the state; the bucket was left as it is.",
            hint=f"Look at what is in s3://{name}; keep or move it, delete the bucket if you no longer need it, "
            "and rerun (the rerun makes a bucket of its own).",
        )
    progress(f"  an interrupted update made bucket {name} and left it pending: removing it (empty); made anew")
    s3.delete_bucket(Bucket=name)
