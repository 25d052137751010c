"""The gRPC ``pulumirpc.ResourceProvider`` service the engine talks to, and the plugin's entry point.

The engine starts the plugin, reads the port it prints on stdout, then calls Handshake (or not),
CheckConfig/DiffConfig/Configure for the provider itself, and Check/Diff/Create/Read/Update/Delete
for each resource. This module only translates: values in and out (:mod:`.values`), the resource
type by its token, and errors into gRPC statuses (``ErrorResourceInitFailed`` for a resource that was
created but not finished, so the engine still records it, as pulumi-aws does).
"""

from __future__ import annotations

import json
import sys
import threading
from concurrent import futures
from importlib import resources
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import any_pb2, empty_pb2
from google.rpc import status_pb2
from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc

from . import provider_config
from .base import DEFAULTS_KEY, Context, Gone, PartiallyCreated, ResourceType
from .dynamodb_table import Table
from .iam import Role, RolePolicy
from .lambda_function import Function
from .logs import LogGroup
from .s3_bucket import Bucket
from .s3_settings import (
    BucketOwnershipControls,
    BucketPolicy,
    BucketPublicAccessBlock,
    BucketServerSideEncryptionConfiguration,
)
from .values import conceal, from_struct, reveal, to_struct

TYPES: dict[str, ResourceType] = {
    t.token: t
    for t in (
        Table(),
        Bucket(),
        BucketPublicAccessBlock(),
        BucketOwnershipControls(),
        BucketServerSideEncryptionConfiguration(),
        BucketPolicy(),
        LogGroup(),
        Role(),
        RolePolicy(),
        Function(),
    )
}
KINDS = {"ADD": 0, "DELETE": 2, "UPDATE": 4}  # PropertyDiff.Kind; +1 is the *_REPLACE of each


def plugin_version() -> str:
    """The version the installed pulumi_aws SDK asks the engine for (its ``pulumi-plugin.json``)."""
    return json.loads(resources.files("pulumi_aws").joinpath("pulumi-plugin.json").read_text())["version"]


def _type_and_name(request: Any) -> tuple[str, str]:
    # Newer engines send both; the URN (urn:pulumi:stack::project::parent$type::name) always has them.
    urn = request.urn
    token = getattr(request, "type", "") or urn.split("::")[2].split("$")[-1]
    name = getattr(request, "name", "") or urn.split("::")[-1]
    return token, name


