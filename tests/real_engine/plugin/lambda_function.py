"""``aws:lambda/function:Function`` as pulumi-aws 7.51 (Terraform's ``aws_lambda_function``) manages it.

The code is the archive the engine sends, zipped here and uploaded; a new archive hash is a code
update. The name (autonamed) and package type are create-only. Reserved concurrency defaults to -1
(none: any reservation made outside the program is removed on the next update that declares -1, as
the provider does). Read cannot get the code back, so the state keeps the archive it was given.
"""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from .archive import zip_bytes
from .base import Context, Field, Gone, PartiallyCreated, ResourceType

CONFIG_KEYS = (
    "runtime",
    "handler",
    "role",
    "timeout",
    "memorySize",
    "environment",
    "loggingConfig",
    "description",
    "layers",
)


def _configuration(inputs: dict[str, Any]) -> dict[str, Any]:
    """The arguments CreateFunction and UpdateFunctionConfiguration share."""
    args: dict[str, Any] = {
        "Role": inputs["role"],
        "Timeout": int(inputs.get("timeout") or 3),
        "MemorySize": int(inputs.get("memorySize") or 128),
        "Environment": {"Variables": dict((inputs.get("environment") or {}).get("variables") or {})},
        "Description": inputs.get("description") or "",
        "Layers": list(inputs.get("layers") or []),
    }
    if inputs.get("runtime"):
        args["Runtime"] = inputs["runtime"]
    if inputs.get("handler"):
        args["Handler"] = inputs["handler"]
    logging = inputs.get("loggingConfig")
    if logging:
        keys = {
            "LogFormat": "logFormat",
            "LogGroup": "logGroup",
            "ApplicationLogLevel": "applicationLogLevel",
            "SystemLogLevel": "systemLogLevel",
        }
        args["LoggingConfig"] = {api: logging[k] for api, k in keys.items() if logging.get(k)}
    return args


