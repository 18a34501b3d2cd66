"""A badge scan costs one tag derivation, one index lookup and one salted check, any ward size."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from cabinet.domain.refusals import RefusalCode, Refused
from cabinet.security.credentials import FAST_PARAMS, badge_tag, hash_secret
from cabinet.workflows import session
from tests.workflows.world import SITE, World

WARD_SIZE = 200


class Counted:
    """Calls of a session-module function, counted on the way through."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
        """Wrap `cabinet.workflows.session.<name>` for the test."""
        self.calls = 0
        real: Callable[..., Any] = getattr(session, name)

        def counting(*args: Any) -> Any:
            """Count, then call the real function."""
            self.calls += 1
            return real(*args)

        monkeypatch.setattr(session, name, counting)


@pytest.fixture
async def ward(tmp_path: Path) -> AsyncIterator[World]:
    """The test ward on the fakes, with 200 more staff, each with a salted hash and a tag."""
    w = World(tmp_path)
    with w.store.transaction() as conn:
        for i in range(WARD_SIZE):
            code = f"B-STAFF{i:03d}"
            conn.execute(
                "INSERT INTO users (id, name, roles, badge_hash, badge_tag, pin_hash) "
                "VALUES (?, ?, 'nurse', ?, ?, ?)",
                (
                    f"staff{i:03d}",
                    f"Staff {i}",
                    hash_secret(code, FAST_PARAMS),
                    badge_tag(code, SITE, FAST_PARAMS),
                    hash_secret("9999", FAST_PARAMS),
                ),
            )
    try:
        await w.start()
        yield w
    finally:
        await w.stop()


async def test_one_salted_check_per_scan_among_200_users(
    ward: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last user by id is found with one tag derivation and one salted verification."""
    verifications = Counted(monkeypatch, "verify_secret")
    derivations = Counted(monkeypatch, "tag_like")
    pending = await ward.cab.sign_in_badge(f"B-STAFF{WARD_SIZE - 1:03d}")
    assert pending.user_id == f"staff{WARD_SIZE - 1:03d}"
    assert (derivations.calls, verifications.calls) == (1, 1)
    signed = await ward.cab.sign_in_pin("9999")
    assert signed.user_id == pending.user_id


async def test_the_lookup_uses_the_index(ward: World) -> None:
    """The tag lookup is an index search, not a scan of the users table."""
    plan = ward.store.conn.execute(
        "EXPLAIN QUERY PLAN SELECT id, badge_hash FROM users "
        "WHERE badge_tag = ? AND active = 1 AND badge_hash IS NOT NULL ORDER BY id",
        ("x",),
    ).fetchall()
    assert any("users_badge_tag" in str(row[-1]) for row in plan), plan


async def test_a_wrong_badge_is_refused_without_any_salted_check(
    ward: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unknown code matches no tag: refused, nobody pending, no salted hash tried."""
    verifications = Counted(monkeypatch, "verify_secret")
    with pytest.raises(Refused) as refused:
        await ward.cab.sign_in_badge("B-STAFF999")
    assert refused.value.code is RefusalCode.UNKNOWN_BADGE
    assert verifications.calls == 0
    with pytest.raises(Refused) as no_badge:
        await ward.cab.sign_in_pin("9999")
    assert no_badge.value.code is RefusalCode.UNKNOWN_USER


async def test_a_matching_tag_still_needs_the_salted_hash(ward: World) -> None:
    """A row whose tag matches but whose salted hash is of another code does not sign in."""
    with ward.store.transaction() as conn:
        conn.execute(
            "UPDATE users SET badge_hash = ? WHERE id = 'staff007'",
            (hash_secret("B-SOMETHING-ELSE", FAST_PARAMS),),
        )
    with pytest.raises(Refused) as refused:
        await ward.cab.sign_in_badge("B-STAFF007")
    assert refused.value.code is RefusalCode.UNKNOWN_BADGE


async def test_a_user_without_a_tag_yet_still_signs_in(
    ward: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row from before the tags is found by the old one-by-one path, and only such rows."""
    with ward.store.transaction() as conn:
        conn.execute("UPDATE users SET badge_tag = NULL WHERE id IN ('nurse2', 'staff010')")
    verifications = Counted(monkeypatch, "verify_secret")
    pending = await ward.cab.sign_in_badge("B-STAFF010")
    assert pending.user_id == "staff010"
    # Tagged lookup found nothing; then nurse2 and staff010 (by id), no tagged row.
    assert verifications.calls == 2
    # A tagged user is still found by the tag alone, with one salted check.
    verifications.calls = 0
    assert (await ward.cab.sign_in_badge("B-STAFF150")).user_id == "staff150"
    assert verifications.calls == 1


async def test_an_inactive_user_is_not_found_by_tag(ward: World) -> None:
    """A user the central deactivated keeps the tag but may no longer sign in by badge."""
    with ward.store.transaction() as conn:
        conn.execute("UPDATE users SET active = 0 WHERE id = 'staff042'")
    with pytest.raises(Refused) as refused:
        await ward.cab.sign_in_badge("B-STAFF042")
    assert refused.value.code is RefusalCode.UNKNOWN_BADGE
