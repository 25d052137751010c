"""What a replay did: per pass (:class:`PassResult`) and summed over passes (:class:`ReplayResult`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from migrator.core.replay_plan import BatchPlan, Change, KeyRef
from migrator.data.stream.replay_write import WriteCounts

MAX_REASONS = 5
MAX_KEYS = 1000  # reject and conflict keys kept per result; the counts go on
_COUNTS = ("records", "puts", "deletes", "skipped_deletes", "rejects", "duplicates", "skipped", "conflicts")  # summed
_KEYS = ("reject_keys", "conflict_keys")


@dataclass(frozen=True)
class PassResult:
    """One pass over every shard.

    ``lag_seconds``: for each shard, the time from the last record's creation (its
    ApproximateCreationDateTime, which AWS rounds to the second) to its write, at the end of the pass;
    the largest over shards, 0 when the pass read nothing. ``millis_behind`` is GetRecords'
    MillisBehindLatest when the service gives it. ``touched`` (when asked for) names each source key
    written and the target keys it touched.
    """

    records: int = 0
    puts: int = 0
    deletes: int = 0
    skipped_deletes: int = 0
    rejects: int = 0
    duplicates: int = 0
    skipped: int = 0
    lag_seconds: float = 0.0
    millis_behind: int | None = None
    seconds: float = 0.0
    reject_reasons: tuple[str, ...] = ()
    touched: tuple[KeyRef, ...] = ()
    conflicts: int = 0
    reject_keys: tuple[dict[str, Any], ...] = ()  # {"key": source key (DynamoDB JSON), "reason"}, up to MAX_KEYS
    conflict_keys: tuple[dict[str, str], ...] = ()  # new-table keys (plain JSON) of late writes not applied


@dataclass
class Tally:
    """Adds pages up into a :class:`PassResult`."""

    collect_keys: bool = False
    records: int = 0
    puts: int = 0
    deletes: int = 0
    skipped_deletes: int = 0
    rejects: int = 0
    duplicates: int = 0
    skipped: int = 0
    lags: dict[str, float] = field(default_factory=dict)
    millis: int | None = None
    reasons: list[str] = field(default_factory=list)
    touched: list[KeyRef] = field(default_factory=list)
    conflicts: int = 0
    reject_keys: list[dict[str, Any]] = field(default_factory=list)
    conflict_keys: list[dict[str, str]] = field(default_factory=list)

    def add_conflicts(self, keys: Sequence[Mapping[str, str]]) -> None:
        """Late writes a guarded replay did not apply (:mod:`migrator.data.stream.late_writes`)."""
        self.conflicts += len(keys)
        self.conflict_keys.extend(dict(k) for k in keys[: MAX_KEYS - len(self.conflict_keys)])

    def add_page(
        self,
        shard_id: str,
        changes: Sequence[Change],
        plan: BatchPlan,
        counts: WriteCounts,
        *,
        applied_at: float,
        millis: int | None,
    ) -> None:
        self.records += len(changes)
        self.puts += counts.puts
        self.deletes += counts.deletes
        self.skipped_deletes += counts.skipped_deletes
        self.rejects += len(plan.rejects)
        self.duplicates += plan.duplicates
        if changes[-1].created is not None:
            self.lags[shard_id] = applied_at - changes[-1].created
        if millis is not None:
            self.millis = max(self.millis or 0, millis)
        self.reasons.extend(r["reason"] for r in plan.rejects[: MAX_REASONS - len(self.reasons)])
        kept = plan.rejects[: MAX_KEYS - len(self.reject_keys)]
        self.reject_keys.extend({"key": dict(r["keys"]), "reason": r["reason"]} for r in kept)
        if self.collect_keys:
            self.touched.extend(plan.touched)

    def add_skipped(self, changes: Sequence[Change]) -> None:
        self.records += len(changes)
        self.skipped += len(changes)

    def result(self, seconds: float) -> PassResult:
        return PassResult(
            records=self.records,
            puts=self.puts,
            deletes=self.deletes,
            skipped_deletes=self.skipped_deletes,
            rejects=self.rejects,
            duplicates=self.duplicates,
            skipped=self.skipped,
            lag_seconds=max([0.0, *self.lags.values()]),
            millis_behind=self.millis,
            seconds=seconds,
            reject_reasons=tuple(self.reasons),
            touched=tuple(self.touched),
            conflicts=self.conflicts,
            reject_keys=tuple(self.reject_keys),
            conflict_keys=tuple(self.conflict_keys),
        )


@dataclass(frozen=True)
class ReplayResult:
    """Passes summed: records read and applied, rejects, the last pass's lag, and whether it caught up."""

    records: int = 0
    puts: int = 0
    deletes: int = 0
    skipped_deletes: int = 0
    rejects: int = 0
    duplicates: int = 0
    skipped: int = 0
    passes: int = 0
    lag_seconds: float = 0.0
    max_lag_seconds: float = 0.0
    millis_behind: int | None = None
    seconds: float = 0.0
    caught_up: bool = False
    reject_reasons: tuple[str, ...] = ()
    touched: tuple[KeyRef, ...] = ()
    conflicts: int = 0
    reject_keys: tuple[dict[str, Any], ...] = ()
    conflict_keys: tuple[dict[str, str], ...] = ()

    @property
    def clean(self) -> bool:
        """No record was left unapplied: no rejects, no duplicate target keys."""
        return self.rejects == 0 and self.duplicates == 0

    def plus(self, done: PassResult) -> ReplayResult:
        """This result with one more pass."""
        one_pass = ReplayResult(
            **{name: getattr(done, name) for name in _COUNTS},
            passes=1,
            lag_seconds=done.lag_seconds,
            max_lag_seconds=done.lag_seconds,
            millis_behind=done.millis_behind,
            seconds=done.seconds,
            caught_up=self.caught_up,
            reject_reasons=done.reject_reasons,
            touched=done.touched,
            **{name: getattr(done, name) for name in _KEYS},
        )
        return self.then(one_pass)

    def then(self, later: ReplayResult) -> ReplayResult:
        """This result followed by ``later`` (e.g. catch-up, then drain)."""
        return replace(
            self,
            **{name: getattr(self, name) + getattr(later, name) for name in (*_COUNTS, "passes")},
            lag_seconds=later.lag_seconds,
            max_lag_seconds=max(self.max_lag_seconds, later.max_lag_seconds),
            millis_behind=later.millis_behind,
            seconds=self.seconds + later.seconds,
            caught_up=later.caught_up,
            reject_reasons=(self.reject_reasons + later.reject_reasons)[:MAX_REASONS],
            touched=self.touched + later.touched,
            **{name: (getattr(self, name) + getattr(later, name))[:MAX_KEYS] for name in _KEYS},
        )

    def finished(self, *, caught_up: bool) -> ReplayResult:
        return replace(self, caught_up=caught_up)

    def to_dict(self) -> dict[str, Any]:
        """The report's ``catchUp`` object."""
        return {
            "recordsReplayed": self.records - self.skipped,
            "written": self.puts,
            "deleted": self.deletes,
            "skippedDeletes": self.skipped_deletes,
            "rejects": self.rejects,
            "duplicates": self.duplicates,
            "rejectReasons": list(self.reject_reasons),
            "conflicts": self.conflicts,
            "passes": self.passes,
            "lagSeconds": round(self.lag_seconds, 3),
            "maxLagSeconds": round(self.max_lag_seconds, 3),
            "millisBehindLatest": self.millis_behind,
            "seconds": round(self.seconds, 3),
            "caughtUp": self.caught_up,
        }
