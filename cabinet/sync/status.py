"""What the sync worker tells the screen and the heartbeat: online, since when, backlog, error."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from cabinet.clock import Clock


@dataclass(frozen=True, kw_only=True, slots=True)
class SyncState:
    """A snapshot of the link with the central pharmacy."""

    online: bool
    offline_since: dt.datetime | None  # when contact was lost (or the daemon started offline)
    last_contact: dt.datetime | None  # the last answer from the central
    outbox_depth: int  # ledger events not yet acknowledged
    last_acked_seq: int  # highest sequence the central acknowledged
    applied_version: int  # last change version applied to the store
    last_error: str  # the last failure, "" when none since the last success


class SyncStatus:
    """Mutable status shared by the uplink, the downlink and the heartbeat."""

    def __init__(self, clock: Clock) -> None:
        """Offline until the central first answers."""
        self.clock = clock
        self._online = False
        self._offline_since: dt.datetime | None = clock.now()
        self._last_contact: dt.datetime | None = None
        self.outbox_depth = 0
        self.last_acked_seq = 0
        self.applied_version = 0
        self._last_error = ""
        # Failures by kind ("UNAVAILABLE", "DEADLINE_EXCEEDED", ...), for logs and tests.
        self.failures: Counter[str] = Counter()

    def contact(self) -> None:
        """The central answered."""
        self._online = True
        self._offline_since = None
        self._last_contact = self.clock.now()
        self._last_error = ""

    def failure(self, error: str) -> None:
        """A call failed: offline from now, unless already offline."""
        if self._online or self._offline_since is None:
            self._offline_since = self.clock.now()
        self._online = False
        self._last_error = error
        self.failures[error.split(":", 1)[0]] += 1

    def problem(self, error: str) -> None:
        """The central answered but refused something: still online, but say why."""
        self._last_error = error

    def snapshot(self) -> SyncState:
        """The state now."""
        return SyncState(
            online=self._online,
            offline_since=self._offline_since,
            last_contact=self._last_contact,
            outbox_depth=self.outbox_depth,
            last_acked_seq=self.last_acked_seq,
            applied_version=self.applied_version,
            last_error=self._last_error,
        )
