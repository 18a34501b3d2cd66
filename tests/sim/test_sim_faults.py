"""Every injected fault is observable from outside: on the Modbus wire or the scanner's pty."""

from __future__ import annotations

import os
import random
import select
import socket
import time
import tty
from collections.abc import Iterator

import pytest
from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ModbusIOException

from tests.sim.simproc import SimProcess

BOARD = 1
GS = b"\x1d"


def board_status(client: ModbusTcpClient) -> int:
    """The board status register."""
    rr = client.read_input_registers(0, count=1, device_id=BOARD)
    assert not rr.isError(), rr
    return int(rr.registers[0])


def test_a_device_that_stops_answering_times_out_then_recovers(
    sim: SimProcess, modbus: ModbusTcpClient
) -> None:
    """no-answer: the scale of drawer 2 is silent (timeout) while the board still answers."""
    sim.ok("fault no-answer scale 2")
    with pytest.raises(ModbusIOException):
        modbus.read_input_registers(0, count=2, device_id=12)
    modbus.close()
    assert modbus.connect()
    assert board_status(modbus) & 1
    sim.ok("clear")
    assert not modbus.read_input_registers(0, count=2, device_id=12).isError()


def test_a_slow_device_answers_late(sim: SimProcess, modbus: ModbusTcpClient) -> None:
    """slow: the board's answer takes at least the injected delay."""
    sim.ok("fault slow board 300")
    start = time.monotonic()
    assert board_status(modbus) & 1
    assert time.monotonic() - start >= 0.29


@pytest.mark.parametrize("code", [4, 6])
def test_a_device_answers_with_a_modbus_exception(
    sim: SimProcess, modbus: ModbusTcpClient, code: int
) -> None:
    """exception: reads and writes get the injected exception code."""
    sim.ok(f"fault exception board {code}")
    rr = modbus.read_discrete_inputs(0, count=7, device_id=BOARD)
    assert rr.isError() and rr.exception_code == code
    wr = modbus.write_register(0x0100, 1000, device_id=BOARD)
    assert wr.isError() and wr.exception_code == code
    assert not sim.drawer(0)["released"], "a refused write changes nothing"


def test_a_stuck_lock_is_energised_but_never_lets_go(
    sim: SimProcess, modbus: ModbusTcpClient
) -> None:
    """stuck-lock: after a release the coil is on but the bolt stays out; pulling is refused."""
    sim.ok("fault stuck-lock 1")
    modbus.write_register(0x0101, 3000, device_id=BOARD)
    assert modbus.read_coils(1, count=1, device_id=BOARD).bits[0] is True
    assert modbus.read_discrete_inputs(0x0101, count=1, device_id=BOARD).bits[0] is True
    reply = sim.send("open 1")
    assert not reply["ok"] and "stuck" in reply["error"]
    assert modbus.read_discrete_inputs(1, count=1, device_id=BOARD).bits[0] is True


def test_load_cell_faults_show_in_the_status_bits(sim: SimProcess, modbus: ModbusTcpClient) -> None:
    """unstable never sets stable; drift creeps while claiming stable; failed sets the fault bit."""
    for p in range(3):
        sim.ok(f"load 0 {p} 10 100")
    sim.ok("fault unstable 0 0")
    sim.ok("fault drift 0 1 200")
    sim.ok("fault cell-failed 0 2")
    time.sleep(0.3)
    status = modbus.read_input_registers(0x0100, count=3, device_id=10).registers
    assert status[0] & 1 == 0
    assert status[1] & 1 == 1
    assert status[2] & 0b101 == 0b100
    first = modbus.read_input_registers(2, count=2, device_id=10).registers
    time.sleep(0.3)
    later = modbus.read_input_registers(2, count=2, device_id=10).registers
    grow = modbus.convert_from_registers(later, modbus.DATATYPE.INT32)
    base = modbus.convert_from_registers(first, modbus.DATATYPE.INT32)
    assert isinstance(grow, int) and isinstance(base, int)
    assert grow - base >= 40, "a drifting cell keeps creeping"


