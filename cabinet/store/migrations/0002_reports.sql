-- The controlled-drugs register, once validated through a date, may not change before it:
-- the validations themselves are append-only and only move forward, and every write path
-- (Store.move, Store.record, raw SQL) is refused an event dated on or before that date for a
-- validated item. Also the indexes the reports need.

CREATE TABLE register_validations (
    id           INTEGER PRIMARY KEY,
    item_code    TEXT NOT NULL REFERENCES items (code),
    through      TEXT NOT NULL CHECK (through GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    validated_by TEXT NOT NULL,
    validated_at TEXT NOT NULL,
    ledger_seq   INTEGER REFERENCES ledger (seq)
) STRICT;
CREATE INDEX register_validations_item ON register_validations (item_code, through);

CREATE TRIGGER register_validations_no_update BEFORE UPDATE ON register_validations
BEGIN
    SELECT RAISE(ABORT, 'register validations are append-only');
END;
CREATE TRIGGER register_validations_no_delete BEFORE DELETE ON register_validations
BEGIN
    SELECT RAISE(ABORT, 'register validations are append-only');
END;
CREATE TRIGGER register_validations_forward BEFORE INSERT ON register_validations
WHEN NEW.through < (SELECT MAX(through) FROM register_validations WHERE item_code = NEW.item_code)
BEGIN
    SELECT RAISE(ABORT, 'a register validation cannot move back in time');
END;

-- No ledger event for a validated item may be dated on or before its validation date.
CREATE TRIGGER ledger_register_validated BEFORE INSERT ON ledger
WHEN NEW.item_code IS NOT NULL AND EXISTS (
    SELECT 1 FROM register_validations
    WHERE item_code = NEW.item_code AND through >= substr(NEW.at, 1, 10)
)
BEGIN
    SELECT RAISE(ABORT, 'controlled register validated: no event may be dated on or before its validation date');
END;

-- A validated item keeps its code and stays controlled: otherwise it would drop out of the register.
CREATE TRIGGER items_register_validated_update BEFORE UPDATE OF code, controlled ON items
WHEN (NEW.code IS NOT OLD.code OR NEW.controlled IS NOT OLD.controlled)
    AND EXISTS (SELECT 1 FROM register_validations WHERE item_code = OLD.code)
BEGIN
    SELECT RAISE(ABORT, 'controlled register validated: this item cannot be renamed or uncontrolled');
END;
CREATE TRIGGER items_register_validated_delete BEFORE DELETE ON items
WHEN EXISTS (SELECT 1 FROM register_validations WHERE item_code = OLD.code)
BEGIN
    SELECT RAISE(ABORT, 'controlled register validated: this item cannot be deleted');
END;

-- Discrepancies of a validated item, opened or resolved on or before the date, are frozen.
CREATE TRIGGER discrepancies_register_validated_insert BEFORE INSERT ON discrepancies
WHEN NEW.item_code IS NOT NULL AND EXISTS (
    SELECT 1 FROM register_validations
    WHERE item_code = NEW.item_code AND through >= substr(NEW.opened_at, 1, 10)
)
BEGIN
    SELECT RAISE(ABORT, 'controlled register validated: no discrepancy may be dated on or before its validation date');
END;
CREATE TRIGGER discrepancies_register_validated_update BEFORE UPDATE ON discrepancies
WHEN OLD.item_code IS NOT NULL AND EXISTS (
    SELECT 1 FROM register_validations
    WHERE item_code = OLD.item_code
      AND (through >= substr(COALESCE(OLD.resolved_at, '9999'), 1, 10)
           OR through >= substr(COALESCE(NEW.resolved_at, '9999'), 1, 10)
           OR through >= substr(NEW.opened_at, 1, 10) AND NEW.opened_at IS NOT OLD.opened_at)
)
BEGIN
    SELECT RAISE(ABORT, 'controlled register validated: this discrepancy is frozen');
END;
CREATE TRIGGER discrepancies_register_validated_delete BEFORE DELETE ON discrepancies
WHEN OLD.item_code IS NOT NULL AND EXISTS (
    SELECT 1 FROM register_validations
    WHERE item_code = OLD.item_code AND through >= substr(OLD.opened_at, 1, 10)
)
BEGIN
    SELECT RAISE(ABORT, 'controlled register validated: this discrepancy is frozen');
END;

-- Dispenses made under an override (the canonical payload spells the flag exactly so).
CREATE INDEX ledger_override_dispenses ON ledger (at)
WHERE kind = 'dispense' AND payload LIKE '%"override":true%';

-- Daily roll-ups of the ledger, kept by a trigger in the transaction of each event, so that a
-- report over a million events reads thousands of rows. Days are UTC, as report periods are.
-- dim 'kind': every event by kind; 'actor', 'patient', 'item': dispenses by who, for whom and
-- what; 'order': dispenses against an order; 'controlled_use': dispenses and wastes of
-- controlled items by user, the return bin left out (the item's flag at the time counts).
CREATE TABLE ledger_rollup (
    dim       TEXT NOT NULL,
    kind      TEXT NOT NULL,
    day       TEXT NOT NULL,
    key       TEXT NOT NULL,                     -- '' when the event names none
    events    INTEGER NOT NULL,
    units     INTEGER NOT NULL,                  -- sum of the signed quantity
    abs_units INTEGER NOT NULL,                  -- sum of |quantity|
    min_seq   INTEGER NOT NULL,
    max_seq   INTEGER NOT NULL,
    PRIMARY KEY (dim, kind, day, key)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER ledger_rollup_every AFTER INSERT ON ledger
BEGIN
    INSERT INTO ledger_rollup (dim, kind, day, key, events, units, abs_units, min_seq, max_seq)
    VALUES ('kind', NEW.kind, substr(NEW.at, 1, 10), '', 1, NEW.quantity, abs(NEW.quantity),
            NEW.seq, NEW.seq)
    ON CONFLICT (dim, kind, day, key) DO UPDATE SET events = events + 1,
        units = units + excluded.units, abs_units = abs_units + excluded.abs_units,
        min_seq = min(min_seq, excluded.min_seq), max_seq = max(max_seq, excluded.max_seq);
END;

CREATE TRIGGER ledger_rollup_dispense AFTER INSERT ON ledger WHEN NEW.kind = 'dispense'
BEGIN
    INSERT INTO ledger_rollup (dim, kind, day, key, events, units, abs_units, min_seq, max_seq)
    VALUES ('actor', NEW.kind, substr(NEW.at, 1, 10), coalesce(NEW.actor, ''), 1, NEW.quantity,
            abs(NEW.quantity), NEW.seq, NEW.seq),
           ('patient', NEW.kind, substr(NEW.at, 1, 10), coalesce(NEW.patient_id, ''), 1,
            NEW.quantity, abs(NEW.quantity), NEW.seq, NEW.seq),
           ('item', NEW.kind, substr(NEW.at, 1, 10), coalesce(NEW.item_code, ''), 1,
            NEW.quantity, abs(NEW.quantity), NEW.seq, NEW.seq)
    ON CONFLICT (dim, kind, day, key) DO UPDATE SET events = events + 1,
        units = units + excluded.units, abs_units = abs_units + excluded.abs_units,
        min_seq = min(min_seq, excluded.min_seq), max_seq = max(max_seq, excluded.max_seq);
END;

CREATE TRIGGER ledger_rollup_order AFTER INSERT ON ledger
WHEN NEW.kind = 'dispense' AND NEW.order_id IS NOT NULL
BEGIN
    INSERT INTO ledger_rollup (dim, kind, day, key, events, units, abs_units, min_seq, max_seq)
    VALUES ('order', NEW.kind, substr(NEW.at, 1, 10), '', 1, NEW.quantity, abs(NEW.quantity),
            NEW.seq, NEW.seq)
    ON CONFLICT (dim, kind, day, key) DO UPDATE SET events = events + 1,
        units = units + excluded.units, abs_units = abs_units + excluded.abs_units,
        min_seq = min(min_seq, excluded.min_seq), max_seq = max(max_seq, excluded.max_seq);
END;

CREATE TRIGGER ledger_rollup_controlled AFTER INSERT ON ledger
WHEN NEW.kind IN ('dispense', 'waste') AND NEW.actor IS NOT NULL
    AND EXISTS (SELECT 1 FROM items WHERE code = NEW.item_code AND controlled = 1)
    AND NOT EXISTS (SELECT 1 FROM pockets WHERE return_bin = 1 AND drawer = NEW.drawer
                    AND pocket = NEW.pocket)
BEGIN
    INSERT INTO ledger_rollup (dim, kind, day, key, events, units, abs_units, min_seq, max_seq)
    VALUES ('controlled_use', NEW.kind, substr(NEW.at, 1, 10), NEW.actor, 1, NEW.quantity,
            abs(NEW.quantity), NEW.seq, NEW.seq)
    ON CONFLICT (dim, kind, day, key) DO UPDATE SET events = events + 1,
        units = units + excluded.units, abs_units = abs_units + excluded.abs_units,
        min_seq = min(min_seq, excluded.min_seq), max_seq = max(max_seq, excluded.max_seq);
END;

-- A store that already holds events starts with its roll-ups complete.
INSERT INTO ledger_rollup
SELECT 'kind', kind, substr(at, 1, 10), '', count(*), sum(quantity), sum(abs(quantity)),
       min(seq), max(seq)
FROM ledger WHERE true GROUP BY kind, substr(at, 1, 10);
INSERT INTO ledger_rollup
SELECT 'actor', kind, substr(at, 1, 10), coalesce(actor, ''), count(*), sum(quantity),
       sum(abs(quantity)), min(seq), max(seq)
FROM ledger WHERE kind = 'dispense' GROUP BY substr(at, 1, 10), coalesce(actor, '');
INSERT INTO ledger_rollup
SELECT 'patient', kind, substr(at, 1, 10), coalesce(patient_id, ''), count(*), sum(quantity),
       sum(abs(quantity)), min(seq), max(seq)
FROM ledger WHERE kind = 'dispense' GROUP BY substr(at, 1, 10), coalesce(patient_id, '');
INSERT INTO ledger_rollup
SELECT 'item', kind, substr(at, 1, 10), coalesce(item_code, ''), count(*), sum(quantity),
       sum(abs(quantity)), min(seq), max(seq)
FROM ledger WHERE kind = 'dispense' GROUP BY substr(at, 1, 10), coalesce(item_code, '');
INSERT INTO ledger_rollup
SELECT 'order', kind, substr(at, 1, 10), '', count(*), sum(quantity), sum(abs(quantity)),
       min(seq), max(seq)
FROM ledger WHERE kind = 'dispense' AND order_id IS NOT NULL GROUP BY substr(at, 1, 10);
INSERT INTO ledger_rollup
SELECT 'controlled_use', l.kind, substr(l.at, 1, 10), l.actor, count(*), sum(l.quantity),
       sum(abs(l.quantity)), min(l.seq), max(l.seq)
FROM ledger l JOIN items i ON i.code = l.item_code
WHERE l.kind IN ('dispense', 'waste') AND l.actor IS NOT NULL AND i.controlled = 1
  AND NOT EXISTS (SELECT 1 FROM pockets b WHERE b.return_bin = 1 AND b.drawer = l.drawer
                  AND b.pocket = l.pocket)
GROUP BY l.kind, substr(l.at, 1, 10), l.actor;
