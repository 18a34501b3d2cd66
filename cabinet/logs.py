"""One structured line per event on stdout (logfmt), friendly to journald and to grep."""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

# Syslog priorities, which journald reads from a "<N>" prefix on each line.
_PRIORITY = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}
LEVELS = ("debug", "info", "warning", "error", "critical")
# Libraries that log every retry (pymodbus warns on each failed reconnect, many times a
# second while a board is unplugged); our own parts log the event that matters once (device
# down, device back). They speak up at debug level only.
_CHATTY_LIBRARIES = ("pymodbus",)


def _quote(value: Any) -> str:
    """A logfmt value: bare when simple, quoted and escaped otherwise; never a newline."""
    text = str(value)
    if text and all(c.isalnum() or c in "-_.:/@+" for c in text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r") + '"'


class LogfmtFormatter(logging.Formatter):
    """`level=info logger=cabinet.daemon msg="..." key=value ...` on one line."""

    def __init__(self, journald: bool = False) -> None:
        """With `journald`, prefix each line with its syslog priority."""
        super().__init__()
        self.journald = journald
        self.converter = time.gmtime  # timestamps in UTC, like the store

    def format(self, record: logging.LogRecord) -> str:
        """Render one record as one line."""
        parts = [
            f"ts={self.formatTime(record, '%Y-%m-%dT%H:%M:%S')}.{int(record.msecs):03d}",
            f"level={record.levelname.lower()}",
            f"logger={record.name}",
            f"msg={_quote(record.getMessage())}",
        ]
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            parts.extend(f"{key}={_quote(value)}" for key, value in fields.items())
        if record.exc_info:
            parts.append(f"error={_quote(self.formatException(record.exc_info))}")
        line = " ".join(parts)
        if self.journald:
            line = f"<{_PRIORITY.get(record.levelno, 6)}>{line}"
        return line


def setup(level: str = "info") -> None:
    """Send every log record of the process to stdout, one line each."""
    if level not in LEVELS:
        raise ValueError(f"log level {level!r}: must be one of {', '.join(LEVELS)}")
    handler = logging.StreamHandler(sys.stdout)
    # journald sets JOURNAL_STREAM when stdout is connected to it.
    handler.setFormatter(LogfmtFormatter(journald="JOURNAL_STREAM" in os.environ))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in _CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.DEBUG if level == "debug" else logging.ERROR)


def event(logger: logging.Logger, message: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event with named fields: `event(log, "started", cabinet="CAB-1")`."""
    logger.log(level, message, extra={"fields": fields})
