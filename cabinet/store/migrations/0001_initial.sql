-- The cabinet's first schema: formulary, pockets and lots, people, orders, the ledger and its
-- outbox, discrepancies, alarms and persisted workflow state.

CREATE TABLE items (
    code            TEXT PRIMARY KEY,            -- UCD13 in France, or a local code
    name            TEXT NOT NULL,               -- with tall-man lettering where it applies
    strength        TEXT NOT NULL DEFAULT '',
    form            TEXT NOT NULL DEFAULT '',
    unit_weight_cg  INTEGER NOT NULL CHECK (unit_weight_cg > 0),   -- one unit, centigrams
    tolerance_cg    INTEGER NOT NULL CHECK (tolerance_cg >= 0),    -- accepted residual
    controlled      INTEGER NOT NULL DEFAULT 0 CHECK (controlled IN (0, 1)),
    high_alert      INTEGER NOT NULL DEFAULT 0 CHECK (high_alert IN (0, 1)),
    refrigerated    INTEGER NOT NULL DEFAULT 0 CHECK (refrigerated IN (0, 1)),
    lookalike_group TEXT,
    version         INTEGER NOT NULL DEFAULT 0   -- the central's change version
) STRICT;

CREATE TABLE item_gtins (
    gtin      TEXT PRIMARY KEY CHECK (length(gtin) = 14),
    item_code TEXT NOT NULL REFERENCES items (code)
) STRICT;

CREATE TABLE pockets (
    drawer     INTEGER NOT NULL CHECK (drawer >= 0),
    pocket     INTEGER NOT NULL CHECK (pocket >= 0),
    item_code  TEXT REFERENCES items (code),
    par        INTEGER NOT NULL DEFAULT 0 CHECK (par >= 0),
    max        INTEGER NOT NULL DEFAULT 0 CHECK (max >= 0),
    quantity   INTEGER NOT NULL DEFAULT 0 CHECK (quantity >= 0),
    return_bin INTEGER NOT NULL DEFAULT 0 CHECK (return_bin IN (0, 1)),
    PRIMARY KEY (drawer, pocket)
) STRICT;

