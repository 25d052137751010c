"""``aws:iam/role:Role`` and ``aws:iam/rolePolicy:RolePolicy`` as pulumi-aws 7.51 manages them.

A role's name and path are create-only (the name autonamed); its trust policy, description, session
duration and tags update in place. An inline policy's id is ``role:name``; role and name are
create-only. Policy documents compare by meaning. IAM refuses to delete a role that still has
policies: the provider removes them first only with ``forceDetachPolicies``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from .base import Context, Field, Gone, ResourceType


def _missing(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "NoSuchEntity"


def _document(value: Any) -> str:
    # IAM returns documents URL-encoded (boto3 decodes the JSON for some calls, not for others).
    if isinstance(value, dict):
        return json.dumps(value)
    return unquote(value)


class Role(ResourceType):
    """An IAM role."""

    token = "aws:iam/role:Role"
    autoname = "name"
    autoname_max = 64
    fields = (
        Field("name", create_only=True, computed=True),
        Field("namePrefix", create_only=True),
        Field("path", default="/", create_only=True),
        Field("assumeRolePolicy", required=True, as_json=True),
        Field("description"),
        Field("maxSessionDuration", default=3600),
        Field("permissionsBoundary"),
        Field("forceDetachPolicies", default=False),
        Field("tags"),
    )
    outputs = ("arn", "createDate", "uniqueId", "id")

    def create(self, ctx: Context, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """CreateRole with its trust policy, description, session duration and tags."""
        args: dict[str, Any] = {
            "RoleName": inputs["name"],
            "Path": inputs.get("path") or "/",
            "AssumeRolePolicyDocument": inputs["assumeRolePolicy"],
            "MaxSessionDuration": int(inputs.get("maxSessionDuration") or 3600),
        }
        if inputs.get("description"):
            args["Description"] = inputs["description"]
        if inputs.get("permissionsBoundary"):
            args["PermissionsBoundary"] = inputs["permissionsBoundary"]
        if inputs.get("tags"):
            args["Tags"] = [{"Key": k, "Value": v} for k, v in inputs["tags"].items()]
        ctx.client("iam").create_role(**args)
        return inputs["name"], self.read(ctx, inputs["name"], inputs)

    def read(self, ctx: Context, id_: str, state: dict[str, Any]) -> dict[str, Any]:
        """GetRole; :class:`Gone` when IAM has no such role."""
        try:
            role = ctx.client("iam").get_role(RoleName=id_)["Role"]
        except ClientError as e:
            if _missing(e):
                raise Gone(id_) from e
            raise
        tags = {t["Key"]: t["Value"] for t in role.get("Tags", [])}
        return {
            "id": id_,
            "name": id_,
            "arn": role["Arn"],
            "path": role.get("Path", "/"),
            "uniqueId": role.get("RoleId", ""),
            "createDate": role["CreateDate"].isoformat() if hasattr(role.get("CreateDate"), "isoformat") else "",
            "assumeRolePolicy": _document(role.get("AssumeRolePolicyDocument", "")),
            "description": role.get("Description", ""),
            "maxSessionDuration": role.get("MaxSessionDuration", 3600),
            "permissionsBoundary": (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn", ""),
            "forceDetachPolicies": bool(state.get("forceDetachPolicies", False)),
            "tags": tags,
            "tagsAll": dict(tags),
        }

    def update(self, ctx: Context, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        """Trust policy, description/duration and tags, each with its own call when it changed."""
        iam = ctx.client("iam")
        if json.loads(_document(olds.get("assumeRolePolicy") or "{}")) != json.loads(news["assumeRolePolicy"]):
            iam.update_assume_role_policy(RoleName=id_, PolicyDocument=news["assumeRolePolicy"])
        if (olds.get("description") or "", olds.get("maxSessionDuration")) != (
            news.get("description") or "",
            news.get("maxSessionDuration"),
        ):
            iam.update_role(
                RoleName=id_,
                Description=news.get("description") or "",
                MaxSessionDuration=int(news["maxSessionDuration"]),
            )
        old_tags, new_tags = olds.get("tags") or {}, news.get("tags") or {}
        if old_tags.keys() - new_tags.keys():
            iam.untag_role(RoleName=id_, TagKeys=sorted(old_tags.keys() - new_tags.keys()))
        changed = {k: v for k, v in new_tags.items() if old_tags.get(k) != v}
        if changed:
            iam.tag_role(RoleName=id_, Tags=[{"Key": k, "Value": v} for k, v in changed.items()])
        return self.read(ctx, id_, news)

    def delete(self, ctx: Context, id_: str, state: dict[str, Any]) -> None:
        """DeleteRole (inline and attached policies removed first with ``forceDetachPolicies``)."""
        iam = ctx.client("iam")
        try:
            if state.get("forceDetachPolicies"):
                for name in iam.list_role_policies(RoleName=id_)["PolicyNames"]:
                    iam.delete_role_policy(RoleName=id_, PolicyName=name)
                for policy in iam.list_attached_role_policies(RoleName=id_)["AttachedPolicies"]:
                    iam.detach_role_policy(RoleName=id_, PolicyArn=policy["PolicyArn"])
            iam.delete_role(RoleName=id_)
        except ClientError as e:
            if not _missing(e):
                raise


class RolePolicy(ResourceType):
    """An inline policy of a role; id ``role:name``."""

    token = "aws:iam/rolePolicy:RolePolicy"
    autoname = "name"
    autoname_max = 128
    fields = (
        Field("role", required=True, create_only=True),
        Field("name", create_only=True, computed=True),
        Field("namePrefix", create_only=True),
        Field("policy", required=True, as_json=True),
    )
    outputs = ("id",)

    def create(self, ctx: Context, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """PutRolePolicy."""
        ctx.client("iam").put_role_policy(
            RoleName=inputs["role"], PolicyName=inputs["name"], PolicyDocument=inputs["policy"]
        )
        id_ = f"{inputs['role']}:{inputs['name']}"
        return id_, self.read(ctx, id_, inputs)

    def read(self, ctx: Context, id_: str, state: dict[str, Any]) -> dict[str, Any]:
        """GetRolePolicy; :class:`Gone` when the role or the policy is gone."""
        role, _, name = id_.partition(":")
        try:
            found = ctx.client("iam").get_role_policy(RoleName=role, PolicyName=name)
        except ClientError as e:
            if _missing(e):
                raise Gone(id_) from e
            raise
        return {"id": id_, "role": role, "name": name, "policy": _document(found["PolicyDocument"])}

    def update(self, ctx: Context, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        """PutRolePolicy with the new document."""
        ctx.client("iam").put_role_policy(RoleName=news["role"], PolicyName=news["name"], PolicyDocument=news["policy"])
        return self.read(ctx, id_, news)

    def delete(self, ctx: Context, id_: str, state: dict[str, Any]) -> None:
        """DeleteRolePolicy (gone already is fine)."""
        role, _, name = id_.partition(":")
        try:
            ctx.client("iam").delete_role_policy(RoleName=role, PolicyName=name)
        except ClientError as e:
            if not _missing(e):
                raise
