"""Update plans in the engine double: an update held to the plan its preview saved (pure).

The rules are the engine's (``preview --save-plan`` then ``up --plan``, as
:class:`migrator.engine.workspace.PulumiWorkspace` runs them):

- A preview without config overrides saves a plan, the next update uses it once; a config change drops it.
- Each resource's step is checked as it comes (steps before a violation are applied). A resource the
  plan has no entry for may only stay the same: "<op> is not allowed by the plan: no steps were expected
  for this resource" (``pkg/resource/deploy/step_generator.go``).
- A planned resource's goal must match the planned one: inputs and ``protect``
  (``ResourcePlan.checkGoal`` in ``pkg/resource/deploy/plan.go``): "resource <urn> violates plan: …".
  Then its step must be one its planned op allows (``ConstrainedTo`` in
  ``pkg/resource/deploy/step.go``: a planned create or update allows ``same`` too, a replace allows
  ``same`` and ``update``; a delete, an import or a ``same`` allow only themselves): "… this resource is
  constrained to <op>".
- A planned operation the update never reached is an error of its own after the others: "expected resource
  operations for <urn> but none were seen" (``pkg/resource/deploy/deployment_executor.go``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from migrator.core.errors import PulumiError
from migrator.engine.workspace import UPDATE_PLANS_ENV

# What each planned op allows (``ConstrainedTo``); any other planned op allows only itself.
_ALLOWED = {"create": ("same", "create"), "update": ("same", "update"), "replace": ("same", "update", "replace")}


def plans_enabled() -> bool:
    """Whether a preview saves a plan: as :meth:`PulumiWorkspace.supports_update_plans` decides by the environment."""
    return os.environ.get(UPDATE_PLANS_ENV, "").strip().lower() not in ("off", "0", "false", "no")


class PlanStep(Protocol):
    """What a plan reads of a step (the double's ``Step``)."""

    op: str

    @property
    def urn(self) -> str: ...

    @property
    def goal(self) -> tuple[Mapping[str, Any], bool] | None: ...


@dataclass
class ResourcePlan:
    """The planned ops of one resource, in order, and its goal (declared inputs and ``protect``; None for a
    delete). An update takes each op off the front as it steps over the resource."""

    ops: list[str]
    goal: tuple[Mapping[str, Any], bool] | None


def make_plan(steps: Iterable[PlanStep]) -> dict[str, ResourcePlan]:
    """The plan a preview saves: every resource it stepped over, ``same`` included."""
    plan: dict[str, ResourcePlan] = {}
    for step in steps:
        plan.setdefault(step.urn, ResourcePlan([], step.goal)).ops.append(step.op)
    return plan


def check_step(plan: Mapping[str, ResourcePlan], step: PlanStep, *, stack: str) -> None:
    """Refuse ``step`` when the plan does not allow it; otherwise take its op off the resource's plan."""
    planned = plan.get(step.urn)
    if planned is None:
        if step.op != "same":
            _refuse(stack, f"{step.op} is not allowed by the plan: no steps were expected for this resource")
        return
    # The goal is checked as the step is generated, its op after (``step_generator.go``).
    if step.goal is not None and planned.goal is not None:
        (inputs, protect), (planned_inputs, planned_protect) = step.goal, planned.goal
        if protect != planned_protect:
            _refuse(stack, f"resource {step.urn} violates plan: protect changed (expected {planned_protect})")
        changed = sorted(k for k in set(inputs) | set(planned_inputs) if inputs.get(k) != planned_inputs.get(k))
        if changed:
            _refuse(stack, f"resource {step.urn} violates plan: properties changed: {', '.join(changed)}")
    if not planned.ops:
        _refuse(stack, f"{step.op} is not allowed by the plan: no more steps were expected for this resource")
    constraint = planned.ops.pop(0)
    if step.op not in _ALLOWED.get(constraint, (constraint,)):
        _refuse(stack, f"{step.op} is not allowed by the plan: this resource is constrained to {constraint}")


def check_all_seen(plan: Mapping[str, ResourcePlan], *, stack: str) -> None:
    """Refuse an update that left a planned operation out (one still on a resource's plan)."""
    missing = [urn for urn, planned in plan.items() if any(op != "same" for op in planned.ops)]
    if missing:
        _refuse(stack, "; ".join(f"expected resource operations for {urn} but none were seen" for urn in missing))


def _refuse(stack: str, message: str) -> None:
    raise PulumiError(
        f"Update of stack {stack} failed: {message}.",
        hint="The program or the stack changed since the preview: preview again, check it, then update.",
    )