def test_a_board_reboot_drops_alive_and_relocks(sim: SimProcess, modbus: ModbusTcpClient) -> None:
    """reboot: alive bit 0 and locks relocked; writes refused as busy; alive again afterwards."""
    modbus.write_register(0x0102, 8000, device_id=BOARD)
    sim.ok("fault reboot 1.5")
    assert board_status(modbus) & 1 == 0
    assert modbus.read_coils(2, count=1, device_id=BOARD).bits[0] is False
    busy = modbus.write_register(0x0102, 1000, device_id=BOARD)
    assert busy.isError() and busy.exception_code == 6
    time.sleep(1.6)
    assert board_status(modbus) & 1 == 1
    assert modbus.read_coils(2, count=1, device_id=BOARD).bits[0] is False


def test_an_unknown_fault_or_target_changes_nothing(sim: SimProcess) -> None:
    """Bad fault commands are refused with their usage and leave the bus healthy."""
    for line in ("fault melt board", "fault slow board", "fault no-answer unit 99",
                 "fault crc board", "fault drift 0 0 fast", "fault unstable 9 0"):  # fmt: skip
        reply = sim.send(line)
        assert not reply["ok"], line
    assert sim.ok("status")["bus_faults"] == {}


@pytest.fixture
def scanner_port(sim: SimProcess) -> Iterator[int]:
    """The host's end of the scanner pty, opened raw like a serial port."""
    fd = os.open(sim.scanner_path, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    try:
        yield fd
    finally:
        os.close(fd)


def read_for(fd: int, seconds: float = 0.3) -> bytes:
    """Everything the scanner sends within a short window."""
    data = b""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            data += os.read(fd, 4096)
    return data


def test_scanner_reads_carry_an_aim_prefix_and_a_cr(sim: SimProcess, scanner_port: int) -> None:
    """A pack, a badge and a wristband each arrive as one AIM-prefixed, CR-ended read."""
    sim.ok("scan-pack 3400933816759 B04059A 140500 SERIAL1")
    sim.ok("badge NURSE-0042")
    sim.ok("wristband 80012345")
    assert read_for(scanner_port) == (
        b"]d201034009338167591714050010B04059A" + GS + b"21SERIAL1\r"
        b"]C0B:NURSE-0042\r]C0P:80012345\r"
    )


def test_scanner_faults_garbage_missing_terminator_and_missing_gs(
    sim: SimProcess, scanner_port: int
) -> None:
    """Garbage bytes, a read with no terminator, and a pack whose lot swallows its serial."""
    junk = bytes.fromhex(sim.ok("fault scanner-garbage 24")["sent_hex"])
    assert read_for(scanner_port) == junk + b"\r"
    sim.ok("fault no-terminator 12345")
    assert read_for(scanner_port) == b"]C012345"
    sim.ok("fault missing-gs 03400933816759 B04059A 140500 SERIAL1")
    assert read_for(scanner_port) == b"]d201034009338167591714050010B04059A21SERIAL1\r"


def test_a_power_fault_sets_its_status_bit_until_clear(
    sim: SimProcess, modbus: ModbusTcpClient
) -> None:
    """power: status bit 2 is set on the wire; clear drops it."""
    sim.ok("fault power")
    assert board_status(modbus) == 0b101
    sim.ok("clear")
    assert board_status(modbus) == 0b001


def test_garbage_on_the_modbus_port_does_not_take_the_simulator_down(sim: SimProcess) -> None:
    """Random bytes on a Modbus TCP connection: the next client is still answered."""
    rng = random.Random(5)
    for _ in range(5):
        with socket.create_connection(("127.0.0.1", sim.modbus_port), timeout=2) as s:
            s.sendall(bytes(rng.randrange(256) for _ in range(300)))
            time.sleep(0.05)
    client = ModbusTcpClient("127.0.0.1", port=sim.modbus_port, timeout=1, retries=0)
    assert client.connect()
    try:
        assert board_status(client) & 1
    finally:
        client.close()


def test_scanner_garbage_is_one_read_whatever_the_bytes(sim: SimProcess, scanner_port: int) -> None:
    """Garbage never holds CR or LF, so it is exactly one read however long it is."""
    junk = bytes.fromhex(sim.ok("fault scanner-garbage 4096")["sent_hex"])
    assert b"\r" not in junk and b"\n" not in junk
    data = b""
    while len(data) < len(junk) + 1:
        chunk = read_for(scanner_port, 0.5)
        assert chunk, "the scanner stopped sending"
        data += chunk
    assert data == junk + b"\r"