CREATE TABLE lots (
    id       INTEGER PRIMARY KEY,
    drawer   INTEGER NOT NULL,
    pocket   INTEGER NOT NULL,
    lot      TEXT NOT NULL,
    expiry   TEXT NOT NULL,                      -- ISO date
    quantity INTEGER NOT NULL CHECK (quantity >= 0),
    UNIQUE (drawer, pocket, lot, expiry),
    FOREIGN KEY (drawer, pocket) REFERENCES pockets (drawer, pocket)
) STRICT;

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    roles         TEXT NOT NULL,                 -- comma-separated: nurse,pharmacist,...
    badge_hash    TEXT,                          -- scrypt, salted: never the badge itself
    pin_hash      TEXT,                          -- scrypt, salted: never the PIN itself
    failed_pins   INTEGER NOT NULL DEFAULT 0,
    locked_until  TEXT,                          -- ISO timestamp, UTC
    active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    version       INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE patients (
    id         TEXT PRIMARY KEY,                 -- IPP
    name       TEXT NOT NULL,
    birth_date TEXT,
    room       TEXT,
    bed        TEXT,
    allergies  TEXT NOT NULL DEFAULT '[]',       -- JSON list of strings
    version    INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE orders (
    id                   TEXT PRIMARY KEY,
    patient_id           TEXT NOT NULL REFERENCES patients (id),
    item_code            TEXT NOT NULL REFERENCES items (code),
    dose                 INTEGER NOT NULL CHECK (dose > 0),      -- in item units
    kind                 TEXT NOT NULL CHECK (kind IN ('scheduled', 'prn')),
    times                TEXT NOT NULL DEFAULT '[]',  -- JSON list of "HH:MM" for scheduled
    window_minutes       INTEGER NOT NULL DEFAULT 60, -- a scheduled dose's window either side
    min_interval_minutes INTEGER NOT NULL DEFAULT 0,  -- PRN: minimum time between doses
    daily_max            INTEGER,                     -- units per 24 h, NULL when none
    start_at             TEXT NOT NULL,
    stop_at              TEXT,
    status               TEXT NOT NULL CHECK (status IN ('active', 'on_hold', 'cancelled', 'completed')),
    verified_by          TEXT,                        -- pharmacist id; NULL = not verified
    prescriber           TEXT NOT NULL DEFAULT '',
    version              INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX orders_patient ON orders (patient_id);

CREATE TABLE override_list (
    item_code TEXT PRIMARY KEY REFERENCES items (code)
) STRICT;

-- The tamper-evident ledger: append-only, gap-free, hash-chained.
CREATE TABLE ledger (
    seq        INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,                    -- ISO timestamp, UTC, microseconds
    kind       TEXT NOT NULL,
    actor      TEXT,
    witness    TEXT,
    patient_id TEXT,
    order_id   TEXT,
    item_code  TEXT,
    drawer     INTEGER,
    pocket     INTEGER,
    lot        TEXT,
    quantity   INTEGER NOT NULL DEFAULT 0,       -- signed change of the pocket's stock
    payload    TEXT NOT NULL DEFAULT '{}',       -- canonical JSON of the other facts
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
) STRICT;
CREATE INDEX ledger_kind_at ON ledger (kind, at);
CREATE INDEX ledger_item ON ledger (item_code, seq);
CREATE INDEX ledger_at ON ledger (at);

CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN
    SELECT RAISE(ABORT, 'ledger is append-only');
END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN
    SELECT RAISE(ABORT, 'ledger is append-only');
END;

-- Signed checkpoints: (seq, hash) signed with the cabinet's Ed25519 key.
CREATE TABLE checkpoints (
    seq       INTEGER PRIMARY KEY,
    hash      TEXT NOT NULL,
    signature TEXT NOT NULL,                     -- hex
    at        TEXT NOT NULL
) STRICT;
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN
    SELECT RAISE(ABORT, 'checkpoints are append-only');
END;
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN
    SELECT RAISE(ABORT, 'checkpoints are append-only');
END;

-- One row per ledger event; acked once the central has stored it.
CREATE TABLE outbox (
    seq      INTEGER PRIMARY KEY REFERENCES ledger (seq),
    acked_at TEXT
) STRICT;
CREATE INDEX outbox_pending ON outbox (seq) WHERE acked_at IS NULL;

CREATE TABLE discrepancies (
    id          INTEGER PRIMARY KEY,
    ledger_seq  INTEGER NOT NULL REFERENCES ledger (seq),
    opened_at   TEXT NOT NULL,
    opened_by   TEXT,
    drawer      INTEGER NOT NULL,
    pocket      INTEGER NOT NULL,
    item_code   TEXT,
    expected    INTEGER NOT NULL,
    counted     INTEGER NOT NULL,
    cause       TEXT NOT NULL,                   -- wrong_pocket, too_many, too_few, blind_count...
    status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    reason      TEXT,
    resolved_by TEXT,
    witness     TEXT,
    resolved_at TEXT,
    resolved_seq INTEGER REFERENCES ledger (seq)
) STRICT;

CREATE TABLE alarms (
    id         INTEGER PRIMARY KEY,
    ledger_seq INTEGER REFERENCES ledger (seq),
    raised_at  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    severity   TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    message    TEXT NOT NULL,
    cleared_at TEXT
) STRICT;

-- Each workflow machine's current state, so a restart resumes or safely closes it.
CREATE TABLE workflow_state (
    id         TEXT PRIMARY KEY,
    machine    TEXT NOT NULL,
    state      TEXT NOT NULL,
    data       TEXT NOT NULL DEFAULT '{}',
    updated_at TEXT NOT NULL
) STRICT;

-- Small key/value facts: sync cursor, last sync, register validation date.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
