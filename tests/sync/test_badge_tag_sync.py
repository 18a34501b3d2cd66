"""The central's badge tags are the cabinet's, and a user it syncs signs in by badge."""

from __future__ import annotations

from pathlib import Path

import pytest

from cabinet.clock import SystemClock
from cabinet.security import credentials as cabinet_credentials
from cabinet.security import keys
from cabinet.store.checkpoints import CheckpointSigner
from cabinet.sync import SyncService
from cabinet.sync.apply import ChangeRefused, apply_batch
from cabinet.workflows import session
from proto.cabinet.v1 import sync_pb2
from sim import demo_data
from sim.central import catalog
from sim.central import credentials as central_credentials
from sim.central.credentials import FAST_COST
from tests.sync.conftest import CABINET_A, CentralHarness, cabinet_config, eventually
from tests.workflows.world import World


@pytest.mark.parametrize("site", ["Cardiologie 3B", "Réanimation", "CAB"])
@pytest.mark.parametrize("code", ["B-NURSE1", "0042", "badge é ü"])
def test_central_and_cabinet_tags_agree(code: str, site: str) -> None:
    """Same code, site and cost: the same tag string on both sides; other inputs differ."""
    params = cabinet_credentials.FAST_PARAMS
    cost = (params.n, params.r, params.p)
    tag = cabinet_credentials.badge_tag(code, site, params)
    assert central_credentials.badge_tag(code, site, cost) == tag
    assert cabinet_credentials.valid_tag(tag) and code not in tag
    assert cabinet_credentials.tag_like(code, cabinet_credentials.tag_prefix(tag)) == tag
    assert central_credentials.badge_tag(code + "x", site, cost) != tag
    assert central_credentials.badge_tag(code, site + "x", cost) != tag


def test_default_tag_costs_and_salts_agree() -> None:
    """The production tag cost and the salt prefix are the same constants on both sides."""
    params = cabinet_credentials.TAG_PARAMS
    assert (params.n, params.r, params.p) == central_credentials.TAG_COST
    assert central_credentials.TAG_SALT_PREFIX == cabinet_credentials.TAG_SALT_PREFIX
    assert central_credentials.badge_tag("B-1", "Site") == cabinet_credentials.badge_tag(
        "B-1", "Site"
    )


def test_a_malformed_tag_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    """A tag naming an absurd cost, or a tag without a badge hash, refuses the batch."""
    world = World(tmp_path)
    try:
        user = catalog.user_message(demo_data.USERS[0], FAST_COST)
        absurd = sync_pb2.User()
        absurd.CopyFrom(user)
        absurd.badge_tag = user.badge_tag.replace("n=16", "n=4194304")
        lone = sync_pb2.User()
        lone.CopyFrom(user)
        lone.badge_hash = ""
        for bad in (absurd, lone):
            with pytest.raises(ChangeRefused):
                apply_batch(world.store, [sync_pb2.Change(version=1, user=bad)])
        found = world.store.conn.execute(
            "SELECT count(*) FROM users WHERE id = ?", (user.id,)
        ).fetchone()
        assert found[0] == 0
    finally:
        world.store.close()


async def test_a_user_synced_from_the_central_signs_in_by_badge(
    central: CentralHarness, site_pki: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over the real gRPC stream: the user arrives with a tag and signs in with one check."""
    nurse = demo_data.USERS[0]
    catalog.register_user(central.db, nurse, FAST_COST)
    state = tmp_path / "ward"
    state.mkdir()
    world = World(state)
    central.db.register_cabinet(
        CABINET_A, CheckpointSigner(keys.load_or_create(state / "cabinet.key")).public_pem()
    )
    try:
        await central.start()
        service = SyncService(
            cabinet_config(state, site_pki, central.port), world.store, SystemClock()
        )
        await service.start()
        try:
            latest = central.db.latest_version()
            await eventually(lambda: service.state().applied_version == latest, 10, "the user")
        finally:
            # Delivered: the link is stopped before the workflows start on the same store.
            await service.stop()
        tag = world.store.conn.execute(
            "SELECT badge_tag FROM users WHERE id = ?", (nurse.id,)
        ).fetchone()[0]
        assert tag == cabinet_credentials.badge_tag(
            nurse.badge, demo_data.CARE_UNIT, cabinet_credentials.FAST_PARAMS
        )
        await world.start()
        calls = 0
        real = cabinet_credentials.verify_secret

        def counting(secret: str, stored: str) -> bool:
            """Count the salted verifications."""
            nonlocal calls
            calls += 1
            return real(secret, stored)

        monkeypatch.setattr(session, "verify_secret", counting)
        pending = await world.cab.sign_in_badge(nurse.badge)
        assert pending.user_id == nurse.id and calls == 1
        signed = await world.cab.sign_in_pin(nurse.pin)
        assert signed.user_id == nurse.id
    finally:
        await world.stop()
