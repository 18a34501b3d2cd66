"""Modbus transport: one pymodbus client per bus, with timeouts, bounded retries and device health.

This is the only module that sees pymodbus errors: each one is mapped here, once, into the
`hal` error tree. Above this layer nothing knows which library carries the frames.

- A timeout, a lost connection or a frame dropped for a bad CRC (pymodbus drops it and the
  request times out) is a `hal.TransientHardwareError`, retried up to `retries` times.
- An exception response, a reply of the wrong length or of the wrong kind is a
  `hal.ProtocolError`: the device is alive but says something we cannot use.
- A port that cannot exist (bad path, bad parameters) is a `hal.PermanentHardwareError`.
- After `down_after` consecutive failed requests a unit is marked down: every failure then
  raises `hal.DeviceDown`, and requests to it are tried once only (no retries) so that one dead
  device cannot starve the rest of an RS-485 bus. Its first good answer marks it up again.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from pymodbus import FramerType
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusIOException
from pymodbus.pdu import ModbusPDU

from drivers.modbus.answers import (
    ProtocolFault,
    TransientFault,
    bits_of,
    checked,
    fault_from,
    no_payload,
    registers_of,
)
from hal import DeviceDown, PermanentHardwareError, ProtocolError, TransientHardwareError

T = TypeVar("T")
Client = AsyncModbusTcpClient | AsyncModbusSerialClient


@dataclass
class UnitHealth:
    """Consecutive failures of one Modbus unit and whether it is marked down."""

    name: str
    failures: int = 0
    down: bool = False


class ModbusLink:
    """One Modbus client (a TCP connection or an RS-485 bus) shared by every unit behind it."""

    def __init__(
        self,
        client_factory: Callable[[], Client],
        *,
        name: str,
        timeout_s: float,
        retries: int,
        down_after: int,
        serial_path: str | None = None,
    ) -> None:
        if timeout_s <= 0 or retries < 0 or down_after < 1:
            raise ValueError("timeout_s must be > 0, retries >= 0 and down_after >= 1")
        self.name = name
        self.timeout_s = timeout_s
        self.retries = retries
        self.down_after = down_after
        self.serial_path = serial_path
        # pymodbus clients bind to the running loop when created: build ours at first use, so a
        # link can be configured from synchronous code (the composition root, a test).
        self._factory = client_factory
        self._client: Client | None = None
        self._health: dict[int, UnitHealth] = {}
        self._users = 0
        self._closed = False
        # RTU answers carry no transaction id: after a timeout, a late answer could be taken
        # for the answer to the next request. Waiting one more timeout before sending again
        # lets it arrive while nothing is pending, and pymodbus then drops it.
        self._serial = False
        self._quiet_until = 0.0
        # pymodbus serialises transactions itself; this lock also covers our reconnects.
        self._lock = asyncio.Lock()

    @classmethod
    def tcp(
        cls, host: str, port: int, *, timeout_s: float = 0.3, retries: int = 1, down_after: int = 3
    ) -> ModbusLink:
        """A link over Modbus TCP."""
        # pymodbus retries and reconnects are off: this class owns both, so they stay bounded.

        def client() -> AsyncModbusTcpClient:
            """A pymodbus TCP client without its own retries or reconnects."""
            return AsyncModbusTcpClient(
                host, port=port, timeout=timeout_s, retries=0, reconnect_delay=0
            )

        return cls(
            client,
            name=f"modbus-tcp://{host}:{port}",
            timeout_s=timeout_s,
            retries=retries,
            down_after=down_after,
        )

    @classmethod
    def rtu(
        cls,
        serial_port: str,
        *,
        baudrate: int = 115200,
        parity: str = "N",
        timeout_s: float = 0.3,
        retries: int = 1,
        down_after: int = 3,
    ) -> ModbusLink:
        """A link over Modbus RTU on a serial port (RS-485 adapter, or a pty in tests)."""

        def client() -> AsyncModbusSerialClient:
            """A pymodbus RTU client without its own retries or reconnects."""
            return AsyncModbusSerialClient(
                serial_port,
                framer=FramerType.RTU,
                baudrate=baudrate,
                parity=parity,
                timeout=timeout_s,
                retries=0,
                reconnect_delay=0,
            )

        return cls(
            client,
            name=f"modbus-rtu://{serial_port}",
            timeout_s=timeout_s,
            retries=retries,
            down_after=down_after,
            serial_path=serial_port,
        )

    def device_name(self, unit: int) -> str:
        """The name errors use for one unit on this link."""
        return f"{self.name}/unit{unit}"

    def is_down(self, unit: int) -> bool:
        """True while the unit is marked down."""
        health = self._health.get(unit)
        return health is not None and health.down

    def attach(self) -> None:
        """Count one more device using this link (the link closes with its last device)."""
        self._users += 1

    async def detach(self) -> None:
        """A device stops using the link; the last one closes it."""
        self._users = max(0, self._users - 1)
        if self._users == 0:
            await self.close()

    async def close(self) -> None:
        """Close the client now."""
        self._closed = True
        if self._client is not None:
            self._client.close()

    async def read_holding_registers(self, unit: int, address: int, count: int) -> list[int]:
        """FC03: read `count` holding registers."""
        return await self._request(
            unit,
            0x03,
            address,
            lambda c: c.read_holding_registers(address, count=count, device_id=unit),
            lambda r: registers_of(r, count),
        )

    async def read_input_registers(self, unit: int, address: int, count: int) -> list[int]:
        """FC04: read `count` input registers."""
        return await self._request(
            unit,
            0x04,
            address,
            lambda c: c.read_input_registers(address, count=count, device_id=unit),
            lambda r: registers_of(r, count),
        )

    async def read_coils(self, unit: int, address: int, count: int) -> list[bool]:
        """FC01: read `count` coils."""
        return await self._request(
            unit,
            0x01,
            address,
            lambda c: c.read_coils(address, count=count, device_id=unit),
            lambda r: bits_of(r, count),
        )

    async def read_discrete_inputs(self, unit: int, address: int, count: int) -> list[bool]:
        """FC02: read `count` discrete inputs."""
        return await self._request(
            unit,
            0x02,
            address,
            lambda c: c.read_discrete_inputs(address, count=count, device_id=unit),
            lambda r: bits_of(r, count),
        )

    async def write_register(self, unit: int, address: int, value: int) -> None:
        """FC06: write one holding register."""
        if not 0 <= value <= 0xFFFF:
            raise ValueError(f"register value {value} does not fit 16 bits")
        await self._request(
            unit,
            0x06,
            address,
            lambda c: c.write_register(address, value, device_id=unit),
            no_payload,
        )

    async def write_coil(self, unit: int, address: int, value: bool) -> None:
        """FC05: write one coil."""
        await self._request(
            unit,
            0x05,
            address,
            lambda c: c.write_coil(address, value, device_id=unit),
            no_payload,
        )

    async def _request(
        self,
        unit: int,
        function: int,
        address: int,
        call: Callable[[Client], Awaitable[ModbusPDU]],
        decode: Callable[[ModbusPDU], T],
    ) -> T:
        """Run one request with its timeout and retries, and keep the unit's health."""
        health = self._health.get(unit)
        if health is None:
            health = self._health[unit] = UnitHealth(name=self.device_name(unit))
        device = health.name
        if self._closed:
            raise PermanentHardwareError(device, "link is closed")
        attempts = 1 if health.down else self.retries + 1
        last: TransientFault | ProtocolFault | None = None
        for _ in range(attempts):
            try:
                response = await self._attempt(device, call)
                if response.function_code != function:
                    # On RTU nothing but the function code ties an answer to its request.
                    raise ProtocolFault(
                        device, f"answer of FC{response.function_code:02d}", retryable=True
                    )
                value = decode(response)
            except ProtocolFault as exc:
                last = exc
                if exc.retryable:
                    continue
                break
            except TransientFault as exc:
                last = exc
                continue
            health.failures = 0
            health.down = False
            return value
        assert last is not None  # the loop ran at least once and every path set it
        health.failures += 1
        if health.failures >= self.down_after:
            health.down = True
        message = f"FC{function:02d} at 0x{address:04X}: {last.reason}"
        if health.down:
            raise DeviceDown(device, f"{message} ({health.failures} consecutive failures)")
        if isinstance(last, ProtocolError):
            raise ProtocolError(device, message)
        raise TransientHardwareError(device, message)

    async def _attempt(
        self, device: str, call: Callable[[Client], Awaitable[ModbusPDU]]
    ) -> ModbusPDU:
        """One try: connect if needed, send, wait; pymodbus errors become hal errors here."""
        try:
            # The bus is taken first, outside the deadline: a request queued behind a slow one
            # waits its turn instead of failing without ever having been sent.
            async with self._lock:
                await self._wait_quiet()
                # A second bound on top of pymodbus's own: a connect or a lost frame never
                # hangs us.
                async with asyncio.timeout(self.timeout_s * 2 + 0.05):
                    client = self._live()
                    if not client.connected and not await client.connect():
                        self._refuse_missing_port(device)
                        raise TransientFault(device, "cannot connect")
                    try:
                        response = await call(client)
                    except (ModbusIOException, TimeoutError, asyncio.CancelledError):
                        # Still holding the bus: no other request can slip in before this.
                        self._quiet_until = asyncio.get_running_loop().time() + self.timeout_s
                        raise
        except (TransientFault, ProtocolFault, PermanentHardwareError):
            raise
        except Exception as exc:
            raise fault_from(device, exc) from exc
        return checked(device, response)

    def _refuse_missing_port(self, device: str) -> None:
        """A serial device path that does not exist is wiring or configuration, not bad luck."""
        path = self.serial_path
        if path is not None and "://" not in path and not os.path.exists(path):
            raise PermanentHardwareError(device, f"no such serial port {path}")

    def _live(self) -> Client:
        """The pymodbus client, created at first use inside the running loop."""
        if self._client is None:
            self._client = self._factory()
            self._serial = isinstance(self._client, AsyncModbusSerialClient)
        return self._client

    async def _wait_quiet(self) -> None:
        """On a serial bus, let a late answer to a timed-out request arrive and be dropped."""
        if self._serial:
            delay = self._quiet_until - asyncio.get_running_loop().time()
            if delay > 0:
                await asyncio.sleep(delay)
