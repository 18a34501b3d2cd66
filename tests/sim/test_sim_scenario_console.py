"""Scenario files, the technician console and the control port all speak the same commands."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from pymodbus.client import ModbusTcpClient

from sim.hardware.client import AsyncControl, CommandFailed
from tests.sim.simproc import ROOT, SIM, SimProcess, running_sim, stop, wait_ready

SCENARIO = """\
# A restock of drawer 1 pocket 3, then a dispense of two ampoules.
load 1 3 0 150
release 1 5000
open 1
put 1 3 10   # the technician loads ten ampoules
close 1
release 1 5000
open 1
take 1 3 2
close 1
wait 0.3
"""


def test_a_scenario_file_runs_and_leaves_the_cabinet_as_scripted(tmp_path: Path) -> None:
    """The scripted restock and dispense leave 8 ampoules, settled, drawer closed and locked."""
    script = tmp_path / "dispense.scn"
    script.write_text(SCENARIO)
    with running_sim(tmp_path, "--scenario", str(script)) as sim:
        deadline = time.monotonic() + 10
        while sim.drawer(1)["pockets"][3]["count"] != 8 or not sim.drawer(1)["closed"]:
            assert time.monotonic() < deadline, "the scenario did not finish"
            time.sleep(0.05)
        time.sleep(0.3)
        client = ModbusTcpClient("127.0.0.1", port=sim.modbus_port, timeout=1, retries=0)
        client.connect()
        try:
            regs = client.read_input_registers(6, count=2, device_id=11).registers
            status = client.read_input_registers(0x0103, count=1, device_id=11).registers[0]
        finally:
            client.close()
        value = client.convert_from_registers(regs, client.DATATYPE.INT32)
        assert isinstance(value, int) and abs(value - 8 * 150) <= 1
        assert status & 1


def test_a_failing_scenario_line_is_named_and_stops_the_script(tmp_path: Path) -> None:
    """A refused step stops the scenario with its file and line; the exit status says so."""
    script = tmp_path / "bad.scn"
    script.write_text("load 0 0 5 100\nopen 0\nload 0 1 5 100\n")
    with running_sim(tmp_path, "--scenario", str(script)) as sim:
        deadline = time.monotonic() + 10
        while sim.proc.poll() is None and time.monotonic() < deadline:
            if sim.drawer(0)["pockets"][0]["count"] == 5:
                break
            time.sleep(0.05)
        time.sleep(0.2)
        assert sim.drawer(0)["pockets"][1]["count"] == 0, "the script stopped at line 2"
        stop(sim.proc)
        assert sim.proc.returncode == 1
        assert sim.log is not None
        out = sim.log.read_text()
    assert "bad.scn:2: open 0 -> drawer 0 does not open: it is locked" in out


def test_the_console_answers_help_on_stdin(tmp_path: Path) -> None:
    """help lists every command; status reads the cabinet; quit stops the simulator."""
    ready = tmp_path / "ready.json"
    proc = subprocess.Popen(
        [*SIM, "--port", "0", "--ready-file", str(ready), "--console"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        wait_ready(proc, ready)
        out, _ = proc.communicate("help\nstatus\nopen 0\nquit\n", timeout=20)
    finally:
        stop(proc)
    assert proc.returncode == 0
    for usage in ("open D", "take D P N", "scan-pack GTIN LOT EXPIRY SERIAL", "badge CODE",
                  "wristband IPP", "fault KIND", "clear", "quit"):  # fmt: skip
        assert usage in out, usage
    assert "drawer 6 (return_bin): closed, locked" in out
    assert "error: drawer 0 does not open: it is locked" in out


def test_the_control_port_refuses_bad_lines_and_changes_nothing(sim: SimProcess) -> None:
    """Unknown commands, wrong arguments and impossible moves each get a clear error."""
    before = sim.ok("status")
    for line, error in [
        ("dance", "unknown command"),
        ("take 0 0", "usage: take D P N"),
        ("take 0 0 1", "closed"),
        ("load 0 99 1 100", "pockets 0..7"),
        ("open 12", "no drawer 12"),
        ("scan-pack 123 LOT 140500 S", "GTIN"),
        ('scan "unclosed', "cannot read the line"),
    ]:
        reply = sim.send(line)
        assert not reply["ok"] and error in reply["error"], (line, reply)
    after = sim.ok("status")
    for b, a in zip(before["drawers"], after["drawers"], strict=True):
        assert [p["count"] for p in b["pockets"]] == [p["count"] for p in a["pockets"]]
        assert a["closed"] and not a["released"]


def test_the_control_port_reports_writes_seen_on_the_wire(
    sim: SimProcess, modbus: ModbusTcpClient
) -> None:
    """events lists each accepted write with its time, so latency can be measured outside."""
    seen = max((e["seq"] for e in sim.ok("events 0")), default=0)
    before = time.time()
    modbus.write_register(0x0104, 1500, device_id=1)
    refused = modbus.write_register(0x0000, 0x1111, device_id=1)
    assert refused.isError()
    events = sim.ok(f"events {seen}")
    assert len(events) == 1, "a refused write is not an event"
    e = events[0]
    assert (e["unit"], e["table"], e["address"], e["values"]) == (1, "holding", 0x0104, [1500])
    assert before <= e["at"] <= time.time()
    assert sim.ok(f"events {e['seq']}") == []


def test_reset_returns_the_cabinet_to_power_on(sim: SimProcess) -> None:
    """After loads, a forced drawer and faults, reset leaves it closed, locked, empty, healthy."""
    sim.ok("load 2 2 5 100")
    sim.ok("force 2")
    sim.ok("fault stuck-lock 3")
    sim.ok("fault slow board 50")
    sim.ok("settle 5")
    sim.ok("reset")
    assert sim.ok("settle") == {"settle_s": 0.2}, "back to the --settle given at start"
    state = sim.ok("status")
    assert state["board"] == {"alive": True, "tamper": False, "power_fault": False}
    assert state["bus_faults"] == {}
    for d in state["drawers"]:
        assert d["closed"] and not d["released"] and not d["stuck"]
        assert all(p["count"] == 0 for p in d["pockets"])


def test_stock_demo_fills_the_planned_pockets(sim: SimProcess) -> None:
    """stock-demo loads the demo pocket plan: planned pockets hold stock, free ones stay empty."""
    loaded = sim.ok("stock-demo")["loaded"]
    assert len(loaded) > 20
    d, p, n, _code = loaded[0]
    pocket = sim.drawer(d)["pockets"][p]
    assert pocket["count"] == n > 0 and pocket["unit_cg"] > 0
    assert sim.drawer(6)["pockets"][0]["count"] == 0, "the return bin starts empty"


async def test_the_async_control_client_drives_the_simulator(sim: SimProcess) -> None:
    """AsyncControl sends commands from an event loop and raises on a refusal."""
    ctl = sim.endpoints["control"]
    client = await AsyncControl.connect(ctl["host"], ctl["port"])
    try:
        assert (await client.ok("load 4 1 3 900"))["count"] == 3
        with pytest.raises(CommandFailed, match="locked"):
            await client.ok("open 4")
    finally:
        await client.close()


SHIPPED = sorted((ROOT / "sim" / "hardware" / "scenarios").glob("*.scn"))


@pytest.mark.slow
@pytest.mark.parametrize("script", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_scenario_runs_to_the_end(tmp_path: Path, script: Path) -> None:
    """The example scenarios a technician is pointed to run without a refused line."""
    with running_sim(tmp_path, "--scenario", str(script)) as sim:
        assert sim.log is not None
        deadline = time.monotonic() + 60
        while "scenario " not in (text := sim.log.read_text()):
            assert time.monotonic() < deadline, text
            time.sleep(0.1)
        assert f"scenario {script}: done" in text, text


def test_a_signal_stops_the_simulator_in_the_middle_of_a_scenario(tmp_path: Path) -> None:
    """SIGTERM during a long wait of a scenario stops the simulator at once."""
    script = tmp_path / "long.scn"
    script.write_text("load 0 0 1 100\nwait 60\nload 0 1 1 100\n")
    with running_sim(tmp_path, "--scenario", str(script)) as sim:
        time.sleep(0.3)
        start = time.monotonic()
        stop(sim.proc)
        assert time.monotonic() - start < 3
        assert sim.proc.returncode == 0
