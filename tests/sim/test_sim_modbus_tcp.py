"""The simulator over real Modbus TCP: plain pymodbus clients and Debian's mbpoll drive it."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from pymodbus.client import ModbusTcpClient

from tests.sim.simproc import SimProcess, running_sim

BOARD = 1
INT32 = ModbusTcpClient.DATATYPE.INT32


def weight(client: ModbusTcpClient, unit: int, pocket: int) -> int:
    """A pocket's weight in centigrams from the cabinet-profile scale module."""
    rr = client.read_input_registers(2 * pocket, count=2, device_id=unit)
    assert not rr.isError(), rr
    value = client.convert_from_registers(rr.registers, INT32, word_order="big")
    assert isinstance(value, int)
    return value


def cell_status(client: ModbusTcpClient, unit: int, pocket: int) -> int:
    """A pocket's status bits (0 stable, 1 overload, 2 fault)."""
    rr = client.read_input_registers(0x0100 + pocket, count=1, device_id=unit)
    assert not rr.isError(), rr
    return int(rr.registers[0])


def test_every_drawer_reads_closed_and_the_board_alive(
    sim: SimProcess, modbus: ModbusTcpClient
) -> None:
    """At start every closed sensor reads 1, every bolt is engaged, the board is alive."""
    closed = modbus.read_discrete_inputs(0, count=7, device_id=BOARD)
    bolts = modbus.read_discrete_inputs(0x0100, count=7, device_id=BOARD)
    status = modbus.read_input_registers(0, count=2, device_id=BOARD)
    assert closed.bits[:7] == [True] * 7
    assert bolts.bits[:7] == [True] * 7
    assert status.registers == [0x0001, 0x0103]


def test_a_lock_released_over_modbus_lets_the_drawer_open(
    sim: SimProcess, modbus: ModbusTcpClient
) -> None:
    """Pulling a locked drawer is refused; after a release written on the wire it opens."""
    refused = sim.send("open 2")
    assert not refused["ok"] and "locked" in refused["error"]
    assert not modbus.write_register(0x0102, 3000, device_id=BOARD).isError()
    assert modbus.read_coils(0, count=7, device_id=BOARD).bits[:7] == [0, 0, 1, 0, 0, 0, 0]
    assert not modbus.read_discrete_inputs(0x0102, count=1, device_id=BOARD).bits[0]
    left = modbus.read_holding_registers(0x0102, count=1, device_id=BOARD).registers[0]
    assert 0 < left <= 3000
    assert sim.ok("open 2")["result"] == "opened"
    assert modbus.read_discrete_inputs(2, count=1, device_id=BOARD).bits[0] is False
    status = modbus.read_input_registers(0, count=1, device_id=BOARD).registers[0]
    assert status & 0x02 == 0, "an authorised open is no tamper"


def test_a_forced_open_sets_the_tamper_bit_until_relock_all(
    sim: SimProcess, modbus: ModbusTcpClient
) -> None:
    """Forcing a locked drawer opens it and latches tamper; 0xA5A5 acknowledges it."""
    assert sim.ok("force 4")["result"] == "forced"
    assert modbus.read_discrete_inputs(4, count=1, device_id=BOARD).bits[0] is False
    assert modbus.read_input_registers(0, count=1, device_id=BOARD).registers[0] == 0x03
    assert not modbus.write_register(0x0000, 0xA5A5, device_id=BOARD).isError()
    assert modbus.read_input_registers(0, count=1, device_id=BOARD).registers[0] == 0x01


def test_the_board_relocks_by_itself_when_the_pulse_ends(
    sim: SimProcess, modbus: ModbusTcpClient
) -> None:
    """An 800 ms release is over 800 ms later: coil off, bolt out, drawer refuses to open."""
    modbus.write_register(0x0101, 800, device_id=BOARD)
    assert modbus.read_coils(1, count=1, device_id=BOARD).bits[0] is True
    time.sleep(0.9)
    assert modbus.read_coils(1, count=1, device_id=BOARD).bits[0] is False
    assert modbus.read_discrete_inputs(0x0101, count=1, device_id=BOARD).bits[0] is True
    assert modbus.read_holding_registers(0x0101, count=1, device_id=BOARD).registers[0] == 0
    assert not sim.send("open 1")["ok"]


def test_relock_all_and_the_board_refusals(sim: SimProcess, modbus: ModbusTcpClient) -> None:
    """0xA5A5 relocks everything; another value, a lock coil write, a bad address are refused."""
    modbus.write_register(0x0100, 5000, device_id=BOARD)
    modbus.write_register(0x0105, 5000, device_id=BOARD)
    bad = modbus.write_register(0x0000, 0x1234, device_id=BOARD)
    assert bad.isError() and bad.exception_code == 3
    assert modbus.read_coils(0, count=6, device_id=BOARD).bits[:6] == [1, 0, 0, 0, 0, 1]
    modbus.write_register(0x0000, 0xA5A5, device_id=BOARD)
    assert modbus.read_coils(0, count=6, device_id=BOARD).bits[:6] == [0] * 6
    mirror = modbus.write_coil(3, True, device_id=BOARD)
    assert mirror.isError() and mirror.exception_code == 2
    assert modbus.read_input_registers(0x0050, count=1, device_id=BOARD).isError()


def test_guide_lights_are_coils_per_pocket(sim: SimProcess, modbus: ModbusTcpClient) -> None:
    """Coil 0x1000 + 32·d + p lights drawer d pocket p, and the simulator sees it."""
    assert not modbus.write_coil(0x1000 + 32 * 3 + 6, True, device_id=BOARD).isError()
    assert modbus.read_coils(0x1000 + 32 * 3, count=8, device_id=BOARD).bits[6] is True
    assert sim.drawer(3)["pockets"][6]["light"] is True


