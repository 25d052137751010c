"""``migrate export``: a data-plane step on any tables, no Pulumi needed."""

from __future__ import annotations
