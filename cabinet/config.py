"""The cabinet's TOML configuration: a strict, typed schema; a bad key stops the start."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field, fields, is_dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

from cabinet.errors import ConfigError

DEFAULT_PATH = Path("/etc/cabinet/cabinet.toml")


@dataclass(frozen=True, kw_only=True)
class CabinetSection:
    """Who this cabinet is."""

    id: str = "CAB-DEMO-01"
    care_unit: str = "Cardiologie 3B"
    language: Literal["fr", "en"] = "fr"
    production: bool = False  # production refuses development shortcuts (insecure gRPC)


@dataclass(frozen=True, kw_only=True)
class DrawerSection:
    """One drawer: its index, how many pockets, its role and its scale module."""

    index: int
    pockets: int = 8
    kind: Literal["standard", "return_bin", "refrigerated"] = "standard"
    scale_profile: Literal["cabinet", "hx711"] = "cabinet"
    scale_unit: int = 0  # Modbus unit id of the scale module; 0 means 10 + index


@dataclass(frozen=True, kw_only=True)
class PocketSection:
    """A pocket assignment seeded from the file (the central's pocket plan overrides it)."""

    drawer: int
    pocket: int
    item: str
    par: int = 0
    max: int = 0


@dataclass(frozen=True, kw_only=True)
class HardwareSection:
    """Where the lock/IO board and scale modules are and how patiently to talk to them."""

    transport: Literal["tcp", "rtu"] = "tcp"
    host: str = "127.0.0.1"
    port: int = 5020
    serial_port: str = "/dev/ttyUSB0"
    baudrate: int = 115200
    board_unit: int = 1
    timeout_s: float = 0.3
    retries: int = 1
    down_after_failures: int = 3
    lock_pulse_ms: int = 8000
    open_drawer_hz: float = 25.0
    idle_poll_s: float = 1.0
    settle_s: float = 1.0


@dataclass(frozen=True, kw_only=True)
class ScannerSection:
    """The barcode reader: a serial port (USB-CDC or RS-232) or a TCP endpoint."""

    transport: Literal["serial", "tcp", "none"] = "serial"
    serial_port: str = "/dev/ttyACM0"
    baudrate: int = 9600
    host: str = "127.0.0.1"
    port: int = 5021
    inter_char_timeout_ms: int = 80


@dataclass(frozen=True, kw_only=True)
class CentralSection:
    """The central pharmacy's gRPC endpoint and this cabinet's TLS identity."""

    address: str = "localhost:50051"
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure_development: bool = False  # refused when [cabinet] production = true
    deadline_s: float = 5.0
    batch_size: int = 500
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    heartbeat_s: float = 30.0
    enabled: bool = True


@dataclass(frozen=True, kw_only=True)
class StoreSection:
    """Where the state lives and how often the ledger is signed."""

    state_dir: Path = Path("/var/lib/cabinet")
    checkpoint_every: int = 100

    @property
    def db_path(self) -> Path:
        """The SQLite database file."""
        return self.state_dir / "cabinet.db"

    @property
    def key_path(self) -> Path:
        """The cabinet's Ed25519 private key (mode 0600)."""
        return self.state_dir / "cabinet.key"


@dataclass(frozen=True, kw_only=True)
class UiSection:
    """The local touchscreen server."""

    host: str = "127.0.0.1"
    port: int = 8080


@dataclass(frozen=True, kw_only=True)
class SessionSection:
    """Sign-in rules."""

    inactivity_s: float = 60.0
    sign_out_on_close: bool = False
    max_failed_pins: int = 5
    lockout_minutes: float = 15.0


def _default_drawers() -> tuple[DrawerSection, ...]:
    """The demo cabinet: six drawers of eight pockets and a one-pocket return bin."""
    return (
        *(DrawerSection(index=i) for i in range(6)),
        DrawerSection(index=6, pockets=1, kind="return_bin"),
    )


@dataclass(frozen=True, kw_only=True)
class Config:
    """The whole configuration."""

    cabinet: CabinetSection = field(default_factory=CabinetSection)
    drawers: tuple[DrawerSection, ...] = field(default_factory=_default_drawers)
    pockets: tuple[PocketSection, ...] = ()
    hardware: HardwareSection = field(default_factory=HardwareSection)
    scanner: ScannerSection = field(default_factory=ScannerSection)
    central: CentralSection = field(default_factory=CentralSection)
    store: StoreSection = field(default_factory=StoreSection)
    ui: UiSection = field(default_factory=UiSection)
    session: SessionSection = field(default_factory=SessionSection)

    @property
    def return_bin(self) -> DrawerSection | None:
        """The return-bin drawer, if the cabinet has one."""
        return next((d for d in self.drawers if d.kind == "return_bin"), None)


# Bounds on numbers: (minimum, maximum), inclusive. Anything not listed must be >= 0.
_BOUNDS: dict[str, tuple[float, float]] = {
    "drawers.index": (0, 15),
    "drawers.pockets": (1, 24),
    "drawers.scale_unit": (0, 247),
    "pockets.drawer": (0, 15),
    "pockets.pocket": (0, 23),
    "hardware.port": (1, 65535),
    "hardware.board_unit": (1, 247),
    "hardware.timeout_s": (0.01, 10),
    "hardware.retries": (0, 5),
    "hardware.down_after_failures": (1, 100),
    "hardware.lock_pulse_ms": (500, 10000),
    "hardware.open_drawer_hz": (1, 100),
    "hardware.idle_poll_s": (0.05, 60),
    "hardware.settle_s": (0.1, 30),
    "hardware.baudrate": (1200, 921600),
    "scanner.port": (1, 65535),
    "scanner.baudrate": (1200, 921600),
    "scanner.inter_char_timeout_ms": (5, 5000),
    "central.deadline_s": (0.1, 120),
    "central.batch_size": (1, 10000),
    "central.backoff_initial_s": (0.01, 60),
    "central.backoff_max_s": (0.1, 3600),
    "central.heartbeat_s": (1, 3600),
    "store.checkpoint_every": (1, 100000),
    "ui.port": (1, 65535),
    "session.inactivity_s": (5, 3600),
    "session.max_failed_pins": (1, 20),
    "session.lockout_minutes": (1, 1440),
}


def _describe(tp: Any) -> str:
    """What a type accepts, in words for an error line."""
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if tp is Path or (origin is not None and Path in get_args(tp)):
        return "a file path (string)"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(
        tp, str(tp)
    )


def _convert(key: str, value: Any, tp: Any) -> Any:
    """Check one value against its declared type; raise ConfigError naming the key."""
    origin = get_origin(tp)
    args = get_args(tp)
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{key} = {value!r}: must be {_describe(tp)}")
        return value
    if args and type(None) in args:  # X | None
        inner = next(a for a in args if a is not type(None))
        return _convert(key, value, inner)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} = {value!r}: must be true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key} = {value!r}: must be an integer")
    elif tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key} = {value!r}: must be a number")
        value = float(value)
    elif tp is str:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{key} = {value!r}: must be a non-empty string")
        return value
    elif tp is Path:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{key} = {value!r}: must be a file path (string)")
        return Path(value)
    if tp in (int, float):
        bound_key = ".".join(part.split("[")[0] for part in key.split("."))
        low, high = _BOUNDS.get(bound_key, (0, float("inf")))
        if not low <= value <= high:
            allowed = f"between {low:g} and {high:g}" if high != float("inf") else f">= {low:g}"
            raise ConfigError(f"{key} = {value!r}: must be {allowed}")
    return value