def test_a_pockets_weight_is_stable_only_after_it_settles(
    sim: SimProcess, modbus: ModbusTcpClient
) -> None:
    """Ten tablets of 2.50 g read 2500 cg once settled; a take swings it until it settles."""
    sim.ok("load 3 4 10 250")
    time.sleep(0.3)
    assert cell_status(modbus, 13, 4) & 1
    assert abs(weight(modbus, 13, 4) - 2500) <= 1
    modbus.write_register(0x0103, 5000, device_id=BOARD)
    sim.ok("open 3")
    sim.ok("settle 1.0")  # long enough to read the swing even on a loaded machine
    sim.ok("take 3 4 2")
    assert cell_status(modbus, 13, 4) & 1 == 0
    time.sleep(1.1)
    assert cell_status(modbus, 13, 4) & 1
    assert abs(weight(modbus, 13, 4) - 2000) <= 1


def test_tare_zeroes_a_pocket(sim: SimProcess, modbus: ModbusTcpClient) -> None:
    """Writing 1 to 0x0200 + p zeroes that pocket's reading."""
    sim.ok("load 0 1 4 500")
    time.sleep(0.3)
    assert not modbus.write_register(0x0201, 1, device_id=10).isError()
    assert abs(weight(modbus, 10, 1)) <= 1


def test_an_absent_unit_is_reported_by_the_gateway(
    sim: SimProcess, modbus: ModbusTcpClient
) -> None:
    """A unit that is not on the bus answers exception 0x0B (target failed to respond)."""
    rr = modbus.read_input_registers(0, count=2, device_id=42)
    assert rr.isError() and rr.exception_code == 0x0B


def test_an_hx711_drawer_answers_the_transmitter_map(tmp_path: Path) -> None:
    """A drawer configured hx711 has one transmitter per pocket with status 0x0802 when stable."""
    config = tmp_path / "cabinet.toml"
    config.write_text(
        "[[drawers]]\nindex = 0\npockets = 2\n"
        "[[drawers]]\nindex = 1\npockets = 2\nscale_profile = 'hx711'\nscale_unit = 30\n"
    )
    with running_sim(tmp_path, "--config", str(config)) as sim:
        sim.ok("load 1 1 3 4400")
        time.sleep(0.3)
        client = ModbusTcpClient("127.0.0.1", port=sim.modbus_port, timeout=1, retries=0)
        client.connect()
        try:
            status = client.read_holding_registers(0x0008, count=1, device_id=31).registers[0]
            regs = client.read_holding_registers(0x0050, count=4, device_id=31).registers
            assert status == 0x0802
            gross = client.convert_from_registers(regs[:2], INT32, word_order="big")
            assert isinstance(gross, int) and abs(gross - 13200) <= 1
            assert client.read_input_registers(0, count=2, device_id=31).isError()
        finally:
            client.close()


MBPOLL = shutil.which("mbpoll")


def mbpoll(port: int, *args: str) -> str:
    """Run mbpoll once against the simulator and return its output."""
    assert MBPOLL, "Debian's mbpoll is required (make system-deps)"
    cmd = [MBPOLL, "-m", "tcp", "-p", str(port), "-0", "-1", "-o", "2", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=True)
    return out.stdout


@pytest.mark.parametrize("drawer", [5])
def test_mbpoll_reads_a_sensor_and_a_weight_and_releases_a_lock(
    sim: SimProcess, drawer: int
) -> None:
    """mbpoll reads drawer 5's closed sensor and a pocket's weight, and releases its lock."""
    port = sim.modbus_port
    sim.ok(f"load {drawer} 7 8 1234")
    assert "[5]: \t1" in mbpoll(port, "-a", "1", "-t", "1", "-r", str(drawer), "127.0.0.1")
    time.sleep(0.3)
    out = mbpoll(port, "-a", str(10 + drawer), "-t", "3:int", "-B", "-r", "14", "127.0.0.1")
    value = int(out.split("[14]:")[1].split()[0])
    assert abs(value - 8 * 1234) <= 1
    mbpoll(port, "-a", "1", "-t", "4", "-r", str(0x0100 + drawer), "127.0.0.1", "4000")
    assert f"[{drawer}]: \t1" in mbpoll(port, "-a", "1", "-t", "0", "-r", str(drawer), "127.0.0.1")
    assert sim.ok(f"open {drawer}")["result"] == "opened"
    assert "[5]: \t0" in mbpoll(port, "-a", "1", "-t", "1", "-r", str(drawer), "127.0.0.1")


def test_a_slot_without_a_drawer_reads_shut_and_cannot_be_released(tmp_path: Path) -> None:
    """Drawers 0 and 3 only: slots 1 and 2 read closed and bolted; releasing one is refused."""
    config = tmp_path / "cabinet.toml"
    config.write_text("[[drawers]]\nindex = 0\npockets = 2\n[[drawers]]\nindex = 3\npockets = 2\n")
    with running_sim(tmp_path, "--config", str(config)) as sim:
        client = ModbusTcpClient("127.0.0.1", port=sim.modbus_port, timeout=1, retries=0)
        client.connect()
        try:
            assert client.read_discrete_inputs(0, count=4, device_id=BOARD).bits[:4] == [1] * 4
            bolts = client.read_discrete_inputs(0x0100, count=4, device_id=BOARD).bits[:4]
            assert bolts == [1] * 4
            refused = client.write_register(0x0101, 1000, device_id=BOARD)
            assert refused.isError() and refused.exception_code == 2
            assert not client.write_register(0x0103, 1000, device_id=BOARD).isError()
        finally:
            client.close()
