"""The daemon's log: one logfmt line per event, even for tracebacks; journald priorities."""

from __future__ import annotations

import logging
import sys

from cabinet.logs import LogfmtFormatter


def record(message: str, level: int = logging.INFO, **fields: object) -> logging.LogRecord:
    """A log record as `cabinet.logs.event` makes it."""
    rec = logging.LogRecord("cabinet.daemon", level, __file__, 1, message, None, None)
    rec.fields = fields
    return rec


def test_fields_are_quoted_only_when_needed() -> None:
    """Simple values stay bare; spaces, quotes and newlines are quoted and escaped."""
    line = LogfmtFormatter().format(
        record("drawer opened", drawer=3, who="nurse 1", note='said "hi"\nthen left')
    )
    assert "\n" not in line
    assert line.split(" ", 1)[1].startswith("level=info logger=cabinet.daemon")
    assert 'msg="drawer opened" drawer=3 who="nurse 1" note="said \\"hi\\"\\nthen left"' in line


def test_a_traceback_stays_on_one_line() -> None:
    """An exception is logged as an escaped `error=` field."""
    try:
        raise ValueError("bad weight")
    except ValueError:
        rec = record("poll failed", logging.ERROR)
        rec.exc_info = sys.exc_info()
    line = LogfmtFormatter().format(rec)
    assert "\n" not in line and "ValueError: bad weight" in line


def test_journald_gets_the_syslog_priority() -> None:
    """Under journald each line starts with <N> so that errors show as errors."""
    assert LogfmtFormatter(journald=True).format(record("x", logging.CRITICAL)).startswith("<2>")
    assert LogfmtFormatter(journald=True).format(record("x", logging.INFO)).startswith("<6>")
