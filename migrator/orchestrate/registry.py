"""Every step of :mod:`migrator.core.stages` by name, over one :class:`StepContext`: built once per stack."""

from __future__ import annotations

from collections.abc import Callable

from migrator.core.stages import STEP_TEXT
from migrator.orchestrate.conflict_steps import ConflictSteps
from migrator.orchestrate.context import StageRun, StepContext
from migrator.orchestrate.cutover_steps import CutoverSteps
from migrator.orchestrate.offline_steps import OfflineSteps
from migrator.orchestrate.stream_steps import StreamSteps


class StepRegistry:
    """Step name → handler, for the offline steps, the stream steps and the cutover built on them."""

    def __init__(self, context: StepContext) -> None:
        self.offline = OfflineSteps(context)
        self.stream = StreamSteps(context)
        self.cutover = CutoverSteps(context, self.stream)
        self.conflicts = ConflictSteps(context, self.stream)
        self._progress = context.progress
        self._handlers: dict[str, Callable[[StageRun], None]] = {
            **self.offline.handlers(),
            **self.stream.handlers(),
            **self.cutover.handlers(),
            **self.conflicts.handlers(),
        }

    def run(self, run: StageRun, steps: tuple[str, ...]) -> None:
        """Run the named steps of ``run`` in order."""
        for step in steps:
            self._progress(f"  step: {STEP_TEXT[step]}")
            self._handlers[step](run)