def _build(cls: type[Any], data: Any, prefix: str) -> Any:
    """Build one section dataclass from its table, refusing unknown keys."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix} = {data!r}: must be a table")
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    for key in data:
        if key not in known:
            raise ConfigError(
                f"{prefix}.{key}: unknown key; allowed keys are {', '.join(sorted(known))}"
            )
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name in data:
            values[f.name] = _convert(f"{prefix}.{f.name}", data[f.name], hints[f.name])
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{prefix}.{f.name}: missing; must be {_describe(hints[f.name])}")
    return cls(**values)


def parse(data: dict[str, Any], base_dir: Path | None = None) -> Config:
    """Validate a parsed TOML document into a Config; raise ConfigError on the first problem."""
    hints = get_type_hints(Config)
    known = {f.name for f in fields(Config)}
    for key in data:
        if key not in known:
            raise ConfigError(
                f"{key}: unknown section; allowed sections are {', '.join(sorted(known))}"
            )
    values: dict[str, Any] = {}
    for f in fields(Config):
        if f.name not in data:
            continue
        tp = hints[f.name]
        if get_origin(tp) is tuple:
            item_cls = get_args(tp)[0]
            raw = data[f.name]
            if not isinstance(raw, list):
                raise ConfigError(f"{f.name}: must be an array of tables ([[{f.name}]])")
            values[f.name] = tuple(
                _build(item_cls, item, f"{f.name}[{i}]") for i, item in enumerate(raw)
            )
        elif isinstance(tp, type) and is_dataclass(tp):
            values[f.name] = _build(tp, data[f.name], f.name)
    config = Config(**values)
    _check_whole(config, base_dir)
    return config


def _check_whole(config: Config, base_dir: Path | None) -> None:
    """Rules that span keys: unique drawers and pockets, TLS files present, production rules."""
    seen_drawers: set[int] = set()
    for i, drawer in enumerate(config.drawers):
        if drawer.index in seen_drawers:
            raise ConfigError(f"drawers[{i}].index = {drawer.index}: duplicate drawer index")
        seen_drawers.add(drawer.index)
    if not config.drawers:
        raise ConfigError("drawers: a cabinet needs at least one drawer")
    if sum(1 for d in config.drawers if d.kind == "return_bin") > 1:
        raise ConfigError("drawers: at most one drawer may be the return bin")
    sizes = {d.index: d.pockets for d in config.drawers}
    seen_pockets: set[tuple[int, int]] = set()
    for i, pocket in enumerate(config.pockets):
        where = (pocket.drawer, pocket.pocket)
        if where in seen_pockets:
            raise ConfigError(
                f"pockets[{i}]: duplicate pocket drawer {pocket.drawer} pocket {pocket.pocket}"
            )
        seen_pockets.add(where)
        if pocket.drawer not in sizes or pocket.pocket >= sizes[pocket.drawer]:
            raise ConfigError(
                f"pockets[{i}]: drawer {pocket.drawer} pocket {pocket.pocket} is not in the layout"
            )
        if config.return_bin is not None and pocket.drawer == config.return_bin.index:
            raise ConfigError(
                f"pockets[{i}].drawer = {pocket.drawer}: the return bin holds no assigned item"
            )
        if pocket.max and pocket.par > pocket.max:
            raise ConfigError(f"pockets[{i}].par = {pocket.par}: must not exceed max {pocket.max}")
    central = config.central
    if central.enabled and not central.insecure_development:
        for name in ("ca_file", "cert_file", "key_file"):
            value = getattr(central, name)
            if value is None:
                raise ConfigError(
                    f"central.{name}: missing; mutual TLS needs the CA, certificate and key files "
                    "(or central.insecure_development = true outside production)"
                )
            resolved = value if value.is_absolute() or base_dir is None else base_dir / value
            if not resolved.is_file():
                raise ConfigError(f"central.{name} = '{value}': no such file")
    if central.insecure_development and config.cabinet.production:
        raise ConfigError(
            "central.insecure_development = true: refused when cabinet.production = true"
        )
    if central.backoff_max_s < central.backoff_initial_s:
        raise ConfigError(
            f"central.backoff_max_s = {central.backoff_max_s:g}: must be >= backoff_initial_s"
        )


def load(path: Path) -> Config:
    """Read and validate a configuration file; relative paths are taken from its folder."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration: {exc.strerror}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    config = parse(data, base_dir=path.parent)
    return _resolve_paths(config, path.parent)


def _resolve_paths(config: Config, base: Path) -> Config:
    """Make relative file paths relative to the configuration file's folder."""

    def fix(p: Path | None) -> Path | None:
        """A relative path taken from the configuration file's folder."""
        return None if p is None or p.is_absolute() else base / p

    central = config.central
    central = dataclasses.replace(
        central,
        ca_file=fix(central.ca_file) or central.ca_file,
        cert_file=fix(central.cert_file) or central.cert_file,
        key_file=fix(central.key_file) or central.key_file,
    )
    store = config.store
    if not store.state_dir.is_absolute():
        store = dataclasses.replace(store, state_dir=base / store.state_dir)
    return dataclasses.replace(config, central=central, store=store)


def example_text() -> str:
    """The commented example configuration that `cabinet config init` writes."""
    return (resources.files("cabinet") / "config_example.toml").read_text(encoding="utf-8")
