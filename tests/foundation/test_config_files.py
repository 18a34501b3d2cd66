"""Bad configuration files: one clear line naming the key, the value and what is allowed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cabinet import cli, config

GOOD = """
[cabinet]
id = "CAB-3B-01"

[[drawers]]
index = 0
pockets = 4

[[drawers]]
index = 1
pockets = 1
kind = "return_bin"

[[pockets]]
drawer = 0
pocket = 0
item = "3400892088310"

[central]
insecure_development = true

[store]
state_dir = "state"
"""

BAD: list[tuple[str, str, str, str]] = [
    (
        "unknown key",
        GOOD.replace('id = "CAB-3B-01"', 'id = "CAB-3B-01"\ncolour = "blue"'),
        "cabinet.colour: unknown key",
        "allowed keys are",
    ),
    (
        "wrong type",
        GOOD.replace("pockets = 4", 'pockets = "four"'),
        "drawers[0].pockets = 'four'",
        "must be an integer",
    ),
    (
        "negative timeout",
        GOOD + "\n[hardware]\ntimeout_s = -1.0\n",
        "hardware.timeout_s = -1.0",
        "must be between 0.01 and 10",
    ),
    (
        "duplicate pocket",
        GOOD + '\n[[pockets]]\ndrawer = 0\npocket = 0\nitem = "3400893826706"\n',
        "pockets[1]: duplicate pocket drawer 0 pocket 0",
        "",
    ),
    (
        "missing TLS file",
        GOOD.replace(
            "insecure_development = true",
            'ca_file = "tls/ca.pem"\ncert_file = "tls/cab.pem"\nkey_file = "tls/cab.key"',
        ),
        "central.ca_file = 'tls/ca.pem': no such file",
        "",
    ),
    (
        "out-of-range pocket count",
        GOOD.replace("pockets = 4", "pockets = 30"),
        "drawers[0].pockets = 30",
        "must be between 1 and 24",
    ),
    (
        "unknown section",
        GOOD + "\n[printer]\nmodel = 'x'\n",
        "printer: unknown section",
        "allowed sections are",
    ),
    (
        "insecure channel in production",
        GOOD.replace('id = "CAB-3B-01"', 'id = "CAB-3B-01"\nproduction = true'),
        "central.insecure_development = true: refused when cabinet.production = true",
        "",
    ),
    (
        "item assigned to the return bin",
        GOOD + '\n[[pockets]]\ndrawer = 1\npocket = 0\nitem = "3400893826706"\n',
        "pockets[1].drawer = 1: the return bin holds no assigned item",
        "",
    ),
    ("not TOML", "[cabinet\nid = 1\n", "not valid TOML", ""),
]


def write(tmp_path: Path, text: str) -> Path:
    """The configuration file under test."""
    path = tmp_path / "cabinet.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_good_file_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A valid file: OK, exit 0, and relative paths resolved from the file's folder."""
    path = write(tmp_path, GOOD)
    assert cli.main(["config", "check", str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"OK: {path}: cabinet CAB-3B-01")
    assert config.load(path).store.state_dir == tmp_path / "state"


@pytest.mark.parametrize(
    ("text", "names", "allowed"), [pytest.param(t, n, a, id=c) for c, t, n, a in BAD]
)
def test_config_check_names_the_problem(
    tmp_path: Path, text: str, names: str, allowed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`cabinet config check FILE`: one line on stderr, exit 1, nothing started."""
    path = write(tmp_path, text)
    assert cli.main(["config", "check", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, lines
    assert names in lines[0] and allowed in lines[0]


@pytest.mark.parametrize("case", ["unknown key", "negative timeout", "missing TLS file"])
def test_the_daemon_refuses_to_start(tmp_path: Path, case: str) -> None:
    """`cabinetd --config FILE` stops at the same line, non-zero, without creating state."""
    _, text, names, _ = next(b for b in BAD if b[0] == case)
    path = write(tmp_path, text)
    done = subprocess.run(
        [sys.executable, "-m", "cabinet.daemon", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert names in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "state").exists()


def test_config_init_writes_an_example_that_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The commented example is valid as written, and init never overwrites by accident."""
    path = tmp_path / "etc" / "cabinet.toml"
    assert cli.main(["config", "init", str(path)]) == 0
    text = path.read_text(encoding="utf-8")
    assert text.count("#") > 40  # commented, key by key
    assert cli.main(["config", "check", str(path)]) == 0
    assert cli.main(["config", "init", str(path)]) == 1
    assert "already exists" in capsys.readouterr().err


def test_every_key_is_documented() -> None:
    """docs/configuration.md and the example mention every key of the schema."""
    import dataclasses

    root = Path(__file__).resolve().parents[2]
    doc = (root / "docs" / "configuration.md").read_text(encoding="utf-8")
    example = config.example_text()
    sections = {
        "cabinet": config.CabinetSection,
        "drawers": config.DrawerSection,
        "pockets": config.PocketSection,
        "hardware": config.HardwareSection,
        "scanner": config.ScannerSection,
        "central": config.CentralSection,
        "store": config.StoreSection,
        "ui": config.UiSection,
        "session": config.SessionSection,
    }
    assert {f.name for f in dataclasses.fields(config.Config)} == set(sections)
    for section, cls in sections.items():
        for f in dataclasses.fields(cls):
            assert f"`{section}.{f.name}`" in doc, f"{section}.{f.name} missing from the docs"
            assert f"{f.name} =" in example, f"{section}.{f.name} missing from the example"
