"""Random answers on the wire: the drivers return a well-formed value or raise a hal error."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.modbus import HX711_PROFILE, ModbusLink, ModbusScaleBank
from hal import HardwareError, WeightReading
from tests.drivers.rtu_script import crc16, rtu_pty

STATUS_REQUEST = "01 03 00 08 00 01 05 C8"
WEIGHT_REQUEST = "01 03 00 50 00 02 C4 1A"


def framed(body: bytes) -> bytes:
    """A body with a correct CRC: garbage that gets past the framer and reaches the decoders."""
    return body + crc16(body)


answers = st.one_of(
    st.binary(min_size=1, max_size=40),
    st.builds(
        framed,
        st.builds(
            lambda fc, payload: bytes([1, fc]) + payload,
            st.sampled_from([0x03, 0x04, 0x83, 0x06, 0x10, 0x2B]),
            st.binary(max_size=12),
        ),
    ),
    st.builds(
        framed,
        st.builds(lambda words: bytes([1, 3, 4]) + words, st.binary(min_size=4, max_size=4)),
    ),
)


async def exchange(status_answer: bytes, weight_answer: bytes) -> tuple[WeightReading, ...]:
    """One HX711 read on a pty whose device sends the given answers."""
    with rtu_pty() as script:
        script.expect(STATUS_REQUEST, status_answer)
        script.expect(WEIGHT_REQUEST, weight_answer)
        link = ModbusLink.rtu(script.path, timeout_s=0.05, retries=0)
        bank = ModbusScaleBank(link, drawer=0, pocket_count=1, unit=1, profile=HX711_PROFILE)
        try:
            return await bank.read_all()
        finally:
            await bank.close()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(answers, answers)
def test_random_answers_give_a_reading_or_a_hal_error(status: bytes, weight: bytes) -> None:
    """Whatever comes back, nothing but a hal error escapes, and a reading is complete."""
    try:
        readings = asyncio.run(exchange(framed(bytes([1, 3, 2, 0x08, 0x02])), weight))
        readings += asyncio.run(exchange(status, framed(bytes([1, 3, 4, 0, 0, 0, 0x84]))))
    except HardwareError:
        return
    for reading in readings:
        assert isinstance(reading.centigrams, int)
        assert -(2**31) * 100 <= reading.centigrams < 2**31 * 100
