"""``migrate export | transform | verify``: data-plane steps on any tables, no Pulumi needed."""

from __future__ import annotations
