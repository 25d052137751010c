"""``migrate up | down | status | plan | demo``: the staged migration of one Pulumi stack."""

from __future__ import annotations