class Provider(provider_pb2_grpc.ResourceProviderServicer):
    """One provider instance: its configuration, and every call dispatched to a resource type."""

    def __init__(self) -> None:
        self.config = provider_config.ProviderState()
        self.program_dir = Path.cwd()
        self.cancelled = threading.Event()

    def _type(self, request: Any, context: grpc.ServicerContext) -> tuple[ResourceType, str]:
        token, name = _type_and_name(request)
        if token not in TYPES:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"this aws plugin does not implement {token}")
        return TYPES[token], name

    def _context(self, timeout: float = 0.0, preview: bool = False) -> Context:
        aws = self.config.require()
        return Context(aws.client, aws.region or "", self.config.account, timeout, preview, self.program_dir)

    def Handshake(self, request: Any, context: grpc.ServicerContext) -> Any:
        """Note the program's folder (relative asset paths); accept secrets, not references or outputs."""
        if request.program_directory:
            self.program_dir = Path(request.program_directory)
        return provider_pb2.ProviderHandshakeResponse(accept_secrets=True)

    def GetPluginInfo(self, request: Any, context: grpc.ServicerContext) -> Any:
        """The version pulumi_aws declares."""
        return plugin_pb2.PluginInfo(version=plugin_version())

    def GetSchema(self, request: Any, context: grpc.ServicerContext) -> Any:
        """A minimal schema: the engine only needs it for code generation."""
        return provider_pb2.GetSchemaResponse(schema=json.dumps({"name": "aws", "version": plugin_version()}))

    def CheckConfig(self, request: Any, context: grpc.ServicerContext) -> Any:
        """The provider's inputs as given, or a failure when no region can be found."""
        failures = provider_config.check(reveal(from_struct(request.news))[0])
        return provider_pb2.CheckResponse(
            inputs=request.news, failures=[provider_pb2.CheckFailure(property=p, reason=r) for p, r in failures]
        )

    def DiffConfig(self, request: Any, context: grpc.ServicerContext) -> Any:
        """Changed settings update the provider in place (nothing replaces it)."""
        changed = provider_config.diff(reveal(from_struct(request.olds))[0], reveal(from_struct(request.news))[0])
        return provider_pb2.DiffResponse(
            changes=provider_pb2.DiffResponse.DIFF_SOME if changed else provider_pb2.DiffResponse.DIFF_NONE,
            diffs=changed,
            detailedDiff={k: provider_pb2.PropertyDiff(kind=KINDS["UPDATE"], inputDiff=True) for k in changed},
            hasDetailedDiff=True,
        )

    def Configure(self, request: Any, context: grpc.ServicerContext) -> Any:
        """Take the settings; check the credentials unless ``skipCredentialsValidation``."""
        # Credentials may come as secrets; the provider needs their values.
        args = reveal(from_struct(request.args))[0] if request.HasField("args") else {}
        try:
            self.config.configure(args or provider_config.from_variables(dict(request.variables)))
        except provider_config.ConfigError as e:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(e))
        return provider_pb2.ConfigureResponse(acceptSecrets=True, supportsPreview=True)

    def Check(self, request: Any, context: grpc.ServicerContext) -> Any:
        """Defaults and autonames filled in, plan-time validation as failures."""
        rtype, name = self._type(request, context)
        olds, _ = reveal(from_struct(request.olds))
        news, secret = reveal(from_struct(request.news))
        inputs, failures = rtype.check(olds, news, name, bytes(request.randomSeed))
        return provider_pb2.CheckResponse(
            inputs=to_struct(conceal(inputs, secret)),
            failures=[provider_pb2.CheckFailure(property=p, reason=r) for p, r in failures],
        )

    def Diff(self, request: Any, context: grpc.ServicerContext) -> Any:
        """The changed properties, those that replace, and whether the old one goes first."""
        rtype, _ = self._type(request, context)
        olds, _ = reveal(from_struct(request.olds))
        news, _ = reveal(from_struct(request.news))
        result = rtype.diff(olds, news, list(request.ignoreChanges))
        detailed = {
            key: provider_pb2.PropertyDiff(kind=KINDS[kind] + (key in result.replaces), inputDiff=True)
            for key, kind in result.changed.items()
        }
        return provider_pb2.DiffResponse(
            changes=provider_pb2.DiffResponse.DIFF_SOME if result.changed else provider_pb2.DiffResponse.DIFF_NONE,
            replaces=result.replaces,
            diffs=list(result.changed),
            detailedDiff=detailed,
            hasDetailedDiff=True,
            deleteBeforeReplace=result.delete_before_replace,
        )

    def Create(self, request: Any, context: grpc.ServicerContext) -> Any:
        """Create it (a preview returns the planned state, computed outputs unknown)."""
        rtype, _ = self._type(request, context)
        inputs, secret = reveal(from_struct(request.properties))
        if request.preview:
            outputs = rtype.preview_outputs(inputs)
            return provider_pb2.CreateResponse(id="", properties=to_struct(conceal(outputs, secret)))
        ctx = self._context(request.timeout)
        try:
            id_, outputs = rtype.create(ctx, {k: v for k, v in inputs.items() if k != DEFAULTS_KEY})
        except PartiallyCreated as e:
            self._abort_init_failed(context, rtype, ctx, e, inputs, secret, request.properties)
        except Exception as e:  # noqa: BLE001 - every failure goes back to the engine as the step's error
            context.abort(grpc.StatusCode.UNKNOWN, _message("creating", request.urn, e))
        return provider_pb2.CreateResponse(id=id_, properties=to_struct(conceal(outputs, secret)))

    def _abort_init_failed(
        self,
        context: grpc.ServicerContext,
        rtype: ResourceType,
        ctx: Context,
        error: PartiallyCreated,
        inputs: dict,
        secret: set[str],
        raw_inputs: Any,
    ) -> None:
        try:
            state = rtype.read(ctx, error.id, inputs)
        except Gone:
            # Nothing was left behind (a failed ImportTable creates no table): a plain failure.
            context.abort(grpc.StatusCode.UNKNOWN, str(error.cause))
        except Exception:  # noqa: BLE001 - the create's own error is the one to report
            state = inputs
        detail = provider_pb2.ErrorResourceInitFailed(
            id=error.id, properties=to_struct(conceal(state, secret)), reasons=[str(error.cause)], inputs=raw_inputs
        )
        packed = any_pb2.Any()
        packed.Pack(detail)
        status = status_pb2.Status(code=grpc.StatusCode.UNKNOWN.value[0], message=str(error.cause), details=[packed])
        context.abort_with_status(_RichStatus(status))

    def Read(self, request: Any, context: grpc.ServicerContext) -> Any:
        """The resource as AWS has it now (refresh, import), or an empty id when it is gone."""
        rtype, _ = self._type(request, context)
        state, secret = reveal(from_struct(request.properties))
        old_inputs, _ = reveal(from_struct(request.inputs))
        try:
            outputs = rtype.read(self._context(request.timeout), request.id, state)
        except Gone:
            return provider_pb2.ReadResponse(id="")
        except Exception as e:  # noqa: BLE001
            context.abort(grpc.StatusCode.UNKNOWN, _message("reading", request.urn, e))
        if old_inputs:
            # A refresh keeps the inputs the program gave, with what AWS now says in each of them.
            inputs = {k: outputs.get(k, v) if k != DEFAULTS_KEY else v for k, v in old_inputs.items()}
        else:
            inputs = rtype.inputs_from(outputs)
        return provider_pb2.ReadResponse(
            id=request.id, properties=to_struct(conceal(outputs, secret)), inputs=to_struct(conceal(inputs, secret))
        )

    def Update(self, request: Any, context: grpc.ServicerContext) -> Any:
        """Apply the changed inputs (a preview returns the planned state)."""
        rtype, _ = self._type(request, context)
        olds, _ = reveal(from_struct(request.olds))
        news, secret = reveal(from_struct(request.news))
        if request.preview:
            outputs = rtype.preview_outputs(news, olds)
        else:
            try:
                outputs = rtype.update(self._context(request.timeout), request.id, olds, news)
            except Exception as e:  # noqa: BLE001
                context.abort(grpc.StatusCode.UNKNOWN, _message("updating", request.urn, e))
        return provider_pb2.UpdateResponse(properties=to_struct(conceal(outputs, secret)))

    def Delete(self, request: Any, context: grpc.ServicerContext) -> Any:
        """Delete it; AWS's refusal (deletion protection, a non-empty bucket) is the step's error."""
        rtype, _ = self._type(request, context)
        state, _ = reveal(from_struct(request.properties))
        try:
            rtype.delete(self._context(request.timeout), request.id, state)
        except Exception as e:  # noqa: BLE001
            context.abort(grpc.StatusCode.UNKNOWN, _message("deleting", request.urn, e))
        return empty_pb2.Empty()

    def Cancel(self, request: Any, context: grpc.ServicerContext) -> Any:
        """The engine is shutting down; nothing long-running to stop beyond the current calls."""
        self.cancelled.set()
        return empty_pb2.Empty()

    def Attach(self, request: Any, context: grpc.ServicerContext) -> Any:
        """Debugger attach: nothing to do."""
        return empty_pb2.Empty()

    def GetMapping(self, request: Any, context: grpc.ServicerContext) -> Any:
        """No conversion mappings."""
        return provider_pb2.GetMappingResponse(provider="", data=b"")

    def GetMappings(self, request: Any, context: grpc.ServicerContext) -> Any:
        """No conversion mappings."""
        return provider_pb2.GetMappingsResponse(providers=[])


class _RichStatus(grpc.Status):
    """A gRPC status carrying ``google.rpc.Status`` details, as the engine reads them."""

    def __init__(self, status: status_pb2.Status) -> None:
        self.code = grpc.StatusCode.UNKNOWN
        self.details = status.message
        self.trailing_metadata = (("grpc-status-details-bin", status.SerializeToString()),)


def _message(action: str, urn: str, error: Exception) -> str:
    name = urn.split("::")[-1]
    return f"{action} {name}: {type(error).__name__}: {error}"


def main() -> None:
    """Serve on a free local port and print it, which is how the engine finds the plugin."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(Provider(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    server.wait_for_termination()