class Function(ResourceType):
    """A Lambda function from a zip archive."""

    token = "aws:lambda/function:Function"
    autoname = "name"
    autoname_max = 64
    fields = (
        Field("name", create_only=True, computed=True),
        Field("code"),
        Field("role", required=True),
        Field("runtime"),
        Field("handler"),
        Field("timeout", default=3),
        Field("memorySize", default=128),
        Field("environment"),
        Field("loggingConfig", computed=True),
        Field("reservedConcurrentExecutions", default=-1),
        Field("publish", default=False),
        Field("packageType", default="Zip", create_only=True),
        Field("architectures", computed=True),
        Field("description"),
        Field("layers"),
        Field("tags"),
        Field("skipDestroy", default=False),
        Field("region", create_only=True, computed=True),
    )
    outputs = (
        "arn",
        "invokeArn",
        "qualifiedArn",
        "qualifiedInvokeArn",
        "version",
        "lastModified",
        "sourceCodeHash",
        "sourceCodeSize",
        "id",
    )

    def changes_on_update(self, olds: dict[str, Any], news: dict[str, Any]) -> set[str]:
        """Any update changes the modification time; new code a new hash and size (and version if published)."""
        changed = {"lastModified"}
        code_old, code_new = olds.get("code"), news.get("code")
        if getattr(code_old, "hash", None) != getattr(code_new, "hash", None):
            changed |= {"sourceCodeHash", "sourceCodeSize", "version", "qualifiedArn", "qualifiedInvokeArn"}
        return changed

    def create(self, ctx: Context, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """CreateFunction with the zipped code, then the reserved concurrency if one is declared."""
        name = inputs["name"]
        args = {
            "FunctionName": name,
            "Code": {"ZipFile": zip_bytes(inputs["code"], ctx.program_dir)},
            "Publish": bool(inputs.get("publish")),
            "PackageType": inputs.get("packageType") or "Zip",
            **_configuration(inputs),
        }
        if inputs.get("architectures"):
            args["Architectures"] = list(inputs["architectures"])
        if inputs.get("tags"):
            args["Tags"] = dict(inputs["tags"])
        ctx.client("lambda").create_function(**args)
        try:
            self._concurrency(ctx, name, -1, inputs)
            _wait_ready(ctx, name)
        except Exception as e:
            raise PartiallyCreated(name, e) from e
        return name, self.read(ctx, name, inputs)

    def _concurrency(self, ctx: Context, name: str, old: int, news: dict[str, Any]) -> None:
        new = int(news.get("reservedConcurrentExecutions", -1))
        if new == old:
            return
        client = ctx.client("lambda")
        if new >= 0:
            client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=new)
        else:
            client.delete_function_concurrency(FunctionName=name)

    def read(self, ctx: Context, id_: str, state: dict[str, Any]) -> dict[str, Any]:
        """GetFunction; :class:`Gone` when Lambda has no such function."""
        try:
            found = ctx.client("lambda").get_function(FunctionName=id_)
        except ClientError as e:
            if e.response["Error"]["Code"] == "ResourceNotFoundException":
                raise Gone(id_) from e
            raise
        conf = found["Configuration"]
        return _state(ctx, id_, conf, found, state)

    def update(self, ctx: Context, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        """New code, then the configuration, concurrency and tags, each only when it changed."""
        client = ctx.client("lambda")
        if getattr(olds.get("code"), "hash", None) != getattr(news.get("code"), "hash", None):
            code = zip_bytes(news["code"], ctx.program_dir)
            client.update_function_code(FunctionName=id_, ZipFile=code, Publish=bool(news.get("publish")))
            _wait_ready(ctx, id_)
        if any(olds.get(k) != news.get(k) for k in CONFIG_KEYS if news.get(k) is not None):
            client.update_function_configuration(FunctionName=id_, **_configuration(news))
            _wait_ready(ctx, id_)
        self._concurrency(ctx, id_, int(olds.get("reservedConcurrentExecutions", -1)), news)
        old_tags, new_tags = olds.get("tags") or {}, news.get("tags") or {}
        if old_tags.keys() - new_tags.keys():
            client.untag_resource(Resource=olds["arn"], TagKeys=sorted(old_tags.keys() - new_tags.keys()))
        if any(old_tags.get(k) != v for k, v in new_tags.items()):
            client.tag_resource(Resource=olds["arn"], Tags=new_tags)
        return self.read(ctx, id_, news)

    def delete(self, ctx: Context, id_: str, state: dict[str, Any]) -> None:
        """DeleteFunction, unless ``skipDestroy`` keeps it."""
        if state.get("skipDestroy"):
            return
        try:
            ctx.client("lambda").delete_function(FunctionName=id_)
        except ClientError as e:
            if e.response["Error"]["Code"] != "ResourceNotFoundException":
                raise


def _wait_ready(ctx: Context, name: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + (ctx.timeout or timeout)
    client = ctx.client("lambda")
    while True:
        conf = client.get_function_configuration(FunctionName=name)
        if conf.get("State", "Active") != "Pending" and conf.get("LastUpdateStatus", "Successful") != "InProgress":
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"timeout while waiting for function {name} to become Active")
        time.sleep(0.2)


def _state(
    ctx: Context, id_: str, conf: dict[str, Any], found: dict[str, Any], state: dict[str, Any]
) -> dict[str, Any]:
    arn = conf["FunctionArn"]
    invoke = f"arn:aws:apigateway:{ctx.region}:lambda:path/2015-03-31/functions/{arn}/invocations"
    variables = (conf.get("Environment") or {}).get("Variables")
    logging = conf.get("LoggingConfig")
    reserved = (found.get("Concurrency") or {}).get("ReservedConcurrentExecutions", -1)
    tags = found.get("Tags") or {}
    out = {
        "id": id_,
        "name": id_,
        "arn": arn,
        "invokeArn": invoke,
        "qualifiedArn": f"{arn}:{conf.get('Version', '$LATEST')}",
        "qualifiedInvokeArn": invoke.replace(arn, f"{arn}:{conf.get('Version', '$LATEST')}"),
        "version": conf.get("Version", "$LATEST"),
        "lastModified": conf.get("LastModified", ""),
        "sourceCodeHash": conf.get("CodeSha256", ""),
        "sourceCodeSize": conf.get("CodeSize", 0),
        "role": conf.get("Role"),
        "runtime": conf.get("Runtime", ""),
        "handler": conf.get("Handler", ""),
        "timeout": conf.get("Timeout", 3),
        "memorySize": conf.get("MemorySize", 128),
        "environment": {"variables": variables} if variables else None,
        # moto does not report LoggingConfig; AWS does. Keep what was applied.
        "loggingConfig": _logging(logging) if logging else state.get("loggingConfig"),
        "reservedConcurrentExecutions": reserved,
        "packageType": conf.get("PackageType", "Zip"),
        "architectures": conf.get("Architectures") or ["x86_64"],
        "description": conf.get("Description", ""),
        "layers": [layer["Arn"] for layer in conf.get("Layers") or []],
        "tags": tags,
        "tagsAll": dict(tags),
        "publish": bool(state.get("publish", False)),
        "skipDestroy": bool(state.get("skipDestroy", False)),
        "code": state.get("code"),
        "region": ctx.region,
    }
    return {k: v for k, v in out.items() if v is not None}


def _logging(logging: dict[str, Any]) -> dict[str, Any]:
    return {
        "logFormat": logging.get("LogFormat", "Text"),
        "logGroup": logging.get("LogGroup", ""),
        "applicationLogLevel": logging.get("ApplicationLogLevel", ""),
        "systemLogLevel": logging.get("SystemLogLevel", ""),
    }
