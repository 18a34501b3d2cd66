"""The simulated cabinet behaves like metal: locks, drawers and settling scales, driven clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.hardware.layout import LayoutError, default_layout, load_layout
from sim.hardware.model import MAX_PULSE_MS, Cabinet, Refused


class Clock:
    """Time that moves only when the test says so."""

    def __init__(self) -> None:
        """Start the clock at an arbitrary instant."""
        self.now = 1000.0

    def __call__(self) -> float:
        """The current time."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    """A driven clock."""
    return Clock()


@pytest.fixture
def cab(clock: Clock) -> Cabinet:
    """The demo cabinet; drawer 2 pocket 5 holds 10 tablets of 0.25 g."""
    c = Cabinet(default_layout(), clock=clock, settle_s=0.3, noise_cg=1, seed=3)
    c.load(2, 5, 10, 25)
    clock.advance(1)
    return c


def test_a_locked_drawer_refuses_to_open(cab: Cabinet) -> None:
    """A locked drawer refuses to open."""
    with pytest.raises(Refused, match="locked"):
        cab.open(2)
    assert cab.drawer(2).closed
    assert not cab.tamper


def test_forcing_a_locked_drawer_opens_it_and_sets_tamper(cab: Cabinet) -> None:
    """Forcing a locked drawer opens it and sets tamper."""
    assert cab.open(2, force=True) == "forced"
    assert not cab.drawer(2).closed
    assert cab.tamper


def test_forcing_a_released_drawer_is_an_ordinary_open(cab: Cabinet) -> None:
    """Forcing a released drawer is an ordinary open."""
    cab.release(2, 3000)
    assert cab.open(2, force=True) == "opened"
    assert not cab.tamper


def test_the_lock_relocks_by_itself_when_the_pulse_ends(cab: Cabinet, clock: Clock) -> None:
    """The lock relocks by itself when the pulse ends."""
    cab.release(2, 2000)
    assert cab.energised(2) and not cab.bolt_engaged(2)
    clock.advance(1.0)
    assert 990 <= cab.ms_left(2) <= 1000
    clock.advance(1.01)
    assert not cab.energised(2) and cab.bolt_engaged(2)
    with pytest.raises(Refused):
        cab.open(2)


def test_a_pulse_is_capped_at_the_board_maximum(cab: Cabinet, clock: Clock) -> None:
    """A pulse is capped at the board maximum."""
    assert cab.release(2, 60_000) == MAX_PULSE_MS
    clock.advance(MAX_PULSE_MS / 1000 + 0.01)
    assert not cab.energised(2)


def test_an_open_drawer_stays_open_after_relock_and_closes_onto_the_bolt(
    cab: Cabinet, clock: Clock
) -> None:
    """An open drawer stays open after relock and closes onto the bolt."""
    cab.release(2, 500)
    cab.open(2)
    clock.advance(1)
    assert not cab.drawer(2).closed and cab.bolt_engaged(2)
    cab.close(2)
    assert cab.drawer(2).closed
    with pytest.raises(Refused):
        cab.open(2)


def test_relock_all_drops_every_pulse_and_the_tamper_latch(cab: Cabinet) -> None:
    """Relock all drops every pulse and the tamper latch."""
    cab.release(0, 5000)
    cab.release(3, 5000)
    cab.open(5, force=True)
    cab.relock_all()
    assert not cab.energised(0) and not cab.energised(3)
    assert not cab.tamper


def test_items_can_only_be_taken_from_an_open_drawer(cab: Cabinet) -> None:
    """Items can only be taken from an open drawer."""
    with pytest.raises(Refused, match="closed"):
        cab.take(2, 5, 1)
    assert cab.pocket(2, 5).count == 10


def test_a_reading_is_stable_only_after_it_has_settled(cab: Cabinet, clock: Clock) -> None:
    """A reading is stable only after it has settled."""
    cab.release(2, 5000)
    cab.open(2)
    clock.advance(0.5)
    cab.take(2, 5, 3)
    clock.advance(0.1)
    assert not cab.reading(2, 5).stable
    clock.advance(0.25)
    r = cab.reading(2, 5)
    assert r.stable
    assert abs(r.centigrams - 7 * 25) <= 1


def test_taking_more_than_the_pocket_holds_is_refused(cab: Cabinet) -> None:
    """Taking more than the pocket holds is refused."""
    cab.release(2, 5000)
    cab.open(2)
    with pytest.raises(Refused, match="only 10"):
        cab.take(2, 5, 11)
    assert cab.pocket(2, 5).count == 10


def test_a_stuck_lock_is_energised_but_its_bolt_stays_out(cab: Cabinet) -> None:
    """A stuck lock is energised but its bolt stays out."""
    cab.drawer(2).stuck = True
    cab.release(2, 3000)
    assert cab.energised(2) and cab.bolt_engaged(2)
    with pytest.raises(Refused, match="stuck"):
        cab.open(2)


def test_a_drifting_cell_claims_stable_while_its_weight_creeps(cab: Cabinet, clock: Clock) -> None:
    """A drifting cell claims stable while its weight creeps."""
    cab.set_cell_fault(2, 5, "drift", 10.0)
    clock.advance(5)
    r = cab.reading(2, 5)
    assert r.stable
    assert r.centigrams >= 250 + 50 - 1


def test_a_failed_cell_reports_a_fault(cab: Cabinet) -> None:
    """A failed cell reports a fault."""
    cab.set_cell_fault(2, 5, "failed")
    r = cab.reading(2, 5)
    assert r.fault and not r.stable


def test_a_reboot_drops_alive_and_relocks(cab: Cabinet, clock: Clock) -> None:
    """A reboot drops alive and relocks."""
    cab.release(1, 5000)
    cab.reboot(2.0)
    assert not cab.alive and not cab.energised(1)
    with pytest.raises(Refused, match="rebooting"):
        cab.release(1, 1000)
    clock.advance(2.0)
    assert cab.alive


def test_a_configured_layout_is_read_from_the_cabinet_toml(tmp_path: Path) -> None:
    """A configured layout is read from the cabinet toml."""
    f = tmp_path / "cabinet.toml"
    f.write_text(
        "[cabinet]\nid = 'X'\n[hardware]\nport = 5999\n"
        "[[drawers]]\nindex = 0\npockets = 4\n"
        "[[drawers]]\nindex = 1\npockets = 2\nkind = 'refrigerated'\n"
        "scale_profile = 'hx711'\nscale_unit = 40\n"
    )
    layout = load_layout(f)
    assert layout.port == 5999
    assert layout.drawer(1).units() == (40, 41)
    assert layout.drawer(0).units() == (10,)


@pytest.mark.parametrize(
    ("drawers", "message"),
    [
        ("[[drawers]]\nindex = 0\nkind = 'cupboard'\n", "kind"),
        ("[[drawers]]\nindex = 0\n[[drawers]]\nindex = 0\n", "twice"),
        (
            "[[drawers]]\nindex = 0\npockets = 3\nscale_profile = 'hx711'\n"
            "[[drawers]]\nindex = 1\n",
            "unit 11",
        ),
        ("[[drawers]]\nindex = 0\npockets = 99\n", "pockets"),
    ],
)
def test_a_bad_layout_is_refused_with_a_clear_line(
    tmp_path: Path, drawers: str, message: str
) -> None:
    """A bad layout is refused with a clear line."""
    f = tmp_path / "cabinet.toml"
    f.write_text(drawers)
    with pytest.raises(LayoutError, match=message):
        load_layout(f)
