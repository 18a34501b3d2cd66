"""Sign-in by badge or user id plus PIN, lockout after failed PINs, witnesses, inactivity."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from dataclasses import dataclass

from cabinet.domain.refusals import RefusalCode, Refused
from cabinet.domain.roles import Action, Role, may, parse_roles
from cabinet.security.credentials import TAG_KEY_CHARS, tag_like, verify_secret
from cabinet.store import LedgerEvent, NewEvent
from cabinet.workflows.core import Core, Session
from cabinet.workflows.events import SessionChanged


@dataclass(frozen=True, kw_only=True, slots=True)
class UserRow:
    """A user as stored."""

    id: str
    name: str
    roles: frozenset[Role]
    badge_hash: str | None
    pin_hash: str | None
    failed_pins: int
    locked_until: str | None


def _user(core: Core, user_id: str) -> UserRow | None:
    """An active user by id."""
    row = core.store.conn.execute(
        "SELECT id, name, roles, badge_hash, pin_hash, failed_pins, locked_until FROM users "
        "WHERE id = ? AND active = 1",
        (user_id,),
    ).fetchone()
    if row is None:
        return None
    return UserRow(
        id=row[0],
        name=row[1],
        roles=parse_roles(row[2]),
        badge_hash=row[3],
        pin_hash=row[4],
        failed_pins=int(row[5]),
        locked_until=row[6],
    )


async def _first_verified(core: Core, code: str, rows: list[tuple[str, str]]) -> UserRow | None:
    """The first of these (id, badge_hash) rows whose salted hash matches, checked off-loop."""
    for user_id, stored in rows:
        # verify_secret compares in constant time: a near miss answers like a far one.
        if await asyncio.to_thread(verify_secret, code, str(stored)):
            return _user(core, str(user_id))
    return None


async def find_by_badge(core: Core, code: str) -> UserRow | None:
    """The active user whose badge this is: one tag derivation, one indexed lookup, one check.

    The central sends each user with a site-wide lookup tag of the badge code (see
    cabinet.security.credentials.badge_tag). The tag is derived once per distinct cost and
    salt held (normally one: the site's), looked up in the index, and the row found must still
    pass its own salted hash. So a scan costs the same with 5 users or 500.
    """
    conn = core.store.conn
    prefixes = conn.execute(
        "SELECT DISTINCT substr(badge_tag, 1, length(badge_tag) - ?) FROM users "
        "WHERE active = 1 AND badge_tag IS NOT NULL ORDER BY 1",
        (TAG_KEY_CHARS,),
    ).fetchall()
    for (prefix,) in prefixes:
        tag = await asyncio.to_thread(tag_like, code, str(prefix))
        if tag is None:
            continue
        rows = conn.execute(
            "SELECT id, badge_hash FROM users "
            "WHERE badge_tag = ? AND active = 1 AND badge_hash IS NOT NULL ORDER BY id",
            (tag,),
        ).fetchall()
        found = await _first_verified(core, code, rows)
        if found is not None:
            return found
    # Fallback for users with no tag yet: rows written before migration 0003 or by a central
    # that sends none. Only those are tried one salted hash at a time (about 50 ms each);
    # they get their tag when the central next sends them.
    untagged = conn.execute(
        "SELECT id, badge_hash FROM users "
        "WHERE active = 1 AND badge_hash IS NOT NULL AND badge_tag IS NULL ORDER BY id"
    ).fetchall()
    return await _first_verified(core, code, untagged)


async def authenticate(core: Core, user_id: str, pin: str) -> UserRow:
    """Check a PIN: refuse a locked or unknown user, count failures, lock after too many."""
    user = _user(core, user_id)
    if user is None:
        core.refuse(RefusalCode.UNKNOWN_USER)
    now = core.now()
    if user.locked_until and dt.datetime.fromisoformat(user.locked_until) > now:
        core.store.record(NewEvent(kind="login_refused_locked", actor=user.id))
        core.refuse(RefusalCode.LOCKED_OUT, until=user.locked_until[11:16])
    ok = bool(user.pin_hash) and await asyncio.to_thread(verify_secret, pin, user.pin_hash or "")
    if ok:
        if user.failed_pins or user.locked_until:
            with core.store.transaction() as conn:
                conn.execute(
                    "UPDATE users SET failed_pins = 0, locked_until = NULL WHERE id = ?", (user.id,)
                )
        return user
    failures = user.failed_pins + 1
    limit = core.settings.max_failed_pins
    locked = failures >= limit
    until = now + dt.timedelta(minutes=core.settings.lockout_minutes) if locked else None

    def write(conn: sqlite3.Connection, _event: LedgerEvent) -> None:
        """Count the failure (or lock the user) with the event."""
        conn.execute(
            "UPDATE users SET failed_pins = ?, locked_until = ? WHERE id = ?",
            (0 if locked else failures, until.isoformat() if until else None, user.id),
        )

    core.store.record(
        NewEvent(
            kind="user_locked" if locked else "login_failure",
            actor=user.id,
            payload={"failures": failures, "locked_until": until.isoformat() if until else None},
        ),
        hook=write,
    )
    if locked and until is not None:
        core.refuse(RefusalCode.LOCKED_OUT, until=until.isoformat()[11:16])
    core.refuse(RefusalCode.WRONG_PIN, remaining=limit - failures)


async def sign_in(core: Core, user_id: str | None, pin: str) -> Session:
    """Open the screen's session for a user (by id, or the badge just scanned) with a PIN."""
    if core.session is not None:
        core.refuse(RefusalCode.TASK_IN_PROGRESS)
    who = user_id or core.held_badge()
    if who is None:
        core.refuse(RefusalCode.UNKNOWN_USER)
    try:
        user = await authenticate(core, who, pin)
    except Refused as refused:
        if refused.code is RefusalCode.LOCKED_OUT:
            core.pending_badge = None  # a locked account has nothing more to type
        raise
    core.pending_badge = None
    core.store.record(NewEvent(kind="sign_in", actor=user.id))
    core.session = Session(
        user_id=user.id, name=user.name, roles=user.roles, last_activity=core.clock.monotonic()
    )
    core.hub.publish(SessionChanged(user_id=user.id, reason="sign_in"))
    return core.session


async def witness(core: Core, user_id: str | None, badge: str | None, pin: str) -> UserRow:
    """A second user signs in at the same screen to witness the current action."""
    session = core.signed_in()
    if user_id is None and badge is None:
        badge = core.held_witness_badge()  # read by the scanner on this screen
    if user_id is None and badge is not None:
        found = await find_by_badge(core, badge)
        if found is None:
            core.witness_badge = None  # an unknown card: the next read starts over
            core.refuse(RefusalCode.UNKNOWN_BADGE)
        user_id = found.id
    if user_id is None:
        core.refuse(RefusalCode.WITNESS_REQUIRED)
    if user_id == session.user_id:
        core.witness_badge = None  # the wrong person scanned: the next read starts over
        core.refuse(RefusalCode.WITNESS_SAME_AS_ACTOR)
    try:
        user = await authenticate(core, user_id, pin)
    except Refused as refused:
        # A wrong PIN keeps the badge read, as at sign-in: the same witness types it again.
        if refused.code is not RefusalCode.WRONG_PIN:
            core.witness_badge = None
        raise
    core.witness_badge = None
    if not may(user.roles, Action.WITNESS):
        core.refuse(RefusalCode.WITNESS_NOT_ALLOWED)
    session.witness = user.id
    return user


def sign_out(core: Core, reason: str) -> None:
    """Close the session (the ledger records it); a task not yet released is cancelled."""
    session = core.session
    if session is None:
        return
    core.session = None
    core.pending_badge = None
    core.witness_badge = None
    core.store.record(NewEvent(kind="sign_out", actor=session.user_id, payload={"reason": reason}))
    core.hub.publish(SessionChanged(user_id=None, reason=reason))


def inactive(core: Core) -> bool:
    """True when the signed-in user has been idle longer than allowed."""
    session = core.session
    if session is None:
        return False
    return core.clock.monotonic() - session.last_activity >= core.settings.inactivity_s
