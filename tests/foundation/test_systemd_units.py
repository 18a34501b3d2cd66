"""The systemd units: valid, Type=notify with a watchdog, and hardened to exposure <= 2.5."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = {
    "cabinetd.service": "/usr/bin/cabinetd",
    "cabinet-sim.service": "/usr/bin/cabinet-sim",
}
MAX_EXPOSURE = 2.5


def analyzable(tmp_path: Path, unit: str) -> Path:
    """A copy of the unit whose ExecStart points at the installed console script."""
    script = Path(sys.executable).parent / Path(UNITS[unit]).name
    assert script.exists(), f"{script} is not installed"
    text = (ROOT / "systemd" / unit).read_text(encoding="utf-8")
    target = tmp_path / unit
    target.write_text(text.replace(UNITS[unit], str(script)), encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def systemd_analyze() -> str:
    """The systemd-analyze binary (Debian package systemd; `make test` installs it)."""
    found = shutil.which("systemd-analyze")
    assert found, "systemd-analyze is missing: run `make system-deps`"
    return found


@pytest.mark.parametrize("unit", sorted(UNITS))
def test_unit_verifies(tmp_path: Path, unit: str, systemd_analyze: str) -> None:
    """`systemd-analyze verify` accepts the unit with no complaint."""
    done = subprocess.run(
        [systemd_analyze, "verify", str(analyzable(tmp_path, unit))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr


@pytest.mark.parametrize("unit", sorted(UNITS))
def test_unit_exposure_is_low(tmp_path: Path, unit: str, systemd_analyze: str) -> None:
    """`systemd-analyze security --offline=yes`: overall exposure at most 2.5."""
    done = subprocess.run(
        [
            systemd_analyze,
            "security",
            "--offline=yes",
            "--no-pager",
            str(analyzable(tmp_path, unit)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", done.stdout)
    assert found, done.stdout + done.stderr
    assert float(found.group(1)) <= MAX_EXPOSURE, done.stdout


def test_daemon_unit_asks_for_what_the_issue_requires() -> None:
    """Type=notify, watchdog, restart on failure, own user, state dir, device allow-list."""
    text = (ROOT / "systemd" / "cabinetd.service").read_text(encoding="utf-8")
    settings = {
        line.split("=", 1)[0]: line.split("=", 1)[1]
        for line in text.splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert settings["Type"] == "notify"
    assert float(settings["WatchdogSec"]) > 0
    assert settings["Restart"] == "on-failure"
    assert settings["User"] == "cabinet"
    assert settings["StateDirectory"] == "cabinet"
    assert settings["ProtectSystem"] == "strict"
    assert settings["NoNewPrivileges"] == "yes"
    assert settings["CapabilityBoundingSet"] == ""
    assert settings["DevicePolicy"] == "closed"
    assert "DeviceAllow" in settings and "PrivateDevices" not in settings
    assert "RestrictAddressFamilies" in settings and "SystemCallFilter" in settings
