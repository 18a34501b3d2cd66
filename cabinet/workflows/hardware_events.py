"""What each coordinator event means for the task in progress, and for a cabinet at rest."""

from __future__ import annotations

import logging

from cabinet.domain.weighing import compare_drawer
from cabinet.errors import CabinetError
from cabinet.hardware.events import (
    AlarmCode,
    DeviceBack,
    DeviceDownEvent,
    DrawerClosed,
    DrawerOpened,
    HardwareAlarm,
    HardwareEvent,
    WeightSettled,
)
from cabinet.workflows import drawer, repo
from cabinet.workflows.core import Core
from cabinet.workflows.discrepancy import clear_alarm, open_discrepancies, record_alarm
from cabinet.workflows.drawer import settle_task
from cabinet.workflows.machines import HARDWARE_STATES
from cabinet.workflows.watch import end_session

log = logging.getLogger("cabinet.workflows")

_CRITICAL = frozenset(
    {
        AlarmCode.DEVICE_DOWN,
        AlarmCode.TAMPER,
        AlarmCode.DRAWER_FORCED,
        AlarmCode.POWER_FAULT,
        AlarmCode.LOCK_STUCK_RELEASED,
        AlarmCode.LOCKED_DOWN,
        AlarmCode.BOARD_NOT_ALIVE,
    }
)


async def handle(core: Core, event: HardwareEvent) -> None:
    """Apply one event; a failure here latches the cabinet locked rather than guessing."""
    try:
        await _apply(core, event)
    except CabinetError as exc:
        log.exception("workflow could not follow a hardware event")
        core.hardware.lock_down(f"workflow failed on {type(event).__name__}: {exc}")
        core.degraded = core.degraded or f"workflow failure: {exc}"


def record_active_alarms(core: Core) -> None:
    """Record alarms the coordinator raised before the workflows listened (e.g. at its start)."""
    for alarm in core.hardware.snapshot().alarms:
        if alarm.cleared:
            continue
        known = core.store.conn.execute(
            "SELECT 1 FROM alarms WHERE kind = ? AND cleared_at IS NULL AND message LIKE ?",
            (alarm.code.value, f"{alarm.subject}:%"),
        ).fetchone()
        if known is None:
            severity = "critical" if alarm.code in _CRITICAL else "warning"
            record_alarm(core, alarm.code.value, severity, f"{alarm.subject}: {alarm.message}",
                         subject=alarm.subject)  # fmt: skip


async def _apply(core: Core, event: HardwareEvent) -> None:
    """Dispatch one event."""
    task = core.task
    mine = task is not None and task.drawer == getattr(event, "drawer", None)
    if isinstance(event, HardwareAlarm):
        if event.cleared:
            clear_alarm(core, event.code.value, event.subject)
        else:
            severity = "critical" if event.code in _CRITICAL else "warning"
            record_alarm(
                core,
                event.code.value,
                severity,
                f"{event.subject}: {event.message}",
                subject=event.subject,
            )
    elif isinstance(event, DeviceDownEvent):
        core.hardware_down.add(event.device)
    elif isinstance(event, DeviceBack):
        core.hardware_down.discard(event.device)
    elif isinstance(event, DrawerOpened):
        if task is not None and mine and task.state in ("released", "cancelling"):
            drawer.drawer_opened(core, task)
    elif isinstance(event, DrawerClosed):
        if task is not None and mine and task.state in HARDWARE_STATES and task.drawer_open:
            drawer.drawer_closed(core, task)
    elif isinstance(event, WeightSettled):
        await _settled(core, event)


async def _settled(core: Core, event: WeightSettled) -> None:
    """Weights of a closed drawer settled: judge the task, or flag an unauthorised change."""
    task = core.task
    if task is not None and task.drawer == event.drawer and task.state in HARDWARE_STATES:
        closed_after_open = bool(task.extra.get("closed_at")) and not task.drawer_open
        recovering = bool(task.extra.get("recovering")) and not task.drawer_open
        if (
            task.state == "settling"
            or (task.state == "cancelling" and closed_after_open)
            or (recovering)
        ):
            await drawer.finish(core, task, dict(event.weights))
            ended = core.task is not None and core.task.state in (
                "committed",
                "discrepancy",
                "cancelled",
                "interrupted",
            )
            settle_task(core)
            if ended and core.settings.sign_out_on_close and core.session is not None:
                end_session(core, "drawer_closed")
            return
        if task.state in ("released", "open", "cancelling"):
            return  # the task will judge the whole drawer once it has closed
    if not event.deltas:
        return
    # A change in a closed drawer that no task authorised is always a discrepancy.
    weights = dict(event.weights)
    before = {p: w - event.deltas.get(p, 0) for p, w in weights.items()}
    changes = compare_drawer(before, weights, repo.drawer_scales(core.store.conn, event.drawer), {})
    if changes:
        open_discrepancies(
            core,
            task=None,
            drawer=event.drawer,
            changes=[
                (c, "unauthorised_change" if c.readable else "weight_unclear") for c in changes
            ],
        )
