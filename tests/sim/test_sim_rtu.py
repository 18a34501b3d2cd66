"""The simulator over Modbus RTU: on a socat pty pair, on its own pty pair, and with a bad CRC."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time
import tty
from pathlib import Path

from pymodbus.client import ModbusSerialClient

from tests.sim.simproc import SimProcess, running_sim

MBPOLL = shutil.which("mbpoll")


def crc16(frame: bytes) -> bytes:
    """The Modbus RTU CRC (polynomial 0xA001, low byte first)."""
    crc = 0xFFFF
    for byte in frame:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc.to_bytes(2, "little")


def client_on(path: str) -> ModbusSerialClient:
    """A plain pymodbus RTU client at the cabinet's 115200 8N1."""
    c = ModbusSerialClient(path, baudrate=115200, bytesize=8, parity="N", stopbits=1,
                           timeout=0.5, retries=0)  # fmt: skip
    assert c.connect()
    return c


def exercise(sim: SimProcess, client: ModbusSerialClient) -> None:
    """Read a sensor and a weight, release a lock and see the drawer become openable."""
    sim.ok("load 1 2 6 300")
    assert client.read_discrete_inputs(1, count=1, device_id=1).bits[0] is True
    time.sleep(0.3)
    regs = client.read_input_registers(4, count=2, device_id=11).registers
    value = client.convert_from_registers(regs, client.DATATYPE.INT32)
    assert isinstance(value, int) and abs(value - 1800) <= 1
    assert not client.write_register(0x0101, 2000, device_id=1).isError()
    assert sim.ok("open 1")["result"] == "opened"
    assert client.read_discrete_inputs(1, count=1, device_id=1).bits[0] is False


def test_rtu_on_a_socat_pty_pair(tmp_path: Path, pty_pair: tuple[str, str]) -> None:
    """Served on one end of a socat pair, driven from the other by pymodbus and mbpoll."""
    sim_side, host_side = pty_pair
    with running_sim(tmp_path, "--modbus", "rtu", "--serial", sim_side) as sim:
        assert sim.endpoints["modbus"]["device"] == sim_side
        client = client_on(host_side)
        try:
            exercise(sim, client)
        finally:
            client.close()
        assert MBPOLL, "Debian's mbpoll is required (make system-deps)"
        out = subprocess.run(
            [MBPOLL, "-m", "rtu", "-b", "115200", "-P", "none", "-a", "1", "-0", "-1",
             "-t", "3:hex", "-r", "0", "-c", "2", host_side],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout  # fmt: skip
        assert "[0]: \t0x0001" in out and "[1]: \t0x0103" in out


def test_rtu_on_the_simulators_own_pty_pair(tmp_path: Path) -> None:
    """Without --serial the simulator makes its own pair and announces the client's end."""
    with running_sim(tmp_path, "--modbus", "rtu") as sim:
        host_side = sim.endpoints["modbus"]["client_device"]
        assert host_side.startswith("/dev/pts/")
        client = client_on(host_side)
        try:
            exercise(sim, client)
        finally:
            client.close()


def raw_request(fd: int, frame: bytes) -> bytes:
    """Send a request frame with its CRC and collect the raw answer."""
    os.write(fd, frame + crc16(frame))
    answer = b""
    deadline = time.monotonic() + 1.0
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], min(left, 0.1))
        if ready:
            answer += os.read(fd, 256)
        elif answer:
            break
    return answer


def test_a_corrupt_crc_fault_spoils_the_answers_frame(tmp_path: Path) -> None:
    """crc: the board's answer arrives with a wrong CRC; after clear it is right again."""
    with running_sim(tmp_path, "--modbus", "rtu") as sim:
        fd = os.open(sim.endpoints["modbus"]["client_device"], os.O_RDWR | os.O_NOCTTY)
        tty.setraw(fd)
        try:
            request = bytes([1, 4, 0, 0, 0, 1])
            good = raw_request(fd, request)
            assert good[:5] == bytes([1, 4, 2, 0, 1]) and good[5:] == crc16(good[:5])
            sim.ok("fault crc board")
            bad = raw_request(fd, request)
            assert bad[:5] == good[:5] and bad[5:] != crc16(bad[:5])
            sim.ok("clear")
            assert raw_request(fd, request) == good
        finally:
            os.close(fd)


def test_an_absent_unit_is_silent_on_a_serial_line(tmp_path: Path) -> None:
    """On RS-485 nobody answers for a unit that is not on the bus."""
    with running_sim(tmp_path, "--modbus", "rtu") as sim:
        fd = os.open(sim.endpoints["modbus"]["client_device"], os.O_RDWR | os.O_NOCTTY)
        tty.setraw(fd)
        try:
            assert raw_request(fd, bytes([42, 4, 0, 0, 0, 1])) == b""
        finally:
            os.close(fd)


def test_an_hx711_transmitter_answers_like_the_reference_frames(tmp_path: Path) -> None:
    """Literal RTU frames to an hx711 pocket: status 0x0802, weight 132, net −15889."""
    config = tmp_path / "cabinet.toml"
    config.write_text(
        "[[drawers]]\nindex = 0\npockets = 1\nscale_profile = 'hx711'\nscale_unit = 40\n"
    )
    with running_sim(tmp_path, "--modbus", "rtu", "--config", str(config), "--noise", "0") as sim:
        sim.ok("load 0 0 1 132")
        time.sleep(0.3)
        fd = os.open(sim.endpoints["modbus"]["client_device"], os.O_RDWR | os.O_NOCTTY)
        tty.setraw(fd)
        try:
            status = raw_request(fd, bytes.fromhex("28 03 00 08 00 01"))
            assert status[:-2].hex(" ") == "28 03 02 08 02"
            assert status[-2:] == crc16(status[:-2])
            gross = raw_request(fd, bytes.fromhex("28 03 00 50 00 02"))
            assert gross[:-2].hex(" ") == "28 03 04 00 00 00 84"
            both = raw_request(fd, bytes.fromhex("28 03 00 50 00 04"))
            assert both[:-2].hex(" ") == "28 03 08 00 00 00 84 00 00 00 84"
            # The reference net frame: tared on 160.21 g, now carrying 1.32 g.
            sim.ok("load 0 0 1 16021")
            sim.ok("tare 0 0")
            sim.ok("load 0 0 1 132")
            time.sleep(0.3)
            net = raw_request(fd, bytes.fromhex("28 03 00 52 00 02"))
            assert net[:-2].hex(" ") == "28 03 04 ff ff c1 ef"
            assert net[-2:] == crc16(net[:-2])
        finally:
            os.close(fd)
