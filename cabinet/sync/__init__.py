"""Sync with the central pharmacy: the outbox going up, versioned changes coming down."""

from cabinet.sync.service import SyncService
from cabinet.sync.status import SyncState, SyncStatus

__all__ = ["SyncService", "SyncState", "SyncStatus"]
