"""Runs the hardware simulator: Modbus server, scanner, control port, console and scenario."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pymodbus.server import ModbusSerialServer, ModbusTcpServer

from sim.hardware.bus import Bus
from sim.hardware.commands import execute, run_scenario
from sim.hardware.context import SimContext
from sim.hardware.layout import load_layout
from sim.hardware.model import Cabinet
from sim.hardware.ptybridge import PtyBridge
from sim.hardware.scanner import TERMINATORS, Scanner
from sim.hardware.state import summary


@dataclass(frozen=True, kw_only=True)
class Options:
    """Everything `cabinet-sim hardware` can be told on its command line."""

    config: Path | None = None
    modbus: str = "tcp"
    host: str | None = None
    port: int | None = None
    serial: str | None = None
    baudrate: int = 115200
    scanner: str = "pty"
    scanner_host: str = "127.0.0.1"
    scanner_port: int = 0
    terminator: str = "cr"
    control_host: str = "127.0.0.1"
    control_port: int = 0
    scenario: Path | None = None
    console: bool = True
    ready_file: Path | None = None
    settle_s: float = 0.3
    noise_cg: int = 1
    seed: int | None = None
    stock_demo: bool = False


def say(text: str) -> None:
    """Print a line for the technician, at once (stdout may be a pipe)."""
    print(text, flush=True)


def render(reply: dict[str, Any]) -> str:
    """A reply as the console shows it: readable text rather than raw JSON."""
    if not reply["ok"]:
        return f"error: {reply['error']}"
    result = reply["result"]
    if reply["command"] == "status":
        return summary(result)
    if isinstance(result, str):
        return result
    return "ok" if result is None else json.dumps(result)


async def _control_client(
    ctx: SimContext, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """One control connection: a command per line in, a JSON reply per line out."""
    try:
        while line := await reader.readline():
            reply = await execute(ctx, line.decode("utf-8", errors="replace"))
            writer.write(json.dumps(reply, default=str).encode() + b"\n")
            await writer.drain()
    except ValueError:
        # A line longer than the stream limit: say so and hang up rather than guess.
        writer.write(json.dumps({"ok": False, "error": "line too long"}).encode() + b"\n")
    except ConnectionError:
        pass
    finally:
        writer.close()


async def _console(ctx: SimContext) -> None:
    """The interactive console on stdin; at end of input the simulator keeps serving."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()

    def pump() -> None:
        """Read stdin on a daemon thread: a blocked read never holds up the exit."""
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        loop.call_soon_threadsafe(lines.put_nowait, None)

    threading.Thread(target=pump, name="console-stdin", daemon=True).start()
    say("technician console ready: type help")
    while (line := await lines.get()) is not None:
        if line.strip():
            say(render(await execute(ctx, line)))
        if ctx.stop.is_set():
            return
    say("console input closed; the simulator keeps serving (control port or signal to stop)")


async def _scenario(ctx: SimContext, path: Path) -> bool:
    """Run a scenario beside the servers (a signal still stops everything) and say how it ended."""
    ok = await run_scenario(ctx, path, say)
    say(f"scenario {path}: {'done' if ok else 'stopped on an error'}")
    return ok


def _bound_port(server: ModbusTcpServer) -> int:
    """The port the Modbus TCP listener really bound (the system picks one for port 0)."""
    listener = server.transport
    if not isinstance(listener, asyncio.Server):
        raise RuntimeError("the Modbus TCP server is not listening")
    return int(listener.sockets[0].getsockname()[1])


def _write_ready(path: Path, endpoints: dict[str, Any]) -> None:
    """Write the endpoints atomically so a poller never reads half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(endpoints, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


async def run(opts: Options) -> int:
    """Serve until quit or a signal; return the exit status."""
    layout = load_layout(opts.config)
    cabinet = Cabinet(layout, settle_s=opts.settle_s, noise_cg=opts.noise_cg, seed=opts.seed)
    bus = Bus(cabinet, transport=opts.modbus)
    scanner = Scanner(terminator=TERMINATORS[opts.terminator], rng=random.Random(opts.seed))
    ctx = SimContext(cabinet=cabinet, bus=bus, scanner=scanner)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, ctx.stop.set)
    bridge = PtyBridge()
    server: ModbusTcpServer | ModbusSerialServer | None = None
    control: asyncio.Server | None = None
    tasks: list[asyncio.Task[Any]] = []
    status = 0
    try:
        if opts.modbus == "tcp":
            host, port = opts.host or layout.host, layout.port if opts.port is None else opts.port
            server = ModbusTcpServer(
                bus.devices(), address=(host, port), ignore_missing_devices=True,
                trace_packet=bus.trace_packet,
            )  # fmt: skip
            await server.serve_forever(background=True)
            bound = _bound_port(server)
            ctx.endpoints["modbus"] = {"transport": "tcp", "host": host, "port": bound}
        else:
            device, peer = (opts.serial, None) if opts.serial else bridge.open()
            server = ModbusSerialServer(
                bus.devices(), port=device, baudrate=opts.baudrate, ignore_missing_devices=True,
                trace_packet=bus.trace_packet,
            )  # fmt: skip
            await server.serve_forever(background=True)
            ctx.endpoints["modbus"] = {
                "transport": "rtu", "device": device, "client_device": peer or device,
                "baudrate": opts.baudrate, "parity": "N", "bytesize": 8, "stopbits": 1,
            }  # fmt: skip
        if opts.scanner == "pty":
            ctx.endpoints["scanner"] = {"transport": "pty", "path": scanner.open_pty()}
        else:
            sport = await scanner.open_tcp(opts.scanner_host, opts.scanner_port)
            ctx.endpoints["scanner"] = {
                "transport": "tcp",
                "host": opts.scanner_host,
                "port": sport,
            }
        ctx.endpoints["scanner"]["terminator"] = opts.terminator
        control = await asyncio.start_server(
            lambda r, w: _control_client(ctx, r, w), opts.control_host, opts.control_port
        )
        cport = control.sockets[0].getsockname()[1]
        ctx.endpoints["control"] = {"host": opts.control_host, "port": cport}
        ctx.endpoints["pid"] = os.getpid()
        if opts.stock_demo:
            stocked = await execute(ctx, "stock-demo")
            say(f"demo stock loaded in {len(stocked['result']['loaded'])} pockets")
        say("READY " + json.dumps(ctx.endpoints))
        if opts.ready_file is not None:
            _write_ready(opts.ready_file, ctx.endpoints)
        if opts.console:
            tasks.append(asyncio.create_task(_console(ctx)))
        scenario = None
        if opts.scenario is not None:
            scenario = asyncio.create_task(_scenario(ctx, opts.scenario))
            tasks.append(scenario)
        await ctx.stop.wait()
        if scenario is not None and scenario.done() and not scenario.cancelled():
            status = 0 if scenario.result() else 1
    finally:
        for task in tasks:
            task.cancel()
        if control is not None:
            control.close()
        if server is not None:
            with contextlib.suppress(Exception):
                await server.shutdown()  # type: ignore[no-untyped-call]
        await scanner.close()
        bridge.close()
    return status
